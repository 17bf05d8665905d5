"""The ticket kiosk's Kivy-free state for issue 17: the reception travels with the ticket, one-stop is told,
and a concierge-only kiosk is locked for residents. No window: the selection, the policy and the slip.

The tickets are issued by the real engine (tests/desk.py), so "one-stop" here is what the engine decides.
"""

from __future__ import annotations

import pytest

from kiosk.bus.schemas import IssueArgs
from tests.desk import KIOSK, Desk
from ticket_machine.kiosk_app.reception import (
    NOTE_MAX,
    NOTE_PERSONAL,
    IssuingPolicy,
    clean_note,
    note_problem,
    with_preset,
)
from ticket_machine.kiosk_app.selection import Selection
from ticket_machine.kiosk_app.slip import (
    COUNTER_FOOTER,
    ONE_STOP_NOTICE,
    STOPS_LABEL,
    STOPS_LABEL_ONE_STOP,
    at_booth,
    slip_for,
    ticket_stops,
)

URL = "https://sakura.example.jp/t/{token}"


def moving_in() -> Selection:
    """A resident who moved in with a child and national health insurance; no seal today; pension unanswered."""
    sel = Selection()
    sel.start_event("moving_in")
    sel.answer("children", True)
    sel.answer("kokuho", True)
    sel.answer("seal", False)
    return sel


def issue(site, args: dict):
    """The args through the bus schema (as the service validates them), then the engine's ticket."""
    model = IssueArgs.model_validate(args)
    return Desk(site).do("issue", KIOSK, **model.model_dump(exclude_none=True)).result.ticket


# ----------------------------------------------------------------- the issue's args
def test_a_life_event_visit_carries_the_event_and_only_the_answered_questions(site):
    args = moving_in().issue_args(site, "en", staff=False)
    assert args == {
        "procedures": ["tennyu", "kokuho_kanyu", "jidou_teate", "kodomo_iryo"],
        "lang": "en",
        "priority": False,
        "life_event": "moving_in",
        "answers": {"children": True, "kokuho": True, "seal": False},
    }
    IssueArgs.model_validate(args)  # what the service accepts


def test_answers_to_questions_the_event_does_not_ask_are_not_sent(site):
    sel = moving_in()
    sel.answers["pension_type1"] = True  # asked by moving_in: kept
    sel.start_event("birth")  # another event starts afresh
    sel.answer("kokuho", False)
    sel.answers["seal"] = True  # not a question of birth (a stale answer): dropped
    args = sel.issue_args(site, "ja", staff=False)
    assert args["life_event"] == "birth" and args["answers"] == {"kokuho": False}


def test_one_procedure_sends_what_a_v1_kiosk_sent(site):
    sel = Selection()
    sel.start_event(None)
    sel.add("juminhyo")
    assert sel.issue_args(site, "ja", staff=False) == {"procedures": ["juminhyo"], "lang": "ja", "priority": False}


def test_the_note_priority_and_ticket_language_are_the_concierges_only(site):
    sel = moving_in()
    sel.priority = True
    sel.ticket_lang = "vi"
    sel.set_note("  書類確認済み、通訳希望  ")
    alone = sel.issue_args(site, "ja", staff=False)
    assert "note" not in alone and alone["priority"] is False and alone["lang"] == "ja"
    staff = sel.issue_args(site, "ja", staff=True)
    assert staff["note"] == "書類確認済み、通訳希望" and staff["priority"] is True and staff["lang"] == "vi"
    IssueArgs.model_validate(staff)
    sel.set_note("あ" * (NOTE_MAX + 50))
    assert len(sel.issue_args(site, "ja", staff=True)["note"]) == NOTE_MAX
    sel.set_note("   ")
    assert "note" not in sel.issue_args(site, "ja", staff=True)
    sel.clear()
    assert sel.note == "" and sel.event is None


def test_the_engine_keeps_what_the_kiosk_sent_on_the_ticket(site):
    sel = moving_in()
    sel.set_note("書類確認済み")
    desk = Desk(site)
    model = IssueArgs.model_validate(sel.issue_args(site, "en", staff=True))
    ticket = desk.do("issue", KIOSK, **model.model_dump(exclude_none=True)).result.ticket
    kept = desk.engine.state.tickets[ticket.id]
    assert kept.life_event == "moving_in"
    assert kept.answers == {"children": True, "kokuho": True, "seal": False}
    assert kept.reception_note == "書類確認済み"


# ----------------------------------------------------------------- one-stop, told before and after issue
def test_the_kiosk_and_the_engine_agree_on_one_stop(site):
    sel = moving_in()
    assert sel.one_stop(site)
    assert at_booth(issue(site, sel.issue_args(site, "ja", staff=False)))
    errand = Selection()
    errand.add("juminhyo")
    assert not errand.one_stop(site)
    assert not at_booth(issue(site, errand.issue_args(site, "ja", staff=False)))
    by_hand = Selection()  # the same procedures without a life event: the classic counters
    for p in ["tennyu", "kokuho_kanyu"]:
        by_hand.add(p)
    assert not by_hand.one_stop(site)
    assert not at_booth(issue(site, by_hand.issue_args(site, "ja", staff=False)))


