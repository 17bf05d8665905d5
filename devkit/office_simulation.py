"""The simulated office day: a discrete-event simulation (SimPy) that drives the REAL queue service core.

Residents arrive through the day (Poisson arrivals at a rate that varies by the hour: a morning
peak and a smaller one after lunch), each with a life event and its yes/no answers (the kiosk's
``Site.procedures_for``) or a single errand (a certificate, a payment). Every command goes through
:class:`~queue_service.service.direct.DirectClient` into a :class:`~queue_service.service.core.QueueCore`
whose clock is the simulation's: the same validation, engine and journal as over MQTT. Results are
read back from the journal with :func:`queue_service.history.read_day`, not kept on the side (the
sections' visits to booths and the payments at the register included).

Four ways of working, on the SAME residents (arrivals, visits, answers, service times and no-shows are
all drawn up front from the seed and the day) and the SAME staff (:meth:`OfficeDayConfig.staffing`):

* ``ticket_per_counter`` (a, the baseline): a ticket for the first counter group only; when it is done the
  resident takes a NEW ticket for the next group (groups in the order of the site's precedence), and so on.
* ``one_ticket`` (b, today): one ``issue`` with every procedure of the visit, without the life event (so
  nothing goes to a booth); the ticket holds a place in every counter group's queue at once.
* ``one_stop`` (c): the issue carries the life event and the answers; a one-stop visit is called once, to a
  booth, where the booth staff serve its ``front`` steps and the sections' staff come for theirs
  (``take_request`` from their own counter, walking there and back: staff time). The booth staff are the
  staff of section counters closed for the day (``booth_staff_from``).
* ``one_stop_proxy`` (d): as (c) on a copy of the site where the booth staff also do the sections' simple
  steps (``proxy_procedures`` routed ``front``); the counters whose work all moved close too (``proxy_staff_from``).

Staff call the next ticket as soon as their counter is free; an idle counter waits until a ticket may
have become callable at one of its groups (or a booth request for them appeared) and looks again. A
no-show resident has left before their first call: staff wait ``no_show_wait_min`` and press no-show.
Residents walk between floors when called (``resident_walks``: the counter waits for them), section staff
walk to the booth and back; both take ``walk_same_floor_min`` + ``walk_per_floor_min`` per floor.
A procedure routed ``register`` (納付) is never called: the resident pays at the self register right after
their last counter (its drawn minutes, no queue of its own) and the register sends ``ticket_paid``.
A ``later`` delivery (介護保険証) is marked ready by the back office ``pickup_ready_min`` after its step and
picked up at its pickup group's counter (in (a), once the resident's other tickets are done).
The day runs until every resident is done (staff finish the queue after closing time), unless
``until`` stops it mid-day (the demo's "live" day).
For the KPI pages, half the residents print their forms at the form issuer first (``record_forms``)
and a payment at the register is recorded by it (``record_payment``, full- or semi-self: ``register_mode``);
residents with a life event may have looked it up in the online guide (``record_guide_use``, at their arrival)
and some answer the survey at the exit screen when they leave (``record_survey``); none touches the queue.

Definitions of wait and stay are :mod:`queue_service.history`'s (stay ends at payment when there is one).
The ticket's estimate is the ``est_wait_min`` of the ``issue`` reply (the engine's ``ticket_wait``: minutes
until the ticket is first callable somewhere). The naive estimates, computed at the same moment for comparison:

* ``naive``: people waiting at the group of the visit's first step (the board's ``waiting`` count of
  that group just before the issue) × the mean of the site's typical minutes of that group's procedures;
* ``naive_per_counter``: the same divided by the group's open counters (the queue-length estimator);
* ``les`` (last to enter service, Ibrahim & Whitt): the wait of the last resident called at that group (at a
  booth, for a one-stop visit), from when they started waiting for that call;
* ``hol`` (head of line): how long the resident first in line there (the next the group calls, not being served
  elsewhere) has waited so far;
* ``work_ahead``: the estimator before issue 21 (work ahead ÷ open counters,
  :class:`~queue_service.engine.waits.WorkAheadEstimator`), on the ticket just issued;
* ``known_times`` (a bound, not an estimator): the ticket's forecast had it known every queued resident's drawn
  service minutes (+ ``resident_approach_min``) instead of the procedures' observed means.

The ticket's range (``est_wait_range``, rev 2) is recorded too: :func:`estimate_errors` reports how often it
held the actual wait and how wide it was.
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
from queue_service.engine.forecast import forecast
from queue_service.engine.ordering import order_by_precedence
from queue_service.engine.waits import WorkAheadEstimator
from queue_service.history import Day, Summary, Visit, read_day, summarise
from queue_service.service.core import Outbound, QueueCore
from queue_service.service.direct import CommandRejected, DirectClient
from queue_service.service.journal import Journal

Mode = Literal["ticket_per_counter", "one_ticket", "one_stop", "one_stop_proxy"]
MODES: tuple[Mode, ...] = ("ticket_per_counter", "one_ticket", "one_stop", "one_stop_proxy")
ONE_STOP_MODES: tuple[Mode, ...] = ("one_stop", "one_stop_proxy")
LABELS: dict[Mode, str] = {
    "ticket_per_counter": "(a) ticket per counter",
    "one_ticket": "(b) one ticket",
    "one_stop": "(c) one-stop booths",
    "one_stop_proxy": "(d) one-stop + proxy",
}
RequestPolicy = Literal["requests_first", "queue_first"]
WALK_IN = "walk_in"

KIOSK = "kiosk-1f"
PANEL = "panel-demo"  # may operate any counter
FORMS = "forms-1f"
REGISTER = "register-1f"


@dataclass(frozen=True)
class Staffing:
    """Who works where on a simulated day: the same number of staff in every mode."""

    #: Open section counters, by their own group (a counter with ``serves`` also serves the other groups).
    counters: dict[str, list[str]]
    #: Booth seats open (one-stop modes).
    booths: tuple[str, ...] = ()
    #: Staff members working the booths (they move between seats; each serves one resident at a time).
    booth_staff: int = 0
    #: Section counters closed for the day because their staff work the booths.
    moved: tuple[str, ...] = ()

    @property
    def staff(self) -> int:
        return sum(len(c) for c in self.counters.values()) + self.booth_staff

    def describe(self) -> str:
        counters = ", ".join(f"{g} {len(c)}" for g, c in self.counters.items())
        if not self.booth_staff:
            return f"{self.staff} staff: {counters}"
        extra = self.booth_staff - len(self.moved)
        return (
            f"{self.staff} staff: {counters}; booths: {self.booth_staff} staff on {len(self.booths)} seats "
            f"(from {', '.join(self.moved)}{f', +{extra} more' if extra else ''})"
        )


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
    #: Groups whose procedures are all paid at the register (納付) and the booths' group have none.
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
    # ---- for the KPI pages (issue 18); drawn from their own random streams: the queue's day is the same without
    #: Share of register payments whose fee staff keyed in (semi-self register, ``register_mode``); else full-self.
    semi_self_share: float = 0.25
    #: Share of served residents who answer the survey at the exit screen (``record_survey``, the site's questions).
    survey_share: float = 0.3
    #: Stars 1..5 of a survey answer, by weight.
    survey_stars: tuple[float, ...] = (2, 4, 14, 42, 38)
    #: Share of residents with a life event who looked it up in the online guide first (``record_guide_use``,
    #: recorded at their arrival), and of those who went on to its result page.
    guide_share: float = 0.4
    guide_completed_share: float = 0.7
    # ---- walking: a walk takes walk_same_floor_min + walk_per_floor_min × floors between
    walk_same_floor_min: float = 1.0
    walk_per_floor_min: float = 1.5
    #: Residents walk to the counter that calls them; the counter waits for what is left of the walk (they head
    #: for the floor of their next counter while they wait) and at least ``resident_approach_min``.
    resident_walks: bool = True
    #: From the waiting area to the counter that called them, on its floor.
    resident_approach_min: float = 0.5
    #: Where residents take their ticket (and so start walking from).
    entrance_floor: int = 1
    # ---- deliveries and payment
    #: The back office marks a ``later`` delivery ready this long after its step.
    pickup_ready_min: float = 20.0
    #: Handing over a delivery at the pickup counter.
    pickup_min: float = 2.0
    # ---- one-stop (modes one_stop, one_stop_proxy)
    #: Section counters closed in the one-stop modes: their staff work the booths (same staff hours). The
    #: example's: 住民異動 ×3 and 戸籍 5番 (all their steps are done at the booths) and 国保 22番 (国保 is 41%
    #: busy in (a); 21番 and 25番, trained for 国保, stay).
    booth_staff_from: tuple[str, ...] = ("c01", "c02", "c03", "c05", "c22")
    #: Also closed in ``one_stop_proxy``: counters whose group's steps the booth staff do there.
    proxy_staff_from: tuple[str, ...] = ("c04",)
    #: Booth staff beyond the section counters' (more staff hours than (a) and (b): for "what would it take").
    extra_booth_staff: int = 0
    #: Booth seats (a seat is held while the resident waits for the sections); None: one per booth staff member,
    #: at least the site's booths. Seats beyond the site's booths are added to a copy of the site.
    booths: int | None = 12
    #: Procedures the booth staff do themselves in ``one_stop_proxy`` (routed ``front`` in a copy of the site).
    proxy_procedures: tuple[str, ...] = (
        "mynumber_card",
        "kokuho_henko",
        "kokuho_soushitsu",
        "jidou_teate_henko",
        "kaigo_soushitsu",
    )
    #: The booth staff's minutes for a proxied procedure, × the section's (they know it less well).
    proxy_minutes_factor: float = 1.0
    #: Section staff at a booth take the next open request for their groups before walking back.
    chain_requests: bool = True
    #: Section staff: take the booths' requests before calling their own queue, or only when it is empty.
    request_policy: RequestPolicy = "requests_first"
    #: The site's ``one_stop_min_groups`` in the one-stop modes (None: the site's own).
    one_stop_min_groups: int | None = None

    def walk(self, a: int, b: int) -> float:
        """Minutes to walk from floor ``a`` to floor ``b`` (one way)."""
        return self.walk_same_floor_min + self.walk_per_floor_min * abs(a - b)

    def open_counters(self, site: Site) -> dict[str, list[str]]:
        """The section counters open all day, per group, in ways of working without booths."""
        staffed = {p.group for p in site.procedures if p.routing != "register"}
        out: dict[str, list[str]] = {}
        for g in site.groups:
            if g.booths or g.id not in staffed:
                continue
            ids = [c.id for c in site.counters if c.group == g.id]
            n = self.counters.get(g.id, len(ids))
            n = min(len(ids), max(1 if ids else 0, round(n * self.counters_scale)))
            out[g.id] = ids[:n]
        return out

    def staffing(self, site: Site, mode: Mode) -> Staffing:
        """The open counters and booths of ``mode``: the one-stop modes close ``booth_staff_from`` (and in
        ``one_stop_proxy`` ``proxy_staff_from``) and put their staff at the booths. ``site`` is the mode's
        site (:func:`mode_site`), which holds the booth seats."""
        counters = self.open_counters(site)
        if mode not in ONE_STOP_MODES:
            return Staffing(counters)
        closing = set(self.booth_staff_from) | (set(self.proxy_staff_from) if mode == "one_stop_proxy" else set())
        moved = tuple(c for cs in counters.values() for c in cs if c in closing)
        counters = {g: [c for c in cs if c not in closing] for g, cs in counters.items()}
        seats = [c.id for c in site.counters if c.group == site.booth_group]
        booth_staff = len(moved) + self.extra_booth_staff
        wanted = self.booth_seats(site, booth_staff)
        if len(seats) < wanted:
            raise ValueError(f"the site has {len(seats)} booths, {wanted} wanted: use mode_site()")
        staffing = Staffing(counters, tuple(seats[:wanted]), booth_staff, moved)
        _check_staffed(site, staffing)
        return staffing

    def booth_seats(self, site: Site, booth_staff: int) -> int:
        site_booths = sum(1 for c in site.counters if c.group == site.booth_group)
        return self.booths if self.booths is not None else max(site_booths, booth_staff)

    def rows(self, site: Site) -> list[tuple[str, str]]:
        """(setting, value) pairs, for printing with the results."""
        profile = ", ".join(f"{t:%H:%M} ×{r:g}" for t, r in self.hourly_rate)
        weekdays = " ".join(f"{d} {f:g}" for d, f in zip("MTWTFSS", self.weekday_factor, strict=False))
        staffing = {m: self.staffing(mode_site(site, self, m), m) for m in (MODES[0], *ONE_STOP_MODES)}
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
            ("staff (a), (b)", staffing[MODES[0]].describe() + f" (scale {self.counters_scale:g})"),
            ("staff (c)", staffing["one_stop"].describe()),
            (
                "staff (d)",
                staffing["one_stop_proxy"].describe() + "; front also: " + ", ".join(self.proxy_procedures),
            ),
            (
                "walking",
                f"{self.walk_same_floor_min:g} min + {self.walk_per_floor_min:g} min per floor, one way: section "
                f"staff to a booth and back{' (next open request first)' if self.chain_requests else ''}; residents: "
                + (
                    f"{self.resident_approach_min:g} min to the counter that calls them + the stairs their wait "
                    "did not cover"
                    if self.resident_walks
                    else "do not walk"
                ),
            ),
            (
                "booth requests",
                "taken before the counter's own queue"
                if self.request_policy == "requests_first"
                else "taken when the counter's own queue is empty",
            ),
            ("payment", "at the self register right after the last counter (its minutes, no queue): ticket_paid"),
            (
                "later delivery",
                f"ready {self.pickup_ready_min:g} min after its step, handed over in {self.pickup_min:g} min",
            ),
            (
                "no-shows",
                f"{self.no_show_share:.0%}, gone before the first call, no-show after {self.no_show_wait_min:g} min",
            ),
            ("priority tickets", f"{self.priority_share:.0%}"),
            ("staff rule", "call next as soon as free; idle staff look again when something may have become theirs"),
        ]

    def expected_load(self, site: Site, weekday: int = 1) -> dict[str, float]:
        """Offered load per section group over the opening hours, in (a) and (b) (expected service minutes /
        counter minutes)."""
        visitors = self.visitors_per_day * self.weekday_factor[weekday]
        counters = self.open_counters(site)
        minutes: dict[str, float] = {g: 0.0 for g in counters}
        typical = {p.id: p.minutes * self.service_scale for p in site.procedures if p.routing != "register"}
        group_of = {p.id: p.group for p in site.procedures}
        events_total = sum(self.life_events.values())
        for event, w in self.life_events.items():
            n = visitors * self.life_event_share * w / events_total
            for ep in site.life_event_by_id[event].procedures:
                share = math.prod(_yes(self.answers.get(c.lstrip("!"), 0.0), c.startswith("!")) for c in ep.when)
                if ep.id in typical:
                    minutes[group_of[ep.id]] += n * share * typical[ep.id]
        walk_total = sum(self.walk_ins.values())
        for errand, w in self.walk_ins.items():
            n = visitors * (1 - self.life_event_share) * w / walk_total
            for p in errand.split(","):
                if p in typical:
                    minutes[group_of[p]] += n * typical[p]
        day_min = _minutes_between(self.opens, self.closes)
        return {g: m / (len(counters[g]) * day_min) if counters[g] else math.inf for g, m in minutes.items()}


def _check_staffed(site: Site, staffing: Staffing) -> None:
    """Every group that still has counter or booth steps has someone to serve them."""
    served = {g for cs in staffing.counters.values() for c in cs for g in site.counter_by_id[c].groups}
    for p in site.procedures:
        if p.routing in ("counter", "booth") and p.group not in served:
            raise ValueError(f"nobody serves {p.group!r} ({p.id}, routed {p.routing!r}) with this staffing")


def mode_site(site: Site, config: OfficeDayConfig, mode: Mode) -> Site:
    """The site as ``mode`` runs it: in the one-stop modes with enough booth seats, the site's
    ``one_stop_min_groups`` if the config sets one, and in ``one_stop_proxy`` the ``proxy_procedures``
    routed ``front``; in the other modes with no one-stop life event, so a visit that carries its life event
    (for the KPIs: stay by life event) still goes round the counters. A validated copy: the site file is
    never changed."""
    if mode not in ONE_STOP_MODES:
        if not any(e.one_stop for e in site.life_events) and site.queue.one_stop_min_groups is None:
            return site
        classic = site.model_dump(by_alias=True)
        classic["queue"]["one_stop_min_groups"] = None
        for event in classic["life_events"]:
            event["one_stop"] = False
        return Site.model_validate(classic)
    if site.booth_group is None:
        raise ValueError(f"mode {mode!r} needs a site with booths")
    data = site.model_dump(by_alias=True)
    data["counters"] = list(data["counters"])
    if mode == "one_stop_proxy":
        unknown = set(config.proxy_procedures) - set(site.procedure_by_id)
        if unknown:
            raise ValueError(f"proxy_procedures: unknown {', '.join(sorted(unknown))}")
        for p in data["procedures"]:
            if p["id"] in config.proxy_procedures:
                p["routing"] = "front"
    if config.one_stop_min_groups is not None:
        data["queue"]["one_stop_min_groups"] = config.one_stop_min_groups
    counters = config.open_counters(site)
    closing = set(config.booth_staff_from) | (set(config.proxy_staff_from) if mode == "one_stop_proxy" else set())
    booth_staff = sum(1 for cs in counters.values() for c in cs if c in closing) + config.extra_booth_staff
    booths = [c for c in data["counters"] if c["group"] == site.booth_group]
    floor = booths[0]["floor"] if booths else site.group_by_id[site.booth_group].floor
    taken = {c["id"] for c in data["counters"]}
    n = len(booths) + 1
    while len(booths) < config.booth_seats(site, booth_staff):
        while f"b{n}" in taken:
            n += 1
        names = {"ja": f"ワンストップ B{n}", "en": f"One-stop booth B{n}", "zh": f"一站式窗口 B{n}"}
        names |= {"ko": f"원스톱 창구 B{n}", "vi": f"Quầy một cửa B{n}", "pt": f"Balcão único B{n}"}
        names["ja-easy"] = f"まどぐち B{n}"
        seat = {"id": f"b{n}", "names": names}  # every language the site lists (Site checks the translations)
        booths.append(seat | {"floor": floor, "group": site.booth_group, "serves": ()})
        data["counters"].append(booths[-1])
        taken.add(f"b{n}")
    return Site.model_validate(data)


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
    #: the kiosk's questions of the life event and the resident's answers (empty for an errand)
    answers: dict[str, bool] = field(default_factory=dict)

    def stages(self, site: Site) -> list[list[str]]:
        """The baseline's tickets: one per counter group, groups in the order of precedence. A payment at the
        register is on the last ticket (the register closes it; no counter calls it)."""
        group_of = {p.id: p.group for p in site.procedures}
        register = [p for p in self.procedures if site.procedure_by_id[p].routing == "register"]
        staffed = [p for p in self.procedures if p not in register]
        by_group: dict[str, list[str]] = {}
        for p in staffed:
            by_group.setdefault(group_of[p], []).append(p)
        stages = list(by_group.values())
        stage_of = {p: i for i, s in enumerate(stages) for p in s}
        requires = {p.id: p.requires for p in site.procedures}
        if not all(stage_of[r] <= stage_of[p] for p in staffed for r in requires[p] if r in stage_of):
            # a group would come back later: one ticket per consecutive run of the same group
            stages = []
            for p in staffed:
                if stages and group_of[stages[-1][0]] == group_of[p]:
                    stages[-1].append(p)
                else:
                    stages.append([p])
        if not stages:
            return [register]
        stages[-1] += register
        return stages


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
        answers: dict[str, bool] = {}
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
                answers=answers,
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
    groups: int  # counter groups the visit needs (staffed ones: a payment at the register is none)
    staffed: int  # procedures served by staff (a payment at the register is not)
    arrival: datetime
    tickets: int
    ticket_ids: tuple[str, ...]
    no_show: bool
    #: seated at a booth (one-stop)
    one_stop: bool
    stay_min: float | None  # None: did not finish (no-show, or the day was stopped)
    wait_min: float
    first_wait_min: float | None  # issue to the first call
    #: the resident's own walking to the counters that called them
    walk_min: float
    #: section staff walking to this resident's booth (they wait for them: part of the stay)
    dispatch_walk_min: float
    #: at the self register
    pay_min: float
    est_wait_min: int | None  # printed on the (first) ticket
    ahead: int | None  # the board's waiting count at the first step's group (a one-stop visit: the booths'), at issue
    naive_min: float | None
    naive_per_counter_min: float | None
    #: the range printed with the estimate (rev 2), and the other estimators at the same moment (see the module)
    est_low: int | None = None
    est_high: int | None = None
    les_min: float | None = None
    hol_min: float | None = None
    work_ahead_min: int | None = None
    known_times_min: int | None = None


@dataclass
class GroupDay:
    counters: int
    calls: int = 0  # calls and booth visits (take_request) of its staff
    busy_min: float = 0.0  # call (or take) to completion
    waits: list[float] = field(default_factory=list)


@dataclass
class StaffDay:
    """One staff member's day: at a section counter (its id) or at the booths (``booths-N``)."""

    id: str
    group: str
    busy_min: float = 0.0  # serving, waiting for the resident to walk up or a no-show, walking
    walk_min: float = 0.0  # to booths and back
    last_end_min: float = 0.0  # minutes after opening when their last work ended


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
    staffing: Staffing = field(default_factory=lambda: Staffing({}))
    staff: list[StaffDay] = field(default_factory=list)
    #: sections' visits to booths (take_request)
    dispatches: int = 0
    visits: Day = field(repr=False, default_factory=Day)

    def served(self, min_groups: int = 1, max_groups: int = 99) -> list[ResidentOutcome]:
        return [r for r in self.residents if r.stay_min is not None and min_groups <= r.groups <= max_groups]

    def stay(self, min_groups: int = 1, max_groups: int = 99) -> Summary:
        return summarise(r.stay_min for r in self.served(min_groups, max_groups) if r.stay_min is not None)

    def wait(self, min_groups: int = 1, max_groups: int = 99) -> Summary:
        return summarise(r.wait_min for r in self.served(min_groups, max_groups))

    def on_duty_min(self) -> float:
        """Staff minutes on duty: each from opening to closing, or to their last work when later."""
        day = _minutes_between(self.config.opens, self.config.closes)
        return sum(max(day, s.last_end_min) for s in self.staff)

    def busy_min(self) -> float:
        return sum(s.busy_min for s in self.staff)

    def walk_min(self) -> float:
        return sum(s.walk_min for s in self.staff)


