"""Pydantic schemas of every message on the bus (contract v1).

Every message in and out is validated against these: a device's command before the
service acts on it, the service's replies and state before it publishes them. Models
are strict (no "yes" for true, no string for a number) and forbid unknown keys, so a
malformed message is rejected with a reason instead of half-understood.

No model here has a field for personal data: names, addresses, birth dates and card
numbers have no way onto the bus.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator
from pydantic.config import JsonDict

from kiosk.bus.contract import ID_PATTERN, REVISION, Role, Verb
from kiosk.languages import Language

LANGUAGE = Language

UUID4_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"
CommandId = Annotated[str, StringConstraints(pattern=UUID4_PATTERN)]
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
#: Ticket ids never wrap: the service day and the day's issue sequence.
TicketId = Annotated[str, StringConstraints(pattern=r"^\d{8}-\d{4,6}$")]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
ErrorCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def since(revision: int) -> JsonDict:
    """Mark a field as added in a contract revision: devices that speak an older one never receive it."""
    return {"since_rev": revision}


def for_revision(message: BaseModel, revision: int) -> dict[str, Any]:
    """The JSON form of ``message`` for a device that speaks ``revision`` of the contract.

    Fields added later (``json_schema_extra=since(n)``) are left out, at any depth, so a v1 device whose
    strict models forbid unknown keys still reads every reply (docs/mqtt-contract.md, "Revisions")."""
    return _strip(message, message.model_dump(mode="json"), revision)


def _strip(message: BaseModel, data: dict[str, Any], revision: int) -> dict[str, Any]:
    for name, info in type(message).model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        if int(extra.get("since_rev", 1)) > revision:  # type: ignore[arg-type]
            data.pop(name, None)
            continue
        value = getattr(message, name)
        if isinstance(value, BaseModel):
            _strip(value, data[name], revision)
        elif isinstance(value, list):
            for item, item_data in zip(value, data[name], strict=True):
                if isinstance(item, BaseModel):
                    _strip(item, item_data, revision)
    return data


# ----------------------------------------------------------------- commands
class Command(Message):
    """``{root}/queue/cmd/{verb}``: a device asks the queue service to do something."""

    id: CommandId
    device: Id
    args: dict[str, Any] = Field(default_factory=dict)
    #: The contract revision the device speaks; the reply holds only the fields it knows (absent: 1).
    rev: int = Field(default=1, ge=1, le=REVISION)


class IssueArgs(Message):
    procedures: list[Id] = Field(min_length=1, max_length=20)
    lang: LANGUAGE = "ja"
    priority: bool = False
    #: The reception travels with the ticket (rev 2): the life event and the kiosk's answers, as ids only.
    life_event: Id | None = None
    answers: dict[Id, bool] = Field(default_factory=dict, max_length=30)
    #: A concierge's short note for the counters (reception staff only; never personal data by rule).
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


class CounterArgs(Message):
    counter: Id


class CompleteArgs(Message):
    counter: Id
    add_procedures: list[Id] = Field(default_factory=list, max_length=20)
    note: Note | None = None


class TransferArgs(Message):
    counter: Id
    to_group: Id
    note: Note | None = None


class RecordFormsArgs(Message):
    """The form issuer printed these forms for one resident: counts only, no personal data."""

    forms: list[Id] = Field(min_length=1, max_length=20)
    lang: LANGUAGE = "ja"


class TicketArgs(Message):
    ticket: TicketId


class TakeRequestArgs(Message):
    """A section's staff member takes a booth's request: they go to the booth and serve the ticket there."""

    counter: Id
    ticket: TicketId


class ReadyArgs(Message):
    """The back office marks a later delivery ready: the ticket is called again to pick it up."""

    ticket: TicketId
    procedure: Id


class TicketPaidArgs(Message):
    """The self register closes a visit's payment step: the resident scanned the ticket's QR there."""

    token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_\-]{16,64}$")]


#: A register's transaction id: never reused, the key that makes record_payment idempotent.
TransactionId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9\-]{7,63}$")]


class PaidSlip(Message):
    """One slip of a payment: which payee it was collected for and how much. No slip number: the
    register's own journal keeps those for the collection data; the bus carries what the KPIs need."""

    kind: Literal["cvs", "elqr", "fee"]
    payee: Id
    amount: int = Field(ge=1, le=9_999_999)


