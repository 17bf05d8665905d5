"""The resident-facing and public pages of the queue service, and the JSON API behind them (docs/web.md).

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

import asyncio
import base64
import contextlib
import hmac
import io
import json
import logging
import os
import re
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from kiosk.config.site import Site
from kiosk.i18n import LANGUAGES, N_, gettext_for
from kiosk.languages import Language
from queue_service.engine.model import StepStatus, Ticket, TicketStatus
from queue_service.guidance import GuidanceItem, floors_in_order, guidance, questions_for
from queue_service.web import forecast as fc
from queue_service.web.pages import floor_label, page_headers, pick_lang, static_router, templates

log = logging.getLogger(__name__)
templates.env.globals["level"] = fc.level

#: What a ticket token looks like (secrets.token_urlsafe(16) gives 22 characters); anything else is not looked up.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: A live stream sends at least this often (a comment line), and refreshes time-dependent waits.
HEARTBEAT_SECONDS = 15.0
#: A stream ends after this long; the browser's EventSource reconnects by itself (and a server can shut down).
STREAM_SECONDS = 300.0
#: Without JavaScript the status page reloads itself this often.
NOSCRIPT_REFRESH_SECONDS = 30
#: A pre-entry QR code is valid this long.
PREENTRY_DAYS = 14

Lang = Language


# ================================================================ API models
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
    lang: Lang
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


# ================================================================ live updates
class StreamLimits:
    """Caps on open live-update streams: per ticket (a family's phones), per client address and in total.
    ~1,011 streams on one ticket once took every file descriptor of the service."""

    def __init__(self, per_ticket: int = 8, per_address: int = 64, total: int = 500) -> None:
        self.per_ticket, self.per_address, self.total = per_ticket, per_address, total
        self._lock = threading.Lock()
        self._tickets: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()
        self._open = 0

    def open(self, token: str, address: str) -> Callable[[], None] | None:
        """A release function for a new stream, or None when a cap is reached (the caller answers 429)."""
        with self._lock:
            if (
                self._open >= self.total
                or self._tickets[token] >= self.per_ticket
                or self._addresses[address] >= self.per_address
            ):
                return None
            self._open += 1
            self._tickets[token] += 1
            self._addresses[address] += 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                self._open -= 1
                for counts, key in ((self._tickets, token), (self._addresses, address)):
                    counts[key] -= 1
                    if counts[key] <= 0:
                        del counts[key]

        return release

    def __len__(self) -> int:
        with self._lock:
            return self._open


class LiveHub:
    """Wakes every open event stream when the queue changed. ``notify`` runs on the service's worker thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop is closed: the stream is gone
                self.unsubscribe((loop, event))

    def subscribe(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        return waiter

    def unsubscribe(self, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters.discard(waiter)

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiters)


# ================================================================ pre-entry fields
@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str  # an English message id (or the key itself when the key is not known here)
    kind: Literal["text", "date", "tel", "number", "choice"] = "text"
    options: tuple[tuple[str, str], ...] = ()  # (value, message id)
    #: Repeated people: ("member", 2) → shown under "Household member 2".
    person: tuple[str, int] | None = None


_YES_NO = (("yes", N_("Yes")), ("no", N_("No")))
_SEX = (("1", N_("Male")), ("2", N_("Female")))
_KNOWN_FIELDS: dict[str, FieldSpec] = {
    spec.key: spec
    for spec in (
        FieldSpec("name_kana", N_("Your name in hiragana (furigana)")),
        FieldSpec("phone", N_("Daytime phone number"), "tel"),
        FieldSpec("move_date", N_("Date of the move"), "date"),
        FieldSpec("new_address", N_("New address")),
        FieldSpec("household_head", N_("Head of household (after the move)")),
        FieldSpec("relationship", N_("Your relationship to the head of household")),
        FieldSpec(
            "certificate_type",
            N_("Type of certificate"),
            "choice",
            (("copy", N_("Copy of the certificate of residence")), ("certificate", N_("Certificate of stated items"))),
        ),
        FieldSpec(
            "scope",
            N_("Whose entries"),
            "choice",
            (("self", N_("Only me")), ("household", N_("The whole household")), ("some", N_("Some members"))),
        ),
        FieldSpec("copies", N_("Number of copies"), "number"),
        FieldSpec("purpose", N_("What it is for")),
        FieldSpec("submit_to", N_("Where you will hand it in")),
        FieldSpec("include_relationship", N_("Show the head of household and relationships"), "choice", _YES_NO),
        FieldSpec("include_domicile", N_("Show the registered domicile (本籍)"), "choice", _YES_NO),
        FieldSpec("include_my_number", N_("Show the My Number"), "choice", _YES_NO),
        FieldSpec("include_resident_code", N_("Show the resident record code"), "choice", _YES_NO),
        FieldSpec("coverage_start", N_("Insurance start date"), "date"),
        FieldSpec(
            "join_reason",
            N_("Reason for joining"),
            "choice",
            (
                ("tennyu", N_("Moved in")),
                ("employer_insurance_ended", N_("Employer's insurance ended")),
                ("welfare_ended", N_("Public assistance ended")),
                ("birth", N_("Birth")),
                ("other", N_("Other")),
            ),
        ),
        FieldSpec("previous_insurance", N_("Previous health insurance (insurer)")),
        FieldSpec("previous_insurance_end", N_("Date the previous insurance ended"), "date"),
        FieldSpec(
            "pension_type",
            N_("Your pension"),
            "choice",
            (("kokumin", N_("National Pension")), ("kosei", N_("Employees' Pension")), ("kyosai", N_("Mutual aid"))),
        ),
        FieldSpec("spouse_name", N_("Spouse's name")),
        FieldSpec("bank_name", N_("Bank")),
        FieldSpec("bank_branch", N_("Branch")),
        FieldSpec("account_type", N_("Account type"), "choice", (("futsu", N_("Ordinary")), ("toza", N_("Current")))),
        FieldSpec("account_number", N_("Account number"), "number"),
        FieldSpec("account_holder", N_("Account holder (katakana)")),
    )
}
_PERSON_FIELD = re.compile(r"^(member|child)([1-9])_(name|birth|sex|relationship|together)$")
_PERSON_PARTS: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "name": (N_("Name"), "text", ()),
    "birth": (N_("Date of birth"), "date", ()),
    "sex": (N_("Sex"), "choice", _SEX),
    "relationship": (N_("Relationship"), "text", ()),
    "together": (N_("Lives with you"), "choice", _YES_NO),
}
_PERSON_TITLES = {"member": N_("Household member {n}"), "child": N_("Child {n}")}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d also takes ١٢٣ and full-width ones
_NUMBER = re.compile(r"[0-9]{1,20}")


def field_spec(key: str) -> FieldSpec:
    """How the guide asks for a pre-entry key (docs/forms.md lists them); an unknown key is a plain text field."""
    if key in _KNOWN_FIELDS:
        return _KNOWN_FIELDS[key]
    m = _PERSON_FIELD.match(key)
    if m:
        label, kind, options = _PERSON_PARTS[m.group(3)]
        return FieldSpec(key, label, kind, options, (m.group(1), int(m.group(2))))  # type: ignore[arg-type]
    return FieldSpec(key, key)


def check_field(spec: FieldSpec, value: str) -> bool:
    from form_printer.preentry import MAX_VALUE_CHARS

    if len(value) > MAX_VALUE_CHARS:
        return False
    if spec.kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return bool(_DATE.fullmatch(value))
    if spec.kind == "number":  # str.isdigit() is true for ١٢٣, ² and １２３ too: the form would print them
        return bool(_NUMBER.fullmatch(value))
    if spec.kind == "choice":
        return value in {v for v, _ in spec.options}
    return True


@dataclass
class PreEntryConfig:
    key: bytes
    #: form id → its pre-entry keys, in the order of the form's fields
    form_keys: dict[str, list[str]]
    form_titles: dict[str, str]


def _load_preentry(site: Site, key_path: Path | None, forms_dir: Path | None) -> PreEntryConfig | None:
    if key_path is None or forms_dir is None:
        return None
    from form_printer.forms.model import load_templates
    from form_printer.preentry import load_key

    try:
        key = load_key(Path(key_path))
        forms = load_templates(Path(forms_dir))
    except Exception as exc:  # a misconfigured site loses the QR feature, not its pages
        log.warning("pre-entry QR codes are off: %s", exc)
        return None
    form_keys = {
        fid: list(dict.fromkeys(f.source.removeprefix("pre.") for f in t.fields if f.source.startswith("pre.")))
        for fid, t in forms.items()
    }
    return PreEntryConfig(key, form_keys, {fid: t.title for fid, t in forms.items()})


# ================================================================ the router
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
    site: Site = service.site
    hub = LiveHub()
    service.change_listeners.append(hub.notify)
    streams = StreamLimits()
    clock = clock or service.core.clock
    key_path = preentry_key or getattr(service, "preentry_key", None) or os.environ.get("MADOGUCHI_PREENTRY_KEY")
    forms_path = forms_dir or getattr(service, "forms_dir", None) or os.environ.get("MADOGUCHI_FORMS")
    preentry = _load_preentry(site, key_path, forms_path)  # type: ignore[arg-type]
    counter_groups = {c.id: c.group for c in site.counters}
    forecast_cache: dict[tuple, fc.Forecast] = {}
    router = APIRouter()
    router.include_router(static_router())

    def names(lang: str) -> dict:
        return {"site_name": site.site.names.get(lang), "lang": lang}

    def html(request: Request, name: str, context: dict, status: int = 200, private: bool = False) -> HTMLResponse:
        return templates.TemplateResponse(
            request, name, context, status_code=status, headers=page_headers(private=private)
        )

    def not_found(request: Request, lang: str, title: str, text: str, langs: bool = True) -> HTMLResponse:
        ctx = names(lang) | {"title": gettext_for(lang, title), "heading": title, "text": text, "show_langs": langs}
        return html(request, "not_found.html", ctx, status=404, private=True)

    # ------------------------------------------------------------ ticket status
    def find(token: str) -> Ticket | None:
        if not TOKEN_PATTERN.match(token):
            return None
        found = None
        for t in service.core.engine.state.tickets.values():
            if hmac.compare_digest(t.token.encode(), token.encode()):
                found = t
        return found

    def ticket_status(token: str, lang: str | None) -> TicketStatusOut | None:
        with service.lock:
            engine = service.core.engine
            ticket = find(token)
            if ticket is None:
                return None
            now = service.core.clock()
            lang = lang or ticket.lang
            steps = []
            for step in ticket.steps:
                # the step's group, not the procedure's: a transfer moves a step to another group
                group = site.group_by_id[step.group]
                counters = tuple(c for c in site.counters if c.group == step.group)
                place = GuidanceItem(site.procedure_by_id[step.procedure], group, counters)
                out = StepOut(
                    procedure=step.procedure,
                    procedure_name=place.procedure.names.get(lang),
                    group=step.group,
                    group_name=group.names.get(lang),
                    floor=group.floor,
                    place=place.place(lang),
                    status="later",
                    open_counters=engine.open_counters(step.group),
                )
                if step.status is StepStatus.DONE:
                    out.status = "done"
                elif step.status is StepStatus.SERVING:
                    out.status = "serving"
                elif (standing := engine.standing(ticket, step, now)) is not None:
                    out.status = "waiting"
                    out.ahead, out.est_wait_min = standing
                steps.append(out)
            called = None
            if ticket.status is TicketStatus.SERVING and ticket.counter is not None:
                counter = site.counter_by_id[ticket.counter]
                called = CalledOut(counter=counter.id, counter_name=counter.names.get(lang), floor=counter.floor)
            return TicketStatusOut(
                number=ticket.number,
                lang=lang,  # type: ignore[arg-type]
                status=ticket.status.value,  # type: ignore[arg-type]
                called=called,
                est_wait_min=engine.ticket_wait(ticket, now),
                steps=steps,
                updated_at=now,
            )

    def ticket_lang(request: Request) -> str | None:
        asked = request.query_params.get("lang")
        return asked if asked in LANGUAGES else None

    def render_live(st: TicketStatusOut) -> str:
        return templates.env.get_template("status_live.html").render(st=st, lang=st.lang)

    @router.get("/t/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def status_page(token: str, request: Request) -> HTMLResponse:
        st = await run_in_threadpool(ticket_status, token, ticket_lang(request))
        if st is None:
            lang = pick_lang(request)
            text = N_("This ticket is not known. A ticket is valid on the day it was issued only.")
            return not_found(request, lang, N_("Ticket not found"), text, langs=False)
        ctx = names(st.lang) | {
            "st": st,
            "title": gettext_for(st.lang, "Your number") + f" {st.number}",
            "events_url": f"/t/{token}/events?lang={st.lang}",
            "self_url": f"/t/{token}?lang={st.lang}",
            "refresh": NOSCRIPT_REFRESH_SECONDS,
        }
        return html(request, "status.html", ctx, private=True)

    @router.get("/t/{token}/events", include_in_schema=False)
    async def status_events(token: str, request: Request) -> Response:
        lang = ticket_lang(request)
        first = await run_in_threadpool(ticket_status, token, lang)
        if first is None:
            return Response("not found\n", status_code=404, media_type="text/plain", headers=page_headers(True))

        release = streams.open(token, request.client.host if request.client else "unknown")
        if release is None:
            headers = page_headers(True) | {"Retry-After": "30"}
            return Response("too many live updates open\n", status_code=429, media_type="text/plain", headers=headers)

        async def stream():
            waiter = hub.subscribe()
            _loop, changed = waiter
            last = ""
            ends = time.monotonic() + STREAM_SECONDS
            try:
                yield "retry: 3000\n\n"
                st: TicketStatusOut | None = first
                while True:
                    changed.clear()
                    if st is None:
                        st = await run_in_threadpool(ticket_status, token, lang)
                    if st is None:
                        yield "event: gone\ndata: {}\n\n"
                        return
                    title = gettext_for(st.lang, "Your number is called") if st.called else ""
                    data = json.dumps(
                        {
                            "status": st.status,
                            "called": st.called is not None,
                            "title": f"{st.number} {title}".strip(),
                            "html": render_live(st),
                        },
                        ensure_ascii=False,
                    )
                    if data != last:
                        yield f"event: ticket\ndata: {data}\n\n"
                        last = data
                    else:
                        yield ": still here\n\n"
                    st = None
                    if time.monotonic() >= ends or await request.is_disconnected():
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), timeout=HEARTBEAT_SECONDS)
            finally:
                hub.unsubscribe(waiter)
                release()

        headers = page_headers(private=True) | {"X-Accel-Buffering": "no"}
        body = stream()
        weakref.finalize(body, release)  # a stream that never started (client gone at once) frees its slot too
        return StreamingResponse(body, media_type="text/event-stream", headers=headers)

    @router.get("/api/v1/tickets/{token}", response_model=TicketStatusOut, tags=["resident"])
    async def api_ticket(token: str, lang: Lang | None = None) -> TicketStatusOut | JSONResponse:
        """A ticket's status by its token (the only key). 404 for any unknown token, always the same answer."""
        st = await run_in_threadpool(ticket_status, token, lang)
        if st is None:
            return JSONResponse({"detail": "not found"}, status_code=404, headers=page_headers(True))
        return st

    # ------------------------------------------------------------ congestion and forecast
    def congestion(lang: str) -> CongestionOut:
        with service.lock:
            engine = service.core.engine
            now = service.core.clock()
            rows = []
            for g in site.groups:
                gs = engine.group_state(g.id, now)
                rows.append(
                    GroupNowOut(
                        group=g.id,
                        name=g.names.get(lang),
                        floor=g.floor,
                        waiting=gs.waiting,
                        open_counters=gs.open_counters,
                        est_wait_min=gs.est_wait_min,
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
        ctx = names(lang) | {
            "title": gettext_for(lang, "Congestion"),
            "now": now_,
            "fore": fore,
            "peak": max(peak, 1.0),
            "floors": {g.id: g.floor for g in site.groups},
            "open_group": request.query_params.get("group"),
        }
        return html(request, "congestion.html", ctx)

    @router.get("/api/v1/congestion", response_model=CongestionOut, tags=["public"])
    async def api_congestion(lang: Lang = "ja") -> CongestionOut:
        """Waiting now and the estimated wait of a new arrival, per counter group."""
        return await run_in_threadpool(congestion, lang)

    @router.get("/api/v1/forecast", response_model=ForecastOut, tags=["public"])
    async def api_forecast(lang: Lang = "ja") -> ForecastOut:
        """Expected people waiting and wait minutes by hour for the rest of today, learned from past days."""
        return await run_in_threadpool(forecast_out, lang)

    # ------------------------------------------------------------ procedure guide
    def event_out(event_id: str, lang: str, answers: dict[str, bool] | None = None) -> EventOut:
        event = site.life_event_by_id[event_id]
        qs = [
            QuestionOut(id=q.id, text=q.text.get(lang), answer=None if answers is None else answers.get(q.id, False))
            for q in questions_for(site, event_id)
        ]
        return EventOut(id=event.id, name=event.names.get(lang), questions=qs)

    def guide_out(event_id: str, answers: dict[str, bool], lang: str) -> GuideOut:
        ev = event_out(event_id, lang, answers)
        items = guidance(site, site.procedures_for(event_id, answers))
        procedures = [
            GuideItemOut(
                procedure=i.procedure.id,
                name=i.procedure.names.get(lang),
                group=i.group.id,
                group_name=i.group.names.get(lang),
                floor=i.floor,
                counters=[c.names.get(lang) for c in i.counters],
                place=i.place(lang),
                bring=i.bring(lang),
                online_url=i.procedure.online_url,
                forms=list(i.procedure.forms),
            )
            for i in items
        ]
        return GuideOut(
            event=event_id,
            name=ev.name,
            questions=ev.questions,
            procedures=procedures,
            floors=floors_in_order(items),
            preentry_fields=[s.key for _form, specs in preentry_forms(procedures) for s in specs],
        )

    def preentry_forms(procedures: list[GuideItemOut]) -> list[tuple[str, list[FieldSpec]]]:
        """(form title, its fields) for the forms these procedures need; a key asked once, on its first form."""
        if preentry is None:
            return []
        seen: set[str] = set()
        out = []
        for form in dict.fromkeys(f for p in procedures for f in p.forms):
            keys = [k for k in preentry.form_keys.get(form, []) if k not in seen]
            seen.update(keys)
            if keys:
                out.append((preentry.form_titles[form], [field_spec(k) for k in keys]))
        return out

    def answers_from(request: Request, event_id: str) -> dict[str, bool]:
        return {q.id: request.query_params.get(q.id) == "yes" for q in questions_for(site, event_id)}

    def guide_ctx(lang: str, event_id: str, answers: dict[str, bool]) -> dict:
        g = guide_out(event_id, answers, lang)
        return names(lang) | {
            "title": g.name,
            "guide": g,
            "event_id": event_id,
            "answers": answers,
            "floors_text": " → ".join(floor_label(lang, f) for f in g.floors),
            "pre_forms": preentry_forms(g.procedures),
            "person_titles": _PERSON_TITLES,
        }

    @router.get("/guide", response_class=HTMLResponse, include_in_schema=False)
    def guide_index(request: Request) -> HTMLResponse:
        lang = pick_lang(request)
        events = [event_out(e.id, lang) for e in site.life_events]
        return html(
            request, "guide_index.html", names(lang) | {"title": gettext_for(lang, "Procedure guide"), "events": events}
        )

    @router.get("/guide/{event_id}", response_class=HTMLResponse, include_in_schema=False)
    def guide_questions(event_id: str, request: Request) -> HTMLResponse:
        lang = pick_lang(request)
        if event_id not in site.life_event_by_id:
            return not_found(request, lang, N_("Page not found"), "")
        ev = event_out(event_id, lang, answers_from(request, event_id))
        return html(request, "guide_questions.html", names(lang) | {"title": ev.name, "event": ev})

    @router.get("/guide/{event_id}/result", response_class=HTMLResponse, include_in_schema=False)
    def guide_result(event_id: str, request: Request) -> HTMLResponse:
        lang = pick_lang(request)
        if event_id not in site.life_event_by_id:
            return not_found(request, lang, N_("Page not found"), "")
        ctx = guide_ctx(lang, event_id, answers_from(request, event_id)) | {"values": {}, "errors": set()}
        return html(request, "guide_result.html", ctx)

    @router.post("/guide/{event_id}/preentry", response_class=HTMLResponse, include_in_schema=False)
    async def guide_preentry(event_id: str, request: Request) -> HTMLResponse:
        from form_printer.preentry import make_payload, qr_image

        form = await request.form()
        lang = form.get("lang") if form.get("lang") in LANGUAGES else pick_lang(request)
        if event_id not in site.life_event_by_id or preentry is None:
            return not_found(request, lang, N_("Page not found"), "")  # type: ignore[arg-type]
        answers = {q.id: form.get(q.id) == "yes" for q in questions_for(site, event_id)}
        # the answer to a POST: switching language would be a GET of this URL, so no language switch here
        ctx = guide_ctx(lang, event_id, answers) | {"show_langs": False}  # type: ignore[arg-type]
        specs = {s.key: s for _title, fields in ctx["pre_forms"] for s in fields}
        values = {k: str(form.get(f"pre_{k}", "")).strip() for k in specs}
        values = {k: v for k, v in values.items() if v}
        errors = {k for k, v in values.items() if not check_field(specs[k], v)}
        message = None
        if not values:
            message = N_("Nothing was entered.")
        elif errors:
            message = N_("Check the highlighted fields.")
        payload = None
        if message is None:
            now = service.core.clock()
            expires = now + timedelta(days=PREENTRY_DAYS)
            try:
                payload = make_payload(values, preentry.key, site.site.id, expires, now)
            except ValueError:
                message = N_("Too much text for one QR code: please shorten some answers.")
        if payload is None:
            ctx |= {"values": values, "errors": errors, "message": message}
            return html(request, "guide_result.html", ctx, status=422, private=True)
        buf = io.BytesIO()
        qr_image(payload, module=6).save(buf, format="PNG")
        ctx |= {
            "qr_png": base64.b64encode(buf.getvalue()).decode("ascii"),
            "valid_until": expires.astimezone(site.zone).date().isoformat(),
            "count": len(values),
        }
        return html(request, "guide_qr.html", ctx, private=True)

    @router.get("/api/v1/guide/events", response_model=list[EventOut], tags=["guide"])
    def api_guide_events(lang: Lang = "ja") -> list[EventOut]:
        """The life events of the site and the yes/no questions each asks (the kiosk's questions)."""
        return [event_out(e.id, lang) for e in site.life_events]

    @router.get("/api/v1/guide", response_model=GuideOut, tags=["guide"])
    def api_guide(
        event: str,
        answers: str = Query("", description="comma-separated ids of the questions answered yes (others: no)"),
        lang: Lang = "ja",
    ) -> GuideOut:
        """The procedures a life event needs for these answers, in serving order, with counters, floors, things
        to bring and online applications."""
        if event not in site.life_event_by_id:
            raise HTTPException(404, f"no life event {event!r}")
        asked = {q.id for q in questions_for(site, event)}
        yes = [a for a in answers.split(",") if a]
        unknown = [a for a in yes if a not in asked]
        if unknown:
            raise HTTPException(422, f"not a question of {event!r}: {', '.join(unknown)}")
        return guide_out(event, {q: q in yes for q in asked}, lang)

    # ------------------------------------------------------------ index
    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        lang = pick_lang(request)
        return html(request, "index.html", names(lang) | {"title": ""})

    return router
