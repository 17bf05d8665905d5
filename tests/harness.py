"""Real parts for integration tests: the local stack of madoguchi.local (Mosquitto from
the generated config, the service as its own process so it can be SIGKILLed) and a watcher
that waits on conditions instead of time."""

from __future__ import annotations

import os
import signal
import subprocess

from kiosk.bus.client import Bus
from madoguchi.local import (  # noqa: F401 - re-exported for the tests
    ROOT,
    LocalBroker,
    free_port,
    start_broker,
    start_service_process,
    wait_for_port,
)


def kill9(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


class Watcher:
    """Collects messages of one schema on a topic filter; tests wait on conditions, not time."""

    def __init__(self, bus: Bus, topic: str, model) -> None:
        import threading

        self.messages: list[tuple[str, object]] = []
        self.latest: dict[str, object] = {}
        self._cond = threading.Condition()
        bus.subscribe_model(topic, model, self._on)

    def _on(self, topic: str, value) -> None:
        with self._cond:
            self.messages.append((topic, value))
            self.latest[topic] = value
            self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0):
        """Wait until ``predicate(self)`` is truthy; returns its value."""
        with self._cond:
            ok = self._cond.wait_for(lambda: predicate(self), timeout=timeout)
        if not ok:
            raise AssertionError(f"condition not met within {timeout} s; saw {self.messages[-5:]}")
        return ok
