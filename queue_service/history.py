"""What happened on a service day, read back from the queue service's journal. Pure: entries in, records out.

The journal keeps every accepted command with its time and its reply, so a day can be told
ticket by ticket without any extra bookkeeping in the service: when each ticket was issued,
when it was called at each counter group and by which counter, when each service ended, who did
not show up, what was transferred, what the registers and form issuers recorded, the residents' survey
answers (stars only: which ticket answered is not kept) and the online guide's uses. The KPI
pages, the congestion forecast and the simulated office day all read days through this module.

Definitions (also in docs/kpi.md):

* **wait at a group**: from the moment the ticket was free to be called there (issue, or the end
  of its previous service elsewhere, or its reactivation) to the call. A ticket that waits in two
  queues at once counts its waiting time at the group that called it.
* **service time**: from the call to complete / no-show / transfer / hand-over at that counter.
* **stay**: from issue to the last completion, for tickets that finished every step. A payment step
  closed at the self register (``ticket_paid``) ends the stay at the payment when it comes after the
  last counter; a ticket finished but for its payment ends at its last counter.

One-stop visits (docs/one-stop.md) are told with the same records, by :attr:`Service.kind`:

* ``booth``: the booth's call (``call_next`` at a booth): the visit's one call; it seats the ticket.
* ``request``: a section's staff serving the seated resident at the booth (``take_request``). Its wait
  runs from when the request opened: the booth's complete, or the seating when the booth served no front
  step there, or the end of the previous section's service at the booth (the resident waits once).
* ``front``: the booth serving newly ready front steps of the resident already seated there (no call).
* ``pickup``: the call to hand over a later delivery; its wait starts when the back office marked it
  ready (``mark_ready``), not before.
* ``counter``: every other call, at a section's counter.

The issue's reception travels into :class:`Visit` as ids only: the life event and the answers. The
concierge's note is never read from the journal here, so no page built on this module can show it.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class JournalEntry(Protocol):
    """What :mod:`queue_service.service.journal` stores per command (its ``Entry``). Read-only: ``Entry`` is frozen."""

    @property
    def verb(self) -> str: ...

    @property
    def args(self) -> str: ...

    @property
    def at(self) -> str: ...

    @property
    def ok(self) -> bool: ...

    @property
    def reply(self) -> str: ...


#: What a service was (:attr:`Service.kind`): see the module's docstring.
SERVICE_KINDS = ("counter", "booth", "front", "request", "pickup")


@dataclass
class Service:
    """One call of a ticket at one counter (or one service at its booth), until it was released."""

    group: str
    counter: str
    ready_at: datetime
    called_at: datetime
    ended_at: datetime | None = None
    #: complete | no_show | transfer | hand_over | open (still being served)
    outcome: str = "open"
    #: counter | booth | front | request | pickup (module docstring)
    kind: str = "counter"
    #: the booth it took place at (booth, front, request), else None
    booth: str | None = None
    #: the procedures served (pickups included), as the reply to the call listed them
    procedures: tuple[str, ...] = ()

    @property
    def wait_min(self) -> float:
        return (self.called_at - self.ready_at).total_seconds() / 60

    @property
    def service_min(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.called_at).total_seconds() / 60


@dataclass
class Visit:
    """One ticket's day."""

    ticket: str
    number: int
    issued_at: datetime
    lang: str
    priority: bool
    groups: list[str]
    services: list[Service] = field(default_factory=list)
    status: str = "waiting"
    done_at: datetime | None = None
    transfers: int = 0
    no_shows: int = 0
    #: When the ticket last became free to be called (issue, release, reactivation).
    free_since: datetime | None = None
    #: The reception, as ids: the life event the resident came for, and the kiosk's answers (never the note).
    life_event: str | None = None
    answers: dict[str, bool] = field(default_factory=dict)
    #: Every procedure of the visit (at issue, or added at a counter), pickups not repeated.
    procedures: list[str] = field(default_factory=list)
    #: The booth it sat at (one-stop), from when, and until when it was freed (None: still seated, or never).
    booth: str | None = None
    seated_at: datetime | None = None
    unseated_at: datetime | None = None
    #: The booth gave the visit up to the sections' counters (``hand_over``).
    handed_over: bool = False
    #: Later deliveries: procedure → when the back office marked it ready.
    ready_at: dict[str, datetime] = field(default_factory=dict)
    #: When the self register closed its payment step (``ticket_paid``).
    paid_at: datetime | None = None

    @property
    def stay_min(self) -> float | None:
        if self.done_at is None:
            return None
        return (self.done_at - self.issued_at).total_seconds() / 60

    @property
    def wait_min(self) -> float:
        return sum(s.wait_min for s in self.services)

    @property
    def one_stop(self) -> bool:
        """The visit sat at a booth (the sections came to the resident)."""
        return self.booth is not None


