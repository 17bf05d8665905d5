"""The simulated office day: four ways of working on the same residents and staff (``python -m bench.office_day``).

A discrete-event simulation (SimPy, :mod:`devkit.office_simulation`) of ``--days`` weekdays of the example
ward office drives the REAL queue service core (validation, engine, journal, with the simulation's clock),
once per way of working and day, on the same residents (arrivals, visits, answers, service times, no-shows
drawn up front from the seed) and the same number of staff:

* **(a) ticket per counter**: a ticket for the first counter group; when it is done, a new ticket for the
  next group (in the site's precedence order), and so on (the baseline);
* **(b) one ticket**: one ``issue`` with every procedure of the visit; the ticket waits in every counter
  group's queue at once (this project before issue 17);
* **(c) one-stop booths**: a life-event visit is called once, to a booth; the booth staff do the steps routed
  ``front``, the sections' staff come for the others (``take_request``, walking there and back);
* **(d) one-stop + proxy**: as (c), the booth staff also doing the sections' simple steps.

Waits and stays are read back from each mode's journal (:func:`queue_service.history.read_day`). Tables: the
configuration, the load and staff utilisation per counter group, the issue's measures (move-ins from outside
the ward, all life events, single-procedure residents; staff utilisation and walking) with the goal checked,
stay by kind of visit, where a one-stop visit's time goes, and the error of the wait printed on the ticket.
``--variants`` adds the sensitivity table (booth seats, booth staff, travel, proxy scope): each variant runs on
the same days and is compared with (a) run under the same settings.
Each mode keeps its own journal over the days, so the service times the estimate uses are learned from the
previous days, as on a real site.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from devkit.office_simulation import (
    LABELS,
    MODES,
    ONE_STOP_MODES,
    WALK_IN,
    DayResult,
    Mode,
    OfficeDayConfig,
    ResidentOutcome,
    config_dict,
    estimate_errors,
    simulate_day,
)
from kiosk.config import load_site
from kiosk.config.site import Site
from madoguchi.local import ROOT
from queue_service.history import summarise
from queue_service.service.journal import Journal

SITE = ROOT / "sites" / "example" / "site.toml"
START = date(2026, 11, 2)  # a Monday
#: The issue's goal for (c) or (d) against (a): life-event stay at most this share, single procedures at most this.
GOAL_LIFE, GOAL_SINGLE = 0.6, 1.05
#: OfficeDayConfig fields that only the one-stop modes use: (a) does not need running again when only they change.
ONE_STOP_FIELDS = frozenset(
    {
        "booth_staff_from",
        "proxy_staff_from",
        "extra_booth_staff",
        "booths",
        "proxy_procedures",
        "proxy_minutes_factor",
        "request_policy",
        "chain_requests",
        "one_stop_min_groups",
    }
)
#: The section steps of the example (every one the booths do not do already): "full proxy" routes them all front.
ALL_SECTION_STEPS = (
    "mynumber_card",
    "kokuho_kanyu",
    "kokuho_soushitsu",
    "kokuho_henko",
    "sousai",
    "nenkin_kanyu",
    "nenkin_shibou",
    "jidou_teate",
    "jidou_teate_henko",
    "kodomo_iryo",
    "kaigo_shikaku",
    "kaigo_soushitsu",
)
JOINING = ("kokuho_kanyu", "nenkin_kanyu", "jidou_teate", "kodomo_iryo")


@dataclass(frozen=True)
class Variant:
    """A way of working with other settings, for the sensitivity table."""

    label: str
    mode: Mode
    changes: dict[str, Any] = field(default_factory=dict)


def variants(config: OfficeDayConfig) -> list[Variant]:
    """What the one-stop result depends on: seats, booth staff, travel, what the booths do themselves."""
    c5 = ("c01", "c02", "c03", "c05")
    simple = config.proxy_procedures
    return [
        Variant(
            "(c) as the example ships: 4 booths, 4 booth staff (住民異動 ×3, 戸籍 5番)",
            "one_stop",
            {"booth_staff_from": c5, "booths": 4},
        ),
        Variant("(c) 4 booth staff, 8 seats", "one_stop", {"booth_staff_from": c5, "booths": 8}),
        Variant("(c) 8 seats", "one_stop", {"booths": 8}),
        Variant("(c) 16 seats", "one_stop", {"booths": 16}),
        Variant(
            "(c) sections take requests only when their queue is empty", "one_stop", {"request_policy": "queue_first"}
        ),
        Variant("(c) staff walk back to their counter after every request", "one_stop", {"chain_requests": False}),
        Variant("(c) walking 3 min per floor", "one_stop", {"walk_per_floor_min": 3.0}),
        Variant("(c) + 1 booth staff (16 staff)", "one_stop", {"extra_booth_staff": 1}),
        Variant("(d) 8 seats", "one_stop_proxy", {"booths": 8}),
        Variant("(d) 16 seats", "one_stop_proxy", {"booths": 16}),
        Variant("(d) proxied steps take the booth staff 25% longer", "one_stop_proxy", {"proxy_minutes_factor": 1.25}),
        Variant("(d) + 1 booth staff (16 staff)", "one_stop_proxy", {"extra_booth_staff": 1}),
        Variant("(d) + 2 booth staff (17 staff)", "one_stop_proxy", {"extra_booth_staff": 2}),
        Variant(
            "(d) + joining steps front (国保/年金 加入, 児童手当, こども医療); 21番, 24番 to the booths (8)",
            "one_stop_proxy",
            {"proxy_procedures": simple + JOINING, "booth_staff_from": (*config.booth_staff_from, "c21", "c24")},
        ),
        Variant(
            "(d) full proxy: every section step front; 21–25番, 31番 to the booths (11)",
            "one_stop_proxy",
            {
                "proxy_procedures": ALL_SECTION_STEPS,
                "booth_staff_from": (*c5, "c21", "c22", "c23", "c24", "c25", "c31"),
                "booths": 14,
            },
        ),
        Variant(
            "(d) full proxy, proxied steps 25% longer",
            "one_stop_proxy",
            {
                "proxy_procedures": ALL_SECTION_STEPS,
                "booth_staff_from": (*c5, "c21", "c22", "c23", "c24", "c25", "c31"),
                "booths": 14,
                "proxy_minutes_factor": 1.25,
            },
        ),
        Variant("(a) residents do not walk between floors", "ticket_per_counter", {"resident_walks": False}),
        Variant("(d) residents do not walk between floors", "one_stop_proxy", {"resident_walks": False}),
    ]


@dataclass
class Bench:
    site: Site
    config: OfficeDayConfig
    seed: int
    days: list[date]
    results: dict[Mode, list[DayResult]]
    #: the sensitivity table's runs: (variant, its days or the error that stopped it, (a) under its settings)
    variants: list[tuple[Variant, list[DayResult] | str, list[DayResult]]] = field(default_factory=list)

    def residents(self, mode: Mode, pick: Callable[[ResidentOutcome], bool] = lambda r: True) -> list[ResidentOutcome]:
        return residents(self.results[mode], pick)


def residents(days: list[DayResult], pick: Callable[[ResidentOutcome], bool]) -> list[ResidentOutcome]:
    """The residents of ``days`` who finished their visit and match ``pick``."""
    return [r for d in days for r in d.residents if r.stay_min is not None and pick(r)]


#: The issue's measures: move-ins from outside the ward (Kumamoto's), all life events, single procedures.
MEASURES: tuple[tuple[str, Callable[[ResidentOutcome], bool]], ...] = (
    ("move-ins (moving_in)", lambda r: r.visit == "moving_in"),
    ("all life events", lambda r: r.visit != WALK_IN),
    ("single procedure", lambda r: r.visit == WALK_IN and r.staffed == 1),
)


def office_days(n: int, config: OfficeDayConfig, start: date = START) -> list[date]:
    """The first ``n`` days the office is open, from ``start`` on."""
    out: list[date] = []
    day = start
    while len(out) < n:
        if config.weekday_factor[day.weekday()] > 0:
            out.append(day)
        day += timedelta(days=1)
    return out


def simulate(
    site: Site, config: OfficeDayConfig, mode: Mode, dates: list[date], seed: int, folder: Path
) -> list[DayResult]:
    """``mode`` over ``dates`` in one journal (service times learned from the days before)."""
    journal = Journal(folder / f"{mode}-{len(list(folder.iterdir()))}.sqlite", durable=False)
    try:
        return [simulate_day(site, journal, day, config, mode, seed) for day in dates]
    finally:
        journal.close()


def run(
    days: int = 5,
    seed: int = 1,
    config: OfficeDayConfig | None = None,
    state: Path | None = None,
    with_variants: bool = False,
) -> Bench:
    site = load_site(SITE)
    config = config or OfficeDayConfig()
    dates = office_days(days, config)
    with tempfile.TemporaryDirectory() as tmp:
        folder = state or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results = {m: simulate(site, config, m, dates, seed, folder) for m in MODES}
        bench = Bench(site, config, seed, dates, results)
        if with_variants:
            baselines = {_baseline_key(config): results["ticket_per_counter"]}
            for v in variants(config):
                changed = dataclasses.replace(config, **v.changes)
                key = _baseline_key(changed)
                if key not in baselines:
                    baselines[key] = simulate(site, changed, "ticket_per_counter", dates, seed, folder)
                try:
                    runs: list[DayResult] | str = simulate(site, changed, v.mode, dates, seed, folder)
                except RuntimeError as exc:
                    runs = str(exc).split(" (")[0]
                bench.variants.append((v, runs, baselines[key]))
    return bench


def _baseline_key(config: OfficeDayConfig) -> str:
    """The settings (a) runs with (a config holds dicts: not hashable, its repr is)."""
    defaults = OfficeDayConfig()
    return repr(dataclasses.replace(config, **{f: getattr(defaults, f) for f in ONE_STOP_FIELDS}))


def _f(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or not b else f"{a / b:.2f}"


def config_table(bench: Bench) -> str:
    lines = ["| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in bench.config.rows(bench.site)]
    first, last = bench.days[0], bench.days[-1]
    lines.append(f"| days, seed | {len(bench.days)} office days {first}…{last}, seed {bench.seed} |")
    return "\n".join(lines)


def utilisation(days: list[DayResult]) -> float:
    """Staff busy minutes (serving, waiting for residents to walk up or not show, walking) / minutes on duty."""
    return sum(d.busy_min() for d in days) / sum(d.on_duty_min() for d in days)


def load_table(bench: Bench) -> str:
    """Per counter group: offered load in (a) and (b), staff per mode, and their utilisation (walking included)."""
    loads = [bench.config.expected_load(bench.site, d.weekday()) for d in bench.days]
    groups = [g.id for g in bench.site.groups if any(g.id in d[0].groups for d in bench.results.values())]
    header = " | ".join(f"staff, busy {LABELS[m].split()[0]}" for m in MODES)
    lines = [f"| counter group | offered load (a) | {header} |", "|---|---|" + "---|" * len(MODES)]
    for g in groups:
        offered = sum(load.get(g, 0.0) for load in loads) / len(loads) if g in loads[0] else None
        cells = []
        for m in MODES:
            staff = [s for d in bench.results[m] for s in d.staff if s.group == g]
            if not staff:
                cells.append("–")
                continue
            per_day = len(staff) / len(bench.results[m])
            busy = sum(s.busy_min for s in staff)
            duty = sum(max(s.last_end_min, _day_min(bench.config)) for s in staff)
            cells.append(f"{per_day:.0f}, {busy / duty:.0%}")
        lines.append(f"| {g} | {'–' if offered is None else f'{offered:.0%}'} | {' | '.join(cells)} |")
    return "\n".join(lines)


def _day_min(config: OfficeDayConfig) -> float:
    return (config.closes.hour - config.opens.hour) * 60 + config.closes.minute - config.opens.minute


def goal_table(bench: Bench) -> str:
    """The issue's measures per way of working, with (c) and (d) against (a)."""
    heads = " | ".join(LABELS[m] for m in MODES)
    ratios = " | ".join(f"{LABELS[m].split()[0]}/(a)" for m in ONE_STOP_MODES)
    lines = [f"| residents | n | minutes | {heads} | {ratios} |", "|---|---|---|" + "---|" * (len(MODES) + 2)]
    for name, pick in MEASURES:
        stays = {m: summarise(r.stay_min for r in bench.residents(m, pick) if r.stay_min is not None) for m in MODES}
        n = stays["ticket_per_counter"].n
        for stat in ("mean", "p90"):
            values = [getattr(stays[m], stat) for m in MODES]
            rel = [_ratio(getattr(stays[m], stat), getattr(stays["ticket_per_counter"], stat)) for m in ONE_STOP_MODES]
            lines.append(f"| {name} | {n} | stay {stat} | {' | '.join(_f(v) for v in values)} | {' | '.join(rel)} |")
    util = [f"{utilisation(bench.results[m]):.0%}" for m in MODES]
    walk = [f"{statistics.fmean(d.walk_min() for d in bench.results[m]):.0f}" for m in MODES]
    staff = [f"{bench.results[m][0].staffing.staff}" for m in MODES]
    lines.append(f"| staff | | per day | {' | '.join(staff)} | | |")
    lines.append(f"| staff utilisation | | busy (walking incl.) / on duty | {' | '.join(util)} | | |")
    lines.append(f"| staff walking | | minutes per day | {' | '.join(walk)} | | |")
    return "\n".join(lines)


