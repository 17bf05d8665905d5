"""Congestion now at every office of the city: ``/`` (list, map, "where can I get 住民票 fastest right now?"),
``/office/{site}`` (one office, every counter group) and ``/api/v1/offices`` (the same as JSON).

:func:`offices_now` turns the hub's live picture into what the pages show (pure: city, sites, the source's
figures and a moment in, rows out); the routers only pick the language and render.

How an office ranks for a procedure: offices that do it and have a counter of its group open now come first,
quickest estimated wait first (then fewest waiting); then offices where that group is not open now; then offices
the hub has no figures from yet; an office whose queue service is offline comes last, its last figures shown as
out of date (a resident must not walk to an office the city cannot see).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from city_hub.web import pages
from city_hub.web.source import HubSource, OfficeNow
from kiosk.config.city import City
from kiosk.config.site import Site
from kiosk.i18n import LANGUAGES
from queue_service.web.congestion import in_office_hours
from queue_service.web.forecast import level
from queue_service.web.pages import office_hours_text, pick_lang

State = Literal["open", "closed", "unknown", "offline"]
_STATE_ORDER: dict[str, int] = {"open": 0, "closed": 1, "unknown": 2, "offline": 3}

#: The map's drawing area (SVG user units) and its margin.
MAP_W, MAP_H, MAP_PAD = 320.0, 190.0, 22.0


@dataclass(frozen=True)
class GroupNow:
    group: str
    name: str
    floor: int
    waiting: int | None
    open_counters: int | None
    est_wait_min: int | None
    state: State

    @property
    def level(self) -> str:
        """Quiet/busy/very busy from the estimated wait; "" when not open (no level for a closed group)."""
        return level(self.est_wait_min or 0) if self.state == "open" else ""


@dataclass
class OfficeCard:
    site: str
    #: the office's number on the map and in the list (the city file's order, from 1)
    number: int
    name: str
    online: bool | None
    state: State
    updated_at: datetime | None
    hours_text: str
    in_hours: bool
    groups: list[GroupNow] = field(default_factory=list)
    #: with a procedure asked for: the office's group that does it (None: the office does not do it)
    match: GroupNow | None = None
    x: float | None = None
    y: float | None = None

    @property
    def shown(self) -> GroupNow | None:
        """The group that sets the office's marker: the asked procedure's, else the busiest open group."""
        if self.match is not None:
            return self.match
        open_groups = [g for g in self.groups if g.state == "open"]
        return max(open_groups, key=lambda g: (g.est_wait_min or 0, g.waiting or 0), default=None)

    @property
    def marker(self) -> str:
        """The map marker's kind: a congestion level (low/medium/high) or closed/unknown/offline."""
        if self.state == "offline":
            return "offline"
        shown = self.shown
        if shown is None or shown.state != "open":
            return "closed" if self.state != "unknown" else "unknown"
        return shown.level


def office_state(office: OfficeNow | None) -> State:
    if office is None or (office.online is None and not office.groups):
        return "unknown"
    if office.online is False:
        return "offline"
    return "open" if any(g.open_counters for g in office.groups.values()) else "closed"


def _group_now(site: Site, group_id: str, office: OfficeNow | None, office_st: State, lang: str) -> GroupNow:
    g = site.group_by_id[group_id]
    gs = office.groups.get(group_id) if office is not None else None
    if office_st == "offline":
        state: State = "offline"
    elif gs is None:
        state = "unknown"
    else:
        state = "open" if gs.open_counters > 0 else "closed"
    return GroupNow(
        group=g.id,
        name=g.names.get(lang),
        floor=g.floor,
        waiting=gs.waiting if gs else None,
        open_counters=gs.open_counters if gs else None,
        est_wait_min=gs.est_wait_min if gs else None,
        state=state,
    )


def offices_now(
    city: City,
    sites: Mapping[str, Site],
    now: Mapping[str, OfficeNow],
    moment: datetime,
    lang: str,
    procedure: str | None = None,
) -> list[OfficeCard]:
    """Every office (the city file's order) or, with ``procedure``, the offices that do it, ranked (module doc)."""
    cards = []
    for number, entry in enumerate(city.sites, start=1):
        site = sites[entry.id]
        office = now.get(entry.id)
        st = office_state(office)
        if st == "open" and office is not None and not office.groups:
            st = "closed"
        card = OfficeCard(
            site=entry.id,
            number=number,
            name=site.site.names.get(lang),
            online=office.online if office else None,
            state=st,
            updated_at=office.updated_at.astimezone(site.zone) if office and office.updated_at else None,
            hours_text=office_hours_text(site.site.hours, lang),
            in_hours=in_office_hours(site.site.hours, moment.astimezone(site.zone)),
            groups=[
                _group_now(site, g.id, office, st, lang)
                for g in site.groups
                if not g.booths  # the one-stop booths are a seat, not a queue a resident picks
            ],
        )
        if procedure is not None:
            proc = site.procedure_by_id.get(procedure)
            if proc is None:
                continue
            card.match = _group_now(site, proc.group, office, st, lang)
        cards.append(card)
    _place(city, cards)
    if procedure is not None:
        cards.sort(key=_rank)
    return cards


