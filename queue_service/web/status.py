"""A ticket's status page (the QR on the ticket), its live updates and its JSON: ``/t/{token}``,
``/t/{token}/events``, ``/api/v1/tickets/{token}``.

Privacy: a ticket is found by its token only (16 random bytes; compared in constant time); its page shows that
ticket and counts of other people, never another ticket's number or token, no handover note, nothing of the
reception (life event, answers, the concierge's note), nothing personal. Every unknown token gets the same plain
404 page.

One-stop (docs/one-stop.md): a resident seated at a booth is told to stay there and which sections are still to
come; the booth's call is a call, a section's staff arriving is not (the resident is already there). A later
delivery says it will be called once ready; a payment step says to pay at the self register.

Satisfaction (満足度, issue 18): once the visit is done, the page offers the site's survey (``site.survey``: 1-5
stars per question) as a plain form, outside the live part (a live update must not wipe stars being chosen);
``POST /t/{token}/survey`` records it through the service's worker and journal (``record_survey`` by ticket id,
anonymous: the answers name no one), then the page thanks the resident. A second answer is refused by the engine
and the page says it was already answered; a missing or bad star keeps every other choice and says what to fix.
The form is posted from this page only (Sec-Fetch-Site, else Origin/Referer); the token in the URL is the only
key, as for the page itself.

The phone alert (issue 19, docs/web.md "The phone page"): the page shows "N people ahead of you" for the step the
resident waits for now and, at the site's ``[phone] alert_ahead`` or fewer, an alert banner; status.js rings
(Web Audio), vibrates and flashes the title when an alert's key is new (:mod:`.phone_alert`). ``POST
/t/{token}/push`` keeps the browser's PushSubscription for Web Push (:mod:`.push`), and ``/t/sw.js`` is the
service worker that shows the pushed notification (registered with the ticket's page as its scope).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import time
import weakref
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from kiosk.bus.contract import Verb
from kiosk.i18n import LANGUAGES, N_, gettext_for
from kiosk.languages import Language
from queue_service.engine.model import AT_BOOTH, Step, StepMode, StepStatus, Ticket, TicketStatus
from queue_service.guidance import GuidanceItem
from queue_service.web.api_models import CalledOut, StepOut, TicketStatusOut, WaitRangeOut, range_out
from queue_service.web.live import LiveHub, StreamLimits
from queue_service.web.pages import STATIC_DIR, SitePages, page_headers, pick_lang, templates
from queue_service.web.phone_alert import ahead_message, current_alert, people_ahead
from queue_service.web.push import PushHub, SubscriptionIn

log = logging.getLogger(__name__)

#: What a ticket token looks like (secrets.token_urlsafe(16) gives 22 characters); anything else is not looked up.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
#: A live stream sends at least this often (a comment line), and refreshes time-dependent waits.
HEARTBEAT_SECONDS = 15.0
#: A stream ends after this long; the browser's EventSource reconnects by itself (and a server can shut down).
STREAM_SECONDS = 300.0
#: Without JavaScript the status page reloads itself this often.
NOSCRIPT_REFRESH_SECONDS = 30
#: The stars a survey answer may give.
STARS = (1, 2, 3, 4, 5)

#: The survey's words on the status page (status.html; the extractor reads .py files only).
SURVEY_MESSAGES = (
    N_("How was your visit?"),
    N_("Please give 1 to 5 stars (5 is best). Anonymous: your answers are not linked to you."),
    N_("Send my answers"),
    N_("Thank you for your answers."),
    N_("This ticket has already answered the survey. Thank you."),
    N_("Please choose 1 to 5 stars for every question."),
    N_("The survey opens when your visit is finished."),
    N_("Your answers could not be recorded just now. Please try again."),
    N_("{stars} of 5 stars"),
)


#: The unknown ticket page's heading and text.
UNKNOWN = (
    N_("Ticket not found"),
    N_("This ticket is not known. A ticket is valid on the day it was issued only."),
)

ALREADY = SURVEY_MESSAGES[4]
BAD_STARS = SURVEY_MESSAGES[5]
NOT_YET = SURVEY_MESSAGES[6]
RETRY = SURVEY_MESSAGES[7]


def same_origin(request: Request) -> bool:
    """Only this site's own page may post the survey. A modern browser says where a post came from in
    ``Sec-Fetch-Site``; else an Origin or Referer naming another host is refused. The page's no-referrer policy
    makes a browser send ``Origin: null`` even from this page, and a script sends nothing: both are let through,
    as the ticket's token in the URL (16 random bytes, which another site cannot know) is the key anyway."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None or source == "null":
        return True
    host = request.headers.get("host", "")
    parts = urlsplit(source)
    return bool(host) and parts.netloc == host and parts.scheme in ("http", "https")


