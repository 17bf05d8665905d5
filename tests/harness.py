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


class BusSpy:
    """Everything an appliance can publish or receive, as the broker delivers it: the queue service's credentials
    read every command, presence, state and event, and the device's own credentials (another client id) read its
    reply topic. The privacy tests search it for personal data."""

    def __init__(self, broker, site_id: str, device: str) -> None:
        import threading
        import uuid

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from kiosk.bus.contract import Topics

        topics = Topics(site_id)
        self.payloads: list[tuple[str, bytes]] = []
        self.clients: list = []
        self._lock = threading.Lock()
        for user, subscriptions in (
            ("queue-service", [topics.all_commands, topics.all_statuses, topics.all_state, topics.all_events]),
            (device, [topics.reply(device)]),
        ):
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"spy-{uuid.uuid4().hex[:8]}")
            client.username_pw_set(user, broker.password(user))
            subscribed = threading.Event()
            client.on_connect = lambda c, *_a, subs=subscriptions: [c.subscribe(s, qos=1) for s in subs]
            client.on_subscribe = lambda *_a, ev=subscribed: ev.set()
            client.on_message = self._on
            client.connect("127.0.0.1", broker.port)
            client.loop_start()
            assert subscribed.wait(10), f"spy as {user} could not subscribe"
            self.clients.append(client)

    def _on(self, _client, _userdata, message) -> None:
        with self._lock:
            self.payloads.append((message.topic, bytes(message.payload)))

    def stop(self) -> None:
        for client in self.clients:
            client.loop_stop()
            client.disconnect()


def secrets_in_files(where, secrets: list[str], skip=None) -> list[str]:
    """``path: secret`` for every file under ``where`` (not under ``skip``, e.g. the printed paper) that holds one
    of ``secrets`` in UTF-8: the privacy tests want this empty."""
    found = []
    for path in where.rglob("*"):
        if not path.is_file() or (skip is not None and skip in path.parents):
            continue
        data = path.read_bytes()
        found += [f"{path}: {s}" for s in secrets if s.encode("utf-8") in data]
    return found
