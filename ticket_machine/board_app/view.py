"""What the board shows, from the retained state: pure, so it is tested without a screen.

The screen (``screens/board.py``) only places what these functions return; the sizes come from ``sizing.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_skeleton

from kiosk import wait_text as waits
from kiosk.bus.schemas import BoardCall, GroupState, WaitState
from kiosk.config.site import Site
from kiosk.i18n import LANGUAGES, N_, gettext_for

#: Same floor as the board: the way to the counter (the device file's ``directions``).
ARROWS = {"left": "←", "right": "→", "ahead": "↑", "back": "↓"}
#: Another floor: the stairs/lift sign and its words.
FLOOR_SIGNS = {"up": "▲", "down": "▼"}
FLOOR_WORDS = {"up": N_("upstairs"), "down": N_("downstairs")}
#: A group with no counter open (marked here: the extractor finds only ``N_`` and ``tr._`` literals).
NOT_OPEN = N_("Not open")
#: Babel's locale for each kiosk language (dates).
BABEL_LOCALES = {"ja": "ja", "en": "en", "zh": "zh", "ko": "ko", "vi": "vi", "pt": "pt_BR", "ja-easy": "ja"}

Translate = Callable[[str], str]


@dataclass(frozen=True)
class CallLine:
    number: int
    counter: str
    floor: int


@dataclass(frozen=True)
class CallCell:
    """One call on the board: the number (largest), where (counter or booth name), and the way there."""

    number: int
    counter_id: str
    counter: str
    floor: int
    #: ``left`` / ``right`` / ``ahead`` / ``back`` on the board's floor, ``up`` / ``down`` to another floor, or None.
    way: str | None
    #: The line under the name: arrow or stairs sign, floor, and for another floor "upstairs"/"downstairs".
    where: str
    newest: bool


@dataclass(frozen=True)
class GroupRow:
    name: str
    floor: str
    waiting: str
    wait: str
    #: No counter of the group is open (the wait is "not open", the count is not a promise).
    closed: bool


def call_lines(site: Site, recent: list[BoardCall], lang: str, floors: tuple[int, ...] = ()) -> list[CallLine]:
    """Latest calls first; only this board's floors when it has any."""
    out = []
    for call in recent:
        counter = site.counter_by_id.get(call.counter)
        if counter is None or (floors and counter.floor not in floors):
            continue
        out.append(CallLine(call.number, counter.names.get(lang), counter.floor))
    return out


def way_to(
    counter_id: str, group_id: str, floor: int, board_floor: int | None, directions: Mapping[str, str]
) -> str | None:
    """Which way the counter is from the board: another floor is ``up``/``down`` (the board's floor must be
    known); on the same floor, the device file's direction of the counter, else of its group, else none."""
    if board_floor is not None and floor != board_floor:
        return "up" if floor > board_floor else "down"
    return directions.get(counter_id) or directions.get(group_id)


def where_text(way: str | None, floor: int, _: Translate) -> str:
    """``→ 1F``, ``▲ 2F upstairs``, or just the floor when the way is unknown."""
    floor_text = _("{floor}F").format(floor=floor)
    if way in ARROWS:
        return f"{ARROWS[way]} {floor_text}"
    if way in FLOOR_SIGNS:
        return f"{FLOOR_SIGNS[way]} {floor_text} {_(FLOOR_WORDS[way])}"
    return floor_text


def call_cells(
    site: Site,
    recent: list[BoardCall],
    lang: str,
    count: int,
    floors: tuple[int, ...] = (),
    board_floor: int | None = None,
    directions: Mapping[str, str] | None = None,
) -> list[CallCell]:
    """The ``count`` latest calls of this board's floors, newest first (top left). A booth reads as the site
    names it (``ワンストップ B1``)."""
    _ = _translator(lang)
    cells: list[CallCell] = []
    for call in recent:
        counter = site.counter_by_id.get(call.counter)
        if counter is None or (floors and counter.floor not in floors):
            continue
        way = way_to(counter.id, counter.group, counter.floor, board_floor, directions or {})
        cells.append(
            CallCell(
                number=call.number,
                counter_id=counter.id,
                counter=counter.names.get(lang),
                floor=counter.floor,
                way=way,
                where=where_text(way, counter.floor, _),
                newest=not cells,
            )
        )
        if len(cells) == count:
            break
    return cells


