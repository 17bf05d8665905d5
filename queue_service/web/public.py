"""The resident-facing and public pages of the queue service, and the JSON API behind them (docs/web.md).

Assembled here from one router per area: :mod:`.status` (``/t/{token}``), :mod:`.congestion`, :mod:`.guide`;
the answers' models are :mod:`.api_models`.

- ``/t/{token}``: a ticket's status page (the QR on the ticket): number, each counter group of the visit with the
  people ahead and the estimated wait, and, when called, which counter to go to. Live through server-sent events
  (``/t/{token}/events``); without JavaScript it reloads itself every 30 s.
- ``/congestion``: waiting now and the estimated wait per counter group, and the forecast for the rest of the day
  by hour (混雑予想, :mod:`queue_service.web.forecast`).
- ``/guide``: the online procedure guide (行かない窓口): the kiosk's life-event questions, the procedures, counters,
  floors and things to bring (:mod:`queue_service.guidance`), links to online applications, and optionally the
  signed pre-entry QR code of the form issuer (:mod:`form_printer.preentry`).
- ``/api/v1/...``: the same as JSON, with pydantic response models (OpenAPI at ``/openapi.json``).

Privacy: a ticket is found by its token only (16 random bytes; compared in constant time); its page shows that
ticket and counts of other people, never another ticket's number or token, no handover note, nothing personal.
Every unknown token gets the same plain 404 page. Pre-entered form data is turned into a QR code in the answer to
one POST and is neither stored nor logged.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from queue_service.web.congestion import make_congestion_router
from queue_service.web.guide import make_guide_router
from queue_service.web.live import LiveHub, StreamLimits
from queue_service.web.pages import SitePages, pick_lang, static_router
from queue_service.web.preentry_fields import load_preentry
from queue_service.web.status import make_status_router


def make_public_router(
    service,
    *,
    clock: Callable[[], datetime] | None = None,
    preentry_key: Path | str | None = None,
    forms_dir: Path | str | None = None,
) -> APIRouter:
    """The public pages and API of ``service`` (a :class:`queue_service.service.app.QueueService`).

    ``clock``: the time of the congestion forecast (default: the service's clock; tests fix it).
    ``preentry_key`` (the site's pre-entry key file) and ``forms_dir`` (the site's form templates) turn on the
    pre-entry QR code of the guide; when not given they come from the service's attributes of the same names or
    the environment (``MADOGUCHI_PREENTRY_KEY``, ``MADOGUCHI_FORMS``). Without both, the guide has no QR feature.
    """
    pages = SitePages(service.site)
    hub = LiveHub()
    service.change_listeners.append(hub.notify)
    key_path = preentry_key or getattr(service, "preentry_key", None) or os.environ.get("MADOGUCHI_PREENTRY_KEY")
    forms_path = forms_dir or getattr(service, "forms_dir", None) or os.environ.get("MADOGUCHI_FORMS")
    preentry = load_preentry(service.site, key_path, forms_path)  # type: ignore[arg-type]

    router = APIRouter()
    router.include_router(static_router())
    router.include_router(make_status_router(service, pages, hub, StreamLimits()))
    router.include_router(make_congestion_router(service, pages, clock or service.core.clock))
    router.include_router(make_guide_router(service, pages, preentry))

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        lang = pick_lang(request)
        return pages.html(request, "index.html", pages.names(lang) | {"title": ""})

    return router
