"""What residents tell the office, recorded by the engine: survey answers (anonymous, one per ticket), guide uses
(counts only) and what the counter desk follows (the serving state: ids only)."""

from __future__ import annotations

import pytest

from queue_service.engine import CommandError
from tests.desk import KIOSK, Desk

SERVICE, EXIT = "queue-service", "exit-1f"


@pytest.fixture
def desk(site):
    d = Desk(site)
    d.open("c01", "c07")
    return d


def test_a_survey_is_answered_once_per_ticket_by_id_or_by_number(desk):
    first, second = desk.issue("juminhyo"), desk.issue("juminhyo")
    with pytest.raises(CommandError) as early:
        desk.do("record_survey", EXIT, ticket=first.id, answers={"overall": 5})
    assert early.value.code == "visit_not_done", "asked when the visit ends"
    for _ in (first, second):
        desk.call("c07")
        desk.complete("c07")
    ok = desk.do("record_survey", SERVICE, ticket=first.id, answers={"overall": 5, "waiting": 3}).result
    assert (ok.recorded, ok.surveys_today) == (True, 1)
    assert desk.engine.state.surveys == {first.id: {"overall": 5, "waiting": 3}}
    by_number = desk.do("record_survey", EXIT, number=second.number, answers={"no_repeat": 4}).result
    assert by_number.surveys_today == 2
    for args, code in (
        ({"ticket": first.id, "answers": {"overall": 1}}, "already_answered"),
        ({"number": second.number, "answers": {"overall": 1}}, "already_answered"),
        ({"number": 777, "answers": {"overall": 1}}, "unknown_ticket"),
        ({"ticket": first.id.replace("0001", "0099"), "answers": {"overall": 1}}, "unknown_ticket"),
    ):
        with pytest.raises(CommandError) as exc:
            desk.do("record_survey", EXIT, **args)
        assert exc.value.code == code
    third = desk.issue("juminhyo")
    desk.do("cancel", KIOSK, ticket=third.id)  # who gave up may still say why
    with pytest.raises(CommandError) as exc:
        desk.do("record_survey", EXIT, ticket=third.id, answers={"colour": 3})
    assert exc.value.code == "unknown_question" and third.id not in desk.engine.state.surveys
    with pytest.raises(CommandError) as forbidden:
        desk.do("record_survey", KIOSK, ticket=third.id, answers={"overall": 3})
    assert forbidden.value.code == "forbidden", "a ticket kiosk may not answer for residents"


@pytest.mark.parametrize(
    "args",
    [
        {"answers": {"overall": 3}},  # no ticket named
        {"ticket": "20261124-0001", "number": 1, "answers": {"overall": 3}},  # both
        {"number": 1, "answers": {"overall": 0}},  # stars are 1-5
        {"number": 1, "answers": {"overall": 6}},
        {"number": 1, "answers": {}},
    ],
)
def test_survey_args_are_strict(desk, args):
    from pydantic import ValidationError

    desk.issue("juminhyo")
    with pytest.raises(ValidationError):
        desk.do("record_survey", EXIT, **args)


def test_guide_uses_are_counted_and_name_only_known_life_events(desk):
    assert desk.do("record_guide_use", SERVICE, life_event="moving_in").result.guide_uses_today == 1
    assert desk.do("record_guide_use", SERVICE, life_event="moving_in", completed=True).result.guide_uses_today == 2
    with pytest.raises(CommandError) as exc:
        desk.do("record_guide_use", SERVICE, life_event="nope")
    assert exc.value.code == "unknown_life_event" and desk.engine.state.guide_uses == 2


def test_the_serving_state_says_what_the_counter_serves_with_ids_only(desk):
    assert desk.engine.serving_state("c01").ticket is None
    # answered at a kiosk without booths open for the day: the counters serve it (the booths closed)
    desk.open("b1")
    desk.do("close_counter", counter="b1")
    t = desk.do(
        "issue", KIOSK, procedures=["juminhyo", "tenkyo", "inkan_toroku"], life_event="moving_within", note="n"
    ).result.ticket
    desk.call("c01")
    serving = desk.engine.serving_state("c01")
    assert (serving.ticket, serving.number, serving.lang) == (t.id, t.number, "ja")
    assert serving.serving == ["tenkyo", "inkan_toroku"] and serving.open == ["juminhyo"]
    assert serving.life_event == "moving_within"
    assert "note" not in serving.model_dump(), "the concierge's note stays in the panels' replies"
    desk.complete("c01")
    assert desk.engine.serving_state("c01").ticket is None
