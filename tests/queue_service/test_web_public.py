"""The public pages and API of the queue service (queue_service.web.public, .forecast, .pages).

The real service core (QueueCore + journal) runs in process with a clock the tests move, driven by the same
commands as over MQTT (DirectClient); the router is the one make_app mounts, served by FastAPI's TestClient
(and, for the event stream, by uvicorn on a free port).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import threading
import time
import types
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from form_printer.preentry import new_key, read_payload
from queue_service.history import Day, Service, Visit
from queue_service.service.core import QueueCore
from queue_service.service.direct import DirectClient
from queue_service.service.journal import Journal
from queue_service.web import forecast as fc
from queue_service.web.pages import TEMPLATE_DIR, accept_language
from queue_service.web.public import make_public_router

JST = ZoneInfo("Asia/Tokyo")
ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "sites" / "example" / "forms"
PANEL = "panel-demo"
KIOSK = "kiosk-1f"


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def pass_(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


class Office:
    """A service core with a clock, the shape the router needs from a QueueService, and a client of its router."""

    def __init__(self, site, tmp_path: Path, start: datetime, **router_kw) -> None:
        self.site = site
        self.clock = Clock(start)
        self.journal = Journal(tmp_path / "queue.sqlite", durable=False)
        self.core = QueueCore(site, self.journal, clock=self.clock)
        self.service = types.SimpleNamespace(
            site=site, core=self.core, journal=self.journal, lock=threading.RLock(), change_listeners=[]
        )
        self.bus = DirectClient(self.core)
        self.app = FastAPI()
        self.app.include_router(make_public_router(self.service, clock=self.clock, **router_kw))
        self.http = TestClient(self.app)

    def cmd(self, device: str, verb: str, **args) -> dict:
        with self.service.lock:
            result = self.bus.request(device, verb, args)
        for listener in self.service.change_listeners:
            listener()
        return result

    def issue(self, *procedures: str, lang: str = "ja", priority: bool = False) -> dict:
        return self.cmd(KIOSK, "issue", procedures=list(procedures), lang=lang, priority=priority)["ticket"]

    def close(self) -> None:
        self.journal.close()


@pytest.fixture
def office(site, tmp_path):
    o = Office(site, tmp_path, datetime(2026, 11, 24, 10, 0, tzinfo=JST))  # a Tuesday
    yield o
    o.close()


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "preentry.key"
    path.write_text(new_key() + "\n")
    path.chmod(0o600)
    return path


# ================================================================ ticket status
def test_status_page_shows_number_queues_and_wait_in_the_tickets_language(office):
    office.cmd(PANEL, "open_counter", counter="c01")
    office.issue("tennyu", lang="ja")
    mine = office.issue("tennyu", "kokuho_kanyu", lang="en")

    page = office.http.get(f"/t/{mine['token']}")
    assert page.status_code == 200
    assert '<html lang="en">' in page.text
    assert f'<div class="number" id="number">{mine["number"]}</div>' in page.text
    assert "Moving-in notification" in page.text and "National Health Insurance: joining" in page.text
    assert "People ahead of you: 1" in page.text  # the first ticket, at 住民異動
    api = office.http.get(f"/api/v1/tickets/{mine['token']}").json()
    assert api["est_wait_min"] == 15  # one 15-minute 転入届 ahead, one counter open
    span = api["est_wait_range"]  # the wait as a range around it (issue 21)
    assert span["low"] <= 15 <= span["high"] and f"Estimated wait: {span['low']}–{span['high']} min" in page.text
    assert "After your earlier counters" in page.text  # 国保 waits for 転入届
    # the language switch: every language, same page
    for code in ("ja", "en", "zh", "ko", "vi", "pt", "ja-easy"):
        assert f'href="/t/{mine["token"]}?lang={code}"' in page.text
    ja = office.http.get(f"/t/{mine['token']}?lang=ja")
    assert '<html lang="ja">' in ja.text and "転入届" in ja.text and "あなたの前に1人" in ja.text
    easy = office.http.get(f"/t/{mine['token']}?lang=ja-easy").text
    assert "あなたの ばんごう" in easy and "あなたの まえに 1にん" in easy


def test_status_page_says_clearly_where_to_go_when_called(office):
    office.cmd(PANEL, "open_counter", counter="c21")
    mine = office.issue("kokuho_kanyu", lang="pt")
    assert 'id="called"' not in office.http.get(f"/t/{mine['token']}").text
    office.cmd(PANEL, "call_next", counter="c21")

    page = office.http.get(f"/t/{mine['token']}").text
    assert 'class="banner called" id="called" role="alert"' in page
    assert "Sua senha foi chamada" in page and "Dirija-se ao Guichê 21 (2F)" in page
    api = office.http.get(f"/api/v1/tickets/{mine['token']}").json()
    assert api["status"] == "serving" and api["called"] == {"counter": "c21", "counter_name": "Guichê 21", "floor": 2}
    ja = office.http.get(f"/t/{mine['token']}?lang=ja").text
    assert "受付番号が呼ばれました" in ja and "21番窓口へお越しください（2階）" in ja

    office.clock.pass_(10)
    office.cmd(PANEL, "complete", counter="c21")
    assert "Tudo concluído" in office.http.get(f"/t/{mine['token']}").text


def test_set_aside_and_cancelled_tickets_say_so(office):
    office.cmd(PANEL, "open_counter", counter="c07")
    absent = office.issue("juminhyo", lang="en")
    cancelled = office.issue("juminhyo", lang="en")
    office.cmd(PANEL, "call_next", counter="c07")
    office.cmd(PANEL, "no_show", counter="c07")
    office.cmd(PANEL, "cancel", ticket=cancelled["id"])
    assert "You were called but not found" in office.http.get(f"/t/{absent['token']}").text
    assert "This ticket was cancelled." in office.http.get(f"/t/{cancelled['token']}").text


def test_status_shows_nothing_of_other_tickets_or_staff_notes(office):
    office.cmd(PANEL, "open_counter", counter="c01")
    other = office.issue("tennyu", "kokuho_kanyu", lang="en")
    mine = office.issue("tennyu", lang="en")
    office.cmd(PANEL, "call_next", counter="c01")
    office.cmd(PANEL, "transfer", counter="c01", to_group="koseki", note="PRIVATE-NOTE residence card expired")
    office.cmd(PANEL, "call_next", counter="c01")
    office.cmd(PANEL, "complete", counter="c01", note="PRIVATE-NOTE-2 for the next counter")

    for token in (mine["token"], other["token"]):
        for url in (f"/t/{token}", f"/api/v1/tickets/{token}", f"/t/{token}?lang=ja"):
            body = office.http.get(url).text
            assert "PRIVATE-NOTE" not in body
            assert "2026" not in body.replace("2026-11-24T", "")  # no ticket ids (20261124-0001)
        assert (other if token == mine["token"] else mine)["token"] not in office.http.get(f"/t/{token}").text
    api = office.http.get(f"/api/v1/tickets/{mine['token']}").json()
    assert set(api) == {
        "number",
        "lang",
        "status",
        "called",
        "est_wait_min",
        "est_wait_range",
        "steps",
        "updated_at",
        "one_stop",
        "booth",
        "to_come",
    }


# ---------------------------------------------------------------- one-stop, pickup, register (issue 17)
LANGS = ("ja", "ja-easy", "en", "zh", "ko", "vi", "pt")
SEATED = "Please wait at {booth}. Staff will come to you in turn."
READY_LATER = "We will call you when it is ready."
PAY = "Pay at the self register (hold your ticket's QR code to it)."


def _t(lang: str, message: str, **values) -> str:
    """``message`` as the page writes it in ``lang`` (the kiosk's catalogs), HTML-escaped like the template."""
    from markupsafe import escape

    from kiosk.i18n import gettext_for

    return str(escape(gettext_for(lang, message).format(**values)))


def test_a_one_stop_resident_is_called_once_to_the_booth_then_told_to_stay_and_who_is_coming(office, site):
    for c in ("b3", "c21", "c31"):
        office.cmd(PANEL, "open_counter", counter=c)
    issue = {"procedures": ["tennyu", "kokuho_kanyu", "kaigo_shikaku"], "life_event": "moving_in", "lang": "en"}
    issue |= {"answers": {"kokuho": True, "over_65": True}, "note": "CONCIERGE-NOTE-NOT-FOR-RESIDENTS"}
    mine = office.cmd("kiosk-concierge", "issue", **issue)["ticket"]
    url = f"/t/{mine['token']}"

    waiting = office.http.get(url).text  # not seated yet: the one-stop notice, no "come to the counter"
    assert (
        'id="one-stop"' in waiting and _t("en", "Please come to the counter when your number is called.") not in waiting
    )
    assert waiting.count(_t("en", "Staff will come to you")) == 3 and "One-stop booths" in waiting
    assert office.http.get(f"/api/v1/tickets/{mine['token']}").json()["one_stop"] is True

    office.cmd(PANEL, "call_next", counter="b3")  # the visit's one call: to the booth
    called = office.http.get(url).text
    assert 'id="called"' in called
    assert _t("en", "Go to {counter} ({floor})", counter="One-stop booth B3", floor="1F") in called
    office.clock.pass_(15)
    office.cmd(PANEL, "complete", counter="b3")

    for lang in LANGS:  # seated: stay at the booth; the two sections still to come, by name
        page = office.http.get(f"{url}?lang={lang}").text
        booth = site.counter_by_id["b3"].names.get(lang)
        assert 'class="banner seated"' in page and _t(lang, SEATED, booth=booth) in page, lang
        assert 'id="called"' not in page and 'id="wait"' not in page
        for group in ("kokuho", "kaigo"):
            assert f'<span class="pill">{site.group_by_id[group].names.get(lang)}</span>' in page
        assert _t(lang, "Still to come:") in page
        assert _t(lang, "Where you will be served") in page, "a seated resident walks to no counter"
        assert _t(lang, "Your counters, in this order") not in page
    api = office.http.get(f"/api/v1/tickets/{mine['token']}").json()
    assert api["booth"] == {"counter": "b3", "counter_name": "One-stop booth B3", "floor": 1} and api["called"] is None
    assert api["to_come"] == ["National Health Insurance", "Long-term care insurance"]
    assert [s["mode"] for s in api["steps"]] == ["front", "booth", "booth"]
    assert all(s["place"] == "One-stop booth B3" for s in api["steps"])

    office.cmd(PANEL, "take_request", counter="c21", ticket=mine["id"])  # 国保's staff come: no call
    served = office.http.get(url).text
    assert 'id="called"' not in served and 'class="banner serving"' in served
    assert "One-stop booth B3 (1F)" in served and _t("en", "Now being served") in served
    office.clock.pass_(10)
    office.cmd(PANEL, "complete", counter="c21")
    left = office.http.get(url).text
    assert '<span class="pill">Long-term care insurance</span>' in left
    assert '<span class="pill">National Health Insurance</span>' not in left
    for body in (waiting, called, served, left, office.http.get(f"/api/v1/tickets/{mine['token']}").text):
        assert "CONCIERGE-NOTE" not in body and "moving_in" not in body and "over_65" not in body


def test_a_later_delivery_says_it_will_call_then_calls_and_a_payment_goes_to_the_register(office, site):
    for c in ("c31", "c07"):
        office.cmd(PANEL, "open_counter", counter=c)
    mine = office.issue("kaigo_shikaku", "nofu", lang="ko")
    url = f"/t/{mine['token']}"
    office.cmd(PANEL, "call_next", counter="c31")
    office.clock.pass_(10)
    office.cmd(PANEL, "complete", counter="c31")  # the 被保険者証 is printed later: a pickup at 証明発行

    for lang in LANGS:
        page = office.http.get(f"{url}?lang={lang}").text
        assert f'<p class="wait-big" id="wait">{_t(lang, READY_LATER)}</p>' in page, lang
        assert _t(lang, "Pickup") in page and _t(lang, PAY) in page  # the payment step, in the list
    api = office.http.get(f"/api/v1/tickets/{mine['token']}").json()
    pickup = api["steps"][-1]
    assert (pickup["kind"], pickup["ready"], pickup["group"], pickup["mode"]) == ("pickup", False, "shomei", "counter")

    office.cmd(PANEL, "mark_ready", ticket=mine["id"], procedure="kaigo_shikaku")
    ready = office.http.get(f"{url}?lang=en").text
    assert (
        f'id="wait">{_t("en", READY_LATER)}' not in ready and _t("en", "People ahead of you: {count}", count=0) in ready
    )
    office.cmd(PANEL, "call_next", counter="c07")  # called again, on the phone too
    called = office.http.get(f"{url}?lang=en").text
    assert 'id="called"' in called
    assert _t("en", "Go to {counter} ({floor})", counter="Counter 7", floor="1F") in called
    office.clock.pass_(2)
    office.cmd(PANEL, "complete", counter="c07")

    for lang in LANGS:  # done but for the payment: the register, not "all done"
        page = office.http.get(f"{url}?lang={lang}").text
        assert f'<div class="banner pay" id="state">{_t(lang, PAY)}</div>' in page, lang
        assert _t(lang, "All done. Thank you for coming.") not in page
    office.cmd("register-1f", "ticket_paid", token=mine["token"])
    assert 'class="banner done"' in office.http.get(url).text


def test_unknown_tokens_get_the_same_plain_404(office):
    mine = office.issue("tennyu", lang="en")
    bodies = set()
    for token in ("A" * 22, mine["token"][:-1] + ("A" if mine["token"][-1] != "A" else "B"), "short", "x" * 64):
        page = office.http.get(f"/t/{token}", headers={"accept-language": "en"})
        assert page.status_code == 404
        assert "Ticket not found" in page.text and token not in page.text
        bodies.add(page.text)
        api = office.http.get(f"/api/v1/tickets/{token}")
        assert api.status_code == 404 and api.json() == {"detail": "not found"}
        assert office.http.get(f"/t/{token}/events").status_code == 404
    assert len(bodies) == 1
    # yesterday's ticket after midnight: unknown too
    office.clock.now = datetime(2026, 11, 25, 8, 30, tzinfo=JST)
    office.core.tick()
    assert office.http.get(f"/t/{mine['token']}").status_code == 404


def test_private_pages_are_not_cached_indexed_or_leaked_by_referrer(office):
    mine = office.issue("tennyu")
    page = office.http.get(f"/t/{mine['token']}")
    assert page.headers["cache-control"] == "no-store"
    assert "noindex" in page.headers["x-robots-tag"]
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and " style=" not in page.text  # nothing inline: the CSP allows none
    assert '<meta http-equiv="refresh" content="30">' in page.text  # no-JS fallback, inside <noscript>
    assert office.http.get("/static/status.js").status_code == 200
    assert office.http.get("/static/../public.py").status_code == 404


def _serve(app: FastAPI):
    import uvicorn

    from madoguchi.local import free_port, wait_for_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    return server, thread, f"http://127.0.0.1:{port}"


def _next_event(lines) -> tuple[str, dict]:
    event = None
    for line in lines:
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: ") and event:
            return event, json.loads(line[6:])
    raise AssertionError("the stream ended")


def test_event_stream_pushes_the_call_without_polling(office):
    office.cmd(PANEL, "open_counter", counter="c01")
    mine = office.issue("tennyu", lang="en")
    server, thread, base = _serve(office.app)
    try:
        with httpx.Client(timeout=10) as client, client.stream("GET", f"{base}/t/{mine['token']}/events") as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            lines = r.iter_lines()
            event, first = _next_event(lines)
            assert event == "ticket" and first["called"] is False and "People ahead of you: 0" in first["html"]
            started = time.monotonic()
            office.cmd(PANEL, "call_next", counter="c01")  # wakes the stream through change_listeners
            event, called = _next_event(lines)
            assert time.monotonic() - started < 5  # pushed, not the 15 s heartbeat
            assert called["called"] is True and called["status"] == "serving"
            assert "Your number is called" in called["html"] and "Go to Counter 1 (1F)" in called["html"]
    finally:
        server.should_exit = True
        thread.join(timeout=20)


# ================================================================ congestion and forecast
def test_congestion_now_per_group(office):
    office.cmd(PANEL, "open_counter", counter="c01")
    office.cmd(PANEL, "open_counter", counter="c02")
    for _ in range(3):
        office.issue("tennyu")
    api = office.http.get("/api/v1/congestion?lang=en").json()
    jumin = next(g for g in api["groups"] if g["group"] == "jumin")
    span = jumin.pop("est_wait_range")
    assert span["low"] <= jumin["est_wait_min"] <= span["high"]
    assert jumin == {
        "group": "jumin",
        "name": "Resident registration",
        "floor": 1,
        "waiting": 3,
        "open_counters": 2,
        "est_wait_min": 15,  # 2 counters take 2 of the 3 now (15 min each); then the 3rd and a newcomer
    }
    assert next(g for g in api["groups"] if g["group"] == "kokuho")["est_wait_min"] is None
    page = office.http.get("/congestion", headers={"accept-language": "vi,en;q=0.5"}).text
    assert '<html lang="vi">' in page and "Đăng ký cư trú" in page
    assert "Chưa có dữ liệu" in page  # no history yet
    assert office.http.get("/api/v1/forecast").json()["basis"] == "none"


def _past_day(office: Office, day: datetime, arrivals: int) -> None:
    """A morning: ``arrivals`` residents for 転入届 from 9:00, one every 5 minutes, one counter serving 10 minutes."""
    office.clock.now = day.replace(hour=8, minute=30)
    office.cmd(PANEL, "open_counter", counter="c01")
    office.clock.now = day.replace(hour=9, minute=0)
    queue, serving, next_arrival, served_until = arrivals, False, office.clock.now, None
    while queue or serving:
        if queue and office.clock.now >= next_arrival:
            office.issue("tennyu")
            queue -= 1
            next_arrival = office.clock.now + timedelta(minutes=5)
        if serving and office.clock.now >= served_until:
            office.cmd(PANEL, "complete", counter="c01")
            serving = False
        if not serving and office.cmd(PANEL, "call_next", counter="c01")["ticket"]:
            serving, served_until = True, office.clock.now + timedelta(minutes=10)
        office.clock.pass_(1)


def test_forecast_learns_from_past_days_in_the_journal(site, tmp_path):
    office = Office(site, tmp_path, datetime(2026, 11, 3, 8, 0, tzinfo=JST))
    try:
        for week in range(3):  # three Tuesdays and a Monday
            _past_day(office, datetime(2026, 11, 3, tzinfo=JST) + timedelta(weeks=week), arrivals=6)
        _past_day(office, datetime(2026, 11, 23, tzinfo=JST), arrivals=2)
        office.clock.now = datetime(2026, 11, 24, 9, 15, tzinfo=JST)  # Tuesday
        api = office.http.get("/api/v1/forecast?lang=en").json()
        assert api["basis"] == "weekday" and api["days_used"] == 3 and api["from_hour"] == 9
        jumin = next(g for g in api["groups"] if g["group"] == "jumin")
        nine = jumin["hours"][0]
        # arrivals at 9:00, :05, ... :25 served 10 min each: waits 0, 5, 10, 15, 20, 25 → mean 12.5
        assert nine["hour"] == 9 and nine["wait_min"] == 12.5 and nine["level"] == "medium"
        assert nine["waiting"] == pytest.approx((0 + 5 + 10 + 15 + 20 + 25) / 60, abs=0.06)  # rounded to 0.1
        page = office.http.get("/congestion?lang=en").text
        assert "Learned from 3 past days (same weekday)." in page and "9:00" in page
        office.clock.now = datetime(2026, 11, 24, 18, 0, tzinfo=JST)
        assert "Offices are closed for the rest of today." in office.http.get("/congestion?lang=en").text
    finally:
        office.close()


def _day(*services: tuple[str, datetime, datetime]) -> Day:
    day = Day()
    for i, (group, ready, called) in enumerate(services):
        day.visits[str(i)] = Visit(str(i), i, ready, "ja", False, [group], [Service(group, "c", ready, called)])
    return day


def test_forecast_hours_overlap_and_averages_over_days():
    t = lambda d, h, m: datetime(2026, 11, d, h, m, tzinfo=JST)  # noqa: E731
    history = {
        "2026-11-16": _day(("a", t(16, 9, 30), t(16, 10, 30))),  # waits 60 min: 30 in the 9:00 hour, 30 in 10:00
        "2026-11-17": _day(("a", t(17, 9, 50), t(17, 10, 0))),
        "2026-11-24": _day(("a", t(24, 9, 0), t(24, 12, 0))),  # today: ignored
    }
    f = fc.forecast(history, "2026-11-24", ["a", "b"], JST)
    assert f.basis == "all" and f.days_used == ("2026-11-16", "2026-11-17") and f.hours == (9, 10)
    nine, ten = f.groups["a"]
    assert nine.waiting == pytest.approx((30 / 60 + 10 / 60) / 2, abs=0.05) and nine.wait_min == 35.0
    assert ten.waiting == 0.2 and ten.wait_min is None and ten.level == "unknown"  # 30/60 on one day of two
    assert [h.waiting for h in f.groups["b"]] == [0.0, 0.0]
    assert f.from_hour(10).hours == (10,) and len(f.from_hour(10).groups["a"]) == 1
    assert fc.forecast({}, "2026-11-24", ["a"], JST).basis == "none"


def test_choose_days_same_weekday_when_enough():
    days = ["2026-11-03", "2026-11-09", "2026-11-10", "2026-11-17", "2026-11-23", "2026-11-24"]
    assert fc.choose_days(days, "2026-11-24") == ("weekday", ["2026-11-03", "2026-11-10", "2026-11-17"])
    assert fc.choose_days(days, "2026-11-24", min_same_weekday=4)[0] == "all"
    assert fc.choose_days(days, "2026-11-24", min_same_weekday=4, max_days=2) == ("all", ["2026-11-17", "2026-11-23"])
    assert fc.choose_days(["2026-11-24"], "2026-11-24") == ("none", [])
    assert [fc.level(m) for m in (None, 0, 9.9, 10, 29, 30)] == ["unknown", "low", "low", "medium", "medium", "high"]


# ================================================================ procedure guide
def test_guide_asks_the_kiosk_questions_and_lists_what_the_catalog_says(office, site):
    index = office.http.get("/guide?lang=en").text
    for event in site.life_events:
        assert event.names.en in index
    questions = office.http.get("/guide/moving_in?lang=en").text
    for q in site.questions_for("moving_in"):
        assert q.text.en in questions and f'name="{q.id}" value="yes"' in questions

    result = office.http.get("/guide/moving_in/result?lang=en&children=yes&kokuho=yes&seal=no").text
    expected = site.procedures_for("moving_in", {"children": True, "kokuho": True})
    shown = re.findall(r'<li id="p-([a-z_0-9]+)">', result)
    from queue_service.guidance import guidance

    assert shown == [i.procedure.id for i in guidance(site, expected)]  # the kiosk's catalog, in serving order
    assert "Bring:" in result and "Photo ID" in result and "Floors you visit: 1F → 2F" in result
    assert "https://app.oss.myna.go.jp/" in result and 'rel="noopener noreferrer"' in result  # 児童手当 online

    api = office.http.get("/api/v1/guide", params={"event": "moving_in", "answers": "children,kokuho", "lang": "en"})
    assert [p["procedure"] for p in api.json()["procedures"]] == shown
    assert api.json()["preentry_fields"] == []  # no pre-entry key configured
    ko = office.http.get("/guide/moving_out/result?lang=ko").text
    assert "전출신고" in ko and "온라인으로 신청" in ko and "https://myna.go.jp/" in ko
    assert office.http.get("/api/v1/guide", params={"event": "moving_in", "answers": "nope"}).status_code == 422
    assert office.http.get("/api/v1/guide", params={"event": "nope"}).status_code == 404
    assert office.http.get("/guide/nope?lang=en").status_code == 404
    events = office.http.get("/api/v1/guide/events?lang=ja").json()
    assert [e["id"] for e in events] == [e.id for e in site.life_events]


def test_guide_without_a_key_has_no_qr_feature(office):
    page = office.http.get("/guide/moving_in/result?lang=en").text
    assert "preentry-form" not in page
    assert office.http.post("/guide/moving_in/preentry", data={"lang": "en", "pre_phone": "1"}).status_code == 404


def test_guide_makes_the_signed_pre_entry_qr_code(site, tmp_path, key_file):
    office = Office(site, tmp_path, datetime(2026, 11, 24, 20, 0, tzinfo=JST), preentry_key=key_file, forms_dir=FORMS)
    try:
        page = office.http.get("/guide/moving_in/result?lang=en&children=yes").text
        assert 'id="preentry-form"' in page and 'name="pre_new_address"' in page
        assert 'name="pre_child1_birth_year"' in page  # a date in parts (year, month, day)
        assert "Household member 2" in page and "Child 1" in page and "Bank" in page
        assert page.count('name="pre_phone"') == 1  # asked once, though every form has it
        api = office.http.get("/api/v1/guide", params={"event": "moving_in", "answers": "children"}).json()
        assert {"move_date", "new_address", "bank_name", "child1_name"} <= set(api["preentry_fields"])

        form = {
            "lang": "en",
            "children": "yes",
            "pre_move_date": "2026-11-20",
            "pre_new_address": "東京都さくら区桜町1-2-3",
        }
        bad = office.http.post("/guide/moving_in/preentry", data=form | {"pre_child1_birth": "20/11/2020"})
        assert bad.status_code == 422 and 'id="pre-error"' in bad.text and 'aria-invalid="true"' in bad.text
        assert "東京都さくら区桜町1-2-3" in bad.text  # kept for the correction
        empty = office.http.post("/guide/moving_in/preentry", data={"lang": "en"})
        assert empty.status_code == 422 and "Nothing was entered." in empty.text

        ok = office.http.post("/guide/moving_in/preentry", data=form | {"pre_account_type": "futsu"})
        assert ok.status_code == 200 and ok.headers["cache-control"] == "no-store"
        assert "Valid until 2026-12-08." in ok.text
        png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', ok.text).group(1))
        if shutil.which("zbarimg"):
            (tmp_path / "qr.png").write_bytes(png)
            done = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "qr.png")], capture_output=True, text=True)
            entry = read_payload(done.stdout, bytes.fromhex(key_file.read_text().strip()), site.site.id, office.clock())
            assert entry.fields == {
                "move_date": "2026-11-20",
                "new_address": "東京都さくら区桜町1-2-3",
                "account_type": "futsu",
            }
    finally:
        office.close()


