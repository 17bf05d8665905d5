"""The queue's in-memory state: tickets, their itinerary steps, counters.

Plain dataclasses, mutated only by :class:`queue_service.engine.QueueEngine`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from kiosk.bus.schemas import RecordPaymentArgs
from kiosk.languages import Language


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


class StepMode(StrEnum):
    """Where a step is served (the procedure's routing, on a site with booths)."""

    COUNTER = "counter"  # the resident goes to the group's counter
    BOOTH = "booth"  # the group's staff come to the resident's booth (dispatch)
    FRONT = "front"  # the booth's own staff serve it (proxy reception)
    REGISTER = "register"  # the self register closes it; no counter calls it


class StepKind(StrEnum):
    PROCEDURE = "procedure"
    PICKUP = "pickup"  # handing over a later delivery, callable once the back office marks it ready


#: Modes served at the resident's booth: a ticket with such a step pending is seated at a booth.
AT_BOOTH = frozenset({StepMode.BOOTH, StepMode.FRONT})


@dataclass
class Step:
    """One procedure of a visit, served by a counter group (changed by a transfer)."""

    procedure: str
    group: str
    status: StepStatus = StepStatus.PENDING
    mode: StepMode = StepMode.COUNTER
    kind: StepKind = StepKind.PROCEDURE
    ready: bool = True

    @property
    def open(self) -> bool:
        return self.status is not StepStatus.DONE


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
    lang: Language
    priority: bool
    issued_at: datetime
    steps: list[Step]
    status: TicketStatus = TicketStatus.WAITING
    counter: str | None = None  # where it is being served
    note: Note | None = None
    #: what reception learned (ids only) and the concierge's note
    life_event: str | None = None
    answers: dict[str, bool] = field(default_factory=dict)
    reception_note: str | None = None
    #: routed to one-stop at issue (the site's routing of its procedures applies)
    one_stop: bool = False
    #: the booth the resident sits at (one-stop), and since when
    booth: str | None = None
    seated_at: datetime | None = None

    def step_of(self, procedure: str) -> Step | None:
        return next((s for s in self.steps if s.procedure == procedure and s.kind is StepKind.PROCEDURE), None)

    @property
    def needs_booth(self) -> bool:
        """Some step is still to be served at a booth."""
        return any(s.open and s.mode in AT_BOOTH for s in self.steps)

    @property
    def finished(self) -> bool:
        """Every step is done but payment, which the resident may settle at the self register later (or never)."""
        return all(not s.open or s.mode is StepMode.REGISTER for s in self.steps)


@dataclass
class CounterRuntime:
    id: str
    group: str
    #: its own group first, then the groups its staff also serve (skills)
    groups: tuple[str, ...] = ()
    booth: bool = False
    open: bool = False
    serving: str | None = None  # ticket id
    since: datetime | None = None
    #: a booth: the ticket seated there (held until its booth steps are done or handed over)
    seated: str | None = None
    #: a section's counter whose staff went to a booth: which one
    away_at: str | None = None


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
    #: Every booth was closed after being open: new one-stop visits go to the counters (the booths' day is over).
    booths_closed: bool = False
    #: Uses of the online guide today (counts only).
    guide_uses: int = 0
    #: Satisfaction answers today, by ticket id (one per ticket; anonymous: question id → stars).
    surveys: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Payments recorded by the self registers today, by transaction id (the idempotency key).
    payments: dict[str, RecordPaymentArgs] = field(default_factory=dict)
