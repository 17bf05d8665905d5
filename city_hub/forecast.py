"""The city's day picker (混雑予想): for each office and counter group, the expected arrivals, people waiting and
wait by weekday × hour for the coming weeks, learned from the day summaries the hub stored.

Method (docs/city.md, "The hub's data"):

1. **Which days.** For each weekday, the office's past days of that weekday (before today) within the last
   ``lookback_weeks`` weeks, the most recent ``max_days`` of them. A weekday the office had no day on (closed on
   Sundays) gets no forecast: the resident is not offered it.
2. **Each hour of each group**, the mean over those days of
   * *arrivals*: tickets that joined the group's queue in the hour (a day without any counts as 0);
   * *wait*: the mean wait of the hour's calls (``GroupHour.mean_wait_min``); a day without a call counts for
     nothing, like the site's own forecast (:mod:`queue_service.web.forecast`);
   * *people waiting*: arrivals × wait / 60 (Little's law: what the summaries allow, since they carry no queue
     length; the site's own forecast measures it from the journal).
3. **Levels** are the site's: :func:`queue_service.web.forecast.level` (quiet < 10 min ≤ busy < 30 min ≤ very
   busy), so an office's page and the city's page say the same word for the same wait.

Pure: rows in (:class:`HourRow`, from ``Store.hourly``), numbers out; no clock of its own (``today`` is given).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from queue_service.web.forecast import Level, level

__all__ = ["DayOutlook", "HourOutlook", "HourRow", "Level", "forecast_days", "level", "quietest", "weekday_table"]


@dataclass(frozen=True)
class HourRow:
    """One stored hour of one group's day (``group_hour`` joined with its ``site_day``)."""

    site: str
    day: date
    group: str
    hour: int
    arrivals: int
    served: int
    mean_wait_min: float | None


@dataclass(frozen=True)
class HourOutlook:
    hour: int
    #: mean tickets joining the group's queue in the hour
    arrivals: float
    #: mean people waiting during the hour (arrivals × wait / 60)
    waiting: float
    #: mean wait in minutes (None: no call in that hour on the days used)
    wait_min: float | None

    @property
    def level(self) -> Level:
        return level(self.wait_min)


@dataclass(frozen=True)
class DayOutlook:
    """The forecast for one coming date at one office."""

    site: str
    day: date
    #: the past days (same weekday) it was learned from, oldest first
    days_used: tuple[date, ...]
    #: hours (site-local) with anything on the days used, ascending
    hours: tuple[int, ...]
    groups: Mapping[str, tuple[HourOutlook, ...]] = field(default_factory=dict)

    def group(self, group: str) -> tuple[HourOutlook, ...]:
        return self.groups.get(group, ())


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def weekday_table(
    days: Iterable[date],
    rows: Iterable[HourRow],
    weekday: int,
    today: date,
    lookback_weeks: int = 8,
    max_days: int = 8,
    groups: Sequence[str] | None = None,
) -> tuple[tuple[date, ...], tuple[int, ...], dict[str, tuple[HourOutlook, ...]]]:
    """One weekday's hours per group, from ``days`` (the office's open days) and their ``rows``.

    Returns the days used, the hours and the table. ``groups`` (the site's group order) lists groups even when
    the history has none of them; else the groups seen in the rows, sorted."""
    since = today - timedelta(weeks=lookback_weeks)
    used = sorted(d for d in set(days) if since <= d < today and d.weekday() == weekday)[-max_days:]
    if not used:
        return (), (), {g: () for g in (groups or ())}
    chosen = set(used)
    arrivals: dict[tuple[str, int], dict[date, int]] = defaultdict(dict)
    waits: dict[tuple[str, int], list[float]] = defaultdict(list)
    seen_groups: set[str] = set()
    hours: set[int] = set()
    for r in rows:
        if r.day not in chosen:
            continue
        seen_groups.add(r.group)
        if r.arrivals or r.served:
            hours.add(r.hour)
        arrivals[(r.group, r.hour)][r.day] = arrivals[(r.group, r.hour)].get(r.day, 0) + r.arrivals
        if r.served and r.mean_wait_min is not None:
            waits[(r.group, r.hour)].append(r.mean_wait_min)
    order = list(groups) if groups is not None else sorted(seen_groups)
    table: dict[str, tuple[HourOutlook, ...]] = {}
    for g in order:
        out = []
        for h in sorted(hours):
            mean_arrivals = sum(arrivals.get((g, h), {}).values()) / len(used)
            wait = _mean(waits.get((g, h), []))
            waiting = mean_arrivals * wait / 60 if wait is not None else 0.0
            out.append(
                HourOutlook(h, round(mean_arrivals, 1), round(waiting, 1), None if wait is None else round(wait, 1))
            )
        table[g] = tuple(out)
    return tuple(used), tuple(sorted(hours)), table


def forecast_days(
    site: str,
    days: Iterable[date],
    rows: Iterable[HourRow],
    today: date,
    weeks: int = 4,
    lookback_weeks: int = 8,
    max_days: int = 8,
    groups: Sequence[str] | None = None,
    open_weekdays: Iterable[int] | None = None,
) -> list[DayOutlook]:
    """The office's outlook for each date from ``today`` through ``weeks`` weeks ahead.

    Dates whose weekday has no history are left out, and so are weekdays not in ``open_weekdays`` when given
    (the site file's office hours)."""
    days, rows = list(days), list(rows)
    allowed = set(open_weekdays) if open_weekdays is not None else set(range(7))
    by_weekday = {w: weekday_table(days, rows, w, today, lookback_weeks, max_days, groups) for w in sorted(allowed)}
    out = []
    for i in range(weeks * 7):
        d = today + timedelta(days=i)
        used, hours, table = by_weekday.get(d.weekday(), ((), (), {}))
        if used:
            out.append(DayOutlook(site, d, used, hours, table))
    return out


def quietest(outlooks: Iterable[DayOutlook], group: str, limit: int = 5) -> list[tuple[date, HourOutlook]]:
    """The ``limit`` quietest (date, hour) slots for ``group``: shortest expected wait, then fewest arrivals,
    then earliest; hours without a wait estimate are left out (nothing to promise)."""
    slots = [(o.day, h) for o in outlooks for h in o.group(group) if h.wait_min is not None]
    slots.sort(key=lambda s: (s[1].wait_min, s[1].arrivals, s[0], s[1].hour))
    return slots[:limit]