def goal_lines(bench: Bench) -> str:
    """Whether (c) or (d) meets the issue's goal: life events ≤ 0.6× (a), single procedures ≤ 1.05× (a)."""
    out = []
    for m in ONE_STOP_MODES:
        life, single = (_mean_ratio(bench.results[m], bench.results["ticket_per_counter"], p) for _, p in MEASURES[1:])
        met = life <= GOAL_LIFE and single <= GOAL_SINGLE
        out.append(
            f"- {LABELS[m]}: life-event stay {life:.2f}× (a) (goal ≤ {GOAL_LIFE}), single procedure {single:.2f}× (a) "
            f"(goal ≤ {GOAL_SINGLE}): {'met' if met else 'NOT met'}"
        )
    return "\n".join(out)


def _mean_ratio(days: list[DayResult], base: list[DayResult], pick: Callable[[ResidentOutcome], bool]) -> float:
    a = [r.stay_min for r in residents(days, pick) if r.stay_min is not None]
    b = [r.stay_min for r in residents(base, pick) if r.stay_min is not None]
    return statistics.fmean(a) / statistics.fmean(b)


def visits_table(bench: Bench) -> str:
    """Mean stay per kind of visit and way of working."""
    heads = " | ".join(LABELS[m] for m in MODES)
    lines = [f"| visit | n | groups (mean) | {heads} |", "|---|---|---|" + "---|" * len(MODES)]
    kinds = [e.id for e in bench.site.life_events] + [f"{WALK_IN} (1 group)", f"{WALK_IN} (2 groups)"]
    for kind in kinds:

        def pick(r: ResidentOutcome, kind: str = kind) -> bool:
            if r.visit == WALK_IN:
                return kind == f"{WALK_IN} ({r.groups} group{'s' if r.groups > 1 else ''})"
            return r.visit == kind

        base = bench.residents("ticket_per_counter", pick)
        if not base:
            continue
        stays = [
            _f(summarise(r.stay_min for r in bench.residents(m, pick) if r.stay_min is not None).mean) for m in MODES
        ]
        groups = sum(r.groups for r in base) / len(base)
        lines.append(f"| {kind} | {len(base)} | {groups:.1f} | {' | '.join(stays)} |")
    return "\n".join(lines)


