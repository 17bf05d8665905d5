"""The board: a grid of the latest calls (newest top left, flashing), a clock, waiting per group, a notice in
every language. Nothing to touch: a board hangs on a wall.

What is shown comes from ``view.py`` and how big from ``sizing.py`` (both Kivy-free); this module places it.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from kivy.animation import Animation
from kivy.app import App
from kivy.clock import Clock
from kivy.core.text import Label as CoreLabel
from kivy.core.window import Window
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from ticket_machine.board_app.sizing import BoardLayout, board_layout, column_widths, fit_font
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
    ticker_text,
)

load_screen_kv(__file__)

NOTICE = N_("Please come to the counter when your number is called.")
#: Seconds each page of the waiting table stays when the groups do not fit on one.
PAGE_SECONDS = 8.0
#: The flash: colours inverted every this many seconds.
FLASH_PERIOD = 0.5


@lru_cache(maxsize=1024)
def _advance_em(text: str, bold: bool) -> float:
    """The width of ``text`` in em, from the board's font (Kivy's text provider, at 100 px)."""
    if not text:
        return 0.0
    return CoreLabel(font_size=100, bold=bold).get_extents(text)[0] / 100


def text_width(text: str) -> float:
    """Regular text's width in em (the table's names, floors and waits)."""
    return _advance_em(text, False)


def bold_width(text: str) -> float:
    """Bold text's width in em (the header row and the waiting counts)."""
    return _advance_em(text, True)


class BoardCell(BoxLayout):
    number = NumericProperty(0)
    counter = StringProperty("")
    where = StringProperty("")
    newest = BooleanProperty(False)
    flash_on = BooleanProperty(False)
    number_px = NumericProperty(10)
    second_px = NumericProperty(10)
    counter_px = NumericProperty(10)
    where_px = NumericProperty(10)
    inner = NumericProperty(4)
    border = NumericProperty(2)


class BoardRow(BoxLayout):
    name = StringProperty("")
    floor = StringProperty("")
    waiting = StringProperty("")
    wait = StringProperty("")
    closed = BooleanProperty(False)
    header = BooleanProperty(False)
    widths = ListProperty([0.4, 0.12, 0.2, 0.28])
    name_px = NumericProperty(10)
    floor_px = NumericProperty(10)
    waiting_px = NumericProperty(10)
    wait_px = NumericProperty(10)
    #: A long name (English, やさしい日本語) breaks at a space onto a second line rather than shrink to a crawl.
    name_lines = NumericProperty(1)
    gap = NumericProperty(4)


