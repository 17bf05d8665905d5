"""The resident's ticket at the register, without Kivy: the scan routing (register/ticket.py: a ticket's QR is never
a slip, a slip is never a ticket), what the status API's answer means, the ticket's view state
(register/app/flow.py: TicketScan) and the lookup adapter against a real HTTP server."""

from __future__ import annotations

import json
import secrets
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devkit.slip_samples import sample_slips
from kiosk.config.device import DeviceConfig
from register.app.flow import (
    TICKET_DONE,
    TICKET_NEXT,
    TICKET_NOTHING_TO_PAY,
    TICKET_UNKNOWN,
    TICKET_WILL_RECORD,
    TICKET_WILL_RECORD_UNNUMBERED,
    TicketDesk,
    TicketScan,
    rescan,
)
from register.app.ticket_lookup import LookupFailed, TicketNotFound, fetch_status
from register.outbox import TicketAnswer
from register.slips.model import SlipError
from register.slips.scan import read_slip
from register.ticket import TicketCode, TicketInfo, read_ticket, status_api_url, ticket_info

TOKEN = "Abc_def-GHI0123456789x"  # the shape of secrets.token_urlsafe(16): 22 characters
#: The ticket kiosk's default status page (kiosk/config/device.py), as slip_for() formats it for the QR.
DEFAULT_STATUS = DeviceConfig.model_fields["status_url"].default
ROUTING = {"juminhyo": "counter", "nofu": "register", "tennyu": "front"}


# ----------------------------------------------------------------- the scan routing
@pytest.mark.parametrize(
    "scanned",
    [
        DEFAULT_STATUS.format(token=TOKEN),
        f"https://madoguchi.city.example.jp/t/{TOKEN}",  # README's status_url
        f"HTTPS://Madoguchi.City.Example.jp/t/{TOKEN}",  # a scanner that upper-cases the scheme and host
        f"https://www.city.example.jp/madoguchi/t/{TOKEN}/",  # behind a path prefix, a trailing slash
        f"https://madoguchi.example.lg.jp/t/{TOKEN}?lang=en",  # the status page's own links carry ?lang
        f"]Q1https://madoguchi.example.lg.jp/t/{TOKEN}\r\n",  # an AIM identifier and a terminator
    ],
)
def test_the_tickets_qr_code_is_read_as_a_ticket_and_never_as_a_slip(scanned):
    code = read_ticket(scanned)
    assert code is not None and code.token == TOKEN
    with pytest.raises(SlipError) as refused:
        read_slip(scanned)
    assert refused.value.code == "unknown_format"


def test_every_sample_slip_and_other_codes_are_not_tickets():
    from kiosk.config import load_site
    from tests.conftest import EXAMPLE_SITE

    settings = load_site(EXAMPLE_SITE).register
    assert settings is not None
    for slip in sample_slips(settings, date(2026, 11, 24)):
        assert read_ticket(slip.data) is None, slip.id
    for other in (
        f"https://madoguchi.example.lg.jp/status/{TOKEN}",  # not the status page
        "https://madoguchi.example.lg.jp/t/short",  # not a token
        f"https://madoguchi.example.lg.jp/t/{TOKEN}/events",  # the live stream, not a ticket's QR
        f"https://madoguchi.example.lg.jp/t/{TOKEN[:10]}!{TOKEN[11:]}",
        f"ftp://madoguchi.example.lg.jp/t/{TOKEN}",
        f"/t/{TOKEN}",
        "",
    ):
        assert read_ticket(other) is None, other


def test_a_fresh_token_from_the_service_is_read_back_and_the_token_never_shows_whole():
    token = secrets.token_urlsafe(16)  # how queue_service/service/core.py makes them
    code = read_ticket(DEFAULT_STATUS.format(token=token))
    assert code is not None and code.token == token
    assert token not in repr(code) and token not in code.short and code.short.startswith(token[:4])


def test_only_this_offices_status_page_is_looked_up():
    ours = "https://madoguchi.city.example.jp/t/{token}"
    code = read_ticket(f"https://madoguchi.city.example.jp/t/{TOKEN}?lang=en")
    assert code is not None
    assert status_api_url(ours, code) == f"https://madoguchi.city.example.jp/api/v1/tickets/{TOKEN}"
    prefixed = read_ticket(f"https://city.example.jp/madoguchi/t/{TOKEN}")
    assert prefixed is not None
    assert status_api_url("https://city.example.jp/madoguchi/t/{token}", prefixed) == (
        f"https://city.example.jp/madoguchi/api/v1/tickets/{TOKEN}"
    )
    elsewhere = read_ticket(f"http://10.0.0.9:8080/t/{TOKEN}")
    assert elsewhere is not None and status_api_url(ours, elsewhere) is None  # a code from elsewhere: no call
    assert status_api_url(ours, prefixed) is None
    assert status_api_url("https://madoguchi.city.example.jp/status?t={token}", code) is None  # no API path known


