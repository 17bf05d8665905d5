"""The phone alert's decision (queue_service.web.phone_alert): which step the figure is for, when "near" starts,
that one event alerts once, and that a second counter and the pickup call alert again. Pure: no server."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from queue_service.web.api_models import CalledOut, StepOut, TicketStatusOut
from queue_service.web.phone_alert import (
    ahead_text,
    alert_words,
    current_alert,
    due,
    is_near,
    people_ahead,
    waiting_now,
)

AT = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


def step(procedure: str, group: str, status: str = "waiting", ahead: int | None = None, **kw) -> StepOut:
    return StepOut(
        procedure=procedure,
        procedure_name=procedure,
        group=group,
        group_name=group,
        floor=1,
        place=group,
        status=status,  # type: ignore[arg-type]
        ahead=ahead,
        open_counters=kw.pop("open_counters", 1),
        **kw,
    )


def ticket(*steps: StepOut, status: str = "waiting", called: CalledOut | None = None) -> TicketStatusOut:
    return TicketStatusOut(
        number=45, lang="en", status=status, called=called, est_wait_min=None, steps=list(steps), updated_at=AT
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ahead", "threshold", "near"),
    [(None, 3, False), (4, 3, False), (3, 3, True), (0, 3, True), (1, 0, False), (0, 0, True), (50, 50, True)],
)
def test_near_is_next_but_n(ahead, threshold, near):
    assert is_near(ahead, threshold) is near


def test_the_figure_is_for_the_step_with_fewest_ahead_at_an_open_group():
    st = ticket(
        step("a", "g1", ahead=5),
        step("b", "g2", ahead=2, open_counters=0),  # closed: its standing says nothing about the wait
        step("c", "g3", ahead=4),
        step("d", "g4", status="later"),
    )
    assert waiting_now(st).procedure == "c"  # type: ignore[union-attr]
    assert people_ahead(st) == 4
    tie = ticket(step("a", "g1", ahead=2), step("c", "g3", ahead=2))
    assert waiting_now(tie).procedure == "a"  # type: ignore[union-attr]
    assert people_ahead(ticket(step("a", "g1", status="later"))) is None
    called = ticket(
        step("a", "g1", status="serving"), status="serving", called=CalledOut(counter="c01", counter_name="1", floor=1)
    )
    assert people_ahead(called) is None


def test_the_queue_moving_closer_alerts_once_per_step():
    sent: set[str] = set()
    rung = []
    for ahead in (6, 5, 4, 3, 2, 1, 0):
        alert = due(current_alert(ticket(step("tennyu", "jumin", ahead=ahead)), threshold=3), sent)
        if alert is not None:
            rung.append(alert.ahead)
            sent.add(alert.key)
    assert rung == [3]
    # someone with priority comes in ahead (3 → 4) and the queue moves again: the same step, no second ring
    for ahead in (4, 3):
        assert due(current_alert(ticket(step("tennyu", "jumin", ahead=ahead)), 3), sent) is None


def test_a_second_counter_and_the_pickup_call_alert_again():
    counter = CalledOut(counter="c01", counter_name="Counter 1", floor=1)
    sent: set[str] = set()
    kinds = []
    timeline = [
        ticket(step("tennyu", "jumin", ahead=2), step("kokuho", "kokuho", status="later")),
        ticket(step("tennyu", "jumin", status="serving"), status="serving", called=counter),
        ticket(step("tennyu", "jumin", status="done"), step("kokuho", "kokuho", ahead=1)),
        ticket(step("tennyu", "jumin", status="done"), step("kokuho", "kokuho", status="serving"), status="serving",
               called=CalledOut(counter="c21", counter_name="Counter 21", floor=2)),
        ticket(step("tennyu", "jumin", status="done"), step("kokuho", "kokuho", status="done"),
               step("card", "jumin", status="later", kind="pickup", ready=False)),
        ticket(step("tennyu", "jumin", status="done"), step("kokuho", "kokuho", status="done"),
               step("card", "jumin", status="serving", kind="pickup"), status="serving", called=counter),
    ]  # fmt: skip
    for st in timeline:
        for _again in range(2):  # every state is seen twice (a tick): the second time says nothing
            alert = due(current_alert(st, 3), sent)
            if alert is not None:
                kinds.append(alert.kind)
                sent.add(alert.key)
    assert kinds == ["near", "called", "near", "called", "pickup"]


def test_threshold_zero_alerts_only_when_next_and_finished_tickets_never():
    assert current_alert(ticket(step("a", "g", ahead=1)), 0) is None
    assert current_alert(ticket(step("a", "g", ahead=0)), 0).kind == "near"  # type: ignore[union-attr]
    assert current_alert(ticket(step("a", "g", status="done"), status="done"), 3) is None
    assert current_alert(ticket(step("a", "g", ahead=0), status="absent"), 3) is None


def test_the_words_say_the_number_and_what_to_do_in_the_language():
    near = current_alert(ticket(step("a", "g", ahead=3)), 3)
    assert near is not None
    title, body = alert_words(near, ticket(step("a", "g", ahead=3)), "en")
    assert title == "Your number 45"
    assert body.startswith("3 people ahead of you\n")
    assert ahead_text(1, "en") == "1 person ahead of you" and ahead_text(0, "en") == "You are next"
    called = ticket(
        step("a", "g", status="serving"),
        status="serving",
        called=CalledOut(counter="c01", counter_name="1番窓口", floor=1),
    )
    title, body = alert_words(current_alert(called, 3), called, "ja")  # type: ignore[arg-type]
    assert "45" in title and "1番窓口" in body
