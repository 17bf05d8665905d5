"""May this slip go into the cart? The register's rules, separate from how codes are read.

Each refusal has a code the UI translates and parameters it puts in the message (the limit,
the deadline); :func:`refusal_params` gives them as display-ready strings.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from datetime import date
from typing import Literal

from kiosk.config.site import Payee, RegisterSettings
from register.slips.model import Slip

RefusalCode = Literal[
    "expired", "over_limit", "total_over_limit", "duplicate", "not_accepted", "too_many", "no_amount", "already_paid"
]


class SlipRefused(Exception):
    """A readable slip the register will not take. ``params`` are raw values (int yen, date, str)."""

    def __init__(self, code: RefusalCode, slip: Slip, **params: int | str | date) -> None:
        super().__init__(f"slip refused: {code} {params}")
        self.code: RefusalCode = code
        self.slip = slip
        self.params = params


def find_payee(slip: Slip, settings: RegisterSettings) -> Payee | None:
    """The payee this slip pays; for a shared agent code the longest matching free-field prefix wins."""
    if slip.kind == "elqr":
        wanted = (slip.institution, slip.payee_code)
        return next((p for p in settings.payees if (p.eltax_institution, p.eltax_tax_code) == wanted), None)
    code, free = slip.payee_code, slip.reference
    agents = [p for p in settings.payees if p.company_code == code and free.startswith(p.free_prefix)]
    return max(agents, key=lambda p: len(p.free_prefix), default=None)


def bill_key(slip: Slip, payee: Payee | None) -> str:
    """The identity of the bill behind ``slip``: its own ``key``, unless its payee prints the bill's
    number in both codes (``bill_number``), so that the barcode and the eL-QR code of one bill are one."""
    if payee is None or payee.bill_number is None or slip.kind == "fee":
        return slip.key
    rule = payee.bill_number
    span = rule.cvs_free if slip.kind == "cvs" else rule.elqr_number
    return f"bill:{payee.id}:{span.of(slip.number)}"


def check_slip(
    slip: Slip, settings: RegisterSettings, today: date, cart: Sequence[Slip], paid: Container[str] = ()
) -> Payee:
    """The payee if the slip may join ``cart``, else :class:`SlipRefused` with the first rule it breaks.

    Order: the most specific reason first, so a resident who scans the same slip twice hears
    "already scanned", not "too many slips".
    """
    payee = find_payee(slip, settings)
    bill = bill_key(slip, payee)
    if any(bill_key(c, find_payee(c, settings)) == bill for c in cart):
        raise SlipRefused("duplicate", slip, reference=slip.reference)
    if slip.key in paid or bill in paid:  # paid in an earlier transaction of this register: a bill is paid once
        raise SlipRefused("already_paid", slip, reference=slip.reference)
    if payee is None:
        raise SlipRefused("not_accepted", slip, payee_code=slip.payee_code)
    if slip.amount <= 0:  # nothing to pay, and a 0-yen line cannot be reported (PaidSlip needs amount > 0)
        raise SlipRefused("no_amount", slip, amount=slip.amount)
    if slip.deadline is not None and today > slip.deadline:
        raise SlipRefused("expired", slip, deadline=slip.deadline)
    if slip.amount > settings.max_slip_amount:
        raise SlipRefused("over_limit", slip, amount=slip.amount, limit=settings.max_slip_amount)
    if len(cart) >= settings.max_slips:
        raise SlipRefused("too_many", slip, limit=settings.max_slips)
    total = sum(c.amount for c in cart) + slip.amount
    if total > settings.max_total:
        raise SlipRefused("total_over_limit", slip, total=total, limit=settings.max_total)
    return payee


def refusal_params(refused: SlipRefused) -> dict[str, str]:
    """The refusal's parameters as strings for a translated message: yen with thousands separators
    (``limit`` is a slip count for ``too_many``), dates as ISO ``YYYY-MM-DD``."""
    out: dict[str, str] = {}
    for name, value in refused.params.items():
        if isinstance(value, date):
            out[name] = value.isoformat()
        elif isinstance(value, int) and refused.code != "too_many":
            out[name] = f"{value:,}"
        else:
            out[name] = str(value)
    return out