# ----------------------------------------------------------------- the status API's answer
def status(number: int, state: str, **steps: str) -> dict:
    return {"number": number, "status": state, "steps": [{"procedure": p, "status": s} for p, s in steps.items()]}


def test_a_ticket_is_payable_while_a_step_routed_to_the_register_is_open():
    assert ticket_info(status(42, "done", juminhyo="done", nofu="later"), ROUTING) == TicketInfo(42, True, "done")
    assert not ticket_info(status(42, "done", juminhyo="done", nofu="done"), ROUTING).payable
    assert not ticket_info(status(7, "waiting", juminhyo="waiting"), ROUTING).payable  # no payment step at all
    assert not ticket_info(status(8, "cancelled", nofu="later"), ROUTING).payable
    assert ticket_info(status(9, "waiting", tennyu="waiting", nofu="later"), ROUTING).payable
    with pytest.raises(ValueError):
        ticket_info({"number": 1, "status": "done"}, ROUTING)


# ----------------------------------------------------------------- the view state
def code(token: str = TOKEN) -> TicketCode:
    found = read_ticket(DEFAULT_STATUS.format(token=token))
    assert found is not None
    return found


def test_found_with_a_payment_open_says_the_number_and_is_journaled_with_it():
    scan = TicketScan.scanned(code(), can_look_up=True)
    assert scan.state == "looking" and scan.attached
    assert scan.line() == (TICKET_WILL_RECORD_UNNUMBERED, {}, "fg")
    found = scan.found(TicketInfo(42, True, "done"))
    assert found.line() == (TICKET_WILL_RECORD, {"number": 42}, "fg") and found.attached
    assert found.journal() == {"token": TOKEN, "number": 42}
    assert scan.journal() == {"token": TOKEN}


def test_nothing_to_pay_or_not_todays_is_said_and_the_payment_is_not_recorded_for_it():
    scan = TicketScan.scanned(code(), can_look_up=True)
    nothing = scan.found(TicketInfo(42, False, "done"))
    assert not nothing.attached and nothing.line() == (TICKET_NOTHING_TO_PAY, {"number": 42}, "muted")
    unknown = scan.not_found()
    assert not unknown.attached and unknown.line() == (TICKET_UNKNOWN, {}, "muted")


def test_without_an_answer_the_ticket_goes_with_the_payment_and_the_service_decides():
    assert TicketScan.scanned(code(), can_look_up=False).state == "unchecked"
    failed = TicketScan.scanned(code(), can_look_up=True).lookup_failed()
    assert (
        failed.state == "unchecked" and failed.attached and failed.line() == (TICKET_WILL_RECORD_UNNUMBERED, {}, "fg")
    )


def test_an_answer_after_the_payment_began_only_brings_the_number():
    paying = TicketScan.scanned(code(), can_look_up=True).paying("20261124-register-1f-00003")
    late = paying.found(TicketInfo(42, False, "done"))
    assert late.attached and late.number == 42 and late.tx == "20261124-register-1f-00003"
    assert paying.not_found().attached


def test_the_services_answer_after_the_payment():
    paid = TicketScan.scanned(code(), can_look_up=False).paying("tx-1")
    done = paid.answered(TicketAnswer("tx-1", "closed", 42, finished=True))
    assert done.line() == (TICKET_DONE, {"number": 42}, "ok")
    next_counter = paid.answered(TicketAnswer("tx-1", "already_closed", 42))
    assert next_counter.line() == (TICKET_NEXT, {"number": 42}, "ok")
    refused = paid.answered(TicketAnswer("tx-1", "nothing_to_pay", None))
    assert refused.line() is None  # staff see it; the resident has paid and goes


def test_the_same_ticket_twice_changes_nothing_and_another_ticket_replaces_it():
    first = TicketScan.scanned(code(), can_look_up=True).found(TicketInfo(42, True, "done"))
    assert rescan(first, code(), can_look_up=True) is None
    other = rescan(first, code("Zyx_def-GHI0123456789x"), can_look_up=True)
    assert other is not None and other.number is None and other.code.token.startswith("Zyx")
    assert rescan(None, code(), can_look_up=False) == TicketScan(code(), "unchecked")


