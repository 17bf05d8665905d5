"""Property-based tests: random days at the ward office keep the queue's promises.

Whatever sequence of commands the counters and kiosks send (valid or refused), the
engine never loses a ticket, never serves one ticket at two counters, and never
calls a ticket before the prerequisites of what it is called for are done.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config import load_site
from queue_service.engine import CommandError, StepStatus, TicketStatus
from tests.conftest import EXAMPLE_SITE
from tests.desk import KIOSK, Desk

SITE = load_site(EXAMPLE_SITE)
COUNTERS = ["c01", "c02", "c07", "c21", "c24", "c32"]
GROUPS = sorted({SITE.counter_by_id[c].group for c in COUNTERS})
PROCEDURES = [p.id for p in SITE.procedures if p.group in GROUPS]

counter = st.sampled_from(COUNTERS)
ticket_ref = st.integers(min_value=0, max_value=30)
issue = st.tuples(st.just("issue"), st.lists(st.sampled_from(PROCEDURES), min_size=1, max_size=4), st.booleans())
command = st.one_of(
    issue,
    st.tuples(st.just("call_next"), counter),
    st.tuples(st.just("call_next"), counter),
    st.tuples(st.just("call_next"), counter),
    st.tuples(st.just("complete"), counter, st.just([])),
    st.tuples(st.just("complete"), counter, st.lists(st.sampled_from(PROCEDURES), max_size=2)),
    st.tuples(st.just("no_show"), counter),
    st.tuples(st.just("recall"), counter),
    st.tuples(st.just("reactivate"), ticket_ref),
    st.tuples(st.just("transfer"), counter, st.sampled_from(GROUPS)),
    st.tuples(st.just("open_counter"), counter),
    st.tuples(st.just("open_counter"), counter),
    st.tuples(st.just("close_counter"), counter),
    st.tuples(st.just("cancel"), ticket_ref),
    st.tuples(st.just("tick"), st.floats(min_value=0, max_value=30)),
)


def run(desk: Desk, op: tuple, issued: list[str]):
    verb = op[0]
    if verb == "tick":
        desk.tick(op[1])
        return None
    if verb == "issue":
        return desk.do("issue", KIOSK, procedures=op[1], priority=op[2])
    if verb in ("reactivate", "cancel"):
        if not issued:
            return None
        device = KIOSK if verb == "cancel" else "panel-demo"
        return desk.do(verb, device, ticket=issued[op[1] % len(issued)])
    if verb == "complete":
        return desk.do(verb, counter=op[1], add_procedures=op[2])
    if verb == "transfer":
        return desk.do(verb, counter=op[1], to_group=op[2])
    return desk.do(verb, counter=op[1])


def check_invariants(desk: Desk, issued: list[str]) -> None:
    state = desk.engine.state
    # never lose a ticket
    assert list(state.tickets) == issued
    serving = {}
    for c in state.counters.values():
        if c.serving is not None:
            assert c.open, "a closed counter serves nobody"
            assert c.serving not in serving, f"{c.serving} served at {serving.get(c.serving)} and {c.id}"
            serving[c.serving] = c.id
    for t in state.tickets.values():
        serving_steps = [s for s in t.steps if s.status is StepStatus.SERVING]
        if t.status is TicketStatus.SERVING:
            assert serving.get(t.id) == t.counter, "a serving ticket is at exactly one counter"
            counter = state.counters[t.counter]
            assert serving_steps and all(s.group in counter.groups for s in serving_steps), "only what it serves"
            if t.booth is not None:
                assert counter.id == t.booth or counter.away_at == t.booth, "a seated resident is served at the booth"
        else:
            assert t.id not in serving and not serving_steps and t.counter is None
        if t.status is TicketStatus.DONE:
            assert t.finished, "done means every step but an optional payment is done"
        if t.status in (TicketStatus.WAITING, TicketStatus.ABSENT):
            assert any(s.status is StepStatus.PENDING for s in t.steps), "an open ticket still has work"
        if t.booth is not None:
            assert state.counters[t.booth].seated == t.id, "a seat is held by its booth"
            assert (
                t.status in (TicketStatus.WAITING, TicketStatus.SERVING)
                and t.needs_booth
                or (t.status is TicketStatus.SERVING)
            ), "a booth holds only a resident with booth work left"
    seated = [c.seated for c in state.counters.values() if c.seated is not None]
    assert len(seated) == len(set(seated)), "two booths seat one resident"
    for c in state.counters.values():
        if c.seated is not None:
            assert c.booth and state.tickets[c.seated].booth == c.id
    numbers = [t.number for t in state.tickets.values() if t.status.value in ("waiting", "serving", "absent")]
    assert len(numbers) == len(set(numbers)), "two open tickets share a number"


def check_call(desk: Desk, outcome) -> None:
    """A called ticket's steps being served have their prerequisites done, or served in the same sitting;
    a resident seated at a booth is called to no other counter."""
    ticket = desk.engine.state.tickets[outcome.result.ticket.id]
    for event in outcome.called:
        assert ticket.booth is None or event.counter == ticket.booth, f"{ticket.id} seated, called to {event.counter}"
    for step in ticket.steps:
        if step.status is StepStatus.SERVING:
            for required in desk.engine.requires[step.procedure]:
                other = ticket.step_of(required)
                assert other is None or other.status in (StepStatus.DONE, StepStatus.SERVING), (
                    f"{ticket.id} called for {step.procedure} before {required}"
                )


#: A random day: a morning queue of tickets, then any mix of commands.
day = st.builds(
    lambda morning, rest: morning + rest,
    st.lists(issue, min_size=1, max_size=8),
    st.lists(command, min_size=10, max_size=120),
)


def play_day(desk: Desk, ops, run, issuing: tuple[str, ...] = ("issue",)) -> None:
    """Play a random day, checking every invariant after each command and every call's prerequisites."""
    issued: list[str] = []
    for op in ops:
        try:
            outcome = run(desk, op, issued)
        except CommandError:
            outcome = None
        if outcome is not None and op[0] in issuing:
            issued.append(outcome.result.ticket.id)
        if outcome is not None and op[0] == "call_next" and outcome.result.ticket is not None:
            check_call(desk, outcome)
        check_invariants(desk, issued)