@dataclass
class Day:
    visits: dict[str, Visit] = field(default_factory=dict)
    payments: list[dict[str, Any]] = field(default_factory=list)
    forms: list[dict[str, Any]] = field(default_factory=list)
    #: Satisfaction answers (``record_survey`` accepted): question id → 1-5 stars each, anonymous (no ticket kept).
    surveys: list[dict[str, int]] = field(default_factory=list)
    #: Uses of the online guide (``record_guide_use``): the life event (or None) and whether the result was reached.
    guide_uses: list[tuple[str | None, bool]] = field(default_factory=list)

    def services(self) -> list[Service]:
        return [s for v in self.visits.values() for s in v.services]


def read_day(entries: Iterable[JournalEntry], counter_groups: Mapping[str, str]) -> Day:
    """Replay one day's journal entries (in journal order) into visits, payments and form counts.

    ``counter_groups`` maps counter id → counter group (``{c.id: c.group for c in site.counters}``). A booth
    needs no list: the replies name the booth a ticket sits at, and a booth serves no other ticket.
    """
    day = Day()
    open_service: dict[str, Service] = {}  # counter → service in progress
    for entry in entries:
        if not entry.ok:
            continue
        at = datetime.fromisoformat(entry.at)
        args = json.loads(entry.args)
        result = json.loads(entry.reply).get("result") or {}
        ticket = result.get("ticket") or {}
        verb = entry.verb
        if verb == "issue":
            day.visits[ticket["id"]] = Visit(
                ticket=ticket["id"],
                number=ticket["number"],
                issued_at=at,
                lang=ticket["lang"],
                priority=ticket["priority"],
                groups=list(dict.fromkeys(s["group"] for s in ticket["itinerary"])),
                free_since=at,
                life_event=args.get("life_event"),
                answers={str(k): bool(v) for k, v in (args.get("answers") or {}).items()},
                procedures=_procedures([], ticket),
            )
        elif verb in ("call_next", "take_request") and ticket:
            visit = day.visits.get(ticket["id"])
            if visit is not None:
                counter = args["counter"]
                open_service[counter] = _start(visit, counter, counter_groups, ticket, at, verb)
        elif verb in ("complete", "no_show", "transfer") and ticket:
            _release(day, open_service, args["counter"], ticket, at, verb)
        elif verb == "hand_over" and ticket:
            _hand_over(day, open_service, args["counter"], ticket, at)
        elif verb == "mark_ready" and ticket:
            visit = day.visits.get(ticket["id"])
            if visit is not None:
                visit.ready_at[args["procedure"]] = at
        elif verb == "ticket_paid" and ticket:
            visit = day.visits.get(ticket["id"])
            if visit is not None:
                visit.paid_at = at
                if ticket["status"] == "done":  # paid after the last counter (or nothing else was left)
                    visit.status, visit.done_at = "done", at
        elif verb == "reactivate" and ticket:
            visit = day.visits.get(ticket["id"])
            if visit is not None:
                visit.status = "waiting"
                visit.free_since = at
        elif verb == "cancel" and ticket:
            visit = day.visits.get(ticket["id"])
            if visit is not None:
                visit.status = "cancelled"
                _seat(visit, ticket, at)
        elif verb == "record_payment":
            day.payments.append(args)
        elif verb == "record_forms":
            day.forms.append(args)
        elif verb == "record_survey":  # a refused second answer (already_answered) is not ok: skipped above
            day.surveys.append({str(k): int(v) for k, v in (args.get("answers") or {}).items()})
        elif verb == "record_guide_use":
            day.guide_uses.append((args.get("life_event"), bool(args.get("completed", False))))
    return day


