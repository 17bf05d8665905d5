"""How a wait is worded wherever a resident reads one: the ticket, the kiosk, the call board, the phone page and the
congestion page. Pure (translations only), one rule for all of them so a ticket and the board never disagree.

Since contract rev 2 the queue service says a wait as the most likely minutes and a range around it
(``WaitRange``: ``TicketView.est_wait_range``, the retained ``WaitState``). The wording:

- not known (no counter open, or the ticket is not waiting): the context's "not known" / "not open";
- 0 minutes: "no wait" / "you are next";
- a range of one value, or no range (a rev-1 service): "about N min";
- else the range, "10–15 min" (an en dash). The estimator already rounds wide ranges to 5 minutes: printed as given.

Each language writes a range its own way (the catalogs hold the whole phrase, so each places the figures and the
mark where it reads naturally): Japanese "10〜15分" with the wave dash Japanese notices use for "from … to" (the
office hours on these pages too), without 約: the range already says "not exact" and 目安 ("estimate") heads the
longer line, so "約10〜15分" would hedge twice and widen the board's narrow column; Chinese "10～15分钟" (the wave
GB/T 15834 gives for ranges); Korean "10~15분"; やさしい日本語 "10ふん から 15ふん": a word, not a mark (the
plain-Japanese guidelines ask for words over symbols), with every figure read ふん as the catalog already does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kiosk.i18n import N_, gettext_for


class Span(Protocol):
    """A range of minutes: ``kiosk.bus.schemas.WaitRange``, the web API's range, the engine's ``Wait``."""

    @property
    def low(self) -> int: ...

    @property
    def high(self) -> int: ...


@dataclass(frozen=True)
class WaitWords:
    """The message ids of one place's wording: what it says when the wait is not known, zero, one figure, a range."""

    unknown: str
    zero: str
    about: str
    span: str


#: Short, for a table cell or after other words: the board, the congestion page, a step on the phone page.
SHORT = WaitWords(
    unknown=N_("Not open"),
    zero=N_("No wait"),
    about=N_("about {minutes} min"),
    span=N_("{low}–{high} min"),
)
#: A line of its own: the printed ticket, the kiosk's issued screen, the phone page's ticket.
ESTIMATED = WaitWords(
    unknown=N_("Estimated wait: not known yet"),
    zero=N_("Estimated wait: you are next"),
    about=N_("Estimated wait: about {minutes} min"),
    span=N_("Estimated wait: {low}–{high} min"),
)


def wait_text(lang: str, minutes: int | None, span: Span | None = None, words: WaitWords = SHORT) -> str:
    """The wait in ``lang``: ``minutes`` is the most likely (``est_wait_min``; None: not known), ``span`` the
    range around it (None from a rev-1 service or a message without one)."""
    if minutes is None:
        return gettext_for(lang, words.unknown)
    if minutes <= 0:
        return gettext_for(lang, words.zero)
    if span is None or span.low >= span.high:
        return gettext_for(lang, words.about).format(minutes=minutes)
    return gettext_for(lang, words.span).format(low=span.low, high=span.high)
