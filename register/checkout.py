"""One self register: pay a cart by cash or cashless, never charge twice, never lose a payment.

Rule of the house: journal first, then ask the device. Every device action has an intent step on
disk before it starts and a result step after it answers (see :mod:`register.ledger`). A
``Checkout`` is one payment attempt for one cart; cancelling or a declined card closes it, and a
new attempt is a new transaction. :meth:`Register.recover` runs before the first resident of a
(re)started register and settles whatever a crash left open, asking the devices what happened:
the cashless terminal by the sale's idempotency key, the cash changer by its event counters and
its last payout. What it did is reported for the staff screen.

No Kivy here and no bus: the app calls these blocking methods from a worker thread, and the
outbox (:mod:`register.outbox`) publishes closed payments.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any, Literal, Protocol

from kiosk.printing.printer import PrinterFault
from register.cart import Cart
from register.cash.changer import CashChanger, CashChangerError, DepositEvent, EndDeposit, PayoutResult
from register.cashless.terminal import CashlessTerminal, CatError, CatResult, Outcome
from register.journal import Journal
from register.ledger import TxRecord, replay

log = logging.getLogger(__name__)

#: How long recovery waits for a terminal still busy with a dead register's sale before it asks again.
CHECK_ATTEMPTS = 5


class CheckoutError(Exception):
    """A payment step could not be done. ``code``: ``no_device``, ``not_enough_change``, ``jam``,
    ``disconnected``, ``unknown_outcome`` (the terminal may have charged: staff must look), ``busy``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ReceiptPrinter(Protocol):
    """What the register needs from the printer (a ``TicketPrinter``): one image in, confirmed out, or PrinterFault."""

    def print_image(self, image: Any) -> None: ...


@dataclass
class Settlement:
    """How a checkout ended, for the app's last screen."""

    result: str  # paid | cancelled | aborted
    record: TxRecord
    receipt_printed: bool = False
    receipt_fault: str | None = None
    #: Money the register could not give back or pay out: staff must hand it over.
    owed: int = 0
    reason: str = ""


@dataclass
class RecoveryReport:
    """One transaction settled by :meth:`Register.recover`, in words for the staff screen."""

    tx: str
    result: str
    total: int
    events: list[str] = field(default_factory=list)
    owed: int = 0
    #: True when recovery could not finish (device not answering): the register must stay closed.
    blocked: bool = False


class Register:
    def __init__(
        self,
        *,
        device: str,
        journal: Journal,
        changer: CashChanger | None,
        terminal: CashlessTerminal | None,
        printer: ReceiptPrinter | None,
        render_receipt: Callable[[TxRecord, int], Any],
        clock: Callable[[], datetime],
        zone: tzinfo | None = None,
        sale_timeout: float = 90.0,
    ) -> None:
        self.device = device
        self.journal = journal
        self.changer = changer
        self.terminal = terminal
        self.printer = printer
        self.render_receipt = render_receipt
        self.clock = clock
        self.zone = zone
        self.sale_timeout = sale_timeout
        self._lock = threading.Lock()
        self._count = journal.transaction_count()

    # ------------------------------------------------------------------ transactions
    def new_tx_id(self) -> str:
        self._count += 1
        safe = self.device.replace("_", "-")
        return f"{self.clock().astimezone(self.zone):%Y%m%d}-{safe}-{self._count:05d}"

    def today(self) -> date:
        """The site's date (slip deadlines are site-local days)."""
        return self.clock().astimezone(self.zone).date()

    def begin(self, cart: Cart, *, mode: str = "self") -> Checkout:
        if not cart.lines:
            raise ValueError("an empty cart cannot be paid")
        tx = self.new_tx_id()
        self.append(tx, "open", {"slips": [line.journal() for line in cart.lines], "total": cart.total, "mode": mode})
        return Checkout(self, tx)

    def append(self, tx: str, step: str, data: dict[str, Any] | None = None) -> None:
        self.journal.append(tx, step, data, at=self.clock())

    def record(self, tx: str) -> TxRecord:
        return replay(self.journal.steps(tx))

    # ------------------------------------------------------------------ shared steps
    def payout(self, tx: str, purpose: str, amount: int, pay: Callable[[], PayoutResult] | None = None) -> PayoutResult:
        """Journal the intent, pay out, journal the result; a short payout is journaled as owed.

        ``pay`` does the payout (default: ``dispense_change(amount)``; a cancel uses ``end_deposit(REPAY)``)."""
        assert self.changer is not None
        changer = self.changer
        self.append(tx, f"{purpose}_intent", {"amount": amount})
        try:
            result = pay() if pay is not None else changer.dispense_change(amount)
        except CashChangerError as exc:
            failed = {"purpose": purpose, "requested": amount, "paid": exc.paid, "code": exc.code}
            self.append(tx, "payout_failed", failed)
            return PayoutResult(amount, exc.paid)
        done = "change_done" if purpose == "change" else "repaid"
        self.append(tx, done, {"paid": result.paid})
        if not result.complete:
            missing = {"purpose": purpose, "requested": amount - result.paid, "paid": 0, "code": "short"}
            self.append(tx, "payout_failed", missing)
        return result

    def print_receipt(self, tx: str) -> tuple[bool, str | None]:
        """Print (or reprint, marked 再発行) the receipt of a paid transaction."""
        record = self.record(tx)
        copy = record.receipt_copies + 1
        self.append(tx, "receipt_intent", {"copy": copy})
        if self.printer is None:
            self.append(tx, "receipt_failed", {"fault": "no_printer"})
            return False, "no_printer"
        try:
            self.printer.print_image(self.render_receipt(self.record(tx), copy))
        except PrinterFault as fault:
            log.warning("receipt of %s not printed: %s", tx, fault)
            self.append(tx, "receipt_failed", {"fault": fault.kind})
            return False, fault.kind
        self.append(tx, "receipt_done")
        return True, None

    def finish_paid(self, tx: str) -> Settlement:
        printed, fault = self.print_receipt(tx)
        self.append(tx, "closed", {"result": "paid"})
        record = self.record(tx)
        return Settlement("paid", record, printed, fault, owed=record.owed)

    # ------------------------------------------------------------------ recovery
    def recover(self) -> list[RecoveryReport]:
        """Settle every transaction a crash left open. Call before accepting a resident."""
        reports = []
        for tx in self.journal.open_transactions():
            report = Recovery(self, tx).run()
            log.warning("recovered %s: %s (%s)", tx, report.result, ", ".join(report.events))
            reports.append(report)
        return reports


