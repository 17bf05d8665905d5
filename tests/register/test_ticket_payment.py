"""A payment for the resident's ticket (register/app/payment.py): the ticket goes into the journal with the
transaction, before any device acts, for every attempt; only a paid transaction is left for the outbox to send
as ``ticket_paid``. On the changer and terminal simulators, as tests/register/test_payment_flow.py."""

from __future__ import annotations

from register.app.flow import TicketScan
from register.ledger import replay
from register.ticket import TicketInfo, read_ticket
from tests.register.test_payment_flow import MainThread, Screens
from tests.register.test_register_flow import all_consistent, artifacts, cart_of, devices, register  # noqa: F401

TOKEN = "Abc_def-GHI0123456789x"


def ticket(number: int | None = 42) -> TicketScan:
    code = read_ticket(f"https://madoguchi.city.example.jp/t/{TOKEN}")
    assert code is not None
    scan = TicketScan.scanned(code, can_look_up=number is not None)
    return scan.found(TicketInfo(number, True, "done")) if number is not None else scan


def test_cash_cancelled_then_cashless_paid_only_the_paid_attempt_is_left_to_send(register, devices):  # noqa: F811
    from register.app.payment import PaymentFlow

    changer, terminal, _ = devices
    screens, main = Screens(), MainThread()
    payment = PaymentFlow(register, screens, main.run, main.on_main)
    cart = cart_of(register, "kokuho")
    scan = ticket()

    assert payment.pay_cash(cart, "self", scan)
    cancelled = payment.checkout.tx
    steps = [s.step for s in register.journal.steps(cancelled)]
    assert steps[:3] == ["open", "ticket", "deposit_begin"]  # on disk before the changer took anything
    changer.insert(1000)
    main.deliver()
    payment.cancel_cash()
    assert screens.shown[-1] == ("settled", "returned", "cancelled")

    terminal.auto = ("qr", "PayPay")
    assert payment.pay_cashless(cart, "self", scan)
    assert screens.shown[-1] == ("settled", "done", "paid")
    paid = register.journal.closed_as("paid")
    assert len(paid) == 1 and paid[0] != cancelled
    record = replay(register.journal.steps(paid[0]))
    assert record.ticket == TOKEN and record.ticket_number == 42 and record.ticket_result is None
    assert register.journal.tickets_unsent() == paid  # the cancelled attempt is never sent
    assert all_consistent(register) == []


def test_a_ticket_with_nothing_to_pay_is_not_journaled_and_a_payment_without_one_has_none(register, devices):  # noqa: F811
    from register.app.payment import PaymentFlow

    _, terminal, _ = devices
    terminal.auto = ("credit", "VISA")
    screens, main = Screens(), MainThread()
    payment = PaymentFlow(register, screens, main.run, main.on_main)
    nothing = ticket().found(TicketInfo(42, False, "done"))
    assert payment.pay_cashless(cart_of(register, "kokuho"), "self", nothing)
    assert payment.pay_cashless(cart_of(register, "hoiku"), "self")
    assert [s[1:] for s in screens.shown if s[0] == "settled"] == [("done", "paid"), ("done", "paid")]
    assert not any(s.step == "ticket" for s in register.journal.steps())
    assert register.journal.tickets_unsent() == []
    unchecked = ticket(None)  # the register could not ask: the service decides
    assert payment.pay_cashless(cart_of(register, "kaigo"), "self", unchecked)
    tx = register.journal.tickets_unsent()
    assert len(tx) == 1 and replay(register.journal.steps(tx[0])).ticket_number is None


def test_a_payment_settled_by_recovery_after_a_crash_still_sends_its_ticket(tmp_path):
    """The register died after the terminal approved, before ``paid`` was on disk: recovery finds the approval,
    closes the transaction as paid, and its ticket is then waiting for the outbox like any other."""
    from datetime import UTC, datetime

    from register.checkout import Register
    from register.journal import Journal

    at = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    journal = Journal(tmp_path / "payments.db")
    tx = "20261124-register-1f-00001"
    slip = {"kind": "fee", "key": "fee-1", "payee": "kokuho", "amount": 300, "reference": "", "raw": ""}
    journal.append(tx, "open", {"slips": [slip], "total": 300, "mode": "self"}, at=at)
    journal.append(tx, "ticket", {"token": TOKEN, "number": 42}, at=at)
    journal.append(tx, "sale_intent", {"key": f"{tx}-s1", "amount": 300}, at=at)
    sale = {"key": f"{tx}-s1", "outcome": "approved", "amount": 300, "media": "qr", "brand": "PayPay"}
    journal.append(tx, "sale_result", sale | {"approval_code": "1", "slip_number": "2", "reason": None}, at=at)
    assert journal.tickets_unsent() == []  # not paid yet: nothing to send
    recovering = Register(
        device="register-1f",
        journal=journal,
        changer=None,
        terminal=None,
        printer=None,
        render_receipt=lambda record, copy: None,
        clock=lambda: at,
    )
    reports = recovering.recover()
    assert [(r.tx, r.result) for r in reports] == [(tx, "paid")]
    assert journal.tickets_unsent() == [tx]
    assert replay(journal.steps(tx)).ticket == TOKEN
