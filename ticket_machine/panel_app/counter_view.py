"""What the counter screen's header and number block say: the queue, the open/closed switch, the resident's
language. Pure (no Kivy), so the words are tested without a window.

Staff glance at a 7″–10″ panel between residents: the count of people waiting must be large and always on the
main screen (not only in a caption that wraps away), the resident's language must be known before the call (to
fetch an interpreter tablet or the easy-Japanese sheet), and button labels must not break mid-word on narrow
buttons, so they are written as short lines that each fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kiosk.bus.schemas import GroupState
from kiosk.config.site import Counter, Site
from kiosk.i18n import LANGUAGES, N_, gettext_for


@dataclass(frozen=True)
class QueueView:
    """The people waiting for a counter, from the groups' retained state (``None`` until any state arrived)."""

    #: tickets callable now at the groups this counter serves (summed over its groups)
    waiting: int | None
    #: the estimate of the counter's own group, in minutes
    est_wait_min: int | None
    #: one line per group served ("国民健康保険  待ち：3人  約12分"), for the header
    lines: tuple[str, ...]


def queue_view(site: Site, counter: Counter, states: Mapping[str, GroupState], lang: str) -> QueueView:
    """The queue of ``counter``: each group's waiting count (only tickets callable there now: the queue service
    counts them so) and their sum. A ticket callable at two groups of the same counter counts at both; such a
    ticket is rare (both steps open at once) and counting it twice errs towards calling sooner."""
    lines = []
    total: int | None = None
    for group in counter.groups:
        state = states.get(group)
        text = site.group_by_id[group].names.get(lang) if group in site.group_by_id else group
        if state is not None:
            total = (total or 0) + state.waiting
            text += "  " + gettext_for(lang, "Waiting: {count}").format(count=state.waiting)
            if state.est_wait_min is not None:
                text += "  " + gettext_for(lang, "about {minutes} min").format(minutes=state.est_wait_min)
        lines.append(text)
    own = states.get(counter.group)
    return QueueView(total, own.est_wait_min if own is not None else None, tuple(lines))


def waiting_count_text(view: QueueView, lang: str) -> str:
    """The big count: "3人" / "3 people"; "—" before the queue service said anything."""
    if view.waiting is None:
        return "—"
    return gettext_for(lang, "{count} people").format(count=view.waiting)


def wait_minutes_text(view: QueueView, lang: str) -> str:
    return (
        "" if view.est_wait_min is None else gettext_for(lang, "about {minutes} min").format(minutes=view.est_wait_min)
    )


#: The open/closed switch: the state on the first line, what a tap does on the second (each line short enough
#: for a narrow button, so neither breaks inside a word).
TOGGLE = {
    True: (N_("Counter open"), N_("Tap to pause")),
    False: (N_("Counter paused"), N_("Tap to open")),
}


def toggle_text(is_open: bool, lang: str) -> str:
    state, action = TOGGLE[is_open]
    return f"{gettext_for(lang, state)}\n{gettext_for(lang, action)}"


def language_text(ticket_lang: str | None, lang: str) -> str:
    """The resident's language, in its own words ("言語：English"), so staff prepare before they speak."""
    if ticket_lang is None:
        return ""
    name = next((native for code, native in LANGUAGES.items() if code == ticket_lang), ticket_lang)
    return gettext_for(lang, "Language: {language}").format(language=name)


def hidden_below(items: list[tuple[float, float]], content_height: float, view_height: float, scroll_y: float) -> int:
    """How many of ``items`` ((bottom, top) in the scrolled content's coordinates) are not wholly in view: below the
    bottom of a view ``view_height`` tall scrolled to ``scroll_y`` (1 = top, 0 = bottom, as Kivy counts)."""
    if content_height <= view_height:
        return 0
    bottom = (content_height - view_height) * max(0.0, min(1.0, scroll_y))
    return sum(1 for low, _high in items if low < bottom - 1)


def more_below_text(hidden: int, lang: str) -> str:
    """The cue under a list cut off at the bottom; empty when everything is in view."""
    if hidden <= 0:
        return ""
    return "▼ " + gettext_for(lang, "{count} more below: scroll the list").format(count=hidden)