class RecordPaymentArgs(Message):
    """A completed payment at a self register. Sent again until acknowledged: same ``tx``, no second effect."""

    tx: TransactionId
    method: Literal["cash", "cashless"]
    media: Literal["credit", "emoney", "qr"] | None = None
    brand: str | None = Field(default=None, max_length=40)
    total: int = Field(ge=1, le=99_999_999)
    slips: list[PaidSlip] = Field(min_length=1, max_length=50)
    #: Args arrive as a JSON object, so the time is an ISO 8601 string (strict mode would refuse it).
    paid_at: datetime = Field(strict=False)
    #: rev 2: how the register ran: the resident alone (full_self) or staff keying fees (semi_self): the cities
    #: report the cashless share of each (Isesaki: semi-self 2 → 8 %).
    register_mode: Literal["full_self", "semi_self"] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> RecordPaymentArgs:
        if sum(s.amount for s in self.slips) != self.total:
            raise ValueError("total is not the sum of the slips")
        if (self.method == "cashless") != (self.media is not None):
            raise ValueError("media is given for cashless payments only, and always for them")
        return self


class SurveyArgs(Message):
    """A resident's satisfaction answers: anonymous (question id → 1-5 stars), one answer per ticket. The ticket
    is named by id (the phone page knows it) or by today's number (typed at the exit screen)."""

    ticket: TicketId | None = None
    number: int | None = Field(default=None, ge=0, le=99_999)
    answers: dict[Id, Annotated[int, Field(ge=1, le=5)]] = Field(min_length=1, max_length=10)

    @model_validator(mode="after")
    def _one_ticket(self) -> SurveyArgs:
        if (self.ticket is None) == (self.number is None):
            raise ValueError("name the ticket by id or by number, one of the two")
        return self


class GuideUseArgs(Message):
    """One use of the online guide (行かない窓口): which life event, and whether the resident reached the list of
    procedures (``completed``). Counts only, for the KPIs (Isesaki: guide uses 400 → 2,000 a year)."""

    life_event: Id | None = None
    completed: bool = False


VERB_ARGS: dict[Verb, type[Message]] = {
    Verb.ISSUE: IssueArgs,
    Verb.CALL_NEXT: CounterArgs,
    Verb.RECALL: CounterArgs,
    Verb.COMPLETE: CompleteArgs,
    Verb.NO_SHOW: CounterArgs,
    Verb.REACTIVATE: TicketArgs,
    Verb.TRANSFER: TransferArgs,
    Verb.OPEN_COUNTER: CounterArgs,
    Verb.CLOSE_COUNTER: CounterArgs,
    Verb.CANCEL: TicketArgs,
    Verb.REPRINT: TicketArgs,
    Verb.RECORD_FORMS: RecordFormsArgs,
    Verb.RECORD_PAYMENT: RecordPaymentArgs,
    Verb.TAKE_REQUEST: TakeRequestArgs,
    Verb.HAND_OVER: CounterArgs,
    Verb.MARK_READY: ReadyArgs,
    Verb.TICKET_PAID: TicketPaidArgs,
    Verb.RECORD_SURVEY: SurveyArgs,
    Verb.RECORD_GUIDE_USE: GuideUseArgs,
}


# ----------------------------------------------------------------- replies
class ErrorBody(Message):
    code: ErrorCode
    message: str


class Reply(Message):
    """``{root}/device/{device}/reply``. ``id`` echoes the command's id."""

    id: str = Field(max_length=64)
    ok: bool
    result: dict[str, Any] | None = None
    error: ErrorBody | None = None

    @model_validator(mode="after")
    def _one_of(self) -> Reply:
        if self.ok and (self.error is not None or self.result is None):
            raise ValueError("an ok reply has a result and no error")
        if not self.ok and (self.error is None or self.result is not None):
            raise ValueError("an error reply has an error and no result")
        return self


class StepView(Message):
    procedure: Id
    group: Id
    status: Literal["pending", "serving", "done"]
    #: counter: the resident goes to the group's counter; booth: the group's staff come to the resident's booth;
    #: front: the booth's own staff serve it; register: the self register closes it.
    mode: Literal["counter", "booth", "front", "register"] = Field(default="counter", json_schema_extra=since(2))
    #: pickup: handing over a later delivery (交付), callable once ``ready``.
    kind: Literal["procedure", "pickup"] = Field(default="procedure", json_schema_extra=since(2))
    ready: bool = Field(default=True, json_schema_extra=since(2))


