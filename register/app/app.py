"""The self register app: scan slips → cart → cash or cashless → receipt, on top of :class:`Register`.

Device calls block, so they run one at a time on a worker thread and their outcome hops back to
Kivy's thread (the cash changer's credits arrive from its driver thread through ``on_main``).
Before the first resident, :meth:`Register.recover` settles whatever a crash left open; staff
read what it did (PIN). The register does not need the queue service: paid transactions wait in
the journal (the outbox) until the broker is back, so the out-of-service cover is never raised
for the bus; the register closes itself (start / help screens) when its devices cannot be used.

The resident may also scan their ticket's QR code, before or after the slips (never taken for a slip,
:func:`register.ticket.read_ticket`): the payment is then recorded for it, which closes the visit's payment
step (:class:`register.app.flow.TicketDesk` decides what the screens say; the outbox sends ``ticket_paid``).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from kiosk.bus.contract import Role
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site
from kiosk.pin import PinGuard
from kiosk.ui.lang import tr
from kiosk.ui.link import on_main
from kiosk.ui.shell import KioskShell
from kiosk.ui.wedge import WedgeScanner
from register.app.flow import AfterPayment, DeviceHealth, TicketDesk, TicketScan, done_seconds
from register.app.payment import PaymentFlow
from register.app.screens.cart import CartScreen
from register.app.screens.cash import CashScreen
from register.app.screens.cashless import CashlessScreen
from register.app.screens.done import DoneScreen
from register.app.screens.help import HelpScreen
from register.app.screens.home import HomeScreen
from register.app.screens.pin import PinScreen
from register.app.screens.returned import ReturnedScreen
from register.app.screens.staff import StaffScreen
from register.app.screens.start import StartScreen
from register.app.texts import FEE_MESSAGES, scan_message, ticket_problem
from register.app.ticket_lookup import look_up
from register.cart import Cart
from register.checkout import Checkout, RecoveryReport, Register, Settlement
from register.outbox import TICKET_CLOSED, TicketAnswer
from register.setup import register_for
from register.slips.model import SlipError
from register.slips.policy import SlipRefused, refusal_params
from register.ticket import read_ticket

log = logging.getLogger(__name__)

#: How often the devices are asked how they are (only while nobody is paying).
POLL_SECONDS = 15.0
#: Screens during which a payment is in progress: no idle timeout, no scans.
PAYING = ("cash", "cashless")
#: Screens where the register is closed until staff come: no idle timeout either.
CLOSED = ("start", "help")


class RegisterApp(KioskShell):
    role = Role.REGISTER
    home_screen = "home"
    #: The register's devices, as the cart screen offers them.
    has_cash = BooleanProperty(False)
    has_cashless = BooleanProperty(False)
    cash_ok = BooleanProperty(False)
    cashless_ok = BooleanProperty(False)
    printer_ok = BooleanProperty(True)
    #: Staff mode (PIN entered): the staff screen may be used; ends with the hand-over or idle.
    staff = BooleanProperty(False)
    #: The cart was keyed in by staff (semi-self mode).
    staff_cart = BooleanProperty(False)
    #: Paid transactions the queue service has not acknowledged yet.
    pending_payments = NumericProperty(0)
    #: Paid transactions the outbox cannot report at all (set aside): staff must look (the staff screen says
    #: so, and presence carries ``payments_set_aside``).
    set_aside_payments = NumericProperty(0)
    #: What the screens say about the resident's scanned ticket ("" for none), and in which tone.
    ticket_line = StringProperty("")
    ticket_tone = StringProperty("fg")
    #: Paid tickets the queue service has not answered for yet; today's tickets it did not close (staff screen).
    pending_tickets = NumericProperty(0)
    ticket_problems = ListProperty([])

    def __init__(self, device: DeviceConfig, site: Site, register: Register | None = None, **kw) -> None:
        super().__init__(device, site, **kw)
        if site.register is None:
            raise ValueError(f"{site.site.id}: the site file has no [register] section")
        self.settings = site.register
        self.register: Register = register or register_for(device, site)
        self.has_cash = self.register.changer is not None
        self.has_cashless = self.register.terminal is not None
        self.pin_guard = PinGuard(device.concierge_pin) if device.concierge_pin else None
        self.cart: Cart | None = None
        self.payment = PaymentFlow(self.register, self, self._run, on_main)
        self.health = DeviceHealth(has_cash=self.has_cash, has_cashless=self.has_cashless)
        self._opened: set[str] = set()
        #: Recovery done and seen: residents may use the register (False while on the start screen).
        self.ready = False
        self.reports: list[dict] = []
        self.last_paid_tx: str | None = None
        self.outbox = None
        self.scanner = None
        #: The refusal on screen (screen, text, (code, params)), re-said when the language changes.
        self._scan_problem: tuple[HomeScreen | CartScreen, str, tuple[str, dict[str, str]]] | None = None
        self._done_event = None
        self._work = ThreadPoolExecutor(max_workers=1, thread_name_prefix="register-devices")
        #: The resident's ticket, if they scanned it (forgotten with the cart); lookups on their own thread.
        self._lookups = ThreadPoolExecutor(max_workers=1, thread_name_prefix="register-lookup")
        routing = {p.id: p.routing for p in site.procedures}
        self.tickets = TicketDesk(
            device.status_url, lambda url: look_up(url, routing), self._look_up_off_screen, self._show_ticket
        )

    # ------------------------------------------------------------ building
    def make_screens(self):
        self._title()
        tr.bind(lang=lambda *_: self._title())
        tr.bind(lang=lambda *_: self._retell_scan())
        tr.bind(lang=lambda *_: self.tickets.retell())
        self.wedge = WedgeScanner(lambda: self.sm.current in ("home", "cart"), self.scanned)
        if self.device.scanner:
            from register.scanner import SerialScanner

            port = self.device.scanner.removeprefix("serial:")
            self.scanner = SerialScanner(port, lambda text: on_main(self.scanned, text)).start()
        Clock.schedule_interval(lambda _dt: self.poll_devices(), POLL_SECONDS)
        Clock.schedule_once(lambda _dt: self.start_up(), 0)
        self.home_screen = "start"  # the shell shows it first; home once recovery is done
        screens = [
            StartScreen(),
            HomeScreen(),
            CartScreen(),
            CashScreen(),
            CashlessScreen(),
            DoneScreen(),
            ReturnedScreen(),
            HelpScreen(),
            PinScreen(),
            StaffScreen(),
        ]
        return screens

    def build(self):
        root = super().build()
        self.home_screen = "home"
        self.in_service = True
        from register.outbox import PaymentOutbox

        self.outbox = PaymentOutbox(
            self.register.journal,
            self.link.bus,
            on_sent=lambda _tx: self._count_pending(),
            on_set_aside=lambda tx, reason: on_main(self._payment_set_aside, tx, reason),
            on_ticket=lambda answer: on_main(self._ticket_answered, answer),
        )
        self.outbox.start()
        self._count_pending()
        return root

    def _title(self) -> None:
        self.title_text = tr._("Self register") + " — " + tr.name(self.site.site.names)

    def _update_service(self, *_a) -> None:
        """Residents pay whether or not the bus is up; the outbox sends when it is back."""
        self.in_service = True

    def screen(self, name: str):
        return self.sm.get_screen(name)

    def _run(self, work, done, failed=None) -> None:
        """``work()`` on the worker thread; ``done(result)`` or ``failed(exception)`` on Kivy's."""

        def job() -> None:
            try:
                result = work()
            except Exception as exc:  # noqa: BLE001 - every failure is shown, none kills the register
                if failed is None:
                    log.exception("register: %s failed", getattr(work, "__qualname__", work))
                else:
                    on_main(failed, exc)
            else:
                on_main(done, result)

        self._work.submit(job)

    # ------------------------------------------------------------ start-up and recovery
    def start_up(self) -> None:
        self.ready = False
        start = self.screen("start")
        start.state = "checking"
        start.message = ""
        self.goto("start")
        self._run(self._recover, self._recovered, self._recover_failed)

    def _open_devices(self) -> set[str]:
        """Open each payment device not open yet; their faults (worker thread)."""
        faults: set[str] = set()
        for name, dev in (("changer", self.register.changer), ("terminal", self.register.terminal)):
            if dev is None or name in self._opened:
                continue
            try:
                dev.open()
            except Exception as exc:  # noqa: BLE001 - a device that does not open is a fault, not a crash
                log.warning("%s did not open: %r", name, exc)
                faults.add(f"{name}_disconnected")
            else:
                self._opened.add(name)
        return faults

    def _recover(self):
        faults = self._open_devices()
        reports = self.register.recover()
        rows = [self._report_row(r) for r in reports]
        return faults | self._status(), reports, rows

    def _report_row(self, report: RecoveryReport) -> dict:
        record = self.register.record(report.tx)
        return {
            "tx": report.tx,
            "result": report.result,
            "total": report.total,
            "given_back": record.repaid,
            "change": record.change_paid,
            "owed": report.owed,
            "events": list(report.events),
            "blocked": report.blocked,
        }

    def _recovered(self, result) -> None:
        faults, reports, rows = result
        self._set_faults(faults)
        if rows:
            self.reports = rows
        start = self.screen("start")
        start.show(rows)
        if any(r.blocked for r in reports):
            start.state = "blocked"
            start.message = tr._("A payment could not be settled: a device does not answer.")
        elif not (self.cash_ok or self.cashless_ok):
            start.state = "blocked"
            start.message = tr._("No payment device is working.")
        elif rows:
            start.state = "report"
        else:
            self.ready = True
            self.goto("home")
            return
        self.goto("start")

    def _recover_failed(self, exc: Exception) -> None:
        log.exception("recovery failed", exc_info=exc)
        start = self.screen("start")
        start.state = "blocked"
        start.message = tr._("The register could not start.") + f" ({exc})"

    # ------------------------------------------------------------ device health
    def _status(self) -> set[str]:
        """Every device's faults as presence words (worker thread)."""
        faults: set[str] = set()
        for name, dev in (("changer", self.register.changer), ("terminal", self.register.terminal)):
            if dev is None:
                continue
            if name not in self._opened:
                faults.add(f"{name}_disconnected")
                continue
            try:
                status = dev.status()
            except Exception as exc:  # noqa: BLE001
                log.warning("%s status failed: %r", name, exc)
                faults.add(f"{name}_disconnected")
                continue
            if not status.connected:
                faults.add(f"{name}_disconnected")
            faults |= {f"{name}_{f}" for f in status.faults}
        printer = self.register.printer
        if printer is not None and hasattr(printer, "status"):
            try:
                faults |= {f"printer_{f}" for f in printer.status().faults}
            except Exception as exc:  # noqa: BLE001
                log.warning("printer status failed: %r", exc)
                faults.add("printer_offline")
        return faults

    def poll_devices(self) -> None:
        if self.checkout is not None or self.sm.current in PAYING:
            return

        def work():
            return self._open_devices() | self._status()

        self._run(work, self._set_faults)

    def _set_faults(self, faults: set[str]) -> None:
        """A device check's result (:meth:`DeviceHealth.checked` keeps what must stay)."""
        self._show_health(self.health.checked(faults, set_aside=bool(self.set_aside_payments), paying=self.paying))

    def _show_health(self, health: DeviceHealth) -> None:
        self.cash_ok, self.cashless_ok, self.printer_ok = health.cash_ok, health.cashless_ok, health.printer_ok
        changed = health.faults != self.health.faults
        self.health = health
        if changed:
            log.info("register faults: %s", sorted(health.faults) or "none")
            if self.link is not None:
                self.link.set_faults(sorted(health.faults))

    @property
    def faults(self) -> frozenset[str]:
        return self.health.faults

    @property
    def paying(self) -> bool:
        return self.checkout is not None

    def _add_fault(self, fault: str) -> None:
        self._show_health(self.health.plus(fault))

    # ------------------------------------------------------------ scanning
    def scanned(self, text: str) -> None:
        """A code from the scanner: the resident's ticket, a slip for the cart, or why not (in the resident's
        language)."""
        if self.sm.current not in ("home", "cart"):
            log.info("scan ignored on screen %s", self.sm.current)
            return
        home, cart = self.screen("home"), self.screen("cart")
        code = read_ticket(text)
        if code is not None:
            home.message = cart.message = ""
            self._scan_problem = None
            self.tickets.scanned(code)
            return
        if self.cart is None:
            self.cart = self.new_cart()
        home.message = cart.message = ""
        self._scan_problem = None
        problem: tuple[str, dict[str, str]]  # (code, params) for scan_message
        try:
            line = self.cart.scan(text)
        except SlipRefused as refused:
            problem = (refused.code, refusal_params(refused))
            log.info("slip refused: %s", refused.code)
        except SlipError as error:
            problem = (error.code, {})
            log.info("slip not read: %s", error.code)
        else:
            log.info("slip added: %s %s yen", line.payee.id, line.slip.amount)
            cart.refresh()
            self.goto("cart")
            return
        where = cart if self.cart.lines else home
        where.message = scan_message(*problem)
        self._scan_problem = (where, where.message, problem)
        if self.cart.lines:
            self.goto("cart")

    # ------------------------------------------------------------ the resident's ticket (flow.TicketDesk decides)
    def _look_up_off_screen(self, work, done) -> None:
        """A ticket lookup on its own thread (never behind a device, nor a device behind it)."""

        def finished(future) -> None:
            try:
                result = future.result()
            except Exception:  # noqa: BLE001 - a lookup is a nicety: never let it break the register
                log.exception("ticket lookup failed")
                result = None
            on_main(done, result)

        self._lookups.submit(work).add_done_callback(finished)

    def _ticket_answered(self, answer: TicketAnswer) -> None:
        """The queue service answered ``ticket_paid`` (from the outbox): the staff counts, and the done screen."""
        self._count_pending()
        self.tickets.answered(answer)

    def _show_ticket(self, scan: TicketScan | None) -> None:
        line = scan.line() if scan is not None else None
        if line is None:
            self.ticket_line = ""
            return
        message, params, tone = line
        self.ticket_line = tr._(message).format(**params)
        self.ticket_tone = tone

    @property
    def ticket(self) -> TicketScan | None:
        return self.tickets.ticket

    def _retell_scan(self) -> None:
        """The resident switched language: the refusal on screen follows."""
        if self._scan_problem is None:
            return
        where, shown, problem = self._scan_problem
        if where.message == shown:
            where.message = scan_message(*problem)
            self._scan_problem = (where, where.message, problem)

    def new_cart(self) -> Cart:
        return Cart(self.settings, datetime.now(self.site.zone).date(), self.register.journal.paid_slip_keys())

    # ------------------------------------------------------------ the cart
    def remove_line(self, index: int) -> None:
        if self.cart is None or self.checkout is not None:
            return
        self.cart.remove(index)
        if not self.cart.lines and not self.staff_cart:
            self.clear_cart()
            return
        self.screen("cart").message = ""
        self.screen("cart").refresh()

    def clear_cart(self) -> None:
        """Cancel: nothing is paid, the slips are forgotten, back to the start."""
        if self.checkout is not None:
            return
        self.cart = None
        self.staff_cart = False
        self.tickets.forget()
        self.screen("cart").message = ""
        self.screen("home").message = ""
        self.screen("cart").refresh()
        self.goto("home")

    def _back_to_cart(self, message: str = "") -> None:
        cart = self.screen("cart")
        cart.message = message
        cart.refresh()
        self.goto("cart")

    # ------------------------------------------------------------ paying (register/app/payment.py decides)
    @property
    def checkout(self) -> Checkout | None:
        return self.payment.checkout

    def _mode(self) -> str:
        return "staff" if self.staff_cart else "self"

    def pay_cash(self) -> None:
        if self.cash_ok and self.cart is not None and self.payment.pay_cash(self.cart, self._mode(), self.ticket):
            self.tickets.paying(self.checkout.tx if self.checkout else None)
            self.screen("cart").message = ""
            self.goto("cash")

    def cancel_cash(self) -> None:
        self.payment.cancel_cash()

    def pay_cashless(self) -> None:
        if (
            self.cashless_ok
            and self.cart is not None
            and self.payment.pay_cashless(self.cart, self._mode(), self.ticket)
        ):
            self.tickets.paying(self.checkout.tx if self.checkout else None)
            self.screen("cart").message = ""
            self.goto("cashless")

    def cancel_cashless(self) -> None:
        self.payment.cancel_cashless()

    # the PaymentView the flow shows itself through
    def show_cash(self, total: int, inserted: int, state: str) -> None:
        cash = self.screen("cash")
        cash.total, cash.inserted, cash.state = total, inserted, state

    def show_cashless(self, total: int, state: str) -> None:
        screen = self.screen("cashless")
        screen.total, screen.state = total, state

    def back_to_cart(self, message: str) -> None:
        self._back_to_cart(tr._(message) if message else "")

    def needs_staff(self, why: str, tx: str, amount: int) -> None:
        self.halt(why, tx, amount)

    def device_fault(self, fault: str) -> None:
        self._add_fault(fault)

    def settled(self, after: AfterPayment, settlement: Settlement) -> None:
        """Show what :func:`~register.app.flow.after_settlement` decided."""
        record = settlement.record
        if after.paid:
            self.tickets.paid(done_screen=after.screen == "done")
            self.last_paid_tx = record.id
            if self.outbox is not None:
                self.outbox.kick()
            if after.printer_fault:
                self._add_fault(f"printer_{after.printer_fault}")
            self.cart = None
            self.staff_cart = False
            self.screen("cart").refresh()
        if after.screen == "help":
            self.halt("owed", record.id, after.owed)
        elif after.screen == "done":
            self.screen("done").show(settlement)
            self.goto("done")
            seconds = done_seconds(self.screen("done").change)
            if seconds is not None:
                self._done_event = Clock.schedule_once(lambda _dt: self.finish(), seconds)
        elif after.screen == "returned":
            self.screen("returned").show(record.repaid, settlement.reason)
            self.goto("returned")
        else:
            self.back_to_cart(after.message)

    def halt(self, why: str, tx: str, amount: int) -> None:
        """Staff must come: the register stays on the help screen until a PIN is entered."""
        self.screen("help").show(why, tx, amount)
        self._add_fault("register_needs_staff")
        self.goto("help")

    def resume(self) -> None:
        """Staff: settle what is open (recovery), then back to service."""
        self._show_health(self.health.minus("register_needs_staff"))
        self.staff = False
        self.tickets.forget()
        self.start_up()

    def returned_ok(self) -> None:
        """The resident took the money back: the slips are still in the cart."""
        if self.cart is not None and self.cart.lines:
            self._back_to_cart()
        else:
            self.finish()

    def finish(self) -> None:
        if self._done_event is not None:
            self._done_event.cancel()
            self._done_event = None
        if self.sm.current in PAYING or self.checkout is not None:
            return
        self.cart = None
        self.staff_cart = False
        self.tickets.forget()
        self.screen("home").message = ""
        self.screen("cart").refresh()
        self.goto("home")

    # ------------------------------------------------------------ staff
    def staff_button(self) -> None:
        if self.pin_guard is None:
            self.screen("home").message = tr._("Staff mode is not set up on this register.")
            return
        self.ask_pin("staff")

    def ask_pin(self, purpose: str) -> None:
        pin = self.screen("pin")
        pin.purpose, pin.back = purpose, self.sm.current
        self.goto("pin")

    def pin_ok(self, purpose: str) -> None:
        if purpose == "dismiss":
            self.staff = False
            self.ready = True
            self.goto("home")
            return
        self.staff = True
        self.open_staff()

    def open_staff(self) -> None:
        self._count_pending()
        self.screen("staff").refresh()
        self.goto("staff")

    def staff_cart_lines(self) -> Cart:
        if self.cart is None:
            self.cart = self.new_cart()
        return self.cart

    def add_fee(self, payee_id: str, amount: int) -> str:
        """Staff keys in a fee; returns "" or why it was refused."""
        try:
            self.staff_cart_lines().add_fee(payee_id, amount)
        except SlipRefused as refused:
            return tr._(FEE_MESSAGES.get(refused.code, FEE_MESSAGES["not_accepted"]))
        self.staff_cart = True
        self.screen("cart").refresh()
        return ""

    def hand_over(self) -> None:
        """Staff is done: the resident pays on the cart screen (the same way back as leaving staff mode)."""
        self.leave_staff()

    def leave_staff(self) -> None:
        self.staff = False
        if not self.ready:
            self.goto("start")
            return
        if self.halted_screen():
            return
        if self.cart is not None and self.cart.lines:
            self._back_to_cart()
        else:
            self.finish()

    def halted_screen(self) -> bool:
        """Staff left without resuming: the register stays closed."""
        if "register_needs_staff" in self.faults:
            self.goto("help")
            return True
        return False

    def reprint_last(self) -> None:
        staff = self.screen("staff")
        staff.message = tr._("Printing...")

        def work():
            tx = self.last_paid_tx or self._last_paid_in_journal()
            if tx is None:
                return None, (False, "none")
            return tx, self.register.print_receipt(tx)

        def done(result) -> None:
            tx, (printed, fault) = result
            if tx is None:
                staff.message = tr._("No receipt to print yet.")
            elif printed:
                staff.message = tr._("Receipt {tx} printed again.").format(tx=tx)
            else:
                self._add_fault(f"printer_{fault}")
                staff.message = tr._("The receipt could not be printed ({fault}).").format(fault=fault)

        self._run(work, done, lambda exc: setattr(staff, "message", repr(exc)))

    def _last_paid_in_journal(self) -> str | None:
        paid = self.register.journal.closed_as("paid")
        return paid[-1] if paid else None

    def _payment_set_aside(self, tx: str, reason: str) -> None:
        self.set_aside_payments = len(self.outbox.set_aside) if self.outbox is not None else 1
        self._add_fault("payments_set_aside")

    def _count_pending(self) -> None:
        if self.outbox is None:
            return
        outbox = self.outbox
        zone = self.site.zone

        def set_counts(payments: int, tickets: int, problems: list[tuple]) -> None:
            self.pending_payments, self.pending_tickets = payments, tickets
            self.ticket_problems = [ticket_problem(*row) for row in problems]

        def work() -> None:
            today = datetime.now(zone).date()
            problems = [
                (s.data.get("number"), s.data["result"], s.tx, f"{s.at.astimezone(zone):%H:%M}")
                for s in outbox.journal.ticket_answers()
                if s.data["result"] not in TICKET_CLOSED and s.at.astimezone(zone).date() == today
            ]
            on_main(set_counts, len(outbox.pending()), len(outbox.pending_tickets()), problems)

        self._work.submit(work)

    # ------------------------------------------------------------ idle
    def needs_reset(self) -> bool:
        return self.cart is not None or self.ticket is not None or self.staff

    def on_idle(self) -> None:
        current = self.sm.current
        if current in PAYING or current in CLOSED or self.checkout is not None:
            return  # never during a payment, and a closed register waits for staff
        if current == "done" and done_seconds(self.screen("done").change) is None:
            return  # change paid out: "please take your change" stays until someone taps (flow.done_seconds)
        self.staff = False
        if not self.ready:  # staff walked away from the start screen's PIN or staff screen
            self.goto("start")
            return
        if "register_needs_staff" in self.faults:
            self.goto("help")
            return
        self.cart = None
        self.staff_cart = False
        self.tickets.forget()
        self.screen("home").message = ""
        self.screen("cart").message = ""
        self.screen("cart").refresh()
        if self._done_event is not None:
            self._done_event.cancel()
            self._done_event = None
        super().on_idle()

    def on_stop(self) -> None:
        if self.outbox is not None:
            self.outbox.stop()
        if self.scanner is not None:
            self.scanner.stop()
        self._work.shutdown(wait=False, cancel_futures=True)
        self._lookups.shutdown(wait=False, cancel_futures=True)
        for dev in (self.register.changer, self.register.terminal):
            if dev is not None:
                try:
                    dev.close()
                except Exception:  # noqa: BLE001
                    log.exception("closing a device failed")
        super().on_stop()
