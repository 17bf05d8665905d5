"""Tell the queue service about every completed payment, however long the broker is away.

The journal is the outbox: a transaction closed as paid without a ``published`` step is sent
(``record_payment``) until the service acknowledges it, oldest first. The service records a
transaction id once, so a reply lost on the way back only costs a second, harmless send. The
register never waits for this: residents keep paying while the broker is down.

A paid transaction for a scanned ticket (a ``ticket`` step) is also sent as ``ticket_paid {token}``
until the service answers (``ticket_done``), which closes the visit's payment step. A ``ticket_intent``
step is journaled before the first send: a reply lost then (or a restart) means a later send is told
``nothing_to_pay``, which after an intent is most likely the first send's own effect (``already_closed``).
Any other refusal (``unknown_ticket``, ``nothing_to_pay`` at the first send, ``ticket_closed``) is an answer
too, kept for staff: the resident has paid, and sending again would not change it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from kiosk.bus.client import Bus, BusError, CommandFailed
from kiosk.bus.contract import Verb
from kiosk.bus.schemas import PaidSlip, RecordPaymentArgs, TicketPaidArgs
from register.journal import Journal
from register.ledger import TxRecord, replay

log = logging.getLogger(__name__)

#: ``ticket_done`` results that mean the ticket's payment step is closed (nothing for staff to look at).
TICKET_CLOSED = ("closed", "already_closed")


@dataclass(frozen=True)
class TicketAnswer:
    """How the queue service answered ``ticket_paid`` for one paid transaction."""

    tx: str
    #: closed | already_closed | the service's error code (nothing_to_pay, unknown_ticket, ticket_closed, ...)
    result: str
    number: int | None = None
    #: The visit is over (the ticket is done): nothing left at any counter.
    finished: bool = False

    @property
    def closed(self) -> bool:
        return self.result in TICKET_CLOSED


def payment_args(record: TxRecord) -> RecordPaymentArgs:
    """What the bus carries of a payment: amounts, payees, method and brand. No slip numbers, no card data."""
    paid = record.paid
    if paid is None or record.paid_at is None:
        raise ValueError(f"{record.id} is not paid")
    return RecordPaymentArgs(
        tx=record.id,
        method=paid["method"],
        media=paid.get("media"),
        brand=paid.get("brand") or None,
        total=record.total,
        slips=[PaidSlip(kind=s["kind"], payee=s["payee"], amount=s["amount"]) for s in record.slips],
        paid_at=record.paid_at,
        # semi-self when staff keyed a fee in this transaction: the cities report the two cashless shares apart
        register_mode="semi_self" if record.mode == "staff" else "full_self",
    )


class PaymentOutbox:
    def __init__(
        self,
        journal: Journal,
        bus: Bus,
        *,
        retry_seconds: float = 10.0,
        on_sent: Callable[[str], None] | None = None,
        on_set_aside: Callable[[str, str], None] | None = None,
        on_ticket: Callable[[TicketAnswer], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.journal = journal
        self.bus = bus
        self.retry_seconds = retry_seconds
        self.on_sent = on_sent
        self.on_set_aside = on_set_aside
        #: Called (from the outbox's thread) with each answer to ``ticket_paid``.
        self.on_ticket = on_ticket
        self.clock = clock
        #: Transactions that cannot be sent however often we try (a record the contract refuses, a journal
        #: that does not replay): tx → why. Kept out of the way of the others, which go on being sent; the
        #: register shows them to staff and in its presence. Found again at each start (they stay unpublished).
        self.set_aside: dict[str, str] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="payment-outbox", daemon=True)
        bus.on_connection(lambda up: self.kick() if up else None)

    def start(self) -> PaymentOutbox:
        self._thread.start()
        self.kick()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def kick(self) -> None:
        """Something new to send, or the broker is back."""
        self._wake.set()

    def pending(self) -> list[str]:
        return self.journal.unpublished()

    def pending_tickets(self) -> list[str]:
        """Paid transactions whose ticket the queue service has not answered for yet."""
        return self.journal.tickets_unsent()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.retry_seconds)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.flush()
            except Exception:  # never let the thread die: no later payment would be reported
                log.exception("payment outbox pass failed; retrying in %.0f s", self.retry_seconds)

    def flush(self) -> int:
        """Send what is pending now; returns how many payments were acknowledged. Stops at the first bus failure
        (the broker is away: the rest would fail too); a transaction that cannot be sent at all is set aside.
        Then the tickets of paid transactions (:meth:`flush_tickets`), if the bus answered."""
        sent, reachable = self._flush_payments()
        if reachable:
            self.flush_tickets()
        return sent

    def _flush_payments(self) -> tuple[int, bool]:
        sent = 0
        for tx in self.pending():
            if tx in self.set_aside:
                continue
            try:
                record = replay(self.journal.steps(tx))
                args = payment_args(record)
            except Exception as exc:
                self._set_aside(tx, exc)
                continue
            try:
                self.bus.request(Verb.RECORD_PAYMENT, args, timeout=5.0, attempts=2)
            except CommandFailed as exc:  # the service read it and said no: sending again changes nothing
                self._set_aside(tx, exc)
                continue
            except BusError as exc:
                log.info("record_payment %s not sent yet: %s", tx, exc)
                return sent, False
            self.journal.append(tx, "published", at=args.paid_at)  # the record's paid_at (payment_args checked it)
            sent += 1
            if self.on_sent is not None:
                self.on_sent(tx)
        return sent, True

    def flush_tickets(self) -> int:
        """Send ``ticket_paid`` for each paid transaction with a ticket not answered yet, oldest first; returns
        how many were answered. Stops at the first bus failure (sent again on the next pass)."""
        answered = 0
        for tx in self.pending_tickets():
            try:
                record = replay(self.journal.steps(tx))
                args = TicketPaidArgs(token=record.ticket or "")
            except Exception as exc:  # a journal or a token the contract refuses: sending again cannot help
                log.error("ticket of %s cannot be sent (%s)", tx, type(exc).__name__)
                self._ticket_done(TicketAnswer(tx, "invalid"))
                answered += 1
                continue
            again = record.ticket_sent
            if not again:
                self.journal.append(tx, "ticket_intent", at=self.clock())
            try:
                result = self.bus.request(Verb.TICKET_PAID, args, timeout=5.0, attempts=2)
            except CommandFailed as exc:
                code = "already_closed" if exc.code == "nothing_to_pay" and again else exc.code
                answer = TicketAnswer(tx, code, record.ticket_number)
            except BusError as exc:
                log.info("ticket_paid for %s not sent yet: %s", tx, exc)
                return answered
            else:
                ticket = result.get("ticket") or {}
                number = ticket.get("number", record.ticket_number)
                answer = TicketAnswer(tx, "closed", number, finished=ticket.get("status") == "done")
            self._ticket_done(answer)
            answered += 1
        return answered

    def _ticket_done(self, answer: TicketAnswer) -> None:
        data: dict[str, object] = {"result": answer.result, "finished": answer.finished}
        if answer.number is not None:
            data["number"] = answer.number
        self.journal.append(answer.tx, "ticket_done", data, at=self.clock())
        level = logging.INFO if answer.closed else logging.WARNING
        log.log(level, "ticket %s of payment %s: %s", answer.number or "?", answer.tx, answer.result)
        if self.on_ticket is not None:
            self.on_ticket(answer)

    def _set_aside(self, tx: str, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        log.error("payment %s cannot be reported and is set aside (%s); the others go on", tx, reason)
        self.set_aside[tx] = reason
        if self.on_set_aside is not None:
            self.on_set_aside(tx, reason)