class BoardScreen(Screen):
    #: The sizes (sizing.BoardLayout), recomputed when the window changes size.
    lay: BoardLayout = ObjectProperty(None)  # type: ignore[assignment]
    page_index = NumericProperty(0)
    #: Whether the newest call is in its flash's inverted phase.
    flash_on = BooleanProperty(False)

    def __init__(self, **kw) -> None:
        kw.setdefault("lay", self.layout_for(Window.size))
        self._newest: tuple | None = UNSEEN
        self._flash_until = 0.0
        self._flash_event = None
        #: ``Clock.frames`` when the calls were last drawn: the waiting table waits for the next frame.
        self.calls_drawn_at = -1
        super().__init__(**kw)

    @staticmethod
    def layout_for(size) -> BoardLayout:
        app = App.get_running_app()
        screen = app.device.screen
        digits = len(str(app.site.queue.number_last))
        return board_layout(int(size[0]), int(size[1]), screen.diagonal_in, screen.accessible, digits)

    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        app.bind(recent=lambda *_: self.on_recent(), group_version=lambda *_: self.show_groups())
        Window.bind(size=lambda _w, size: self.resize(size))
        tr.bind(lang=lambda *_: self.refresh())
        self.ids.ticker.text = ticker_text(NOTICE)
        Clock.schedule_once(lambda _dt: self.scroll_ticker(), 0.5)
        Clock.schedule_interval(lambda _dt: self.show_clock(), 1.0)
        Clock.schedule_interval(lambda _dt: self.next_page(), PAGE_SECONDS)
        self.refresh()

    # ------------------------------------------------------------ everything
    def refresh(self) -> None:
        lay = self.lay
        calls, groups = heading(N_("Now calling"), tr.lang), heading(N_("Waiting now"), tr.lang)
        self.ids.calls_heading.text, self.ids.groups_heading.text = calls, groups
        self.ids.calls_heading.font_size = fit_font(calls, lay.heading_px, lay.calls_w, lay.heading_px * 0.6)
        room = lay.table_w - 2 * lay.pad - lay.heading_px * 3  # beside the page marker
        self.ids.groups_heading.font_size = fit_font(groups, lay.heading_px, room, lay.heading_px * 0.6)
        self.show_clock()
        self.show_calls()
        self.show_groups()

    def resize(self, size) -> None:
        self.lay = self.layout_for(size)
        self.refresh()

    def show_clock(self) -> None:
        app = App.get_running_app()
        now = datetime.now(app.site.zone)
        self.ids.clock.text = clock_text(now)
        self.ids.date.text = date_text(now, tr.lang)

    # ------------------------------------------------------------ calls
    def on_recent(self) -> None:
        """A new board state: redraw, and flash when its newest call is a new one (the retained board state is
        the hook, not the called event: a board that reconnects redraws the same way)."""
        app = App.get_running_app()
        key = newest_key(app.site, app.recent, app.device.floors)
        if should_flash(self._newest, key, app.device.flash_seconds):
            self.start_flash(app.device.flash_seconds)
        self._newest = key
        self.show_calls()

    def cells(self) -> list:
        app = App.get_running_app()
        return call_cells(
            app.site,
            app.recent,
            tr.lang,
            self.lay.grid.count,
            app.device.floors,
            app.device.floor,
            app.device.directions,
        )

    def show_calls(self) -> None:
        """Draw the calls, reusing the cells: a cell still on the board keeps its widget (its text is not rendered
        again, it only moves in the grid), the call that dropped off lends its widget to the new one. Only the new
        call's text is rendered, so the frame that brings it is not slowed by the rest."""
        grid, box = self.lay.grid, self.ids.calls
        inner = round(0.06 * min(grid.cell_w, grid.cell_h))
        width = grid.cell_w - 2 * inner
        cells = self.cells()
        spare = {self._cell_key(w): w for w in box.children}
        kept = {(c.number, c.counter, c.where) for c in cells}
        unused = [w for key, w in spare.items() if key not in kept]
        widgets = []
        for cell in cells:
            widget = spare.pop((cell.number, cell.counter, cell.where), None)
            if widget is None:
                widget = unused.pop() if unused else BoardCell(size_hint=(None, None))
            widget.number, widget.counter, widget.where = cell.number, cell.counter, cell.where
            widget.newest = cell.newest
            widget.flash_on = cell.newest and self.flash_on
            widget.number_px, widget.second_px = grid.number_px, grid.second_px
            widget.counter_px = fit_font(cell.counter, grid.second_px, width, grid.second_px * 0.6)
            widget.where_px = fit_font(cell.where, grid.second_px, width, grid.second_px * 0.6)
            widget.inner = inner
            widget.border = max(2, round(grid.number_px * (0.08 if cell.newest else 0.02)))
            widget.size = (grid.cell_w, grid.cell_h)
            widgets.append(widget)
        if list(reversed(box.children)) != widgets:
            box.clear_widgets()
            for widget in widgets:
                box.add_widget(widget)
        self.calls_drawn_at = Clock.frames
        self.ids.empty.text = "" if widgets else tr._("No numbers called yet.")

    @staticmethod
    def _cell_key(cell: BoardCell) -> tuple:
        return (cell.number, cell.counter, cell.where)

    def shown(self) -> list[str]:
        """The calls as drawn, newest first (for the UI tests): number, counter, way."""
        return [f"{c.number} {c.counter} {c.where}" for c in reversed(self.ids.calls.children)]

    def start_flash(self, seconds: float) -> None:
        self._flash_until = Clock.get_boottime() + seconds
        if self._flash_event is None:
            self._flash_event = Clock.schedule_interval(lambda _dt: self._flash_step(), FLASH_PERIOD)
        self._set_flash(True)

    def _flash_step(self) -> None:
        if Clock.get_boottime() >= self._flash_until:
            if self._flash_event is not None:
                self._flash_event.cancel()
                self._flash_event = None
            self._set_flash(False)
        else:
            self._set_flash(not self.flash_on)

    def _set_flash(self, on: bool) -> None:
        self.flash_on = on
        for cell in self.ids.calls.children:
            cell.flash_on = on and cell.newest

    @property
    def flashing(self) -> bool:
        return self._flash_event is not None

    # ------------------------------------------------------------ waiting per group
    def group_pages(self) -> list[list]:
        app = App.get_running_app()
        rows = group_rows(app.site, app.group_states, tr.lang, app.device.floors, app.wait_states)
        return pages(rows, self.lay.rows_per_page)

    def show_groups(self) -> None:
        lay = self.lay
        all_pages = self.group_pages()
        index = int(self.page_index) % len(all_pages)
        self.ids.page.text = page_marker(index, len(all_pages))
        box = self.ids.groups
        box.clear_widgets()
        head = (tr._("Counter"), tr._("Floor"), tr._("Waiting (board column)"), tr._("Wait"))
        head_px = round(lay.row_px * 0.8)
        texts: list[tuple[str, ...]] = [(r.name, r.floor, r.waiting, r.wait) for page in all_pages for r in page]
        # one set of widths for every page, so the columns stay put while the table pages; the header's words
        # count too (at 0.8 of the rows' size, and they may shrink to 3/4 of that before their column widens:
        # a column's figures matter more than its heading)
        widths = column_widths(
            texts, lay.table_w - 2 * lay.pad, lay.row_px, lay.pad / 2, head, head_px * 0.75, bold_width, text_width
        )
        box.add_widget(self._row(head, widths, head_px, header=True))
        for row in all_pages[index]:
            box.add_widget(self._row((row.name, row.floor, row.waiting, row.wait), widths, lay.row_px, row.closed))

    def _row(self, texts, widths, font_px: int, closed: bool = False, header: bool = False) -> BoardRow:
        # a name is shown whole, smaller if it must (down to 0.4 of the row's size), never cut to "…"
        smallest = [font_px * (0.5 if header else 0.4)] + [font_px * 0.5] * 3
        # as the rule draws them (board.kv): the header's first word bold, a row's waiting count bold
        measures = [bold_width, text_width, text_width, text_width] if header else [text_width] * 2 + [bold_width] * 2
        fonts = [
            fit_font(text, font_px, 0.96 * width, least, measure)  # measured, not estimated: a small margin
            for text, width, least, measure in zip(texts, widths, smallest, measures, strict=True)
        ]
        height = self.lay.row_h if not header else round(self.lay.row_h * 0.8)
        lines = 1
        if not header and " " in texts[0] and fonts[0] < 0.7 * font_px:
            # two lines of the name column, each line 1.2 em apart (line_height 0.83 of the font's 1.45)
            two = min(font_px, height / (2 * 1.2), 0.96 * widths[0] * 2 * 0.8 / text_width(texts[0]))
            if two > fonts[0]:
                fonts[0], lines = int(two), 2
        return BoardRow(
            name=texts[0],
            name_lines=lines,
            floor=texts[1],
            waiting=texts[2],
            wait=texts[3],
            closed=closed,
            header=header,
            name_px=fonts[0],
            floor_px=fonts[1],
            waiting_px=fonts[2],
            wait_px=fonts[3],
            gap=self.lay.pad / 2,
            widths=[w / sum(widths) for w in widths],
            height=height,
        )

    def next_page(self) -> None:
        if len(self.group_pages()) > 1:
            self.page_index += 1
            self.show_groups()

    # ------------------------------------------------------------ the notice
    def scroll_ticker(self) -> None:
        label = self.ids.ticker
        label.texture_update()
        width = label.texture_size[0]
        label.x = self.width
        anim = Animation(x=-width, duration=max(10.0, width / 120.0))
        anim.bind(on_complete=lambda *_: self.scroll_ticker())
        anim.start(label)
