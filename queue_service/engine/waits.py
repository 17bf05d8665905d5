"""How long a resident will wait: the engine's estimates, in one place (docs/wait-estimate.md).

The engine owns the queue's rules; this module only reads its state to say "about N minutes" (``likely``) and
the range told to residents (``low``–``high``). Kept apart so the estimator can change (issue 21: an estimator
that learns from the day's flow) without touching the rules, and so its cost can be cached per state
(``QueueEngine.version`` changes with every applied command and every new day).

Pure: no I/O, no clock of its own (``now`` is passed in), deterministic for a given state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import ceil, floor
from typing import TYPE_CHECKING

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
    """Work ahead ÷ open counters: the estimate every ticket has printed since the first release."""

    #: The range told to residents around the work-ahead estimate (placeholder until a learnt one replaces it).
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
