"""The ticket kiosk's Kivy-free view state for issue 19: the guidance list numbers what the printed ticket
numbers, "not sure" keeps a procedure (marked for staff to confirm), the catalog ticks and unticks, and a
ticket that did not print keeps its number with the phone QR and says where to get help.

Tickets are issued by the real engine (tests/desk.py) and printed stops come from the real slip code, so
"the list and the ticket agree" is checked against what the resident would hold.
"""

from __future__ import annotations

import pytest

from kiosk.bus.schemas import IssueArgs
from queue_service.guidance import Suggestion, suggested
from tests.desk import KIOSK, Desk
from ticket_machine.kiosk_app.reception import HELP_AT, HELP_NEARBY, help_place, help_text
from ticket_machine.kiosk_app.selection import Selection
from ticket_machine.kiosk_app.slip import FINISH, NOTED, print_outcome, slip_for

URL = "https://sakura.example.jp/t/{token}"
MOVE_IN_QUESTIONS = ["children", "over_65", "kokuho", "pension_type1", "mynumber_card", "seal"]


def moving_in(**answers: bool | None) -> Selection:
    """Moving in, every question answered: no unless given (None = not sure)."""
    sel = Selection()
    sel.start_event("moving_in")
    for q in MOVE_IN_QUESTIONS:
        sel.answer(q, answers.get(q, False))
    return sel


def issued(site, sel: Selection, lang: str = "en"):
    args = IssueArgs.model_validate(sel.issue_args(site, lang, staff=False))
    return Desk(site).do("issue", KIOSK, **args.model_dump(exclude_none=True)).result.ticket


def assert_list_agrees_with_ticket(site, sel: Selection) -> list:
    """Every numbered row is on the printed stop of that number, and every printed stop's procedures are the
    rows numbered so; unticked rows have no number."""
    rows = sel.rows(site)
    ticket = issued(site, sel)
    slip = slip_for(site, ticket, URL)
    names = {r.procedure: r.item.procedure.names.get("en") for r in rows}
    for n, stop in enumerate(slip.steps, 1):
        on_stop = [names[r.procedure] for r in rows if r.number == n]
        assert sorted(on_stop) == sorted(stop.procedure.splitlines()), f"stop {n}"
    assert {r.number for r in rows if r.ticked} == set(range(1, len(slip.steps) + 1))
    assert all(r.number is None for r in rows if not r.ticked)
    return rows


# ----------------------------------------------------------------- the list and the ticket agree
def test_an_unticked_procedure_loses_its_number_and_the_rest_close_up(site):
    sel = Selection()
    sel.start_event(None)
    for p in ["tennyu", "kokuho_kanyu", "juminhyo"]:  # no life event: one counter each, 1F, 2F, 1F
        sel.add(p)
    before = [(r.procedure, r.number) for r in sel.rows(site)]
    assert [n for _p, n in before] == [1, 2, 3]
    sel.toggle("kokuho_kanyu")
    rows = assert_list_agrees_with_ticket(site, sel)
    assert [(r.procedure, r.number) for r in rows] == [("tennyu", 1), ("kokuho_kanyu", None), ("juminhyo", 2)]


def test_a_one_stop_list_numbers_the_booth_procedures_as_the_one_stop_the_ticket_prints(site):
    sel = moving_in(children=True, kokuho=True)
    sel.add("juminhyo")
    sel.toggle("kodomo_iryo")  # unticked: no number, and not on the ticket
    rows = assert_list_agrees_with_ticket(site, sel)
    numbered = [(r.procedure, r.number) for r in rows]
    assert numbered == [
        ("tennyu", 1),
        ("kokuho_kanyu", 1),
        ("jidou_teate", 1),
        ("kodomo_iryo", None),
        ("juminhyo", 2),
    ]


# ----------------------------------------------------------------- yes / no / not sure
def test_not_sure_keeps_the_procedure_marked_for_staff_and_no_keeps_it_out(site):
    sure_no = moving_in(children=True)
    assert "kokuho_kanyu" not in sure_no.listed(site)
    unsure = moving_in(children=True, kokuho=None)
    assert "kokuho_kanyu" in unsure.chosen(site)  # ticked: kept on the ticket
    assert unsure.to_confirm(site) == {"kokuho_kanyu"}
    confirm = {r.procedure for r in unsure.rows(site) if r.to_confirm}
    assert confirm == {"kokuho_kanyu"}
    assert unsure.answer_of("kokuho") == "unsure" and unsure.answer_of("children") is True


def test_a_not_sure_answer_is_not_sent_as_an_answer_and_its_procedure_travels(site):
    """The contract's answers are yes/no per known question id (the engine refuses others), so "not sure"
    leaves the question out of ``answers``; the procedure it kept is on the ticket."""
    sel = moving_in(children=True, kokuho=None)
    args = sel.issue_args(site, "en", staff=False)
    assert "kokuho" not in args["answers"] and args["answers"]["children"] is True
    assert "kokuho_kanyu" in args["procedures"]
    ticket = issued(site, sel)
    assert "kokuho_kanyu" in [s.procedure for s in ticket.itinerary]


