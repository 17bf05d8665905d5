"""queue_service.history: a day read back from the real service journal (QueueCore driven in process)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from queue_service.history import percentile, read_day, summarise
from queue_service.service.core import QueueCore
from queue_service.service.direct import DirectClient
from queue_service.service.journal import Journal

JST = ZoneInfo("Asia/Tokyo")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 8, 30, tzinfo=JST)

    def __call__(self) -> datetime:
        return self.now

    def pass_(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@pytest.fixture
def office(site, tmp_path):
    clock = Clock()
    journal = Journal(tmp_path / "queue.sqlite")
    core = QueueCore(site, journal, clock=clock)
    yield DirectClient(core), clock, journal, core
    journal.close()


def test_a_move_in_day_reads_back_waits_services_stay_no_shows_and_payments(site, office):
    client, clock, journal, core = office
    panel = "panel-demo"
    for c in ("c01", "c21"):
        client.request(panel, "open_counter", {"counter": c})
    a = client.request("kiosk-1f", "issue", {"procedures": ["tennyu", "kokuho_kanyu"], "lang": "en"})["ticket"]
    clock.pass_(2)
    b = client.request("kiosk-1f", "issue", {"procedures": ["tennyu"]})["ticket"]
    clock.pass_(8)
    assert client.request(panel, "call_next", {"counter": "c01"})["ticket"]["id"] == a["id"]  # waited 10
    clock.pass_(15)
    client.request(panel, "complete", {"counter": "c01"})  # served 15
    clock.pass_(1)
    assert client.request(panel, "call_next", {"counter": "c01"})["ticket"]["id"] == b["id"]  # waited 24
    clock.pass_(3)
    client.request(panel, "no_show", {"counter": "c01"})
    clock.pass_(4)
    # free since its first service ended: waited 8 at kokuho
    assert client.request(panel, "call_next", {"counter": "c21"})["ticket"]["id"] == a["id"]
    clock.pass_(10)
    client.request(panel, "complete", {"counter": "c21"})
    slips = [{"kind": "cvs", "payee": "kokuho", "amount": 12300}]
    payment = {"tx": "20261124-register-1f-00001", "method": "cash", "total": 12300, "slips": slips}
    client.request("register-1f", "record_payment", payment | {"paid_at": clock.now.isoformat()})
    client.request("forms-1f", "record_forms", {"forms": ["jumin_ido"], "lang": "en"})

    day = read_day(journal.day_entries(core.engine.day), {c.id: c.group for c in site.counters})
    visit_a, visit_b = day.visits[a["id"]], day.visits[b["id"]]
    assert [(s.group, round(s.wait_min), round(s.service_min)) for s in visit_a.services] == [
        ("jumin", 10, 15),
        ("kokuho", 8, 10),
    ]
    assert visit_a.status == "done" and round(visit_a.stay_min) == 43 and visit_a.lang == "en"
    assert visit_b.status == "absent" and visit_b.no_shows == 1 and visit_b.stay_min is None
    assert [round(s.wait_min) for s in visit_b.services] == [24]
    assert [p["total"] for p in day.payments] == [12300] and day.forms[0]["forms"] == ["jumin_ido"]


def test_summaries_and_percentiles():
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 90) == pytest.approx(4.6)
    s = summarise([10, 20, 30, 40])
    assert (s.n, s.mean, s.median) == (4, 25, 25) and s.p90 == pytest.approx(37)
    assert summarise([]).mean is None


# ---------------------------------------------------------------- one-stop (issue 17)
def _day(site, journal, core):
    return read_day(journal.day_entries(core.engine.day), {c.id: c.group for c in site.counters})


def test_a_one_stop_move_in_reads_back_its_booth_requests_pickup_and_payment(site, office):
    """Seated at b3 (the visit's one call), two sections come, the 被保険者証 is picked up later, and the register
    closes the payment step after the last counter: the stay ends at the payment."""
    client, clock, journal, core = office
    panel = "panel-demo"
    for c in ("b3", "c21", "c31", "c07"):
        client.request(panel, "open_counter", {"counter": c})
    issue = {
        "procedures": ["tennyu", "kokuho_kanyu", "kaigo_shikaku", "nofu"],
        "lang": "vi",
        "life_event": "moving_in",
        "answers": {"kokuho": True, "over_65": True, "children": False},
        "note": "NOTE-FOR-THE-COUNTERS-ONLY",
    }
    t = client.request("kiosk-concierge", "issue", issue)["ticket"]
    clock.pass_(5)
    assert client.request(panel, "call_next", {"counter": "b3"})["ticket"]["booth"] == "b3"  # waited 5
    clock.pass_(15)
    client.request(panel, "complete", {"counter": "b3"})  # 転入届 at the booth: 15; the requests open now
    clock.pass_(4)
    client.request(panel, "take_request", {"counter": "c21", "ticket": t["id"]})  # 国保 came after 4
    clock.pass_(12)
    client.request(panel, "complete", {"counter": "c21"})
    clock.pass_(3)
    client.request(panel, "take_request", {"counter": "c31", "ticket": t["id"]})  # 介護: 3 after 国保 left
    clock.pass_(10)
    freed = client.request(panel, "complete", {"counter": "c31"})["ticket"]
    assert freed["booth"] is None and freed["status"] == "waiting"  # the pickup is still to come
    clock.pass_(20)
    client.request(panel, "mark_ready", {"ticket": t["id"], "procedure": "kaigo_shikaku"})
    clock.pass_(6)
    assert client.request(panel, "call_next", {"counter": "c07"})["ticket"]["id"] == t["id"]  # 6 after ready
    clock.pass_(2)
    assert client.request(panel, "complete", {"counter": "c07"})["ticket"]["status"] == "done"  # 8:30 + 77
    clock.pass_(5)
    client.request("register-1f", "ticket_paid", {"token": t["token"]})  # paid at 8:30 + 82

    visit = _day(site, journal, core).visits[t["id"]]
    assert [(s.kind, s.group, s.counter, s.booth, s.procedures) for s in visit.services] == [
        ("booth", "onestop", "b3", "b3", ("tennyu",)),
        ("request", "kokuho", "c21", "b3", ("kokuho_kanyu",)),
        ("request", "kaigo", "c31", "b3", ("kaigo_shikaku",)),
        ("pickup", "shomei", "c07", None, ("kaigo_shikaku",)),
    ]
    assert [round(s.wait_min) for s in visit.services] == [5, 4, 3, 6]
    assert [round(s.service_min or -1) for s in visit.services] == [15, 12, 10, 2]
    assert visit.one_stop and visit.booth == "b3" and not visit.handed_over
    assert (visit.seated_at - visit.issued_at).total_seconds() == 5 * 60
    assert (visit.unseated_at - visit.issued_at).total_seconds() == 49 * 60
    assert visit.status == "done" and round(visit.stay_min) == 82 and visit.paid_at == visit.done_at
    assert visit.life_event == "moving_in" and visit.answers == {"kokuho": True, "over_65": True, "children": False}
    assert visit.procedures == ["tennyu", "kokuho_kanyu", "kaigo_shikaku", "nofu"]
    assert "NOTE-FOR-THE-COUNTERS-ONLY" not in repr(visit)  # the concierge's note is never read


def test_a_booth_without_front_steps_opens_the_requests_at_the_seating(site, office):
    client, clock, journal, core = office
    panel = "panel-demo"
    for c in ("b1", "c21"):
        client.request(panel, "open_counter", {"counter": c})
    t = client.request("kiosk-1f", "issue", {"procedures": ["kokuho_kanyu"], "life_event": "moving_in"})["ticket"]
    clock.pass_(2)
    seated = client.request(panel, "call_next", {"counter": "b1"})["ticket"]
    assert seated["booth"] == "b1" and not [s for s in seated["itinerary"] if s["status"] == "serving"]
    clock.pass_(3)
    client.request(panel, "complete", {"counter": "b1"})  # the booth greeted the resident: nothing of its own
    clock.pass_(4)
    client.request(panel, "take_request", {"counter": "c21", "ticket": t["id"]})
    clock.pass_(10)
    client.request(panel, "complete", {"counter": "c21"})

    visit = _day(site, journal, core).visits[t["id"]]
    booth, request = visit.services
    assert (booth.kind, booth.procedures, round(booth.service_min or -1)) == ("booth", (), 3)
    assert request.kind == "request" and round(request.wait_min) == 7  # from the seating, not the booth's complete
    assert visit.status == "done" and round(visit.stay_min) == 19 and visit.unseated_at is not None


def test_a_hand_over_ends_the_booths_service_and_sends_the_sections_steps_to_their_counters(site, office):
    client, clock, journal, core = office
    panel = "panel-demo"
    for c in ("b2", "c01"):
        client.request(panel, "open_counter", {"counter": c})
    issue = {"procedures": ["tenshutsu", "kokuho_soushitsu"], "life_event": "moving_out"}
    t = client.request("kiosk-1f", "issue", issue)["ticket"]
    clock.pass_(1)
    client.request(panel, "call_next", {"counter": "b2"})
    clock.pass_(6)
    handed = client.request(panel, "hand_over", {"counter": "b2"})["ticket"]  # in the middle of 転出届
    assert handed["booth"] is None and handed["status"] == "waiting"
    clock.pass_(5)
    called = client.request(panel, "call_next", {"counter": "c01"})["ticket"]  # 住民異動 calls it to its counter
    assert called["id"] == t["id"]

    visit = _day(site, journal, core).visits[t["id"]]
    booth, counter = visit.services
    assert (booth.kind, booth.outcome, round(booth.service_min or -1)) == ("booth", "hand_over", 6)
    assert (counter.kind, counter.group, counter.booth, round(counter.wait_min)) == ("counter", "jumin", None, 5)
    assert visit.handed_over and visit.booth == "b2" and visit.unseated_at is not None
    assert {"jumin", "kokuho"} <= set(visit.groups) and visit.status == "serving"


def test_payment_before_the_last_counter_or_never_ends_the_stay_at_the_last_counter(site, office):
    client, clock, journal, core = office
    panel = "panel-demo"
    client.request(panel, "open_counter", {"counter": "c07"})
    early = client.request("kiosk-1f", "issue", {"procedures": ["juminhyo", "nofu"]})["ticket"]
    never = client.request("kiosk-1f", "issue", {"procedures": ["juminhyo", "nofu"]})["ticket"]
    clock.pass_(3)
    client.request("register-1f", "ticket_paid", {"token": early["token"]})  # paid first (the fee was known)
    clock.pass_(2)
    client.request(panel, "call_next", {"counter": "c07"})
    clock.pass_(4)
    assert client.request(panel, "complete", {"counter": "c07"})["ticket"]["status"] == "done"
    client.request(panel, "call_next", {"counter": "c07"})
    clock.pass_(4)
    client.request(panel, "complete", {"counter": "c07"})  # done but for its payment, never paid

    day = _day(site, journal, core)
    paid_first, unpaid = day.visits[early["id"]], day.visits[never["id"]]
    assert round(paid_first.stay_min) == 9 and (paid_first.paid_at - paid_first.issued_at).total_seconds() == 180
    assert unpaid.status == "done" and round(unpaid.stay_min) == 13 and unpaid.paid_at is None
    assert not paid_first.one_stop and paid_first.life_event is None and paid_first.answers == {}


def test_a_journal_written_before_one_stop_still_reads(site):
    """Replies of a contract-1 service have no booth, mode, kind or ready: every call is a counter call."""
    from types import SimpleNamespace

    def entry(verb: str, at: str, args: dict, ticket: dict) -> SimpleNamespace:
        reply = json.dumps({"ok": True, "result": {"ticket": ticket}})
        return SimpleNamespace(verb=verb, args=json.dumps(args), at=f"2026-01-05T{at}:00+09:00", ok=True, reply=reply)

    def ticket(status: str, step: str) -> dict:
        steps = [{"procedure": "juminhyo", "group": "shomei", "status": step}]
        return {
            "id": "20260105-0001",
            "number": 1,
            "lang": "ja",
            "priority": False,
            "status": status,
            "itinerary": steps,
        }

    day = read_day(
        [
            entry("issue", "09:00", {"procedures": ["juminhyo"]}, ticket("waiting", "pending")),
            entry("call_next", "09:05", {"counter": "c07"}, ticket("serving", "serving")),
            entry("complete", "09:09", {"counter": "c07"}, ticket("done", "done")),
        ],
        {c.id: c.group for c in site.counters},
    )
    visit = day.visits["20260105-0001"]
    (service,) = visit.services
    assert (service.kind, service.booth, service.procedures, round(service.wait_min)) == (
        "counter",
        None,
        ("juminhyo",),
        5,
    )
    assert round(visit.stay_min) == 9 and visit.life_event is None and not visit.one_stop
