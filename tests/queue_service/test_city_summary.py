"""The day summary a site sends the city (``SiteDaySummary``): the staff KPI page's figures plus each counter group's
hours, built from a day the real QueueCore journaled (the simulated office day of the KPI tests), and nothing in it
that belongs to a resident."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from broker_config.generate import acl_text
from kiosk.bus.contract import Role, Topics
from kiosk.bus.schemas import SiteDaySummary, dump
from queue_service.city_summary import day_summary, group_hours
from queue_service.history import Day, Service, Visit, read_day
from queue_service.service.core import QueueCore
from queue_service.service.direct import DirectClient
from queue_service.service.journal import Journal
from queue_service.web import kpi
from tests.queue_service.test_web_staff import CONCIERGE_NOTE, JST, Clock, fill_day

DAY = "2026-11-24"
HANDOVER_NOTE = "HANDOVER-NOTE-NEVER-TO-THE-CITY"
NOW = datetime(2026, 11, 24, 19, 0, tzinfo=JST)


@pytest.fixture(scope="module")
def journal(site, tmp_path_factory):
    """The simulated office day (about 150 residents, one-stop booths, the register, the form issuer), then the exit
    screen's survey answers, the online guide's uses and a counter's handover note, all through the real core."""
    journal = Journal(tmp_path_factory.mktemp("city") / "queue.sqlite", durable=False)
    fill_day(journal, site, date.fromisoformat(DAY), seed=11)
    clock = Clock(datetime(2026, 11, 24, 18, 0, tzinfo=JST))
    client = DirectClient(QueueCore(site, journal, clock=clock))
    first = site.survey[0].id
    issued = [e for e in journal.day_entries(DAY) if e.verb == "issue" and e.ok]
    for entry, stars in zip(issued[:5], (5, 4, 2, 5, 3), strict=True):
        ticket = json.loads(entry.reply)["result"]["ticket"]
        client.request("exit-1f", "record_survey", {"ticket": ticket["id"], "answers": {first: stars}})
    for event, completed in (("moving_in", False), ("moving_in", True), ("birth", False)):
        client.request("queue-service", "record_guide_use", {"life_event": event, "completed": completed})
    late = client.request("kiosk-1f", "issue", {"procedures": ["tennyu"]})["ticket"]
    client.request("panel-demo", "open_counter", {"counter": "c01"})
    assert client.request("panel-demo", "call_next", {"counter": "c01"})["ticket"]["id"] == late["id"]
    client.request("panel-demo", "complete", {"counter": "c01", "note": HANDOVER_NOTE})
    yield journal
    journal.close()


@pytest.fixture(scope="module")
def day(site, journal):
    return read_day(journal.day_entries(DAY), {c.id: c.group for c in site.counters})


@pytest.fixture(scope="module")
def summary(site, day):
    return day_summary(site, day, DAY, True, NOW)


def test_the_summary_is_the_kpi_pages_day(site, day, summary):
    k = kpi.compute(DAY, day, site)
    assert (summary.site, summary.date, summary.final, summary.updated_at) == (site.site.id, DAY, True, NOW)
    assert summary.tickets == k.tickets == len(day.visits) > 120
    assert (summary.finished, summary.cancelled) == (k.finished, k.cancelled)
    assert summary.finished + summary.cancelled <= summary.tickets
    assert summary.one_stop == k.reception.one_stop.tickets > 0
    assert summary.multi_department == k.multi_department > 0
    assert summary.wait_median_min == round(k.wait.median, 1) and summary.wait_mean_min == round(k.wait.mean, 1)
    assert summary.stay_median_min == round(k.stay.median, 1)
    assert summary.within_target_share == round(k.within_target_share, 4)
    assert (summary.surveys, summary.satisfaction_share) == (5, 0.6)  # 5, 4, 2, 5, 3 stars: three of five
    assert summary.payments == k.register.payments > 0
    assert summary.cashless_share == round(k.register.cashless_share, 4)
    assert summary.guide_uses == 2  # questions opened; the one result reached is not a second use
    assert [g.group for g in summary.groups] == [g.id for g in site.groups]


def test_each_groups_hours_add_up_to_its_day(site, day, summary):
    by_group = {g.group: g for g in kpi.compute(DAY, day, site).groups}
    assert sum(g.served for g in summary.groups) == len(day.services())
    busy = [g for g in summary.groups if g.served]
    assert len(busy) >= 5
    for g in summary.groups:
        k = by_group[g.group]
        assert (g.tickets, g.served) == (k.tickets, k.calls)
        assert sum(h.arrivals for h in g.hours) == g.tickets
        assert sum(h.served for h in g.hours) == g.served
        assert [h.hour for h in g.hours] == sorted({h.hour for h in g.hours})
        assert all(8 <= h.hour <= 19 and (h.arrivals or h.served) for h in g.hours)  # office hours, local time
        if g.served:
            assert g.wait_median_min == round(k.wait.median, 1)
            weighted = sum(h.mean_wait_min * h.served for h in g.hours if h.served) / g.served
            assert weighted == pytest.approx(k.wait.mean, abs=0.05 * len(g.hours) + 0.01)  # hour means are rounded
        assert all((h.mean_wait_min is None) == (h.served == 0) for h in g.hours)


def _visit(ticket: str, issued: datetime, groups: list[str]) -> Visit:
    return Visit(ticket, 1, issued, "ja", False, groups)


