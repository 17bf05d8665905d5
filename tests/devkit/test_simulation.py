"""devkit.office_simulation: a small simulated office day through the real queue core, in both modes."""

from __future__ import annotations

import dataclasses
import math
import statistics
from datetime import date, time

import pytest

from devkit.office_simulation import (
    MODES,
    OfficeDayConfig,
    draw_residents,
    estimate_errors,
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
def day_pair(site, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sim")
    out = {}
    for mode in MODES:
        journal = Journal(folder / f"{mode}.sqlite", durable=False)
        out[mode] = (simulate_day(site, journal, DAY, SMALL, mode, SEED), journal)
    yield out
    for _, journal in out.values():
        journal.close()


def test_both_modes_get_the_same_residents(site, day_pair):
    residents = draw_residents(site, SMALL, DAY, SEED)
    assert 40 <= len(residents) <= 85
    assert residents == draw_residents(site, SMALL, DAY, SEED)
    (a, _), (b, _) = day_pair["one_ticket"], day_pair["ticket_per_counter"]
    assert [(r.arrival, r.procedures, r.no_show) for r in a.residents] == [
        (r.arrival, r.procedures, r.no_show) for r in b.residents
    ]
    assert len(a.residents) == len(residents) == a.tickets
    assert b.tickets > a.tickets  # a new ticket at each further counter group
    assert all(r.tickets == 1 for r in a.residents)
    stages = {r.index: len(r.stages(site)) for r in residents}
    assert all(r.tickets == stages[r.index] for r in b.residents if not r.no_show)
    # everybody finished (or left), and staff stayed until the queue was empty
    for result in (a, b):
        assert all((r.stay_min is not None) != r.no_show for r in result.residents)


def test_one_ticket_shortens_the_stay_of_visits_to_several_counter_groups(site, tmp_path):
    """The project's claim, on four small days pooled (one small day is too noisy: ~20 such visits).

    Not asserted, because it is not so: residents with a single errand wait a little LONGER with one
    ticket (the multi-group tickets keep their place from arrival at every counter); see bench/README.md.
    """
    stays: dict[str, list[float]] = {m: [] for m in MODES}
    waits: dict[str, list[float]] = {m: [] for m in MODES}
    for seed in (1, 2, 3, 4):
        for mode in MODES:
            journal = Journal(tmp_path / f"{seed}-{mode}.sqlite", durable=False)
            result = simulate_day(site, journal, DAY, SMALL, mode, seed)
            stays[mode] += [r.stay_min for r in result.served(min_groups=2)]
            waits[mode] += [r.wait_min for r in result.served(min_groups=2)]
            journal.close()
    a, b = stays["one_ticket"], stays["ticket_per_counter"]
    assert len(a) == len(b) > 60
    assert statistics.fmean(a) <= statistics.fmean(b)
    assert statistics.fmean(waits["one_ticket"]) <= statistics.fmean(waits["ticket_per_counter"])


def test_the_journal_reads_back_with_the_drawn_service_times(site, day_pair):
    residents = {r.index: r for r in draw_residents(site, SMALL, DAY, SEED)}
    groups = {c.id: c.group for c in site.counters}
    for mode in MODES:
        result, journal = day_pair[mode]
        day = read_day(journal.day_entries(DAY.isoformat()), groups)
        assert len(day.visits) == result.tickets
        assert journal.count(DAY.isoformat()) == result.commands
        assert sum(v.status == "done" for v in day.visits.values()) == result.tickets - sum(
            r.no_show for r in result.residents
        )
        assert sum(v.no_shows for v in day.visits.values()) == sum(r.no_show for r in result.residents)
    # the counters took exactly the drawn minutes: stay = waits + services, nothing lost on the way
    result, _ = day_pair["one_ticket"]
    for out in result.served():
        drawn = sum(residents[out.index].minutes.values())
        assert out.stay_min == pytest.approx(out.wait_min + drawn, abs=1e-3)


def test_estimate_errors_for_the_project_and_the_naive_estimates(day_pair):
    result, _ = day_pair["one_ticket"]
    errors = estimate_errors([result])
    called = sum(r.first_wait_min is not None for r in result.residents)
    assert set(errors) == {"project", "naive", "naive_per_counter"}
    for err in errors.values():
        assert err.n == called and math.isfinite(err.mae) and err.p90 >= 0
    assert errors["project"].mae <= errors["naive"].mae
    assert all(r.est_wait_min is not None and r.ahead is not None for r in result.residents)


def test_same_seed_same_day_other_seed_other_day(site, day_pair, tmp_path):
    again = simulate_day(site, Journal(tmp_path / "again.sqlite", durable=False), DAY, SMALL, "one_ticket", SEED)
    first, _ = day_pair["one_ticket"]
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


def test_bench_prints_every_table(site):
    from bench.office_day import report, run

    bench = run(days=1, seed=2, config=SMALL)
    text = report(bench)
    for heading in ("Configuration", "Load per counter group", "Stay and wait", "By kind of visit", "Runtime"):
        assert heading in text
    assert "| 2+ counter groups |" in text and "| all | project: `est_wait_min` on the ticket |" in text
    assert "jumin 2, mynumber 1" in text  # the configuration it ran with
