"""The wait estimator (queue_service/engine/waits.py, forecast.py): the forward simulation follows the engine's own
calling rules, the range is told as residents read it, and one forecast serves every question per state and minute.

The strongest check here drives the REAL engine the way the forecast assumes the day goes (every service takes
exactly its mean minutes, a free counter calls at once) and compares every ticket's actual first call with the
forecast: they must agree to the second, whatever the visits' prerequisites, shared counters and priority tickets.
"""

from __future__ import annotations

import heapq
import random
from datetime import datetime, timedelta

import pytest

from kiosk.bus.schemas import CompleteArgs, CounterArgs, IssueArgs
from queue_service.engine import Context, QueueEngine
from queue_service.engine.forecast import forecast
from queue_service.engine.model import StepStatus, TicketStatus
from queue_service.engine.waits import Wait, WorkAheadEstimator, told
from tests.desk import JST, KIOSK, PANEL, Desk

START = datetime(2026, 11, 24, 9, 0, tzinfo=JST)


@pytest.fixture
def desk(site):
    return Desk(site)


class Floor:
    """Drives the engine as the forecast assumes: each service takes its procedures' mean minutes, a counter that
    is free calls at once, and one that found nobody calls again whenever a service ends."""

    def __init__(self, site, counters: list[str]) -> None:
        self.engine = QueueEngine(site, START)
        self.counters = counters
        self.tokens = 0
        for c in counters:
            self.do("open_counter", CounterArgs(counter=c), START)

    def do(self, verb, args, now):
        return self.engine.apply(
            verb, args, Context(now=now, device=PANEL if verb != "issue" else KIOSK, token=f"t{self.tokens:021d}")
        )

    def issue(self, procedures: list[str], priority: bool = False, now: datetime = START) -> str:
        self.tokens += 1
        result = self.do("issue", IssueArgs(procedures=procedures, priority=priority, lang="ja"), now).result
        return result.ticket.id

    def run(self) -> dict[str, dict[str, float]]:
        """Every ticket's call time (minutes from START) at each group, in the order the engine calls."""
        calls: dict[str, dict[str, float]] = {}
        busy: list[tuple[float, int]] = []
        idle = list(range(len(self.counters)))
        t = 0.0

        def call(i: int) -> bool:
            now = START + timedelta(minutes=t)
            ticket = self.do("call_next", CounterArgs(counter=self.counters[i]), now).result.ticket
            if ticket is None:
                return False
            engine_ticket = self.engine.state.tickets[ticket.id]
            minutes = 0.0
            for s in engine_ticket.steps:
                if s.status is StepStatus.SERVING:
                    calls.setdefault(ticket.id, {}).setdefault(s.group, t)
                    minutes += self.engine.times.expected(s.procedure)
            heapq.heappush(busy, (t + minutes, i))
            return True

        for i in list(idle):
            if call(i):
                idle.remove(i)
        while busy:
            t, i = heapq.heappop(busy)
            self.do("complete", CompleteArgs(counter=self.counters[i]), START + timedelta(minutes=t))
            if not call(i):
                idle.append(i)
                idle.sort()
            for j in list(idle):
                if j != i and call(j):
                    idle.remove(j)
        return calls


VISITS = [
    ["tennyu", "kokuho_kanyu", "jidou_teate"],
    ["juminhyo"],
    ["tennyu", "juminhyo"],
    ["kokuho_henko"],
    ["koseki_shomei"],
    ["shussei", "kokuho_kanyu", "jidou_teate", "kodomo_iryo"],
    ["inkan_shomei", "juminhyo"],
    ["tenkyo", "kokuho_henko", "juminhyo"],
    ["jidou_teate_henko"],
    ["shotoku_shomei", "juminhyo"],
]


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_the_forecast_is_what_the_engine_does_when_every_service_takes_its_mean(site, seed):
    rng = random.Random(seed)
    counters = ["c01", "c02", "c05", "c06", "c07", "c21", "c24", "c25", "c32"]  # c06, c25: two groups each
    floor = Floor(site, counters)
    for _ in range(40):
        floor.issue(rng.choice(VISITS), priority=rng.random() < 0.15)
    expected = forecast(floor.engine, START)
    assert expected.sittings > 40
    actual = floor.run()
    assert set(actual) == set(expected.first)
    for ticket, groups in actual.items():
        assert expected.first[ticket][0] == pytest.approx(min(groups.values()))
        for group, at in groups.items():
            assert expected.at_group[(ticket, group)][0] == pytest.approx(at), (ticket, group)


