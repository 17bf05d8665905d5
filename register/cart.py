"""The resident's cart: the slips scanned (or fees keyed in by staff) before paying. Pure, no I/O.

A line keeps what the receipt and the collection data need (payee, amount, the slip's reference
and raw digits); the refusal rules are :func:`register.slips.policy.check_slip`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Container
from dataclasses import dataclass
from datetime import date
from typing import Any

from kiosk.config.site import Payee, RegisterSettings
from register.slips.model import Slip
from register.slips.policy import SlipRefused, bill_key, check_slip
from register.slips.scan import read_slip


@dataclass(frozen=True)
class CartLine:
    """A slip (or a fee keyed in by staff) and the payee it was matched to."""

    slip: Slip
    payee: Payee

    def journal(self) -> dict[str, Any]:
        """What the journal keeps of the line (the register's collection record)."""
        slip = self.slip
        return {
            "kind": slip.kind,
            "key": slip.key,
            "bill": bill_key(slip, self.payee),
            "payee": self.payee.id,
            "amount": slip.amount,
            "reference": slip.reference,
            "raw": slip.raw,
        }


class Cart:
    def __init__(self, settings: RegisterSettings, today: date, paid: Container[str] = ()) -> None:
        """``paid``: the keys of the slips this register has taken money for already (its journal)."""
        self.settings = settings
        self.today = today
        self.paid = paid
        self.lines: list[CartLine] = []

    @property
    def total(self) -> int:
        return sum(line.slip.amount for line in self.lines)

    def __len__(self) -> int:
        return len(self.lines)

    def scan(self, scanned: str) -> CartLine:
        """Read a scanned code and add it; raises SlipError (unreadable) or SlipRefused (not payable here)."""
        slip = read_slip(scanned)
        payee = check_slip(slip, self.settings, self.today, [line.slip for line in self.lines], self.paid)
        line = CartLine(slip, payee)
        self.lines.append(line)
        return line

    def add_fee(self, payee_id: str, amount: int) -> CartLine:
        """Semi-self mode: a member of staff keys in a fee (手数料) for the resident to pay.

        Same limits as a scanned slip; raises SlipRefused (``not_accepted`` for a payee that is not a fee).
        """
        fee = Slip("fee", f"fee-{uuid.uuid4().hex[:12]}", amount, None, None, payee_id, "", "", None, None, "")
        payee = next((p for p in self.settings.payees if p.id == payee_id and p.fee), None)
        if payee is None:
            raise SlipRefused("not_accepted", fee, payee_code=payee_id)
        if not 1 <= amount <= self.settings.max_slip_amount:
            raise SlipRefused("over_limit", fee, amount=amount, limit=self.settings.max_slip_amount)
        if len(self.lines) >= self.settings.max_slips:
            raise SlipRefused("too_many", fee, limit=self.settings.max_slips)
        if self.total + amount > self.settings.max_total:
            raise SlipRefused("total_over_limit", fee, total=self.total + amount, limit=self.settings.max_total)
        line = CartLine(fee, payee)
        self.lines.append(line)
        return line

    def remove(self, index: int) -> None:
        self.lines.pop(index)

    def clear(self) -> None:
        self.lines.clear()