@dataclass(frozen=True)
class EstimateError:
    n: int
    mae: float | None
    p90: float | None
    bias: float | None  # mean of estimate − actual
    #: the estimator's range (the project's only): share of actual waits inside it, its mean width in minutes
    coverage: float | None = None
    width: float | None = None


#: The estimators :func:`estimate_errors` reports by default (the ticket's and the two naive ones).
ESTIMATORS = ("project", "naive", "naive_per_counter")
#: Every estimator recorded (see the module docstring).
ALL_ESTIMATORS = ("project", "work_ahead", "les", "hol", "naive", "naive_per_counter", "known_times")


def estimate_errors(
    results: Iterable[DayResult], min_ahead: int = 0, names: Sequence[str] = ESTIMATORS
) -> dict[str, EstimateError]:
    """Error of each estimate against the actual wait until the first call, in minutes (tickets called at
    least once; ``min_ahead``: only those issued with at least that many people waiting at their first group)."""
    pairs: dict[str, list[float]] = {name: [] for name in names}
    inside: list[bool] = []
    widths: list[float] = []
    for result in results:
        for r in result.residents:
            if r.first_wait_min is None or (r.ahead or 0) < min_ahead:
                continue
            estimates = {
                "project": r.est_wait_min,
                "work_ahead": r.work_ahead_min,
                "les": r.les_min,
                "hol": r.hol_min,
                "naive": r.naive_min,
                "naive_per_counter": r.naive_per_counter_min,
                "known_times": r.known_times_min,
            }
            for name in names:
                est = estimates[name]
                if est is not None:
                    pairs[name].append(est - r.first_wait_min)
            if r.est_wait_min is not None and r.est_low is not None and r.est_high is not None:
                inside.append(r.est_low <= r.first_wait_min <= r.est_high)
                widths.append(r.est_high - r.est_low)
    out = {}
    for name, errors in pairs.items():
        s = summarise(abs(e) for e in errors)
        ranged = name == "project" and bool(inside)
        out[name] = EstimateError(
            s.n,
            s.mean,
            s.p90,
            statistics.fmean(errors) if errors else None,
            coverage=statistics.fmean(inside) if ranged else None,
            width=statistics.fmean(widths) if ranged else None,
        )
    return out


