"""The JSON answers of the public API (``/api/v1/...``): pydantic models, so OpenAPI describes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from kiosk.languages import Language
from kiosk.wait_text import Span


class WaitRangeOut(BaseModel):
    """A wait as a range of minutes around the most likely ``est_wait_min`` (``low`` ≤ it ≤ ``high``): what the
    page says ("10–15 min"); a range holds the actual wait far more often than one figure does."""

    low: int
    high: int


def range_out(span: Span | None) -> WaitRangeOut | None:
    """The API's range from the engine's (its ``Wait`` or the bus's ``WaitRange``); None stays None."""
    return None if span is None else WaitRangeOut(low=span.low, high=span.high)


class StepOut(BaseModel):
    procedure: str
    procedure_name: str
    group: str
    group_name: str
    floor: int
    #: Counter group and its counters, e.g. "住民異動 (1番窓口・2番窓口)".
    place: str
    #: done; serving (at a counter now); waiting (in this queue now); later (after an earlier step, or paused)
    status: Literal["done", "serving", "waiting", "later"]
    #: People before this ticket in this group's queue (waiting only).
    ahead: int | None = None
    est_wait_min: int | None = None
    #: The range around ``est_wait_min`` (waiting only; null when not known).
    est_wait_range: WaitRangeOut | None = None
    open_counters: int
    #: Where it is served (one-stop sites): counter (the resident goes there), booth (the section's staff come to
    #: the resident's booth), front (the booth's own staff), register (paid at the self register, never called).
    mode: Literal["counter", "booth", "front", "register"] = "counter"
    #: pickup: a later delivery handed over at ``group`` once ``ready`` (the resident is called again then).
    kind: Literal["procedure", "pickup"] = "procedure"
    ready: bool = True


class CalledOut(BaseModel):
    counter: str
    counter_name: str
    floor: int


class TicketStatusOut(BaseModel):
    """One ticket as its holder sees it. No ticket id, token, handover note or anything about other tickets."""

    number: int
    lang: Language
    status: Literal["waiting", "serving", "absent", "done", "cancelled"]
    #: Where to go now: set while the ticket is called to a counter or a booth (not while staff serve the
    #: resident where they already sit).
    called: CalledOut | None
    est_wait_min: int | None
    #: The range around ``est_wait_min`` until the first call (null when not known).
    est_wait_range: WaitRangeOut | None = None
    steps: list[StepOut]
    updated_at: datetime
    #: The visit is received at a one-stop booth: called once to one, staff come there.
    one_stop: bool = False
    #: The booth the resident sits at, once seated.
    booth: CalledOut | None = None
    #: The sections whose staff are still to come to the booth (their names, in serving order).
    to_come: list[str] = []

    @property
    def open_steps(self) -> list[StepOut]:
        return [s for s in self.steps if s.status != "done"]

    @property
    def pay_at_register(self) -> bool:
        """Only the payment at the self register is left."""
        left = self.open_steps
        return bool(left) and all(s.mode == "register" for s in left)

    @property
    def awaiting_pickup(self) -> bool:
        """Nothing is left but later deliveries not ready yet (and perhaps the payment)."""
        left = [s for s in self.open_steps if s.mode != "register"]
        return bool(left) and all(s.kind == "pickup" and not s.ready for s in left)


class GroupNowOut(BaseModel):
    group: str
    name: str
    floor: int
    waiting: int
    open_counters: int
    #: Minutes a resident arriving now waits; null when no counter of the group is open.
    est_wait_min: int | None
    #: The range around ``est_wait_min`` (null when no counter of the group is open).
    est_wait_range: WaitRangeOut | None = None


class CongestionOut(BaseModel):
    site: str
    updated_at: datetime
    groups: list[GroupNowOut]


class HourOut(BaseModel):
    hour: int
    waiting: float
    wait_min: float | None
    level: Literal["low", "medium", "high", "unknown"]


class GroupForecastOut(BaseModel):
    group: str
    name: str
    hours: list[HourOut]


class ForecastOut(BaseModel):
    day: str
    #: weekday: learned from past days of the same weekday; all: from every past day; none: no history yet.
    basis: Literal["weekday", "all", "none"]
    days_used: int
    from_hour: int
    groups: list[GroupForecastOut]


class QuestionOut(BaseModel):
    id: str
    text: str
    answer: bool | None = None


class EventOut(BaseModel):
    id: str
    name: str
    questions: list[QuestionOut]


class GuideItemOut(BaseModel):
    procedure: str
    name: str
    group: str
    group_name: str
    floor: int
    counters: list[str]
    place: str
    bring: list[str]
    #: The city's online application: this procedure can be done without coming.
    online_url: str | None
    forms: list[str]


class GuideOut(BaseModel):
    event: str
    name: str
    questions: list[QuestionOut]
    procedures: list[GuideItemOut]
    floors: list[int]
    #: Pre-entry field keys of these procedures' forms (empty when the site has no pre-entry key).
    preentry_fields: list[str]