def default_push(service, status_of) -> PushHub | None:
    """The service's Web Push (keys and subscriptions beside its journal, in ``STATE/push/``), or None when
    ``pywebpush`` is not installed or the folder cannot be used: the page then alerts while open only."""
    try:
        import pywebpush  # type: ignore[import-untyped]  # noqa: F401 - only whether it is there

        folder = Path(service.journal.path).parent / "push"
        phone = service.site.phone
        push = PushHub(folder, status_of, lambda: service.core.engine.day, phone.alert_ahead, phone.push_contact)
    except Exception as exc:
        log.warning("Web Push is off (%s): the phone page alerts while it is open only", type(exc).__name__)
        return None
    service.change_listeners.append(push.notify)
    return push


def make_status_router(
    service,
    pages: SitePages,
    hub: LiveHub,
    streams: StreamLimits,
    push: Callable[[Any, Callable[[str, str], TicketStatusOut | None]], PushHub | None] | None = default_push,
) -> APIRouter:
    """The ticket status routes of ``service`` (a QueueService); ``hub`` is told of every change. ``push(service,
    status_of)`` makes the Web Push sender (and makes it a change listener of the service; default:
    :func:`default_push`); None: no Web Push."""
    site = service.site
    threshold = site.phone.alert_ahead
    router = APIRouter()

    def find(token: str) -> Ticket | None:
        if not TOKEN_PATTERN.match(token):
            return None
        found = None
        for t in service.core.engine.state.tickets.values():
            if hmac.compare_digest(t.token.encode(), token.encode()):
                found = t
        return found

    def where(ticket: Ticket, step: Step, lang: str) -> tuple[str, int]:
        """(place, floor) of a step as the resident sees it: the booth for what is served there, the register's
        place for a payment, else the group and its counters."""
        group = site.group_by_id[step.group]
        if step.mode in AT_BOOTH and site.booth_group is not None:
            booth = site.counter_by_id.get(ticket.booth) if ticket.booth is not None else None
            if booth is not None:
                return booth.names.get(lang), booth.floor
            booths = site.group_by_id[site.booth_group]
            return booths.names.get(lang), booths.floor
        if step.mode is StepMode.REGISTER:
            return group.names.get(lang), group.floor
        # the step's group, not the procedure's: a transfer moves a step to another group
        counters = tuple(c for c in site.counters if c.group == step.group)
        return GuidanceItem(site.procedure_by_id[step.procedure], group, counters).place(lang), group.floor

    def counter_out(counter_id: str, lang: str) -> CalledOut:
        counter = site.counter_by_id[counter_id]
        return CalledOut(counter=counter.id, counter_name=counter.names.get(lang), floor=counter.floor)

    def ticket_status(token: str, lang: str | None) -> TicketStatusOut | None:
        with service.lock:
            ticket = find(token)
            return None if ticket is None else status_of(ticket, lang)

    def status_by_id(ticket_id: str, lang: str | None) -> TicketStatusOut | None:
        """The page's status of a ticket by its id (the push sender's key; never shown to anyone)."""
        with service.lock:
            ticket = service.core.engine.state.tickets.get(ticket_id)
            return None if ticket is None else status_of(ticket, lang)

    def step_range(ticket: Ticket, step: Step, now: datetime) -> WaitRangeOut | None:
        """The range of a waiting step's standing: the engine's estimator for that step (``standing`` gives the
        most likely minutes only)."""
        return range_out(service.core.engine.waits.step(ticket, step, now))

    def status_of(ticket: Ticket, lang: str | None) -> TicketStatusOut:
        """(The service's lock held.)"""
        engine = service.core.engine
        now = service.core.clock()
        lang = lang or ticket.lang
        steps = []
        for step in ticket.steps:
            place, floor = where(ticket, step, lang)
            out = StepOut(
                procedure=step.procedure,
                procedure_name=site.procedure_by_id[step.procedure].names.get(lang),
                group=step.group,
                group_name=site.group_by_id[step.group].names.get(lang),
                floor=floor,
                place=place,
                status="later",
                open_counters=engine.open_counters(step.group),
                mode=step.mode.value,  # type: ignore[arg-type]
                kind=step.kind.value,  # type: ignore[arg-type]
                ready=step.ready,
            )
            if step.status is StepStatus.DONE:
                out.status = "done"
            elif step.status is StepStatus.SERVING:
                out.status = "serving"
            elif (standing := engine.standing(ticket, step, now)) is not None:
                out.status = "waiting"
                out.ahead, out.est_wait_min = standing
                if out.est_wait_min is not None:
                    out.est_wait_range = step_range(ticket, step, now)
            steps.append(out)
        called = None
        if ticket.status is TicketStatus.SERVING and ticket.counter is not None:
            # the booth's call seats the resident (the counter's service began as they were seated); after
            # that, the booth's staff and the sections' staff come to where the resident already sits
            since = engine.state.counters[ticket.counter].since
            if ticket.booth is None or (ticket.counter == ticket.booth and since == ticket.seated_at):
                called = counter_out(ticket.counter, lang)
        to_come = []
        if ticket.booth is not None:
            pending = [s for s in ticket.steps if s.status is StepStatus.PENDING and s.mode is StepMode.BOOTH]
            to_come = list(dict.fromkeys(site.group_by_id[s.group].names.get(lang) for s in pending))
        return TicketStatusOut(
            number=ticket.number,
            lang=lang,  # type: ignore[arg-type]
            status=ticket.status.value,  # type: ignore[arg-type]
            called=called,
            est_wait_min=engine.ticket_wait(ticket, now),
            est_wait_range=range_out(engine.ticket_wait_range(ticket, now)),
            steps=steps,
            updated_at=now,
            one_stop=ticket.one_stop and ticket.needs_booth,
            booth=counter_out(ticket.booth, lang) if ticket.booth is not None else None,
            to_come=to_come,
        )

    pusher = push(service, status_by_id) if push is not None else None

    def phone(st: TicketStatusOut) -> dict:
        """What the live part and status.js need for the alert: the figure, whether it is near, the alert's key."""
        ahead = people_ahead(st)
        alert = current_alert(st, threshold)
        return {
            "ahead": ahead,
            "ahead_msg": ahead_message(ahead) if ahead is not None else "",
            "near": alert is not None and alert.kind == "near",
            "alert": alert,
            "alert_ahead": threshold,
        }

    def survey_state(token: str) -> tuple[str | None, str]:
        """(ticket id, survey state): "none" (the site has no survey, or the visit is not done), "open",
        "answered"."""
        with service.lock:
            ticket = find(token)
            if ticket is None:
                return None, "none"
            if ticket.id in service.core.engine.state.surveys:
                return ticket.id, "answered"
            if not site.survey or ticket.status is not TicketStatus.DONE:
                return ticket.id, "none"
            return ticket.id, "open"

    def status_html(
        request: Request,
        token: str,
        st: TicketStatusOut,
        survey: str,
        chosen: dict[str, int] | None = None,
        message: str | None = None,
        status: int = 200,
    ) -> HTMLResponse:
        questions = [(q.id, q.text.get(st.lang)) for q in site.survey] if survey == "open" else []
        ctx = {**pages.names(st.lang), **phone(st)} | {
            "st": st,
            "title": gettext_for(st.lang, "Your number") + f" {st.number}",
            "events_url": f"/t/{token}/events?lang={st.lang}",
            "self_url": f"/t/{token}?lang={st.lang}",
            "refresh": NOSCRIPT_REFRESH_SECONDS,
            "survey": survey,
            "has_survey": bool(site.survey),
            "survey_url": f"/t/{token}/survey",
            "questions": questions,
            "stars": STARS,
            "chosen": chosen or {},
            "survey_message": message,
            # the answer to a POST: switching language would be a GET of the survey's URL
            "show_langs": request.method == "GET",
            "push_key": pusher.public_key if pusher is not None else "",
            "push_url": f"/t/{token}/push",
            "sw_url": "/t/sw.js",
            "sw_scope": f"/t/{token}",
        }
        return pages.html(request, "status.html", ctx, status=status, private=True)

    def unknown_ticket(request: Request, lang: str) -> HTMLResponse:
        """The same plain 404 for every unknown token, with the language switch: its links are ``?lang=`` only,
        so the page never repeats the token it was asked for (and stays the same page for every token)."""
        ctx = pages.names(lang) | {
            "title": gettext_for(lang, UNKNOWN[0]),
            "heading": UNKNOWN[0],
            "text": UNKNOWN[1],
            "show_langs": True,
            "lang_url": lambda _request, code: f"?lang={code}",
        }
        return pages.html(request, "not_found.html", ctx, status=404, private=True)

    def ticket_lang(request: Request) -> str | None:
        asked = request.query_params.get("lang")
        return asked if asked in LANGUAGES else None

    def render_live(st: TicketStatusOut, extra: dict) -> str:
        return templates.env.get_template("status_live.html").render(st=st, lang=st.lang, **extra)

    @router.get("/t/sw.js", include_in_schema=False)
    def service_worker() -> FileResponse:
        """The service worker that shows a pushed alert (registered by status.js with the ticket's page as scope,
        which lies under this script's folder /t/)."""
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        return FileResponse(STATIC_DIR / "status-sw.js", media_type="text/javascript", headers=headers)

    @router.get("/t/{token}", response_class=HTMLResponse, include_in_schema=False)
    async def status_page(token: str, request: Request) -> HTMLResponse:
        st = await run_in_threadpool(ticket_status, token, ticket_lang(request))
        if st is None:
            return unknown_ticket(request, pick_lang(request))
        _id, survey = await run_in_threadpool(survey_state, token)
        return status_html(request, token, st, survey)

    @router.post("/t/{token}/survey", response_class=HTMLResponse, include_in_schema=False)
    async def survey_answer(token: str, request: Request) -> Response:
        """The resident's stars: recorded once, then the page (303, so a reload does not post again)."""
        form = await request.form()
        asked = form.get("lang")
        lang = asked if isinstance(asked, str) and asked in LANGUAGES else None
        st = await run_in_threadpool(ticket_status, token, lang)
        if st is None:
            return unknown_ticket(request, pick_lang(request))
        if not same_origin(request):
            return Response("cross-origin form refused\n", 403, media_type="text/plain", headers=page_headers(True))
        ticket_id, survey = await run_in_threadpool(survey_state, token)
        if survey == "answered":
            return status_html(request, token, st, survey, message=ALREADY, status=409)
        if survey != "open" or ticket_id is None:
            return status_html(request, token, st, survey, message=NOT_YET, status=409)
        chosen: dict[str, int] = {}
        for q in site.survey:
            value = form.get(f"q_{q.id}")
            if isinstance(value, str) and value.isdigit() and int(value) in STARS:
                chosen[q.id] = int(value)
        if len(chosen) != len(site.survey):
            return status_html(request, token, st, survey, chosen, BAD_STARS, status=422)
        args: dict[str, Any] = {"ticket": ticket_id, "answers": chosen}
        try:
            reply = await run_in_threadpool(service.submit, Verb.RECORD_SURVEY, args)
        except TimeoutError:
            return status_html(request, token, st, survey, chosen, RETRY, status=503)
        if not reply.get("ok"):
            code = (reply.get("error") or {}).get("code")
            if code == "already_answered":
                return status_html(request, token, st, "answered", message=ALREADY, status=409)
            return status_html(request, token, st, survey, chosen, RETRY, status=422)
        return RedirectResponse(f"/t/{token}?lang={st.lang}#survey", status_code=303, headers=page_headers(True))

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

        async def stream() -> AsyncIterator[str]:
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
                    extra = phone(st)
                    alert = extra["alert"]
                    if st.called:
                        title = gettext_for(st.lang, "Your number is called")
                    elif extra["near"]:
                        title = gettext_for(st.lang, extra["ahead_msg"]).format(count=extra["ahead"])
                    else:
                        title = ""
                    data = json.dumps(
                        {
                            "status": st.status,
                            "called": st.called is not None,
                            "title": f"{st.number} {title}".strip() if title else "",
                            "alert": None if alert is None else {"kind": alert.kind, "key": alert.key},
                            "html": render_live(st, extra),
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

    @router.post("/t/{token}/push", include_in_schema=False)
    async def push_subscribe(token: str, request: Request) -> Response:
        """Keep the browser's PushSubscription (JSON) for this ticket: 201, or 404 (unknown ticket), 403 (another
        site's page), 422 (not a subscription, or not to a known push service), 409 (too many), 503 (no push)."""
        headers = page_headers(True)
        if pusher is None:
            return JSONResponse({"detail": "web push is off"}, status_code=503, headers=headers)
        if not same_origin(request):
            return JSONResponse({"detail": "cross-origin"}, status_code=403, headers=headers)
        body = await request.body()
        if len(body) > 4096:
            return JSONResponse({"detail": "too large"}, status_code=413, headers=headers)
        try:
            sub = SubscriptionIn.model_validate_json(body)
        except ValidationError:
            return JSONResponse({"detail": "not a push subscription"}, status_code=422, headers=headers)
        if not pusher.allowed(sub.endpoint):
            return JSONResponse({"detail": "not a known push service"}, status_code=422, headers=headers)
        asked = request.query_params.get("lang")

        def keep() -> bool | None:
            with service.lock:
                ticket = find(token)
                if ticket is None:
                    return None
                st = status_of(ticket, asked if asked in LANGUAGES else None)
                ticket_id = ticket.id
            return pusher.subscribe(ticket_id, st.lang, sub, current_alert(st, threshold))

        kept = await run_in_threadpool(keep)
        if kept is None:
            return JSONResponse({"detail": "not found"}, status_code=404, headers=headers)
        if not kept:
            return JSONResponse({"detail": "too many subscriptions"}, status_code=409, headers=headers)
        return JSONResponse({"ok": True}, status_code=201, headers=headers)

    @router.get("/api/v1/tickets/{token}", response_model=TicketStatusOut, tags=["resident"])
    async def api_ticket(token: str, lang: Language | None = None) -> TicketStatusOut | JSONResponse:
        """A ticket's status by its token (the only key). 404 for any unknown token, always the same answer."""
        st = await run_in_threadpool(ticket_status, token, lang)
        if st is None:
            return JSONResponse({"detail": "not found"}, status_code=404, headers=page_headers(True))
        return st

    return router