def test_a_one_stop_ticket_is_one_stop_at_the_booth_not_a_walk_across_floors(site):
    sel = moving_in()
    sel.add("juminhyo")  # a certificate: still the classic counter
    ticket = issue(site, sel.issue_args(site, "en", staff=False))
    stops = ticket_stops(site, ticket, "en")
    # 国保 is served on 2F and 児童手当 on 3F at the classic counters: here their staff come to the booth
    assert [(s.floor, s.place) for s in stops] == [
        ("1F", "One-stop booths"),
        ("1F", "Certificates (Counter 7, Counter 8)"),
    ]
    assert stops[0].procedure.splitlines() == [
        "Moving-in notification",
        "National Health Insurance: joining",
        "Child allowance: application",
        "Child medical aid card",
    ]
    slip = slip_for(site, ticket, URL)
    assert slip.steps == stops
    assert slip.footer == ONE_STOP_NOTICE and "one-stop booth" in slip.footer  # English: the message id itself
    assert slip.steps_label == STOPS_LABEL_ONE_STOP  # not "your counters, in this order": one place, stay there
    ja = slip_for(site, issue(site, sel.issue_args(site, "ja", staff=False)), URL)
    assert (ja.steps[0].place, ja.steps[0].floor) == ("ワンストップ窓口", "1階")
    assert ja.steps[0].procedure.splitlines()[0] == "転入届"


def test_a_classic_ticket_still_lists_its_counters_and_floors(site):
    sel = Selection()
    for p in ["tennyu", "kokuho_kanyu"]:
        sel.add(p)
    ticket = issue(site, sel.issue_args(site, "en", staff=False))
    slip = slip_for(site, ticket, URL)
    assert [s.floor for s in slip.steps] == ["1F", "2F"]
    assert slip.footer == COUNTER_FOOTER and slip.steps_label == STOPS_LABEL


# ----------------------------------------------------------------- issuing policy per device
def test_a_concierge_only_kiosk_is_locked_for_residents_and_locks_again_after_each_ticket(site):
    policy = IssuingPolicy.for_device(site, "kiosk-concierge")
    assert policy.concierge_only
    assert policy.locked(staff=False) and not policy.locked(staff=True)
    assert policy.staff_after_issue(staff=True) is False
    assert policy.reception_name("ja") == "1階 総合案内"
    assert policy.reception_name("en") == "the reception desk (1F)"


def test_a_self_service_kiosk_is_never_locked_and_keeps_staff_mode(site):
    policy = IssuingPolicy.for_device(site, "kiosk-1f")
    assert not policy.concierge_only and not policy.locked(staff=False)
    assert policy.staff_after_issue(staff=True) is True and policy.staff_after_issue(staff=False) is False
    assert policy.reception_name("ja") == ""
    assert IssuingPolicy.for_device(site, "not-in-the-site-file") == IssuingPolicy()


# ----------------------------------------------------------------- the note
@pytest.mark.parametrize(
    "note",
    [
        "TEL 090-1234-5678",
        "０９０１２３４５６７８",  # full-width digits
        "番号 1234 5678 9012",  # a My Number
        "〒160-0023",  # a postcode
        "mail: taro@example.jp",
        "連絡先 ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ",
    ],
)
def test_a_note_with_a_long_number_or_an_address_is_refused(note):
    assert note_problem(note) == NOTE_PERSONAL


@pytest.mark.parametrize(
    "note", ["書類確認済み、2026年度分", "Needs an interpreter (English)", "3 procedures, 2 forms", ""]
)
def test_an_ordinary_note_passes(note):
    assert note_problem(note) is None


def test_presets_are_appended_once_and_the_note_stays_short():
    note = with_preset("", "書類確認済み", "ja")
    note = with_preset(note, "通訳が必要", "ja")
    assert with_preset(note, "通訳が必要", "ja") == note == "書類確認済み、通訳が必要"
    assert with_preset("Documents checked", "Needs an interpreter", "en") == "Documents checked; Needs an interpreter"
    assert len(with_preset("x" * NOTE_MAX, "Identity confirmed", "en")) == NOTE_MAX
    assert clean_note(" a\u0308 ") == "ä"  # NFC: what the counters read is what was meant


def test_a_reprint_once_seated_names_the_very_booth(site):
    desk = Desk(site)
    model = IssueArgs.model_validate(moving_in().issue_args(site, "en", staff=False))
    ticket = desk.do("issue", KIOSK, **model.model_dump(exclude_none=True)).result.ticket
    desk.open("b3")
    assert desk.call("b3").id == ticket.id
    again = desk.do("reprint", KIOSK, ticket=ticket.id).result.ticket
    assert again.booth == "b3"
    first = slip_for(site, again, URL, reprint=True).steps[0]
    assert (first.place, first.floor) == ("One-stop booth B3", "1F")
    assert first.procedure.splitlines()[0] == "Moving-in notification"  # being served there, not done yet
