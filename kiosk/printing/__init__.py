"""Queue tickets on ESC/POS thermal printers: the ticket picture, the printer adapter, and a simulator for tests.

``ticket`` is pure (Pillow only); ``printer`` talks to the hardware through python-escpos; ``simulator`` is a TCP
printer that speaks the same bytes. See docs/printing.md.
"""

from kiosk.printing.printer import (
    FAULT_KINDS,
    PrinterFault,
    PrinterStatus,
    PrinterURI,
    TicketPrinter,
    open_printer,
    parse_printer_uri,
)
from kiosk.printing.ticket import TicketSlip, TicketStep, render_ticket_image, render_ticket_preview

__all__ = [
    "FAULT_KINDS",
    "PrinterFault",
    "PrinterStatus",
    "PrinterURI",
    "TicketPrinter",
    "TicketSlip",
    "TicketStep",
    "open_printer",
    "parse_printer_uri",
    "render_ticket_image",
    "render_ticket_preview",
]