def test_a_new_arrival_is_called_when_the_last_one_ahead_goes_in(site):
    floor = Floor(site, ["c32"])  # 税証明: shotoku_shomei (typical 5 min? the site's) at one counter
    for _ in range(3):
        floor.issue(["shotoku_shomei"])
    mean = floor.engine.times.expected("shotoku_shomei")
    assert forecast(floor.engine, START).arrival["zei"][0] == pytest.approx(3 * mean)
    newcomer = floor.issue(["shotoku_shomei"])
    assert floor.run()[newcomer]["zei"] == pytest.approx(3 * mean), "what the board said it would be"


def test_a_later_step_waits_for_the_earlier_one_and_others_go_first(site):
    floor = Floor(site, ["c01", "c21"])
    mover = floor.issue(["tennyu", "kokuho_kanyu"])  # 国保 only once 転入届 is done
    walk_in = floor.issue(["kokuho_henko"])
    f = forecast(floor.engine, START)
    tennyu = floor.engine.times.expected("tennyu")
    assert f.at_group[(mover, "jumin")][0] == 0 and f.at_group[(walk_in, "kokuho")][0] == 0
    assert f.at_group[(mover, "kokuho")][0] == pytest.approx(max(tennyu, floor.engine.times.expected("kokuho_henko")))


def test_a_ticket_served_elsewhere_is_skipped_and_comes_back(site):
    floor = Floor(site, ["c07", "c32"])
    both = floor.issue(["juminhyo", "shotoku_shomei"])
    later = floor.issue(["shotoku_shomei"])
    floor.do("call_next", CounterArgs(counter="c07"), START)  # both: at 証明 now
    f = forecast(floor.engine, START)
    assert f.at_group[(later, "zei")][0] == 0, "c32 skips the ticket being served at c07"
    assert f.at_group[(both, "zei")][0] == pytest.approx(floor.engine.times.expected("shotoku_shomei"))


def test_a_service_running_over_is_still_expected_to_take_a_while(site):
    floor = Floor(site, ["c01"])
    floor.issue(["tennyu"])
    floor.do("call_next", CounterArgs(counter="c01"), START)
    mean = floor.engine.times.expected("tennyu")
    on_time = forecast(floor.engine, START + timedelta(minutes=5)).arrival["jumin"][0]
    late = forecast(floor.engine, START + timedelta(minutes=3 * mean)).arrival["jumin"][0]
    assert on_time == pytest.approx(mean - 5)
    assert 0 < late < mean, "a long case: some of it still to go, not none"


def test_waits_for_a_priority_ticket_follow_the_fair_ratio(desk):
    desk.open("c07")
    normal = [desk.issue("juminhyo") for _ in range(4)]
    urgent = desk.issue("juminhyo", priority=True)
    engine, now = desk.engine, desk.now
    waits = {t.id: engine.ticket_wait(engine.state.tickets[t.id], now) for t in [*normal, urgent]}
    assert waits[urgent.id] == 0, "priority first"
    assert waits[normal[0].id] > 0 and waits[normal[1].id] > waits[normal[0].id]


def test_one_forecast_per_state_and_minute(desk):
    desk.open("c01", "c07")
    desk.issue("tennyu")
    waits, now = desk.engine.waits, desk.now
    first = waits.forecast(now)
    for g in desk.engine.state.groups:
        desk.engine.group_state(g, now)
        desk.engine.wait_state(g, now)
    assert waits.forecast(now + timedelta(seconds=10)) is first, "same state, same minute: cached"
    assert waits.forecast(now + timedelta(minutes=1)) is not first, "a minute later: made again"
    desk.issue("juminhyo")
    assert waits.forecast(desk.now) is not first, "a command: made again"


def test_the_same_commands_give_the_same_waits(site):
    def day() -> list[tuple[int | None, object]]:
        desk = Desk(site)
        desk.open("c01", "c21", "c07")
        out = []
        for visit in VISITS:
            t = desk.issue(*visit)
            out.append((t.est_wait_min, t.est_wait_range))
        desk.call("c01")
        desk.tick(7.3)
        out += [(desk.engine.group_state(g, desk.now).est_wait_min, None) for g in ("jumin", "kokuho", "shomei")]
        return out

    assert day() == day()


