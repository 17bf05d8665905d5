"""The queue engine: one ticket, a place in every counter group's queue of the visit.

Pure Python, no I/O: the service feeds it validated commands in journal order with
the time and a fresh token in a :class:`Context`, so replaying the journal rebuilds
exactly the same state. Every rule of the queue lives here:

- At issue a ticket joins the queue of EVERY group its itinerary needs, ordered by
  issue sequence. It is callable at a group when it has a pending step there whose
  prerequisites (among the visit's own procedures) are done, and it is not being
  served or set aside.
- ``call_next`` skips a ticket being served elsewhere without taking its place away:
  places are the issue sequence, which nothing changes.
- Priority is fair, not absolute: with a ratio normal:priority = n:p, priority tickets
  go first, but after each priority call n/p normal calls are owed before the next.
- A counter serves all of its groups' callable steps of the ticket at once; a counter may serve
  several groups (skills: a shared counter's staff serve what they are trained for).
- One-stop (docs/one-stop.md): a ticket with steps routed to the booth is called once, to a booth,
  and stays seated there; the booth's staff serve its ``front`` steps, and each ``booth`` step
  becomes a request a section's staff take (``take_request``) and serve at the booth. A seated
  ticket is called to no counter; the booth is freed when its booth steps are done or handed over.
- A ``later`` delivery adds a pickup step, callable once the back office marks it ready; a
  ``register`` step is closed by the self register and never called.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.bus.contract import ROLE_VERBS, Role, Verb
from kiosk.bus.schemas import (
    Announcement,
    BoardCall,
    BoardState,
    BoothRequest,
    BoothState,
    CallResult,
    ComingState,
    ComingTicket,
    CompleteArgs,
    CounterArgs,
    CounterResult,
    CounterState,
    GroupState,
    GuideUseArgs,
    GuideUseResult,
    HandoverNote,
    IssueArgs,
    Message,
    PaymentResult,
    Pickup,
    PickupsState,
    ReadyArgs,
    Reception,
    RecordFormsArgs,
    RecordPaymentArgs,
    RecordResult,
    RequestsState,
    Serving,
    ServingTicket,
    StepView,
    SurveyArgs,
    SurveyResult,
    TakeRequestArgs,
    TicketArgs,
    TicketPaidArgs,
    TicketResult,
    TicketView,
    TransferArgs,
    WaitRange,
    WaitState,
)
from kiosk.config.site import Site
from queue_service.engine.estimate import ServiceTimes
from queue_service.engine.index import QueueIndex
from queue_service.engine.model import (
    ACTIVE,
    AT_BOOTH,
    Call,
    CounterRuntime,
    DayState,
    GroupRuntime,
    Note,
    Step,
    StepKind,
    StepMode,
    StepStatus,
    Ticket,
    TicketStatus,
)
from queue_service.engine.ordering import order_by_precedence
from queue_service.engine.waits import Wait, WaitEstimator


class CommandError(Exception):
    """A command the queue refuses. ``code`` is the contract's snake_case error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Context:
    """What a command needs besides its args; recorded in the journal for replay."""

    now: datetime  # timezone-aware
    device: str
    token: str = ""  # a fresh unguessable token, used when a ticket is issued


@dataclass
class Outcome:
    result: Message
    #: The calls this command made (the service publishes each as ``called`` and, rev 2, ``announce``).
    called: list[Announcement] = field(default_factory=list)
    #: (procedure, minutes) service times observed by this command.
    samples: list[tuple[str, float]] = field(default_factory=list)


