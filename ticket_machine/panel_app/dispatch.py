"""Booths and staff dispatch as a call panel shows them. Pure: what the screen shows, tested without a window.

A section's staff see the booths' open requests for the groups their counter serves beside their own queue
("ワンストップ B3: 国民健康保険 加入（42番・English・4分待ち）") and take one; a booth's staff see who sits at their
booth, whom it still waits for, and may hand the visit over to the counters. Refusals of the queue service are
put in words the staff can act on (the engine's own message is for logs, in English).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from kiosk.bus.schemas import BoothState, RequestsState, TicketView
from kiosk.config.site import Counter, Site
from kiosk.i18n import LANGUAGES, N_, gettext_for


def joined(items: Iterable[str], lang: str) -> str:
    """A list in running text: Japanese uses the ideographic comma (procedure names already hold ・)."""
    return ("、" if lang.startswith("ja") else ", ").join(items)


def counter_name(site: Site, counter_id: str, lang: str) -> str:
    counter = site.counter_by_id.get(counter_id)
    return counter.names.get(lang) if counter is not None else counter_id


def group_names(site: Site, groups: Iterable[str], lang: str) -> str:
    return joined((site.group_by_id[g].names.get(lang) if g in site.group_by_id else g for g in groups), lang)


def procedure_names(site: Site, procedures: Iterable[str], lang: str) -> str:
    return joined(
        (site.procedure_by_id[p].names.get(lang) if p in site.procedure_by_id else p for p in procedures), lang
    )


def minutes_since(since: datetime | None, now: datetime) -> int:
    return 0 if since is None else max(0, int((now - since).total_seconds() // 60))


def is_booth(site: Site, counter: Counter) -> bool:
    return counter.group == site.booth_group


# ----------------------------------------------------------------- requests (a section's panel)
@dataclass(frozen=True)
class RequestLine:
    """One booth asking this counter's staff to come: what the row says and what 「行きます」 sends."""

    booth: str
    ticket: str
    number: int
    priority: bool
    text: str
    procedures: tuple[str, ...] = field(default=())


def request_lines(
    site: Site, counter: Counter, states: Mapping[str, RequestsState], now: datetime, lang: str
) -> list[RequestLine]:
    """The open requests for every group ``counter`` serves (its skills), one row per seated resident, the longest
    seated first. A counter with two skills sees one row per resident: taking it serves both groups' steps."""
    if is_booth(site, counter):
        return []
    rows: dict[tuple[str, str], tuple] = {}
    for group in counter.groups:
        state = states.get(group)
        for request in state.requests if state is not None else ():
            key = (request.booth, request.ticket)
            if key in rows:
                first, procedures = rows[key]
                rows[key] = (first, procedures + [p for p in request.procedures if p not in procedures])
            else:
                rows[key] = (request, list(request.procedures))
    lines = []
    for request, procedures in sorted(rows.values(), key=lambda r: (r[0].since, r[0].number)):
        text = gettext_for(lang, "{booth}: {procedures} (number {number}, {language}, waiting {minutes} min)").format(
            booth=counter_name(site, request.booth, lang),
            procedures=procedure_names(site, procedures, lang),
            number=request.number,
            language=LANGUAGES.get(request.lang, request.lang),
            minutes=minutes_since(request.since, now),
        )
        if request.priority:
            text = f"{gettext_for(lang, 'Priority')}  {text}"
        lines.append(
            RequestLine(request.booth, request.ticket, request.number, request.priority, text, tuple(procedures))
        )
    return lines


# ----------------------------------------------------------------- the visit being served
def serving_place(site: Site, counter: Counter, ticket: TicketView | None, lang: str) -> str:
    """Where this panel's visit is served, when it is not at this counter: "ワンストップ B3で対応中"."""
    if ticket is None or ticket.booth is None or ticket.booth == counter.id:
        return ""
    return gettext_for(lang, "Serving at {booth}").format(booth=counter_name(site, ticket.booth, lang))