def one_stop_table(bench: Bench) -> str:
    """Where a one-stop visit's time goes: waiting for a seat, for the sections at the seat, walking."""
    lines = [
        "| mode | seated visits/day | wait for a seat | seat held | section visits/day | wait at the seat per visit "
        "| staff walk per visit | counter calls after the booth/day |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in ONE_STOP_MODES:
        days = bench.results[m]
        visits = [v for d in days for v in d.visits.visits.values() if v.one_stop]
        services = [s for v in visits for s in v.services]
        seat_wait = [s.wait_min for s in services if s.kind == "booth"]
        held = [(v.unseated_at - v.seated_at).total_seconds() / 60 for v in visits if v.seated_at and v.unseated_at]
        requests = [s for s in services if s.kind == "request"]
        at_seat = sum(s.wait_min for s in requests) / max(1, len(visits))
        after = sum(1 for s in services if s.kind in ("counter", "pickup"))
        walk = sum(d.walk_min() for d in days) / 2 / max(1, len(requests))
        lines.append(
            f"| {LABELS[m]} | {len(visits) / len(days):.0f} | {_f(summarise(seat_wait).mean)} "
            f"| {_f(summarise(held).mean)} | {len(requests) / len(days):.0f} | {at_seat:.1f} | {walk:.1f} "
            f"| {after / len(days):.0f} |"
        )
    return "\n".join(lines)


def variants_table(bench: Bench) -> str:
    lines = [
        "| variant | staff | move-in stay mean | life-event stay mean | single stay mean | life /(a) | single /(a) "
        "| utilisation | walking min/day |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for v, runs, base in bench.variants:
        if isinstance(runs, str):
            lines.append(f"| {v.label} | | {runs} | | | | | | |")
            continue
        means = [summarise(r.stay_min for r in residents(runs, p) if r.stay_min is not None).mean for _, p in MEASURES]
        life, single = (_mean_ratio(runs, base, p) for _, p in MEASURES[1:])
        walk = statistics.fmean(d.walk_min() for d in runs)
        lines.append(
            f"| {v.label} | {runs[0].staffing.staff} | {' | '.join(_f(x) for x in means)} | {life:.2f} | {single:.2f} "
            f"| {utilisation(runs):.0%} | {walk:.0f} |"
        )
    return "\n".join(lines)


ESTIMATES = {
    "project": "project: `est_wait_min` on the ticket",
    "naive": "naive: people ahead × mean service",
    "naive_per_counter": "naive ÷ open counters",
}


def estimator_table(bench: Bench) -> str:
    lines = [
        "| mode | tickets | estimate printed at issue | n | MAE min | p90 abs error min "
        "| bias min (estimate − actual) |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in ("one_ticket", "one_stop_proxy"):
        for label, min_ahead in (("all", 0), ("5+ people ahead", 5)):
            for name, err in estimate_errors(bench.results[mode], min_ahead).items():
                if mode != "one_ticket" and name != "project":
                    continue  # a one-stop ticket waits for a booth: "people ahead at its first section" is moot
                lines.append(
                    f"| {LABELS[mode].split()[0]} | {label} | {ESTIMATES[name]} | {err.n} | {_f(err.mae)} "
                    f"| {_f(err.p90)} | {_f(err.bias, 1)} |"
                )
    return "\n".join(lines)


def runtime_line(bench: Bench) -> str:
    parts = []
    for m in MODES:
        days = bench.results[m]
        wall = sum(d.wall_s for d in days) / len(days)
        residents = sum(len(d.residents) for d in days) / len(days)
        commands = sum(d.commands for d in days) / len(days)
        tickets = sum(d.tickets for d in days) / len(days)
        late = max((d.last_service for d in days if d.last_service), default=None)
        parts.append(
            f"{LABELS[m]}: {wall:.2f} s per simulated day ({residents:.0f} residents, {tickets:.0f} tickets, "
            f"{commands:.0f} commands); latest service ended {late:%H:%M}"
            if late
            else f"{LABELS[m]}: {wall:.2f} s per simulated day"
        )
    return "\n".join(f"- {p}" for p in parts)


def report(bench: Bench) -> str:
    parts = [
        "Configuration\n\n" + config_table(bench),
        "Load and staff per counter group (staff per day, utilisation with walking)\n\n" + load_table(bench),
        "The issue's measures: stay (minutes)\n\n" + goal_table(bench) + "\n\n" + goal_lines(bench),
        "By kind of visit: stay mean (minutes)\n\n" + visits_table(bench),
        "One-stop visits: where the time goes (minutes)\n\n" + one_stop_table(bench),
        "Estimated wait on the ticket vs actual wait until the first call, (b) and (d)\n\n" + estimator_table(bench),
    ]
    if bench.variants:
        parts.append("Variants (each against (a) under the same settings)\n\n" + variants_table(bench))
    parts.append("Runtime\n\n" + runtime_line(bench))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20, help="office days to simulate (weekdays from 2026-11-02)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--counters-scale", type=float, default=1.0, help="open counters per group × F (at least 1)")
    parser.add_argument("--visitors", type=float, help="expected visitors on a day of weekday factor 1.0")
    parser.add_argument("--booths", type=int, help="booth seats in (c) and (d)")
    parser.add_argument("--variants", action="store_true", help="also the sensitivity table (slower)")
    parser.add_argument("--json", type=Path, help="also write the per-resident outcomes here")
    args = parser.parse_args(argv)
    config = OfficeDayConfig(counters_scale=args.counters_scale)
    if args.visitors is not None:
        config = dataclasses.replace(config, visitors_per_day=args.visitors)
    if args.booths is not None:
        config = dataclasses.replace(config, booths=args.booths)
    bench = run(args.days, args.seed, config, with_variants=args.variants)
    print(report(bench))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {
            "config": config_dict(config),
            "seed": args.seed,
            "days": {
                m: [
                    {"day": d.day.isoformat(), "residents": [dataclasses.asdict(r) for r in d.residents]}
                    for d in bench.results[m]
                ]
                for m in MODES
            },
        }
        args.json.write_text(json.dumps(data, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