class Checkout:
    """One payment attempt. Methods block; call them from a worker thread."""

    def __init__(self, register: Register, tx: str) -> None:
        self.register = register
        self.tx = tx
        self.total = register.record(tx).total
        self._on_credit: Callable[[int], None] | None = None

    @property
    def record(self) -> TxRecord:
        return self.register.record(self.tx)

    def _changer(self) -> CashChanger:
        if self.register.changer is None:
            raise CheckoutError("no_device", "this register has no cash changer")
        return self.register.changer

    # ------------------------------------------------------------------ cash
    def start_cash(self, on_credit: Callable[[int], None]) -> None:
        """Open the changer for cash; ``on_credit(total so far)`` is called from the driver's thread."""
        changer = self._changer()
        self._on_credit = on_credit
        self.register.append(self.tx, "deposit_begin")
        try:
            changer.begin_deposit(self._credit)
        except CashChangerError as exc:
            self.register.append(self.tx, "deposited", {"amount": 0})
            self.register.append(self.tx, "closed", {"result": "aborted"})
            raise CheckoutError(exc.code, str(exc)) from exc

    def _credit(self, event: DepositEvent) -> None:
        self.register.append(
            self.tx, "credit", {"denomination": event.denomination, "total": event.total, "event_id": event.event_id}
        )
        if self._on_credit is not None:
            self._on_credit(event.total)

    def _fix(self) -> int:
        """Stop accepting cash; the journal's credits are made to agree with the device's final amount."""
        changer = self._changer()
        self.register.append(self.tx, "deposit_fix")
        try:
            amount = changer.fix_deposit()
        except CashChangerError as exc:
            # The device did not say: trust what it reported note by note (all journaled).
            log.warning("fix_deposit failed on %s: %s", self.tx, exc)
            amount = self.record.credited
        journaled = self.record.credited
        if amount != journaled:
            self.register.append(self.tx, "note", {"code": "credit_mismatch", "device": amount, "journal": journaled})
            if amount > journaled:
                extra = {"denomination": amount - journaled, "total": amount, "event_id": None}
                self.register.append(self.tx, "credit", extra)
            else:
                amount = journaled
        self.register.append(self.tx, "deposited", {"amount": amount})
        return amount

    def settle_cash(self) -> Settlement:
        """The resident put in enough (or pressed pay): keep the cash, give change, print the receipt.

        If the change cannot be paid exactly, nothing is kept: everything is given back and the
        attempt ends ``cancelled`` with reason ``not_enough_change``.
        """
        changer = self._changer()
        amount = self._fix()
        if amount < self.total:
            return self._give_back(amount, "short")
        change = amount - self.total
        if change and not changer.can_dispense(change):
            return self._give_back(amount, "not_enough_change")
        self.register.append(self.tx, "paid", {"method": "cash", "tendered": amount, "change": change})
        try:
            changer.end_deposit(EndDeposit.CHANGE)
        except CashChangerError as exc:
            self.register.append(self.tx, "note", {"code": "end_deposit_failed", "error": exc.code})
        if change:
            self.register.payout(self.tx, "change", change)
        return self.register.finish_paid(self.tx)

    def cancel_cash(self) -> Settlement:
        """The resident pressed cancel: stop accepting and give back everything put in."""
        amount = self._fix()
        return self._give_back(amount, "cancelled")

    def _give_back(self, amount: int, reason: str) -> Settlement:
        changer = self._changer()
        owed = 0
        if amount:
            repay = self.register.payout(self.tx, "repay", amount, lambda: changer.end_deposit(EndDeposit.REPAY))
            owed = amount - repay.paid
        else:
            try:
                changer.end_deposit(EndDeposit.NOCHANGE)
            except CashChangerError as exc:
                log.warning("end_deposit on an empty deposit failed: %s", exc)
        self.register.append(self.tx, "closed", {"result": "cancelled"})
        return Settlement("cancelled", self.record, owed=owed, reason=reason)

    # ------------------------------------------------------------------ cashless
    def pay_cashless(self) -> Settlement:
        """Ask the terminal for the total and wait for the resident. Declined or cancelled ends the attempt.

        A timeout or a lost line is never retried with a new key: the terminal is asked what happened
        to this key; if it cannot tell, the transaction stays open (CheckoutError unknown_outcome) and
        recovery settles it before the next resident.
        """
        terminal = self.register.terminal
        if terminal is None:
            raise CheckoutError("no_device", "this register has no cashless terminal")
        key = f"{self.tx}-s{len(self.record.sales) + 1}"
        self.register.append(self.tx, "sale_intent", {"key": key, "amount": self.total})
        try:
            result: CatResult | None = terminal.authorize_sales(key, self.total, self.register.sale_timeout)
        except CatError as exc:
            log.warning("sale %s: %s; asking the terminal", key, exc.code)
            self.register.append(self.tx, "note", {"code": "sale_unknown", "error": exc.code})
            resolved = resolve_sale(terminal, key)
            if resolved is False:
                raise CheckoutError("unknown_outcome", f"the terminal did not say what happened to {key}") from exc
            result = resolved
        return settle_sale(self.register, self.tx, key, self.total, result)

    def abort_cashless(self) -> None:
        """The resident pressed cancel while the terminal waits for a card (called from the UI thread)."""
        if self.register.terminal is not None:
            self.register.terminal.abort()


