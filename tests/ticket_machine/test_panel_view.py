"""The call panel's counter screen words, without Kivy (ticket_machine/panel_app/counter_view.py, itinerary.py,
reception.py): the queue count on the main screen, the resident's language before and after the call, the
open/closed switch as short lines, the cue under a cut-off procedure grid, "Still to do" instead of 「未」."""

from __future__ import annotations

from datetime import UTC, datetime

from kiosk.bus.schemas import ComingState, ComingTicket, GroupState, StepView, TicketView
from kiosk.i18n import gettext_for
from ticket_machine.panel_app.counter_view import (
    hidden_below,
    language_text,
    more_below_text,
    queue_view,
    toggle_text,
    wait_minutes_text,
    waiting_count_text,
)
from ticket_machine.panel_app.itinerary import itinerary_lines
from ticket_machine.panel_app.reception import coming_sections

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def test_the_waiting_count_sums_the_groups_a_counter_serves_and_is_a_dash_before_any_state(site):
    shared = site.counter_by_id["c06"]  # 戸籍 and 証明発行
    assert list(shared.groups) == ["koseki", "shomei"]
    nothing = queue_view(site, shared, {}, "en")
    assert (
        nothing.waiting is None and waiting_count_text(nothing, "en") == "—" and wait_minutes_text(nothing, "en") == ""
    )
    states = {
        "koseki": GroupState(group="koseki", waiting=2, open_counters=1, est_wait_min=9),
        "shomei": GroupState(group="shomei", waiting=3, open_counters=2, est_wait_min=4),
    }
    view = queue_view(site, shared, states, "en")
    assert view.waiting == 5 and view.est_wait_min == 9  # the counter's own group's estimate
    assert waiting_count_text(view, "en") == gettext_for("en", "{count} people").format(count=5)
    assert wait_minutes_text(view, "en") == "about 9 min"
    assert len(view.lines) == 2
    assert view.lines[0].startswith(site.group_by_id["koseki"].names.get("en")) and "Waiting: 2" in view.lines[0]
    assert "Waiting: 3" in view.lines[1] and "about 4 min" in view.lines[1]
    # a group still unknown is named without a count, and nothing is made up for it
    partial = queue_view(site, shared, {"shomei": states["shomei"]}, "en")
    assert partial.waiting == 3 and partial.est_wait_min is None and "Waiting" not in partial.lines[0]


def test_the_open_switch_is_two_short_lines_state_then_action():
    for is_open in (True, False):
        lines = toggle_text(is_open, "en").split("\n")
        assert len(lines) == 2 and all(lines)
    assert toggle_text(True, "en") != toggle_text(False, "en")
    assert toggle_text(True, "en").startswith("Counter open")


def test_the_language_of_the_called_or_coming_resident_is_named_in_its_own_words(site):
    assert language_text("vi", "en") == "Language: Tiếng Việt"
    assert language_text(None, "en") == ""
    coming = ComingTicket(
        ticket="20261204-0001",
        number=42,
        procedures=["kokuho_kanyu"],
        lang="pt",
        priority=False,
        life_event=None,
        answers={},
        at="waiting",
    )
    (section,) = coming_sections(
        site, site.counter_by_id["c21"], {"kokuho": ComingState(group="kokuho", coming=[coming])}, "ja"
    )
    assert "Português" in section.lines[0].head and "42" in section.lines[0].head


def test_a_step_still_to_do_says_so_in_words_not_with_a_cryptic_mark(site):
    view = TicketView(
        id="20261204-0001",
        number=7,
        lang="en",
        priority=False,
        status="serving",
        est_wait_min=None,
        issued_at=NOW,
        itinerary=[
            StepView.model_validate({"procedure": "tennyu", "group": "jumin", "status": "done"}),
            StepView.model_validate({"procedure": "juminhyo", "group": "shomei", "status": "pending"}),
        ],
    )
    lines = itinerary_lines(site, view, "en")
    assert [state for state, _ in lines] == ["done", "later"]
    assert lines[1][1].startswith("Still to do: ")


def test_the_cue_counts_the_procedures_out_of_sight_below_the_grid():
    # 8 buttons of 50 px in rows of 4: content 2 rows (bottom row y 0..50, top row 60..110); the view shows 80 px
    items = [(0, 50)] * 4 + [(60, 110)] * 4
    assert hidden_below(items, 110, 80, scroll_y=1.0) == 4  # at the top: the bottom row is cut off
    assert hidden_below(items, 110, 80, scroll_y=0.0) == 0  # scrolled to the end
    assert hidden_below(items, 110, 200, scroll_y=1.0) == 0  # everything fits
    assert more_below_text(4, "en") == "▼ 4 more below: scroll the list"
    assert more_below_text(0, "en") == ""
