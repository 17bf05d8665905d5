"""The register app's decisions without Kivy (register/app/flow.py): devices offered, what follows a payment."""

from __future__ import annotations

import pytest

from register.app.flow import UNPAID_MESSAGES, UNPAID_OTHERWISE, AfterPayment, DeviceHealth, after_settlement
from register.checkout import Settlement
from register.ledger import TxRecord


def test_a_blocking_fault_takes_a_device_off_the_cart_screen_and_a_warning_does_not():
    health = DeviceHealth(frozenset({"changer_jam:bill", "printer_paper_near_end"}), has_cash=True, has_cashless=True)
    assert not health.cash_ok and health.cashless_ok and health.printer_ok
    assert not health.plus("printer_paper_end").printer_ok
    assert health.minus("changer_jam:bill").cash_ok
    assert not DeviceHealth(has_cash=False).cash_ok  # no changer fitted: never offered


def test_a_check_keeps_the_set_aside_payments_and_the_faults_a_payment_ran_into():
    during = DeviceHealth(frozenset({"terminal_error", "printer_cover_open"}), has_cash=True, has_cashless=True)
    after_check = during.checked({"changer_full"}, set_aside=True, paying=True)
    assert after_check.faults == {"changer_full", "terminal_error", "payments_set_aside"}
    assert during.checked(set(), set_aside=False, paying=False).faults == frozenset()


def settlement(result: str, *, owed: int = 0, reason: str = "", repaid: int = 0, fault: str | None = None):
    record = TxRecord(id="tx-1")
    record.repaid = repaid
    return Settlement(result, record, receipt_fault=fault, owed=owed, reason=reason)


@pytest.mark.parametrize(
    ("given", "wanted"),
    [
        (settlement("paid"), AfterPayment("done", paid=True)),
        (settlement("paid", fault="paper_end"), AfterPayment("done", printer_fault="paper_end", paid=True)),
        (settlement("paid", owed=300), AfterPayment("help", owed=300, paid=True)),
        (settlement("cancelled", owed=1000), AfterPayment("help", owed=1000)),
        (settlement("cancelled", repaid=2000, reason="cancelled"), AfterPayment("returned")),
        (settlement("aborted", reason="declined"), AfterPayment("cart", UNPAID_MESSAGES["declined"])),
        (settlement("aborted", reason="something new"), AfterPayment("cart", UNPAID_OTHERWISE)),
    ],
    ids=["paid", "paid-no-receipt", "paid-change-owed", "owed", "given-back", "declined", "unknown-reason"],
)
def test_what_follows_a_payment(given, wanted):
    assert after_settlement(given) == wanted


def test_each_known_reason_has_its_own_message():
    messages = {
        r: after_settlement(settlement("aborted", reason=r)).message
        for r in ("declined", "cancelled", "not_enough_change")
    }
    assert len(set(messages.values())) == 3 and UNPAID_OTHERWISE not in messages.values()