def resolve_sale(terminal: CashlessTerminal, key: str) -> CatResult | Literal[False] | None:
    """What happened to a sale whose answer was lost: its result, None (never reached the terminal),
    or False (the terminal cannot tell now). A sale still waiting for a card is aborted first."""
    for _ in range(CHECK_ATTEMPTS):
        try:
            return terminal.check(key)
        except CatError as exc:
            if exc.code == "busy":
                try:
                    terminal.abort()
                except CatError:
                    log.warning("abort of %s failed", key)
                continue
            log.warning("check of %s failed: %s", key, exc.code)
            return False
    return False


def settle_sale(register: Register, tx: str, key: str, amount: int, result: CatResult | None) -> Settlement:
    """Journal the terminal's answer; an approved sale is paid and gets its receipt."""
    data: dict[str, Any]
    if result is None:
        data = {"key": key, "outcome": "cancelled", "amount": amount, "reason": "not_received"}
    else:
        data = {
            "key": key,
            "outcome": result.outcome.value,
            "amount": result.amount,
            "media": result.media.value if result.media else None,
            "brand": result.brand,
            "approval_code": result.approval_code,
            "slip_number": result.slip_number,
            "reason": result.reason,
        }
    register.append(tx, "sale_result", data)
    if result is not None and result.outcome is Outcome.APPROVED:
        register.append(tx, "paid", paid_by_sale(data))
        return register.finish_paid(tx)
    outcome = "cancelled" if data["outcome"] == "cancelled" else "aborted"
    register.append(tx, "closed", {"result": outcome})
    return Settlement(outcome, register.record(tx), reason=data["outcome"])


def paid_by_sale(sale: dict[str, Any]) -> dict[str, Any]:
    """The ``paid`` step of an approved sale (its journaled ``sale_result``)."""
    return {
        "method": "cashless",
        "tendered": sale["amount"],
        "change": 0,
        "media": sale["media"],
        "brand": sale["brand"],
        "approval_code": sale["approval_code"],
        "slip_number": sale["slip_number"],
    }


