"""The register says how it ran for each payment: full-self (the resident alone) or semi-self (staff keyed a
fee), so the KPI pages split the cashless share as the cities report it (Isesaki: semi-self 2 → 8 %)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from register.ledger import TxRecord
from register.outbox import payment_args


def paid(mode: str) -> TxRecord:
    return TxRecord(
        id="20261204-register-1f-00001",
        slips=[{"kind": "fee", "payee": "shomei_fee", "amount": 300}],
        total=300,
        mode=mode,
        paid={"method": "cashless", "media": "qr", "brand": "PayPay"},
        paid_at=datetime(2026, 12, 4, 10, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize(("mode", "register_mode"), [("self", "full_self"), ("staff", "semi_self")])
def test_the_payment_says_how_the_register_ran(mode, register_mode):
    args = payment_args(paid(mode))
    assert args.register_mode == register_mode
    assert args.method == "cashless" and args.total == 300
