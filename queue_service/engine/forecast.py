"""A forward simulation of today's queue from the engine's state: when every waiting ticket will be called.

The old estimate divided the work ahead by the open counters. That misses most of what makes a ward office's
waits: a ticket ahead that is being served at another counter is skipped (and comes back), a later step waits
for an earlier one at another group, a shared counter serves two groups, priority tickets are called first but
fairly, a booth is held while the sections come. Rather than model each effect, this module replays the
engine's own calling rules forward in time on a copy of the state, with every service taking its procedure's
observed mean minutes (:meth:`~queue_service.engine.estimate.ServiceTimes.expected`, a longer memory than
the recent window: the error of a mean is shared by every service ahead):

- a free counter calls by issue order with the fair priority ratio (its own group's bookkeeping), among the
  tickets callable at its groups now: not being served elsewhere, a pending counter step there whose
  prerequisites are done (or served in the same sitting), and serves all of them in one sitting;
- a busy counter is free when its current service is expected to end (at least ``OVERDUE_SHARE`` of the
  expected minutes from now when it has run over: a long case is likely to be a long case);
- a booth seats the next ticket waiting for one when one of the booth staff is free, and is held for the sum
  of its booth and front steps (the sections' walk and their own queues are not modelled: a simple
  approximation). The engine sees the booth staff only while they serve: those serving now, plus one free now
  when a seat is free and nobody has waited for one longer than ``IDLE_GRACE`` (had one been free earlier, they
  would have seated whoever waits);
- a counter that finds nothing sleeps until a ticket it could serve finishes elsewhere (only the ticket whose
  service ended changed, so only that one can have become callable).

Next to the real tickets each open group has a *ghost*: a new arrival with one step there, last in issue order.
It is called the first time a counter of that group would call it, which is the wait ``at_group`` tells the
board. It takes no time, so it delays nobody.

Along the way each counter adds up the variance of the services it started; the variance of a call's time is
that sum divided by the counters sharing the counter's group (c counters share k services: k σ² / c²). The
estimator (:mod:`queue_service.engine.waits`) turns it into the range told to residents.

Pure and deterministic: the same state and origin give the same forecast. Not modelled: residents arriving later
(a priority arrival jumps ahead), counters opening or closing, no-shows, set-aside tickets coming back.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from math import inf
from typing import TYPE_CHECKING

from queue_service.engine.model import AT_BOOTH, StepKind, StepMode, StepStatus, TicketStatus

if TYPE_CHECKING:
    from queue_service.engine.engine import QueueEngine
    from queue_service.engine.model import Ticket

#: A service that has run past its expected minutes still needs this share of them (and at least this).
OVERDUE_SHARE = 0.25
#: Handing over a later delivery (a pickup's observed time is attributed to its procedure: not usable here).
PICKUP_MINUTES = 2.0
PICKUP_VARIANCE = 1.0
#: A booth staff member's minutes for seating a resident with no front step of their own.
STAFF_SEATING = 1.0
#: Nobody has waited for a seat longer than this while one is free: one of the booth staff is idle (minutes).
IDLE_GRACE = 2.0

_NONE: list = []  # never appended to: a step's needs are a list of their own once it has some

#: A call: (minutes, variance in minutes², relative). Minutes from the origin, or, when ``relative``, from the
#: moment asked: the call comes from a counter free at the origin (it has not called yet: it will when asked).
Call = tuple[float, float, bool]
#: A step's actual minutes when known (benches): ticket id, procedure → minutes or None.
KnownMinutes = Callable[[str, str], float | None]


@dataclass(frozen=True)
class Forecast:
    """When each waiting ticket is called, as seen from ``origin``."""

    origin: datetime
    #: ticket id → its first call anywhere (a booth included)
    first: dict[str, Call]
    #: (ticket id, group) → its first call at that group (the booths' group: seated at a booth)
    at_group: dict[tuple[str, str], Call]
    #: group → a new arrival's call there (groups with an open counter only)
    arrival: dict[str, Call]
    #: tickets and sittings simulated (for the bench)
    sittings: int = 0


class _Step:
    __slots__ = ("procedure", "group", "mean", "var", "needs", "done")

    def __init__(self, procedure: str, group: str, mean: float, var: float) -> None:
        self.procedure = procedure
        self.group = group
        self.mean = mean
        self.var = var
        self.needs: list[_Step] = _NONE  # the visit's open steps it requires (shared and empty until it has some)
        self.done = inf  # when it is done (minutes from the origin); inf: pending


class _Ticket:
    __slots__ = (
        "id",
        "seq",
        "priority",
        "steps",
        "callable",
        "blocked",
        "free",
        "booth",
        "booth_mean",
        "booth_var",
        "front_mean",
        "front_var",
        "calls",
        "first",
        "parked",
        "serving",
        "busy",
    )

    def __init__(self, ticket: Ticket) -> None:
        self.id = ticket.id
        self.seq = ticket.seq
        self.priority = ticket.priority
        self.steps: list[_Step] = []
        self.callable: list[_Step] = []  # its counter steps that can be called (when pending and unblocked)
        #: a counter's groups → a step, not servable in that sitting, whose being pending keeps it from calling this
        self.blocked: dict[tuple[str, ...], _Step] | None = None
        self.free = 0.0  # busy (served, seated) until then
        self.busy = False  # until the event of the counter it is at when ``free`` (ties: as the engine sees them)
        self.booth: list[_Step] = []  # open steps served at a booth (it waits for a seat while not seated)
        self.booth_mean = 0.0
        self.booth_var = 0.0
        self.front_mean = 0.0  # of those, what the booth's own staff do (they seat the resident and serve these)
        self.front_var = 0.0
        self.calls: dict[str, Call] = {}
        self.first: Call | None = None
        self.parked: list[tuple[_Queue, int]] = []  # the queues it is out of until its current service ends
        self.serving: list[_Step] = []  # its steps being served now

    def sitting(self, groups: tuple[str, ...], t: float) -> list[_Step]:
        """The steps a counter of ``groups`` serves if it calls this ticket at ``t`` (the engine's _ready_steps)."""
        blocked = self.blocked
        if blocked is not None and (block := blocked.get(groups)) is not None:
            if block.done > t:
                return []
            del blocked[groups]
        here = [s for s in self.callable if s.done == inf and s.group in groups]
        if not here or not any(s.needs for s in here):
            return here
        chosen: list[_Step] = []
        grew = True
        while grew:
            grew = False
            for s in here:
                if s not in chosen and all(r.done <= t or r in chosen for r in s.needs):
                    chosen.append(s)
                    grew = True
        if not chosen:  # remember what it waits for: looked at again only once that is done
            for s in here:
                for r in s.needs:
                    if r.done > t and r not in here:
                        if self.blocked is None:
                            self.blocked = {}
                        self.blocked[groups] = r
                        return chosen
        return chosen

    def pending_at(self, group: str) -> bool:
        for s in self.callable:  # noqa: SIM110 (a loop, not any(): this runs at every look at a queue's head)
            if s.done == inf and s.group == group:
                return True
        return False

    def called(self, group: str, call: Call) -> None:
        if group not in self.calls:
            self.calls[group] = call
        if self.first is None:
            self.first = call


class _Queue:
    """A group's tickets in issue order, priority and normal apart; heads skip those with nothing left there."""

    __slots__ = ("lists", "heads")

    def __init__(self) -> None:
        self.lists: tuple[list[_Ticket], list[_Ticket]] = ([], [])  # priority, normal
        self.heads = [0, 0]


class _Counter:
    __slots__ = ("index", "groups", "group", "booth", "free", "var", "ticket", "share", "ghosted", "now")

    def __init__(self, index: int, groups: tuple[str, ...], group: str, booth: bool) -> None:
        self.index = index
        self.groups = groups
        self.group = group
        self.booth = booth
        self.free = 0.0
        self.var = 0.0  # variance of the time it is free at
        self.ticket: _Ticket | None = None  # served until ``free``
        self.share = 1  # open counters of its own group
        self.ghosted = False  # the new arrival's call at its groups is known
        #: free at the origin and calling since without a pause: its times count from when the forecast is asked
        self.now = True


class _Run:
    """One forward simulation; see the module docstring."""

    def __init__(self, engine: QueueEngine, origin: datetime, known: KnownMinutes | None = None) -> None:
        self.engine = engine
        self.known = known
        site = engine.site
        self.booth_group = site.booth_group
        ratio = site.queue.priority_ratio
        self.ratio_normal, self.ratio_priority = ratio.normal, ratio.priority
        self.owed = {g: r.normal_owed for g, r in engine.state.groups.items()}
        self.queues: dict[str, _Queue] = {}
        self.booth_queue = _Queue()
        self.tickets: list[_Ticket] = []
        self.counters: list[_Counter] = []
        self.ghosts: dict[str, Call] = {}
        self.open_groups: set[str] = set()
        self.together: set[tuple[str, str]] = set()  # groups some open counter serves in one sitting
        #: when each booth staff member is free: as many as serve at the booths now (seats outnumber them), at
        #: least one; a free seat seats the next resident only with one of them (who then does the front steps)
        self.staff: list[float] = []
        self.staff_var = 0.0  # variance of the booth staff's work started (pooled over them at a call)
        self.sittings = 0
        self._times: dict[str, tuple[float, float]] = {}
        self._build(origin)

    # ------------------------------------------------------------ from the engine's state
    def _time(self, procedure: str) -> tuple[float, float]:
        known = self._times.get(procedure)
        if known is None:
            times = self.engine.times
            known = self._times[procedure] = (times.expected(procedure), times.variance(procedure))
        return known

    def _needs(self, ticket: Ticket, copies: dict[int, _Step], procedure: StepKind) -> None:
        """Each copied step's prerequisites among the visit's open steps (the engine's _prerequisites_done: the
        visit's first step of the required procedure, when it is not done)."""
        requires = self.engine.requires
        first: dict[str, _Step | None] = {}
        for step in ticket.steps:
            if step.kind is procedure and step.procedure not in first:
                first[step.procedure] = copies.get(id(step))  # None: done
        for step in ticket.steps:
            s = copies.get(id(step))
            if s is None or step.kind is not procedure:
                continue
            for required in requires[step.procedure]:
                other = first.get(required)
                if other is not None:
                    s.needs = [*s.needs, other]

    def _build(self, origin: datetime) -> None:
        state = self.engine.state
        requires = self.engine.requires
        booths = self.booth_group
        by_id: dict[str, _Ticket] = {}
        times = self._times
        needy = {p for p, r in requires.items() if r}
        waiting, serving_, done_, pending_ = (
            TicketStatus.WAITING,
            TicketStatus.SERVING,
            StepStatus.DONE,
            StepStatus.PENDING,
        )
        pickup, procedure_, counter_mode = StepKind.PICKUP, StepKind.PROCEDURE, StepMode.COUNTER
        front_mode = StepMode.FRONT
        tickets = self.tickets
        longest = 0.0  # minutes the longest-waiting resident without a seat has waited for one
        for ticket in state.tickets.values():
            status = ticket.status
            if status is not waiting and status is not serving_:
                continue
            t = _Ticket(ticket)
            steps, callable_steps = t.steps, t.callable
            copies: dict[int, _Step] = {}  # id(engine step) → its copy
            needs = False
            for step in ticket.steps:
                step_status = step.status
                if step_status is done_:
                    continue
                procedure = step.procedure
                if step.kind is pickup:
                    mean, var = PICKUP_MINUTES, PICKUP_VARIANCE
                else:
                    mean, var = times.get(procedure) or self._time(procedure)
                    if self.known is not None and step_status is pending_:
                        mean = self.known(ticket.id, procedure) or mean
                pending = step_status is pending_
                callable_ = pending and step.ready and step.mode is counter_mode
                s = _Step(procedure, step.group, mean, var)
                steps.append(s)
                copies[id(step)] = s
                needs = needs or procedure in needy
                if callable_:
                    callable_steps.append(s)
                elif not pending:
                    t.serving.append(s)
                elif booths is not None and step.mode in AT_BOOTH:
                    t.booth.append(s)
                    t.booth_mean += mean
                    t.booth_var += var
                    if step.mode is front_mode:
                        t.front_mean += mean
                        t.front_var += var
            if needs:
                self._needs(ticket, copies, procedure_)
            if t.booth and ticket.booth is None and status is waiting:
                longest = max(longest, (origin - ticket.issued_at).total_seconds() / 60)
            if status is serving_ or ticket.booth is not None:
                t.free, t.busy = inf, True  # until its counter or booth is free (below); never, if that is closed
            by_id[ticket.id] = t
            tickets.append(t)

        mine: dict[str, _Counter] = {}
        for c in state.counters.values():
            if not c.open:
                continue
            counter = _Counter(len(self.counters), c.groups or (c.group,), c.group, c.booth)
            self.counters.append(counter)
            mine[c.id] = counter
            self.open_groups.update(counter.groups)
            if c.serving is None or c.since is None or c.serving not in by_id:
                continue
            t = by_id[c.serving]
            serving = t.serving
            mean = sum(s.mean for s in serving)
            var = sum(s.var for s in serving)
            left = remaining(mean, (origin - c.since).total_seconds() / 60)
            for s in serving:
                s.done = left
            if not (c.booth or c.away_at is not None):  # at a booth the seat stays held (below)
                t.free = left
            if c.booth:
                heapq.heappush(self.staff, left)  # the booth's staff member is free again then
                self.staff_var += var * min(1.0, left / mean) if mean > 0 else 0.0
            counter.free, counter.ticket, counter.now = left, t, False
            counter.var = var * min(1.0, left / mean) if mean > 0 else 0.0
        # a seated ticket holds its booth until its booth steps are done (the ones being served first)
        for c in state.counters.values():
            if not (c.booth and c.seated is not None and c.id in mine and c.seated in by_id):
                continue
            t = by_id[c.seated]
            end = max((s.done for s in t.steps if s.done != inf), default=0.0) + t.booth_mean
            for s in t.booth:
                s.done = end
            counter = mine[c.id]
            counter.free, counter.ticket, counter.now = end, t, False
            counter.var += t.booth_var
            t.free, t.booth = end, []
        seats = [c for c in state.counters.values() if c.open and c.booth]
        if seats and (
            not self.staff or longest < IDLE_GRACE and any(c.seated is None and c.serving is None for c in seats)
        ):
            # nobody serving at the booths now, or a seat free that nobody has been waiting for: one of the
            # booth staff is free now (had one been free earlier, they would have seated whoever waits)
            heapq.heappush(self.staff, 0.0)
        shares: dict[str, int] = {}
        for counter in self.counters:
            shares[counter.group] = shares.get(counter.group, 0) + 1
            self.together.update((g, h) for g in counter.groups for h in counter.groups if g != h)
        for counter in self.counters:
            counter.share = shares[counter.group]
        for t in self.tickets:
            which = 0 if t.priority else 1
            for g in dict.fromkeys(s.group for s in t.callable):
                self.queues.setdefault(g, _Queue()).lists[which].append(t)
            if t.booth:
                self.booth_queue.lists[which].append(t)

    # ------------------------------------------------------------ calling
    def _first(self, counter: _Counter, which: int, t: float) -> tuple[_Ticket, list[_Step]] | None:
        """The first ticket of kind ``which`` (0 priority, 1 normal) ``counter`` can call at ``t``, with its steps."""
        if counter.booth:
            queue = self.booth_queue
            items = queue.lists[which]
            i = queue.heads[which]
            while i < len(items) and not items[i].booth:
                i += 1
            queue.heads[which] = i
            for j in range(i, len(items)):
                ticket = items[j]
                if ticket.booth and not ticket.busy:
                    return ticket, ticket.booth
            return None
        best: tuple[_Ticket, list[_Step]] | None = None
        for g in counter.groups:  # a counter of several groups: the first of their queues by issue order
            group_queue = self.queues.get(g)
            if group_queue is not None and group_queue.heads[which] < len(group_queue.lists[which]):
                found = self._scan(group_queue, which, g, counter.groups, t, inf if best is None else best[0].seq)
                if found is not None:
                    best = found
        return best

    def _scan(
        self, queue: _Queue, which: int, g: str, groups: tuple[str, ...], t: float, before: float
    ) -> tuple[_Ticket, list[_Step]] | None:
        """The first ticket in ``queue`` (before issue number ``before``) a counter of ``groups`` can call at ``t``.

        A ticket busy elsewhere, or waiting for a step no counter of ``g`` can serve with it, is taken out of the
        queue (parked) until its current service ends (:meth:`_unpark`): nothing else can change that, so the
        queue is not walked past it again and again."""
        items = queue.lists[which]
        i, n = queue.heads[which], len(items)
        if i >= n:
            return None
        while i < n and not items[i].pending_at(g):
            i += 1
        queue.heads[which] = i
        j = i
        while j < len(items):
            ticket = items[j]
            if ticket.seq >= before:
                return None
            if ticket.busy:
                del items[j]
                ticket.parked.append((queue, which))
                continue
            steps = ticket.sitting(groups, t)
            if steps:
                return ticket, steps
            block = None if ticket.blocked is None else ticket.blocked.get(groups)
            if block is not None and (g, block.group) not in self.together:
                del items[j]
                ticket.parked.append((queue, which))
                continue
            if not ticket.pending_at(g):
                del items[j]
                continue
            j += 1
        return None

    @staticmethod
    def _unpark(ticket: _Ticket) -> None:
        """Its service ended: back into the queues it was taken out of, in issue order."""
        for queue, which in ticket.parked:
            items = queue.lists[which]
            items.insert(bisect.bisect_left(items, ticket.seq, lo=queue.heads[which], key=_seq), ticket)
        ticket.parked.clear()

    def _pick(self, counter: _Counter, t: float) -> bool:
        """``counter`` is free at ``t``: it calls the next ticket (True) or finds none and sleeps (False)."""
        if counter.booth and self.staff[0] > t:  # a free seat, no free staff: look again when one is
            counter.free, counter.ticket, counter.now = self.staff[0], None, False
            return True
        priority = self._first(counter, 0, t)
        normal = self._first(counter, 1, t)
        owed = self.owed.get(counter.group, 0)
        # the new arrival would be the next normal call: called now if it goes before the priority one
        if normal is None and not counter.ghosted and (priority is None or owed >= self.ratio_priority):
            call = (t, counter.var / counter.share, counter.now)
            for g in (self.booth_group or "",) if counter.booth else counter.groups:
                self.ghosts.setdefault(g, call)  # it takes no time and changes no bookkeeping
            counter.ghosted = True
        if priority is None and normal is None:
            return False
        if priority is not None and normal is not None:  # the engine's _calling_order, for one call
            take_normal = owed >= self.ratio_priority
            owed = owed - self.ratio_priority if take_normal else owed + self.ratio_normal
        else:
            take_normal = normal is not None
            if take_normal:
                owed = max(0, owed - self.ratio_priority)
        self.owed[counter.group] = owed
        ticket, steps = normal if take_normal else priority  # type: ignore[misc]
        self._serve(counter, ticket, steps, t)
        return True

    def _serve(self, counter: _Counter, ticket: _Ticket, steps: list[_Step], t: float) -> None:
        var = counter.var / counter.share
        if counter.booth:
            mean, extra = ticket.booth_mean, ticket.booth_var
            # a seat's call waits for a free seat and a free staff member: the larger of the two spreads
            var = max(var, self.staff_var / len(self.staff) ** 2)
            heapq.heapreplace(self.staff, t + max(ticket.front_mean, STAFF_SEATING))
            self.staff_var += ticket.front_var
            ticket.booth = []
            ticket.called(self.booth_group or "", (t, var, counter.now))
        else:
            mean = extra = 0.0
            for s in steps:
                mean += s.mean
                extra += s.var
            for s in steps:
                ticket.called(s.group, (t, var, counter.now))
        end = t + mean
        for s in steps:
            s.done = end
        ticket.free, ticket.busy = end, True
        counter.free, counter.ticket = end, ticket
        counter.var += extra
        self.sittings += 1

    def run(self) -> None:
        heap = [(c.free, c.index) for c in self.counters]
        heapq.heapify(heap)
        idle: list[_Counter] = []  # by index
        counters = self.counters
        while heap:
            t, i = heapq.heappop(heap)
            counter = counters[i]
            done, counter.ticket = counter.ticket, None
            if done is not None and done.free <= t:  # (a seated ticket stays at its booth when a section leaves)
                done.busy = False
                if done.parked:
                    self._unpark(done)
            if self._pick(counter, t):
                heapq.heappush(heap, (counter.free, i))
            else:
                bisect.insort(idle, counter, key=_index)
            if done is None or len(idle) < 2 and counter in idle:
                continue
            left = {s.group for s in done.callable if s.done == inf}
            if not left and not done.booth:
                continue  # its visit is over (or waits for what no counter calls)
            for other in list(idle):  # only the ticket whose service ended can have become callable
                wants = bool(done.booth) if other.booth else not left.isdisjoint(other.groups)
                if wants and other is not counter and self._pick(other, t):
                    other.now = counter.now  # it calls when this one's service ends: that one's time base
                    idle.remove(other)
                    heapq.heappush(heap, (other.free, other.index))

    def result(self, origin: datetime) -> Forecast:
        first: dict[str, Call] = {}
        at_group: dict[tuple[str, str], Call] = {}
        for t in self.tickets:
            if t.first is not None:
                first[t.id] = t.first
            for g, call in t.calls.items():
                at_group[(t.id, g)] = call
        arrival = {g: c for g, c in self.ghosts.items() if g in self.open_groups or g == self.booth_group}
        return Forecast(origin, first, at_group, arrival, self.sittings)


def remaining(mean: float, elapsed: float) -> float:
    """Expected minutes still to go of a service of this mean that has run ``elapsed`` minutes: what is left of
    the mean, and at least ``OVERDUE_SHARE`` of it once it has run over (a case running long is likely a long
    case). (A lognormal's E[S − a | S > a] was tried: it ran high on the simulated days, whose services include
    the resident's walk to the counter.)"""
    return max(mean - elapsed, OVERDUE_SHARE * mean)


def _index(counter: _Counter) -> int:
    return counter.index


def _seq(ticket: _Ticket) -> int:
    return ticket.seq


def forecast(engine: QueueEngine, origin: datetime, known: KnownMinutes | None = None) -> Forecast:
    """Simulate the queue forward from ``origin`` (see the module docstring). ``known`` (benches only): a step's
    actual minutes, ticket id and procedure → minutes (None: not known), instead of its procedure's mean: the
    bound no estimator can beat, that knows how long every resident in the queue will take."""
    run = _Run(engine, origin, known)
    run.run()
    return run.result(origin)