class Recovery:
    """Settles one transaction left open by a crash (see the module docstring)."""

    def __init__(self, register: Register, tx: str) -> None:
        self.register = register
        self.tx = tx
        self.record = register.record(tx)
        self.report = RecoveryReport(tx, "", self.record.total)

    def note(self, code: str, **data: Any) -> None:
        self.register.append(self.tx, "note", {"code": code, **data})
        self.report.events.append(code)

    def run(self) -> RecoveryReport:
        try:
            self._sale()
            self._cash()
            record = self.register.record(self.tx)
            if record.closed is None:
                if record.paid is not None:
                    self._finish_paid(record)
                else:
                    self.note("interrupted")
                    self.register.append(self.tx, "closed", {"result": "aborted"})
        except _Blocked as blocked:
            self.report.blocked = True
            self.report.events.append(str(blocked))
        record = self.register.record(self.tx)
        self.report.result = record.closed or "open"
        self.report.owed = record.owed
        return self.report

    def _sale(self) -> None:
        pending = self.record.sale_pending
        approved = [s for s in self.record.sales if s["outcome"] == "approved"]
        if pending is None and approved and self.record.paid is None:
            # The terminal's approval is on disk, the paid step is not: the money is the city's.
            self.register.append(self.tx, "paid", paid_by_sale(approved[-1]))
            self.report.events.append("sale_approved")
            return
        if pending is None:
            return
        terminal = self.register.terminal
        if terminal is None:
            raise _Blocked("sale_pending_no_terminal")
        result = resolve_sale(terminal, pending["key"])
        if result is False:
            raise _Blocked("terminal_not_answering")
        self.note("sale_checked", outcome=result.outcome.value if result else "not_received")
        settled = settle_sale(self.register, self.tx, pending["key"], pending["amount"], result)
        self.report.events.append(f"sale_{settled.result}")

    def _cash(self) -> None:
        record = self.register.record(self.tx)
        if record.closed is not None:
            return
        touched = record.deposit_open or record.credits or record.repay_pending is not None
        touched = touched or record.change_pending is not None
        if record.paid is not None:
            touched = touched or (record.paid["change"] > record.change_paid + record.owed)
        if not touched:
            return
        changer = self.register.changer
        if changer is None:
            raise _Blocked("cash_pending_no_changer")
        try:
            found = changer.recover(record.last_event_id)
        except CashChangerError as exc:
            raise _Blocked(f"changer_{exc.code}") from exc
        for event in found.credits_since:
            total = record.credited + event.denomination
            self.register.append(
                self.tx, "credit", {"denomination": event.denomination, "total": total, "event_id": event.event_id}
            )
            record = self.register.record(self.tx)
        if found.credits_since:
            self.note("credits_found", amount=sum(e.denomination for e in found.credits_since))
        if found.deposit_open:
            try:
                changer.fix_deposit()
            except CashChangerError as exc:
                log.warning("could not stop the open deposit: %s", exc)
            self.register.append(self.tx, "deposited", {"amount": record.credited})
        record = self.register.record(self.tx)
        last = found.last_payout
        for purpose, pending in (("change", record.change_pending), ("repay", record.repay_pending)):
            if pending is None:
                continue
            paid = last.paid if last is not None and last.requested == pending else 0
            done = "change_done" if purpose == "change" else "repaid"
            self.register.append(self.tx, done, {"paid": paid})
            self.note(f"{purpose}_interrupted", requested=pending, paid=paid)
            if paid < pending:
                self.register.payout(self.tx, purpose, pending - paid)
        record = self.register.record(self.tx)
        if record.paid is None:
            held = record.cash_held
            if held:
                self.register.payout(self.tx, "repay", held)
                self.note("cash_given_back", amount=held)
            self.register.append(self.tx, "closed", {"result": "cancelled"})
        else:
            due = record.paid["change"] - record.change_paid - record.owed
            if due > 0:
                self.register.payout(self.tx, "change", due)
                self.note("change_given", amount=due)

    def _finish_paid(self, record: TxRecord) -> None:
        if record.receipt_pending or not record.receipt_printed:
            printed, fault = self.register.print_receipt(self.tx)
            self.note("receipt_printed" if printed else "receipt_not_printed", fault=fault)
        self.register.append(self.tx, "closed", {"result": "paid"})
        self.report.events.append("paid")


class _Blocked(Exception):
    """Recovery cannot finish now (a device does not answer); the register stays closed."""
