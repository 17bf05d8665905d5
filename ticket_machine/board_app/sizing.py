"""How big everything on the call board is, in pixels, from the panel's physical size: pure, tested without a screen.

The rule (docs/apps.md, call board):

* **The ticket number** is read from :data:`READING_DISTANCE_M` (10 m) across a hall: its digits are at least
  distance / :data:`NUMBER_RULE` tall (1/200: 50 mm at 10 m; Japan's barrier-free signage guideline asks
  30 mm for Latin characters and 40 mm for Japanese ones at 10 m, so digits at 1/200 are on the safe side).
  The board shows as many calls (8, 6 or 4) as it can with digits that tall; a panel too small for 4 at that
  size shows 4 as large as they fit and reports the shorter distance (:attr:`BoardLayout.number_reach_m`).
* **Everything else** (counter names, floors, the waiting table, the ticker) is read on the way to the counter,
  from :data:`TEXT_DISTANCE_M` (5 m): Japanese characters at least distance / :data:`TEXT_RULE` (1/250, the
  guideline's 和文 rule: 20 mm at 5 m).
* Accessible mode (the device file's ``screen.accessible``) multiplies both targets by :data:`ACCESSIBLE_SCALE`,
  like the kiosks' larger text.

Sizes are font sizes in pixels (Kivy's ``font_size``, the em square). The heights of glyphs in that em square are
measured from the board's font (Noto Sans CJK Bold, ``kiosk.fonts``): digits 0.76 em, kana/kanji 0.92 em, a line
of text 1.45 em (ascent + descent), a digit 0.59 em wide.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: The distance the ticket number is read from, and the rule: character height ≥ distance / NUMBER_RULE.
READING_DISTANCE_M = 10.0
NUMBER_RULE = 200
#: The distance the rest is read from, and its rule (Japanese characters).
TEXT_DISTANCE_M = 5.0
TEXT_RULE = 250
#: Accessible mode: both targets this much larger (the kiosks' larger-text factor).
ACCESSIBLE_SCALE = 1.3
#: A board whose device file gives no diagonal: a 55-inch hall panel.
DEFAULT_BOARD_DIAGONAL_IN = 55.0

#: Glyph metrics of Noto Sans CJK Bold, in em (measured with Pillow at 1000 px).
DIGIT_HEIGHT_EM = 0.76
DIGIT_ADVANCE_EM = 0.59
KANJI_HEIGHT_EM = 0.92
LINE_EM = 1.45
#: The number's label is this many em tall: the digits (0.76 em) with a margin; the empty ascent above them
#: overflows the label harmlessly.
NUMBER_BOX_EM = 1.15
#: Counter name and direction lines: at least this share of the number's size when the cell has room.
SECOND_LINE_SHARE = 0.3
#: Grids tried, most calls first (columns × rows of a landscape panel; a portrait one swaps them).
CALL_COUNTS = (8, 6, 4)


def mm_per_px(width_px: int, height_px: int, diagonal_in: float | None) -> float:
    """Millimetres per pixel of a panel with square pixels."""
    diagonal = diagonal_in if diagonal_in is not None else DEFAULT_BOARD_DIAGONAL_IN
    return diagonal * 25.4 / math.hypot(width_px, height_px)


def text_em(text: str) -> float:
    """The width of ``text`` in em: full-width characters (kana, kanji, ←) 1 em, the rest (Latin, digits) 0.6."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WFA" else 0.6 for ch in text)


#: The width of a text in em: :func:`text_em` (a safe estimate), or the font's own advances (the screen measures).
Measure = Callable[[str], float]


def fit_font(text: str, font_px: float, width_px: float, min_px: float = 1.0, measure: Measure = text_em) -> int:
    """``font_px``, or smaller so that ``text`` fits on one line of ``width_px`` (never below ``min_px``)."""
    em = measure(text)
    if em <= 0:
        return int(font_px)
    return int(max(min_px, min(font_px, width_px / em)))


@dataclass(frozen=True)
class Grid:
    cols: int
    rows: int
    cell_w: float
    cell_h: float
    #: The number's font size in px, fitted to the cell's width (for ``digits`` digits) and height.
    number_px: int
    #: The counter name and direction lines' font size in px.
    second_px: int

    @property
    def count(self) -> int:
        return self.cols * self.rows


