"""The retained state computed the fast way (inside ``QueueEngine.reading``: remembered ready steps, the queue
index) is exactly the state computed the plain way, after every command of random days, classic and one-stop.

The fast way is what the service publishes after every batch; the plain way is the engine's rules read
literally. Were the index to miss a ticket (a status or step it does not file), a board or a panel would show a
wrong count or a wrong "coming next", and the calling order of ``call_next`` (which also reads through the index)
would differ: this test compares both, and every counter's next pick.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from queue_service.engine import CommandError
from queue_service.engine.model import CounterRuntime, TicketStatus
from tests.desk import Desk
from tests.queue_service import test_engine_onestop_properties as onestop
from tests.queue_service import test_engine_properties as classic


def views(desk: Desk) -> list:
    e, now = desk.engine, desk.now
    out: list = [e.board_state()]
    for g in e.site.groups:
        out += [e.group_state(g.id, now), e.wait_state(g.id, now), e.requests_state(g.id), e.coming_state(g.id)]
        out.append(e.pickups_state(g.id))
        probe = CounterRuntime("", g.id, groups=(g.id,), booth=g.id == e.site.booth_group)
        out.append([t.id for t in e._calling_order(probe, 50, statuses=frozenset({TicketStatus.SERVING}))])
    for c in e.site.counters:
        out += [e.counter_state(c.id), e.serving_state(c.id)]
        runtime = e.state.counters[c.id]
        out.append([t.id for t in e._calling_order(runtime, 50)])  # what call_next would pick, in order
        if c.group == e.site.booth_group:
            out.append(e.booth_state(c.id))
    return out


def check_same(desk: Desk, module, ops) -> None:
    issued: list[str] = []
    for op in ops:
        try:
            outcome = module.run(desk, op, issued)
        except CommandError:
            outcome = None
        if outcome is not None and op[0] in ("issue", "visit", "errand"):
            issued.append(outcome.result.ticket.id)
        plain = views(desk)
        with desk.engine.reading():
            fast = views(desk)
            again = views(desk)  # asked twice in one reading: the remembered answers are the same
        assert fast == plain, f"after {op}: the fast state differs from the plain one"
        assert again == plain


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(classic.day)
def test_classic_days_read_the_same_fast_and_plain(ops):
    desk = Desk(classic.SITE)
    desk.open(*classic.COUNTERS)
    check_same(desk, classic, ops)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(onestop.day)
def test_one_stop_days_read_the_same_fast_and_plain(ops):
    desk = Desk(onestop.SITE)
    desk.open(*onestop.COUNTERS)
    check_same(desk, onestop, ops)
