"""The register's decisions, without Kivy: which payment devices may be offered, what the resident sees
when a payment ends, and the resident's ticket when they scan it (:class:`TicketScan`). The app
(:mod:`register.app.app`) only applies them to its screens.

Faults are values here (:class:`DeviceHealth`); they become presence words (``changer_jam``, ``printer_paper_end``,
``payments_set_aside``…) only on the bus. Messages are English ids, translated when shown.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from kiosk.i18n import N_
from kiosk.wareki import western_date
from register.checkout import Settlement
from register.ticket import TicketCode, TicketInfo, status_api_url

if TYPE_CHECKING:  # the outbox speaks MQTT; its answers are plain values here
    from register.outbox import TicketAnswer

log = logging.getLogger(__name__)

#: Fault words of a payment device that stop it from being offered.
BLOCKING = ("disconnected", "jam", "full", "error", "offline")
#: A printer fault that still lets a receipt out.
PRINTER_WARNINGS = ("printer_paper_near_end",)


@dataclass(frozen=True)
class DeviceHealth:
    """The register's devices as the last check (or a failed payment) left them."""

    faults: frozenset[str] = frozenset()
    has_cash: bool = False
    has_cashless: bool = False

    def blocked(self, device: str) -> bool:
        """``device`` (``changer``, ``terminal``) has a fault that stops it, e.g. ``changer_jam:bill``."""
        prefix = f"{device}_"
        return any(f.startswith(prefix) and f[len(prefix) :].split(":")[0] in BLOCKING for f in self.faults)

    @property
    def cash_ok(self) -> bool:
        return self.has_cash and not self.blocked("changer")

    @property
    def cashless_ok(self) -> bool:
        return self.has_cashless and not self.blocked("terminal")

    @property
    def printer_ok(self) -> bool:
        return not any(f.startswith("printer_") and f not in PRINTER_WARNINGS for f in self.faults)

    def checked(self, found: set[str], *, set_aside: bool, paying: bool) -> DeviceHealth:
        """After a device check found ``found``: a set-aside payment stays a fault until staff deal with it,
        and during a payment the payment devices keep the faults the payment itself ran into."""
        faults = set(found)
        if set_aside:
            faults.add("payments_set_aside")
        if paying:
            faults |= {f for f in self.faults if f.startswith(("changer_", "terminal_"))}
        return replace(self, faults=frozenset(faults))

    def plus(self, fault: str) -> DeviceHealth:
        return replace(self, faults=self.faults | {fault})

    def minus(self, fault: str) -> DeviceHealth:
        return replace(self, faults=self.faults - {fault})


#: Why a payment ended without the money, as the cart screen says it.
UNPAID_MESSAGES = {
    "declined": N_("The payment was declined. Please try another card, or pay by cash."),
    "cancelled": N_("The card payment was cancelled. Nothing was charged."),
    "not_enough_change": N_("The machine does not have enough change. Please pay by card, or ask a member of staff."),
}
UNPAID_OTHERWISE = N_("The payment was not completed. Nothing was charged.")


@dataclass(frozen=True)
class AfterPayment:
    """What follows a settlement: the next screen, and for the cart screen why (an English message id)."""

    screen: Literal["done", "help", "returned", "cart"]
    message: str = ""
    #: ``help``: money the register owes the resident (staff hand it over)
    owed: int = 0
    #: ``done``: the receipt printer's fault, if the receipt did not come out
    printer_fault: str | None = None
    paid: bool = False


def after_settlement(settlement: Settlement) -> AfterPayment:
    """Paid → the done screen (or staff, when change is owed); not paid → money given back, staff for what is
    owed, or the cart with the reason."""
    fault = settlement.receipt_fault
    if settlement.result == "paid":
        if settlement.owed:
            return AfterPayment("help", owed=settlement.owed, printer_fault=fault, paid=True)
        return AfterPayment("done", printer_fault=fault, paid=True)
    if settlement.owed:
        return AfterPayment("help", owed=settlement.owed)
    if settlement.record.repaid:
        return AfterPayment("returned")
    return AfterPayment("cart", UNPAID_MESSAGES.get(settlement.reason, UNPAID_OTHERWISE))