def test_serving_set_aside_and_seated_tickets(desk):
    desk.open("c01")
    a = desk.issue("tennyu")
    b = desk.issue("tennyu")
    engine = desk.engine
    desk.call("c01")
    assert engine.waits.ticket(engine.state.tickets[a.id], desk.now) == Wait(0, 0, 0)
    desk.do("no_show", counter="c01")
    assert engine.state.tickets[a.id].status is TicketStatus.ABSENT
    assert engine.waits.ticket(engine.state.tickets[a.id], desk.now) is None, "set aside: no estimate"
    assert engine.ticket_wait(engine.state.tickets[b.id], desk.now) == 0, "next in line, counter free"


def test_no_counter_open_no_estimate(desk):
    t = desk.issue("tennyu")
    assert t.est_wait_min is None and t.est_wait_range is None
    assert desk.engine.wait_state("jumin", desk.now).est_wait_range is None


@pytest.mark.parametrize(
    ("minutes", "low", "high", "told_as"),
    [
        (0.0, -2.0, 1.0, Wait(0, 0, 1)),
        (3.4, 1.2, 5.5, Wait(3, 1, 6)),
        (8.6, 5.0, 12.2, Wait(9, 5, 15)),  # above 10: to the next five
        (12.3, 9.1, 17.2, Wait(12, 9, 20)),
        (31.0, 22.4, 38.0, Wait(31, 20, 40)),
        (5.0, 6.0, 4.0, Wait(5, 5, 5)),  # always around the most likely
    ],
)
def test_told_rounds_as_residents_read_it(minutes, low, high, told_as):
    assert told(minutes, low, high) == told_as


def test_the_range_widens_with_the_queue(desk):
    desk.open("c01")
    spans = []
    for _ in range(6):
        t = desk.issue("tennyu")
        assert t.est_wait_range.low <= t.est_wait_min <= t.est_wait_range.high
        spans.append(t.est_wait_range.high - t.est_wait_range.low)
    assert spans[-1] > spans[1] > 0


def test_the_old_estimator_is_kept_as_the_baseline(desk):
    for _ in range(4):
        desk.issue("tennyu")
    desk.open("c01")
    old = WorkAheadEstimator(desk.engine)
    assert old.at_group("jumin", desk.now) == Wait(60, 45, 75)


def test_the_forecast_uses_a_longer_memory_of_service_times_than_the_recent_window():
    from queue_service.engine.estimate import ServiceTimes

    times = ServiceTimes({"tennyu": 15.0}, window=20)
    assert times.expected("tennyu") == times.minutes("tennyu") == 15.0, "no samples: the site's typical minutes"
    for _ in range(60):
        times.observe("tennyu", 10.0)
    for _ in range(20):
        times.observe("tennyu", 30.0)  # a run of long cases fills the recent window
    assert times.minutes("tennyu") == 30.0, "the recent window (other users) moves with them"
    assert times.expected("tennyu") == pytest.approx(15.0), "the forecast's memory (80 of 200 samples) does not"
    for _ in range(times.memory):
        times.observe("tennyu", 12.0)
    assert times.expected("tennyu") == pytest.approx(12.0), "it forgets beyond its memory"


MOVE_IN = {
    "procedures": ["tennyu", "kokuho_kanyu"],
    "life_event": "moving_in",
    "answers": {"kokuho": True, "children": False, "over_65": False, "seal": False},
}


def test_a_free_booth_seat_that_nobody_waits_for_means_a_free_booth_staff_member(site):
    """The engine sees the booth staff only while they serve: one serving and a seat free that nobody has been
    waiting for means another is free (had they been busy, the earlier residents would still wait)."""
    desk = Desk(site)
    desk.open("b1", "b2", "c21")
    first = desk.do("issue", KIOSK, **MOVE_IN).result.ticket
    assert desk.call("b1").id == first.id  # one booth staff member serves 転入届 at b1
    desk.tick(1)
    second = desk.do("issue", KIOSK, **MOVE_IN).result.ticket
    assert second.est_wait_min == 0, "b2 is free and nobody waited for it: seated at once"
    desk.tick(5)  # ... but nobody seated them for 5 minutes: every booth staff member is busy (with b1's)
    wait = desk.engine.waits.ticket(desk.engine.state.tickets[second.id], desk.now)
    assert wait is not None and wait.likely > 0