# ----------------------------------------------------------------- the lookup, over real HTTP
class _StatusAPI(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        code, body = self.answers.get(self.path, (404, b'{"detail": "not found"}'))
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def status_api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StatusAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", _StatusAPI.answers
    server.shutdown()
    server.server_close()
    _StatusAPI.answers.clear()


def test_the_lookup_reads_the_status_api_and_tells_404_from_a_failure(status_api):
    base, answers = status_api
    answers[f"/api/v1/tickets/{TOKEN}"] = (200, json.dumps(status(42, "done", nofu="later")).encode())
    answers["/api/v1/tickets/broken"] = (500, b"oops")
    answers["/api/v1/tickets/html"] = (200, b"<html>")
    scanned = code()
    url = status_api_url(f"{base}/t/{{token}}", read_ticket(f"{base}/t/{scanned.token}") or scanned)
    assert url == f"{base}/api/v1/tickets/{TOKEN}"
    assert ticket_info(fetch_status(url), ROUTING) == TicketInfo(42, True, "done")
    with pytest.raises(TicketNotFound):
        fetch_status(f"{base}/api/v1/tickets/{'x' * 22}")
    for path in ("broken", "html"):
        with pytest.raises(LookupFailed) as failed:
            fetch_status(f"{base}/api/v1/tickets/{path}")
        assert path not in str(failed.value)
    with pytest.raises(LookupFailed) as refused:
        fetch_status(f"http://127.0.0.1:1/api/v1/tickets/{TOKEN}", timeout=2)  # nothing listens there
    assert TOKEN not in str(refused.value)


# ----------------------------------------------------------------- the desk: the ticket while the resident is here
class Desk:
    """A TicketDesk with lookups held until the test delivers them (as Kivy's thread would, later)."""

    def __init__(self, status_url: str, answers: dict) -> None:
        self.asked: list[str] = []
        self.held: list = []
        self.shown: list[TicketScan | None] = []

        def look_up(url):
            self.asked.append(url)
            return answers.get(url)

        self.desk = TicketDesk(
            status_url, look_up, lambda work, done: self.held.append((work, done)), self.shown.append
        )

    def deliver(self) -> None:
        work, done = self.held.pop(0)
        done(work())


OURS = "https://madoguchi.city.example.jp/t/{token}"
API = f"https://madoguchi.city.example.jp/api/v1/tickets/{TOKEN}"


def test_the_desk_asks_about_this_offices_ticket_once_and_says_its_number():
    desk = Desk(OURS, {API: TicketInfo(42, True, "done")})
    scanned = read_ticket(OURS.format(token=TOKEN))
    assert scanned is not None
    desk.desk.scanned(scanned)
    assert desk.shown[-1] is not None and desk.shown[-1].state == "looking"
    desk.desk.scanned(scanned)  # scanned twice: nothing new, no second lookup
    assert len(desk.held) == 1 and len(desk.shown) == 1
    desk.deliver()
    assert desk.asked == [API]
    ticket = desk.desk.ticket
    assert ticket is not None and ticket.number == 42 and ticket.state == "found"
    assert desk.shown[-1] is ticket and ticket.line() == (TICKET_WILL_RECORD, {"number": 42}, "fg")


def test_a_ticket_from_elsewhere_is_not_looked_up_and_a_late_answer_for_a_gone_ticket_is_dropped():
    desk = Desk(OURS, {API: TicketInfo(42, True, "done")})
    elsewhere = read_ticket(f"http://10.0.0.9/t/{TOKEN}")
    assert elsewhere is not None
    desk.desk.scanned(elsewhere)
    assert desk.held == [] and desk.desk.ticket is not None and desk.desk.ticket.state == "unchecked"
    desk.desk.forget()
    ours = read_ticket(OURS.format(token=TOKEN))
    assert ours is not None
    desk.desk.scanned(ours)
    desk.desk.forget()  # the resident cancelled before the answer came
    desk.deliver()
    assert desk.desk.ticket is None and desk.shown[-1] is None


def test_the_desk_follows_the_payment_to_the_services_answer():
    desk = Desk(OURS, {API: "not_found"})
    ours = read_ticket(OURS.format(token=TOKEN))
    assert ours is not None
    desk.desk.scanned(ours)
    desk.desk.paying("tx-1")  # paid before the lookup answered: the ticket went with the payment
    desk.deliver()
    ticket = desk.desk.ticket
    assert ticket is not None and ticket.attached and ticket.tx == "tx-1"
    desk.desk.answered(TicketAnswer("tx-0", "closed", 41, finished=True))  # another payment's answer
    assert desk.desk.ticket is ticket
    desk.desk.paid(done_screen=True)
    desk.desk.answered(TicketAnswer("tx-1", "closed", 42, finished=True))
    assert desk.desk.ticket is not None and desk.desk.ticket.line() == (TICKET_DONE, {"number": 42}, "ok")
    desk.desk.paid(done_screen=False)  # change owed: the help screen, nothing about the ticket
    assert desk.desk.ticket is None


def test_a_ticket_not_paid_for_is_forgotten_when_the_payment_goes_through():
    desk = Desk(OURS, {API: TicketInfo(42, False, "done")})
    ours = read_ticket(OURS.format(token=TOKEN))
    assert ours is not None
    desk.desk.scanned(ours)
    desk.deliver()
    desk.desk.paying("tx-1")
    assert desk.desk.ticket is not None and desk.desk.ticket.tx is None  # nothing to pay: not journaled with it
    desk.desk.paid(done_screen=True)
    assert desk.desk.ticket is None
