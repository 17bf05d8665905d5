"""Tell the queue service about every completed payment, however long the broker is away.

The journal is the outbox: a transaction closed as paid without a ``published`` step is sent
(``record_payment``) until the service acknowledges it, oldest first. The service records a
transaction id once, so a reply lost on the way back only costs a second, harmless send. The
register never waits for this: residents keep paying while the broker is down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from kiosk.bus.client import Bus, BusError, CommandFailed
from kiosk.bus.contract import Verb
from kiosk.bus.schemas import PaidSlip, RecordPaymentArgs
from register.journal import Journal
from register.ledger import TxRecord, replay

log = logging.getLogger(__name__)


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
    ) -> None:
        self.journal = journal
        self.bus = bus
        self.retry_seconds = retry_seconds
        self.on_sent = on_sent
        self.on_set_aside = on_set_aside
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
        """Send what is pending now; returns how many were acknowledged. Stops at the first bus failure (the
        broker is away: the rest would fail too); a transaction that cannot be sent at all is set aside."""
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
                return sent
            self.journal.append(tx, "published", at=args.paid_at)  # the record's paid_at (payment_args checked it)
            sent += 1
            if self.on_sent is not None:
                self.on_sent(tx)
        return sent

    def _set_aside(self, tx: str, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        log.error("payment %s cannot be reported and is set aside (%s); the others go on", tx, reason)
        self.set_aside[tx] = reason
        if self.on_set_aside is not None:
            self.on_set_aside(tx, reason)