# ---------------------------------------------------------------- the run
class _SimCore(QueueCore):
    """The real core, minus publishing retained state: nobody subscribes in a simulation, and recomputing
    every group's state after each command would cost more than the command itself."""

    def state_messages(self, force: bool = False) -> list[Outbound]:
        return []


TicketJson = dict[str, Any]  # a ticket as the replies show it (TicketView's JSON)


def _ready(ticket: TicketJson, requires: dict[str, tuple[str, ...]]) -> list[dict[str, Any]]:
    """The ticket's pending steps that are ready and whose prerequisites (among its own procedures) are done."""
    steps = ticket["itinerary"]
    procedures = [s for s in steps if s["kind"] == "procedure"]
    done = {s["procedure"] for s in procedures if s["status"] == "done"}
    present = {s["procedure"] for s in procedures}
    return [
        s
        for s in steps
        if s["status"] == "pending"
        and s["ready"]
        and (s["kind"] == "pickup" or all(q in done for q in requires.get(s["procedure"], ()) if q in present))
    ]


def _left(ticket: TicketJson, pickups: bool = True) -> bool:
    """Whether staff still have something to do for the ticket (a payment at the register is not staff's;
    ``pickups=False``: nor is a delivery still to be picked up)."""
    return any(
        s["status"] != "done" and s["mode"] != "register" and (pickups or s["kind"] != "pickup")
        for s in ticket["itinerary"]
    )


