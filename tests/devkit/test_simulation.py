"""devkit.office_simulation: small simulated office days through the real queue core, in the four ways of working."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from datetime import date, time

import pytest

from devkit.office_simulation import (
    MODES,
    ONE_STOP_MODES,
    WALK_IN,
    OfficeDayConfig,
    Resident,
    draw_residents,
    estimate_errors,
    mode_site,
    simulate_day,
    write_history,
)
from queue_service.history import read_day
from queue_service.service.journal import Journal

DAY = date(2026, 11, 24)  # a Tuesday (weekday factor 1.0)
#: A small day: ~60 residents in a two-hour morning rush at half the counters (queues do build up).
SMALL = OfficeDayConfig(visitors_per_day=60, last_arrival=time(10, 30), counters_scale=0.5)
SEED = 3


@pytest.fixture(scope="module")
def days(site, tmp_path_factory):
    """The same small day in every way of working: mode → (result, journal)."""
    folder = tmp_path_factory.mktemp("sim")
    out = {}
    for mode in MODES:
        journal = Journal(folder / f"{mode}.sqlite", durable=False)
        out[mode] = (simulate_day(site, journal, DAY, SMALL, mode, SEED), journal)
    yield out
    for _, journal in out.values():
        journal.close()


def entries(journal: Journal) -> list[tuple[str, dict, dict]]:
    """The day's accepted commands: (verb, args, the reply's ticket or {})."""
    out = []
    for e in journal.day_entries(DAY.isoformat()):
        if e.ok:
            out.append((e.verb, json.loads(e.args), (json.loads(e.reply).get("result") or {}).get("ticket") or {}))
    return out


def test_the_four_modes_see_the_same_residents_and_the_same_staff(site, days):
    residents = draw_residents(site, SMALL, DAY, SEED)
    assert 40 <= len(residents) <= 85
    assert residents == draw_residents(site, SMALL, DAY, SEED)
    seen = {m: [(r.arrival, r.visit, r.procedures, r.no_show) for r in days[m][0].residents] for m in MODES}
    assert all(seen[m] == seen["ticket_per_counter"] for m in MODES)
    assert len(seen["one_ticket"]) == len(residents)
    assert len({days[m][0].staffing.staff for m in MODES}) == 1  # the same staff hours
    (a, _), (b, _) = days["ticket_per_counter"], days["one_ticket"]
    assert a.tickets > b.tickets == len(residents)  # a new ticket at each further counter group
    stages = {r.index: len(r.stages(site)) for r in residents}
    assert all(r.tickets == stages[r.index] for r in a.residents if not r.no_show)
    for mode in MODES[1:]:
        assert all(r.tickets == 1 for r in days[mode][0].residents)


def test_every_mode_serves_every_resident(days):
    for mode in MODES:
        result, journal = days[mode]
        assert all((r.stay_min is not None) != r.no_show for r in result.residents), mode
        assert sum(r.no_show for r in result.residents) >= 1  # the draw has no-shows: they are set aside
        closed = {t["id"] for verb, _, t in entries(journal) if t.get("status") in ("done", "absent")}
        assert closed == set(result.visits.visits), mode  # every ticket done (or set aside), none left open


def test_only_the_one_stop_modes_seat_residents_at_booths(site, days):
    booths = {c.id for c in site.counters if c.group == site.booth_group}
    for mode in MODES:
        result, journal = days[mode]
        life = [r for r in result.residents if r.visit != WALK_IN and not r.no_show]
        if mode in ONE_STOP_MODES:
            assert life and all(r.one_stop for r in life)
            assert result.staffing.booth_staff >= 3 and len(result.staffing.booths) == SMALL.booths
        else:
            assert not any(r.one_stop for r in result.residents)
            assert not any(args.get("counter") in booths for _, args, _ in entries(journal))
        assert not any(r.one_stop for r in result.residents if r.visit == WALK_IN)


@pytest.mark.parametrize("mode", ONE_STOP_MODES)
def test_a_one_stop_move_in_is_called_once_to_a_booth_and_never_to_a_section_counter(site, days, mode):
    result, journal = days[mode]
    routing = {p.id: p.routing for p in mode_site(site, SMALL, mode).procedures}
    booths = set(result.staffing.booths)
    log = entries(journal)
    move_ins = [r for r in result.residents if r.visit == "moving_in" and not r.no_show]
    assert len(move_ins) >= 3
    sections_came = 0
    for r in move_ins:
        (ticket,) = r.ticket_ids
        calls = [(args["counter"], t) for verb, args, t in log if verb == "call_next" and t.get("id") == ticket]
        booth = calls[0][0]
        assert booth in booths  # the first call is to a booth
        for counter, t in calls[1:]:  # then the booth again (front steps newly ready), or a delivery handed over
            serving = [s for s in t["itinerary"] if s["status"] == "serving"]
            assert counter == booth or all(s["kind"] == "pickup" for s in serving), (counter, serving)
        kinds = [s.kind for s in result.visits.visits[ticket].services]
        assert kinds.count("booth") == 1 and "counter" not in kinds  # the board called it once
        # every step routed to the booth was served there by its section's staff, who came (take_request)
        taken = [t for verb, _, t in log if verb == "take_request" and t.get("id") == ticket]
        assert all(t["booth"] == booth for t in taken)
        served = {s["procedure"] for t in taken for s in t["itinerary"] if s["status"] == "serving"}
        assert served == {p for p in r.procedures if routing[p] == "booth"}
        sections_came += len(taken)
    assert sections_came > 0
    # the same residents in (b): their move-ins went to the section counters instead
    _, other = days["one_ticket"]
    assert any(verb == "call_next" and args["counter"] in ("c01", "c02") for verb, args, _ in entries(other))


def test_payments_are_closed_at_the_register_and_never_called(site, days):
    register = {p.id for p in site.procedures if p.routing == "register"}
    for mode in MODES:
        result, journal = days[mode]
        log = entries(journal)
        payers = [r for r in result.residents if set(r.procedures) & register and not r.no_show]
        assert payers, "the draw has payments"
        paid = [t for verb, _, t in log if verb == "ticket_paid"]
        assert len(paid) == len(payers) and all(t["status"] == "done" for t in paid)
        called = [s for verb, _, t in log if verb in ("call_next", "take_request") for s in t.get("itinerary", [])]
        assert not any(s["status"] == "serving" and s["mode"] == "register" for s in called)
        only_paying = [r for r in payers if r.staffed == 0]
        assert all(r.stay_min == pytest.approx(r.pay_min) and r.wait_min == 0 for r in only_paying)
        assert len(result.visits.payments) == len(payers)  # the register also recorded them (KPI pages)


def test_a_later_delivery_is_marked_ready_and_picked_up_at_its_counter(site, days):
    later = {p.id: p.pickup_group for p in site.procedures if p.delivery == "later"}
    for mode in MODES:
        result, journal = days[mode]
        log = entries(journal)
        due = [r for r in result.residents if set(r.procedures) & set(later) and not r.no_show]
        assert due, "the draw has a later delivery"
        marked = [t for verb, _, t in log if verb == "mark_ready"]
        assert len(marked) == len(due)
        groups = {c.id: c.groups for c in mode_site(site, SMALL, mode).counters}
        handed = [
            args["counter"]
            for verb, args, t in log
            if verb == "call_next"
            and t
            and any(s["kind"] == "pickup" and s["status"] == "serving" for s in t["itinerary"])
        ]
        assert len(handed) == len(due) and all(set(later.values()) & set(groups[c]) for c in handed)


def test_the_stay_is_waits_plus_services_plus_walks_plus_payment(site, days):
    """Nothing is lost on the way: read back from the journal, a stay is the waits, the drawn minutes, the
    resident's and the staff's walking to them, and the payment (visits with a later delivery aside: they
    wait for the back office in between)."""
    residents = {r.index: r for r in draw_residents(site, SMALL, DAY, SEED)}
    later = {p.id for p in site.procedures if p.delivery == "later"}
    register = {p.id for p in site.procedures if p.routing == "register"}
    for mode in MODES:
        result, journal = days[mode]
        day = read_day(
            journal.day_entries(DAY.isoformat()), {c.id: c.group for c in mode_site(site, SMALL, mode).counters}
        )
        assert len(day.visits) == result.tickets
        assert journal.count(DAY.isoformat()) == result.commands
        checked = 0
        for out in result.served():
            if set(out.procedures) & later:
                continue
            drawn = sum(m for p, m in residents[out.index].minutes.items() if p not in register)
            expected = out.wait_min + drawn + out.walk_min + out.dispatch_walk_min + out.pay_min
            assert out.stay_min == pytest.approx(expected, abs=1e-3), (mode, out)
            checked += 1
        assert checked > 20


def test_walking_is_counted_as_staff_time_and_in_the_stay(site, tmp_path):
    """One move-in joining 国保, alone in the office: the booth serves 転入届, 国保's staff come from 2F (1 min
    + 1.5 min per floor each way); with a ticket per counter the resident climbs to 2F instead."""
    answers = {q.id: q.id == "kokuho" for q in site.questions_for("moving_in")}
    assert site.procedures_for("moving_in", answers) == ["tennyu", "kokuho_kanyu"]
    alone = Resident(
        index=0,
        arrival_min=10.0,
        visit="moving_in",
        procedures=("tennyu", "kokuho_kanyu"),
        minutes={"tennyu": 15.0, "kokuho_kanyu": 12.0},
        no_show=False,
        priority=False,
        lang="ja",
        forms=False,
        cashless=False,
        answers=answers,
    )
    config = OfficeDayConfig(resident_approach_min=0.5, walk_same_floor_min=1.0, walk_per_floor_min=1.5)
    stays = {}
    for mode in MODES:
        result = simulate_day(
            site, Journal(tmp_path / f"{mode}.sqlite", durable=False), DAY, config, mode, residents=[alone]
        )
        (out,) = result.residents
        stays[mode] = out.stay_min
        staff_walk = sum(s.walk_min for s in result.staff)
        busy = sum(s.busy_min for s in result.staff)
        if mode in ONE_STOP_MODES:
            assert out.walk_min == 0.5  # to the booth, on the entrance floor
            assert out.dispatch_walk_min == 2.5  # 21番 or 25番 (2F) to the booth (1F)
            assert staff_walk == 5.0  # there and back
            assert busy == pytest.approx(0.5 + 15 + 5.0 + 12)  # the walk is staff time
        else:
            assert out.walk_min == 0.5 + (0.5 + 1.5)  # up to 2F, straight after 転入届
            assert staff_walk == 0 and busy == pytest.approx(0.5 + 15 + 2.0 + 12)
    assert stays["ticket_per_counter"] == stays["one_ticket"] == pytest.approx(0.5 + 15 + 2.0 + 12)
    assert stays["one_stop"] == stays["one_stop_proxy"] == pytest.approx(0.5 + 15 + 2.5 + 12)


def test_the_one_stop_sites_are_validated_copies(site):
    proxy = mode_site(site, SMALL, "one_stop_proxy")
    classic = mode_site(site, SMALL, "one_ticket")
    assert not any(e.one_stop for e in classic.life_events), "one ticket: life events recorded, counters serve"
    assert not classic.is_one_stop(["tennyu", "kokuho_kanyu"], "moving_in")
    assert {p.id for p in proxy.procedures if p.routing == "front"} >= set(SMALL.proxy_procedures)
    assert site.procedure_by_id["mynumber_card"].routing == "booth"  # the site itself is untouched
    seats = [c for c in proxy.counters if c.group == proxy.booth_group]
    assert len(seats) == SMALL.booths and {c.floor for c in seats} == {1}
    assert len([c for c in site.counters if c.group == site.booth_group]) == 4
    with pytest.raises(ValueError, match="nobody serves"):
        OfficeDayConfig(booth_staff_from=("c01", "c02", "c03", "c05", "c21", "c22", "c25")).staffing(
            mode_site(site, OfficeDayConfig(), "one_stop"), "one_stop"
        )


def test_an_office_that_cannot_finish_its_day_says_it_is_overloaded(site, tmp_path):
    """Two booth seats for a busy afternoon of move-ins: the day would run past midnight."""
    crowded = dataclasses.replace(
        SMALL, visitors_per_day=400, life_event_share=0.9, booths=1, booth_staff_from=("c01",), counters_scale=1.0
    )
    with pytest.raises(RuntimeError, match="overloaded: .* still in the office at 23:59"):
        simulate_day(site, Journal(tmp_path / "crowded.sqlite", durable=False), DAY, crowded, "one_stop", SEED)


def test_estimate_errors_for_the_project_and_the_naive_estimates(days):
    result, _ = days["one_ticket"]
    errors = estimate_errors([result])
    called = sum(r.first_wait_min is not None and r.est_wait_min is not None for r in result.residents)
    assert set(errors) == {"project", "naive", "naive_per_counter"}
    assert errors["project"].n == called and called > 30
    for err in errors.values():
        assert math.isfinite(err.mae) and err.p90 >= 0
    assert errors["project"].mae <= errors["naive"].mae
    staffed = [r for r in result.residents if r.staffed]
    assert all(r.est_wait_min is not None and r.ahead is not None for r in staffed)


def test_same_seed_same_day_other_seed_other_day(site, days, tmp_path):
    again = simulate_day(site, Journal(tmp_path / "again.sqlite", durable=False), DAY, SMALL, "one_stop", SEED)
    first, _ = days["one_stop"]
    assert [dataclasses.astuple(r) for r in again.residents] == [dataclasses.astuple(r) for r in first.residents]
    other = simulate_day(site, Journal(tmp_path / "other.sqlite", durable=False), DAY, SMALL, "one_ticket", SEED + 1)
    assert [r.arrival for r in other.residents] != [r.arrival for r in first.residents]


def test_write_history_fills_office_days_and_carries_service_times_over(site, tmp_path):
    path = tmp_path / "history.sqlite"
    days = [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 23)]  # Fri, Sat (closed), Mon
    results = write_history(site, path, days, SMALL, seed=3)
    assert [r.day for r in results] == [date(2026, 11, 20), date(2026, 11, 23)]
    assert write_history(site, path, days, SMALL, seed=3) == []  # already there: skipped
    journal = Journal(path)
    try:
        assert journal.days() == ["2026-11-20", "2026-11-23"]
        assert journal.samples_before("2026-11-23", 20)  # Monday's estimates start from Friday's times
        with pytest.raises(ValueError, match="already holds"):
            simulate_day(site, journal, date(2026, 11, 23), SMALL)
    finally:
        journal.close()


def test_a_day_stopped_at_noon_leaves_a_live_queue(site, tmp_path):
    journal = Journal(tmp_path / "live.sqlite", durable=False)
    busy = dataclasses.replace(SMALL, visitors_per_day=120)
    result = simulate_day(site, journal, DAY, busy, until=time(11, 0))
    assert result.residents and all(r.arrival.time() < time(11, 0) for r in result.residents)
    unfinished = [r for r in result.residents if r.stay_min is None and not r.no_show]
    assert unfinished, "at 11:00 someone is still waiting or being served"
    assert result.last_service is not None and result.last_service.time() <= time(11, 0)
    journal.close()


def test_bench_prints_every_table_and_checks_the_goal(site):
    from bench.office_day import report, run

    bench = run(days=1, seed=2, config=SMALL)
    text = report(bench)
    for heading in ("Configuration", "Load and staff", "The issue's measures", "By kind of visit", "One-stop visits"):
        assert heading in text
    assert "| move-ins (moving_in) |" in text and "| single procedure |" in text and "| staff walking |" in text
    assert text.count("(goal ≤ 0.6)") == 2
    assert "jumin 2, mynumber 1" in text  # the configuration it ran with
    walked = [statistics.fmean(d.walk_min() for d in bench.results[m]) for m in MODES]
    assert walked[:2] == [0, 0] and all(w > 0 for w in walked[2:])  # only the sections walk to booths


def test_every_mode_records_the_life_event_for_the_kpis(days):
    """The reception travels with the ticket in every way of working; only one-stop seats it at a booth."""
    for mode, (result, _) in days.items():
        events = {v.life_event for v in result.visits.visits.values()} - {None}
        assert events, f"{mode}: no ticket carried its life event"
