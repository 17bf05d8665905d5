"""The JSON answers of the public API (``/api/v1/...``): pydantic models, so OpenAPI describes them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from kiosk.languages import Language


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
    open_counters: int


class CalledOut(BaseModel):
    counter: str
    counter_name: str
    floor: int


class TicketStatusOut(BaseModel):
    """One ticket as its holder sees it. No ticket id, token, handover note or anything about other tickets."""

    number: int
    lang: Language
    status: Literal["waiting", "serving", "absent", "done", "cancelled"]
    #: Where to go now: set while the ticket is being called/served.
    called: CalledOut | None
    est_wait_min: int | None
    steps: list[StepOut]
    updated_at: datetime


class GroupNowOut(BaseModel):
    group: str
    name: str
    floor: int
    waiting: int
    open_counters: int
    #: Minutes a resident arriving now waits; null when no counter of the group is open.
    est_wait_min: int | None


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
