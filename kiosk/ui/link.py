"""The app's side of the bus: connection state as Kivy properties, requests off the UI thread.

paho calls back on its network thread; Kivy widgets may only be touched on the main
thread. Everything here hops back with ``Clock.schedule_once``. A request never blocks
the screen: it runs on a worker thread and its answer (or error) arrives as a callback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kivy.clock import Clock
from kivy.event import EventDispatcher
from kivy.properties import BooleanProperty

from kiosk.bus.client import Bus, BusError, BusSettings
from kiosk.bus.schemas import Presence

log = logging.getLogger(__name__)


def on_main(fn: Callable, *args) -> None:
    """Run ``fn(*args)`` on Kivy's thread; an exception is logged, never kills the kiosk."""

    def call(_dt) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("error in %s", getattr(fn, "__qualname__", fn))

    Clock.schedule_once(call, 0)


class BusLink(EventDispatcher):
    """``broker_up`` and ``service_up`` drive the out-of-service overlay."""

    broker_up = BooleanProperty(False)
    service_up = BooleanProperty(False)

    def __init__(self, settings: BusSettings, service_device: str | None, **kw) -> None:
        super().__init__(**kw)
        self.bus = Bus(settings)
        self.topics = self.bus.topics
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bus-request")
        self._faults: dict[str, frozenset[str]] = {}
        self.bus.on_connection(lambda up: on_main(self._set_broker, up))
        if service_device is None:
            self.service_up = True
        else:
            self.bus.subscribe_model(
                self.topics.status(service_device),
                Presence,
                lambda _t, p: on_main(setattr, self, "service_up", p.online),
            )

    def _set_broker(self, up: bool) -> None:
        self.broker_up = up

    def start(self) -> BusLink:
        self.bus.start(wait=None)
        return self

    def stop(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.bus.stop()

    def listen(self, topic: str, model, handler: Callable[[str, Any], None]) -> None:
        """Subscribe; ``handler(topic, message)`` runs on the main thread."""
        self.bus.subscribe_model(topic, model, lambda t, m: on_main(handler, t, m))

    def request(
        self,
        verb: str,
        args: dict[str, Any],
        on_ok: Callable[[dict[str, Any]], None],
        on_error: Callable[[BusError], None],
    ) -> None:
        def work() -> None:
            try:
                result = self.bus.request(verb, args)
            except BusError as exc:
                log.warning("%s failed: %s %s", verb, exc.code, exc)
                on_main(on_error, exc)
            else:
                on_main(on_ok, result)

        self._pool.submit(work)

    def set_faults(self, faults: list[str], source: str = "app") -> None:
        """Report the faults of one ``source`` (the app's devices, the shell's ``assistance_requested``);
        the presence message carries the union, so one source never clears another's."""
        self._faults[source] = frozenset(faults)
        union = sorted(set().union(*self._faults.values()))
        self._pool.submit(self.bus.set_faults, union)
