"""What the city's pages share with the office pages: the same Jinja2 environment (``_()``, the ``phrases``
filter, the language switch, ``base.html``), the same CSS, plus the city's own templates and stylesheet.

The office pages' environment (:data:`queue_service.web.pages.templates`) is overlaid with a loader that looks
in ``city_hub/web/templates`` first, so a city page ``{% extends "base.html" %}`` like an office page and a
resident sees one look across the office LAN and the city's site. Its globals are copied, not shared: what the
city adds does not leak into the office pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import jinja2
from babel.dates import format_skeleton, get_day_names
from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.requests import Request

from kiosk.i18n import N_, gettext_for
from queue_service.web import pages as office_pages
from queue_service.web.congestion import LEVELS
from queue_service.web.forecast import level
from queue_service.web.pages import page_headers

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
#: Babel's name of each kiosk language (やさしい日本語 uses Japanese dates and weekdays).
BABEL_LOCALES = {"ja-easy": "ja", "zh": "zh_Hans"}


def _environment() -> jinja2.Environment:
    env = office_pages.templates.env.overlay(
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(TEMPLATE_DIR), jinja2.FileSystemLoader(office_pages.TEMPLATE_DIR)]
        ),
        cache_size=200,
    )
    env.globals = dict(env.globals)
    env.filters = dict(env.filters)
    env.globals.update(
        levels=LEVELS, level=level, weekday_name=weekday_name, short_date=short_date, join_dates=join_dates
    )
    return env


def babel_locale(lang: str) -> str:
    return BABEL_LOCALES.get(lang, lang)


def weekday_name(lang: str, weekday: int, width: Literal["abbreviated", "wide"] = "abbreviated") -> str:
    """Monday 0 … Sunday 6 in ``lang``: "月", "Mon", "T2"."""
    return str(get_day_names(width, locale=babel_locale(lang))[weekday])


def short_date(lang: str, day) -> str:
    """A date without the year, the way ``lang`` writes it: "12月9日(火)", "Tue, Dec 9"."""
    return str(format_skeleton("MMMEd", day, locale=babel_locale(lang)))


def join_dates(lang: str, days) -> str:
    """Dates in a sentence: "12月9日(火)、12月16日(火)" or "Tue, Dec 9; Tue, Dec 16"."""
    sep = "、" if lang in ("ja", "ja-easy", "zh") else "; "
    return sep.join(short_date(lang, d) for d in days)


#: The city's templates: ``templates.TemplateResponse(request, "city_now.html", {...})``.
templates = Jinja2Templates(env=_environment())


def html(request: Request, name: str, context: dict, status: int = 200) -> HTMLResponse:
    """A city page: anonymous counts only, so cacheable by nobody but harmless (the office pages' headers)."""
    return templates.TemplateResponse(request, name, context, status_code=status, headers=page_headers())


def t(lang: str, message: str) -> str:
    return gettext_for(lang, message)


def static_router() -> APIRouter:
    """``GET /static/{name}``: the city's stylesheet and the office pages' (``madoguchi.css``), nothing else."""
    files = {p.name: p for p in office_pages.STATIC_DIR.iterdir() if p.is_file() and p.suffix == ".css"}
    files |= {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}
    return office_pages.static_router(files)


#: Messages used only in the city's templates, marked here for ``python -m kiosk.i18n_extract``.
TEMPLATE_MESSAGES = (
    N_("All offices"),
    N_("All procedures"),
    N_("Congestion at every office"),
    N_("Details and forecast"),
    N_("Expected wait by weekday and hour, learned from {count} past days."),
    N_("Forecast by day and hour"),
    N_("Map of the offices"),
    N_("No figures from this office yet"),
    N_("Not done at: {offices}"),
    N_("Office"),
    N_("Office offline: figures may be out of date"),
    N_("Offline"),
    N_("Offices that do it, quickest first"),
    N_("Open now"),
    N_("Pick a quiet day"),
    N_("Quietest times"),
    N_("Show"),
    N_("Which procedure?"),
    N_("Counters"),
    N_("next: {dates}"),
    N_("last heard at {time}"),
)