def test_changing_an_answer_moves_it_between_yes_no_and_not_sure(site):
    sel = moving_in()
    sel.answer("kokuho", None)
    sel.answer("kokuho", True)
    assert sel.answer_of("kokuho") is True and not sel.to_confirm(site)
    sel.answer("kokuho", None)
    assert "kokuho" not in sel.answers and sel.to_confirm(site) == {"kokuho_kanyu"}
    sel.clear()
    assert sel.unsure == set() and sel.answers == {}


def test_unanswered_questions_are_named_so_none_is_silently_no(site):
    sel = Selection()
    sel.start_event("moving_in")
    sel.answer("children", True)
    sel.answer("kokuho", None)  # "not sure" is an answer
    assert sel.unanswered(site) == ["over_65", "pension_type1", "mynumber_card", "seal"]
    assert moving_in().unanswered(site) == []
    assert Selection().unanswered(site) == []  # one procedure: no questions


def test_suggested_marks_only_what_a_not_sure_answer_decides(site):
    out = suggested(site, "moving_in", {"children": True}, unsure={"kokuho", "seal"})
    assert out == [
        Suggestion("tennyu"),
        Suggestion("inkan_toroku", to_confirm=True),
        Suggestion("kokuho_kanyu", to_confirm=True),
        Suggestion("jidou_teate"),
        Suggestion("kodomo_iryo"),
    ]
    # without "not sure" it is what the site file says (unanswered = no)
    plain = [s.procedure for s in suggested(site, "moving_in", {"children": True, "kokuho": True})]
    assert plain == site.procedures_for("moving_in", {"children": True, "kokuho": True})


def test_a_procedure_added_by_hand_is_not_marked_for_confirmation(site):
    sel = moving_in(kokuho=None)
    sel.add("kokuho_kanyu")
    assert sel.to_confirm(site) == set()


# ----------------------------------------------------------------- the catalog ticks and unticks
def test_the_catalog_ticks_and_unticks_without_leaving(site):
    sel = Selection()
    sel.start_event(None)
    sel.pick(site, "juminhyo")
    sel.pick(site, "inkan_shomei")
    assert sel.chosen(site) == ["juminhyo", "inkan_shomei"]
    sel.pick(site, "juminhyo")  # a second tap unticks
    assert sel.chosen(site) == ["inkan_shomei"]
    sel.pick(site, "juminhyo")
    assert sel.chosen(site) == ["juminhyo", "inkan_shomei"]
    event = moving_in(children=True)
    event.pick(site, "jidou_teate")  # one of the life event's: unticked, still listed
    assert "jidou_teate" in event.listed(site) and "jidou_teate" not in event.chosen(site)


# ----------------------------------------------------------------- a ticket that did not print
def test_paper_out_keeps_the_number_shows_the_phone_qr_and_says_where_to_get_help(site):
    ticket = issued(site, moving_in(children=True))
    assert ticket.token
    help_ja = help_text(site, "kiosk-1f", "ja")
    out = print_outcome(ticket, "failed", "paper_out", "en", URL, help_ja)
    assert out.qr_url == URL.format(token=ticket.token)
    assert out.finish == NOTED  # "I have noted my number": the ticket stays issued
    assert "out of paper" in out.message and "kept in the queue" in out.message
    assert out.help == help_ja and "1階 総合案内" in help_ja


def test_a_kiosk_without_a_printer_shows_the_qr_too(site):
    ticket = issued(site, moving_in())
    out = print_outcome(ticket, "failed", None, "en", URL)
    assert out.qr_url and out.finish == NOTED and "no printer" in out.message


@pytest.mark.parametrize("state", ["printing", "printed"])
def test_a_printing_or_printed_ticket_needs_no_qr_on_screen(site, state):
    ticket = issued(site, moving_in())
    out = print_outcome(ticket, state, None, "en", URL, "help")
    assert out == print_outcome(ticket, state, None, "en", URL) and out.qr_url == "" and out.finish == FINISH


def test_help_is_the_kiosks_reception_else_the_sites_else_staff_nearby(site):
    assert help_place(site, "kiosk-concierge") == site.device_by_id["kiosk-concierge"].reception
    assert help_place(site, "kiosk-1f") == site.device_by_id["kiosk-concierge"].reception
    assert help_text(site, "kiosk-1f", "en") == HELP_AT.format(place="the reception desk (1F)")
    bare = site.model_copy(update={"devices": tuple(d for d in site.devices if d.reception is None)})
    assert help_place(bare, "kiosk-1f") is None
    assert help_text(bare, "kiosk-1f", "en") == HELP_NEARBY
