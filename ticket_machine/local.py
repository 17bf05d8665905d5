"""The backbone on one machine: Mosquitto from the project's generated config and the queue
service as its own process.

The demo, the benchmarks and the integration tests all start the same real parts the same
way, so what they show is what a technician's appliance runs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from broker_config.generate import generate
from broker_config.settings import BrokerSettings, Listener
from kiosk.bus.client import Bus, BusSettings
from kiosk.config.loading import toml_value as _toml
from kiosk.config.site import Site

ROOT = Path(__file__).resolve().parent.parent


class StackError(RuntimeError):
    """A part of the local stack could not start (missing binary, early exit, never ready)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, proc: subprocess.Popen | None = None) -> None:
    """Poll until something accepts on ``port`` (a real readiness condition, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise StackError(f"nothing listening on {port} after {timeout} s")


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class LocalBroker:
    site: Site
    state: Path
    port: int
    proc: subprocess.Popen

    def password(self, device: str) -> str:
        return (self.state / "secrets" / f"{device}.password").read_text().strip()

    def bus(self, device: str, start: bool = True, **kw) -> Bus:
        """A bus client for a device of the site, with the password the generator wrote for it."""
        role = self.site.device_by_id[device].role
        settings = BusSettings(self.site.site.id, device, role, self.password(device), "127.0.0.1", self.port, **kw)
        bus = Bus(settings)
        if start:
            bus.start(wait=10)
        return bus

    def stop(self) -> None:
        stop_process(self.proc, timeout=5)

    def device_file(self, device: str, site_path: Path, **settings: object) -> Path:
        """Write ``STATE/devices/DEVICE.toml`` for an appliance app on this broker.

        ``settings`` are top-level keys of the device file (``printer``, ``counter``,
        ``status_url``, ...); ``screen`` may be a dict of the ``[screen]`` table.
        """
        screen = dict(settings.pop("screen", {}))  # type: ignore[call-overload]
        lines = [f"device = {_toml(device)}", f"site = {_toml(str(site_path))}"]
        lines += [f"{key} = {_toml(value)}" for key, value in settings.items() if value is not None]
        lines += ["", "[broker]", 'host = "127.0.0.1"', f"port = {self.port}"]
        lines.append(f"password_file = {_toml(str(self.state / 'secrets' / f'{device}.password'))}")
        if screen:
            lines += ["", "[screen]"] + [f"{key} = {_toml(value)}" for key, value in screen.items()]
        path = self.state / "devices" / f"{device}.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def start_xvfb(width: int = 1280, height: int = 800) -> tuple[subprocess.Popen, str]:
    """A virtual screen for the apps (tests, bench, a demo on a headless box): ``(process, DISPLAY)``."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        raise StackError("Xvfb is not installed: run scripts/install first")
    read, write = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number:
        proc.kill()
        raise StackError("Xvfb did not start")
    return proc, f":{number}"


def start_broker(site: Site, state: Path, port: int | None = None) -> LocalBroker:
    """Generate config, passwords and ACL under ``state`` and run Mosquitto on loopback."""
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).exists():
        raise StackError("Mosquitto is not installed: run scripts/install first")
    port = port or free_port()
    settings = BrokerSettings(listeners=(Listener(port=port),), run_as_root=os.geteuid() == 0)
    files = generate(site, state / "broker", state / "secrets", settings)
    log = open(state / "mosquitto.log", "ab")  # noqa: SIM115 - lives as long as the broker
    proc = subprocess.Popen([mosquitto, "-c", str(files.conf)], stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, proc=proc)
    return LocalBroker(site, state, port, proc)


def start_service_process(
    broker: LocalBroker, site_path: Path, http_port: int = 0, db: Path | None = None, preentry_key: Path | None = None
) -> subprocess.Popen:
    """The queue service as its own process, exactly as `madoguchi service` runs it."""
    cmd = [
        sys.executable, "-m", "kiosk.cli", "service",
        "--site", str(site_path), "--state", str(broker.state),
        "--broker", f"127.0.0.1:{broker.port}", "--http", f"127.0.0.1:{http_port}",
    ]  # fmt: skip
    if db is not None:
        cmd += ["--db", str(db)]
    if preentry_key is not None:
        cmd += ["--preentry-key", str(preentry_key)]
    log = open(broker.state / "service.log", "ab")  # noqa: SIM115
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def wait_healthy(port: int, procs: list[subprocess.Popen], timeout: float = 20.0) -> dict:
    """Poll the service's /healthz until it says ok; fail early if a process died."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise StackError(f"{p.args[0]} exited with {p.returncode} during start-up")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                body = json.load(r)
                if body["status"] == "ok":
                    return body
                last = body
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise StackError(f"the queue service did not become healthy: {last}")
