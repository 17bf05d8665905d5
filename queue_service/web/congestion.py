"""Congestion now and the forecast for the rest of the day (混雑予想): ``/congestion``, ``/api/v1/congestion``,
``/api/v1/forecast`` (:mod:`queue_service.web.forecast` learns the hours from past days in the journal)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from kiosk.config.site import OfficeHours
from kiosk.i18n import N_, gettext_for
from kiosk.languages import Language
from queue_service.web import forecast as fc
from queue_service.web.api_models import (
    CongestionOut,
    ForecastOut,
    GroupForecastOut,
    GroupNowOut,
    HourOut,
    range_out,
)
from queue_service.web.pages import SitePages, office_hours_text, pick_lang, templates

#: What the page shows for each congestion level besides its colour: a shape and a word (WCAG 1.4.1).
LEVELS: dict[str, tuple[str, str]] = {
    "low": ("○", N_("Quiet")),
    "medium": ("△", N_("Busy")),
    "high": ("✕", N_("Very busy")),
}

templates.env.globals["level"] = fc.level  # the congestion template colours hours by level
templates.env.globals["levels"] = LEVELS


def in_office_hours(hours: OfficeHours | None, moment: datetime) -> bool:
    """Whether ``moment`` (site-local) falls within the office hours of its weekday (False when unknown)."""
    span = hours.on(moment.weekday()) if hours is not None else None
    return span is not None and span[0] <= moment.strftime("%H:%M") < span[1]


def make_congestion_router(service, pages: SitePages, clock: Callable[[], datetime]) -> APIRouter:
    """``clock``: the time of the forecast (the service's clock; tests fix it)."""
    site = service.site
    counter_groups = {c.id: c.group for c in site.counters}
    forecast_cache: dict[tuple, fc.Forecast] = {}
    router = APIRouter()

    def congestion(lang: str) -> CongestionOut:
        with service.lock:
            engine = service.core.engine
            now = service.core.clock()
            rows = []
            for g in site.groups:
                gs = engine.group_state(g.id, now)
                wait = engine.wait_state(g.id, now)  # rev 2: the same estimate with its range
                rows.append(
                    GroupNowOut(
                        group=g.id,
                        name=g.names.get(lang),
                        floor=g.floor,
                        waiting=gs.waiting,
                        open_counters=gs.open_counters,
                        est_wait_min=gs.est_wait_min,
                        est_wait_range=range_out(wait.est_wait_range),
                    )
                )
        return CongestionOut(site=site.site.id, updated_at=now, groups=rows)

    def day_forecast() -> tuple[fc.Forecast, int]:
        now = clock()
        today = fc.today_of(now, site.zone)
        with service.lock:
            days = service.journal.days()
        key = (today, tuple(days))
        if key not in forecast_cache:
            _basis, chosen = fc.choose_days(days, today)
            with service.lock:
                history = fc.read_history(service.journal, chosen, counter_groups)
            forecast_cache.clear()
            forecast_cache[key] = fc.forecast(history, today, [g.id for g in site.groups], site.zone)
        hour = now.astimezone(site.zone).hour
        return forecast_cache[key].from_hour(hour), hour

    def forecast_out(lang: str) -> ForecastOut:
        f, hour = day_forecast()
        return ForecastOut(
            day=f.day,
            basis=f.basis,
            days_used=len(f.days_used),
            from_hour=hour,
            groups=[
                GroupForecastOut(
                    group=g.id,
                    name=g.names.get(lang),
                    hours=[
                        HourOut(hour=h.hour, waiting=h.waiting, wait_min=h.wait_min, level=h.level)
                        for h in f.groups[g.id]
                    ],
                )
                for g in site.groups
            ],
        )

    @router.get("/congestion", response_class=HTMLResponse, include_in_schema=False)
    async def congestion_page(request: Request) -> HTMLResponse:
        lang = pick_lang(request)
        now_ = await run_in_threadpool(congestion, lang)
        fore = await run_in_threadpool(forecast_out, lang)
        peak = max((h.waiting for g in fore.groups for h in g.hours), default=0.0)
        ctx = pages.names(lang) | {
            "title": gettext_for(lang, "Congestion"),
            "now": now_,
            "fore": fore,
            "peak": max(peak, 1.0),
            "floors": {g.id: g.floor for g in site.groups},
            "open_group": request.query_params.get("group"),
            "hours_text": office_hours_text(site.site.hours, lang),
            # a counter closed within office hours is unstaffed, not "come back at 8:30": no hours on its card
            "in_hours": in_office_hours(site.site.hours, now_.updated_at.astimezone(site.zone)),
        }
        return pages.html(request, "congestion.html", ctx)

    @router.get("/api/v1/congestion", response_model=CongestionOut, tags=["public"])
    async def api_congestion(lang: Language = "ja") -> CongestionOut:
        """Waiting now and the estimated wait of a new arrival, per counter group."""
        return await run_in_threadpool(congestion, lang)

    @router.get("/api/v1/forecast", response_model=ForecastOut, tags=["public"])
    async def api_forecast(lang: Language = "ja") -> ForecastOut:
        """Expected people waiting and wait minutes by hour for the rest of today, learned from past days."""
        return await run_in_threadpool(forecast_out, lang)

    return router