def test_hours_are_the_sites_local_hours():
    """A time written in UTC still lands in the office's hour: 00:30 UTC is 9:30 in Tokyo."""
    utc = UTC
    a = _visit("a", datetime(2026, 11, 24, 0, 30, tzinfo=utc), ["jumin"])
    b = _visit("b", datetime(2026, 11, 24, 8, 55, tzinfo=JST), ["jumin", "kokuho"])
    a.services.append(Service("jumin", "c01", a.issued_at, datetime(2026, 11, 24, 1, 10, tzinfo=utc)))  # 10:10
    b.services.append(Service("jumin", "c01", b.issued_at, datetime(2026, 11, 24, 10, 5, tzinfo=JST)))  # 70 min
    day = Day(visits={"a": a, "b": b})
    hours = {h.hour: h for h in group_hours(day, "jumin", JST)}
    assert sorted(hours) == [8, 9, 10]
    assert (hours[8].arrivals, hours[8].served, hours[8].mean_wait_min) == (1, 0, None)
    assert (hours[9].arrivals, hours[9].served) == (1, 0)
    assert (hours[10].arrivals, hours[10].served, hours[10].mean_wait_min) == (0, 2, (40 + 70) / 2)
    assert [(h.hour, h.arrivals, h.served) for h in group_hours(day, "kokuho", JST)] == [(8, 1, 0)]


def test_an_empty_day_is_zeros_and_no_shares(site):
    empty = day_summary(site, Day(), "2026-11-29", False, NOW)
    assert (empty.tickets, empty.finished, empty.payments, empty.surveys, empty.guide_uses) == (0, 0, 0, 0, 0)
    assert empty.wait_median_min is None and empty.within_target_share is None and empty.cashless_share is None
    assert all(g.hours == [] and g.wait_mean_min is None for g in empty.groups)
    assert SiteDaySummary.model_validate_json(dump(empty)) == empty  # strict schema: it reads back as sent


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _lists(value) -> list[list]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _lists(v)]
    if isinstance(value, list):
        return [value, *(x for v in value for x in _lists(v))]
    return []


def _keys(value) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def _booleans(value) -> list[bool]:
    if isinstance(value, bool):
        return [value]
    if isinstance(value, dict):
        return [b for v in value.values() for b in _booleans(v)]
    if isinstance(value, list):
        return [b for v in value for b in _booleans(v)]
    return []


def test_nothing_of_a_resident_is_in_the_summary(site, journal, summary):
    """A spy over the whole JSON: no ticket id, token, number list, note, answer, payment id or brand of the day, and
    no text at all but the site, the date, the time it was made and the counter groups' ids."""
    text = dump(summary).decode()
    data = json.loads(text)
    secrets: set[str] = {CONCIERGE_NOTE, HANDOVER_NOTE}
    numbers: set[int] = set()
    answers: set[str] = set()
    for entry in journal.day_entries(DAY):
        args, reply = json.loads(entry.args), json.loads(entry.reply)
        ticket = (reply.get("result") or {}).get("ticket") or {}
        if entry.token:
            secrets.add(entry.token)
        if ticket:
            secrets.add(ticket["id"])
            numbers.add(ticket["number"])
        answers |= set(args.get("answers") or {})
        for key in ("tx", "brand", "note"):
            if isinstance(args.get(key), str):
                secrets.add(args[key])
    assert len(numbers) > 120 and len(answers) > 3 and any(len(s) >= 16 for s in secrets)
    found = [s for s in secrets if s in text]
    assert found == [], f"a resident's data reached the city summary: {found[:5]}"
    # the kiosk's answers: no question id as a key, and no yes/no at all but the summary's own ``final``
    assert not answers & set(_keys(data)) and _booleans(data) == [True]
    allowed = {site.site.id, DAY, summary.updated_at.isoformat(), *(g.id for g in site.groups)}
    keys = set(SiteDaySummary.model_fields) | {"group", "tickets", "served", "hours", "hour", "arrivals"}
    keys |= {"wait_median_min", "wait_mean_min", "mean_wait_min"}
    strange = {s for s in _strings(data) if s not in allowed and s not in keys}
    assert strange == set(), strange
    # no list of numbers (a ticket number list): the only lists are of groups and of hours, as objects
    assert all(all(isinstance(x, dict) for x in lst) for lst in _lists(data))


def test_only_the_queue_service_may_write_the_city_topics(site):
    """The broker's ACL: the service writes ``{root}/city/#``; no other device has any rule there."""
    topics = Topics(site.site.id)
    blocks = acl_text(site).split("\nuser ")[1:]
    by_device = {b.split("\n", 1)[0]: b for b in blocks}
    service = site.service_device
    assert service is not None and service.role is Role.SERVICE
    assert f"topic write {topics.all_city}" in by_device[service.id].splitlines()
    others = [d for d, block in by_device.items() if d != service.id and "/city" in block]
    assert others == [] and len(by_device) > 5


def test_the_journal_keeps_the_last_confirmed_final(tmp_path):
    journal = Journal(tmp_path / "queue.sqlite", durable=False)
    assert journal.meta("city_final") is None
    journal.set_meta("city_final", "2026-11-23")
    journal.set_meta("city_final", "2026-11-24")
    journal.close()
    again = Journal(tmp_path / "queue.sqlite", durable=False)
    assert again.meta("city_final") == "2026-11-24" and again.meta("schema") == "1"
    again.close()
