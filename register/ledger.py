"""A transaction as the journal tells it: pure replay of steps, no I/O.

The register never stores "the state" of a payment; it replays the steps it journaled. That
makes recovery honest (it sees exactly what was decided and what was confirmed) and makes the
"consistent journal" check of the tests a function of the steps alone (:func:`check`).

Steps and their data (``docs/register.md`` has the full table):

=================  ============================================================================
``open``           ``slips`` (kind, key, payee, amount, reference, raw), ``total``, ``mode``
``deposit_begin``  the changer is about to accept cash
``credit``         one note/coin: ``denomination``, ``total`` so far, ``event_id`` (device's)
``deposit_fix``    the changer is about to stop accepting
``deposited``      final ``amount`` taken in
``sale_intent``    ``key`` (idempotency key), ``amount``: the terminal is about to be asked
``sale_result``    ``key``, ``outcome``, ``media``, ``brand``, ``approval_code``, ``slip_number``
``paid``           the money is the city's: ``method``, ``tendered``, ``change``, (cashless) ``media``, ``brand``
``change_intent``  ``amount`` about to be paid out as change
``change_done``    ``paid``
``repay_intent``   ``amount`` about to be given back (cancel, or recovery of an interrupted payment)
``repaid``         ``paid``
``payout_failed``  ``purpose`` (change|repay), ``requested``, ``paid``, ``code``: the rest is owed by staff
``receipt_intent`` ``copy`` (1 = first; later copies print 再発行)
``receipt_done``   the printer confirmed the receipt
``receipt_failed`` ``fault``
``note``           ``code`` (+ data): something staff must hear about, shown on the staff screen
``closed``         ``result``: paid | cancelled | aborted
``published``      the queue service acknowledged record_payment
``ticket``         ``token`` (+ ``number`` when known): the resident scanned their ticket; once paid, the payment
                   closes the ticket's payment step (``ticket_paid``). Journaled before any device acts.
``ticket_intent``  ``ticket_paid`` is about to be sent for the first time (a later ``nothing_to_pay`` is then
                   most likely this send's own effect, its reply lost)
``ticket_done``    ``result``: closed | already_closed | an error code of the service (``nothing_to_pay``,
                   ``unknown_ticket``, ``ticket_closed``, ...); ``number``, ``finished`` (the visit is over)
=================  ============================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Step:
    """One journaled step of a transaction (the journal stores and returns these)."""

    seq: int
    tx: str
    step: str
    data: dict[str, Any]
    at: datetime


OUTCOMES = ("paid", "cancelled", "aborted")


@dataclass
class TxRecord:
    """One transaction replayed from its steps."""

    id: str
    opened_at: datetime | None = None
    slips: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    mode: str = "self"
    credits: list[dict[str, Any]] = field(default_factory=list)
    deposit_open: bool = False
    sale_pending: dict[str, Any] | None = None
    sales: list[dict[str, Any]] = field(default_factory=list)
    paid: dict[str, Any] | None = None
    paid_at: datetime | None = None
    change_pending: int | None = None
    change_paid: int = 0
    repay_pending: int | None = None
    repaid: int = 0
    owed: int = 0
    receipt_copies: int = 0
    receipt_pending: bool = False
    receipt_printed: bool = False
    receipt_fault: str | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)
    closed: str | None = None
    published: bool = False
    #: The resident's ticket (its token), when they scanned it for this payment.
    ticket: str | None = None
    ticket_number: int | None = None
    #: ``ticket_paid`` was sent at least once.
    ticket_sent: bool = False
    #: How the queue service answered ``ticket_paid`` (``ticket_done``); None while it is still to be sent.
    ticket_result: str | None = None

    @property
    def credited(self) -> int:
        """Cash taken in, as far as the journal knows."""
        return sum(c["denomination"] for c in self.credits)

    @property
    def last_event_id(self) -> str | None:
        return self.credits[-1]["event_id"] if self.credits else None

    @property
    def cash_held(self) -> int:
        """Cash of the resident's that the register holds and has neither kept (paid) nor given back."""
        if self.paid is not None:
            return 0
        return self.credited - self.repaid

    def apply(self, step: Step) -> None:
        d = step.data
        name = step.step
        if name == "open":
            self.opened_at = step.at
            self.slips = list(d["slips"])
            self.total = d["total"]
            self.mode = d.get("mode", "self")
        elif name == "deposit_begin":
            self.deposit_open = True
        elif name == "credit":
            self.credits.append(d)
        elif name == "deposit_fix":
            pass  # an intent: what matters is whether ``deposited`` followed
        elif name == "deposited":
            self.deposit_open = False
        elif name == "sale_intent":
            self.sale_pending = d
        elif name == "sale_result":
            self.sale_pending = None
            self.sales.append(d)
        elif name == "paid":
            self.paid = d
            self.paid_at = step.at
        elif name == "change_intent":
            self.change_pending = d["amount"]
        elif name == "change_done":
            self.change_pending = None
            self.change_paid += d["paid"]
        elif name == "repay_intent":
            self.repay_pending = d["amount"]
        elif name == "repaid":
            self.repay_pending = None
            self.repaid += d["paid"]
            self.deposit_open = False
        elif name == "payout_failed":
            if d["purpose"] == "change":
                self.change_pending = None
                self.change_paid += d["paid"]
            else:
                self.repay_pending = None
                self.repaid += d["paid"]
            self.owed += d["requested"] - d["paid"]
        elif name == "receipt_intent":
            self.receipt_pending = True
            self.receipt_copies = d["copy"]
        elif name == "receipt_done":
            self.receipt_pending = False
            self.receipt_printed = True
            self.receipt_fault = None
        elif name == "receipt_failed":
            self.receipt_pending = False
            self.receipt_fault = d["fault"]
        elif name == "note":
            self.notes.append(d)
        elif name == "closed":
            self.closed = d["result"]
        elif name == "published":
            self.published = True
        elif name == "ticket":
            self.ticket = d["token"]
            self.ticket_number = d.get("number")
        elif name == "ticket_intent":
            self.ticket_sent = True
        elif name == "ticket_done":
            self.ticket_result = d["result"]
            self.ticket_number = d.get("number", self.ticket_number)
        else:
            raise ValueError(f"transaction {self.id}: unknown journal step {name!r}")