def can_recall(counter: Counter, ticket: TicketView | None) -> bool:
    """Recalling announces the number on the board at this counter: never for a resident seated at a booth
    elsewhere (the staff went to them; the board must not send them to this counter)."""
    return ticket is None or ticket.booth is None or ticket.booth == counter.id


# ----------------------------------------------------------------- a booth's panel
@dataclass(frozen=True)
class BoothLine:
    """What a booth panel shows about its seat, and whether 「窓口へ引き継ぐ」 can be tapped."""

    number: int | None
    lines: tuple[str, ...]
    can_hand_over: bool
    waiting_for: tuple[str, ...] = ()


def booth_line(site: Site, booth: Counter, state: BoothState | None, now: datetime, lang: str) -> BoothLine:
    if state is None or state.number is None:
        return BoothLine(None, (gettext_for(lang, "Nobody is seated at this booth."),), can_hand_over=False)
    lines = [
        gettext_for(lang, "Seated: number {number} ({minutes} min)").format(
            number=state.number, minutes=minutes_since(state.seated_since, now)
        )
    ]
    served_here = state.served_by in (None, booth.id)
    if not served_here:
        assert state.served_by is not None
        lines.append(
            gettext_for(lang, "Staff of {counter} are serving them now.").format(
                counter=counter_name(site, state.served_by, lang)
            )
        )
    # the groups whose staff are here now are not "still to come" (the booth's state counts their steps as open)
    here = site.counter_by_id[state.served_by].groups if state.served_by in site.counter_by_id else ()
    waiting = tuple(g for g in state.waiting_for if served_here or g not in here)
    if waiting:
        lines.append(
            gettext_for(lang, "Waiting for staff of: {groups}").format(groups=group_names(site, waiting, lang))
        )
    elif state.served_by is None:
        lines.append(gettext_for(lang, "Steps of this booth remain: call next to serve them."))
    return BoothLine(state.number, tuple(lines), can_hand_over=served_here, waiting_for=waiting)


def hand_over_lines(site: Site, booth: Counter, state: BoothState | None, lang: str) -> list[str]:
    """What handing over does, said before the staff confirm it."""
    if state is None or state.number is None:
        return [gettext_for(lang, "Nobody is seated at this booth.")]
    lines = [gettext_for(lang, "Hand number {number} over to the counters?").format(number=state.number)]
    if state.waiting_for:
        lines.append(
            gettext_for(lang, "Their remaining steps go to the counters of: {groups}").format(
                groups=group_names(site, state.waiting_for, lang)
            )
        )
    lines.append(
        gettext_for(lang, "The resident is called to those counters on the board; {booth} is free again.").format(
            booth=booth.names.get(lang)
        )
    )
    return lines


# ----------------------------------------------------------------- refusals, in words
def error_text(
    site: Site, code: str, message: str, lang: str, counter: Counter | None = None, booth: BoothState | None = None
) -> str:
    """A refusal of the queue service as the staff should read it: what happened and what to do."""
    if code == "booth_occupied" and counter is not None:
        number = booth.number if booth is not None and booth.number is not None else "?"
        waiting = tuple(booth.waiting_for) if booth is not None else ()
        booth_name = counter.names.get(lang)
        if waiting:
            said = N_("Number {number} is still seated at {booth}, waiting for staff of {groups}.")
            text = gettext_for(lang, said).format(
                number=number, booth=booth_name, groups=group_names(site, waiting, lang)
            )
        else:
            text = gettext_for(lang, "Number {number} is still seated at {booth}.").format(
                number=number, booth=booth_name
            )
        return text + "\n" + gettext_for(lang, "To free the booth, hand the visit over to the counters.")
    known = {
        "no_request": N_("This request was already taken or is no longer open."),
        "counter_busy": N_("Finish the current visit first (complete or no-show)."),
        "counter_closed": N_("Open the counter first."),
        "no_pickup": N_("Not ready to mark yet: the procedure is not finished, or it was already marked."),
        "ticket_in_service": N_("Another counter is serving this visit now."),
        "not_seated": N_("Nobody is seated at this booth."),
    }
    if code in known:
        return gettext_for(lang, known[code])
    return f"{gettext_for(lang, 'Not done')}: {message} ({code})"
