"""Property-based tests for one-stop days: booths, dispatch, skills, pickups and payments keep the queue's promises.

The same invariants as a classic day (tests/queue_service/test_engine_properties.py: no ticket lost, none served
at two counters, none called before its prerequisites, refused commands change nothing), plus: a booth seats one
resident at a time and holds them only while booth work is left, a seated resident is served only at their booth
(by the booth's staff or a section's who came) and called to no other counter.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config import load_site
from tests.conftest import EXAMPLE_SITE
from tests.desk import KIOSK, Desk
from tests.queue_service.test_engine_properties import play_day, play_refusals

SITE = load_site(EXAMPLE_SITE)
BOOTHS = ["b1", "b2"]
SECTIONS = ["c06", "c07", "c21", "c24", "c25", "c31", "c01"]
COUNTERS = BOOTHS + SECTIONS
EVENTS = [e.id for e in SITE.life_events]
QUESTIONS = [q.id for q in SITE.questions]
GROUPS = sorted({g for c in SECTIONS for g in SITE.counter_by_id[c].groups} | {"nenkin"})
PROCEDURES = [p.id for p in SITE.procedures if p.group in GROUPS or p.routing in ("front", "register")]

counter = st.sampled_from(COUNTERS)
section = st.sampled_from(SECTIONS)
ticket_ref = st.integers(min_value=0, max_value=30)
visit = st.tuples(
    st.just("visit"),
    st.sampled_from(EVENTS),
    st.dictionaries(st.sampled_from(QUESTIONS), st.booleans()),
    st.booleans(),
)
errand = st.tuples(st.just("errand"), st.lists(st.sampled_from(PROCEDURES), min_size=1, max_size=3), st.booleans())
command = st.one_of(  # the ops that move a day on come first: hypothesis draws earlier branches more often
    st.tuples(st.just("call_next"), counter),
    st.tuples(st.just("complete_any"), ticket_ref),
    st.tuples(st.just("take_any"), ticket_ref),
    st.tuples(st.just("complete_any"), ticket_ref),
    st.tuples(st.just("ready_any"), ticket_ref),
    st.tuples(st.just("ticket_paid"), ticket_ref),
    visit,
    errand,
    st.tuples(st.just("take_request"), section, ticket_ref),
    st.tuples(st.just("complete"), counter),
    st.tuples(st.just("hand_over"), st.sampled_from(BOOTHS)),
    st.tuples(st.just("no_show"), counter),
    st.tuples(st.just("reactivate"), ticket_ref),
    st.tuples(st.just("transfer"), counter, st.sampled_from(GROUPS)),
    st.tuples(st.just("mark_ready"), ticket_ref, st.sampled_from(["kaigo_shikaku", "juminhyo"])),
    st.tuples(st.just("open_counter"), counter),
    st.tuples(st.just("close_counter"), counter),
    st.tuples(st.just("cancel"), ticket_ref),
)
day = st.builds(
    lambda a, b: a + b, st.lists(visit, min_size=1, max_size=6), st.lists(command, min_size=10, max_size=120)
)


def _reach(desk: Desk, op: tuple):
    """The ops that pick what can happen now (a serving counter, an open request, a pickup to make ready), so
    random days reach deep one-stop states instead of mostly refused commands."""
    state = desk.engine.state
    verb, i = op
    if verb == "complete_any":
        busy = [c.id for c in state.counters.values() if c.serving is not None]
        return desk.do("complete", counter=busy[i % len(busy)]) if busy else None
    if verb == "take_any":
        free = [c for c in SECTIONS if state.counters[c].open and state.counters[c].serving is None]
        pairs = [
            (c, r.ticket)
            for g in GROUPS
            for r in desk.engine.requests_state(g).requests
            for c in free
            if g in state.counters[c].groups
        ]
        if not pairs:
            return None
        c, ticket = pairs[i % len(pairs)]
        return desk.do("take_request", counter=c, ticket=ticket)
    pickups = [(t.id, s.procedure) for t in state.tickets.values() for s in t.steps if s.kind.value == "pickup"]
    if not pickups:
        return None
    ticket, procedure = pickups[i % len(pickups)]
    return desk.do("mark_ready", ticket=ticket, procedure=procedure)


def run(desk: Desk, op: tuple, issued: list[str]):
    verb = op[0]
    if verb in ("complete_any", "take_any", "ready_any"):
        return _reach(desk, op)
    if verb == "visit":
        procedures = SITE.procedures_for(op[1], op[2])
        return desk.do("issue", KIOSK, procedures=procedures, life_event=op[1], answers=op[2], priority=op[3])
    if verb == "errand":
        return desk.do("issue", KIOSK, procedures=op[1], priority=op[2])
    if verb in ("reactivate", "cancel", "take_request", "mark_ready", "ticket_paid"):
        if not issued:
            return None
        ticket = issued[op[-1] % len(issued)] if verb != "mark_ready" else issued[op[1] % len(issued)]
        if verb == "take_request":
            return desk.do(verb, counter=op[1], ticket=ticket)
        if verb == "mark_ready":
            return desk.do(verb, ticket=ticket, procedure=op[2])
        if verb == "ticket_paid":
            return desk.do(verb, "register-1f", token=desk.engine.state.tickets[ticket].token)
        return desk.do(verb, KIOSK if verb == "cancel" else "panel-demo", ticket=ticket)
    if verb == "transfer":
        return desk.do(verb, counter=op[1], to_group=op[2])
    return desk.do(verb, counter=op[1])


ISSUING = ("visit", "errand")


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day)
def test_random_one_stop_days_keep_the_queues_promises(ops):
    desk = Desk(SITE)
    desk.open(*COUNTERS)
    play_day(desk, ops, run, ISSUING)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day)
def test_refused_one_stop_commands_change_nothing(ops):
    desk = Desk(SITE)
    desk.open(*COUNTERS[::2])
    play_refusals(desk, ops, run, ISSUING)
