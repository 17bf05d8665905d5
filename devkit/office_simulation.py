"""The simulated office day: a discrete-event simulation (SimPy) that drives the REAL queue service core.

Residents arrive through the day (Poisson arrivals at a rate that varies by the hour: a morning
peak and a smaller one after lunch), each with a life event and its yes/no answers (the kiosk's
``Site.procedures_for``) or a single errand (a certificate, a payment). Every command goes through
:class:`~queue_service.service.direct.DirectClient` into a :class:`~queue_service.service.core.QueueCore`
whose clock is the simulation's: the same validation, engine and journal as over MQTT. Results are
read back from the journal with :func:`queue_service.history.read_day`, not kept on the side.

Two ways of queuing, on the SAME residents (arrivals, visits, service times and no-shows are all
drawn up front from the seed and the day):

* ``one_ticket`` (this project): one ``issue`` with every procedure of the visit; the ticket holds a
  place in every counter group's queue at once, and the engine skips it while it is served elsewhere.
* ``ticket_per_counter`` (the baseline): a ticket for the first counter group only; when it is done the
  resident takes a NEW ticket for the next group (groups in the order of the site's precedence), and so on.

Staff call the next ticket as soon as their counter is free; an idle counter waits until a ticket may
have become callable at its group (one was issued, or released elsewhere) and calls again. A no-show
resident has left before their first call: staff wait ``no_show_wait_min`` and press no-show.
The day runs until every resident is done (staff finish the queue after closing time), unless
``until`` stops it mid-day (the demo's "live" day).
For the KPI pages, half the residents print their forms at the form issuer first (``record_forms``)
and a payment at the 納付 counter is recorded by the register (``record_payment``); neither touches the queue.

Definitions of wait and stay are :mod:`queue_service.history`'s. The ticket's estimate is the
``est_wait_min`` of the ``issue`` reply (the engine's ``ticket_wait``: minutes until the ticket is first
callable somewhere). The naive estimates, computed at the same moment for comparison:

* ``naive``: people waiting at the group of the visit's first step (the board's ``waiting`` count of
  that group just before the issue) × the mean of the site's typical minutes of that group's procedures;
* ``naive_per_counter``: the same divided by the group's open counters.
"""

from __future__ import annotations

import math
import random
import statistics
import time as wallclock
from collections.abc import Generator, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal

import simpy

from kiosk.config.site import Site
from queue_service.engine.ordering import order_by_precedence
from queue_service.history import Day, Summary, Visit, read_day, summarise
from queue_service.service.core import Outbound, QueueCore
from queue_service.service.direct import DirectClient
from queue_service.service.journal import Journal

Mode = Literal["one_ticket", "ticket_per_counter"]
MODES: tuple[Mode, ...] = ("one_ticket", "ticket_per_counter")
WALK_IN = "walk_in"

KIOSK = "kiosk-1f"
PANEL = "panel-demo"  # may operate any counter
FORMS = "forms-1f"
REGISTER = "register-1f"