def play_refusals(desk: Desk, ops, run, issuing: tuple[str, ...] = ("issue",)) -> None:
    """Play a random day; a CommandError must leave the state exactly as it was (a state fingerprint)."""
    issued: list[str] = []
    for op in ops:
        before = fingerprint(desk)
        try:
            outcome = run(desk, op, issued)
        except CommandError:
            assert fingerprint(desk) == before, f"refused {op} changed the state"
            continue
        if outcome is not None and op[0] in issuing:
            issued.append(outcome.result.ticket.id)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day)
def test_random_days_keep_the_queues_promises(ops):
    desk = Desk(SITE)
    desk.open(*COUNTERS)  # a morning with every counter open reaches the busy cases sooner
    play_day(desk, ops, run)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day)
def test_refused_commands_change_nothing(ops):
    """A CommandError leaves the state exactly as it was (checked by a state fingerprint)."""
    desk = Desk(SITE)
    desk.open(*COUNTERS[::2])
    play_refusals(desk, ops, run)


def fingerprint(desk: Desk):
    s = desk.engine.state
    return (
        repr(
            sorted(
                (
                    t.id,
                    t.status,
                    t.counter,
                    t.booth,
                    [(x.procedure, x.group, x.status, x.mode, x.ready) for x in t.steps],
                )
                for t in s.tickets.values()
            )
        ),
        repr(sorted((c.id, c.open, c.serving, c.seated, c.away_at) for c in s.counters.values())),
        repr(sorted((g.id, g.normal_owed) for g in s.groups.values())),
        s.next_number,
        len(s.recent),
    )