@dataclass(frozen=True)
class BoardLayout:
    """Every size of the board, in pixels, and what they mean in millimetres and metres."""

    width: int
    height: int
    mm_px: float
    accessible: bool
    pad: int
    header_h: int
    clock_px: int
    title_px: int
    date_px: int
    footer_h: int
    ticker_px: int
    heading_px: int
    heading_h: int
    table_w: int
    row_px: int
    row_h: int
    rows_per_page: int
    calls_w: int
    calls_h: int
    grid: Grid

    @property
    def number_mm(self) -> float:
        """The height of the call number's digits on the panel."""
        return DIGIT_HEIGHT_EM * self.grid.number_px * self.mm_px

    @property
    def number_reach_m(self) -> float:
        """The distance the call number can be read from under the rule (accessible: the larger rule)."""
        return self.number_mm * NUMBER_RULE / 1000 / (ACCESSIBLE_SCALE if self.accessible else 1.0)

    @property
    def text_mm(self) -> float:
        """The height of a Japanese character in the waiting table."""
        return KANJI_HEIGHT_EM * self.row_px * self.mm_px

    @property
    def clock_mm(self) -> float:
        return DIGIT_HEIGHT_EM * self.clock_px * self.mm_px


def _grid(cols: int, rows: int, area_w: float, area_h: float, gap: float, digits: int, text_px: float) -> Grid:
    cell_w = (area_w - (cols - 1) * gap) / cols
    cell_h = (area_h - (rows - 1) * gap) / rows
    inner = 0.06 * min(cell_w, cell_h)
    by_width = (cell_w - 2 * inner) / (digits * DIGIT_ADVANCE_EM + 0.2)
    room = cell_h - 2 * inner
    by_height = (room - 2 * LINE_EM * text_px) / NUMBER_BOX_EM
    if SECOND_LINE_SHARE * by_height > text_px:  # room to spare: the second lines grow with the number
        by_height = room / (NUMBER_BOX_EM + 2 * LINE_EM * SECOND_LINE_SHARE)
    number = max(1, int(min(by_width, by_height)))
    left = (room - NUMBER_BOX_EM * number) / (2 * LINE_EM)
    second = max(text_px, min(SECOND_LINE_SHARE * number, left))
    # never as large as the number (a narrow cell), never taller than what the number leaves
    second = int(max(1, min(second, 0.5 * number, left)))
    return Grid(cols, rows, cell_w, cell_h, number, second)


