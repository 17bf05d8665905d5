"""Issue 17 at the ticket kiosk, through its real screens under Xvfb against the real broker, queue service and
ESC/POS printer simulator: the reception (life event, answers, the concierge's note) travels with the ticket;
a one-stop visit is told it will be called to a booth and stay; a concierge-only kiosk refuses self-issue.

What the ticket carries is read back where it lands: the service's journal, and the reply a booth's panel gets
when it calls the ticket. Screenshots: build/test-artifacts/ui/kiosk-4*.png and kiosk-5*.png.
"""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from kiosk.pin import hash_pin
from tests.artifacts_dir import TEST_ARTIFACTS
from tests.system.test_ui_apps import STATUS_URL, Stack, zbar

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")

PIN = "2468"
ANSWERS = {
    "children": True,
    "kokuho": True,
    "over_65": False,
    "pension_type1": False,
    "mynumber_card": False,
    "seal": False,
}
MOVE_IN = ["tennyu", "kokuho_kanyu", "jidou_teate", "kodomo_iryo"]


@pytest.fixture
def stack(site, tmp_path, display):
    running = Stack(site, tmp_path, display)
    yield running
    running.stop()


def journaled_issues(stack: Stack) -> list[dict]:
    """The issue commands as the service journaled them (what it replays after a restart)."""
    with sqlite3.connect(f"file:{stack.state / 'queue.sqlite'}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT device, args FROM journal WHERE verb = 'issue' ORDER BY seq").fetchall()
    return [{"device": device, **json.loads(args)} for device, args in rows]


def called_at_booth(stack: Stack, booth: str) -> dict:
    """A booth's panel opens and calls: the ticket the reply hands its staff, with what reception learned."""
    panel = stack.broker.bus(f"panel-{booth}")
    try:
        panel.request("open_counter", {"counter": booth})
        ticket = panel.request("call_next", {"counter": booth})["ticket"]
    finally:
        panel.stop()
    assert ticket is not None, f"{booth} called nobody"
    return ticket


def keep_printed(stack: Stack, name: str) -> None:
    assert len(stack.printer.receipts) == 1
    shutil.copy(stack.printer.tickets[0], TEST_ARTIFACTS / "ui" / name)


def test_a_self_service_move_in_carries_its_answers_and_is_told_one_stop(stack):
    result = stack.drive("ticket", "kiosk-1f", "kiosk_one_stop_move_in")
    assert result["locked"] is False
    ticket = result["ticket"]
    assert [s["procedure"] for s in ticket["itinerary"]] == MOVE_IN
    assert {s["procedure"]: s["mode"] for s in ticket["itinerary"]}["tennyu"] == "front"
    # told before issue (the guidance) and after (the screen and the printed ticket): a booth, and stay there
    assert "one-stop booth" in result["guidance_notice"]
    assert all("One-stop booths" in where for where in result["guidance_where"]), result["guidance_where"]
    assert "one-stop booth" in result["issued"]["notice"]
    assert "each counter in turn" not in result["issued"]["take"]
    assert result["issued"]["steps"].startswith("1. 1F  One-stop booths")
    assert "one-stop booth" in result["slip"]["footer"]
    assert [step[:2] for step in result["slip"]["steps"]] == [["1F", "One-stop booths"]]
    assert result["print_state"] == "printed"
    keep_printed(stack, "kiosk-53-one-stop-printed-ticket.png")
    assert zbar(stack.printer.tickets[0]) == STATUS_URL.format(token=ticket["token"])

    [journaled] = journaled_issues(stack)
    assert journaled["device"] == "kiosk-1f"
    assert journaled["life_event"] == "moving_in" and journaled["answers"] == ANSWERS
    assert journaled.get("note") is None, "a resident alone never sends a note"
    at_booth = called_at_booth(stack, "b1")
    assert at_booth["id"] == ticket["id"] and at_booth["booth"] == "b1"
    assert at_booth["reception"] == {"life_event": "moving_in", "answers": ANSWERS, "note": None}


def test_the_concierge_kiosk_refuses_self_issue_and_staff_issue_a_move_in_with_a_note(stack):
    result = stack.drive(
        "ticket", "kiosk-concierge", "kiosk_concierge_desk", pin=PIN, settings={"concierge_pin": hash_pin(PIN)}
    )
    # locked for residents: no way to issue, and it says where reception is, in the resident's language
    assert result["locked"] is True
    assert result["self_issue_buttons"] == [] and result["screen_after_choose"] == "home"
    assert "1階 総合案内" in result["reception_ja"]
    assert "the reception desk (1F)" in result["reception_en"]
    # staff mode: the note refuses a phone number, keeps the presets and what was typed
    assert result["unlocked"] is True
    assert result["refused_message"] and result["note_after_refusal"] == ""
    note = result["note"]
    assert note.endswith("（英語）") and len(note.split("、")) == 2, note
    ticket = result["ticket"]
    assert [s["procedure"] for s in ticket["itinerary"]] == MOVE_IN and ticket["lang"] == "ja"
    assert result["print_state"] == "printed"
    keep_printed(stack, "kiosk-48-concierge-printed-ticket.png")
    # one ticket per unlock: locked again at once, and back home without a way to issue
    assert result["locked_after_issue"] is True and result["locked_at_home"] is True
    assert result["self_issue_buttons_after"] == []

    [journaled] = journaled_issues(stack)
    assert journaled["device"] == "kiosk-concierge"
    assert (journaled["life_event"], journaled["answers"], journaled["note"]) == ("moving_in", ANSWERS, note)
    at_booth = called_at_booth(stack, "b2")
    assert at_booth["id"] == ticket["id"]
    assert at_booth["reception"] == {"life_event": "moving_in", "answers": ANSWERS, "note": note}
