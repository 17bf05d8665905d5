"""What the board shows, from the retained state: pure, so it is tested without a screen."""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.bus.schemas import BoardCall, GroupState
from kiosk.config.site import Site
from kiosk.i18n import LANGUAGES, gettext_for


@dataclass(frozen=True)
class CallLine:
    number: int
    counter: str
    floor: int


def call_lines(site: Site, recent: list[BoardCall], lang: str, floors: tuple[int, ...] = ()) -> list[CallLine]:
    """Latest calls first; only this board's floors when it has any."""
    out = []
    for call in recent:
        counter = site.counter_by_id.get(call.counter)
        if counter is None or (floors and counter.floor not in floors):
            continue
        out.append(CallLine(call.number, counter.names.get(lang), counter.floor))
    return out


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


def ticker_text(message: str) -> str:
    """The same notice in every kiosk language, one after another."""
    return "　　◆　　".join(gettext_for(lang, message) for lang in LANGUAGES)
