"""When the resident's phone alerts: the pure decision behind the phone page and Web Push (docs/web.md).

The phone page and the push worker read the same :class:`TicketStatusOut` and ask :func:`current_alert` what the
resident should be told now; an alert has a ``key`` naming what it is about (this step's turn coming near, this
call), and a key that was alerted once is never alerted again (:func:`due`): a queue that moves from 3 to 2 to 1
ahead rings once, a second counter of the visit rings again, and the pickup call (a later delivery) rings as its
own call.

"The step the resident waits for now" (:func:`waiting_now`): of the steps the engine gives a standing for (callable
now, at a group with an open counter), the one with the fewest people ahead; first in the visit's order on a tie.
No I/O here: unit-tested without a server (tests/queue_service/test_phone_alert.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kiosk.i18n import N_, gettext_for
from queue_service.web.api_models import StepOut, TicketStatusOut

AlertKind = Literal["near", "called", "pickup"]


@dataclass(frozen=True)
class Alert:
    """What to tell the resident now. ``ahead`` only for ``near``; ``key`` is stable while it is the same
    event (the same step coming near, the same call) and differs for the next one."""

    kind: AlertKind
    key: str
    number: int
    ahead: int | None = None


def waiting_now(st: TicketStatusOut) -> StepOut | None:
    """The step the resident waits for now (fewest people ahead; visit order on a tie), or None when no step
    is waiting with a known standing at an open group."""
    best: StepOut | None = None
    for step in st.steps:
        if step.status != "waiting" or step.ahead is None or step.open_counters == 0:
            continue
        if best is None or step.ahead < best.ahead:  # type: ignore[operator]
            best = step
    return best


def people_ahead(st: TicketStatusOut) -> int | None:
    """The "N people ahead of you" figure of the page, or None when the page shows none (called, served, done,
    waiting only for a closed group or a later delivery)."""
    if st.status != "waiting" or st.called is not None:
        return None
    step = waiting_now(st)
    return None if step is None else step.ahead


def is_near(ahead: int | None, threshold: int) -> bool:
    """Next-but-N: ``threshold`` people or fewer ahead (0: the resident is next)."""
    return ahead is not None and 0 <= ahead <= threshold


def current_alert(st: TicketStatusOut, threshold: int) -> Alert | None:
    """What the resident should be alerted about now, or None."""
    if st.called is not None:
        serving = next((s for s in st.steps if s.status == "serving"), None)
        kind: AlertKind = "pickup" if serving is not None and serving.kind == "pickup" else "called"
        about = f"{serving.procedure}:{serving.kind}" if serving is not None else ""
        return Alert(kind, f"{kind}:{st.called.counter}:{about}", st.number)
    step = waiting_now(st) if st.status == "waiting" else None
    if step is None or not is_near(step.ahead, threshold):
        return None
    return Alert("near", f"near:{step.group}:{step.procedure}:{step.kind}", st.number, step.ahead)


def due(alert: Alert | None, sent: set[str] | frozenset[str]) -> Alert | None:
    """``alert`` when it was not alerted before (its key is not in ``sent``), else None."""
    if alert is None or alert.key in sent:
        return None
    return alert


# ---------------------------------------------------------------- words (the page's and the push's)
#: The phone alert's words (status templates, status.js via the page, the push messages).
PHONE_MESSAGES = (
    N_("You are next"),
    N_("{count} person ahead of you"),
    N_("{count} people ahead of you"),
    N_("Your turn is near. Please come back to the waiting area."),
    N_("Ready to pick up"),
    N_("Turn on alerts"),
    N_("Alerts are on: sound and vibration while this page is open."),
    N_("Notifications are on: we will tell you even when this page is closed."),
    N_("Keep this page open: this phone cannot notify you when it is closed."),
    N_("We alert you when {count} or fewer people are ahead of you."),
)


def ahead_message(ahead: int) -> str:
    """The msgid of "N people ahead of you" for ``ahead`` (a ``{count}`` placeholder where it has one)."""
    if ahead <= 0:
        return PHONE_MESSAGES[0]
    return PHONE_MESSAGES[1] if ahead == 1 else PHONE_MESSAGES[2]


def ahead_text(ahead: int, lang: str) -> str:
    """The "3 people ahead of you" of the page, in ``lang``."""
    return gettext_for(lang, ahead_message(ahead)).format(count=ahead)


def alert_words(alert: Alert, st: TicketStatusOut, lang: str) -> tuple[str, str]:
    """(title, body) of ``alert`` in ``lang``: the ticket's number and what to do; nothing personal."""
    title = f"{gettext_for(lang, 'Your number')} {st.number}"
    if alert.kind == "near":
        near = gettext_for(lang, PHONE_MESSAGES[3])
        return title, f"{ahead_text(alert.ahead or 0, lang)}\n{near}"
    head = gettext_for(lang, PHONE_MESSAGES[4] if alert.kind == "pickup" else "Your number is called")
    if st.called is None:
        return title, head
    floor = gettext_for(lang, "{floor}F").format(floor=st.called.floor)
    go = gettext_for(lang, "Go to {counter} ({floor})").format(counter=st.called.counter_name, floor=floor)
    return title, f"{head}\n{go}"
