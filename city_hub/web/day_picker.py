"""The day picker (混雑予想, ``/forecast``): for one office and counter group, the expected congestion by weekday ×
hour for the coming weeks, with the quietest times marked, so a resident picks a day and an hour.

The figures are :mod:`city_hub.forecast`'s (learned from the stored day summaries, by weekday); this module only
reads the store, folds the coming dates onto their weekday (every Tuesday of the next weeks has the same
forecast) and marks the quietest slots.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from city_hub import forecast as fc
from city_hub.store import Store
from city_hub.web import pages
from kiosk.config.city import City
from kiosk.config.site import Site
from queue_service.web.pages import office_hours_text, pick_lang

#: How far ahead the picker looks, and how far back it learns (weeks).
WEEKS_AHEAD = 4
LOOKBACK_WEEKS = 8
#: How many slots are marked as the quietest.
QUIET_SLOTS = 3


@dataclass
class WeekdayRow:
    weekday: int
    #: the coming dates of this weekday (from today, WEEKS_AHEAD weeks)
    dates: list[date]
    #: hour → its outlook (an hour missing: nothing on the days used)
    hours: dict[int, fc.HourOutlook] = field(default_factory=dict)


@dataclass
class DayPicker:
    site: str
    group: str
    days_used: int
    hours: list[int]
    rows: list[WeekdayRow]
    #: the quietest (weekday, hour) slots, quietest first
    quiet: list[tuple[int, int]]


def open_weekdays(site: Site) -> list[int] | None:
    """The weekdays the office is open by its site file (None: the file says no hours; every weekday may be)."""
    hours = site.site.hours
    if hours is None:
        return None
    return [d for d in range(7) if hours.on(d) is not None]


def day_picker(store: Store, site: Site, group: str, today: date, weeks: int = WEEKS_AHEAD) -> DayPicker:
    """The picker's table for ``group`` at ``site`` from ``today`` (see the module doc)."""
    site_id = site.site.id
    since, until = today - timedelta(weeks=LOOKBACK_WEEKS), today - timedelta(days=1)
    outlooks = fc.forecast_days(
        site_id,
        store.open_days(site_id, since, until),
        store.hourly(site_id, since, until, groups=[group]),
        today,
        weeks=weeks,
        lookback_weeks=LOOKBACK_WEEKS,
        groups=[group],
        open_weekdays=open_weekdays(site),
    )
    rows: dict[int, WeekdayRow] = {}
    first_of_weekday: dict[int, fc.DayOutlook] = {}
    for o in outlooks:
        w = o.day.weekday()
        if w not in rows:
            rows[w] = WeekdayRow(w, [], {h.hour: h for h in o.group(group)})
            first_of_weekday[w] = o
        rows[w].dates.append(o.day)
    quiet = [(d.weekday(), h.hour) for d, h in fc.quietest(list(first_of_weekday.values()), group, limit=QUIET_SLOTS)]
    hours = sorted({h for r in rows.values() for h in r.hours})
    if not hours:  # the office has days, but none with this group's queue: nothing to promise
        rows, quiet = {}, []
    used = max((len(o.days_used) for o in first_of_weekday.values()), default=0)
    return DayPicker(site_id, group, used, hours, [rows[w] for w in sorted(rows)], quiet)


def make_day_picker_router(
    city: City, sites: Mapping[str, Site], store: Store, clock: Callable[[], datetime]
) -> APIRouter:
    router = APIRouter()
    zone = city.city.timezone

    @router.get("/forecast", response_class=HTMLResponse, include_in_schema=False)
    def forecast_page(request: Request) -> HTMLResponse:
        from zoneinfo import ZoneInfo

        lang = pick_lang(request)
        q = request.query_params
        asked = q.get("office") or ""
        site_id = asked if asked in sites else city.sites[0].id
        site = sites[site_id]
        groups = [g for g in site.groups if not g.booths]
        proc = site.procedure_by_id.get(q.get("proc") or "")
        group = proc.group if proc else q.get("group")
        if group not in {g.id for g in groups}:
            group = groups[0].id
        today = clock().astimezone(ZoneInfo(zone)).date()
        picker = day_picker(store, site, group, today)
        ctx = {
            "lang": lang,
            "site_name": city.city.names.get(lang),
            "title": pages.t(lang, "Pick a quiet day"),
            "offices": [(s.id, sites[s.id].site.names.get(lang)) for s in city.sites],
            "office": site_id,
            "office_name": site.site.names.get(lang),
            "groups": [(g.id, g.names.get(lang)) for g in groups],
            "group": group,
            "group_name": site.group_by_id[group].names.get(lang),
            "picker": picker,
            "quiet": {slot: i + 1 for i, slot in enumerate(picker.quiet)},
            "hours_text": office_hours_text(site.site.hours, lang),
        }
        return pages.html(request, "city_forecast.html", ctx)

    return router
