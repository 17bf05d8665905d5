"""record_payment: idempotent by transaction id at the queue service; the register's outbox catches up after the
broker was away; nothing but amounts, payees and the payment method crosses the bus."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.bus.client import CommandFailed
from register.journal import Journal
from register.ledger import check, replay
from register.outbox import PaymentOutbox, payment_args

AT = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
SLIPS = [
    {"kind": "cvs", "key": "912345-0001", "payee": "kokuho", "amount": 12300, "reference": "0001", "raw": "91..."},
    {"kind": "elqr", "key": "13999-0002", "payee": "kotei", "amount": 39500, "reference": "eL", "raw": "0002..."},
]


def paid_tx(journal: Journal, tx: str, method: str = "cash") -> None:
    journal.append(tx, "open", {"slips": SLIPS, "total": 51800, "mode": "self"}, at=AT)
    if method == "cash":
        journal.append(tx, "deposit_begin", at=AT)
        journal.append(tx, "credit", {"denomination": 10000, "total": 10000, "event_id": "40:1"}, at=AT)
        for i in range(5):
            journal.append(
                tx, "credit", {"denomination": 10000, "total": 20000 + i * 10000, "event_id": f"40:{i + 2}"}, at=AT
            )
        journal.append(tx, "deposit_fix", at=AT)
        journal.append(tx, "deposited", {"amount": 60000}, at=AT)
        journal.append(tx, "paid", {"method": "cash", "tendered": 60000, "change": 8200}, at=AT)
        journal.append(tx, "change_intent", {"amount": 8200}, at=AT)
        journal.append(tx, "change_done", {"paid": 8200}, at=AT)
    else:
        journal.append(tx, "sale_intent", {"key": f"{tx}-s1", "amount": 51800}, at=AT)
        result = {"key": f"{tx}-s1", "outcome": "approved", "amount": 51800, "media": "qr", "brand": "PayPay"}
        journal.append(tx, "sale_result", result, at=AT)
        paid = {"method": "cashless", "tendered": 51800, "change": 0, "media": "qr", "brand": "PayPay"}
        journal.append(tx, "paid", paid, at=AT)
    journal.append(tx, "receipt_intent", {"copy": 1}, at=AT)
    journal.append(tx, "receipt_done", at=AT)
    journal.append(tx, "closed", {"result": "paid"}, at=AT)


def test_ledger_check_accepts_a_consistent_payment_and_names_what_is_wrong(tmp_path):
    journal = Journal(tmp_path / "payments.db")
    paid_tx(journal, "20261123-r1-00001")
    assert check(replay(journal.steps("20261123-r1-00001"))) == []
    journal.append("20261123-r1-00002", "open", {"slips": SLIPS, "total": 51800}, at=AT)
    journal.append("20261123-r1-00002", "credit", {"denomination": 1000, "total": 1000, "event_id": "40:9"}, at=AT)
    journal.append("20261123-r1-00002", "closed", {"result": "cancelled"}, at=AT)
    problems = check(replay(journal.steps("20261123-r1-00002")))
    assert problems == ["took 1000 in cash but gave back 0 (+0 owed)"]
    assert journal.open_transactions() == []


def test_the_journal_is_on_disk_in_wal_mode_with_full_sync(tmp_path):
    journal = Journal(tmp_path / "payments.db")
    assert journal._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_record_payment_is_counted_once_per_transaction(service, devices, tmp_path):
    register = devices("register-1f")
    journal = Journal(tmp_path / "payments.db")
    for method, tx in (("cash", "20261123-register-1f-00001"), ("cashless", "20261123-register-1f-00002")):
        paid_tx(journal, tx, method)
        journal_args = payment_args(replay(journal.steps(tx)))
        first = register.request("record_payment", journal_args)
        again = register.request("record_payment", journal_args)
        assert first["recorded"] is True and again["recorded"] is False
    assert again == {"recorded": False, "payments_today": 2, "cashless_today": 1}
    assert set(service.core.engine.state.payments) == {"20261123-register-1f-00001", "20261123-register-1f-00002"}
    bad = journal_args.model_dump(mode="json") | {"total": 1}
    with pytest.raises(CommandFailed) as e:
        register.request("record_payment", bad)
    assert e.value.code == "invalid_args"
    kiosk = devices("kiosk-1f")
    with pytest.raises(Exception, match="does not allow kiosk-1f"):
        kiosk.request("record_payment", journal_args)


def test_outbox_keeps_payments_while_the_broker_is_down_and_sends_each_once(site, broker, service, devices, tmp_path):
    from tests.harness import start_broker

    journal = Journal(tmp_path / "payments.db")
    bus = devices("register-1f")
    outbox = PaymentOutbox(journal, bus)
    paid_tx(journal, "20261123-register-1f-00001")
    assert outbox.flush() == 1
    assert outbox.pending() == []
    broker.stop()
    paid_tx(journal, "20261123-register-1f-00002", "cashless")
    paid_tx(journal, "20261123-register-1f-00003")
    assert outbox.flush() == 0
    assert outbox.pending() == ["20261123-register-1f-00002", "20261123-register-1f-00003"]
    restarted = start_broker(site, broker.state, port=broker.port)
    try:
        assert bus.connected.wait(20)
        assert outbox.flush() == 2
        assert outbox.pending() == []
        assert len(service.core.engine.state.payments) == 3
        published = [s.tx for s in journal.steps() if s.step == "published"]
        assert len(published) == len(set(published)) == 3
    finally:
        restarted.stop()


def test_a_payment_that_cannot_be_reported_is_set_aside_and_the_others_are_sent(service, devices, tmp_path):
    """A journal from before the 0-yen check: its 0-yen line fails the contract's schema on the register
    (not a bus error). It used to kill the outbox thread, first in line again after every restart."""
    register = devices("register-1f")
    journal = Journal(tmp_path / "payments.db")
    zero = [{**SLIPS[0], "amount": 0}, {**SLIPS[1], "amount": 51800}]
    first = "20261123-register-1f-00001"
    journal.append(first, "open", {"slips": zero, "total": 51800, "mode": "self"}, at=AT)
    journal.append(first, "sale_intent", {"key": f"{first}-s1", "amount": 51800}, at=AT)
    result = {"key": f"{first}-s1", "outcome": "approved", "amount": 51800, "media": "qr", "brand": "PayPay"}
    journal.append(first, "sale_result", result, at=AT)
    paid = {"method": "cashless", "tendered": 51800, "change": 0, "media": "qr", "brand": "PayPay"}
    journal.append(first, "paid", paid, at=AT)
    journal.append(first, "closed", {"result": "paid"}, at=AT)
    good = "20261123-register-1f-00002"
    paid_tx(journal, good)
    set_aside: list[tuple[str, str]] = []
    outbox = PaymentOutbox(journal, register, on_set_aside=lambda tx, why: set_aside.append((tx, why)))

    assert outbox.flush() == 1  # the good one went, past the one that cannot
    assert set(service.core.engine.state.payments) == {good}
    assert [tx for tx, _ in set_aside] == [first] and "ValidationError" in set_aside[0][1]
    assert outbox.pending() == [first]  # still unpublished: staff see it, a restart finds it again
    assert outbox.flush() == 0 and len(set_aside) == 1  # set aside once, not retried in a loop


def test_the_journal_remembers_every_bill_it_took_money_for(tmp_path):
    from register.cart import Cart
    from register.slips.cvs import encode_cvs

    journal = Journal(tmp_path / "payments.db")
    paid_tx(journal, "20261123-register-1f-00001", "cash")
    cancelled = "20261123-register-1f-00002"
    journal.append(cancelled, "open", {"slips": [{**SLIPS[0], "key": "not-paid"}], "total": 1}, at=AT)
    journal.append(cancelled, "closed", {"result": "cancelled"}, at=AT)
    assert journal.paid_slip_keys() == {s["key"] for s in SLIPS}  # the cancelled one is not paid

    from kiosk.config import load_site
    from tests.conftest import EXAMPLE_SITE

    site = load_site(EXAMPLE_SITE)
    payee = next(p for p in site.register.payees if p.company_code)
    code = encode_cvs(payee.company_code, payee.free_prefix + "1", 0, None, 0, 1000)
    slip_key = Cart(site.register, AT.date()).scan(code).slip.key
    cart = Cart(site.register, AT.date(), paid={slip_key})
    with pytest.raises(Exception) as err:
        cart.scan(code)
    assert getattr(err.value, "code", None) == "already_paid" and len(cart) == 0
