"""The congestion forecast (混雑予想): for each counter group and each hour of the day, how many people are
expected to wait and how long, learned from past days in the service journal.

Method (docs/web.md):

1. **Which days.** Past service days (before today) of the same weekday as today when there are at least
   ``min_same_weekday`` of them, else all past days; the most recent ``max_days`` of those.
2. **Each day, each group, each hour** (site-local time), from the day's calls
   (:func:`queue_service.history.read_day`):

   * *people waiting*: the time-average of the queue over the hour: every call's wait (from the moment the ticket
     was free to be called to the call) adds the minutes it overlaps the hour; the sum divided by 60;
   * *wait*: the mean wait of the calls whose ticket became free to be called during the hour (what a resident who
     arrives in that hour waited).

3. **Across days**: the mean of the days' values (a day without anyone waiting in that hour counts as 0 people; a
   day without a call counts for nothing in the wait).

A ticket that never got called (set aside, cancelled, still waiting at closing time) is not counted, and a ticket
waiting in two queues at once counts in the queue that called it: the same definitions as the KPI pages.

The computation is pure (days in, numbers out); :func:`read_history` is the one function that reads the journal.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from queue_service.history import Day, read_day

Basis = Literal["weekday", "all", "none"]
Level = Literal["low", "medium", "high", "unknown"]

#: Waits up to this many minutes are "quiet", up to HIGH_FROM "busy", above "very busy".
MEDIUM_FROM = 10.0
HIGH_FROM = 30.0


@dataclass(frozen=True)
class HourForecast:
    hour: int
    #: Mean number of people waiting during the hour.
    waiting: float
    #: Mean wait in minutes of people who became ready to be called in this hour (None: no such call in history).
    wait_min: float | None

    @property
    def level(self) -> Level:
        return level(self.wait_min)


@dataclass(frozen=True)
class Forecast:
    day: str
    basis: Basis
    days_used: tuple[str, ...]
    #: Hours (0-23, site-local) the office was busy on the days used, ascending.
    hours: tuple[int, ...]
    groups: Mapping[str, tuple[HourForecast, ...]] = field(default_factory=dict)

    def from_hour(self, hour: int) -> Forecast:
        """The rest of the day: hours from ``hour`` on."""
        return replace(
            self,
            hours=tuple(h for h in self.hours if h >= hour),
            groups={g: tuple(f for f in rows if f.hour >= hour) for g, rows in self.groups.items()},
        )


def level(wait_min: float | None) -> Level:
    if wait_min is None:
        return "unknown"
    if wait_min < MEDIUM_FROM:
        return "low"
    if wait_min < HIGH_FROM:
        return "medium"
    return "high"


def choose_days(
    days: Iterable[str], today: str, min_same_weekday: int = 3, max_days: int = 12
) -> tuple[Basis, list[str]]:
    """The past days to learn from (oldest first) and why: same weekday if enough, else every past day."""
    past = sorted(d for d in days if d < today)
    if not past:
        return "none", []
    weekday = date.fromisoformat(today).weekday()
    same = [d for d in past if date.fromisoformat(d).weekday() == weekday]
    if len(same) >= min_same_weekday:
        return "weekday", same[-max_days:]
    return "all", past[-max_days:]


@dataclass
class _DayHours:
    wait_minutes: dict[tuple[str, int], float] = field(default_factory=dict)  # (group, hour) → people·minutes
    waits: dict[tuple[str, int], list[float]] = field(default_factory=dict)  # (group, hour) → waits
    busy: set[int] = field(default_factory=set)  # hours with a ticket issued, waiting or called


def _hours_of(day: Day, zone: ZoneInfo) -> _DayHours:
    out = _DayHours()
    for visit in day.visits.values():
        out.busy.add(visit.issued_at.astimezone(zone).hour)
        for s in visit.services:
            ready, called = s.ready_at.astimezone(zone), s.called_at.astimezone(zone)
            out.waits.setdefault((s.group, ready.hour), []).append(max(0.0, s.wait_min))
            out.busy.add(called.hour)
            start = ready
            while start < called:
                hour_start = start.replace(minute=0, second=0, microsecond=0)
                hour_end = hour_start + timedelta(hours=1)
                end = min(called, hour_end)
                key = (s.group, start.hour)
                out.wait_minutes[key] = out.wait_minutes.get(key, 0.0) + (end - start).total_seconds() / 60
                out.busy.add(start.hour)
                start = end
    return out


def forecast(
    history: Mapping[str, Day],
    today: str,
    groups: Sequence[str],
    zone: ZoneInfo,
    min_same_weekday: int = 3,
    max_days: int = 12,
) -> Forecast:
    """The whole day's forecast for ``today`` from ``history`` (day → its :class:`Day`; today itself is ignored)."""
    basis, days = choose_days(history, today, min_same_weekday, max_days)
    if not days:
        return Forecast(today, "none", (), (), {g: () for g in groups})
    per_day = [_hours_of(history[d], zone) for d in days]
    hours = sorted(set().union(*(d.busy for d in per_day)))
    table: dict[str, tuple[HourForecast, ...]] = {}
    for g in groups:
        rows = []
        for h in hours:
            waiting = statistics.fmean(d.wait_minutes.get((g, h), 0.0) / 60 for d in per_day)
            day_means = [statistics.fmean(d.waits[(g, h)]) for d in per_day if d.waits.get((g, h))]
            wait = statistics.fmean(day_means) if day_means else None
            rows.append(HourForecast(h, round(waiting, 1), None if wait is None else round(wait, 1)))
        table[g] = tuple(rows)
    return Forecast(today, basis, tuple(days), tuple(hours), table)


def read_history(journal, days: Iterable[str], counter_groups: Mapping[str, str]) -> dict[str, Day]:
    """Past days read back from the journal (``journal``: a :class:`queue_service.service.journal.Journal`)."""
    return {d: read_day(list(journal.day_entries(d)), counter_groups) for d in days}


def today_of(now: datetime, zone: ZoneInfo) -> str:
    return now.astimezone(zone).date().isoformat()
