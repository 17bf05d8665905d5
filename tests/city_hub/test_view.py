"""The live city view (pure): what each office shows now and where a procedure is quickest."""

from __future__ import annotations

import datetime as dt

from city_hub.view import CityView, supersedes
from kiosk.bus.schemas import GroupState, Presence
from tests.city_hub.summaries import summary

NOW = dt.datetime(2026, 11, 17, 1, 0, tzinfo=dt.UTC)


def state(group: str, waiting: int, est: int | None, open_counters: int = 1) -> GroupState:
    return GroupState(group=group, waiting=waiting, open_counters=open_counters, est_wait_min=est)


def view_of(city) -> CityView:
    c, sites = city
    v = CityView(c, sites)
    for s in c.sites:
        v.apply_presence(s.id, Presence(online=True))
    return v


def test_offices_in_city_order_with_every_group_of_the_site(city):
    v = view_of(city)
    v.apply_group("hikarigaoka", state("shomei", 4, 6), NOW)
    offices = v.offices()
    assert [o.site for o in offices] == ["nerima", "hikarigaoka", "oizumi"]
    hika = offices[1]
    assert hika.names.en == "Hikarigaoka Branch" and hika.online is True and hika.lat is not None
    by_group = {g.group: g for g in hika.groups}
    assert by_group["shomei"].state == state("shomei", 4, 6) and by_group["shomei"].received_at == NOW
    assert by_group["jumin"].state is None  # listed (the site has it), nothing received yet
    assert by_group["shomei"].names is not None
    assert hika.waiting == 4


def test_an_office_not_in_the_city_file_is_ignored(city):
    v = view_of(city)
    assert v.apply_group("shinjuku", state("shomei", 1, 1), NOW) is False
    assert v.apply_presence("shinjuku", Presence(online=True)) is False
    assert v.apply_summary(summary("shinjuku")) is False
    assert [o.site for o in v.offices()] == ["nerima", "hikarigaoka", "oizumi"]


def test_fastest_ranks_by_wait_with_the_closed_and_offline_last(city):
    v = view_of(city)
    v.apply_group("nerima", state("shomei", 12, 25), NOW)
    v.apply_group("hikarigaoka", state("shomei", 3, 5), NOW)
    v.apply_group("oizumi", state("shomei", 0, None, open_counters=0), NOW)  # closed now
    ranked = v.fastest("juminhyo")
    assert [(o.site, o.est_wait_min, o.waiting) for o in ranked] == [
        ("hikarigaoka", 5, 3),
        ("nerima", 25, 12),
        ("oizumi", None, 0),
    ]
    assert ranked[0].group == "shomei" and ranked[0].procedure == "juminhyo" and ranked[0].open_counters == 1

    # hikarigaoka's queue service goes offline: its last state is no promise any more
    v.apply_presence("hikarigaoka", Presence(online=False))
    ranked = v.fastest("juminhyo")
    assert [(o.site, o.est_wait_min) for o in ranked] == [("nerima", 25), ("hikarigaoka", None), ("oizumi", None)]
    assert ranked[1].online is False and ranked[1].open_counters == 0


def test_fastest_lists_only_offices_that_have_the_procedure(city):
    v = view_of(city)
    for site in ("nerima", "hikarigaoka", "oizumi"):
        v.apply_group(site, state("shomei", 1, 2), NOW)
    assert [o.site for o in v.fastest("koseki_shomei")] == ["nerima", "hikarigaoka"]  # oizumi has no register
    assert v.fastest("no_such_procedure") == []
    assert "koseki_shomei" in v.procedures() and "juminhyo" in v.procedures()


def test_equal_waits_go_by_fewer_waiting_then_city_order(city):
    v = view_of(city)
    v.apply_group("nerima", state("shomei", 5, 10), NOW)
    v.apply_group("hikarigaoka", state("shomei", 2, 10), NOW)
    v.apply_group("oizumi", state("shomei", 2, 10), NOW)
    assert [o.site for o in v.fastest("juminhyo")] == ["hikarigaoka", "oizumi", "nerima"]


def test_a_cleared_group_state_is_forgotten(city):
    v = view_of(city)
    v.apply_group("nerima", state("shomei", 5, 10), NOW)
    assert v.clear_group("nerima", "shomei") is True
    assert v.fastest("juminhyo")[0].est_wait_min is None
    assert v.clear_group("nerima", "shomei") is False


def test_summaries_follow_the_store_rules_and_listeners_hear_changes(city):
    v = view_of(city)
    heard = []
    v.on_change(lambda site, what: heard.append((site, what)))
    assert v.apply_summary(summary(at="10:00", tickets=5))
    assert not v.apply_summary(summary(at="09:59", tickets=4))
    assert v.apply_summary(summary(final=True, at="09:00", tickets=6))
    assert not v.apply_summary(summary(at="23:00", tickets=7))
    assert v.office("nerima").today.tickets == 6
    v.apply_summary(summary(date="2026-11-18", tickets=1))
    assert v.office("nerima").today.date == "2026-11-18"  # the newest day is "today"
    assert set(v.summaries("nerima")) == {"2026-11-17", "2026-11-18"}
    assert heard == [("nerima", "summary")] * 3


def test_summaries_kept_in_memory_are_bounded(city):
    v = view_of(city)
    for day in range(1, 21):
        v.apply_summary(summary(date=f"2026-11-{day:02d}"))
    assert sorted(v.summaries("nerima")) == [f"2026-11-{d:02d}" for d in range(14, 21)]


def test_supersedes():
    old = summary(at="10:00")
    assert supersedes(summary(at="10:01"), False, old.updated_at)
    assert not supersedes(summary(at="10:00"), False, old.updated_at)
    assert not supersedes(summary(at="09:00"), False, old.updated_at)
    assert supersedes(summary(final=True, at="09:00"), False, old.updated_at)
    assert not supersedes(summary(at="23:00"), True, old.updated_at)