def replay(steps: Sequence[Step]) -> TxRecord:
    if not steps:
        raise ValueError("no steps to replay")
    record = TxRecord(steps[0].tx)
    for step in steps:
        record.apply(step)
    return record


def check(record: TxRecord) -> list[str]:
    """Invariants of a finished transaction; an empty list means consistent.

    Money: a paid transaction kept exactly its total (tendered − change, less anything owed back);
    a cancelled one gave back everything it took in. At most one approved sale. A paid one was closed
    as paid, has a receipt printed or a receipt fault recorded for staff.
    """
    problems: list[str] = []
    approved = [s for s in record.sales if s["outcome"] == "approved"]
    if len(approved) > 1:
        problems.append(f"{len(approved)} approved sales")
    if record.closed is None:
        problems.append("not closed")
    if record.closed == "paid":
        if record.paid is None:
            problems.append("closed as paid without a paid step")
        elif record.paid["method"] == "cash":
            kept = record.credited - record.change_paid - record.owed
            if kept != record.total:
                problems.append(f"cash kept {kept} != total {record.total}")
        elif len(approved) != 1 or approved[0]["amount"] != record.total:
            problems.append("cashless paid without exactly one approved sale of the total")
        if not record.receipt_printed and record.receipt_fault is None:
            problems.append("paid but no receipt printed or receipt fault recorded")
    elif record.closed in ("cancelled", "aborted"):
        if record.paid is not None:
            problems.append(f"closed as {record.closed} after a paid step")
        if approved:
            problems.append(f"closed as {record.closed} with an approved sale")
        if record.credited != record.repaid + record.owed:
            problems.append(f"took {record.credited} in cash but gave back {record.repaid} (+{record.owed} owed)")
    pending = (record.change_pending, record.repay_pending, record.sale_pending)
    if record.closed is not None and any(p is not None for p in pending):
        problems.append("closed with an operation still pending")
    return problems
