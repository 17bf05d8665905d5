"""HTTP side of the queue service. For now: the health endpoint technicians and
monitoring check (``GET /healthz``: 200 when the service is on the bus, 503 when not)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import JSONResponse

if TYPE_CHECKING:
    from ticket_machine.service.app import QueueService


def make_app(service: QueueService) -> FastAPI:
    app = FastAPI(title="smart madoguchi queue service", version="0.1.0")

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        body = service.health()
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    return app
