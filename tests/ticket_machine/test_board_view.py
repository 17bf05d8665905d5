"""The call board's Kivy-free state: how many calls fit and how big (in millimetres on the panel), the way to each
counter, the waiting table (what "waiting" and "not open" mean, pages), the clock. No window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.bus.schemas import BoardCall, GroupState, WaitRange, WaitState
from kiosk.config.device import DeviceConfig
from kiosk.i18n import gettext_for
from tests.i18n_preview import previewed
from ticket_machine.board_app.sizing import (
    DIGIT_ADVANCE_EM,
    DIGIT_HEIGHT_EM,
    LINE_EM,
    NUMBER_BOX_EM,
    board_layout,
    column_widths,
    fit_font,
    mm_per_px,
    sizing_table,
    text_em,
)
from ticket_machine.board_app.view import (
    UNSEEN,
    call_cells,
    clock_text,
    date_text,
    group_rows,
    heading,
    newest_key,
    page_marker,
    pages,
    should_flash,
    way_to,
    where_text,
)

AT = datetime(2026, 12, 4, 10, 30, tzinfo=UTC)
DIRECTIONS = {"jumin": "left", "c04": "ahead", "koseki": "right", "onestop": "back"}


def calls(*counters: str) -> list[BoardCall]:
    """Board calls newest first, numbered down from len(counters)."""
    n = len(counters)
    return [BoardCall(number=n - i, counter=c, at=AT - timedelta(minutes=i)) for i, c in enumerate(counters)]


# ---------------------------------------------------------------- sizing
def test_mm_per_pixel_of_a_55_inch_full_hd_panel():
    # 55" 16:9 is 1217.7 mm wide: 0.634 mm per pixel at 1920, 0.951 at 1280
    assert mm_per_px(1920, 1080, 55) == pytest.approx(1217.7 / 1920, rel=1e-3)
    assert mm_per_px(1280, 720, 55) == pytest.approx(1217.7 / 1280, rel=1e-3)
    assert mm_per_px(1280, 720, None) == mm_per_px(1280, 720, 55), "a board without a diagonal: 55 inches"


@pytest.mark.parametrize(
    ("diagonal", "size", "accessible", "count"),
    [
        (55, (1280, 720), False, 8),
        (55, (1920, 1080), False, 8),
        (55, (1280, 720), True, 6),
        (55, (1920, 1080), True, 6),
        (43, (1920, 1080), False, 6),
        (32, (1280, 720), False, 4),
        (32, (1920, 1080), True, 4),
    ],
)
def test_as_many_calls_as_the_panel_shows_readable_from_10_m(diagonal, size, accessible, count):
    lay = board_layout(*size, diagonal_in=diagonal, accessible=accessible, digits=3)
    assert lay.grid.count == count
    if count > 4:  # it chose this many because their digits reach the rule: ≥ 50 mm (65 mm accessible)
        assert lay.number_mm >= (65 if accessible else 50)
        assert lay.number_reach_m >= 10
    else:  # a small panel: 4 calls as large as they fit, and it says how far that reads
        assert lay.number_reach_m < 10


def test_the_number_fits_its_cell_on_one_line_and_is_the_largest_text():
    for diagonal, (w, h) in ((55, (1280, 720)), (55, (1920, 1080)), (32, (1280, 720)), (24, (1920, 1080))):
        for accessible in (False, True):
            for digits in (1, 3, 4):
                lay = board_layout(w, h, diagonal, accessible, digits)
                g = lay.grid
                assert digits * DIGIT_ADVANCE_EM * g.number_px < g.cell_w, (w, diagonal, digits)
                assert NUMBER_BOX_EM * g.number_px + 2 * LINE_EM * g.second_px <= g.cell_h
                assert g.number_px > g.second_px and g.number_px > lay.row_px
                # the parts stack up to the panel: header, body, footer
                assert lay.header_h + lay.footer_h + lay.calls_h < h
                assert lay.calls_w + lay.table_w < w


def test_text_is_20_mm_from_5_m_and_larger_in_accessible_mode():
    normal = board_layout(1920, 1080, 55)
    larger = board_layout(1920, 1080, 55, accessible=True)
    assert 20 <= normal.text_mm < 22
    assert 26 <= larger.text_mm < 28
    assert larger.rows_per_page < normal.rows_per_page


def test_sizing_table_rows_for_the_docs():
    rows = sizing_table([(55, 1280, 720), (32, 1920, 1080)])
    assert [r["mode"] for r in rows] == ["normal", "accessible", "normal", "accessible"]
    first = rows[0]
    assert first["calls"] == 8 and first["number_mm"] == pytest.approx(
        DIGIT_HEIGHT_EM * first["number_px"] * mm_per_px(1280, 720, 55), abs=0.05
    )


def test_fit_font_shrinks_a_long_name_to_its_width_but_not_below_the_floor():
    assert text_em("21番窓口") == pytest.approx(2 * 0.6 + 3)
    assert fit_font("1番窓口", 40, 1000) == 40
    assert fit_font("ワンストップ B1", 40, 200) == int(200 / text_em("ワンストップ B1"))
    assert fit_font("Child allowance and child medical aid", 40, 100, min_px=20) == 20


def test_the_name_column_gets_what_the_short_columns_leave():
    rows = [("住民異動", "1階", "3人", "約12分"), ("国民健康保険", "2階", "12人", "受付前")]
    widths = column_widths(rows, 400, 20, 4)
    assert sum(widths) == pytest.approx(400 - 3 * 4)
    assert widths[3] == pytest.approx((text_em("約12分") + 0.5) * 20)
    english = [("Certificates", "1F", "3 people", "about 12 min")]
    squeezed = column_widths(english, 300, 30, 4)
    assert squeezed[0] >= 0.4 * (300 - 12) - 1e-6


def test_a_column_is_as_wide_as_its_header_needs():
    """やさしい日本語 "まって います" over "3にん": the header (at 0.8 of the rows' size) widens its column, so it is
    not cut to "まって…"; a header narrower than the column's figures changes nothing."""
    rows = [("ひっこしの とどけ", "1かい", "3にん", "やく 12ふん")]
    header = ("まどぐち", "かい", "まって います", "まつ じかん")
    plain = column_widths(rows, 600, 20, 4)
    headed = column_widths(rows, 600, 20, 4, header, 16)
    assert headed[2] >= text_em("まって います") * 16 > plain[2]
    assert headed[3] == plain[3] and sum(headed) == pytest.approx(sum(plain))
    narrow = ("Counter", "F", "N", "W")
    assert column_widths(rows, 600, 20, 4, narrow, 16) == plain


# ---------------------------------------------------------------- calls
def test_newest_first_numbers_with_counter_floor_and_way(site):
    recent = calls("c07", "b4", "c25", "c03", "c31")
    cells = call_cells(site, recent, "ja", 8, board_floor=1, directions=DIRECTIONS)
    assert [c.number for c in cells] == [5, 4, 3, 2, 1]
    assert [c.newest for c in cells] == [True, False, False, False, False]
    assert [c.counter for c in cells] == ["7番窓口", "ワンストップ B4", "25番窓口", "3番窓口", "31番窓口"]
    assert [c.way for c in cells] == [None, "back", "up", "left", "up"]
    assert cells[1].where == "↓ 1階" and cells[3].where == "← 1階"
    assert cells[2].where == f"▲ 2階 {gettext_for('ja', 'upstairs')}"
    assert cells[0].where == "1階", "a counter with no direction: just its floor"


def test_only_as_many_cells_as_the_grid_and_only_this_boards_floors(site):
    recent = calls(*["c01", "c21"] * 10)
    assert len(call_cells(site, recent, "ja", 6)) == 6
    only_2f = call_cells(site, recent, "en", 8, floors=(2,))
    assert {c.counter for c in only_2f} == {"Counter 21"} and len(only_2f) == 8


def test_the_way_to_a_counter():
    assert way_to("c21", "kokuho", 2, 1, {}) == "up"
    assert way_to("c01", "jumin", 1, 2, {"jumin": "left"}) == "down", "another floor wins over a direction"
    assert way_to("c04", "mynumber", 1, 1, DIRECTIONS) == "ahead", "the counter's own direction"
    assert way_to("c02", "jumin", 1, 1, DIRECTIONS) == "left", "else its group's"
    assert way_to("c02", "jumin", 1, None, DIRECTIONS) == "left", "no board floor: directions still apply"
    assert way_to("c21", "kokuho", 2, None, {}) is None
    en = lambda m: gettext_for("en", m)  # noqa: E731
    assert where_text("down", 1, en) == f"▼ 1F {en('downstairs')}"
    assert where_text("right", 3, en) == "→ 3F"


def test_a_new_newest_call_flashes_but_the_retained_state_at_start_does_not(site):
    first = newest_key(site, calls("c01"))
    second = newest_key(site, calls("c02", "c01"))
    assert should_flash(UNSEEN, first, 6) is False, "what a restarted board finds is not a new call"
    assert should_flash(first, second, 6) is True
    assert should_flash(second, second, 6) is False, "the same state again (a group changed)"
    assert should_flash(first, second, 0) is False, "flash_seconds = 0: no flash"
    recall = [BoardCall(number=2, counter="c02", at=AT + timedelta(minutes=3)), *calls("c02", "c01")]
    assert should_flash(second, newest_key(site, recall), 6) is True, "a recall of the same number flashes again"
    upstairs_first = calls("c21", "c01")
    assert newest_key(site, upstairs_first, floors=(1,)) == (1, "c01", upstairs_first[1].at), "its floors only"
    assert newest_key(site, []) is None


# ---------------------------------------------------------------- waiting per group
def state(group: str, waiting: int, open_counters: int, est: int | None) -> GroupState:
    return GroupState(group=group, waiting=waiting, open_counters=open_counters, est_wait_min=est)


def test_waiting_per_group_says_not_open_when_no_counter_is(site):
    states = {
        "jumin": state("jumin", 3, 2, 12),
        "shomei": state("shomei", 0, 1, 0),
        "zei": state("zei", 2, 0, None),  # two tickets will come here, nobody open now
    }
    rows = {r.name: r for r in group_rows(site, states, "ja")}
    ja = lambda m: gettext_for("ja", m)  # noqa: E731
    assert rows["住民異動"].waiting == ja("{count} people").format(count=3)
    assert rows["住民異動"].wait == ja("about {minutes} min").format(minutes=12) == "約12分"
    assert rows["証明発行"].wait == ja("No wait")
    assert rows["税証明"].wait == ja("Not open") == "受付前" and rows["税証明"].closed
    assert rows["戸籍"].wait == ja("Not open"), "no state yet: not open, never a dash"
    assert all(r.wait != "—" for r in rows.values())
    assert [r.name for r in group_rows(site, states, "ja", floors=(3,))] == ["介護保険", "税証明"]


def test_the_wait_is_a_range_from_the_wait_state_and_about_n_without_one(site):
    """rev 2: the retained WaitState gives the range; a group with no WaitState (a rev-1 service) keeps "about N"
    from its GroupState; a WaitState of a closed group says "not open" and greys the row."""
    states = {"jumin": state("jumin", 3, 2, 12), "shomei": state("shomei", 5, 1, 20), "zei": state("zei", 2, 1, 4)}
    waits_at = {
        "jumin": WaitState(group="jumin", est_wait_min=12, est_wait_range=WaitRange(low=10, high=15)),
        "zei": WaitState(group="zei", est_wait_min=None, est_wait_range=None),  # closed since the group state
    }
    with previewed():
        ja = {r.name: r for r in group_rows(site, states, "ja", waits_at=waits_at)}
        en = {r.name: r for r in group_rows(site, states, "en", waits_at=waits_at)}
    assert ja["住民異動"].wait == "10〜15分" and en["Resident registration"].wait == "10–15 min"
    assert ja["証明発行"].wait == "約20分", "no wait state: the group state's most likely minutes"
    assert ja["税証明"].wait == gettext_for("ja", "Not open") and ja["税証明"].closed
    assert not ja["住民異動"].closed and not ja["証明発行"].closed


def test_a_range_fits_the_wait_column_like_a_figure_did():
    """The table's widths come from its texts: the wait column grows to hold "10〜15分" at the row's size."""
    rows = [("住民異動", "1階", "3人", "10〜15分"), ("国民健康保険", "2階", "12人", "受付前")]
    widths = column_widths(rows, 400, 20, 4)
    assert widths[3] >= text_em("10〜15分") * 20
    assert widths[0] >= 0.4 * (400 - 12) - 1e-6, "the names keep their share"


def test_groups_page_when_they_do_not_fit():
    rows = list(range(11))
    assert pages(rows, 13) == [rows]
    assert pages(rows, 9) == [rows[:9], rows[9:]]
    assert pages([], 5) == [[]]
    assert page_marker(0, 1) == ""
    assert page_marker(0, 2) == "1/2" and page_marker(3, 2) == "2/2"


# ---------------------------------------------------------------- header
def test_clock_and_date_in_the_boards_language():
    now = datetime(2026, 12, 4, 9, 5, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert clock_text(now) == "09:05"
    assert date_text(now, "ja") == "12月4日(金)"
    assert date_text(now, "ja-easy") == "12月4日(金)"
    assert date_text(now, "en") == "Fri, Dec 4"
    assert "4" in date_text(now, "pt") and "dez" in date_text(now, "pt")


def test_headings_add_english_after_the_boards_language():
    assert heading("Now calling", "ja") == f"{gettext_for('ja', 'Now calling')}  Now calling"
    assert heading("Now calling", "en") == "Now calling"


def test_the_device_file_places_the_board():
    device = DeviceConfig.model_validate(
        {
            "device": "board-1f",
            "site": "site.toml",
            "broker": {"password_file": "x"},
            "floor": 1,
            "directions": DIRECTIONS,
            "screen": {"diagonal_in": 55, "accessible": True},
        }
    )
    assert device.floor == 1 and device.directions["onestop"] == "back" and device.screen.accessible
    assert device.flash_seconds == 6
    with pytest.raises(ValueError, match="directions"):
        DeviceConfig.model_validate(
            {"device": "b", "site": "s", "broker": {"password_file": "x"}, "directions": {"c01": "upward"}}
        )
