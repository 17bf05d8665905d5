"""The online procedure guide (行かない窓口): ``/guide`` and ``/api/v1/guide``.

The kiosk's life-event questions, the procedures, counters, floors and things to bring
(:mod:`queue_service.guidance`), links to online applications, and optionally the signed pre-entry QR code of
the form issuer (:mod:`form_printer.preentry`). Pre-entered form data is turned into a QR code in the answer to
one POST and is neither stored nor logged.

Each use is counted for the KPI pages (Isesaki's guide uses, docs/kpi.md): opening a life event's questions and
reaching its result page each submit ``record_guide_use`` in-process (:meth:`QueueService.submit`), after the
page has been sent (a background task), so a busy or stopped queue worker never slows or fails the page.
"""

from __future__ import annotations

import base64
import io
import logging
from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query, Request
from fastapi.responses import HTMLResponse

from kiosk.bus.contract import Verb
from kiosk.i18n import LANGUAGES, N_, gettext_for
from kiosk.languages import Language
from queue_service.guidance import floors_in_order, guidance, questions_for
from queue_service.web.api_models import EventOut, GuideItemOut, GuideOut, QuestionOut
from queue_service.web.pages import SitePages, floor_label, pick_lang
from queue_service.web.preentry_fields import (
    ERA_CHOICES,
    ERA_LANGS,
    PERSON_TITLES,
    FieldSpec,
    PreEntryConfig,
    field_spec,
    read_answers,
)

#: A pre-entry QR code is valid this long.
PREENTRY_DAYS = 14
#: How long the background task waits for the queue worker to record a guide use.
RECORD_TIMEOUT_S = 2.0

log = logging.getLogger(__name__)


def record_guide_use(service, life_event: str, completed: bool) -> None:
    """Count one use of the guide (a background task: the page is already sent). Never raises: a failed count is
    logged (the life event id and the error only) and the resident's page is unaffected."""
    submit = getattr(service, "submit", None)
    if submit is None:  # a service without in-process commands (tests' stand-ins)
        return
    try:
        reply = submit(Verb.RECORD_GUIDE_USE, {"life_event": life_event, "completed": completed}, RECORD_TIMEOUT_S)
    except Exception as exc:  # noqa: BLE001 - the count must never matter to the resident
        log.warning("guide use of %s not recorded: %s", life_event, exc)
        return
    if not reply.get("ok"):
        log.warning("guide use of %s refused: %s", life_event, reply.get("error"))


def make_guide_router(service, pages: SitePages, preentry: PreEntryConfig | None) -> APIRouter:
    """``preentry``: the site's key and forms, or None (the guide then has no QR feature)."""
    site = service.site
    router = APIRouter()

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
        return pages.names(lang) | {
            "title": g.name,
            "guide": g,
            "event_id": event_id,
            "answers": answers,
            "floors_text": " → ".join(floor_label(lang, f) for f in g.floors),
            "pre_forms": preentry_forms(g.procedures),
            "person_titles": PERSON_TITLES,
            "era_choices": ERA_CHOICES if lang in ERA_LANGS else (),
        }

    @router.get("/guide", response_class=HTMLResponse, include_in_schema=False)
    def guide_index(request: Request) -> HTMLResponse:
        lang = pick_lang(request)
        events = [event_out(e.id, lang) for e in site.life_events]
        return pages.html(
            request,
            "guide_index.html",
            pages.names(lang) | {"title": gettext_for(lang, "Procedure guide"), "events": events},
        )

    @router.get("/guide/{event_id}", response_class=HTMLResponse, include_in_schema=False)
    def guide_questions(event_id: str, request: Request, tasks: BackgroundTasks) -> HTMLResponse:
        lang = pick_lang(request)
        if event_id not in site.life_event_by_id:
            return pages.not_found(request, lang, N_("Page not found"), "")
        tasks.add_task(record_guide_use, service, event_id, False)
        ev = event_out(event_id, lang, answers_from(request, event_id))
        return pages.html(request, "guide_questions.html", pages.names(lang) | {"title": ev.name, "event": ev})

    @router.get("/guide/{event_id}/result", response_class=HTMLResponse, include_in_schema=False)
    def guide_result(event_id: str, request: Request, tasks: BackgroundTasks) -> HTMLResponse:
        lang = pick_lang(request)
        if event_id not in site.life_event_by_id:
            return pages.not_found(request, lang, N_("Page not found"), "")
        tasks.add_task(record_guide_use, service, event_id, True)
        ctx = guide_ctx(lang, event_id, answers_from(request, event_id)) | {
            "values": {},
            "errors": set(),
            "date_parts": {},
        }
        return pages.html(request, "guide_result.html", ctx)

    @router.post("/guide/{event_id}/preentry", response_class=HTMLResponse, include_in_schema=False)
    async def guide_preentry(event_id: str, request: Request) -> HTMLResponse:
        from form_printer.preentry import make_payload, qr_image

        form = await request.form()
        lang = form.get("lang") if form.get("lang") in LANGUAGES else pick_lang(request)
        if event_id not in site.life_event_by_id or preentry is None:
            return pages.not_found(request, lang, N_("Page not found"), "")  # type: ignore[arg-type]
        answers = {q.id: form.get(q.id) == "yes" for q in questions_for(site, event_id)}
        # the answer to a POST: switching language would be a GET of this URL, so no language switch here
        ctx = guide_ctx(lang, event_id, answers) | {"show_langs": False}  # type: ignore[arg-type]
        specs = {s.key: s for _title, fields in ctx["pre_forms"] for s in fields}
        values, errors, shown_dates = read_answers(form, specs, lang)  # type: ignore[arg-type]
        message = None
        if not values and not errors:
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
            ctx |= {"values": values, "errors": errors, "message": message, "date_parts": shown_dates}
            return pages.html(request, "guide_result.html", ctx, status=422, private=True)
        buf = io.BytesIO()
        qr_image(payload, module=6).save(buf, format="PNG")
        ctx |= {
            "qr_png": base64.b64encode(buf.getvalue()).decode("ascii"),
            "valid_until": expires.astimezone(site.zone).date().isoformat(),
            "count": len(values),
        }
        return pages.html(request, "guide_qr.html", ctx, private=True)

    @router.get("/api/v1/guide/events", response_model=list[EventOut], tags=["guide"])
    def api_guide_events(lang: Language = "ja") -> list[EventOut]:
        """The life events of the site and the yes/no questions each asks (the kiosk's questions)."""
        return [event_out(e.id, lang) for e in site.life_events]

    @router.get("/api/v1/guide", response_model=GuideOut, tags=["guide"])
    def api_guide(
        event: str,
        answers: str = Query("", description="comma-separated ids of the questions answered yes (others: no)"),
        lang: Language = "ja",
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

    return router