class QueueEngine:
    def __init__(self, site: Site, now: datetime, service_times: ServiceTimes | None = None) -> None:
        self.site = site
        self.requires = {p.id: p.requires for p in site.procedures}
        self.times = service_times or ServiceTimes(
            {p.id: p.minutes for p in site.procedures}, site.queue.service_time_window
        )
        self.state = self._fresh_day(self.local_day(now))
        #: Changes with every applied command and new day: what derived views (the waits) may cache on.
        self.version = 0
        self.waits = WaitEstimator(self)
        #: Off while the service replays its journal: the replies are thrown away, their estimates need not be made.
        self.estimating = True
        self._estimate_in_views = True
        self._memo: dict[tuple[str, StepMode, tuple[str, ...] | None], list[Step]] | None = None
        self._index: QueueIndex | None = None

    # ------------------------------------------------------------ days
    def local_day(self, now: datetime) -> str:
        if now.tzinfo is None:
            raise ValueError("the engine needs timezone-aware times")
        return now.astimezone(self.site.zone).date().isoformat()

    def _fresh_day(self, day: str) -> DayState:
        state = DayState(day=day, next_number=self.site.queue.number_first)
        booths = self.site.booth_group
        state.counters = {
            c.id: CounterRuntime(c.id, c.group, groups=c.groups, booth=c.group == booths) for c in self.site.counters
        }
        state.groups = {g.id: GroupRuntime(g.id) for g in self.site.groups}
        return state

    @property
    def day(self) -> str:
        return self.state.day

    def roll_over(self, now: datetime) -> bool:
        """Start a new service day if ``now`` is past the current one.

        Numbers restart, counters close, yesterday's tickets and notes are dropped from
        memory (the journal keeps the history). Observed service times carry over.
        """
        day = self.local_day(now)
        if day <= self.state.day:
            return False
        self.state = self._fresh_day(day)
        self.version += 1
        return True

    # ------------------------------------------------------------ commands
    def apply(self, verb: Verb | str, args: Message, ctx: Context) -> Outcome:
        """Apply one validated command. Raises :class:`CommandError` and changes nothing
        when the command is refused."""
        self.roll_over(ctx.now)
        self.version += 1  # also when refused: cheap, and a refused command may have looked at nothing
        verb = Verb(verb)
        role = self._authorize(verb, ctx.device)
        handler = getattr(self, f"_do_{verb.value}")
        # only a resident reads the estimate in a reply (the ticket printed or reprinted): the others leave it out
        # rather than make a forecast on the way to the board (staff see the groups' waits)
        self._estimate_in_views = verb in (Verb.ISSUE, Verb.REPRINT)
        try:
            outcome: Outcome = handler(args, ctx, role)
        finally:
            self._estimate_in_views = True
        return outcome

    def _authorize(self, verb: Verb, device_id: str) -> Role:
        device = self.site.device_by_id.get(device_id)
        if device is None:
            raise CommandError("unknown_device", f"device {device_id!r} is not in the site's device list")
        if verb not in ROLE_VERBS[device.role]:
            raise CommandError("forbidden", f"a {device.role} device may not {verb}")
        return device.role

    def _counter(self, counter_id: str, device_id: str) -> CounterRuntime:
        counter = self.state.counters.get(counter_id)
        if counter is None:
            raise CommandError("unknown_counter", f"no counter {counter_id!r}")
        allowed = self.site.device_by_id[device_id].counters
        if allowed and counter_id not in allowed:
            raise CommandError("forbidden", f"device {device_id!r} does not operate counter {counter_id!r}")
        return counter

    def _ticket(self, ticket_id: str) -> Ticket:
        ticket = self.state.tickets.get(ticket_id)
        if ticket is None:
            raise CommandError("unknown_ticket", f"no ticket {ticket_id!r} today")
        return ticket

    def _serving(self, counter: CounterRuntime) -> Ticket:
        if counter.serving is None:
            raise CommandError("not_serving", f"counter {counter.id} is not serving anyone")
        return self.state.tickets[counter.serving]

    def _check_procedures(self, ids: list[str]) -> None:
        unknown = [p for p in ids if p not in self.site.procedure_by_id]
        if unknown:
            raise CommandError("unknown_procedure", f"unknown procedure(s): {', '.join(unknown)}")

    def _check_reception(self, args: IssueArgs) -> None:
        if args.life_event is not None and args.life_event not in self.site.life_event_by_id:
            raise CommandError("unknown_life_event", f"no life event {args.life_event!r}")
        unknown = [q for q in args.answers if q not in self.site.question_by_id]
        if unknown:
            raise CommandError("unknown_question", f"unknown question(s): {', '.join(unknown)}")

    def _new_step(self, procedure_id: str, one_stop: bool) -> Step:
        """A step as the site routes it. In a one-stop visit ``front`` steps belong to the booths' group and
        ``booth`` steps wait for their section's staff; otherwise both are served at their group's counters."""
        procedure = self.site.procedure_by_id[procedure_id]
        mode = StepMode(procedure.routing)
        if mode in AT_BOOTH and not one_stop:
            mode = StepMode.COUNTER
        if mode is StepMode.FRONT and self.site.booth_group is not None:
            return Step(procedure_id, self.site.booth_group, mode=mode)
        return Step(procedure_id, procedure.group, mode=mode)

    def _do_issue(self, args: IssueArgs, ctx: Context, role: Role) -> Outcome:
        self._check_procedures(args.procedures)
        self._check_reception(args)
        if not ctx.token:
            raise ValueError("issue needs a token in its context")
        number = self._allocate_number()
        seq = len(self.state.tickets) + 1
        ticket_id = f"{self.state.day.replace('-', '')}-{seq:04d}"
        # not one-stop once the booths have closed for the day (before they open, the resident waits for one)
        one_stop = self.site.is_one_stop(args.procedures, args.life_event) and not self.state.booths_closed
        steps = [self._new_step(p, one_stop) for p in order_by_precedence(args.procedures, self.requires)]
        ticket = Ticket(
            id=ticket_id,
            seq=seq,
            number=number,
            token=ctx.token,
            lang=args.lang,
            priority=args.priority,
            issued_at=ctx.now,
            steps=steps,
            life_event=args.life_event,
            one_stop=one_stop,
            answers=dict(args.answers),
            reception_note=args.note,
        )
        self.state.tickets[ticket_id] = ticket
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now, token=True)))

    def _allocate_number(self) -> int:
        q = self.site.queue
        in_use = {t.number for t in self.state.tickets.values() if t.status in ACTIVE}
        if len(in_use) >= q.number_last - q.number_first + 1:
            raise CommandError("numbers_exhausted", "every ticket number is held by an open ticket")
        n = self.state.next_number
        while n in in_use:
            n = n + 1 if n < q.number_last else q.number_first
        self.state.next_number = n + 1 if n < q.number_last else q.number_first
        return n

    def _do_open_counter(self, args: CounterArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        counter.open = True
        if counter.booth:
            self.state.booths_closed = False
        return Outcome(CounterResult(counter=counter.id, open=True))

    def _do_close_counter(self, args: CounterArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        if counter.serving is not None or counter.seated is not None:
            raise CommandError("still_serving", f"counter {counter.id} must finish its visit before closing")
        counter.open = False
        if counter.booth and not self._booths_open():
            self.state.booths_closed = True
            self._to_counters_when_booths_close()
        return Outcome(CounterResult(counter=counter.id, open=False))

    def _booths_open(self) -> bool:
        return any(c.booth and c.open for c in self.state.counters.values())

    def _to_counters_when_booths_close(self) -> None:
        """The last booth closed: residents still waiting for one go to the sections' counters instead."""
        for ticket in self.state.tickets.values():
            if ticket.booth is None and ticket.status in (TicketStatus.WAITING, TicketStatus.ABSENT):
                self._steps_to_counters(ticket)

    def _steps_to_counters(self, ticket: Ticket) -> None:
        """A visit's booth and front steps become ordinary counter steps at their sections' groups."""
        for step in ticket.steps:
            if step.open and step.mode in AT_BOOTH:
                step.status, step.mode = StepStatus.PENDING, StepMode.COUNTER
                if step.group == self.site.booth_group:
                    step.group = self.site.procedure_by_id[step.procedure].group

    def _do_call_next(self, args: CounterArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        if not counter.open:
            raise CommandError("counter_closed", f"counter {counter.id} is closed; open it first")
        if counter.serving is not None:
            raise CommandError("counter_busy", f"counter {counter.id} is still serving; complete or no-show first")
        if counter.seated is not None:
            return self._serve_seated(counter, ctx.now)
        ticket = self._pick(counter)
        if ticket is None:
            return Outcome(CallResult(ticket=None))
        if counter.booth:
            ticket.booth, ticket.seated_at = counter.id, ctx.now
            counter.seated = ticket.id
        self._serve(ticket, counter, self._callable_at(ticket, counter), ctx.now)
        event = self._announce(ticket, counter, ctx.now, recall=False)
        view = self.ticket_view(ticket, ctx.now, note=True)
        return Outcome(CallResult(ticket=view), called=[event])

    def _serve(self, ticket: Ticket, counter: CounterRuntime, steps: list[Step], now: datetime) -> None:
        for step in steps:
            step.status = StepStatus.SERVING
        ticket.status = TicketStatus.SERVING
        ticket.counter = counter.id
        counter.serving, counter.since = ticket.id, now

    def _serve_seated(self, booth: CounterRuntime, now: datetime) -> Outcome:
        """A booth's "next" while a resident sits there: serve their front steps that are ready now (no call:
        they are already here), or say who the booth is waiting for."""
        assert booth.seated is not None
        ticket = self.state.tickets[booth.seated]
        steps = self._callable_at(ticket, booth) if ticket.status is TicketStatus.WAITING else []
        if not steps:
            waiting_for = ", ".join(dict.fromkeys(s.group for s in ticket.steps if s.open and s.mode in AT_BOOTH))
            raise CommandError(
                "booth_occupied",
                f"booth {booth.id} holds ticket {ticket.number}"
                + (f", waiting for {waiting_for}" if waiting_for else "")
                + "; hand it over to the counters to free the booth",
            )
        self._serve(ticket, booth, steps, now)
        return Outcome(CallResult(ticket=self.ticket_view(ticket, now, note=True)))

    def _pick(self, counter: CounterRuntime) -> Ticket | None:
        """The next ticket for ``counter``: by issue order, priority first but fair (per its own group)."""
        order = self._calling_order(counter, limit=1, commit=True)
        return order[0] if order else None

    def _candidate(self, ticket: Ticket, counter: CounterRuntime) -> bool:
        if counter.booth:
            return ticket.booth is None and ticket.needs_booth
        return bool(self._callable_at(ticket, counter))

    def _calling_order(
        self, counter: CounterRuntime, limit: int, commit: bool = False, statuses: frozenset = frozenset()
    ) -> list[Ticket]:
        """The next ``limit`` tickets ``counter`` would call, in order, as if it called them one after the other.

        ``commit`` keeps the fairness bookkeeping of the first (a real call); ``statuses`` adds tickets in other
        statuses (those being served elsewhere, for "coming next")."""
        wanted = {TicketStatus.WAITING, *statuses}
        pool = self._in_queue(counter.groups, counter.booth)
        # lazy: a call looks at tickets in issue order only until it has the first of each kind
        priority = (t for t in pool if t.priority and t.status in wanted and self._candidate(t, counter))
        normal = (t for t in pool if not t.priority and t.status in wanted and self._candidate(t, counter))
        next_priority, next_normal = next(priority, None), next(normal, None)
        ratio = self.site.queue.priority_ratio
        fairness = self.state.groups[counter.group]
        owed = fairness.normal_owed
        order: list[Ticket] = []
        while len(order) < limit and (next_priority or next_normal):
            if next_priority and next_normal:
                take_normal = owed >= ratio.priority
                owed = owed - ratio.priority if take_normal else owed + ratio.normal
            else:
                take_normal = next_normal is not None
                if take_normal:
                    owed = max(0, owed - ratio.priority)
            if take_normal:
                assert next_normal is not None
                order.append(next_normal)
                next_normal = next(normal, None)
            else:
                assert next_priority is not None
                order.append(next_priority)
                next_priority = next(priority, None)
            if commit and len(order) == 1:
                fairness.normal_owed = owed
        return order

    def _callable_at(self, ticket: Ticket, counter: CounterRuntime) -> list[Step]:
        """The steps ``counter`` can serve now. A booth serves its seated ticket's front steps; a seated ticket is
        called to no counter (the sections come to the booth); a section counter serves counter steps."""
        if counter.booth:
            if ticket.booth != counter.id:
                return []
            return self._ready_steps(ticket, StepMode.FRONT, None)
        if ticket.booth is not None:
            return []
        return self._ready_steps(ticket, StepMode.COUNTER, counter.groups)

    def _callable_steps(self, ticket: Ticket, group: str) -> list[Step]:
        """The counter steps ``group`` can serve now (estimates and standings; a seated ticket has none)."""
        if ticket.booth is not None:
            return []
        return self._ready_steps(ticket, StepMode.COUNTER, (group,))

    def _ready_steps(self, ticket: Ticket, mode: StepMode, groups: tuple[str, ...] | None) -> list[Step]:
        """Pending steps of ``mode`` (at ``groups``; None: any) whose prerequisites are done, or served in the same
        sitting (転入届 and 印鑑登録 at one counter are done together, not in two calls).

        Inside :meth:`reading` the answer is remembered per ticket: the retained state asks the same question of
        every ticket for every group and counter, and nothing changes while it does."""
        memo = self._memo
        if memo is not None:
            key = (ticket.id, mode, groups)
            found = memo.get(key)
            if found is None:
                found = memo[key] = self._ready_steps_now(ticket, mode, groups)
            return found
        return self._ready_steps_now(ticket, mode, groups)

    def _ready_steps_now(self, ticket: Ticket, mode: StepMode, groups: tuple[str, ...] | None) -> list[Step]:
        here = [
            s
            for s in ticket.steps
            if s.status is StepStatus.PENDING and s.ready and s.mode is mode and (groups is None or s.group in groups)
        ]
        if not here:
            return here
        chosen: list[Step] = []
        grew = True
        while grew:
            grew = False
            for step in here:
                if step not in chosen and self._prerequisites_done(ticket, step, also=chosen):
                    chosen.append(step)
                    grew = True
        return [s for s in here if s in chosen]

    @contextmanager
    def reading(self) -> Iterator[None]:
        """While the state does not change (the retained topics are being computed): remember what is asked."""
        outer = self._memo is not None
        if not outer:
            self._memo = {}
        try:
            yield
        finally:
            if not outer:
                self._memo = None
                self._index = None

    def _queue_index(self) -> QueueIndex | None:
        """The index of who is in which queue, inside :meth:`reading` (built on first use); None outside."""
        if self._memo is None:
            return None
        if self._index is None:
            self._index = QueueIndex(self.state.tickets.values())
        return self._index

    def _in_queue(self, groups: tuple[str, ...], booth: bool = False) -> Iterable[Ticket]:
        """The tickets that may be in the queue of ``groups`` (a superset: callers still check): with the index,
        only those with an open step there (``booth``: those needing a booth); else every ticket."""
        index = self._queue_index()
        if index is None:
            return self.state.tickets.values()
        return index.needs_booth if booth else index.at(groups)

    def _prerequisites_done(self, ticket: Ticket, step: Step, also: Sequence[Step] = ()) -> bool:
        """Every prerequisite of ``step`` in this visit is done (or among ``also``, served with it).
        A pickup needs nothing but its ``ready`` mark."""
        if step.kind is StepKind.PICKUP:
            return True
        for required in self.requires.get(step.procedure, ()):
            other = ticket.step_of(required)
            if other is not None and other.status is not StepStatus.DONE and other not in also:
                return False
        return True

    def _announce(self, ticket: Ticket, counter: CounterRuntime, now: datetime, recall: bool) -> Announcement:
        recent = [c for c in self.state.recent if c.number != ticket.number]
        recent.insert(0, Call(ticket.number, counter.id, now))
        self.state.recent = recent[: self.site.queue.recent_calls]
        return Announcement(number=ticket.number, counter=counter.id, at=now, recall=recall, lang=ticket.lang)

    def _do_recall(self, args: CounterArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        ticket = self._serving(counter)
        if counter.away_at is not None:
            raise CommandError("at_booth", f"{counter.id}'s staff serve number {ticket.number} at {counter.away_at}")
        event = self._announce(ticket, counter, ctx.now, recall=True)
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now, note=True)), called=[event])

    def _release(self, counter: CounterRuntime, ticket: Ticket, status: TicketStatus) -> None:
        counter.serving = counter.since = counter.away_at = None
        ticket.counter = None
        ticket.status = status
        self._settle_seat(ticket)

    def _settle_seat(self, ticket: Ticket) -> None:
        """Free the ticket's booth when nothing is left to do there, or the ticket left the queue."""
        if ticket.booth is None:
            return
        if ticket.status is TicketStatus.SERVING or (ticket.status is TicketStatus.WAITING and ticket.needs_booth):
            return
        booth = self.state.counters[ticket.booth]
        booth.seated = None
        if booth.serving == ticket.id:
            booth.serving = booth.since = None
        ticket.booth = ticket.seated_at = None

    def _do_complete(self, args: CompleteArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        ticket = self._serving(counter)
        self._check_procedures(args.add_procedures)
        served = [s for s in ticket.steps if s.status is StepStatus.SERVING]
        samples = self._samples(served, counter, ctx.now)
        for step in served:
            step.status = StepStatus.DONE
        self._add_steps(ticket, args.add_procedures)
        self._add_pickups(ticket, served)
        if args.note:
            ticket.note = Note(args.note, counter.id, ctx.now)
        self._release(counter, ticket, TicketStatus.DONE if ticket.finished else TicketStatus.WAITING)
        for procedure, minutes in samples:
            self.times.observe(procedure, minutes)
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now)), samples=samples)

    def _add_pickups(self, ticket: Ticket, served: list[Step]) -> None:
        """A later delivery (事後交付): the resident is called again to pick it up once it is marked ready."""
        for step in served:
            procedure = self.site.procedure_by_id[step.procedure]
            if step.kind is StepKind.PROCEDURE and procedure.delivery == "later":
                group = procedure.pickup_group or procedure.group
                ticket.steps.append(Step(step.procedure, group, kind=StepKind.PICKUP, ready=False))

    def _samples(self, served: list[Step], counter: CounterRuntime, now: datetime) -> list[tuple[str, float]]:
        """Split the counter's service time over the steps it served, by typical minutes."""
        served = [s for s in served if s.kind is StepKind.PROCEDURE]  # handing over a delivery is not the service
        if not served or counter.since is None:
            return []
        elapsed = max(0.0, (now - counter.since).total_seconds() / 60)
        weights = [self.site.procedure_by_id[s.procedure].minutes for s in served]
        total = sum(weights)
        return [(s.procedure, round(elapsed * w / total, 3)) for s, w in zip(served, weights, strict=True)]

    def _add_steps(self, ticket: Ticket, procedures: list[str]) -> None:
        open_ = {s.procedure for s in ticket.steps if s.open}
        added = [p for p in dict.fromkeys(procedures) if p not in open_]
        if not added:
            return
        ticket.steps.extend(self._new_step(p, ticket.one_stop) for p in added)
        done = [s for s in ticket.steps if not s.open]
        rest = [s for s in ticket.steps if s.open and s.kind is StepKind.PROCEDURE]
        pickups = [s for s in ticket.steps if s.open and s.kind is StepKind.PICKUP]
        order = order_by_precedence([s.procedure for s in rest], self.requires)
        rest.sort(key=lambda s: order.index(s.procedure))
        ticket.steps = done + rest + pickups

    def _do_no_show(self, args: CounterArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        ticket = self._serving(counter)
        for step in ticket.steps:
            if step.status is StepStatus.SERVING:
                step.status = StepStatus.PENDING
        self._release(counter, ticket, TicketStatus.ABSENT)
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now)))

    def _do_reactivate(self, args: TicketArgs, ctx: Context, role: Role) -> Outcome:
        ticket = self._ticket(args.ticket)
        if ticket.status is not TicketStatus.ABSENT:
            raise CommandError("ticket_not_absent", f"ticket {ticket.number} is {ticket.status}, not set aside")
        ticket.status = TicketStatus.WAITING
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now, note=True)))

    def _do_transfer(self, args: TransferArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        if args.to_group not in self.state.groups:
            raise CommandError("unknown_group", f"no counter group {args.to_group!r}")
        if args.to_group == counter.group:
            raise CommandError("same_group", "a transfer must go to another counter group")
        if args.to_group == self.site.booth_group:
            raise CommandError("booth_group", "booths seat residents; hand steps to a section's group instead")
        ticket = self._serving(counter)
        for step in ticket.steps:
            if step.status is StepStatus.SERVING:
                step.status, step.group = StepStatus.PENDING, args.to_group
                if step.mode is StepMode.FRONT:
                    step.mode = StepMode.BOOTH  # still at the booth: the other section's staff come
        if args.note:
            ticket.note = Note(args.note, counter.id, ctx.now)
        self._release(counter, ticket, TicketStatus.WAITING)
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now)))

    def _do_cancel(self, args: TicketArgs, ctx: Context, role: Role) -> Outcome:
        ticket = self._ticket(args.ticket)
        if ticket.status is TicketStatus.SERVING:
            raise CommandError("ticket_in_service", f"ticket {ticket.number} is being served at {ticket.counter}")
        if ticket.status not in ACTIVE:
            raise CommandError("ticket_closed", f"ticket {ticket.number} is already {ticket.status}")
        ticket.status = TicketStatus.CANCELLED
        self._settle_seat(ticket)
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now)))

    def _do_take_request(self, args: TakeRequestArgs, ctx: Context, role: Role) -> Outcome:
        """A section's staff member goes to a booth: the steps their counter serves are now served there."""
        counter = self._counter(args.counter, ctx.device)
        if counter.booth:
            raise CommandError("booth_counter", f"{counter.id} is a booth; booths call with call_next")
        if not counter.open:
            raise CommandError("counter_closed", f"counter {counter.id} is closed; open it first")
        if counter.serving is not None:
            raise CommandError("counter_busy", f"counter {counter.id} is still serving; complete or no-show first")
        ticket = self._ticket(args.ticket)
        if ticket.booth is None or ticket.status is not TicketStatus.WAITING:
            where = f"being served at {ticket.counter}" if ticket.status is TicketStatus.SERVING else ticket.status
            raise CommandError("no_request", f"ticket {ticket.number} has no open booth request ({where})")
        steps = self._requested(ticket, counter.groups)
        if not steps:
            raise CommandError("no_request", f"ticket {ticket.number} needs nothing {counter.id} serves now")
        self._serve(ticket, counter, steps, ctx.now)
        counter.away_at = ticket.booth
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now, note=True)))

    def _requested(self, ticket: Ticket, groups: Sequence[str]) -> list[Step]:
        """The booth steps of a seated ticket that staff of ``groups`` can serve now."""
        if ticket.booth is None:
            return []
        return self._ready_steps(ticket, StepMode.BOOTH, tuple(groups))

    def _do_hand_over(self, args: CounterArgs, ctx: Context, role: Role) -> Outcome:
        """The booth gives up: its resident's booth steps go to the sections' counters; the booth is free."""
        booth = self._counter(args.counter, ctx.device)
        if not booth.booth or booth.seated is None:
            raise CommandError("not_seated", f"{booth.id} holds no resident")
        ticket = self.state.tickets[booth.seated]
        if ticket.status is TicketStatus.SERVING and ticket.counter != booth.id:
            raise CommandError("ticket_in_service", f"ticket {ticket.number} is being served by {ticket.counter}")
        self._steps_to_counters(ticket)
        if booth.serving == ticket.id:
            self._release(booth, ticket, TicketStatus.WAITING)
        self._settle_seat(ticket)
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now, note=True)))

    def _do_mark_ready(self, args: ReadyArgs, ctx: Context, role: Role) -> Outcome:
        ticket = self._ticket(args.ticket)
        step = next(
            (s for s in ticket.steps if s.kind is StepKind.PICKUP and s.procedure == args.procedure and not s.ready),
            None,
        )
        if step is None:
            raise CommandError("no_pickup", f"ticket {ticket.number} has no {args.procedure} waiting to be made ready")
        if ticket.status not in ACTIVE:
            raise CommandError("ticket_closed", f"ticket {ticket.number} is already {ticket.status}")
        step.ready = True
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now, note=True)))

    def _do_ticket_paid(self, args: TicketPaidArgs, ctx: Context, role: Role) -> Outcome:
        """The resident paid at the self register and scanned their ticket: the payment step is done, and with
        it, often, the visit (the stay ends at payment, not in a queue for a staffed payment counter)."""
        ticket = self.ticket_by_token(args.token)
        if ticket is None:
            raise CommandError("unknown_ticket", "no ticket today with this code")
        if ticket.status is TicketStatus.CANCELLED:
            raise CommandError("ticket_closed", f"ticket {ticket.number} was cancelled")
        steps = [s for s in ticket.steps if s.open and s.mode is StepMode.REGISTER]
        if not steps:
            raise CommandError("nothing_to_pay", f"ticket {ticket.number} has no payment step open")
        for step in steps:
            step.status = StepStatus.DONE
        if ticket.status is TicketStatus.WAITING and ticket.finished:
            ticket.status = TicketStatus.DONE
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now)))

    def _do_record_survey(self, args: SurveyArgs, ctx: Context, role: Role) -> Outcome:
        """Satisfaction answers, one per ticket (a second is refused: a resident answers once); anonymous."""
        ticket = self._ticket(args.ticket) if args.ticket is not None else self._latest_with_number(args.number)
        unknown = [q for q in args.answers if q not in self.site.survey_by_id]
        if unknown:
            raise CommandError("unknown_question", f"no survey question {', '.join(unknown)}")
        if ticket.status in (TicketStatus.WAITING, TicketStatus.SERVING):
            raise CommandError("visit_not_done", f"ticket {ticket.number} is still {ticket.status}: ask when it ends")
        if ticket.id in self.state.surveys:
            raise CommandError("already_answered", f"ticket {ticket.number} has already answered the survey")
        self.state.surveys[ticket.id] = dict(args.answers)
        return Outcome(SurveyResult(recorded=True, surveys_today=len(self.state.surveys)))

    def _do_record_guide_use(self, args: GuideUseArgs, ctx: Context, role: Role) -> Outcome:
        if args.life_event is not None and args.life_event not in self.site.life_event_by_id:
            raise CommandError("unknown_life_event", f"no life event {args.life_event!r}")
        self.state.guide_uses += 1
        return Outcome(GuideUseResult(guide_uses_today=self.state.guide_uses))

    def _latest_with_number(self, number: int | None) -> Ticket:
        """Today's ticket with this printed number (the latest issued, numbers may wrap)."""
        found = [t for t in self.state.tickets.values() if t.number == number]
        if not found:
            raise CommandError("unknown_ticket", f"no ticket number {number} today")
        return found[-1]

    def serving_state(self, counter_id: str) -> ServingTicket:
        counter = self.state.counters[counter_id]
        ticket = self.state.tickets.get(counter.serving) if counter.serving else None
        if ticket is None:
            return ServingTicket(
                counter=counter_id,
                ticket=None,
                number=None,
                lang=None,
                serving=[],
                open=[],
                life_event=None,
                answers={},
            )
        serving = [s.procedure for s in ticket.steps if s.status is StepStatus.SERVING]
        return ServingTicket(
            counter=counter_id,
            ticket=ticket.id,
            number=ticket.number,
            lang=ticket.lang,  # type: ignore[arg-type]
            serving=serving,
            open=[s.procedure for s in ticket.steps if s.status is StepStatus.PENDING and s.procedure not in serving],
            life_event=ticket.life_event,
            answers=ticket.answers,
        )

    def _do_reprint(self, args: TicketArgs, ctx: Context, role: Role) -> Outcome:
        ticket = self._ticket(args.ticket)
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now, token=True)))

    # ------------------------------------------------------------ estimates
    def _do_record_forms(self, args: RecordFormsArgs, ctx: Context, role: Role) -> Outcome:
        for form in args.forms:
            key = (form, args.lang)
            self.state.forms_used[key] = self.state.forms_used.get(key, 0) + 1
        return Outcome(RecordResult(recorded=len(args.forms), forms_today=sum(self.state.forms_used.values())))

    def _do_record_payment(self, args: RecordPaymentArgs, ctx: Context, role: Role) -> Outcome:
        """Idempotent by transaction id: a register that lost the reply sends the same payment again."""
        recorded = args.tx not in self.state.payments
        if recorded:
            self.state.payments[args.tx] = args
        payments = self.state.payments.values()
        return Outcome(
            PaymentResult(
                recorded=recorded,
                payments_today=len(self.state.payments),
                cashless_today=sum(p.method == "cashless" for p in payments),
            )
        )

    def _open_counters(self, group: str) -> int:
        return sum(1 for c in self.state.counters.values() if group in c.groups and c.open)

    @staticmethod
    def ahead(other: Ticket, ticket: Ticket) -> bool:
        """Whether ``other`` is called before ``ticket``: earlier ones, and priority ones
        (counted whole: the fair ratio makes this a slight overestimate)."""
        if other is ticket:
            return False
        if ticket.priority:
            return other.priority and other.seq < ticket.seq
        return other.seq < ticket.seq or other.priority

    def ticket_wait(self, ticket: Ticket, now: datetime) -> int | None:
        """Minutes until ``ticket`` is first called anywhere (most likely); None when not known."""
        wait = self.waits.ticket(ticket, now)
        return None if wait is None else wait.likely

    def ticket_wait_range(self, ticket: Ticket, now: datetime) -> WaitRange | None:
        return _range(self.waits.ticket(ticket, now))

    @staticmethod
    def _waits_for_booth(ticket: Ticket) -> bool:
        return ticket.status is TicketStatus.WAITING and ticket.booth is None and ticket.needs_booth

    def open_counters(self, group: str) -> int:
        """How many of ``group``'s counters are open now."""
        return self._open_counters(group)

    def standing(self, ticket: Ticket, step: Step, now: datetime) -> tuple[int, int | None] | None:
        """Where ``ticket`` stands for ``step`` (the resident's status page): people called before it at the step's
        group, counted as the group's waiting people are, and the estimated minutes; None when the step cannot be
        called yet (its prerequisites first) or the ticket is not in the queues."""
        if ticket.status not in (TicketStatus.WAITING, TicketStatus.SERVING):
            return None
        booths = self.site.booth_group
        if step.mode in AT_BOOTH and booths is not None:  # a one-stop step: the resident waits for a booth
            if not self._waits_for_booth(ticket):
                return None
            ahead = sum(1 for o in self.state.tickets.values() if self._waits_for_booth(o) and self.ahead(o, ticket))
            return ahead, _likely(self.waits.step(ticket, step, now))
        if step not in self._callable_steps(ticket, step.group):
            return None
        at_group = self._group_counter_ids(step.group)
        ahead = sum(
            1
            for other in self.state.tickets.values()
            if other.status in (TicketStatus.WAITING, TicketStatus.SERVING)
            and other.counter not in at_group
            and any(s.group == step.group and s.status is StepStatus.PENDING for s in other.steps)
            and self.ahead(other, ticket)
        )
        return ahead, _likely(self.waits.step(ticket, step, now))

    # ------------------------------------------------------------ views
    def ticket_view(self, ticket: Ticket, now: datetime, token: bool = False, note: bool = False) -> TicketView:
        estimate = self.estimating and self._estimate_in_views
        handover = None
        if note and ticket.note is not None:
            handover = HandoverNote(text=ticket.note.text, counter=ticket.note.counter, at=ticket.note.at)
        return TicketView(
            id=ticket.id,
            number=ticket.number,
            token=ticket.token if token else None,
            lang=ticket.lang,  # type: ignore[arg-type]
            priority=ticket.priority,
            status=ticket.status.value,  # type: ignore[arg-type]
            itinerary=[
                StepView(
                    procedure=s.procedure,
                    group=s.group,
                    status=s.status.value,  # type: ignore[arg-type]
                    mode=s.mode.value,  # type: ignore[arg-type]
                    kind=s.kind.value,  # type: ignore[arg-type]
                    ready=s.ready,
                )
                for s in ticket.steps
            ],
            est_wait_min=self.ticket_wait(ticket, now) if estimate else None,
            est_wait_range=self.ticket_wait_range(ticket, now) if estimate else None,
            issued_at=ticket.issued_at,
            counter=ticket.counter,
            note=handover,
            booth=ticket.booth,
            reception=self._reception(ticket) if note else None,
        )

    @staticmethod
    def _reception(ticket: Ticket) -> Reception | None:
        if ticket.life_event is None and not ticket.answers and ticket.reception_note is None:
            return None
        return Reception(life_event=ticket.life_event, answers=ticket.answers, note=ticket.reception_note)

    def counter_state(self, counter_id: str) -> CounterState:
        c = self.state.counters[counter_id]
        serving = None
        if c.serving is not None and c.since is not None:
            serving = Serving(number=self.state.tickets[c.serving].number, since=c.since)
        return CounterState(counter=c.id, open=c.open, serving=serving)

    def _waits_at(self, ticket: Ticket, group: str) -> bool:
        """Whether ``ticket`` is counted in ``group``'s queue: for a booth, waiting for one; for a section, waiting
        (not served elsewhere, not at a booth) with a step there it could be called for now. A ticket whose step
        there waits for another counter first is not counted yet: the board's number is who can be called now."""
        if group == self.site.booth_group:
            return self._waits_for_booth(ticket)
        return ticket.status is TicketStatus.WAITING and bool(self._callable_steps(ticket, group))

    def group_state(self, group: str, now: datetime) -> GroupState:
        waiting = sum(1 for t in self._in_queue((group,), group == self.site.booth_group) if self._waits_at(t, group))
        return GroupState(
            group=group,
            waiting=waiting,
            open_counters=self._open_counters(group),
            est_wait_min=_likely(self.waits.at_group(group, now)),
        )

    def wait_state(self, group: str, now: datetime) -> WaitState:
        """rev 2: the wait a ticket issued now would have at ``group``, with its range."""
        wait = self.waits.at_group(group, now)
        return WaitState(group=group, est_wait_min=_likely(wait), est_wait_range=_range(wait))

    def _group_counter_ids(self, group: str) -> set[str]:
        return {c.id for c in self.state.counters.values() if group in c.groups}

    def requests_state(self, group: str) -> RequestsState:
        """The booths' open requests for ``group``'s staff (and counters with its skill), oldest seat first."""
        requests = []
        index = self._queue_index()
        seated = index.seated if index is not None else self.state.tickets.values()
        for ticket in sorted(seated, key=lambda t: (t.seated_at or t.issued_at, t.seq)):
            if ticket.status is not TicketStatus.WAITING or ticket.booth is None:
                continue
            steps = self._requested(ticket, (group,))
            if steps:
                requests.append(
                    BoothRequest(
                        booth=ticket.booth,
                        ticket=ticket.id,
                        number=ticket.number,
                        procedures=[s.procedure for s in steps],
                        lang=ticket.lang,  # type: ignore[arg-type]
                        priority=ticket.priority,
                        since=ticket.seated_at or ticket.issued_at,
                    )
                )
        return RequestsState(group=group, requests=requests)

    def coming_state(self, group: str, limit: int = 5) -> ComingState:
        """Who ``group`` calls next, in calling order, with what reception learned: staff prepare before calling.
        Tickets being served elsewhere are included (with where they are): they come back to the queue."""
        booth = group == self.site.booth_group
        probe = CounterRuntime("", group, groups=(group,), booth=booth)
        coming = []
        for ticket in self._calling_order(probe, limit, statuses=frozenset({TicketStatus.SERVING})):
            if booth:
                steps = [s for s in ticket.steps if s.open and s.mode in AT_BOOTH]
            else:
                steps = self._ready_steps(ticket, StepMode.COUNTER, (group,))
            coming.append(
                ComingTicket(
                    ticket=ticket.id,
                    number=ticket.number,
                    procedures=[s.procedure for s in steps],
                    lang=ticket.lang,  # type: ignore[arg-type]
                    priority=ticket.priority,
                    life_event=ticket.life_event,
                    answers=ticket.answers,
                    at=ticket.counter or "waiting",
                )
            )
        return ComingState(group=group, coming=coming)

    def pickups_state(self, group: str) -> PickupsState:
        """The later deliveries ``group`` hands over, in issue order, from when their procedure is done (the pickup
        step exists only then) until handed over; ``ready`` once the back office marked them."""
        pickups = []
        for ticket in self._in_queue((group,)):
            if ticket.status not in ACTIVE:
                continue
            for step in ticket.steps:
                if step.kind is StepKind.PICKUP and step.group == group and step.open:
                    pickups.append(
                        Pickup(ticket=ticket.id, number=ticket.number, procedure=step.procedure, ready=step.ready)
                    )
        return PickupsState(group=group, pickups=pickups)

    def booth_state(self, booth_id: str) -> BoothState:
        booth = self.state.counters[booth_id]
        ticket = self.state.tickets.get(booth.seated) if booth.seated else None
        if ticket is None:
            return BoothState(booth=booth_id, number=None, seated_since=None, served_by=None, waiting_for=[])
        waiting_for = list(
            dict.fromkeys(s.group for s in ticket.steps if s.status is StepStatus.PENDING and s.mode is StepMode.BOOTH)
        )
        return BoothState(
            booth=booth_id,
            number=ticket.number,
            seated_since=ticket.seated_at,
            served_by=ticket.counter,
            waiting_for=waiting_for,
        )

    def board_state(self) -> BoardState:
        return BoardState(recent=[BoardCall(number=c.number, counter=c.counter, at=c.at) for c in self.state.recent])

    def ticket_by_token(self, token: str) -> Ticket | None:
        return next((t for t in self.state.tickets.values() if t.token == token), None)


def _likely(wait: Wait | None) -> int | None:
    return None if wait is None else wait.likely


def _range(wait: Wait | None) -> WaitRange | None:
    return None if wait is None else WaitRange(low=wait.low, high=wait.high)