# ----------------------------------------------------------------- words
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def local_date(day: date, lang: str) -> str:
    """A date as the screen's language writes it: 2026年12月4日 in Japanese and Chinese text (an ISO 2026-12-04
    in a Japanese sentence reads as a code, not a day), 2026년 12월 4일, 4 Dec 2026, 4/12/2026 (vi), 04/12/2026
    (pt-BR)."""
    if lang in ("ja", "ja-easy", "zh"):
        return western_date(day)
    if lang == "ko":
        return f"{day.year}년 {day.month}월 {day.day}일"
    if lang == "vi":
        return f"{day.day}/{day.month}/{day.year}"
    if lang == "pt":
        return f"{day:%d/%m/%Y}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def done_seconds(change: int) -> float | None:
    """How long the done screen stays before going home by itself: a while when there is nothing to take, never
    when change was paid out. The changer pays it out before this screen shows (the payout call returns when the
    hoppers report it done), but no changer here can tell that the tray was emptied: the screen keeps saying
    "please take your change" until someone taps it, so the next resident finds the message, not a start screen
    over coins left in the tray."""
    return None if change > 0 else DONE_SECONDS


#: Seconds the done screen stays when no change is to be taken.
DONE_SECONDS = 30


# ----------------------------------------------------------------- the resident's ticket
#: Where a scanned ticket stands: being looked up; found with a payment step open; not looked up (no status
#: API for this register, or it did not answer: the service decides); nothing to pay on it; not today's.
TicketState = Literal["looking", "found", "unchecked", "nothing_to_pay", "unknown"]

TICKET_WILL_RECORD = N_("This payment will be recorded for ticket {number}.")
TICKET_WILL_RECORD_UNNUMBERED = N_("This payment will be recorded for your ticket.")
TICKET_NOTHING_TO_PAY = N_("Ticket {number} has no payment to record here. You can still pay your slips.")
TICKET_UNKNOWN = N_("This ticket is not one of today's. You can still pay your slips.")
TICKET_DONE = N_("Ticket {number}: your payment is recorded. All your procedures are done.")
TICKET_NEXT = N_("Ticket {number}: your payment is recorded. Please go on to your next counter.")


@dataclass(frozen=True)
class TicketScan:
    """The resident's ticket at the register, from its scan to the queue service's answer after the payment.

    Scanning is optional, and nothing here stops a payment: a ticket that cannot be used is only not
    recorded (the resident is told why, and pays their slips all the same)."""

    code: TicketCode
    state: TicketState = "looking"
    number: int | None = None
    #: After the payment: how the service answered ``ticket_paid`` (``TicketAnswer.result``), and whether the
    #: visit is over.
    answer: str | None = None
    finished: bool = False
    #: The payment attempt it was journaled with (the latest one, if the resident tried more than once).
    tx: str | None = None

    @classmethod
    def scanned(cls, code: TicketCode, *, can_look_up: bool) -> TicketScan:
        return cls(code, "looking" if can_look_up else "unchecked")

    @property
    def attached(self) -> bool:
        """The payment is to be recorded for this ticket (also when the register could not ask about it)."""
        return self.state in ("looking", "found", "unchecked")

    def found(self, info: TicketInfo) -> TicketScan:
        """The status API's answer: a payment step open, or nothing to record on this ticket. Once a payment
        was journaled for the ticket, the answer only brings the number: the queue service decides."""
        if self.tx is not None:
            return replace(self, number=info.number, state="found")
        return replace(self, state="found" if info.payable else "nothing_to_pay", number=info.number)

    def not_found(self) -> TicketScan:
        return self.lookup_failed() if self.tx is not None else replace(self, state="unknown", number=None)

    def paying(self, tx: str) -> TicketScan:
        """A payment attempt ``tx`` was journaled for the ticket."""
        return replace(self, tx=tx)

    def lookup_failed(self) -> TicketScan:
        return replace(self, state="unchecked") if self.state == "looking" else self

    def answered(self, answer: TicketAnswer) -> TicketScan:
        number = answer.number if answer.number is not None else self.number
        return replace(self, answer=answer.result, number=number, finished=answer.finished)

    def journal(self) -> dict[str, Any]:
        """The payment's ``ticket`` step: the token (to send ``ticket_paid``) and the number, when known."""
        data: dict[str, Any] = {"token": self.code.token}
        if self.number is not None:
            data["number"] = self.number
        return data

    def line(self) -> tuple[str, dict[str, Any], str] | None:
        """What the screens say about the ticket: (English message id, its parameters, tone), or None."""
        params = {"number": self.number}
        if self.answer is not None:
            if self.answer not in ("closed", "already_closed"):
                return None  # the staff screen lists it; the resident has paid and is not held up
            return (TICKET_DONE if self.finished else TICKET_NEXT), params, "ok"
        if self.state == "nothing_to_pay":
            return TICKET_NOTHING_TO_PAY, params, "muted"
        if self.state == "unknown":
            return TICKET_UNKNOWN, {}, "muted"
        if self.number is None:
            return TICKET_WILL_RECORD_UNNUMBERED, {}, "fg"
        return TICKET_WILL_RECORD, params, "fg"