def _procedures(known: list[str], ticket: dict) -> list[str]:
    return list(dict.fromkeys([*known, *(s["procedure"] for s in ticket["itinerary"])]))


def _start(
    visit: Visit,
    counter: str,
    counter_groups: Mapping[str, str],
    ticket: dict,
    at: datetime,
    verb: str,
) -> Service:
    """The service a ``call_next`` or ``take_request`` began, told apart by what it served and where."""
    serving = [s for s in ticket["itinerary"] if s["status"] == "serving"]
    ready = visit.free_since or at
    if verb == "take_request":
        kind, booth = "request", ticket.get("booth")
    elif ticket.get("booth") == counter:  # a booth serves the ticket it seats, and no other
        still_seated = visit.booth == counter and visit.unseated_at is None
        kind, booth = ("front" if still_seated else "booth"), counter
    elif serving and all(s.get("kind") == "pickup" for s in serving):
        kind, booth = "pickup", None
        marked = [visit.ready_at[s["procedure"]] for s in serving if s["procedure"] in visit.ready_at]
        ready = max([ready, *marked])
    else:
        kind, booth = "counter", None
    if kind == "booth":
        visit.booth, visit.seated_at, visit.unseated_at = counter, at, None
        visit.handed_over = False
    group = counter_groups.get(counter, "?")
    if kind == "request" and serving:
        group = serving[0]["group"]  # the section that came, not the counter's own group (skills)
    visit.status = "serving"
    served = tuple(s["procedure"] for s in serving)
    service = Service(group, counter, ready, at, kind=kind, booth=booth, procedures=served)
    visit.services.append(service)
    return service


def _seat(visit: Visit, ticket: dict, at: datetime) -> None:
    """Note when the booth let the visit go (its booth steps done, handed over, or the ticket closed)."""
    if visit.booth is not None and visit.unseated_at is None and ticket.get("booth") is None:
        visit.unseated_at = at


def _release(day: Day, open_service: dict[str, Service], counter: str, ticket: dict, at: datetime, verb: str) -> None:
    service = open_service.pop(counter, None)
    visit = day.visits.get(ticket["id"])
    if service is not None:
        service.ended_at = at
        service.outcome = verb
    if visit is None:
        return
    visit.free_since = at
    if service is not None and service.kind == "booth" and not service.procedures and verb == "complete":
        visit.free_since = service.called_at  # the booth had no front step: the requests opened at the seating
    visit.groups = list(dict.fromkeys([*visit.groups, *(s["group"] for s in ticket["itinerary"])]))
    visit.procedures = _procedures(visit.procedures, ticket)
    _seat(visit, ticket, at)
    if verb == "no_show":
        visit.no_shows += 1
        visit.status = "absent"
    elif verb == "transfer":
        visit.transfers += 1
        visit.status = "waiting"
    elif ticket["status"] == "done":
        visit.status = "done"
        visit.done_at = at
    else:
        visit.status = "waiting"


def _hand_over(day: Day, open_service: dict[str, Service], booth: str, ticket: dict, at: datetime) -> None:
    """The booth gave the visit up: a front service in progress there ends, its steps go to the counters."""
    visit = day.visits.get(ticket["id"])
    service = open_service.get(booth)
    if service is not None and visit is not None and service in visit.services:
        del open_service[booth]
        service.ended_at, service.outcome = at, "hand_over"
    if visit is None:
        return
    visit.handed_over = True
    visit.groups = list(dict.fromkeys([*visit.groups, *(s["group"] for s in ticket["itinerary"])]))
    _seat(visit, ticket, at)
    if ticket["status"] == "waiting":
        visit.status = "waiting"
        if service is not None:
            visit.free_since = at


@dataclass(frozen=True)
class Summary:
    """Mean, median and 90th percentile of a list of minutes (None when there is nothing to summarise)."""

    n: int
    mean: float | None
    median: float | None
    p90: float | None


def summarise(values: Iterable[float]) -> Summary:
    data = sorted(values)
    if not data:
        return Summary(0, None, None, None)
    return Summary(len(data), statistics.fmean(data), statistics.median(data), percentile(data, 90))


def percentile(sorted_values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default), on already sorted values."""
    if not sorted_values:
        raise ValueError("no values")
    k = (len(sorted_values) - 1) * pct / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)
