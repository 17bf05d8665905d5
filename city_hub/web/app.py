"""The city hub's web app: the public pages for every office and the city KPI page (docs/city.md, "The city's
pages").

- ``/``: congestion now at every office, in the seven languages, as a list and a small map (offices placed by
  latitude and longitude, no map tiles), filtered by procedure: "where can I get 住民票 fastest right now?"
  (:mod:`.congestion`); ``/office/{site}``: one office; ``/api/v1/offices``: the same as JSON.
- ``/forecast``: the day picker, an office's expected congestion by weekday × hour for the coming weeks, the
  quietest times marked (:mod:`.day_picker`, figures from :mod:`city_hub.forecast`).
- ``/kpi`` and ``/kpi.csv``: every office side by side by month against the city's targets (:mod:`.kpi_page`).
- ``/healthz``: 200 while the hub is connected to the city broker (when it is told how to know), else 503.

The pages reuse the office pages' templates, translations and CSS (:mod:`city_hub.web.pages`). Everything they
show is anonymous: counts, shares and minutes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from city_hub.store import Store
from city_hub.web.congestion import make_congestion_router
from city_hub.web.day_picker import make_day_picker_router
from city_hub.web.kpi_page import make_kpi_router
from city_hub.web.pages import static_router
from city_hub.web.source import HubSource, OfficeNow
from kiosk.config.city import City
from kiosk.config.site import Site


class ViewSource:
    """:class:`~city_hub.web.source.HubSource` over the hub's live view (:class:`city_hub.view.CityView`)."""

    def __init__(self, view) -> None:
        self.view = view

    def offices_now(self) -> Mapping[str, OfficeNow]:
        out = {}
        for office in self.view.offices():
            groups = {g.group: g.state for g in office.groups if g.state is not None}
            heard = [g.received_at for g in office.groups if g.received_at is not None]
            out[office.site] = OfficeNow(office.site, office.online, groups, max(heard) if heard else None)
        return out


def make_app(
    city: City,
    sites: Mapping[str, Site],
    source: HubSource,
    store: Store,
    *,
    clock: Callable[[], datetime] | None = None,
    healthy: Callable[[], bool] | None = None,
) -> FastAPI:
    """The hub's web app. ``source``: the live picture (:class:`ViewSource` over the view, or any
    :class:`HubSource`); ``store``: the stored day summaries; ``clock``: "now" (tests fix it);
    ``healthy``: whether the hub hears the city broker (``/healthz``)."""
    now = clock or (lambda: datetime.now(UTC))
    app = FastAPI(title="smart madoguchi city hub", version="0.1.0", docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        ok = healthy() if healthy is not None else True
        return JSONResponse({"status": "ok" if ok else "down", "city": city.city.id}, status_code=200 if ok else 503)

    app.include_router(static_router())
    app.include_router(make_congestion_router(city, sites, source, now))
    app.include_router(make_day_picker_router(city, sites, store, now))
    app.include_router(make_kpi_router(city, sites, store, now))
    return app