def _rank(card: OfficeCard) -> tuple:
    m = card.match
    state = "offline" if card.state == "offline" else (m.state if m else "unknown")
    return (_STATE_ORDER[state], (m.est_wait_min or 0) if m else 0, (m.waiting or 0) if m else 0, card.number)


def _place(city: City, cards: list[OfficeCard]) -> None:
    """Each office's point on the map: lat/lon projected flat (longitude shrunk by the cosine of the latitude),
    fitted into the drawing with a margin. An office without a position is simply not drawn."""
    where = {s.id: (s.lat, s.lon) for s in city.sites if s.lat is not None and s.lon is not None}
    if not where:
        return
    lats = [p[0] for p in where.values()]
    lons = [p[1] for p in where.values()]
    shrink = math.cos(math.radians(sum(lats) / len(lats)))
    width = (max(lons) - min(lons)) * shrink
    height = max(lats) - min(lats)
    scale = min(
        (MAP_W - 2 * MAP_PAD) / width if width else math.inf, (MAP_H - 2 * MAP_PAD) / height if height else math.inf
    )
    if scale == math.inf:
        scale = 0.0
    off_x = (MAP_W - width * scale) / 2
    off_y = (MAP_H - height * scale) / 2
    for card in cards:
        if card.site in where:
            lat, lon = where[card.site]
            card.x = round(off_x + (lon - min(lons)) * shrink * scale, 1)
            card.y = round(off_y + (max(lats) - lat) * scale, 1)


def procedure_choices(city: City, sites: Mapping[str, Site], lang: str) -> list[tuple[str, str]]:
    """Every procedure done at some office of the city (id, name in ``lang``), by name; one entry per id."""
    seen: dict[str, str] = {}
    for entry in city.sites:
        for p in sites[entry.id].procedures:
            if p.routing == "register":
                continue  # paying at the self register is a step of a visit, not a reason to pick an office
            seen.setdefault(p.id, p.names.get(lang))
    return sorted(seen.items(), key=lambda item: item[1])


def make_congestion_router(
    city: City, sites: Mapping[str, Site], source: HubSource, clock: Callable[[], datetime]
) -> APIRouter:
    router = APIRouter()
    zone = ZoneInfo(city.city.timezone)

    def city_name(lang: str) -> str:
        return city.city.names.get(lang)

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        lang = pick_lang(request)
        procedure = request.query_params.get("proc") or None
        choices = procedure_choices(city, sites, lang)
        if procedure not in dict(choices):
            procedure = None
        moment = clock().astimezone(zone)
        cards = offices_now(city, sites, source.offices_now(), moment, lang, procedure)
        missing = (
            [sites[s.id].site.names.get(lang) for s in city.sites if procedure not in sites[s.id].procedure_by_id]
            if procedure
            else []
        )
        ctx = {
            "lang": lang,
            "site_name": city_name(lang),
            "title": pages.t(lang, "Congestion at every office"),
            "cards": cards,
            "procedure": procedure,
            "procedure_name": dict(choices).get(procedure or "", ""),
            "choices": choices,
            "missing": missing,
            "map_w": MAP_W,
            "map_h": MAP_H,
            "moment": moment,
        }
        return pages.html(request, "city_now.html", ctx)

    @router.get("/office/{site_id}", response_class=HTMLResponse, include_in_schema=False)
    def office(request: Request, site_id: str) -> HTMLResponse:
        lang = pick_lang(request)
        if site_id not in sites:
            raise HTTPException(404)
        moment = clock().astimezone(zone)
        card = next(c for c in offices_now(city, sites, source.offices_now(), moment, lang) if c.site == site_id)
        ctx = {
            "lang": lang,
            "site_name": city_name(lang),
            "title": card.name,
            "card": card,
            "moment": moment,
        }
        return pages.html(request, "city_office.html", ctx)

    @router.get("/api/v1/offices", tags=["public"])
    def api_offices(lang: str = "ja", proc: str | None = None) -> list[dict]:
        """Every office now (or, with ``proc``, the offices that do it, quickest first): state and groups."""
        lang = lang if lang in LANGUAGES else "ja"
        cards = offices_now(city, sites, source.offices_now(), clock(), lang, proc or None)
        return [
            {
                "site": c.site,
                "name": c.name,
                "state": c.state,
                "online": c.online,
                "updated_at": c.updated_at.isoformat() if c.updated_at else None,
                "match": c.match.__dict__ if c.match else None,
                "groups": [g.__dict__ for g in c.groups],
            }
            for c in cards
        ]

    return router
