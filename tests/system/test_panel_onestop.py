"""The call panel on the one-stop floor (issue 17), driven through its real screens under Xvfb against the real
broker and queue service: a move-in called once to booth B3, three sections' staff coming to it in turn, a later
delivery listed at the pickup counter (the same after the panel restarts), marked ready and called there, and a
booth handing a visit over to the counters.

The panel's Kivy-free view state (dispatch, reception, pickups, itinerary) is tested first, on the real engine's
states, without a window. Screenshots: build/test-artifacts/ui/onestop-*.png.
"""

from __future__ import annotations

import shutil
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.bus.schemas import (
    VERB_ARGS,
    BoardState,
    CalledEvent,
    ComingState,
    GroupState,
    PickupsState,
    RequestsState,
)
from kiosk.i18n import gettext_for
from queue_service.engine.engine import CommandError, Context, QueueEngine
from tests.conftest import EXAMPLE_SITE
from tests.harness import Watcher
from tests.system.test_ui_apps import Run, Stack, _wait_for
from ticket_machine.panel_app.dispatch import booth_line, can_recall, error_text, request_lines, serving_place
from ticket_machine.panel_app.itinerary import itinerary_lines, serving_now
from ticket_machine.panel_app.pickups import hands_over, pickup_groups, pickup_lines, to_mark
from ticket_machine.panel_app.reception import coming_sections, reception_lines

#: The move-in of the brief: three sections' steps at the booth (kokuho, kodomo, kaigo) after the front step.
ANSWERS = {"kokuho": True, "children": True, "over_65": True}
#: 7-inch panels are 1024x600; one section panel runs at 1280x800 (a 15-inch one; the Xvfb screen's size).
SMALL, LARGE = (1024, 600), (1280, 800)


# ----------------------------------------------------------------- the view state, on the engine's own states
def ja(message: str) -> str:
    """A message as the Japanese panel shows it (the English id until the catalog has it)."""
    return gettext_for("ja", message)