# ================================================================ pages, languages, API description
def test_accept_language():
    assert accept_language("") == "ja"
    assert accept_language("pt-BR,pt;q=0.9,en;q=0.8") == "pt"
    assert accept_language("fr-FR, zh-TW;q=0.8, en;q=0.9") == "en"
    assert accept_language("de, ko;q=0.1") == "ko"
    assert accept_language("en;q=0, vi") == "vi"


def test_every_template_message_is_extracted_for_translation():
    from kiosk.i18n_extract import extract

    known = set(extract())
    used = set()
    for path in TEMPLATE_DIR.rglob("*.html"):
        if "staff" not in path.relative_to(TEMPLATE_DIR).parts:
            used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', path.read_text(encoding="utf-8")))
    assert used and not used - known, f"mark these with N_ in queue_service/web/pages.py: {sorted(used - known)}"


def test_openapi_describes_the_json_api(office):
    spec = office.http.get("/openapi.json").json()
    for path in ("/api/v1/tickets/{token}", "/api/v1/congestion", "/api/v1/forecast", "/api/v1/guide"):
        assert path in spec["paths"], path
    assert "TicketStatusOut" in spec["components"]["schemas"]
    assert not any(p.startswith("/t/") or p.startswith("/guide") for p in spec["paths"])


def test_index_links_the_public_pages(office):
    page = office.http.get("/?lang=zh").text
    assert '<html lang="zh">' in page and "/congestion?lang=zh" in page and "/guide?lang=zh" in page


def test_pre_entry_number_and_date_fields_take_ascii_digits_only():
    from queue_service.web.preentry_fields import check_field, field_spec

    number, day = field_spec("account_number"), field_spec("move_date")
    assert number.kind == "number" and day.kind == "date"
    assert check_field(number, "0123456")
    for odd in ("١٢٣", "²³", "１２３", "12 3", "", "1" * 21):
        assert not check_field(number, odd), odd
    assert check_field(day, "2026-11-20")
    assert not check_field(day, "２０２６-１１-２０") and not check_field(day, "2026-11-20\n")


def test_a_huge_query_is_not_repeated_into_the_language_links(office):
    junk = "x" * 5000
    page = office.http.get(f"/congestion?lang=ja&group=kokuho&junk={junk}&" + "&".join(f"k{i}=v" for i in range(100)))
    assert page.status_code == 200
    assert junk not in page.text
    assert page.text.count("k99=v") == 0 and "group=kokuho" in page.text  # the page's own parameter stays
    assert len(page.text) < 200_000
