"""``ticket_paid`` from the register's outbox, on the real broker and the queue service (in this process): the paid
transaction's ticket closes the visit's payment step once, whatever is lost on the way (the broker away, a reply
lost, a restart), and a refusal (``nothing_to_pay``, ``unknown_ticket``) is an answer kept for staff, never a loop
and never in the way of ``record_payment``."""

from __future__ import annotations

from datetime import UTC, datetime

from kiosk.bus.schemas import TicketPaidArgs
from queue_service.engine.model import StepMode, StepStatus, TicketStatus
from register.journal import Journal
from register.ledger import replay
from register.outbox import PaymentOutbox, TicketAnswer
from tests.system.test_register_publish import SLIPS

AT = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def visit(service, devices, *, done_at_c07: bool = True) -> dict:
    """A ticket for 住民票 and 納付 (issued at the kiosk); 住民票 served and completed at c07."""
    ticket = devices("kiosk-1f").request("issue", {"procedures": ["juminhyo", "nofu"]})["ticket"]
    if done_at_c07:
        panel = devices("panel-c07")
        panel.request("open_counter", {"counter": "c07"})
        called = panel.request("call_next", {"counter": "c07"})["ticket"]
        assert called["number"] == ticket["number"]
        panel.request("complete", {"counter": "c07"})
    return ticket


def engine_ticket(service, token: str):
    return service.core.engine.ticket_by_token(token)


def payment_step(service, token: str):
    return next(s for s in engine_ticket(service, token).steps if s.mode is StepMode.REGISTER)


def ticket_tx(journal: Journal, tx: str, token: str, number: int | None = None) -> None:
    """A paid (cashless) transaction for the ticket ``token``: the ``ticket`` step right after ``open``, as the app
    journals it."""
    journal.append(tx, "open", {"slips": SLIPS, "total": 51800, "mode": "self"}, at=AT)
    journal.append(tx, "ticket", {"token": token} | ({"number": number} if number is not None else {}), at=AT)
    journal.append(tx, "sale_intent", {"key": f"{tx}-s1", "amount": 51800}, at=AT)
    result = {"key": f"{tx}-s1", "outcome": "approved", "amount": 51800, "media": "qr", "brand": "PayPay"}
    journal.append(tx, "sale_result", result, at=AT)
    journal.append(tx, "paid", {"method": "cashless", "tendered": 51800, "change": 0, "media": "qr"}, at=AT)
    journal.append(tx, "receipt_intent", {"copy": 1}, at=AT)
    journal.append(tx, "receipt_done", at=AT)
    journal.append(tx, "closed", {"result": "paid"}, at=AT)


def test_the_paid_ticket_closes_the_payment_step_and_the_visit_once(service, devices, tmp_path):
    ticket = visit(service, devices)
    assert engine_ticket(service, ticket["token"]).status is TicketStatus.DONE  # finished but for the payment
    assert payment_step(service, ticket["token"]).status is not StepStatus.DONE
    journal = Journal(tmp_path / "payments.db")
    answers: list[TicketAnswer] = []
    outbox = PaymentOutbox(journal, devices("register-1f"), on_ticket=answers.append)
    ticket_tx(journal, "20261123-register-1f-00001", ticket["token"], ticket["number"])

    assert outbox.flush() == 1  # the payment, then its ticket
    assert answers == [TicketAnswer("20261123-register-1f-00001", "closed", ticket["number"], finished=True)]
    assert payment_step(service, ticket["token"]).status is StepStatus.DONE
    assert engine_ticket(service, ticket["token"]).status is TicketStatus.DONE
    record = replay(journal.steps("20261123-register-1f-00001"))
    assert record.published and record.ticket_sent and record.ticket_result == "closed"
    assert outbox.pending_tickets() == [] and outbox.flush_tickets() == 0  # sent once
    assert [s.step for s in journal.steps() if s.step.startswith("ticket_")] == ["ticket_intent", "ticket_done"]


