"""HTTP side of the queue service: ``GET /healthz`` for technicians and monitoring (200 when the
service is on the bus, 503 when not), the resident and public pages (queue_service.web.public) and
the staff KPI pages (queue_service.web.staff). The API's description is ``/openapi.json``; there is no
``/docs`` or ``/redoc``: FastAPI's pages load their scripts from a CDN with an inline script (no CSP could
hold), and an appliance network reaches no CDN anyway.

Every answer says ``X-Content-Type-Options: nosniff``; the ticket API's answers ``Cache-Control: no-store``
(a token is as good as the ticket)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from queue_service.service.app import QueueService


def make_app(service: QueueService) -> FastAPI:
    from queue_service.web.public import make_public_router
    from queue_service.web.staff import make_staff_router

    app = FastAPI(title="smart madoguchi queue service", version="0.1.0", docs_url=None, redoc_url=None)

    @app.middleware("http")
    async def guard(request: Request, call_next) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.url.path.startswith("/api/v1/tickets/"):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        body = service.health()
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    app.include_router(make_public_router(service))
    app.include_router(make_staff_router(service, form_titles=_form_titles(service.forms_dir)))
    return app


def _form_titles(forms_dir) -> dict[str, str] | None:
    """The form issuer's form names for the KPI pages (from the site's templates, when it has them)."""
    if forms_dir is None:
        return None
    from form_printer.forms.model import load_templates

    return {t.id: t.title for t in load_templates(forms_dir).values()}
