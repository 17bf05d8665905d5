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
- A counter serves all of its group's callable steps of the ticket at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from math import ceil

from kiosk.bus.contract import ROLE_VERBS, Role, Verb
from kiosk.bus.schemas import (
    BoardCall,
    BoardState,
    CalledEvent,
    CallResult,
    CompleteArgs,
    CounterArgs,
    CounterResult,
    CounterState,
    GroupState,
    HandoverNote,
    IssueArgs,
    Message,
    PaymentResult,
    RecordFormsArgs,
    RecordPaymentArgs,
    RecordResult,
    Serving,
    StepView,
    TicketArgs,
    TicketResult,
    TicketView,
    TransferArgs,
)
from kiosk.config.site import Site
from queue_service.engine.estimate import ServiceTimes
from queue_service.engine.model import (
    ACTIVE,
    Call,
    CounterRuntime,
    DayState,
    GroupRuntime,
    Note,
    Step,
    StepStatus,
    Ticket,
    TicketStatus,
)
from queue_service.engine.ordering import order_by_precedence


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
    called: list[CalledEvent] = field(default_factory=list)
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

    # ------------------------------------------------------------ days
    def local_day(self, now: datetime) -> str:
        if now.tzinfo is None:
            raise ValueError("the engine needs timezone-aware times")
        return now.astimezone(self.site.zone).date().isoformat()

    def _fresh_day(self, day: str) -> DayState:
        state = DayState(day=day, next_number=self.site.queue.number_first)
        state.counters = {c.id: CounterRuntime(c.id, c.group) for c in self.site.counters}
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
        return True

    # ------------------------------------------------------------ commands
    def apply(self, verb: Verb | str, args: Message, ctx: Context) -> Outcome:
        """Apply one validated command. Raises :class:`CommandError` and changes nothing
        when the command is refused."""
        self.roll_over(ctx.now)
        verb = Verb(verb)
        role = self._authorize(verb, ctx.device)
        handler = getattr(self, f"_do_{verb.value}")
        outcome: Outcome = handler(args, ctx, role)
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

    def _do_issue(self, args: IssueArgs, ctx: Context, role: Role) -> Outcome:
        self._check_procedures(args.procedures)
        if not ctx.token:
            raise ValueError("issue needs a token in its context")
        number = self._allocate_number()
        seq = len(self.state.tickets) + 1
        ticket_id = f"{self.state.day.replace('-', '')}-{seq:04d}"
        steps = [
            Step(p, self.site.procedure_by_id[p].group) for p in order_by_precedence(args.procedures, self.requires)
        ]
        ticket = Ticket(
            id=ticket_id,
            seq=seq,
            number=number,
            token=ctx.token,
            lang=args.lang,
            priority=args.priority,
            issued_at=ctx.now,
            steps=steps,
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
        return Outcome(CounterResult(counter=counter.id, open=True))

    def _do_close_counter(self, args: CounterArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        if counter.serving is not None:
            raise CommandError("still_serving", f"counter {counter.id} must finish its visit before closing")
        counter.open = False
        return Outcome(CounterResult(counter=counter.id, open=False))

    def _do_call_next(self, args: CounterArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        if not counter.open:
            raise CommandError("counter_closed", f"counter {counter.id} is closed; open it first")
        if counter.serving is not None:
            raise CommandError("counter_busy", f"counter {counter.id} is still serving; complete or no-show first")
        ticket = self._pick(counter.group)
        if ticket is None:
            return Outcome(CallResult(ticket=None))
        for step in self._callable_steps(ticket, counter.group):
            step.status = StepStatus.SERVING
        ticket.status = TicketStatus.SERVING
        ticket.counter = counter.id
        counter.serving, counter.since = ticket.id, ctx.now
        event = self._announce(ticket, counter, ctx.now, recall=False)
        view = self.ticket_view(ticket, ctx.now, note=True)
        return Outcome(CallResult(ticket=view), called=[event])

    def _pick(self, group: str) -> Ticket | None:
        """The next ticket for ``group``: by issue order, priority first but fair."""
        first_priority = first_normal = None
        for ticket in self.state.tickets.values():
            if ticket.status is not TicketStatus.WAITING or not self._callable_steps(ticket, group):
                continue
            if ticket.priority and first_priority is None:
                first_priority = ticket
            elif not ticket.priority and first_normal is None:
                first_normal = ticket
            if first_priority and first_normal:
                break
        ratio = self.site.queue.priority_ratio
        fairness = self.state.groups[group]
        if first_priority and first_normal:
            if fairness.normal_owed >= ratio.priority:
                fairness.normal_owed -= ratio.priority
                return first_normal
            fairness.normal_owed += ratio.normal
            return first_priority
        if first_normal:
            fairness.normal_owed = max(0, fairness.normal_owed - ratio.priority)
        return first_priority or first_normal

    def _callable_steps(self, ticket: Ticket, group: str) -> list[Step]:
        """The steps ``group`` can serve now: pending there, prerequisites done, or served in the same sitting
        (転入届 and 印鑑登録 at one counter are done together, not in two calls)."""
        here = [s for s in ticket.steps if s.group == group and s.status is StepStatus.PENDING]
        chosen: list[Step] = []
        grew = True
        while grew:
            grew = False
            for step in here:
                if step not in chosen and self._prerequisites_done(ticket, step, also=chosen):
                    chosen.append(step)
                    grew = True
        return [s for s in here if s in chosen]

    def _prerequisites_done(self, ticket: Ticket, step: Step, also: Sequence[Step] = ()) -> bool:
        """Every prerequisite of ``step`` in this visit is done (or among ``also``, served with it)."""
        for required in self.requires.get(step.procedure, ()):
            other = ticket.step_of(required)
            if other is not None and other.status is not StepStatus.DONE and other not in also:
                return False
        return True

    def _announce(self, ticket: Ticket, counter: CounterRuntime, now: datetime, recall: bool) -> CalledEvent:
        recent = [c for c in self.state.recent if c.number != ticket.number]
        recent.insert(0, Call(ticket.number, counter.id, now))
        self.state.recent = recent[: self.site.queue.recent_calls]
        return CalledEvent(number=ticket.number, counter=counter.id, at=now, recall=recall)

    def _do_recall(self, args: CounterArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        ticket = self._serving(counter)
        event = self._announce(ticket, counter, ctx.now, recall=True)
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now, note=True)), called=[event])

    def _release(self, counter: CounterRuntime, ticket: Ticket, status: TicketStatus) -> None:
        counter.serving = counter.since = None
        ticket.counter = None
        ticket.status = status

    def _do_complete(self, args: CompleteArgs, ctx: Context, role: Role) -> Outcome:
        counter = self._counter(args.counter, ctx.device)
        ticket = self._serving(counter)
        self._check_procedures(args.add_procedures)
        served = [s for s in ticket.steps if s.status is StepStatus.SERVING]
        samples = self._samples(served, counter, ctx.now)
        for step in served:
            step.status = StepStatus.DONE
        self._add_steps(ticket, args.add_procedures)
        if args.note:
            ticket.note = Note(args.note, counter.id, ctx.now)
        finished = all(s.status is StepStatus.DONE for s in ticket.steps)
        self._release(counter, ticket, TicketStatus.DONE if finished else TicketStatus.WAITING)
        for procedure, minutes in samples:
            self.times.observe(procedure, minutes)
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now)), samples=samples)

    def _samples(self, served: list[Step], counter: CounterRuntime, now: datetime) -> list[tuple[str, float]]:
        """Split the counter's service time over the steps it served, by typical minutes."""
        if not served or counter.since is None:
            return []
        elapsed = max(0.0, (now - counter.since).total_seconds() / 60)
        weights = [self.site.procedure_by_id[s.procedure].minutes for s in served]
        total = sum(weights)
        return [(s.procedure, round(elapsed * w / total, 3)) for s, w in zip(served, weights, strict=True)]

    def _add_steps(self, ticket: Ticket, procedures: list[str]) -> None:
        open_ = {s.procedure for s in ticket.steps if s.status is not StepStatus.DONE}
        added = [p for p in dict.fromkeys(procedures) if p not in open_]
        if not added:
            return
        ticket.steps.extend(Step(p, self.site.procedure_by_id[p].group) for p in added)
        done = [s for s in ticket.steps if s.status is StepStatus.DONE]
        rest = [s for s in ticket.steps if s.status is not StepStatus.DONE]
        order = order_by_precedence([s.procedure for s in rest], self.requires)
        rest.sort(key=lambda s: order.index(s.procedure))
        ticket.steps = done + rest

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
        ticket = self._serving(counter)
        for step in ticket.steps:
            if step.status is StepStatus.SERVING:
                step.status, step.group = StepStatus.PENDING, args.to_group
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
        return Outcome(TicketResult(ticket=self.ticket_view(ticket, ctx.now)))

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

    def _in_service_minutes(self, group: str, now: datetime) -> float:
        """Service time still to go at the group's busy counters (at least a tenth each)."""
        left = 0.0
        for counter in self.state.counters.values():
            if counter.group != group or counter.serving is None or counter.since is None:
                continue
            ticket = self.state.tickets[counter.serving]
            expected = sum(self.times.minutes(s.procedure) for s in ticket.steps if s.status is StepStatus.SERVING)
            elapsed = (now - counter.since).total_seconds() / 60
            left += max(expected - elapsed, expected * 0.1)
        return left

    def _open_counters(self, group: str) -> int:
        return sum(1 for c in self.state.counters.values() if c.group == group and c.open)

    def _work(self, ticket: Ticket, group: str) -> float:
        return sum(self.times.minutes(s.procedure) for s in self._callable_steps(ticket, group))

    def _wait_at(self, group: str, now: datetime, before: Ticket | None) -> int | None:
        """Minutes until a ticket (or a new arrival when ``before`` is None) is called at ``group``."""
        open_counters = self._open_counters(group)
        if open_counters == 0:
            return None
        work = self._in_service_minutes(group, now)
        for other in self.state.tickets.values():
            if other.status is TicketStatus.WAITING and (before is None or self._ahead(other, before)):
                work += self._work(other, group)
        return ceil(work / open_counters)

    @staticmethod
    def _ahead(other: Ticket, ticket: Ticket) -> bool:
        """Whether ``other`` is called before ``ticket``: earlier ones, and priority ones
        (counted whole: the fair ratio makes this a slight overestimate)."""
        if other is ticket:
            return False
        if ticket.priority:
            return other.priority and other.seq < ticket.seq
        return other.seq < ticket.seq or other.priority

    def ticket_wait(self, ticket: Ticket, now: datetime) -> int | None:
        if ticket.status is TicketStatus.SERVING:
            return 0
        if ticket.status is not TicketStatus.WAITING:
            return None
        waits = [
            self._wait_at(g, now, ticket)
            for g in dict.fromkeys(s.group for s in ticket.steps)
            if self._callable_steps(ticket, g)
        ]
        known = [w for w in waits if w is not None]
        return min(known) if known else None

    def open_counters(self, group: str) -> int:
        """How many of ``group``'s counters are open now."""
        return self._open_counters(group)

    def standing(self, ticket: Ticket, step: Step, now: datetime) -> tuple[int, int | None] | None:
        """Where ``ticket`` stands for ``step`` (the resident's status page): people called before it at the step's
        group, counted as the group's waiting people are, and the estimated minutes; None when the step cannot be
        called yet (its prerequisites first) or the ticket is not in the queues."""
        if ticket.status not in (TicketStatus.WAITING, TicketStatus.SERVING):
            return None
        if step not in self._callable_steps(ticket, step.group):
            return None
        at_group = self._group_counter_ids(step.group)
        ahead = sum(
            1
            for other in self.state.tickets.values()
            if other.status in (TicketStatus.WAITING, TicketStatus.SERVING)
            and other.counter not in at_group
            and any(s.group == step.group and s.status is StepStatus.PENDING for s in other.steps)
            and self._ahead(other, ticket)
        )
        return ahead, self._wait_at(step.group, now, ticket)

    # ------------------------------------------------------------ views
    def ticket_view(self, ticket: Ticket, now: datetime, token: bool = False, note: bool = False) -> TicketView:
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
            itinerary=[StepView(procedure=s.procedure, group=s.group, status=s.status.value) for s in ticket.steps],
            est_wait_min=self.ticket_wait(ticket, now),
            issued_at=ticket.issued_at,
            counter=ticket.counter,
            note=handover,
        )

    def counter_state(self, counter_id: str) -> CounterState:
        c = self.state.counters[counter_id]
        serving = None
        if c.serving is not None and c.since is not None:
            serving = Serving(number=self.state.tickets[c.serving].number, since=c.since)
        return CounterState(counter=c.id, open=c.open, serving=serving)

    def group_state(self, group: str, now: datetime) -> GroupState:
        waiting = sum(
            1
            for t in self.state.tickets.values()
            if t.status in (TicketStatus.WAITING, TicketStatus.SERVING)
            and t.counter not in self._group_counter_ids(group)
            and any(s.group == group and s.status is StepStatus.PENDING for s in t.steps)
        )
        return GroupState(
            group=group,
            waiting=waiting,
            open_counters=self._open_counters(group),
            est_wait_min=self._wait_at(group, now, None),
        )

    def _group_counter_ids(self, group: str) -> set[str]:
        return {c.id for c in self.state.counters.values() if c.group == group}

    def board_state(self) -> BoardState:
        return BoardState(recent=[BoardCall(number=c.number, counter=c.counter, at=c.at) for c in self.state.recent])

    def ticket_by_token(self, token: str) -> Ticket | None:
        return next((t for t in self.state.tickets.values() if t.token == token), None)
