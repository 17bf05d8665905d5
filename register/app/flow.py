"""The register's decisions, without Kivy: which payment devices may be offered, and what the resident sees
when a payment ends. The app (:mod:`register.app.app`) only applies them to its screens.

Faults are values here (:class:`DeviceHealth`); they become presence words (``changer_jam``, ``printer_paper_end``,
``payments_set_aside``…) only on the bus. Messages are English ids, translated when shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from kiosk.i18n import N_
from register.checkout import Settlement

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
