"""The exit screen (role exit, ``madoguchi kiosk exit``) under Xvfb, on the real broker and queue service: a
resident gives stars to the site's questions, types their ticket's number (a wrong one first), sends, is thanked
and the screen starts again by itself; the same ticket answering again is told it already answered; a form left
half done is cleared by the idle timeout; with the queue service down the screen is covered.

The scenarios run inside the app's process through tests/ui/driver.py (``python -m tests.system.test_exit_app``
hands the driver this module's scenarios). Screenshots: build/test-artifacts/ui/exit-*.png.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
import time

import pytest

from kiosk.config.site import Site
from tests.system.test_ui_apps import Stack
from ticket_machine.exit_app.survey import SurveyForm, outcome_message

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")
IDLE_SECONDS = 10  # the device file's shortest idle timeout


# ---------------------------------------------------------------- the Kivy-free state
def test_the_form_needs_every_question_and_a_number_and_sends_only_stars_and_the_number(site: Site):
    form = SurveyForm.for_site(site)
    assert [q.id for q in form.questions] == ["overall", "waiting", "no_repeat"]
    form.choose("overall", 4)
    form.choose("waiting", 2)
    assert not form.complete and not form.can_send
    form.choose("no_repeat", 5)
    form.choose("waiting", 3)  # a second tap changes it
    assert form.complete and not form.can_send
    for key in ("0", "4", "2", "back", "7", "x", "12"):
        form.press(key)
    assert form.number == "047" and form.can_send
    assert form.args() == {"number": 47, "answers": {"overall": 4, "waiting": 3, "no_repeat": 5}}
    for key in "123456":
        form.press(key)
    assert len(form.number) == 5  # today's numbers have at most five digits (SurveyArgs)
    with pytest.raises(ValueError):
        form.choose("overall", 6)
    with pytest.raises(ValueError):
        form.choose("parking", 3)
    form.clear()
    assert not form.touched and form.stars == {}
    assert outcome_message(None)[1] and outcome_message("already_answered")[1]
    assert not outcome_message("unknown_ticket")[1] and not outcome_message("timeout")[1]


# ---------------------------------------------------------------- scenarios (run inside the app's process)
def _in_service(app, ui):
    return ui.until(lambda: app.in_service, "broker and queue service reachable", timeout=20)


def _stars(ui, **chosen: int):
    for question, n in chosen.items():
        yield ui.tap(f"star-{question}-{n}")


def _type(ui, digits: str):
    yield ui.tap("num-clear")
    for d in digits:
        yield ui.tap(f"num-{d}")


def exit_survey(app, ui, params):
    """A resident in English: stars, a wrong number, the right one, thanks, and the screen starts again."""
    number = params["number"]
    yield _in_service(app, ui)
    yield ui.shot("exit-01-stars-ja")
    yield ui.tap("lang-en")
    yield ui.until(lambda: "How was your visit?" in _texts(app), "English")
    yield from _stars(ui, overall=4, waiting=2)
    ui.result["next_before"] = ui.find("next").disabled
    yield from _stars(ui, no_repeat=5)
    yield ui.shot("exit-02-stars-chosen-en")
    yield ui.tap("next")
    yield ui.screen("number")
    yield ui.shot("exit-03-number-en")
    yield from _type(ui, "999")
    yield ui.tap("send")
    yield ui.until(lambda: app.message, "the refusal")
    ui.result["wrong_number"] = app.message
    ui.result["kept_after_refusal"] = dict(app.form.stars)
    yield ui.shot("exit-04-number-unknown-en")
    yield from _type(ui, number)
    yield ui.tap("send")
    yield ui.screen("thanks")
    ui.result["thanks"] = app.message
    yield ui.shot("exit-05-thanks-en")
    thanked = time.monotonic()
    yield ui.until(lambda: app.sm.current == "stars", "back to the start", timeout=20)
    ui.result["back_after_s"] = round(time.monotonic() - thanked, 1)
    ui.result["after"] = {"lang": _lang(), "stars": dict(app.form.stars), "number": app.form.number}

    # the same ticket again, in Japanese: told it already answered, then back to the start by the button
    yield from _stars(ui, overall=1, waiting=1, no_repeat=1)
    yield ui.tap("next")
    yield ui.screen("number")
    yield from _type(ui, number)
    yield ui.tap("send")
    yield ui.screen("thanks")
    ui.result["again"] = app.message
    yield ui.shot("exit-06-already-answered-ja")
    yield ui.tap("again")
    yield ui.screen("stars")

    # a resident who walks away half way: the idle timeout clears the stars
    yield from _stars(ui, overall=3)
    ui.result["next_half_done"] = ui.find("next").disabled  # not every question has stars
    yield ui.until(lambda: not app.form.touched, "the idle reset", timeout=IDLE_SECONDS + 10)
    ui.result["idle"] = {"screen": app.sm.current, "stars": dict(app.form.stars)}
    yield ui.shot("exit-07-after-idle-ja")


def exit_out_of_service(app, ui, params):
    """The queue service is down: the cover is over the stars and a tap does nothing."""
    yield ui.until(lambda: app.link.broker_up, "the broker")
    yield ui.until(lambda: not app.in_service, "out of service")
    yield ui.shot("exit-08-out-of-service")
    ui.result["tap_swallowed"] = ui.touch_swallowed("star-overall-5")
    ui.result["stars"] = dict(app.form.stars)


def _texts(app) -> str:
    return " ".join(getattr(w, "text", "") for w in app.root.walk(restrict=True))


def _lang() -> str:
    from kiosk.ui.lang import tr

    return tr.lang


# ---------------------------------------------------------------- the tests (drive the app in its own process)
def drive(stack: Stack, scenario: str, **params) -> tuple[dict, float]:
    """The exit screen runs this module (its scenarios are added to the UI driver's below); with its run time."""
    started = time.monotonic()
    result = stack.drive(
        "exit",
        "exit-1f",
        scenario,
        module="tests.system.test_exit_app",
        screen={"idle_seconds": IDLE_SECONDS},
        timeout=180,
        **params,
    )
    return result, time.monotonic() - started


def test_a_resident_answers_at_the_exit_screen_once_per_ticket(site, tmp_path, display):
    stack = Stack(site, tmp_path, display)
    try:
        kiosk, panel = stack.broker.bus("kiosk-1f"), stack.broker.bus("panel-c01")
        try:
            ticket = kiosk.request("issue", {"procedures": ["tennyu"], "lang": "en"})["ticket"]
            panel.request("open_counter", {"counter": "c01"})
            panel.request("call_next", {"counter": "c01"})
            panel.request("complete", {"counter": "c01"})
        finally:
            kiosk.stop()
            panel.stop()
        result, took = drive(stack, "exit_survey", number=ticket["number"])
    finally:
        stack.stop()
    print(f"exit screen scenario: {took:.1f} s, back to the start {result['back_after_s']} s after thanks")
    assert result["next_before"] is True  # "Next" waits for every question
    assert result["wrong_number"] == "No ticket with this number today. Please check the number on your ticket."
    assert result["kept_after_refusal"] == {"overall": 4, "waiting": 2, "no_repeat": 5}
    assert result["thanks"] == "Thank you for your answers."
    assert 5.0 <= result["back_after_s"] <= 10.0
    assert result["after"] == {"lang": "ja", "stars": {}, "number": ""}
    assert result["again"] != result["thanks"] and result["again"]  # already answered (Japanese once translated)
    assert result["next_half_done"] is True
    assert result["idle"] == {"screen": "stars", "stars": {}}
    with sqlite3.connect(tmp_path / "queue.sqlite") as db:
        rows = db.execute("SELECT device, args, ok FROM journal WHERE verb = 'record_survey' ORDER BY seq").fetchall()
    sent = [
        ({k: v for k, v in json.loads(args).items() if v is not None}, ok)
        for device, args, ok in rows
        if device == "exit-1f"
    ]
    answer = {"overall": 4, "waiting": 2, "no_repeat": 5}
    again = {"overall": 1, "waiting": 1, "no_repeat": 1}
    assert sent == [  # the wrong number refused, the answer recorded, the same ticket's second answer refused
        ({"number": 999, "answers": answer}, 0),
        ({"number": ticket["number"], "answers": answer}, 1),
        ({"number": ticket["number"], "answers": again}, 0),
    ]


def test_the_exit_screen_is_covered_while_the_queue_service_is_down(site, tmp_path, display):
    stack = Stack(site, tmp_path, display, with_service=False)
    try:
        result, _took = drive(stack, "exit_out_of_service")
    finally:
        stack.stop()
    assert result["tap_swallowed"] is True and result["stars"] == {}


if __name__ == "__main__":
    from tests.ui import driver, scenarios

    for name in ("exit_survey", "exit_out_of_service"):
        setattr(scenarios, name, globals()[name])
    role, config, scenario, result, *rest = sys.argv[1:]
    sys.exit(driver.run(role, config, scenario, result, dict(kv.split("=", 1) for kv in rest)))
