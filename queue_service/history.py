"""What happened on a service day, read back from the queue service's journal. Pure: entries in, records out.

The journal keeps every accepted command with its time and its reply, so a day can be told
ticket by ticket without any extra bookkeeping in the service: when each ticket was issued,
when it was called at each counter group and by which counter, when each service ended, who did
not show up, what was transferred, and what the registers and form issuers recorded. The KPI
pages, the congestion forecast and the simulated office day all read days through this module.

Definitions (also in docs/kpi.md):

* **wait at a group**: from the moment the ticket was free to be called there (issue, or the end
  of its previous service elsewhere, or its reactivation) to the call. A ticket that waits in two
  queues at once counts its waiting time at the group that called it.
* **service time**: from the call to complete / no-show / transfer at that counter.
* **stay**: from issue to the last completion, for tickets that finished every step.
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


@dataclass
class Service:
    """One call of a ticket at one counter, until it was released."""

    group: str
    counter: str
    ready_at: datetime
    called_at: datetime
    ended_at: datetime | None = None
    #: complete | no_show | transfer | open (still being served)
    outcome: str = "open"

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

    @property
    def stay_min(self) -> float | None:
        if self.done_at is None:
            return None
        return (self.done_at - self.issued_at).total_seconds() / 60

    @property
    def wait_min(self) -> float:
        return sum(s.wait_min for s in self.services)


@dataclass
class Day:
    visits: dict[str, Visit] = field(default_factory=dict)
    payments: list[dict[str, Any]] = field(default_factory=list)
    forms: list[dict[str, Any]] = field(default_factory=list)

    def services(self) -> list[Service]:
        return [s for v in self.visits.values() for s in v.services]


def read_day(entries: Iterable[JournalEntry], counter_groups: Mapping[str, str]) -> Day:
    """Replay one day's journal entries (in journal order) into visits, payments and form counts.

    ``counter_groups`` maps counter id → counter group (``{c.id: c.group for c in site.counters}``).
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
            )
        elif verb == "call_next" and ticket:
            visit = day.visits.get(ticket["id"])
            if visit is None:
                continue
            counter = args["counter"]
            service = Service(counter_groups.get(counter, "?"), counter, visit.free_since or at, at)
            visit.services.append(service)
            visit.status = "serving"
            open_service[counter] = service
        elif verb in ("complete", "no_show", "transfer") and ticket:
            _release(day, open_service, args["counter"], ticket, at, verb)
        elif verb == "reactivate" and ticket:
            visit = day.visits.get(ticket["id"])
            if visit is not None:
                visit.status = "waiting"
                visit.free_since = at
        elif verb == "cancel" and ticket:
            visit = day.visits.get(ticket["id"])
            if visit is not None:
                visit.status = "cancelled"
        elif verb == "record_payment":
            day.payments.append(args)
        elif verb == "record_forms":
            day.forms.append(args)
    return day


def _release(day: Day, open_service: dict[str, Service], counter: str, ticket: dict, at: datetime, verb: str) -> None:
    service = open_service.pop(counter, None)
    visit = day.visits.get(ticket["id"])
    if service is not None:
        service.ended_at = at
        service.outcome = verb
    if visit is None:
        return
    visit.free_since = at
    visit.groups = list(dict.fromkeys([*visit.groups, *(s["group"] for s in ticket["itinerary"])]))
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