def choose_grid(area_w: float, area_h: float, gap: float, digits: int, text_px: float, number_min_px: float) -> Grid:
    """The most calls (8, 6, 4) whose number is at least ``number_min_px``; else 4 as large as they fit."""
    best_of_count: list[Grid] = []
    for count in CALL_COUNTS:
        shapes = [(c, count // c) for c in range(1, count + 1) if count % c == 0]
        grids = [_grid(c, r, area_w, area_h, gap, digits, text_px) for c, r in shapes]
        best = max(grids, key=lambda g: (g.number_px, g.cols >= g.rows))
        if best.number_px >= number_min_px:
            return best
        best_of_count.append(best)
    return best_of_count[-1]


def board_layout(
    width: int, height: int, diagonal_in: float | None = None, accessible: bool = False, digits: int = 3
) -> BoardLayout:
    """The board's layout on a ``width`` × ``height`` panel of ``diagonal_in`` inches (``digits``: the longest
    ticket number's). Landscape: header (site, date, clock), calls grid left, waiting table right, ticker."""
    mm_px = mm_per_px(width, height, diagonal_in)
    scale = ACCESSIBLE_SCALE if accessible else 1.0
    number_mm = READING_DISTANCE_M * 1000 / NUMBER_RULE * scale
    text_mm = TEXT_DISTANCE_M * 1000 / TEXT_RULE * scale
    # a panel too small for the hall (under ~32"): the text stops at 1/18 of the height, or it would crowd out the
    # numbers; text_mm then reports the shorter reach
    text_px = max(16, min(math.ceil(text_mm / (KANJI_HEIGHT_EM * mm_px)), height // 18))
    number_min_px = number_mm / (DIGIT_HEIGHT_EM * mm_px)

    pad = max(6, round(height * 0.012))
    header_h = max(round(height * 0.12), math.ceil(LINE_EM * text_px * 1.4))
    clock_px = int(header_h / LINE_EM * 1.05)
    title_px = max(text_px, int(clock_px * 0.6))
    date_px = max(text_px, int(clock_px * 0.5))
    ticker_px = text_px
    footer_h = math.ceil(LINE_EM * ticker_px) + pad
    heading_px = text_px
    heading_h = math.ceil(LINE_EM * heading_px)

    body_h = height - header_h - footer_h - 2 * pad
    table_w = round(width * 0.34)
    calls_w = width - table_w - 3 * pad
    calls_h = body_h - heading_h - pad
    grid = choose_grid(calls_w, calls_h, pad, digits, text_px, number_min_px)

    row_px = text_px
    row_h = math.ceil(LINE_EM * row_px) + pad // 2
    # the table: its heading, a column header row (smaller), then the rows
    rows_room = body_h - heading_h - math.ceil(LINE_EM * row_px * 0.8) - 2 * pad
    rows_per_page = max(1, int(rows_room // row_h))
    return BoardLayout(
        width=width,
        height=height,
        mm_px=mm_px,
        accessible=accessible,
        pad=pad,
        header_h=header_h,
        clock_px=clock_px,
        title_px=title_px,
        date_px=date_px,
        footer_h=footer_h,
        ticker_px=ticker_px,
        heading_px=heading_px,
        heading_h=heading_h,
        table_w=table_w,
        row_px=row_px,
        row_h=row_h,
        rows_per_page=rows_per_page,
        calls_w=calls_w,
        calls_h=calls_h,
        grid=grid,
    )


def sizing_table(panels: list[tuple[float, int, int]], digits: int = 3) -> list[dict[str, object]]:
    """Rows for docs and the report: per ``(diagonal, width, height)`` and mode, calls shown and sizes in mm."""
    rows: list[dict[str, object]] = []
    for diagonal, width, height in panels:
        for accessible in (False, True):
            lay = board_layout(width, height, diagonal, accessible, digits)
            rows.append(
                {
                    "panel": f'{diagonal:g}" {width}×{height}',
                    "mode": "accessible" if accessible else "normal",
                    "calls": lay.grid.count,
                    "number_px": lay.grid.number_px,
                    "number_mm": round(lay.number_mm, 1),
                    "number_reach_m": round(lay.number_reach_m, 1),
                    "text_mm": round(lay.text_mm, 1),
                    "clock_mm": round(lay.clock_mm, 1),
                    "groups_per_page": lay.rows_per_page,
                }
            )
    return rows


def column_widths(
    rows: Sequence[tuple[str, ...]],
    total: float,
    font_px: float,
    gap: float,
    header: tuple[str, ...] | None = None,
    header_px: float | None = None,
    measure: Measure = text_em,
    header_measure: Measure | None = None,
) -> list[float]:
    """Widths of the waiting table's columns for these texts: every column after the first as wide as its widest
    text at ``font_px``, or its ``header`` at ``header_px`` when that is wider ("まって います" over "3にん"), so
    "約12分", "about 12 min" and the column's heading all fit; the first (the group's name) gets the rest. When
    that leaves the name less than 40 %, the other columns shrink in proportion (their font then fits them).
    ``measure`` / ``header_measure``: em widths of a row's / the header's (bold) text."""
    columns = len(rows[0]) if rows else len(header) if header else 4
    room = total - gap * (columns - 1)
    head_em = header_measure or measure
    head_px = header_px if header_px is not None else font_px

    def need(i: int) -> float:
        widest = max((measure(row[i]) for row in rows), default=1.0) * font_px
        if header is not None:
            widest = max(widest, head_em(header[i]) * head_px)
        # + half an em: the font's real advances and the label's shortening margin
        return widest + 0.5 * font_px

    others = [need(i) for i in range(1, columns)]
    squeeze = min(1.0, room * 0.6 / sum(others)) if sum(others) else 1.0
    others = [w * squeeze for w in others]
    return [room - sum(others), *others]
