"""The queue's in-memory state: tickets, their itinerary steps, counters.

Plain dataclasses, mutated only by :class:`queue_service.engine.QueueEngine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kiosk.bus.schemas import RecordPaymentArgs


class StepStatus(StrEnum):
    PENDING = "pending"
    SERVING = "serving"
    DONE = "done"


class TicketStatus(StrEnum):
    WAITING = "waiting"  # in the queue of every group it still has steps at
    SERVING = "serving"  # being served at one counter (and so skipped by the others)
    ABSENT = "absent"  # no-show: set aside, keeps its place, reactivable
    DONE = "done"
    CANCELLED = "cancelled"


#: Statuses that still hold a display number.
ACTIVE = frozenset({TicketStatus.WAITING, TicketStatus.SERVING, TicketStatus.ABSENT})


@dataclass
class Step:
    """One procedure of a visit, served by a counter group (changed by a transfer)."""

    procedure: str
    group: str
    status: StepStatus = StepStatus.PENDING


@dataclass
class Note:
    text: str
    counter: str
    at: datetime


@dataclass
class Ticket:
    id: str
    seq: int  # the day's issue order: a ticket's place in every queue
    number: int  # printed number, display only (may wrap)
    token: str
    lang: str
    priority: bool
    issued_at: datetime
    steps: list[Step]
    status: TicketStatus = TicketStatus.WAITING
    counter: str | None = None  # where it is being served
    note: Note | None = None

    def step_of(self, procedure: str) -> Step | None:
        return next((s for s in self.steps if s.procedure == procedure), None)


@dataclass
class CounterRuntime:
    id: str
    group: str
    open: bool = False
    serving: str | None = None  # ticket id
    since: datetime | None = None


@dataclass
class GroupRuntime:
    """Per-group fairness bookkeeping (see :meth:`QueueEngine._pick`)."""

    id: str
    #: Normal calls owed after priority calls, in units of the ratio's ``priority``.
    normal_owed: int = 0


@dataclass
class Call:
    number: int
    counter: str
    at: datetime


@dataclass
class DayState:
    """Everything that is reset at the start of a service day."""

    day: str  # YYYY-MM-DD, site-local
    tickets: dict[str, Ticket] = field(default_factory=dict)
    counters: dict[str, CounterRuntime] = field(default_factory=dict)
    groups: dict[str, GroupRuntime] = field(default_factory=dict)
    recent: list[Call] = field(default_factory=list)
    next_number: int = 0
    #: Forms printed by the form issuers today: (form id, language) → count. Anonymous.
    forms_used: dict[tuple[str, str], int] = field(default_factory=dict)
    #: Payments recorded by the self registers today, by transaction id (the idempotency key).
    payments: dict[str, RecordPaymentArgs] = field(default_factory=dict)