class Office:
    """The real queue engine, driven by commands; the panel's view state is fed the states it publishes."""

    def __init__(self, site) -> None:
        self.site = site
        self.now = datetime(2026, 4, 1, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
        self.engine = QueueEngine(site, self.now)
        self.tokens = 0

    def do(self, verb: str, device: str, minutes: float = 0, **args):
        self.tokens += 1
        ctx = Context(self.now + timedelta(minutes=minutes), device, token=f"token-{self.tokens:012d}")
        return self.engine.apply(verb, VERB_ARGS[verb](**args), ctx).result  # type: ignore[index]

    def states(self):
        e, site = self.engine, self.site
        return (
            {g.id: e.requests_state(g.id) for g in site.groups},
            {g.id: e.coming_state(g.id) for g in site.groups},
            {c.id: e.counter_state(c.id) for c in site.counters},
            {c.id: e.booth_state(c.id) for c in site.counters if c.group == site.booth_group},
        )

    def pickups(self):
        return {g.id: self.engine.pickups_state(g.id) for g in self.site.groups}


@pytest.fixture
def office(site):
    office = Office(site)
    for counter in ("b3", "c21", "c25", "c24", "c31", "c07"):
        device = f"panel-{counter}" if f"panel-{counter}" in site.device_by_id else "panel-demo"
        office.do("open_counter", device, counter=counter)
    return office


def _move_in(office, lang="en"):
    procedures = office.site.procedures_for("moving_in", ANSWERS)
    return office.do(
        "issue",
        "kiosk-concierge",
        procedures=procedures,
        lang=lang,
        life_event="moving_in",
        answers=ANSWERS,
        note="筆談希望",
    ).ticket


def test_view_requests_are_per_skill_and_a_shared_counter_sees_one_row_per_resident(site, office):
    ticket = _move_in(office)
    office.do("call_next", "panel-b3", counter="b3")
    office.do("complete", "panel-b3", 1, counter="b3")
    requests, *_ = office.states()
    at = office.now + timedelta(minutes=5)
    c21 = request_lines(site, site.counter_by_id["c21"], requests, at, "ja")
    said = ja("{booth}: {procedures} (number {number}, {language}, waiting {minutes} min)")
    assert [r.text for r in c21] == [
        said.format(
            booth="ワンストップ B3", procedures="国民健康保険 加入", number=ticket.number, language="English", minutes=5
        )
    ]
    # c25 is kodomo's counter that also serves kokuho: one row, both groups' steps (taking it serves both)
    (c25,) = request_lines(site, site.counter_by_id["c25"], requests, at, "ja")
    assert c25.ticket == ticket.id and c25.procedures == ("jidou_teate", "kokuho_kanyu")
    assert request_lines(site, site.counter_by_id["b3"], requests, at, "ja") == []  # a booth takes no requests


def test_view_booth_seat_served_by_a_section_and_the_refusals_in_words(site, office):
    ticket = _move_in(office)
    office.do("call_next", "panel-b3", counter="b3")
    office.do("complete", "panel-b3", 1, counter="b3")
    b3 = site.counter_by_id["b3"]
    *_, booths = office.states()
    seated = booth_line(site, b3, booths["b3"], office.now + timedelta(minutes=3), "ja")
    assert seated.number == ticket.number and seated.can_hand_over
    assert any("国民健康保険、児童手当・こども医療、介護保険" in line for line in seated.lines)
    with pytest.raises(CommandError) as refused:
        office.do("call_next", "panel-b3", 2, counter="b3")
    text = error_text(site, refused.value.code, str(refused.value), "ja", b3, booths["b3"])
    assert str(ticket.number) in text and "ワンストップ B3" in text and "介護保険" in text

    taken = office.do("take_request", "panel-c21", 3, counter="c21", ticket=ticket.id).ticket
    c21 = site.counter_by_id["c21"]
    assert "ワンストップ B3" in serving_place(site, c21, taken, "ja") and not can_recall(c21, taken)
    assert can_recall(b3, taken)  # the booth's own recall calls them to the booth, where they sit
    *_, booths = office.states()
    served = booth_line(site, b3, booths["b3"], office.now + timedelta(minutes=4), "ja")
    assert not served.can_hand_over and any("21番窓口" in line for line in served.lines)
    here = [text for state, text in itinerary_lines(site, taken, "ja") if state == "here"]
    assert len(here) == 1 and "国民健康保険 加入" in here[0] and "ワンストップ B3" in here[0]
    fallback = ja("Not done")
    assert not error_text(site, "no_request", "taken", "ja").startswith(fallback)  # said in words, not as a code
    assert error_text(site, "something_new", "why", "ja") == f"{fallback}: why (something_new)"


def test_view_reception_and_coming_next_show_the_life_event_and_answers(site, office):
    ticket = _move_in(office)
    (section,) = coming_sections(site, site.counter_by_id["b3"], office.states()[1], "ja")
    (line,) = section.lines
    assert line.number == ticket.number and "English" in line.head
    details = "\n".join(line.details)
    assert "転入（区外から引っ越してきた）" in details
    assert "国民健康保険に加入している（加入する）方がいますか？ はい" in details
    assert "65歳以上の方がいますか？ はい" in details
    called = office.do("call_next", "panel-b3", counter="b3").ticket
    lines = reception_lines(site, called.reception, "ja")
    assert any("転入" in x for x in lines) and any("筆談希望" in x for x in lines)
    assert len([x for x in lines if x.endswith("はい")]) == 3
    # a counter with two skills has a coming list per group
    sections = coming_sections(site, site.counter_by_id["c25"], office.states()[1], "ja")
    assert [s.group for s in sections] == ["kodomo", "kokuho"]


def test_view_pickups_are_the_queue_services_list_and_a_restart_shows_the_same(site, office):
    ticket = _move_in(office)
    c07 = site.counter_by_id["c07"]
    assert hands_over(site, c07) and pickup_groups(site, c07) == ("shomei",)
    assert not hands_over(site, site.counter_by_id["c21"])

    def shown(states=None, lang="ja"):
        states = office.pickups() if states is None else states
        return [(p.key, p.markable, p.text.split("\n")[1]) for p in pickup_lines(site, c07, states, lang)]

    key = f"ready-{ticket.number}-kaigo_shikaku"
    office.do("call_next", "panel-b3", counter="b3")
    office.do("complete", "panel-b3", 1, counter="b3")
    office.do("take_request", "panel-c31", 2, counter="c31", ticket=ticket.id)
    assert shown() == []  # kaigo is serving it: no pickup step yet, nothing to mark
    office.do("complete", "panel-c31", 3, counter="c31")
    to_mark_line = (key, True, ja("Done: mark it ready when the document is here."))
    assert shown() == [to_mark_line]
    head = pickup_lines(site, c07, office.pickups(), "ja")[0].text.split("\n")[0]
    assert head == ja("Number {number}: {procedure}").format(
        number=ticket.number, procedure="介護保険 資格取得・住所変更"
    )

    # a restarted panel has nothing but the retained message: built from it alone, the list is the same
    retained = office.engine.pickups_state("shomei").model_dump_json()
    restarted = {"shomei": PickupsState.model_validate_json(retained)}
    assert shown(restarted) == [to_mark_line]
    assert to_mark(pickup_lines(site, c07, restarted, "ja")) == 1
    # another group's message (another counter's pickups) never shows here
    assert shown({"kaigo": PickupsState.model_validate_json(retained)}) == []

    office.do("mark_ready", "panel-c07", 4, ticket=ticket.id, procedure="kaigo_shikaku")
    ready = (key, False, ja("Ready: the resident is called here with “Call next”."))
    assert shown() == [ready] and to_mark(pickup_lines(site, c07, office.pickups(), "ja")) == 0
    office.do("take_request", "panel-c21", 5, counter="c21", ticket=ticket.id)
    office.do("complete", "panel-c21", 6, counter="c21")
    office.do("take_request", "panel-c24", 7, counter="c24", ticket=ticket.id)
    office.do("complete", "panel-c24", 8, counter="c24")  # the booth is done: the resident may leave it
    called = office.do("call_next", "panel-c07", 9, counter="c07").ticket  # called again, to pick it up
    assert serving_now(site, called, "ja") == "▶ " + ja("Pickup: {procedure}").format(
        procedure="介護保険 資格取得・住所変更"
    )
    assert shown() == [ready]  # listed until handed over
    office.do("complete", "panel-c07", 10, counter="c07")
    assert shown() == []


# ----------------------------------------------------------------- the panels under Xvfb
pytestmark_ui = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")


class PanelStack(Stack):
    """The UI tests' stack, with each panel at a screen size of its own."""

    def panel(self, device: str, scenario: str, size=SMALL, wait: bool = True, **params):
        import os
        import subprocess

        from tests.harness import ROOT

        config = self.broker.device_file(
            device, EXAMPLE_SITE, screen={"fullscreen": False, "width": size[0], "height": size[1]}
        )
        result = self.state / f"{device}-{scenario}.json"
        cmd = [sys.executable, "-m", "tests.ui.driver", "panel", str(config), scenario, str(result)]
        cmd += [f"{k}={v}" for k, v in params.items()]
        env = dict(os.environ, DISPLAY=self.display, SDL_AUDIODRIVER="dummy")
        log = self.state / f"{device}-{scenario}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=err)
        run = Run(proc, result, log)
        return run.result(timeout=300) if wait else run


@pytest.fixture
def stack(site, tmp_path, display):
    running = PanelStack(site, tmp_path, display)
    yield running
    running.stop()


@pytestmark_ui
def test_move_in_called_once_to_booth_b3_three_sections_come_and_the_pickup_is_called_later(site, stack):
    kiosk = stack.broker.bus("kiosk-concierge")
    watch = stack.broker.bus("board-1f")
    topics = watch.topics
    called = Watcher(watch, topics.called_event, CalledEvent)
    board = Watcher(watch, topics.board_state, BoardState)
    procedures = site.procedures_for("moving_in", ANSWERS)
    ticket = kiosk.request(
        "issue",
        {"procedures": procedures, "lang": "en", "life_event": "moving_in", "answers": ANSWERS, "note": "筆談希望"},
    )["ticket"]
    # someone else for 国保 at its counters (not one-stop): the kokuho panel's coming list shows them
    other = kiosk.request("issue", {"procedures": ["kokuho_kanyu"], "answers": {"kokuho": True}})["ticket"]
    number = ticket["number"]
    try:
        pickup = stack.panel(
            "panel-c07", "panel_pickup", wait=False, number=number, procedure="kaigo_shikaku", tag="c07-shomei"
        )
        flag = stack.state / "seated"
        booth = stack.panel("panel-b3", "panel_booth", wait=False, number=number, seated_flag=flag, tag="b3")
        _wait_for(lambda: flag.exists() or booth.proc.poll() is not None, "the resident seated at B3", timeout=120)
        kokuho = stack.panel("panel-c21", "panel_take", number=number, tag="c21-kokuho", large_text=1)
        kodomo = stack.panel("panel-c24", "panel_take", size=LARGE, number=number, tag="c24-kodomo")
        kaigo = stack.panel("panel-c31", "panel_take", number=number, tag="c31-kaigo", try_recall=1)
        at_booth = booth.result(timeout=300)
        listed = pickup.result(timeout=300)
        # the pickup panel restarts: its list comes back from the queue service's retained topic alone
        picked = stack.panel(
            "panel-c07", "panel_pickup", number=number, procedure="kaigo_shikaku", tag="c07-shomei", mark=1
        )
    finally:
        kiosk.stop()

    # the booth: called once, seated, front step served with the reception in view
    assert at_booth["called"]["id"] == ticket["id"] and at_booth["called"]["booth"] == "b3"
    coming = "\n".join(at_booth["coming_text"])
    assert "転入（区外から引っ越してきた）" in coming and "65歳以上の方がいますか？ はい" in coming
    assert any("筆談希望" in line for line in at_booth["called_left"]["reception"])
    assert (
        at_booth["called_left"]["itinerary"][0].startswith("▶") and "転入届" in at_booth["called_left"]["itinerary"][0]
    )
    assert str(number) in at_booth["occupied_message"] and "ワンストップ B3" in at_booth["occupied_message"]
    assert any("21番窓口" in line for line in at_booth["served_side"]) and at_booth["hand_over_disabled_while_served"]

    # three sections, in turn, at the booth: each sees the request, takes it, serves it there, completes it
    serving = {}
    for result, group, serves in (
        (kokuho, "kokuho", {"kokuho_kanyu"}),
        (kodomo, "kodomo", {"jidou_teate", "kodomo_iryo"}),
        (kaigo, "kaigo", {"kaigo_shikaku"}),
    ):
        requested = [line for line in result["side"] if "ワンストップ B3" in line and str(number) in line]
        assert requested, result["side"]
        assert result["taken"]["id"] == ticket["id"] and result["taken"]["booth"] == "b3"
        assert "ワンストップ B3" in result["left"]["place"] and result["recall_disabled"]
        serving[group] = {s["procedure"] for s in result["taken"]["itinerary"] if s["status"] == "serving"}
        assert serving[group] == serves
    assert any(site.group_by_id["kokuho"].names.ja in line for line in kokuho["queue_text"].splitlines())
    side = "\n".join(kokuho["side"])  # the kokuho panel's own coming list: the other resident, with their answer
    assert f"Number {other['number']}" in side or f"{other['number']}番" in side
    assert "国民健康保険に加入している（加入する）方がいますか？ はい" in side

    # a recall reaching the queue service while kaigo's staff are at the booth is refused, in words
    assert str(number) in kaigo["recall_message"] and "ワンストップ B3" in kaigo["recall_message"]
    assert "at_booth" not in kaigo["recall_message"]

    # the pickup: listed once kaigo was done, the same after a restart, marked ready, called at the shomei counter
    assert listed["pickup_count"] == 1 and any(str(number) in row for row in listed["rows"])
    assert picked["rows"] == listed["rows"] and picked["pickup_count"] == 1
    assert str(number) in picked["marked_message"] and picked["pickup_count_ready"] == 0
    assert any(str(number) in row for row in picked["ready_rows"]) and picked["ready_rows"] != picked["rows"]
    assert picked["called"]["id"] == ticket["id"] and picked["rows_after"] == []
    last = picked["called"]["itinerary"][-1]
    assert last["kind"] == "pickup" and last["status"] == "serving" and last["group"] == "shomei"

    # the board: the resident was called twice, to the booth and (later) to pick up, never to a section counter
    _wait_for(lambda: len([e for _t, e in called.messages if e.number == number]) >= 2, "both calls")
    calls = [e.counter for _t, e in called.messages if e.number == number]
    assert calls == ["b3", "c07"]
    shown = {c.counter for _t, state in board.messages for c in state.recent if c.number == number}
    assert shown == {"b3", "c07"}
    watch.stop()


@pytestmark_ui
def test_a_booth_hands_its_resident_over_to_the_counters(site, stack):
    kiosk = stack.broker.bus("kiosk-1f")
    watch = stack.broker.bus("board-1f")
    requests = Watcher(watch, watch.topics.requests_state("kokuho"), RequestsState)
    coming = Watcher(watch, watch.topics.coming_state("kokuho"), ComingState)
    groups = Watcher(watch, watch.topics.group_state("kokuho"), GroupState)
    answers = {"kokuho": True}
    procedures = site.procedures_for("moving_in", answers)
    ticket = kiosk.request("issue", {"procedures": procedures, "life_event": "moving_in", "answers": answers})["ticket"]
    try:
        result = stack.panel("panel-b4", "panel_hand_over", number=ticket["number"], tag="b4")
    finally:
        kiosk.stop()
    assert result["called"]["booth"] == "b4"
    assert any("国民健康保険" in line for line in result["hand_over_text"])
    assert str(ticket["number"]) in result["message"]
    # the booth step became a counter step: no request any more, and kokuho's counters call them
    requests.wait_for(lambda w: w.messages and not w.messages[-1][1].requests)
    coming.wait_for(lambda w: w.messages and any(c.ticket == ticket["id"] for c in w.messages[-1][1].coming))
    groups.wait_for(lambda w: w.messages and w.messages[-1][1].waiting >= 1)
    watch.stop()