class _Office:
    def __init__(
        self, site: Site, journal: Journal, day: date, config: OfficeDayConfig, mode: Mode, residents: list[Resident]
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        if day.isoformat() in journal.days():
            raise ValueError(f"{journal.path} already holds {day}: simulate each day once per journal")
        self.site = mode_site(site, config, mode)
        self.config, self.mode, self.residents = config, mode, residents
        self.staffing = config.staffing(self.site, mode)
        self.one_stop = mode in ONE_STOP_MODES
        self.booth_group = self.site.booth_group or ""
        self.env = simpy.Environment()
        self.start = datetime.combine(day, config.opens, tzinfo=self.site.zone)
        self.core = _SimCore(self.site, journal, clock=lambda: self.start + timedelta(minutes=self.env.now))
        self.client = DirectClient(self.core)
        self.group_of = {p.id: p.group for p in self.site.procedures}
        self.requires = {p.id: p.requires for p in self.site.procedures}
        self.register = {p.id for p in self.site.procedures if p.routing == "register"}
        self.proxied = set(config.proxy_procedures) if mode == "one_stop_proxy" else set()
        self.floor = {c.id: c.floor for c in self.site.counters}
        self.idle: dict[str, list[simpy.Event]] = {}
        self.owner: dict[str, Resident] = {}  # ticket id → resident
        self.view: dict[str, TicketJson] = {}  # ticket id → its latest reply
        self.tokens: dict[str, str] = {}  # ticket id → the code printed on it (the register scans it)
        self.tickets: dict[int, list[str]] = {r.index: [] for r in residents}
        self.stages: dict[int, list[list[str]]] = {r.index: r.stages(self.site) for r in residents}
        self.stages_done = {r.index: self.env.event() for r in residents}
        self.where = {r.index: config.entrance_floor for r in residents}  # the floor a resident is on
        self.free_at = {r.index: r.arrival_min for r in residents}  # since when they wait for their next call
        self.called: set[int] = set()
        self.leaving: set[int] = set()
        self.pickups: set[tuple[str, str]] = set()
        self.walked: dict[int, float] = {r.index: 0.0 for r in residents}
        self.dispatch_walk: dict[int, float] = {r.index: 0.0 for r in residents}
        self.paid: dict[int, float] = {r.index: 0.0 for r in residents}
        self.estimates: dict[int, dict[str, Any]] = {}
        self.last_wait: dict[str, float] = {}  # group → the wait of the last resident called there (LES)
        self.staff: dict[str, StaffDay] = {}
        self.left = len(residents)
        self.all_done = self.env.event()
        self.payments = 0

    def send(self, device: str, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.client.request(device, verb, args)
        except CommandRejected as exc:  # a bug of the simulation (or the engine): say which command, when
            raise RuntimeError(f"{self.core.clock():%H:%M:%S} {verb} {args} refused: {exc}") from exc

    def run(self, until: time | None) -> None:
        for group, counters in self.staffing.counters.items():
            for c in counters:
                self.send(PANEL, "open_counter", {"counter": c})
                self.staff[c] = StaffDay(c, group)
                self.env.process(self.section(c))
        for b in self.staffing.booths:
            self.send(PANEL, "open_counter", {"counter": b})
        for k in range(self.staffing.booth_staff):
            person = StaffDay(f"booths-{k + 1}", self.booth_group)
            self.staff[person.id] = person
            self.env.process(self.booth_staff(person))
        self.env.process(self.arrivals())
        if not self.residents:
            return
        if until is not None:
            self.env.run(until=max(0.0, _minutes_between(self.config.opens, until)))
            return
        self.env.process(self.midnight())
        self.env.run(until=self.all_done)

    def midnight(self) -> Generator[simpy.Event, Any, None]:
        """Residents still in the office at 23:59: the office is overloaded (the queue's day would roll over and
        drop them), or, when every staff member sits idle, nobody was woken for them (a bug of the simulation)."""
        yield self.env.timeout(_minutes_between(self.config.opens, time(23, 59)))
        if self.all_done.triggered:
            return
        idle = {id(e) for events in self.idle.values() for e in events if not e.triggered}
        if len(idle) == len(self.staff):
            error = f"{self.left} residents were never served: every staff member waits to be woken"
        else:
            error = f"overloaded: {self.left} residents still in the office at 23:59 ({self.staffing.describe()})"
        self.all_done.fail(RuntimeError(error))

    # ------------------------------------------------------------ residents
    def arrivals(self) -> Generator[simpy.Event, Any, None]:
        for r in self.residents:
            yield self.env.timeout(max(0.0, r.arrival_min - self.env.now))
            self.guide_use(r)
            forms = sorted({f for p in r.procedures for f in self.site.procedure_by_id[p].forms})
            if r.forms and forms:
                self.send(FORMS, "record_forms", {"forms": forms, "lang": r.lang})
            first = self.stages[r.index][0] if self.mode == "ticket_per_counter" else list(r.procedures)
            naive = self.naive(r)
            ticket = self.issue(r, first)
            rng = ticket.get("est_wait_range") or {}
            engine, now = self.core.engine, self.now()
            old = WorkAheadEstimator(engine).ticket(engine.state.tickets[ticket["id"]], now)
            known = forecast(engine, now.replace(second=0, microsecond=0), self.known_minutes)
            bound = known.first.get(ticket["id"])
            self.estimates[r.index] = naive | {
                "est_wait_min": ticket["est_wait_min"],
                "est_low": rng.get("low"),
                "est_high": rng.get("high"),
                "work_ahead_min": None if old is None else old.likely,
                "known_times_min": None if bound is None else engine.waits.wait(bound, now, known).likely,
            }

    def known_minutes(self, ticket: str, procedure: str) -> float | None:
        """A queued resident's drawn minutes for ``procedure`` (the ``known_times`` bound)."""
        r = self.owner.get(ticket)
        if r is None or procedure not in r.minutes:
            return None
        return r.minutes[procedure] + self.config.resident_approach_min

    def naive(self, r: Resident) -> dict[str, Any]:
        """People waiting at the first step's group × the mean typical minutes there (÷ open counters). A one-stop
        visit first waits for a booth: only the people waiting for one are counted (no naive minutes)."""
        staffed = [p for p in r.procedures if p not in self.register]
        if not staffed:
            return {"ahead": None, "naive_min": None, "naive_per_counter_min": None}
        now = self.core.clock()
        if self.one_stop and r.visit != WALK_IN and self.site.is_one_stop(staffed, r.visit):
            ahead = self.core.engine.group_state(self.booth_group, now).waiting
            return {"ahead": ahead, "naive_min": None, "naive_per_counter_min": None} | self.delays(self.booth_group)
        group = self.group_of[staffed[0]]
        ahead = self.core.engine.group_state(group, now).waiting
        naive = ahead * statistics.fmean(p.minutes for p in self.site.procedures if p.group == group)
        counters = len(self.staffing.counters.get(group, []))
        per_counter = naive / counters if counters else None
        return {"ahead": ahead, "naive_min": naive, "naive_per_counter_min": per_counter} | self.delays(group)

    def delays(self, group: str) -> dict[str, float | None]:
        """The delay-history estimators at ``group`` now: LES (the last call's wait there; 0 before the first) and
        HOL (the wait so far of the first in line; 0 when nobody waits)."""
        head = next((c for c in self.core.engine.coming_state(group, limit=20).coming if c.at == "waiting"), None)
        hol = 0.0 if head is None else self.env.now - self.free_at[self.owner[head.ticket].index]
        return {"les_min": self.last_wait.get(group, 0.0), "hol_min": hol}

    def now(self) -> datetime:
        return self.core.clock()

    def issue(self, r: Resident, procedures: list[str]) -> TicketJson:
        args: dict[str, Any] = {"procedures": procedures, "lang": r.lang, "priority": r.priority}
        if r.visit != WALK_IN:  # the reception travels with every ticket; the mode's site decides the routing
            args |= {"life_event": r.visit, "answers": r.answers}
        ticket: TicketJson = self.send(KIOSK, "issue", args)["ticket"]
        self.owner[ticket["id"]] = r
        self.tokens[ticket["id"]] = ticket["token"]
        self.tickets[r.index].append(ticket["id"])
        self.changed(r, ticket)
        return ticket

    def changed(self, r: Resident, ticket: TicketJson) -> None:
        """A reply showed the ticket's new state: wake who may serve it now, and move the resident on."""
        before = self.view.get(ticket["id"])
        self.view[ticket["id"]] = ticket
        self.wake(ticket)
        if before is not None and before["booth"] is not None and ticket["booth"] is None:
            self.wake_group(self.booth_group)  # a booth is free
        for step in ticket["itinerary"]:
            key = (ticket["id"], step["procedure"])
            if step["kind"] == "pickup" and not step["ready"] and key not in self.pickups:
                self.pickups.add(key)
                self.env.process(self.back_office(r, ticket["id"], step["procedure"]))
        self.progress(r)

    def progress(self, r: Resident) -> None:
        if r.index in self.leaving:
            return
        views = [self.view[t] for t in self.tickets[r.index]]
        if self.mode == "ticket_per_counter" and not _left(views[-1], pickups=False):
            stages = self.stages[r.index]
            if len(views) < len(stages):
                self.issue(r, stages[len(views)])  # the next counter group's ticket
                return
            if not self.stages_done[r.index].triggered:
                self.stages_done[r.index].succeed()
        if not any(_left(v) for v in views):
            self.leaving.add(r.index)
            to_pay = [p for p in r.procedures if p in self.register]
            if to_pay:
                self.env.process(self.pay(r, to_pay))
            else:
                self.finished(r)

    def back_office(self, r: Resident, ticket: str, procedure: str) -> Generator[simpy.Event, Any, None]:
        """A later delivery is made ready (in (a), picked up once the resident's other tickets are done)."""
        yield self.env.timeout(self.config.pickup_ready_min)
        if self.mode == "ticket_per_counter":
            yield self.stages_done[r.index]
        self.changed(r, self.send(PANEL, "mark_ready", {"ticket": ticket, "procedure": procedure})["ticket"])

    def pay(self, r: Resident, procedures: list[str]) -> Generator[simpy.Event, Any, None]:
        """At the self register: the payment takes its drawn minutes, then scanning the ticket closes the step."""
        minutes = sum(r.minutes[p] for p in procedures)
        yield self.env.timeout(minutes)
        self.paid[r.index] = minutes
        ticket = next(
            t for t in self.tickets[r.index] if any(s["mode"] == "register" for s in self.view[t]["itinerary"])
        )
        self.view[ticket] = self.send(REGISTER, "ticket_paid", {"token": self.tokens[ticket]})["ticket"]
        self.record_payment(r)
        self.finished(r)

    def guide_use(self, r: Resident) -> None:
        """A resident with a life event who looked it up in the online guide: its questions, perhaps its result."""
        device = self.site.service_device
        if device is None or r.visit not in self.site.life_event_by_id:
            return
        rng = random.Random(f"guide/{self.start.date()}/{r.index}")
        if rng.random() >= self.config.guide_share:
            return
        self.send(device.id, "record_guide_use", {"life_event": r.visit, "completed": False})
        if rng.random() < self.config.guide_completed_share:
            self.send(device.id, "record_guide_use", {"life_event": r.visit, "completed": True})

    def survey(self, r: Resident) -> None:
        """A served resident answers the survey at the exit screen (one answer per ticket: their last one)."""
        exits = [d for d in self.site.devices if d.role == "exit"]
        if not exits or not self.site.survey or not self.tickets[r.index]:
            return
        rng = random.Random(f"survey/{self.start.date()}/{r.index}")
        if rng.random() >= self.config.survey_share:
            return
        stars = self.config.survey_stars
        answers = {q.id: rng.choices(range(1, len(stars) + 1), stars)[0] for q in self.site.survey}
        self.send(exits[0].id, "record_survey", {"ticket": self.tickets[r.index][-1], "answers": answers})

    def finished(self, r: Resident, served: bool = True) -> None:
        if served:
            self.survey(r)
        self.leaving.add(r.index)
        self.left -= 1
        if self.left == 0:
            self.all_done.succeed()

    # ------------------------------------------------------------ waking idle staff
    def park(self, groups: Sequence[str]) -> simpy.Event:
        """Wait until something may have become work for ``groups``."""
        event = self.env.event()
        for g in groups:
            self.idle.setdefault(g, []).append(event)
        return event

    def wake_group(self, group: str) -> None:
        for event in self.idle.pop(group, []):
            if not event.triggered:
                event.succeed()

    def wake(self, ticket: TicketJson) -> None:
        """Wake the idle staff who may serve the ticket now: counters where it is callable, the booths when it
        waits for a seat or its booth has front steps ready, the sections it has booth requests for."""
        if ticket["status"] != "waiting":
            return
        ready = _ready(ticket, self.requires)
        at_booth = ("booth", "front")
        if ticket["booth"] is None:
            groups = {s["group"] for s in ready if s["mode"] == "counter"}
            if any(s["status"] != "done" and s["mode"] in at_booth for s in ticket["itinerary"]):
                groups.add(self.booth_group)
        else:
            groups = {s["group"] for s in ready if s["mode"] == "booth"}
            if any(s["mode"] == "front" for s in ready):
                groups.add(self.booth_group)
        for g in sorted(groups):
            self.wake_group(g)

    # ------------------------------------------------------------ staff
    def section(self, counter: str) -> Generator[simpy.Event, Any, None]:
        """A section counter's staff member: their own queue, and the booths' requests for their groups."""
        groups = self.site.counter_by_id[counter].groups
        person = self.staff[counter]
        policy = self.config.request_policy
        while True:
            if self.one_stop and policy == "requests_first" and (request := self.request_for(groups)):
                yield from self.go_to_booth(counter, request, person)
                continue
            ticket = self.send(PANEL, "call_next", {"counter": counter})["ticket"]
            if ticket is not None:
                yield from self.serve(counter, ticket, person)
                continue
            if self.one_stop and policy == "queue_first" and (request := self.request_for(groups)):
                yield from self.go_to_booth(counter, request, person)
                continue
            yield self.park(groups)

    def request_for(self, groups: Sequence[str]) -> str | None:
        """The booth request a counter of ``groups`` takes next: priority first, then the longest seated."""
        now = self.core.clock()
        requests = [q for g in groups for q in self.core.engine.requests_state(g).requests]
        if not requests:
            return None
        return min(requests, key=lambda q: (not q.priority, q.since or now)).ticket

    def go_to_booth(self, counter: str, ticket_id: str, person: StaffDay) -> Generator[simpy.Event, Any, None]:
        """Take a booth's request: walk there, serve, complete; with ``chain_requests`` take the next open request
        for the counter's groups from there (booth to booth: the walk across the floor), then walk back."""
        groups = self.site.counter_by_id[counter].groups
        home = here = self.floor[counter]
        request: str | None = ticket_id
        while request is not None:
            ticket = self.send(PANEL, "take_request", {"counter": counter, "ticket": request})["ticket"]
            r = self.owner[request]
            self.view[request] = ticket
            booth_floor = self.floor[ticket["booth"]]
            walk = self.config.walk(here, booth_floor)
            minutes = self.minutes(r, ticket)
            yield self.env.timeout(walk + minutes)
            self.dispatch_walk[r.index] += walk
            person.busy_min += walk + minutes
            person.walk_min += walk
            self.changed(r, self.send(PANEL, "complete", {"counter": counter})["ticket"])
            here = booth_floor
            request = self.request_for(groups) if self.chain(groups) else None
        back = self.config.walk(here, home)
        person.busy_min += back  # counted before it is walked: the day may end while they walk back
        person.walk_min += back
        person.last_end_min = self.env.now + back
        yield self.env.timeout(back)

    def chain(self, groups: Sequence[str]) -> bool:
        """Whether staff at a booth go on to the next request rather than back to their counter."""
        if not self.config.chain_requests:
            return False
        if self.config.request_policy == "requests_first":
            return True
        now = self.core.clock()
        return not any(self.core.engine.group_state(g, now).waiting for g in groups)

    def booth_staff(self, person: StaffDay) -> Generator[simpy.Event, Any, None]:
        """A booth staff member: the front steps of a seated resident that are ready, else seats the next."""
        while True:
            booth = self.booth_job()
            if booth is None:
                yield self.park([self.booth_group])
                continue
            ticket = self.send(PANEL, "call_next", {"counter": booth})["ticket"]
            assert ticket is not None, f"{booth}: nothing to do after all"
            yield from self.serve(booth, ticket, person)

    def booth_job(self) -> str | None:
        """The booth whose seated resident has front steps ready, else a free booth when someone waits for one."""
        engine = self.core.engine
        free = None
        for b in self.staffing.booths:
            counter = engine.state.counters[b]
            if counter.serving is not None:
                continue
            if counter.seated is None:
                free = free or b
                continue
            ticket = self.view[counter.seated]
            if ticket["status"] == "waiting" and any(s["mode"] == "front" for s in _ready(ticket, self.requires)):
                return b
        if free is not None and engine.group_state(self.booth_group, self.core.clock()).waiting:
            return free
        return None

    def serve(self, counter: str, ticket: TicketJson, person: StaffDay) -> Generator[simpy.Event, Any, None]:
        """A call at a counter or a booth: the resident walks up (or was gone), is served, done."""
        r = self.owner[ticket["id"]]
        before = self.view.get(ticket["id"])
        self.view[ticket["id"]] = ticket
        if not (before is not None and before["booth"] == counter):  # a call, not the booth's next step (LES)
            groups = {s["group"] for s in ticket["itinerary"] if s["status"] == "serving"}
            for g in {self.booth_group} if counter in self.staffing.booths else groups:
                self.last_wait[g] = self.env.now - self.free_at[r.index]
        if r.index not in self.called:
            self.called.add(r.index)
            if r.no_show:
                yield self.env.timeout(self.config.no_show_wait_min)
                person.busy_min += self.config.no_show_wait_min
                person.last_end_min = self.env.now
                self.view[ticket["id"]] = self.send(PANEL, "no_show", {"counter": counter})["ticket"]
                self.wake_group(self.booth_group)  # a booth may be free
                self.finished(r, served=False)
                return
        walk = 0.0
        if self.config.resident_walks and not (before is not None and before["booth"] == counter):
            walk = self.resident_walk(r, self.floor[counter])
        self.where[r.index] = self.floor[counter]
        minutes = self.minutes(r, ticket)
        yield self.env.timeout(walk + minutes)
        self.walked[r.index] += walk
        person.busy_min += walk + minutes
        person.last_end_min = self.env.now
        self.free_at[r.index] = self.env.now
        self.changed(r, self.send(PANEL, "complete", {"counter": counter})["ticket"])

    def resident_walk(self, r: Resident, floor: int) -> float:
        """What is left of the resident's walk when called to a counter on ``floor``: they head for the floor of
        their next counter while they wait (the board and the phone page say where), so the stairs cost only
        what the wait did not cover; from the waiting area to the counter always remains."""
        stairs = self.config.walk_per_floor_min * abs(self.where[r.index] - floor)
        waited = self.env.now - self.free_at[r.index]
        return self.config.resident_approach_min + max(0.0, stairs - waited)

    def minutes(self, r: Resident, ticket: TicketJson) -> float:
        """The drawn minutes of the steps being served (a pickup: handing it over)."""
        total = 0.0
        for s in ticket["itinerary"]:
            if s["status"] != "serving":
                continue
            if s["kind"] == "pickup":
                total += self.config.pickup_min
            elif s["mode"] == "front" and s["procedure"] in self.proxied:
                total += r.minutes[s["procedure"]] * self.config.proxy_minutes_factor
            else:
                total += r.minutes[s["procedure"]]
        return total

    def record_payment(self, r: Resident) -> None:
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
        keyed = random.Random(f"mode/{self.start.date()}/{r.index}").random() < self.config.semi_self_share
        args["register_mode"] = "semi_self" if keyed else "full_self"
        self.send(REGISTER, "record_payment", args)

    # ------------------------------------------------------------ results
    def result(self, day: date, seed: int, wall_s: float) -> DayResult:
        journal = self.core.journal
        key = day.isoformat()
        counter_groups = {c.id: c.group for c in self.site.counters}
        visits = read_day(journal.day_entries(key), counter_groups)
        arrived = [r for r in self.residents if r.arrival_min <= self.env.now]  # all, unless stopped early
        outcomes = [self.outcome(r, [visits.visits[t] for t in self.tickets[r.index]]) for r in arrived]
        groups = {g: GroupDay(len(c)) for g, c in self.staffing.counters.items()}
        if self.staffing.booth_staff:
            groups[self.booth_group] = GroupDay(self.staffing.booth_staff)
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
            staffing=self.staffing,
            staff=list(self.staff.values()),
            dispatches=sum(s.kind == "request" for s in visits.services()),
            visits=visits,
        )

    def outcome(self, r: Resident, visits: list[Visit]) -> ResidentOutcome:
        estimates = self.estimates.get(r.index, {})
        no_show = any(v.no_shows for v in visits)
        complete = bool(visits) and not no_show and all(v.done_at is not None for v in visits)
        if self.mode == "ticket_per_counter":
            complete = complete and len(visits) == len(self.stages[r.index])
        done_at = max(v.done_at for v in visits if v.done_at is not None) if complete else None
        first_call = min((s.called_at for v in visits for s in v.services), default=None)
        staffed = [p for p in r.procedures if p not in self.register]
        return ResidentOutcome(
            index=r.index,
            visit=r.visit,
            procedures=r.procedures,
            groups=len({self.group_of[p] for p in staffed}),
            staffed=len(staffed),
            arrival=self.start + timedelta(minutes=r.arrival_min),
            tickets=len(visits),
            ticket_ids=tuple(v.ticket for v in visits),
            no_show=no_show,
            one_stop=any(s.counter in self.staffing.booths for v in visits for s in v.services),
            stay_min=(done_at - visits[0].issued_at).total_seconds() / 60 if done_at is not None else None,
            wait_min=sum(v.wait_min for v in visits),
            first_wait_min=(first_call - visits[0].issued_at).total_seconds() / 60 if first_call else None,
            walk_min=self.walked[r.index],
            dispatch_walk_min=self.dispatch_walk[r.index],
            pay_min=self.paid[r.index],
            est_wait_min=estimates.get("est_wait_min"),
            ahead=estimates.get("ahead"),
            naive_min=estimates.get("naive_min"),
            naive_per_counter_min=estimates.get("naive_per_counter_min"),
            est_low=estimates.get("est_low"),
            est_high=estimates.get("est_high"),
            les_min=estimates.get("les_min"),
            hol_min=estimates.get("hol_min"),
            work_ahead_min=estimates.get("work_ahead_min"),
            known_times_min=estimates.get("known_times_min"),
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

    ``site`` is the site as its file says; a one-stop mode runs on :func:`mode_site` of it. ``until`` stops
    the day at that time of day, tickets still waiting and counters still serving (a "live" day for the demo).
    ``residents`` overrides the draw (tests); by default they are :func:`draw_residents` of the seed and the
    day, the same for every mode.
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
    mode: Mode = "one_ticket",
) -> list[DayResult]:
    """Fill a (non-durable) journal with simulated past days, oldest first, in ``mode``.

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
            results.append(simulate_day(site, journal, day, config, mode, seed))
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