def rescan(current: TicketScan | None, code: TicketCode, *, can_look_up: bool) -> TicketScan | None:
    """A ticket was scanned: the new state, or None when it is the ticket already scanned (nothing changes)."""
    if current is not None and current.code.token == code.token and current.answer is None:
        return None
    return TicketScan.scanned(code, can_look_up=can_look_up)


#: What a lookup of a ticket's status found: its number and whether it has a payment open; ``not_found`` (not
#: today's); None (could not ask).
Lookup = TicketInfo | Literal["not_found"] | None
#: ``submit(work, done)``: ``work()`` off the screen's thread (it blocks on HTTP), ``done(result)`` back on it.
Submit = Callable[[Callable[[], Lookup], Callable[[Lookup], None]], None]


class TicketDesk:
    """The resident's ticket while they are at the register: scanned, looked up, paid for, answered for.

    ``look_up(url)`` asks the status API (blocking; :func:`register.app.ticket_lookup.look_up`), run through
    ``submit``; ``show(scan)`` puts the state on the screens (``None``: nothing about a ticket)."""

    def __init__(self, status_url: str, look_up: Callable[[str], Lookup], submit: Submit, show) -> None:
        self.status_url, self.look_up, self.submit = status_url, look_up, submit
        self.show: Callable[[TicketScan | None], None] = show
        self.ticket: TicketScan | None = None

    def scanned(self, code: TicketCode) -> None:
        """A ticket's QR code: the payment will be recorded for it; its number is asked for (this office's)."""
        url = status_api_url(self.status_url, code)
        scan = rescan(self.ticket, code, can_look_up=url is not None)
        if scan is None:
            return  # the same ticket again
        log.info("ticket scanned (%s)%s", code.short, "" if url else "; not this register's status page: no lookup")
        self._set(scan)
        if url is not None:
            self.submit(lambda: self.look_up(url), lambda found: self.looked_up(code.token, found))

    def looked_up(self, token: str, found: Lookup) -> None:
        scan = self.ticket
        if scan is None or scan.code.token != token:
            return  # the resident went on (another ticket, or the cart was cleared)
        if found == "not_found":
            scan = scan.not_found()
        elif found is None:
            scan = scan.lookup_failed()
        else:
            scan = scan.found(found)
        log.info("ticket %s (%s): %s", scan.number or "?", scan.code.short, scan.state)
        self._set(scan)

    def paying(self, tx: str | None) -> None:
        """Payment attempt ``tx`` began (PaymentFlow journaled the ticket with it if it is attached)."""
        if self.ticket is not None and self.ticket.attached and tx is not None:
            self.ticket = self.ticket.paying(tx)

    def paid(self, *, done_screen: bool) -> None:
        """A payment went through: the done screen says how it went for a ticket paid for, nothing else."""
        if not done_screen or self.ticket is None or not self.ticket.attached:
            self.forget()

    def answered(self, answer: TicketAnswer) -> None:
        """The queue service answered ``ticket_paid`` (through the outbox) for the payment on screen, or another."""
        if self.ticket is not None and self.ticket.tx == answer.tx:
            self._set(self.ticket.answered(answer))

    def forget(self) -> None:
        self._set(None)

    def retell(self) -> None:
        """The screens' language changed."""
        self.show(self.ticket)

    def _set(self, scan: TicketScan | None) -> None:
        self.ticket = scan
        self.show(scan)