@dataclass(frozen=True)
class OfficeDayConfig:
    """The model of a ward office day; defaults fit the example site (さくら区役所)."""

    opens: time = time(8, 30)
    closes: time = time(17, 15)
    last_arrival: time = time(16, 45)
    #: Expected arrivals on a day of weekday factor 1.0.
    visitors_per_day: float = 320
    #: Relative arrival rate from each time on (until the next one, or ``last_arrival``).
    hourly_rate: tuple[tuple[time, float], ...] = (
        (time(8, 30), 1.0),
        (time(9, 0), 1.6),
        (time(10, 0), 1.5),
        (time(11, 0), 1.0),
        (time(12, 0), 0.6),
        (time(13, 0), 1.2),
        (time(14, 0), 0.9),
        (time(15, 0), 0.7),
        (time(16, 0), 0.5),
    )
    #: Monday .. Sunday; 0 = closed. Mondays and Fridays are busier.
    weekday_factor: tuple[float, ...] = (1.2, 1.0, 0.95, 0.95, 1.05, 0.0, 0.0)
    #: Share of residents who come for a life event (the rest come for one errand).
    life_event_share: float = 0.35
    life_events: dict[str, float] = field(
        default_factory=lambda: {
            "moving_in": 0.32,
            "moving_out": 0.25,
            "moving_within": 0.20,
            "birth": 0.08,
            "death": 0.07,
            "marriage": 0.08,
        }
    )
    #: Probability of "yes" to each of the kiosk's questions.
    answers: dict[str, float] = field(
        default_factory=lambda: {
            "children": 0.25,
            "over_65": 0.20,
            "kokuho": 0.30,
            "pension_type1": 0.20,
            "mynumber_card": 0.70,
            "seal": 0.20,
        }
    )
    #: Errands without a life event (procedures of one visit, comma-separated) and their weights.
    walk_ins: dict[str, float] = field(
        default_factory=lambda: {
            "juminhyo": 0.34,
            "inkan_shomei": 0.14,
            "koseki_shomei": 0.14,
            "shotoku_shomei": 0.12,
            "nozei_shomei": 0.05,
            "juminhyo,shotoku_shomei": 0.06,
            "nofu": 0.10,
            "juminhyo,nofu": 0.05,
        }
    )
    #: Service minutes per procedure: lognormal with mean = typical minutes × scale, this CV.
    service_cv: float = 0.5
    service_scale: float = 1.0
    #: Open counters per group (default: every counter of the site), then scaled (rounded, at least 1).
    counters: dict[str, int] = field(default_factory=dict)
    counters_scale: float = 1.0
    no_show_share: float = 0.03
    no_show_wait_min: float = 2.0
    priority_share: float = 0.03
    foreign_share: float = 0.05
    #: Share of residents who print their forms at the form issuer before taking a ticket.
    forms_share: float = 0.5
    #: Share of payments at the register made cashless.
    cashless_share: float = 0.3

    def open_counters(self, site: Site) -> dict[str, list[str]]:
        """The counters open all day, per group."""
        out: dict[str, list[str]] = {}
        for g in site.groups:
            ids = [c.id for c in site.counters if c.group == g.id]
            n = self.counters.get(g.id, len(ids))
            n = min(len(ids), max(1 if ids else 0, round(n * self.counters_scale)))
            out[g.id] = ids[:n]
        return out

    def rows(self, site: Site) -> list[tuple[str, str]]:
        """(setting, value) pairs, for printing with the results."""
        counters = self.open_counters(site)
        profile = ", ".join(f"{t:%H:%M} ×{r:g}" for t, r in self.hourly_rate)
        weekdays = " ".join(f"{d} {f:g}" for d, f in zip("MTWTFSS", self.weekday_factor, strict=False))
        return [
            ("day", f"{self.opens:%H:%M}–{self.closes:%H:%M}, arrivals until {self.last_arrival:%H:%M}"),
            ("arrivals", f"Poisson, {self.visitors_per_day:g}/day × weekday factor ({weekdays})"),
            ("hourly rate (relative)", profile),
            ("life events", f"{self.life_event_share:.0%} of residents: " + _weights(self.life_events)),
            ("answers (share yes)", ", ".join(f"{k} {v:.0%}" for k, v in self.answers.items())),
            ("errands", f"{1 - self.life_event_share:.0%} of residents: " + _weights(self.walk_ins)),
            (
                "service time",
                f"lognormal, mean = site's typical minutes × {self.service_scale:g}, CV {self.service_cv:g}",
            ),
            (
                "open counters",
                ", ".join(f"{g} {len(c)}" for g, c in counters.items()) + f" (scale {self.counters_scale:g})",
            ),
            (
                "no-shows",
                f"{self.no_show_share:.0%}, gone before the first call, no-show after {self.no_show_wait_min:g} min",
            ),
            ("priority tickets", f"{self.priority_share:.0%}"),
            ("staff", "call next as soon as free; idle counters call again when a ticket may have become callable"),
        ]

    def expected_load(self, site: Site, weekday: int = 1) -> dict[str, float]:
        """Offered load per group over the opening hours (expected service minutes / counter minutes)."""
        visitors = self.visitors_per_day * self.weekday_factor[weekday]
        minutes: dict[str, float] = {g.id: 0.0 for g in site.groups}
        typical = {p.id: p.minutes * self.service_scale for p in site.procedures}
        group_of = {p.id: p.group for p in site.procedures}
        events_total = sum(self.life_events.values())
        for event, w in self.life_events.items():
            n = visitors * self.life_event_share * w / events_total
            for ep in site.life_event_by_id[event].procedures:
                share = math.prod(_yes(self.answers.get(c.lstrip("!"), 0.0), c.startswith("!")) for c in ep.when)
                minutes[group_of[ep.id]] += n * share * typical[ep.id]
        walk_total = sum(self.walk_ins.values())
        for errand, w in self.walk_ins.items():
            n = visitors * (1 - self.life_event_share) * w / walk_total
            for p in errand.split(","):
                minutes[group_of[p]] += n * typical[p]
        day_min = _minutes_between(self.opens, self.closes)
        counters = self.open_counters(site)
        return {g: m / (len(counters[g]) * day_min) if counters[g] else math.inf for g, m in minutes.items()}


