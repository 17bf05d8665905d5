"""The demo's stand-ins for a register's hardware: a window with the slips to scan, the cash to insert and the
cards to tap, driving the same pty simulators the tests use."""
