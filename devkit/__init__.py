"""The dev kit: stand-ins for what a developer's machine does not have, for tests, the demo and benches.

Simulators that speak the real wire protocols (ESC/POS printer, ccTalk cash changer, the payment
terminal's CAT protocol, a serial barcode scanner on a pty), the virtual My Number card and its
holder window, sample payment slips, the simulated office day, and the register's hardware window.
The real drivers run against them unchanged. Never installed on an appliance: the image build
leaves this package out of the wheel, and no runtime package imports it (import-linter holds that).
"""