def _yes(p: float, negated: bool) -> float:
    return 1 - p if negated else p


def _weights(weights: dict[str, float]) -> str:
    total = sum(weights.values()) or 1
    return ", ".join(f"{k} {v / total:.0%}" for k, v in weights.items())


def _minutes_between(a: time, b: time) -> float:
    return (b.hour * 60 + b.minute + b.second / 60) - (a.hour * 60 + a.minute + a.second / 60)


# ---------------------------------------------------------------- residents, drawn up front
@dataclass(frozen=True)
class Resident:
    index: int
    arrival_min: float  # minutes after opening
    visit: str  # the life event's id, or WALK_IN
    procedures: tuple[str, ...]  # in the site's precedence order
    minutes: dict[str, float]  # drawn service minutes per procedure
    no_show: bool
    priority: bool
    lang: str
    forms: bool  # printed their forms at the form issuer first
    cashless: bool

    def stages(self, site: Site) -> list[list[str]]:
        """The baseline's tickets: one per counter group, groups in the order of precedence."""
        group_of = {p.id: p.group for p in site.procedures}
        by_group: dict[str, list[str]] = {}
        for p in self.procedures:
            by_group.setdefault(group_of[p], []).append(p)
        stages = list(by_group.values())
        stage_of = {p: i for i, s in enumerate(stages) for p in s}
        requires = {p.id: p.requires for p in site.procedures}
        if all(stage_of[r] <= stage_of[p] for p in self.procedures for r in requires[p] if r in stage_of):
            return stages
        # a group would come back later: one ticket per consecutive run of the same group
        runs: list[list[str]] = []
        for p in self.procedures:
            if runs and group_of[runs[-1][0]] == group_of[p]:
                runs[-1].append(p)
            else:
                runs.append([p])
        return runs


def day_seed(seed: int, day: date) -> str:
    return f"{seed}/{day.isoformat()}"