class HandoverNote(Message):
    """A staff note for the next counter. Travels only to call panels' reply topics."""

    text: str
    counter: Id
    at: datetime


class Reception(Message):
    """What reception learned, carried with the ticket so no counter asks again (ids only, and the note)."""

    life_event: Id | None = None
    answers: dict[Id, bool] = Field(default_factory=dict)
    note: str | None = None


class WaitRange(Message):
    """A wait as a range of minutes, ``low`` ≤ the most likely (``est_wait_min``) ≤ ``high``: what residents are
    told ("10–15 min"), wide enough to hold the actual wait most of the time (docs/wait-estimate.md)."""

    low: int
    high: int


class TicketView(Message):
    id: TicketId
    number: int
    #: Public token for the status page / QR. Only in replies to the issuing kiosk.
    token: str | None = None
    lang: LANGUAGE
    priority: bool
    status: Literal["waiting", "serving", "absent", "done", "cancelled"]
    itinerary: list[StepView]
    est_wait_min: int | None
    #: The range around ``est_wait_min`` (None when not known).
    est_wait_range: WaitRange | None = Field(default=None, json_schema_extra=since(2))
    issued_at: datetime
    counter: Id | None = None
    note: HandoverNote | None = None
    #: The booth the resident sits at (one-stop), if any.
    booth: Id | None = Field(default=None, json_schema_extra=since(2))
    #: What reception learned. Only in replies to call panels (the note is staff text).
    reception: Reception | None = Field(default=None, json_schema_extra=since(2))


class TicketResult(Message):
    """Result of issue, reprint, complete, no_show, reactivate, transfer, cancel, recall."""

    ticket: TicketView


class CallResult(Message):
    """Result of call_next: the ticket now served, or null when nobody is callable."""

    ticket: TicketView | None


class RecordResult(Message):
    """Result of record_forms: today's running total of forms printed."""

    recorded: int
    forms_today: int


class GuideUseResult(Message):
    """Result of record_guide_use: today's guide uses."""

    guide_uses_today: int


class SurveyResult(Message):
    """Result of record_survey: today's answered surveys."""

    recorded: bool
    surveys_today: int


class PaymentResult(Message):
    """Result of record_payment: ``recorded`` is false when this transaction was already recorded."""

    recorded: bool
    payments_today: int
    cashless_today: int


class CounterResult(Message):
    """Result of open_counter and close_counter."""

    counter: Id
    open: bool


# ----------------------------------------------------------------- retained state
class Serving(Message):
    number: int
    since: datetime


class CounterState(Message):
    counter: Id
    open: bool
    serving: Serving | None


class GroupState(Message):
    group: Id
    waiting: int
    open_counters: int
    est_wait_min: int | None


class WaitState(Message):
    """rev 2, ``queue/state/wait/{group}``: the wait a ticket issued now would have at ``group``, as the most
    likely minutes and a range (GroupState, a v1 topic, keeps its shape). Both None while no counter is open."""

    group: Id
    est_wait_min: int | None
    est_wait_range: WaitRange | None


class BoardCall(Message):
    number: int
    counter: Id
    at: datetime


class BoardState(Message):
    recent: list[BoardCall]


class BoothRequest(Message):
    """A booth asks a section for staff: the resident sits at ``booth`` and needs ``procedures`` from the group."""

    booth: Id
    ticket: TicketId
    number: int
    procedures: list[Id]
    lang: LANGUAGE
    priority: bool
    since: datetime


class RequestsState(Message):
    """``{root}/queue/state/requests/{group}`` (rev 2), retained: the group's open booth requests, oldest first."""

    group: Id
    requests: list[BoothRequest]


class ComingTicket(Message):
    """One of the next tickets a group will call, so its staff prepare: what, who (ids only), where now."""

    ticket: TicketId
    number: int
    procedures: list[Id]
    lang: LANGUAGE
    priority: bool
    life_event: Id | None
    answers: dict[Id, bool]
    #: where the resident is now: "waiting", or the counter / booth they are at
    at: str


class ComingState(Message):
    """``{root}/queue/state/coming/{group}`` (rev 2), retained: who the group calls next, in calling order."""

    group: Id
    coming: list[ComingTicket]


