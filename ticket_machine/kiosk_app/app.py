"""The ticket kiosk app: screens, issuing through the queue service, printing, concierge mode.

Per device (the site file): a self-service kiosk lets residents issue; a concierge-only one is locked
for them (its home screen says where reception is) and issues only in staff mode, one ticket per unlock.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from kivy.clock import Clock
from kivy.properties import BooleanProperty

from kiosk.bus.client import BusError
from kiosk.bus.contract import Role
from kiosk.bus.schemas import TicketView, ticket_of
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site
from kiosk.pin import PinGuard
from kiosk.printing.printer import PrinterFault, TicketPrinter
from kiosk.ui.lang import tr
from kiosk.ui.link import on_main
from kiosk.ui.shell import KioskShell
from queue_service.guidance import questions_for
from ticket_machine.kiosk_app.reception import IssuingPolicy, note_problem
from ticket_machine.kiosk_app.screens.catalog import CatalogScreen
from ticket_machine.kiosk_app.screens.concierge import ConciergeScreen
from ticket_machine.kiosk_app.screens.guidance import GuidanceScreen
from ticket_machine.kiosk_app.screens.home import HomeScreen
from ticket_machine.kiosk_app.screens.issued import IssuedScreen
from ticket_machine.kiosk_app.screens.note import NoteScreen
from ticket_machine.kiosk_app.screens.questions import QuestionsScreen
from ticket_machine.kiosk_app.selection import Selection
from ticket_machine.kiosk_app.slip import FAULT_MESSAGES, slip_for

log = logging.getLogger(__name__)

__all__ = ["FAULT_MESSAGES", "TicketKioskApp"]
PRINTER_POLL_SECONDS = 10.0


class TicketKioskApp(KioskShell):
    role = Role.TICKET
    #: Staff mode (the concierge's PIN): priority, another ticket language, a note; issuing on a locked kiosk.
    concierge = BooleanProperty(False)
    #: A concierge-only kiosk outside staff mode: residents see where reception is and cannot issue.
    locked = BooleanProperty(False)

    def __init__(self, device: DeviceConfig, site: Site, **kw) -> None:
        super().__init__(device, site, **kw)
        self.selection = Selection()
        self.printer = TicketPrinter(device.printer) if device.printer else None
        self.pin_guard = PinGuard(device.concierge_pin) if device.concierge_pin else None
        self.policy = IssuingPolicy.for_device(site, device.device)
        self.locked = self.policy.locked(self.concierge)
        if self.policy.concierge_only and self.pin_guard is None:
            log.warning("concierge-only kiosk without a concierge_pin: nobody can issue tickets here")
        self.last_ticket: TicketView | None = None
        #: Tickets the queue holds but the printer did not print: never lost, reprintable.
        self.unprinted: dict[str, TicketView] = {}
        self.printer_faults: set[str] = set()
        self.issuing = False
        self._printing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="printer")

    def make_screens(self):
        self._title()
        tr.bind(lang=lambda *_: self._title())
        Clock.schedule_interval(lambda _dt: self.poll_printer(), PRINTER_POLL_SECONDS)
        Clock.schedule_once(lambda _dt: self.poll_printer(), 0)
        return [
            HomeScreen(),
            QuestionsScreen(),
            GuidanceScreen(),
            CatalogScreen(),
            IssuedScreen(),
            ConciergeScreen(),
            NoteScreen(),
        ]

    def _title(self) -> None:
        self.title_text = tr.name(self.site.site.names)

    def on_concierge(self, _app, staff: bool) -> None:
        self.locked = self.policy.locked(staff)

    # ------------------------------------------------------------ navigation
    def choose_event(self, event: str | None) -> None:
        if self.locked:
            return
        self.selection.start_event(event)
        if event is None:
            self.sm.get_screen("catalog").back_to = "home"
            self.goto("catalog")
        elif questions_for(self.site, event):
            self.goto("questions")
        else:
            self.goto("guidance")

    def questions_done(self) -> None:
        """On to the list once every question has an answer ("not sure" is one): none is dropped unseen."""
        screen = self.sm.get_screen("questions")
        if screen.missing(self.selection.unanswered(self.site)):
            return
        self.goto("guidance")

    def add_procedure(self) -> None:
        """From the guidance list to the catalog, and back to the list from there."""
        self.sm.get_screen("catalog").back_to = "guidance"
        self.goto("catalog")

    def concierge_button(self) -> None:
        if self.concierge:
            self.concierge = False
            self.selection.priority = False
            self.selection.ticket_lang = None
        elif self.pin_guard is not None:
            self.goto("concierge")

    def finish(self) -> None:
        self.selection.clear()
        self.goto("home")

    def needs_reset(self) -> bool:
        return self.concierge or bool(self.selection.chosen(self.site))

    def on_idle(self) -> None:
        self.selection.clear()
        self.concierge = False
        super().on_idle()

    # ------------------------------------------------------------ issuing
    def issue(self) -> None:
        if self.issuing or self.link is None or self.locked:
            return
        args = self.selection.issue_args(self.site, tr.lang, staff=self.concierge)
        if not args["procedures"]:
            return
        screen = self.sm.get_screen("guidance")
        problem = note_problem(args.get("note", ""))
        if problem is not None:
            screen.message = tr._(problem)
            return
        self.issuing = True
        screen.ids.issue.disabled = True
        self.link.request("issue", args, self._issued, self._issue_failed)

    def _issued(self, result: dict) -> None:
        self.issuing = False
        ticket = ticket_of(result)
        log.info("issued ticket %s (number %d, %d steps)", ticket.id, ticket.number, len(ticket.itinerary))
        self.last_ticket = ticket
        self.selection.clear()
        self.concierge = self.policy.staff_after_issue(self.concierge)  # a concierge-only kiosk locks again
        self.goto("issued")
        screen = self.sm.get_screen("issued")
        screen.show()
        self.print_ticket(ticket, reprint=False)

    def _issue_failed(self, exc: BusError) -> None:
        self.issuing = False
        screen = self.sm.get_screen("guidance")
        screen.ids.issue.disabled = False
        screen.message = tr._("The ticket could not be issued. Please try again, or ask a member of staff.") + (
            f" ({exc.code})"
        )

    # ------------------------------------------------------------ printing
    def print_ticket(self, ticket: TicketView, reprint: bool) -> None:
        screen = self.sm.get_screen("issued")
        screen.can_reprint = False
        if self.printer is None:
            screen.set_print("failed", None)
            return
        screen.set_print("printing", None)
        slip = slip_for(self.site, ticket, self.device.status_url, reprint=reprint)
        printer = self.printer

        def work() -> None:
            try:
                printer.print_ticket(slip)
            except PrinterFault as fault:
                log.warning("ticket %s not printed: %s (%s)", ticket.id, fault.kind, fault)
                on_main(self._printed, ticket, fault.kind)
            except Exception:  # a driver bug must not lose the ticket either
                log.exception("ticket %s not printed", ticket.id)
                on_main(self._printed, ticket, "error")
            else:
                on_main(self._printed, ticket, None)

        self._printing.submit(work)

    def _printed(self, ticket: TicketView, fault: str | None) -> None:
        screen = self.sm.get_screen("issued")
        if fault is None:
            self.unprinted.pop(ticket.id, None)
            self._set_printer_faults(self.printer_faults - {f"printer_{k}" for k in FAULT_MESSAGES})
            screen.set_print("printed", None)
            return
        self.unprinted[ticket.id] = ticket
        self._set_printer_faults(self.printer_faults | {f"printer_{fault}"})
        screen.set_print("failed", fault)
        screen.can_reprint = True

    def reprint(self) -> None:
        """Print the last ticket again (verb ``reprint`` returns its token for the QR)."""
        if self.last_ticket is None or self.link is None:
            return
        last = self.last_ticket
        ticket_id = last.id
        self.sm.get_screen("issued").can_reprint = False
        self.link.request(
            "reprint",
            {"ticket": ticket_id},
            lambda result: self.print_ticket(ticket_of(result), reprint=True),
            lambda exc: self._printed(self.unprinted.get(ticket_id, last), "error"),
        )

    def poll_printer(self) -> None:
        """Report the printer's state in the presence topic (paper near end is a warning)."""
        if self.printer is None:
            return
        printer = self.printer

        def work() -> None:
            try:
                status = printer.status()
            except Exception:
                log.exception("printer status failed")
                return
            on_main(self._set_printer_faults, {f"printer_{f}" for f in status.faults})

        self._printing.submit(work)

    def _set_printer_faults(self, faults: set[str]) -> None:
        if faults != self.printer_faults:
            log.info("printer faults: %s", sorted(faults) or "none")
            self.printer_faults = set(faults)
            if self.link is not None:
                self.link.set_faults(sorted(faults))

    def on_stop(self) -> None:
        self._printing.shutdown(wait=False, cancel_futures=True)
        super().on_stop()
