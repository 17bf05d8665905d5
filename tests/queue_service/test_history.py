"""queue_service.history: a day read back from the real service journal (QueueCore driven in process)."""

from __future__ import annotations

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
