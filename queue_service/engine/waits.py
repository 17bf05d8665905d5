"""How long a resident will wait: the engine's estimates, in one place (docs/wait-estimate.md).

The engine owns the queue's rules; this module only reads its state to say "about N minutes" (``likely``) and
the range told to residents (``low``–``high``). Kept apart so the estimator can change without touching the
rules, and so its cost can be cached per state (``QueueEngine.version`` changes with every applied command and
every new day).

:class:`WaitEstimator` (issue 21) simulates the queue forward from the engine's state with the day's observed
service times (:mod:`queue_service.engine.forecast`) once per state and minute, and answers every question
(a group's wait for a new arrival, a ticket's first call, a step's call) from that one forecast.
:class:`WorkAheadEstimator` is the estimate before it (work ahead ÷ open counters), kept as the baseline.

Pure: no I/O, no clock of its own (``now`` is passed in), deterministic for a given state and minute.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import ceil, floor, sqrt
from typing import TYPE_CHECKING

from queue_service.engine.forecast import Call, Forecast, forecast
from queue_service.engine.model import AT_BOOTH, StepStatus, Ticket, TicketStatus

if TYPE_CHECKING:
    from queue_service.engine.engine import QueueEngine
    from queue_service.engine.model import Step


@dataclass(frozen=True)
class Wait:
    """Minutes until a call: the most likely and the range around it (``low`` ≤ ``likely`` ≤ ``high``)."""

    likely: int
    low: int
    high: int


class WaitEstimator:
    """The forecast's waits, with a range that held the actual wait 85–97 % of the time on simulated days.

    The forecast is computed at most once per (engine version, ``now`` rounded down to the minute) and cached:
    the service asks for every group's wait after every batch and for a ticket's in each reply. It is made as of
    that minute (the *origin*); an answer at ``now`` is the call's time from the origin minus ``now − origin``,
    except for the calls of a counter free at the origin (it has not called yet; it will once asked): those
    count from ``now``.

    The range: the forecast's own spread (the variance of the services before the call, pooled over the
    group's counters), plus a share of the wait itself for what the forecast does not know (residents who
    arrive later and go first, staff who take longer than the day's average, no-shows), plus a fixed minute or
    two; ``Z_LOW``/``Z_HIGH`` and the rest were fitted on simulated office days (bench/wait_estimate.py) for
    coverage ≥ 80 % with the narrowest range. Told to residents rounded: whole minutes up to 10, then to 5
    (:func:`told`).
    """

    #: Standard deviations below and above the most likely wait (fitted: bench/wait_estimate.py, two seeds ×
    #: 5 days × normal and overloaded; lower more than upper: a queue more often moves faster than forecast,
    #: when people ahead leave or are quick, than slower).
    Z_LOW = 1.4
    Z_HIGH = 1.0
    #: The part of the error that grows with the wait itself (a share of it, as a standard deviation): the day's
    #: mean service times are themselves estimates, and every service ahead shares their error.
    RELATIVE = 0.1
    #: Minutes always allowed either way (walking up, a no-show's two minutes, the minute's rounding).
    SLACK_LOW = 1.0
    SLACK_HIGH = 1.0

    def __init__(self, engine: QueueEngine) -> None:
        self.engine = engine
        self._key: tuple[int, datetime] | None = None
        self._forecast: Forecast | None = None

    def forecast(self, now: datetime) -> Forecast:
        """The forecast for the engine's current state as of ``now``'s minute (cached)."""
        origin = _minute(now)
        key = (self.engine.version, origin)
        if self._key != key or self._forecast is None:
            self._forecast = forecast(self.engine, origin)
            self._key = key
        return self._forecast

    def at_group(self, group: str, now: datetime, before: Ticket | None = None) -> Wait | None:
        """Until a ticket (or a new arrival when ``before`` is None) is called at ``group``; None: no counter open
        (or, for a ticket, not called there in the forecast)."""
        f = self.forecast(now)
        call = f.arrival.get(group) if before is None else f.at_group.get((before.id, group))
        return None if call is None else self.wait(call, now, f)

    def ticket(self, ticket: Ticket, now: datetime) -> Wait | None:
        """Until ``ticket`` is first called anywhere (what its ticket prints): 0 when served, None when not known
        (set aside, seated at a booth, or no counter open for it)."""
        if ticket.status is TicketStatus.SERVING:
            return Wait(0, 0, 0)
        if ticket.status is not TicketStatus.WAITING or ticket.booth is not None:
            return None
        f = self.forecast(now)
        call = f.first.get(ticket.id)
        return None if call is None else self.wait(call, now, f)

    def step(self, ticket: Ticket, step: Step, now: datetime) -> Wait | None:
        """Until ``ticket`` is called for ``step`` (the phone page's standing); the caller checked it is callable."""
        e = self.engine
        if step.mode in AT_BOOTH and e.site.booth_group is not None:
            return self.at_group(e.site.booth_group, now, ticket)
        return self.at_group(step.group, now, ticket)

    def wait(self, call: Call, now: datetime, f: Forecast) -> Wait:
        """A forecast call as minutes from ``now``, with its range."""
        at, var, relative = call
        minutes = at if relative else max(0.0, at - (now - f.origin).total_seconds() / 60)
        sd = sqrt(var + (self.RELATIVE * minutes) ** 2)
        low = minutes - self.Z_LOW * sd - self.SLACK_LOW
        high = minutes + self.Z_HIGH * sd + self.SLACK_HIGH
        return told(minutes, low, high)


def told(minutes: float, low: float, high: float) -> Wait:
    """The wait as residents are told it: the most likely whole minutes, and a range in whole minutes up to 10
    and in fives above ("10–15 min", not "11–14"), always around the most likely."""
    likely = floor(minutes + 0.5)
    lo = max(0, floor(low))
    hi = ceil(high)
    if lo > 10:
        lo = lo // 5 * 5
    if hi > 10:
        hi = -(-hi // 5) * 5
    return Wait(likely, min(lo, likely), max(hi, likely))


def _minute(now: datetime) -> datetime:
    """``now`` rounded down to the minute."""
    return now.replace(second=0, microsecond=0)


class WorkAheadEstimator:
    """Work ahead ÷ open counters: the estimate every ticket printed until issue 21, kept as the baseline the
    forecast is measured against (bench/wait_estimate.py). Same interface as :class:`WaitEstimator`."""

    #: The range told to residents around the work-ahead estimate.
    SPREAD = 0.25

    def __init__(self, engine: QueueEngine) -> None:
        self.engine = engine

    def at_group(self, group: str, now: datetime, before: Ticket | None = None) -> Wait | None:
        """Until a ticket (or a new arrival when ``before`` is None) is called at ``group``; None: no counter open."""
        minutes = self._wait_at(group, now, before)
        return None if minutes is None else self._ranged(minutes)

    def ticket(self, ticket: Ticket, now: datetime) -> Wait | None:
        """Until ``ticket`` is first called anywhere (what its ticket prints): 0 when served, None when not known."""
        if ticket.status is TicketStatus.SERVING:
            return Wait(0, 0, 0)
        if ticket.status is not TicketStatus.WAITING:
            return None
        e = self.engine
        waits = [
            self._wait_at(g, now, ticket)
            for g in dict.fromkeys(s.group for s in ticket.steps)
            if e._callable_steps(ticket, g)
        ]
        if e._waits_for_booth(ticket) and e.site.booth_group is not None:
            waits.append(self._wait_at(e.site.booth_group, now, ticket))
        known = [w for w in waits if w is not None]
        return self._ranged(min(known)) if known else None

    def step(self, ticket: Ticket, step: Step, now: datetime) -> Wait | None:
        """Until ``ticket`` is called for ``step`` (the phone page's standing); the caller checked it is callable."""
        e = self.engine
        if step.mode in AT_BOOTH and e.site.booth_group is not None:
            return self.at_group(e.site.booth_group, now, ticket)
        return self.at_group(step.group, now, ticket)

    # ------------------------------------------------------------ work ahead
    def _ranged(self, minutes: int) -> Wait:
        return Wait(minutes, floor(minutes * (1 - self.SPREAD)), ceil(minutes * (1 + self.SPREAD)))

    def _in_service_minutes(self, group: str, now: datetime) -> float:
        """Service time still to go at the group's busy counters (at least a tenth each)."""
        e = self.engine
        left = 0.0
        for counter in e.state.counters.values():
            if group not in counter.groups or counter.serving is None or counter.since is None:
                continue
            ticket = e.state.tickets[counter.serving]
            expected = sum(e.times.minutes(s.procedure) for s in ticket.steps if s.status is StepStatus.SERVING)
            elapsed = (now - counter.since).total_seconds() / 60
            left += max(expected - elapsed, expected * 0.1)
        if group == e.site.booth_group:  # a seated resident holds the booth while the sections come
            for counter in e.state.counters.values():
                if counter.booth and counter.seated is not None and counter.serving is None:
                    seated = e.state.tickets[counter.seated]
                    left += sum(e.times.minutes(s.procedure) for s in seated.steps if s.open and s.mode in AT_BOOTH)
        return left

    def _work(self, ticket: Ticket, group: str) -> float:
        e = self.engine
        if group == e.site.booth_group:  # a booth is held for every booth step of the visit
            if ticket.booth is not None or not ticket.needs_booth:
                return 0.0
            return sum(e.times.minutes(s.procedure) for s in ticket.steps if s.open and s.mode in AT_BOOTH)
        return sum(e.times.minutes(s.procedure) for s in e._callable_steps(ticket, group))

    def _wait_at(self, group: str, now: datetime, before: Ticket | None) -> int | None:
        e = self.engine
        open_counters = e.open_counters(group)
        if open_counters == 0:
            return None
        work = self._in_service_minutes(group, now)
        for other in e.state.tickets.values():
            if other.status is TicketStatus.WAITING and (before is None or e.ahead(other, before)):
                work += self._work(other, group)
        return ceil(work / open_counters)
