"""The simulated office day: one ticket for the visit against a ticket per counter (``python -m bench.office_day``).

A discrete-event simulation (SimPy, :mod:`devkit.office_simulation`) of ``--days`` weekdays of the example
ward office drives the REAL queue service core (validation, engine, journal, with the simulation's clock),
twice per day on the same residents (arrivals, visits, service times, no-shows drawn up front from the seed):

* **(a) one ticket**: one ``issue`` with every procedure of the visit; the ticket waits in every counter
  group's queue at once (this project);
* **(b) ticket per counter**: a ticket for the first counter group; when it is done, a new ticket for the
  next group (in the site's precedence order), and so on (the baseline).

Waits and stays are read back from each mode's journal (:func:`queue_service.history.read_day`). Four
tables: the configuration, the load per counter group, stay and wait for (a) and (b) with their ratio, and
the error of the wait printed on the ticket against each resident's actual wait until the first call, for
the project's estimate and for the naive "people ahead × mean service time" (and that ÷ open counters).
Each mode keeps its own journal over the days, so the service times the estimate uses are learned from the
previous days, as on a real site.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from devkit.office_simulation import (
    MODES,
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
from queue_service.history import Summary, summarise
from queue_service.service.journal import Journal

SITE = ROOT / "sites" / "example" / "site.toml"
START = date(2026, 11, 2)  # a Monday
LABEL = {"one_ticket": "(a) one ticket", "ticket_per_counter": "(b) ticket per counter"}
SUBSETS = (("all served", 1, 99), ("2+ counter groups", 2, 99), ("1 counter group", 1, 1))


@dataclass
class Bench:
    site: Site
    config: OfficeDayConfig
    seed: int
    days: list[date]
    results: dict[Mode, list[DayResult]]

    def served(self, mode: Mode, min_groups: int = 1, max_groups: int = 99) -> list[ResidentOutcome]:
        return [r for d in self.results[mode] for r in d.served(min_groups, max_groups)]


def office_days(n: int, config: OfficeDayConfig, start: date = START) -> list[date]:
    """The first ``n`` days the office is open, from ``start`` on."""
    out, day = [], start
    while len(out) < n:
        if config.weekday_factor[day.weekday()] > 0:
            out.append(day)
        day += timedelta(days=1)
    return out


def run(days: int = 5, seed: int = 1, config: OfficeDayConfig | None = None, state: Path | None = None) -> Bench:
    site = load_site(SITE)
    config = config or OfficeDayConfig()
    dates = office_days(days, config)
    results: dict[Mode, list[DayResult]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory() as tmp:
        folder = state or Path(tmp)
        journals = {m: Journal(folder / f"{m}.sqlite", durable=False) for m in MODES}
        try:
            for day in dates:
                for mode in MODES:
                    results[mode].append(simulate_day(site, journals[mode], day, config, mode, seed))
        finally:
            for j in journals.values():
                j.close()
    return Bench(site, config, seed, dates, results)


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


def load_table(bench: Bench) -> str:
    """Per counter group: offered load, busy share and calls per day, mean wait per call in each mode."""
    a, b = (bench.results[m] for m in MODES)
    day_min = (
        (bench.config.closes.hour - bench.config.opens.hour) * 60
        + bench.config.closes.minute
        - bench.config.opens.minute
    )
    lines = [
        "| counter group | open counters | offered load | busy (a) | calls/day (a) | calls/day (b) "
        "| wait per call (a) | wait per call (b) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    loads = [bench.config.expected_load(bench.site, d.weekday()) for d in bench.days]
    for g in bench.site.groups:
        counters = a[0].groups[g.id].counters
        offered = sum(load[g.id] for load in loads) / len(loads)
        busy = sum(d.groups[g.id].busy_min for d in a) / (len(a) * max(1, counters) * day_min)
        waits = [summarise(w for d in days for w in d.groups[g.id].waits).mean for days in (a, b)]
        calls = [sum(d.groups[g.id].calls for d in days) / len(days) for days in (a, b)]
        lines.append(
            f"| {g.id} | {counters} | {offered:.0%} | {busy:.0%} | {calls[0]:.0f} | {calls[1]:.0f} "
            f"| {_f(waits[0])} | {_f(waits[1])} |"
        )
    return "\n".join(lines)


def comparison_table(bench: Bench) -> str:
    lines = [
        "| residents | n | minutes | (a) one ticket | (b) ticket per counter | (a)/(b) |",
        "|---|---|---|---|---|---|",
    ]
    for name, lo, hi in SUBSETS:
        a, b = (bench.served(m, lo, hi) for m in MODES)
        for measure in ("stay", "wait"):
            sa: Summary = summarise(getattr(r, f"{measure}_min") for r in a)
            sb: Summary = summarise(getattr(r, f"{measure}_min") for r in b)
            lines.append(
                f"| {name} | {sa.n} | {measure} mean | {_f(sa.mean)} | {_f(sb.mean)} | {_ratio(sa.mean, sb.mean)} |"
            )
            lines.append(
                f"| {name} | {sa.n} | {measure} p90 | {_f(sa.p90)} | {_f(sb.p90)} | {_ratio(sa.p90, sb.p90)} |"
            )
    return "\n".join(lines)


def visits_table(bench: Bench) -> str:
    """Mean stay per kind of visit: where one ticket gains (or loses)."""
    lines = [
        "| visit | n | groups (mean) | stay mean (a) | stay mean (b) | (a)/(b) | wait mean (a) | wait mean (b) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    kinds = [e.id for e in bench.site.life_events] + [f"{WALK_IN} (1 group)", f"{WALK_IN} (2 groups)"]
    for kind in kinds:

        def pick(r: ResidentOutcome, kind: str = kind) -> bool:
            if r.visit == WALK_IN:
                return kind == f"{WALK_IN} ({r.groups} group{'s' if r.groups > 1 else ''})"
            return r.visit == kind

        a, b = ([r for r in bench.served(m) if pick(r)] for m in MODES)
        if not a:
            continue
        stay = [summarise(r.stay_min for r in rs if r.stay_min is not None).mean for rs in (a, b)]
        wait = [summarise(r.wait_min for r in rs).mean for rs in (a, b)]
        groups = sum(r.groups for r in a) / len(a)
        lines.append(
            f"| {kind} | {len(a)} | {groups:.1f} | {_f(stay[0])} | {_f(stay[1])} | {_ratio(stay[0], stay[1])} "
            f"| {_f(wait[0])} | {_f(wait[1])} |"
        )
    return "\n".join(lines)


ESTIMATES = {
    "project": "project: `est_wait_min` on the ticket",
    "naive": "naive: people ahead × mean service",
    "naive_per_counter": "naive ÷ open counters",
}


def estimator_table(bench: Bench) -> str:
    lines = [
        "| tickets | estimate printed at issue | n | MAE min | p90 abs error min | bias min (estimate − actual) |",
        "|---|---|---|---|---|---|",
    ]
    for label, min_ahead in (("all", 0), ("5+ people ahead", 5)):
        for name, err in estimate_errors(bench.results["one_ticket"], min_ahead).items():
            lines.append(
                f"| {label} | {ESTIMATES[name]} | {err.n} | {_f(err.mae)} | {_f(err.p90)} | {_f(err.bias, 1)} |"
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
            f"{LABEL[m]}: {wall:.2f} s per simulated day ({residents:.0f} residents, {tickets:.0f} tickets, "
            f"{commands:.0f} commands); latest service ended {late:%H:%M}"
            if late
            else f"{LABEL[m]}: {wall:.2f} s per simulated day"
        )
    return "\n".join(f"- {p}" for p in parts)


def report(bench: Bench) -> str:
    return "\n\n".join(
        [
            "Configuration\n\n" + config_table(bench),
            "Load per counter group (per day, averaged)\n\n" + load_table(bench),
            "Stay and wait (minutes)\n\n" + comparison_table(bench),
            "By kind of visit\n\n" + visits_table(bench),
            "Estimated wait on the ticket vs actual wait until the first call, (a)\n\n" + estimator_table(bench),
            "Runtime\n\n" + runtime_line(bench),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=20, help="office days to simulate (weekdays from 2026-11-02)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--counters-scale", type=float, default=1.0, help="open counters per group × F (at least 1)")
    parser.add_argument("--visitors", type=float, help="expected visitors on a day of weekday factor 1.0")
    parser.add_argument("--json", type=Path, help="also write the per-resident outcomes here")
    args = parser.parse_args(argv)
    config = OfficeDayConfig(counters_scale=args.counters_scale)
    if args.visitors is not None:
        config = dataclasses.replace(config, visitors_per_day=args.visitors)
    bench = run(args.days, args.seed, config)
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