class ServingTicket(Message):
    """``{root}/queue/state/serving/{counter}`` (rev 2), retained: the visit a counter serves now, for the counter
    desk that writes its forms. Ids only: no name, nothing personal (the desk reads those from the card)."""

    counter: Id
    ticket: TicketId | None
    number: int | None
    lang: LANGUAGE | None
    #: the procedures served in this sitting, then the visit's other open ones
    serving: list[Id]
    open: list[Id]
    life_event: Id | None
    answers: dict[Id, bool]


class Pickup(Message):
    """A later delivery waiting to be handed over: callable once ``ready``."""

    ticket: TicketId
    number: int
    procedure: Id
    ready: bool


class PickupsState(Message):
    """``{root}/queue/state/pickups/{group}`` (rev 2), retained: the later deliveries the group hands over."""

    group: Id
    pickups: list[Pickup]


class BoothState(Message):
    """``{root}/queue/state/booth/{booth}`` (rev 2), retained: who sits at a booth and who serves them."""

    booth: Id
    number: int | None
    seated_since: datetime | None
    #: the counter whose staff serve the resident now (the booth's own, or a section's who came)
    served_by: Id | None
    #: groups whose staff are still to come
    waiting_for: list[Id]


class CalledEvent(Message):
    number: int
    counter: Id
    at: datetime
    recall: bool


class Announcement(Message):
    """rev 2, ``{root}/queue/event/announce``: a call as the board speaks it (the v1 ``called`` event never
    changes shape, so the ticket's language travels here). Published with every ``called``, same call."""

    number: int
    counter: Id
    at: datetime
    recall: bool
    #: The ticket's language: the board speaks Japanese, then this language when it is not Japanese, then English.
    lang: LANGUAGE


class Presence(Message):
    """``{root}/device/{device}/status``, retained. The will sets ``online: false``."""

    online: bool
    role: Role | None = None
    version: str | None = None
    faults: list[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]] = Field(default_factory=list)


def ticket_of(result: dict[str, Any]) -> TicketView:
    """The ticket in a reply's result (as parsed JSON), validated as strictly as on the wire."""
    return TicketView.model_validate_json(json.dumps(result["ticket"]))


def dump(message: BaseModel) -> bytes:
    """The wire form of a message: compact UTF-8 JSON (Japanese kept readable)."""
    return message.model_dump_json(exclude_none=False).encode("utf-8")


def short_errors(exc: ValidationError, limit: int = 5) -> str:
    """A one-line reason for a log line or an error reply: ``args.lang: Input should be ...``."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '(message)'}: {e['msg']}" for e in exc.errors()[:limit])


# ---------------------------------------------------------------- the city (rev 2, bridged to the city hub)
class GroupHour(Message):
    """One hour of one counter group's day (local time), anonymous counts only."""

    hour: int = Field(ge=0, le=23)
    #: tickets that joined the group's queue in this hour (issued with a step there)
    arrivals: int = Field(ge=0)
    #: calls at the group's counters in this hour, and their mean wait (minutes; None: no call)
    served: int = Field(ge=0)
    mean_wait_min: float | None = None


class GroupDay(Message):
    group: Id
    tickets: int = Field(ge=0)
    served: int = Field(ge=0)
    wait_median_min: float | None = None
    wait_mean_min: float | None = None
    hours: list[GroupHour] = Field(default_factory=list)


class SiteDaySummary(Message):
    """rev 2, ``{root}/city/day/{date}``, retained: one office day in anonymous figures, for the city hub.

    Published by the queue service while the day runs (``final: false``, at most once a minute) and once more
    when it is over (``final: true``). Counts, shares and minutes only: no ticket id, token, note, number,
    answer or anything about a resident. The bridge to the city carries it out; nothing comes back."""

    site: Id
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    final: bool
    updated_at: datetime
    tickets: int = Field(ge=0)
    finished: int = Field(ge=0)
    cancelled: int = Field(ge=0)
    one_stop: int = Field(ge=0)
    multi_department: int = Field(ge=0)
    wait_median_min: float | None = None
    wait_mean_min: float | None = None
    stay_median_min: float | None = None
    #: share (0-1) of finished visits within their stay target
    within_target_share: float | None = None
    surveys: int = Field(ge=0)
    #: share (0-1) of survey answers with 4-5 stars on the first question
    satisfaction_share: float | None = None
    payments: int = Field(ge=0)
    cashless_share: float | None = None
    guide_uses: int = Field(ge=0)
    groups: list[GroupDay] = Field(default_factory=list)
