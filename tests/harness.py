"""Real parts for integration tests: Mosquitto from the project's own generated config,
device bus clients with the generated passwords, the queue service in-process or as a
separate process (so it can be killed with SIGKILL)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from broker_config.generate import generate
from broker_config.settings import BrokerSettings, Listener
from kiosk.bus.client import Bus, BusSettings
from kiosk.config.site import Site

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """Poll until something accepts on ``port`` (a real readiness condition, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {port} after {timeout} s")


@dataclass
class RunningBroker:
    site: Site
    state: Path
    port: int
    proc: subprocess.Popen

    def password(self, device: str) -> str:
        return (self.state / "secrets" / f"{device}.password").read_text().strip()

    def bus(self, device: str, start: bool = True, **kw) -> Bus:
        role = self.site.device_by_id[device].role
        settings = BusSettings(self.site.site.id, device, role, self.password(device), "127.0.0.1", self.port, **kw)
        bus = Bus(settings)
        if start:
            bus.start(wait=10)
        return bus

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_broker(site: Site, state: Path, port: int | None = None) -> RunningBroker:
    port = port or free_port()
    settings = BrokerSettings(listeners=(Listener(port=port),), run_as_root=os.geteuid() == 0)
    files = generate(site, state / "broker", state / "secrets", settings)
    log = open(state / "mosquitto.log", "ab")  # noqa: SIM115 - lives as long as the broker
    proc = subprocess.Popen(["mosquitto", "-c", str(files.conf)], stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, proc=proc)
    return RunningBroker(site, state, port, proc)


def start_service_process(broker: RunningBroker, site_path: Path, http_port: int = 0) -> subprocess.Popen:
    """The queue service as its own process, exactly as `madoguchi service` runs it."""
    cmd = [
        sys.executable, "-m", "kiosk.cli", "service",
        "--site", str(site_path), "--state", str(broker.state),
        "--broker", f"127.0.0.1:{broker.port}", "--http", f"127.0.0.1:{http_port}",
    ]  # fmt: skip
    log = open(broker.state / "service.log", "ab")  # noqa: SIM115
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


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