def newest_key(site: Site, recent: list[BoardCall], floors: tuple[int, ...] = ()) -> tuple | None:
    """What identifies the newest call this board shows (a recall of the same number is a new call)."""
    for call in recent:
        counter = site.counter_by_id.get(call.counter)
        if counter is not None and not (floors and counter.floor not in floors):
            return (call.number, call.counter, call.at)
    return None


#: The board has not seen the retained state yet.
UNSEEN = ("unseen",)


def should_flash(previous: tuple | None, current: tuple | None, seconds: float) -> bool:
    """Flash when a new call became the newest. The first state after a start (``previous`` is :data:`UNSEEN`)
    is the retained one (the queue service always publishes it, empty or not): what a restarted board finds,
    not a new call, so it does not flash."""
    if current is None or seconds <= 0 or previous == UNSEEN:
        return False
    return current != previous


def wait_text(state: GroupState | None, wait: WaitState | None, lang: str) -> str:
    """The estimated wait: none open → "not open" (never a dash), 0 → "no wait", else the range of the rev-2
    ``WaitState`` ("10–15 min"), or "about N min" from the group state when no wait state came (a rev-1 service)."""
    if wait is not None:
        return waits.wait_text(lang, wait.est_wait_min, wait.est_wait_range)
    return waits.wait_text(lang, state.est_wait_min if state is not None else None)


def group_rows(
    site: Site,
    states: Mapping[str, GroupState],
    lang: str,
    floors: tuple[int, ...] = (),
    waits_at: Mapping[str, WaitState] | None = None,
) -> list[GroupRow]:
    """One row per group of this board's floors, in the site's order. ``waiting`` counts the tickets that can be
    called at the group now (the queue service's group state); a group with no counter open says so. ``waits_at``:
    the rev-2 wait states by group (the wait as a range), where the service publishes them."""
    _ = _translator(lang)
    rows = []
    for group in site.groups:
        if floors and group.floor not in floors:
            continue
        state = states.get(group.id)
        wait = (waits_at or {}).get(group.id)
        # the row greys out exactly when its wait says "not open"
        closed = (wait.est_wait_min if wait is not None else state.est_wait_min if state else None) is None
        rows.append(
            GroupRow(
                name=group.names.get(lang),
                floor=_("{floor}F").format(floor=group.floor),
                waiting=_("{count} people").format(count=state.waiting if state else 0),
                wait=wait_text(state, wait, lang),
                closed=closed,
            )
        )
    return rows


def group_lines(site: Site, states: dict[str, GroupState], lang: str, floors: tuple[int, ...] = ()) -> list[tuple]:
    """``(group name, floor, waiting, est_wait_min)`` in the site's order."""
    rows = []
    for group in site.groups:
        if floors and group.floor not in floors:
            continue
        state = states.get(group.id)
        rows.append(
            (group.names.get(lang), group.floor, state.waiting if state else 0, state.est_wait_min if state else None)
        )
    return rows


def pages(rows: list, per_page: int) -> list[list]:
    """The rows in pages of ``per_page`` (at least one page, empty when there are no rows)."""
    per_page = max(1, per_page)
    return [rows[i : i + per_page] for i in range(0, len(rows), per_page)] or [[]]


def page_marker(index: int, count: int) -> str:
    """``2/3`` while the table pages; nothing when everything fits."""
    return f"{index % count + 1}/{count}" if count > 1 else ""


def clock_text(now: datetime) -> str:
    """``HH:MM``, 24-hour, as Japanese offices write it."""
    return now.strftime("%H:%M")


def date_text(now: datetime, lang: str) -> str:
    """The date with its weekday in the board's language: ``12月4日(木)``, ``Thu, Dec 4``."""
    return format_skeleton("MMMEd", now, locale=BABEL_LOCALES.get(lang, "en"))


def heading(message: str, lang: str) -> str:
    """A heading in the board's language, with English after it when that is another language."""
    own = gettext_for(lang, message)
    english = gettext_for("en", message)
    return own if lang == "en" or own == english else f"{own}  {english}"


def ticker_text(message: str) -> str:
    """The same notice in every kiosk language, one after another."""
    return "　　◆　　".join(gettext_for(lang, message) for lang in LANGUAGES)


def _translator(lang: str) -> Translate:
    return lambda message: gettext_for(lang, message)
