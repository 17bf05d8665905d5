"""Payment off the staffed queue (issue 17, item 6), end to end: the real broker, the queue service as its own
process (with its HTTP status API), the self register app under Xvfb on the changer, terminal and printer
simulators.

A resident's ticket is issued for 住民票 + 納付 (``nofu``, routing ``register``); 住民票 is served and completed at
c07; at the register the resident scans the ticket's QR code (before the slip), the screen names the ticket's
number, they scan a slip and pay by cash: the queue service then shows the ticket done with its payment step done
(its journal has one ``ticket_paid``, answered ok), and the done screen says the visit is over. The same ticket
again, after a slip this time, has nothing to pay (said on screen; paid by card; no second ``ticket_paid``); a
ticket of no day is told apart; a ticket the service did not close earlier today is on the staff screen. A second
``ticket_paid`` sent by hand is refused (``nothing_to_pay``) and changes nothing. The register's log never holds
the token. Screens are saved under build/test-artifacts/register/register-ticket-*.png.

The app runs as ``python -m tests.system.test_register_ticket`` (the UI driver of tests/ui/driver.py with this
file's scenario).
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import sys
import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devkit.payment_terminal import CatSimulator
from devkit.slip_samples import sample_slips
from kiosk.bus.client import CommandFailed
from register.journal import Journal
from register.ledger import replay
from register.slips.scan import read_slip
from tests.artifacts_dir import TEST_ARTIFACTS
from tests.system.test_register_app import PIN, RegisterStack
from tests.system.test_ui_apps import Run

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")
DEVICE = "register-1f"
ARTIFACTS = TEST_ARTIFACTS / "register"
#: An earlier payment today whose ticket the service did not close (staff see it).
EARLIER = "20261123-register-1f-00001"


class TicketStack(RegisterStack):
    """The register's stack with the queue service's HTTP status API the register looks tickets up at."""

    def __init__(self, site, state: Path, display: str) -> None:
        terminal = CatSimulator(auto=("qr", "PayPay"))
        super().__init__(site, state, display, "tests.system.test_register_ticket", terminal, status_url=True)

    def drive(self, scenario: str, wait: bool = False, **params) -> Run:
        return super().drive(scenario, wait=wait, **params)

    def status(self, token: str) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/api/v1/tickets/{token}", timeout=5) as answer:
            return json.loads(answer.read())

    def service_journal(self, verb: str) -> list[tuple[int, dict]]:
        with sqlite3.connect(self.state / "queue.sqlite") as db:
            rows = db.execute("SELECT ok, reply FROM journal WHERE verb = ? ORDER BY seq", (verb,)).fetchall()
        return [(ok, json.loads(reply)) for ok, reply in rows]


@pytest.fixture
def ticket_stack(site, tmp_path, display):
    running = TicketStack(site, tmp_path, display)
    yield running
    running.stop()


def _wait(cond, what: str, run: Run, timeout: float = 60.0) -> None:
    event = threading.Event()
    for _ in range(int(timeout * 20)):
        if cond():
            return
        if run.proc.poll() is not None:
            run.result()  # the app ended: its error
            raise AssertionError(f"the app ended while waiting for {what}")
        event.wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _earlier_problem(path: Path) -> None:
    """A payment earlier today whose ticket the service answered ``nothing_to_pay``: published and answered."""
    journal = Journal(path)
    now = datetime.now(UTC)
    slip = {"kind": "fee", "key": "fee-1", "payee": "kokuho", "amount": 300, "reference": "", "raw": ""}
    journal.append(EARLIER, "open", {"slips": [slip], "total": 300, "mode": "self"}, at=now)
    journal.append(EARLIER, "ticket", {"token": "Earlier_token-0123456789", "number": 7}, at=now)
    journal.append(EARLIER, "deposit_begin", at=now)
    journal.append(EARLIER, "credit", {"denomination": 500, "total": 500, "event_id": "x:1"}, at=now)
    journal.append(EARLIER, "deposit_fix", at=now)
    journal.append(EARLIER, "deposited", {"amount": 500}, at=now)
    journal.append(EARLIER, "paid", {"method": "cash", "tendered": 500, "change": 200}, at=now)
    journal.append(EARLIER, "change_intent", {"amount": 200}, at=now)
    journal.append(EARLIER, "change_done", {"paid": 200}, at=now)
    journal.append(EARLIER, "receipt_intent", {"copy": 1}, at=now)
    journal.append(EARLIER, "receipt_done", at=now)
    journal.append(EARLIER, "closed", {"result": "paid"}, at=now)
    journal.append(EARLIER, "published", at=now)
    journal.append(EARLIER, "ticket_intent", at=now)
    journal.append(EARLIER, "ticket_done", {"result": "nothing_to_pay", "finished": False, "number": 7}, at=now)
    journal.close()


def test_the_tickets_payment_step_is_closed_at_the_register_and_the_stay_ends_there(ticket_stack, site):
    stack = ticket_stack
    kiosk, panel = stack.broker.bus("kiosk-1f"), stack.broker.bus("panel-c07")
    try:
        ticket = kiosk.request("issue", {"procedures": ["juminhyo", "nofu"]})["ticket"]
        panel.request("open_counter", {"counter": "c07"})
        assert panel.request("call_next", {"counter": "c07"})["ticket"]["number"] == ticket["number"]
        panel.request("complete", {"counter": "c07"})
    finally:
        kiosk.stop()
        panel.stop()
    token, number = ticket["token"], ticket["number"]
    before = {s["procedure"]: s["status"] for s in stack.status(token)["steps"]}
    assert stack.status(token)["status"] == "done" and before["juminhyo"] == "done" and before["nofu"] != "done"
    _earlier_problem(stack.journal)
    day = datetime.now(site.zone).date()
    kokuho = read_slip(next(s for s in sample_slips(site.register, day) if s.id == "kokuho").data).amount
    qr = stack.status_url.format(token=token)
    unknown = stack.status_url.format(token="Not_a_ticket-0123456789")

    run = stack.drive("register_ticket", qr=qr, unknown=unknown, number=number, pin=PIN)
    _wait(lambda: stack.changer.accepts(10000), "the changer to accept a 10,000 yen note", run)
    assert stack.changer.insert(10000, math.ceil(kokuho / 10000))
    result = run.result(timeout=180)

    # the screens: the number before paying, the visit over after
    assert str(number) in result["home_line"] and result["home_state"] == "found"
    assert result["cart_line"] == result["home_line"]
    assert result["answer"] == "closed" and result["finished"] is True
    assert str(number) in result["done_line"] and result["done_line"] != result["home_line"]
    assert result["ticket_after_finish"] is True
    assert result["again_state"] == "nothing_to_pay" and str(number) in result["again_line"]
    assert "no payment" in result["again_line_en"]
    assert result["unknown_state"] == "unknown" and result["unknown_line_en"].startswith("This ticket is not")
    assert result["second_paid"] is True and result["second_ticket_line"] == ""
    assert any("Ticket 7" in line for line in result["staff_problems"])

    # the queue service: the payment step done, the ticket done; one ticket_paid, answered ok
    after = stack.status(token)
    assert after["status"] == "done" and all(s["status"] == "done" for s in after["steps"])
    paid = stack.service_journal("ticket_paid")
    assert [(ok, reply["result"]["ticket"]["number"]) for ok, reply in paid] == [(1, number)]
    assert len(stack.service_journal("record_payment")) == 2  # the cash one and the card one (the earlier was sent)

    # the register's journal: the cash payment carries the ticket and its answer; the card one none
    journal = Journal(stack.journal)
    first = replay(journal.steps(result["tx"]))
    assert first.closed == "paid" and first.ticket == token and first.ticket_result == "closed"
    assert first.ticket_number == number
    second = replay(journal.steps(result["second_tx"]))
    assert second.closed == "paid" and second.ticket is None
    journal.close()
    log = run.log.read_text(errors="replace")
    assert token not in log
    assert f"({token[:4]}…)" in log  # the ticket is logged by its first characters only

    # a second ticket_paid (by hand, after the register is gone) is refused and changes nothing
    register = stack.broker.bus(DEVICE)
    try:
        with pytest.raises(CommandFailed) as again:
            register.request("ticket_paid", {"token": token})
        assert again.value.code == "nothing_to_pay"
    finally:
        register.stop()
    again_status = stack.status(token)
    assert again_status["status"] == "done" and again_status["steps"] == after["steps"]
    assert [ok for ok, _ in stack.service_journal("ticket_paid")] == [1, 0]


# ----------------------------------------------------------------- the scenario (in the app's process)
def register_ticket(app, ui, params):
    """The ticket first, then a slip, cash; the same ticket again after a slip, nothing to pay, card; a ticket of
    no day; the staff screen with an earlier ticket the service did not close."""
    from kiosk.ui.lang import tr
    from tests.ui.scenarios import _pin, _scan, _slips

    slips = _slips(app)
    home, cart, done = app.screen("home"), app.screen("cart"), app.screen("done")
    yield ui.screen("home", timeout=30)
    yield ui.shot("register-ticket-01-home-ja")
    _scan(params["qr"])  # the ticket before the slips
    yield ui.until(lambda: app.ticket is not None and app.ticket.state != "looking", "the ticket looked up")
    ui.result.update(home_line=app.ticket_line, home_state=app.ticket.state)
    yield ui.frames()
    yield ui.shot("register-ticket-02-home-ticket-ja")
    assert app.sm.current == "home" and not home.message
    yield ui.tap("a11y")  # larger text: the line still fits beside the slip picture
    yield ui.frames(3)
    yield ui.shot("register-ticket-02b-home-ticket-large-ja")
    yield ui.tap("a11y")
    _scan(slips["kokuho"])
    yield ui.screen("cart")
    yield ui.until(lambda: cart.count == 1, "the slip in the cart")
    ui.result["cart_line"] = app.ticket_line
    yield ui.shot("register-ticket-03-cart-ja")
    yield ui.tap("pay-cash")
    yield ui.screen("done", timeout=60)
    yield ui.until(lambda: app.ticket is not None and app.ticket.answer is not None, "the service's answer", 30)
    ui.result.update(answer=app.ticket.answer, finished=app.ticket.finished, done_line=app.ticket_line, tx=done.tx)
    yield ui.frames()
    yield ui.shot("register-ticket-04-done-ja")
    yield ui.tap("done-finish")
    yield ui.screen("home")
    ui.result["ticket_after_finish"] = app.ticket is None and app.ticket_line == ""

    # the same ticket again, after a slip this time: nothing left to pay on it
    _scan(slips["hoiku"])
    yield ui.screen("cart")
    _scan(params["qr"])
    yield ui.until(lambda: app.ticket is not None and app.ticket.state != "looking", "the ticket looked up again")
    ui.result.update(again_state=app.ticket.state, again_line=app.ticket_line)
    yield ui.frames()
    yield ui.shot("register-ticket-05-cart-nothing-to-pay-ja")
    yield ui.tap("lang-en")
    yield ui.until(lambda: tr.lang == "en", "English")
    ui.result["again_line_en"] = app.ticket_line
    _scan(params["unknown"])
    yield ui.until(lambda: app.ticket is not None and app.ticket.state == "unknown", "a ticket of no day")
    ui.result.update(unknown_state=app.ticket.state, unknown_line_en=app.ticket_line)
    yield ui.frames()
    yield ui.shot("register-ticket-06-cart-unknown-en")
    yield ui.tap("pay-cashless")  # the terminal approves by itself
    yield ui.screen("done", timeout=60)
    ui.result.update(second_paid=done.tx != ui.result["tx"], second_ticket_line=app.ticket_line, second_tx=done.tx)
    yield ui.tap("done-finish")
    yield ui.screen("home")

    # staff: the earlier ticket the service did not close
    yield ui.tap("staff")
    yield ui.screen("pin")
    yield from _pin(ui, params["pin"])
    yield ui.screen("staff")
    yield ui.until(lambda: app.ticket_problems, "the tickets for staff")
    ui.result["staff_problems"] = list(app.ticket_problems)
    yield ui.frames()
    yield ui.shot("register-ticket-07-staff-en")
    yield ui.tap("staff-exit")
    yield ui.screen("home")


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    import tests.ui.driver as driver
    import tests.ui.scenarios as scenarios

    driver.ARTIFACTS = ARTIFACTS  # screenshots beside the register's other artifacts
    scenarios.register_ticket = register_ticket  # type: ignore[attr-defined]
    _role, _config, _scenario, _result, *_rest = sys.argv[1:]
    sys.exit(driver.run(_role, _config, _scenario, _result, dict(kv.split("=", 1) for kv in _rest)))