def draw_residents(site: Site, config: OfficeDayConfig, day: date, seed: int) -> list[Resident]:
    """Everyone who comes on ``day``: arrivals, visits, service times, no-shows. Same seed and day, same residents."""
    rng = random.Random(day_seed(seed, day))
    factor = config.weekday_factor[day.weekday()]
    if factor <= 0:
        return []
    arrivals = _arrivals(rng, config, config.visitors_per_day * factor)
    requires = {p.id: p.requires for p in site.procedures}
    typical = {p.id: p.minutes for p in site.procedures}
    sigma = math.sqrt(math.log(1 + config.service_cv**2))
    langs = ["en", "zh", "ko", "vi", "pt"]
    events, event_w = list(config.life_events), list(config.life_events.values())
    errands, errand_w = list(config.walk_ins), list(config.walk_ins.values())
    residents = []
    for i, at in enumerate(arrivals):
        if rng.random() < config.life_event_share:
            visit = rng.choices(events, event_w)[0]
            questions = site.questions_for(visit)
            answers = {q.id: rng.random() < config.answers.get(q.id, 0.0) for q in questions}
            procedures = site.procedures_for(visit, answers)
        else:
            visit = WALK_IN
            procedures = rng.choices(errands, errand_w)[0].split(",")
        ordered = tuple(order_by_precedence(procedures, requires))
        minutes = {}
        for p in ordered:
            mean = typical[p] * config.service_scale
            minutes[p] = max(0.5, rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma))
        residents.append(
            Resident(
                index=i,
                arrival_min=at,
                visit=visit,
                procedures=ordered,
                minutes=minutes,
                no_show=rng.random() < config.no_show_share,
                priority=rng.random() < config.priority_share,
                lang=rng.choice(langs) if rng.random() < config.foreign_share else "ja",
                forms=rng.random() < config.forms_share,
                cashless=rng.random() < config.cashless_share,
            )
        )
    return residents


def _arrivals(rng: random.Random, config: OfficeDayConfig, expected: float) -> list[float]:
    """Poisson arrival times (minutes after opening) at a piecewise constant rate."""
    last = _minutes_between(config.opens, config.last_arrival)
    segments = []
    for i, (start, weight) in enumerate(config.hourly_rate):
        a = max(0.0, _minutes_between(config.opens, start))
        b = _minutes_between(config.opens, config.hourly_rate[i + 1][0]) if i + 1 < len(config.hourly_rate) else last
        b = min(b, last)
        if b > a:
            segments.append((a, b, weight))
    area = sum((b - a) * w for a, b, w in segments)
    out: list[float] = []
    for a, b, w in segments:
        rate = expected * w / area  # per minute
        t = a
        while rate > 0:
            t += rng.expovariate(rate)
            if t >= b:
                break
            out.append(t)
    return out


# ---------------------------------------------------------------- results
@dataclass(frozen=True)
class ResidentOutcome:
    index: int
    visit: str
    procedures: tuple[str, ...]
    groups: int  # counter groups the visit needs
    arrival: datetime
    tickets: int
    no_show: bool
    stay_min: float | None  # None: did not finish (no-show, or the day was stopped)
    wait_min: float
    first_wait_min: float | None  # issue to the first call
    est_wait_min: int | None  # printed on the (first) ticket
    ahead: int | None  # the board's waiting count at the first step's group, just before the issue
    naive_min: float | None
    naive_per_counter_min: float | None


@dataclass
class GroupDay:
    counters: int
    calls: int = 0
    busy_min: float = 0.0
    waits: list[float] = field(default_factory=list)


@dataclass
class DayResult:
    day: date
    mode: Mode
    seed: int
    config: OfficeDayConfig
    residents: list[ResidentOutcome]
    groups: dict[str, GroupDay]
    commands: int
    tickets: int
    #: When the last service ended (staff stay until the queue is empty).
    last_service: datetime | None
    wall_s: float
    visits: Day = field(repr=False, default_factory=Day)

    def served(self, min_groups: int = 1, max_groups: int = 99) -> list[ResidentOutcome]:
        return [r for r in self.residents if r.stay_min is not None and min_groups <= r.groups <= max_groups]

    def stay(self, min_groups: int = 1, max_groups: int = 99) -> Summary:
        return summarise(r.stay_min for r in self.served(min_groups, max_groups) if r.stay_min is not None)

    def wait(self, min_groups: int = 1, max_groups: int = 99) -> Summary:
        return summarise(r.wait_min for r in self.served(min_groups, max_groups))


@dataclass(frozen=True)
class EstimateError:
    n: int
    mae: float | None
    p90: float | None
    bias: float | None  # mean of estimate − actual