def test_the_broker_away_then_back_sends_the_ticket_once(site, broker, service, devices, tmp_path):
    from tests.harness import start_broker

    ticket = visit(service, devices, done_at_c07=False)  # paid before 住民票: the visit goes on
    journal = Journal(tmp_path / "payments.db")
    bus = devices("register-1f")
    answers: list[TicketAnswer] = []
    outbox = PaymentOutbox(journal, bus, on_ticket=answers.append)
    broker.stop()
    ticket_tx(journal, "20261123-register-1f-00001", ticket["token"])
    assert outbox.flush() == 0 and outbox.flush_tickets() == 0
    assert outbox.pending_tickets() == ["20261123-register-1f-00001"] and answers == []
    restarted = start_broker(site, broker.state, port=broker.port)
    try:
        assert bus.connected.wait(20)
        assert outbox.flush() == 1
        assert answers == [TicketAnswer("20261123-register-1f-00001", "closed", ticket["number"], finished=False)]
        assert payment_step(service, ticket["token"]).status is StepStatus.DONE
        assert engine_ticket(service, ticket["token"]).status is TicketStatus.WAITING  # 住民票 still to do
        done = [s for s in journal.steps() if s.step == "ticket_done"]
        assert len(done) == 1 and done[0].data == {"result": "closed", "finished": False, "number": ticket["number"]}
    finally:
        restarted.stop()


def test_a_lost_reply_or_a_restart_sends_again_and_is_told_it_is_already_closed(service, devices, tmp_path):
    ticket = visit(service, devices)
    path = tmp_path / "payments.db"
    journal = Journal(path)
    register = devices("register-1f")
    tx = "20261123-register-1f-00001"
    ticket_tx(journal, tx, ticket["token"], ticket["number"])
    # the first send reached the service, then the register died before the answer was on disk
    journal.append(tx, "ticket_intent", at=AT)
    register.request("ticket_paid", TicketPaidArgs(token=ticket["token"]))
    journal.close()

    reopened = Journal(path)  # the restart: a new outbox on the same journal
    answers: list[TicketAnswer] = []
    outbox = PaymentOutbox(reopened, register, on_ticket=answers.append)
    assert outbox.pending_tickets() == [tx]
    outbox.flush()
    assert [(a.tx, a.result, a.closed) for a in answers] == [(tx, "already_closed", True)]
    assert payment_step(service, ticket["token"]).status is StepStatus.DONE
    assert replay(reopened.steps(tx)).ticket_result == "already_closed"
    assert outbox.pending_tickets() == []


def test_refusals_are_answers_for_staff_and_the_payment_is_recorded_all_the_same(service, devices, tmp_path):
    paid_already = visit(service, devices)
    devices("register-1f").request("ticket_paid", TicketPaidArgs(token=paid_already["token"]))  # paid earlier
    no_payment = devices("kiosk-1f").request("issue", {"procedures": ["juminhyo"]})["ticket"]
    journal = Journal(tmp_path / "payments.db")
    answers: list[TicketAnswer] = []
    outbox = PaymentOutbox(journal, devices("register-1f"), on_ticket=answers.append)
    ticket_tx(journal, "20261123-register-1f-00001", paid_already["token"], paid_already["number"])
    ticket_tx(journal, "20261123-register-1f-00002", no_payment["token"])
    ticket_tx(journal, "20261123-register-1f-00003", "Yesterdays_token-0123456")

    assert outbox.flush() == 3  # every payment recorded
    assert [(a.result, a.closed) for a in answers] == [
        ("nothing_to_pay", False),  # a first send told nothing_to_pay: not this register's doing
        ("nothing_to_pay", False),
        ("unknown_ticket", False),
    ]
    assert answers[0].number == paid_already["number"]
    assert set(service.core.engine.state.payments) == {f"20261123-register-1f-0000{i}" for i in (1, 2, 3)}
    assert outbox.pending_tickets() == [] and outbox.flush() == 0 and len(answers) == 3  # answered: not sent again
    problems = [s for s in journal.ticket_answers() if s.data["result"] != "closed"]
    assert [s.tx for s in problems] == [f"20261123-register-1f-0000{i}" for i in (3, 2, 1)]  # newest first


def test_a_cancelled_payment_never_sends_its_ticket(service, devices, tmp_path):
    ticket = visit(service, devices)
    journal = Journal(tmp_path / "payments.db")
    tx = "20261123-register-1f-00001"
    slip = {"kind": "fee", "key": "k1", "payee": "kokuho", "amount": 500, "reference": "", "raw": ""}
    journal.append(tx, "open", {"slips": [slip], "total": 500, "mode": "self"}, at=AT)
    journal.append(tx, "ticket", {"token": ticket["token"]}, at=AT)
    journal.append(tx, "closed", {"result": "cancelled"}, at=AT)
    outbox = PaymentOutbox(journal, devices("register-1f"))
    assert outbox.pending_tickets() == [] and outbox.flush() == 0
    assert payment_step(service, ticket["token"]).status is not StepStatus.DONE
