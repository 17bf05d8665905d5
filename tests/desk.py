"""A test driver for the pure queue engine: commands by name, a clock that ticks."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from zoneinfo import ZoneInfo

from kiosk.bus.contract import Verb
from kiosk.bus.schemas import VERB_ARGS
from queue_service.engine import Context, QueueEngine

JST = ZoneInfo("Asia/Tokyo")
KIOSK, PANEL = "kiosk-1f", "panel-demo"


class Desk:
    def __init__(self, site, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 8, 30, tzinfo=JST)
        self.engine = QueueEngine(site, self.now)
        self._tokens = count(1)

    def tick(self, minutes: float = 1.0) -> None:
        self.now += timedelta(minutes=minutes)

    def do(self, verb: str, device: str = PANEL, **args):
        model = VERB_ARGS[Verb(verb)].model_validate(args)
        # a token as long as a real one (22 characters)
        ctx = Context(now=self.now, device=device, token=f"tok{next(self._tokens):019d}")
        outcome = self.engine.apply(verb, model, ctx)
        self.tick(0.5)
        return outcome

    def issue(self, *procedures: str, priority: bool = False, lang: str = "ja"):
        return self.do("issue", KIOSK, procedures=list(procedures), priority=priority, lang=lang).result.ticket

    def open(self, *counters: str) -> None:
        for c in counters:
            self.do("open_counter", counter=c)

    def call(self, counter: str):
        return self.do("call_next", counter=counter).result.ticket

    def complete(self, counter: str, **args):
        return self.do("complete", counter=counter, **args).result.ticket

    def status(self, ticket_id: str) -> str:
        return self.engine.state.tickets[ticket_id].status.value