def estimate_errors(results: Iterable[DayResult], min_ahead: int = 0) -> dict[str, EstimateError]:
    """Error of each estimate against the actual wait until the first call, in minutes (tickets called at
    least once; ``min_ahead``: only those issued with at least that many people waiting at their first group)."""
    pairs: dict[str, list[float]] = {"project": [], "naive": [], "naive_per_counter": []}
    for result in results:
        for r in result.residents:
            if r.first_wait_min is None or (r.ahead or 0) < min_ahead:
                continue
            for name, est in (
                ("project", r.est_wait_min),
                ("naive", r.naive_min),
                ("naive_per_counter", r.naive_per_counter_min),
            ):
                if est is not None:
                    pairs[name].append(est - r.first_wait_min)
    out = {}
    for name, errors in pairs.items():
        s = summarise(abs(e) for e in errors)
        out[name] = EstimateError(s.n, s.mean, s.p90, statistics.fmean(errors) if errors else None)
    return out


# ---------------------------------------------------------------- the run
class _SimCore(QueueCore):
    """The real core, minus publishing retained state: nobody subscribes in a simulation, and recomputing
    every group's state after each command would cost more than the command itself."""

    def state_messages(self, force: bool = False) -> list[Outbound]:
        return []


class _Office:
    def __init__(
        self, site: Site, journal: Journal, day: date, config: OfficeDayConfig, mode: Mode, residents: list[Resident]
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if day.isoformat() in journal.days():
            raise ValueError(f"{journal.path} already holds {day}: simulate each day once per journal")
        self.site, self.config, self.mode, self.residents = site, config, mode, residents
        self.env = simpy.Environment()
        self.start = datetime.combine(day, config.opens, tzinfo=site.zone)
        self.core = _SimCore(site, journal, clock=lambda: self.start + timedelta(minutes=self.env.now))
        self.client = DirectClient(self.core)
        self.group_of = {p.id: p.group for p in site.procedures}
        self.requires = {p.id: p.requires for p in site.procedures}
        self.typical = {p.id: p.minutes for p in site.procedures}
        self.counters = config.open_counters(site)
        self.idle: dict[str, list[simpy.Event]] = {g: [] for g in self.counters}
        self.owner: dict[str, Resident] = {}  # ticket id → resident
        self.tickets: dict[int, list[str]] = {r.index: [] for r in residents}
        self.stages: dict[int, list[list[str]]] = {r.index: r.stages(site) for r in residents}
        self.estimates: dict[int, dict[str, Any]] = {}
        self.left = len(residents)
        self.all_done = self.env.event()
        self.payments = 0

    def send(self, device: str, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        return self.client.request(device, verb, args)

    def run(self, until: time | None) -> None:
        for counters in self.counters.values():
            for c in counters:
                self.send(PANEL, "open_counter", {"counter": c})
        for group, counters in self.counters.items():
            for c in counters:
                self.env.process(self.counter(c, group))
        self.env.process(self.arrivals())
        if not self.residents:
            return
        if until is not None:
            self.env.run(until=max(0.0, _minutes_between(self.config.opens, until)))
            return
        try:
            self.env.run(until=self.all_done)
        except RuntimeError as exc:  # the schedule ran dry with residents still waiting
            raise RuntimeError(f"{self.left} residents were never served: {exc}") from exc

    # ------------------------------------------------------------ residents
    def arrivals(self) -> Generator[simpy.Event, Any, None]:
        for r in self.residents:
            yield self.env.timeout(max(0.0, r.arrival_min - self.env.now))
            forms = sorted({f for p in r.procedures for f in self.site.procedure_by_id[p].forms})
            if r.forms and forms:
                self.send(FORMS, "record_forms", {"forms": forms, "lang": r.lang})
            first = self.stages[r.index][0] if self.mode == "ticket_per_counter" else list(r.procedures)
            naive = self.naive(r)
            ticket = self.issue(r, first)
            self.estimates[r.index] = naive | {"est_wait_min": ticket["est_wait_min"]}

    def naive(self, r: Resident) -> dict[str, Any]:
        """People waiting at the first step's group × the mean typical minutes there (÷ open counters)."""
        group = self.group_of[r.procedures[0]]
        ahead = self.core.engine.group_state(group, self.core.clock()).waiting
        naive = ahead * statistics.fmean(p.minutes for p in self.site.procedures if p.group == group)
        counters = len(self.counters[group])
        return {"ahead": ahead, "naive_min": naive, "naive_per_counter_min": naive / counters if counters else None}

    def issue(self, r: Resident, procedures: list[str]) -> dict[str, Any]:
        args = {"procedures": procedures, "lang": r.lang, "priority": r.priority}
        ticket = self.send(KIOSK, "issue", args)["ticket"]
        self.owner[ticket["id"]] = r
        self.tickets[r.index].append(ticket["id"])
        self.wake(ticket)
        return ticket

    def wake(self, ticket: dict[str, Any]) -> None:
        """Wake one idle counter of each group where the ticket is now callable."""
        done = {s["procedure"] for s in ticket["itinerary"] if s["status"] == "done"}
        present = {s["procedure"] for s in ticket["itinerary"]}
        groups = {
            s["group"]
            for s in ticket["itinerary"]
            if s["status"] == "pending"
            and all(q in done for q in self.requires.get(s["procedure"], ()) if q in present)
        }
        for g in sorted(groups):
            if self.idle.get(g):
                self.idle[g].pop(0).succeed()

    def finished(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.all_done.succeed()

    # ------------------------------------------------------------ staff
    def counter(self, counter: str, group: str) -> Generator[simpy.Event, Any, None]:
        while True:
            ticket = self.send(PANEL, "call_next", {"counter": counter})["ticket"]
            if ticket is None:
                parked = self.env.event()
                self.idle[group].append(parked)
                yield parked
                continue
            r = self.owner[ticket["id"]]
            if r.no_show:
                yield self.env.timeout(self.config.no_show_wait_min)
                self.send(PANEL, "no_show", {"counter": counter})
                self.finished()
                continue
            serving = [s["procedure"] for s in ticket["itinerary"] if s["status"] == "serving"]
            yield self.env.timeout(sum(r.minutes[p] for p in serving))
            after = self.send(PANEL, "complete", {"counter": counter})["ticket"]
            if "nofu" in serving:
                self.pay(r)
            if after["status"] != "done":
                self.wake(after)
            elif self.mode == "ticket_per_counter" and len(self.tickets[r.index]) < len(self.stages[r.index]):
                self.issue(r, self.stages[r.index][len(self.tickets[r.index])])
            else:
                self.finished()

    def pay(self, r: Resident) -> None:
        """The resident's slips paid at the register (for the KPI pages; no effect on the queue)."""
        register = self.site.register
        if register is None:
            return
        payees = [p for p in register.payees if not p.fee]
        if not payees:
            return
        rng = random.Random(f"pay/{self.start.date()}/{r.index}")
        slips = []
        for payee in rng.sample(payees, k=min(len(payees), rng.choice([1, 1, 1, 2, 3]))):
            kind = "elqr" if payee.eltax_tax_code else "cvs"
            slips.append({"kind": kind, "payee": payee.id, "amount": rng.randrange(1000, 60000, 100)})
        self.payments += 1
        tx = f"{self.start:%Y%m%d}-{REGISTER}-{self.payments:05d}"
        args: dict[str, Any] = {
            "tx": tx,
            "method": "cashless" if r.cashless else "cash",
            "total": sum(s["amount"] for s in slips),
            "slips": slips,
            "paid_at": self.core.clock().isoformat(),
        }
        if r.cashless:
            args["media"] = rng.choice(["credit", "emoney", "qr"])
        self.send(REGISTER, "record_payment", args)

    # ------------------------------------------------------------ results
    def result(self, day: date, seed: int, wall_s: float) -> DayResult:
        journal = self.core.journal
        key = day.isoformat()
        visits = read_day(journal.day_entries(key), {c.id: c.group for c in self.site.counters})
        arrived = [r for r in self.residents if r.arrival_min <= self.env.now]  # all, unless stopped early
        outcomes = [self.outcome(r, [visits.visits[t] for t in self.tickets[r.index]]) for r in arrived]
        groups = {g: GroupDay(len(c)) for g, c in self.counters.items()}
        ends = []
        for s in visits.services():
            g = groups.setdefault(s.group, GroupDay(0))
            g.calls += 1
            g.waits.append(s.wait_min)
            if s.service_min is not None and s.ended_at is not None:
                g.busy_min += s.service_min
                ends.append(s.ended_at)
        return DayResult(
            day=day,
            mode=self.mode,
            seed=seed,
            config=self.config,
            residents=outcomes,
            groups=groups,
            commands=journal.count(key),
            tickets=len(visits.visits),
            last_service=max(ends) if ends else None,
            wall_s=wall_s,
            visits=visits,
        )

    def outcome(self, r: Resident, visits: list[Visit]) -> ResidentOutcome:
        estimates = self.estimates.get(r.index, {})
        complete = bool(visits) and len(visits) == (
            len(self.stages[r.index]) if self.mode == "ticket_per_counter" else 1
        )
        done_at = visits[-1].done_at if visits and complete else None
        first_call = visits[0].services[0].called_at if visits and visits[0].services else None
        return ResidentOutcome(
            index=r.index,
            visit=r.visit,
            procedures=r.procedures,
            groups=len({self.group_of[p] for p in r.procedures}),
            arrival=self.start + timedelta(minutes=r.arrival_min),
            tickets=len(visits),
            no_show=any(v.no_shows for v in visits),
            stay_min=(done_at - visits[0].issued_at).total_seconds() / 60 if done_at is not None else None,
            wait_min=sum(v.wait_min for v in visits),
            first_wait_min=(first_call - visits[0].issued_at).total_seconds() / 60 if first_call else None,
            est_wait_min=estimates.get("est_wait_min"),
            ahead=estimates.get("ahead"),
            naive_min=estimates.get("naive_min"),
            naive_per_counter_min=estimates.get("naive_per_counter_min"),
        )


def simulate_day(
    site: Site,
    journal: Journal,
    day: date,
    config: OfficeDayConfig | None = None,
    mode: Mode = "one_ticket",
    seed: int = 1,
    *,
    until: time | None = None,
    residents: Sequence[Resident] | None = None,
) -> DayResult:
    """Simulate one office day into ``journal`` (which must not hold ``day`` yet) and read it back.

    ``until`` stops the day at that time of day, tickets still waiting and counters still serving (a
    "live" day for the demo). ``residents`` overrides the draw (tests); by default they are
    :func:`draw_residents` of the seed and the day, the same for both modes.
    """
    config = config or OfficeDayConfig()
    t0 = wallclock.perf_counter()
    people = list(residents) if residents is not None else draw_residents(site, config, day, seed)
    office = _Office(site, journal, day, config, mode, people)
    office.run(until)
    return office.result(day, seed, wallclock.perf_counter() - t0)


def write_history(
    site: Site,
    journal_path: str | Path,
    days: Iterable[date],
    config: OfficeDayConfig | None = None,
    seed: int = 1,
) -> list[DayResult]:
    """Fill a (non-durable) journal with simulated past days, oldest first, in the project's mode.

    Days the office is closed (weekday factor 0) and days the journal already holds are skipped.
    Each day's core starts from the service times observed on the days before, as the service does.
    """
    config = config or OfficeDayConfig()
    journal = Journal(journal_path, durable=False)
    try:
        present = set(journal.days())
        results = []
        for day in sorted(set(days)):
            if config.weekday_factor[day.weekday()] <= 0 or day.isoformat() in present:
                continue
            results.append(simulate_day(site, journal, day, config, "one_ticket", seed))
        return results
    finally:
        journal.close()


def config_dict(config: OfficeDayConfig) -> dict[str, Any]:
    """The configuration as JSON-friendly values."""

    def plain(v: Any) -> Any:
        if isinstance(v, time):
            return v.strftime("%H:%M")
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        return v

    return {k: plain(v) for k, v in asdict(config).items()}
