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
from kiosk.programs import find_program

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


class Processes:
    """Every process one run of the local stack started (the demo's windows, simulators, pcscd, the queue
    service, the broker), so that whatever ends the run (Ctrl-C, SIGTERM, a closed window, a crash) stops
    all of them and nothing outlives it.

    Each has a layer: higher layers stop first (the windows before the service, the service before the
    broker), each layer all at once with one shared deadline, then SIGKILL.
    """

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen, int]] = []

    def add(self, name: str, proc: subprocess.Popen, layer: int = 0) -> subprocess.Popen:
        self.started.append((name, proc, layer))
        return proc

    def start(self, name: str, cmd: list[str], log: Path, layer: int = 0, **popen: object) -> subprocess.Popen:
        """Start ``cmd`` with its output appended to ``log`` (in the caller's process group: Ctrl-C reaches it)."""
        with log.open("ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, **popen)  # type: ignore[call-overload]
        return self.add(name, proc, layer)

    def exited(self) -> tuple[str, subprocess.Popen] | None:
        """The first process that is no longer running, if any."""
        for name, proc, _layer in self.started:
            if proc.poll() is not None:
                return name, proc
        return None

    def stop_all(self, timeout: float = 4.0) -> tuple[list[str], list[str]]:
        """Stop everything still running, top layer first. Returns ``name (pid N)`` of each one stopped, and
        of each one that had ended by itself (Ctrl-C reaches the whole group at once)."""
        stopped: list[str] = []
        signalled: set[int] = set()
        for layer in sorted({layer for *_, layer in self.started}, reverse=True):
            live = [(n, p) for n, p, lay in self.started if lay == layer and p.poll() is None]
            for _name, proc in live:
                proc.send_signal(signal.SIGTERM)
                signalled.add(proc.pid)
            deadline = time.monotonic() + timeout
            for name, proc in live:
                try:
                    proc.wait(timeout=max(0.0, deadline - time.monotonic()))
                    stopped.append(f"{name} (pid {proc.pid})")
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    stopped.append(f"{name} (pid {proc.pid}, killed after {timeout:.0f} s)")
        ended = [f"{name} (pid {p.pid}, exit {p.returncode})" for name, p, _ in self.started if p.pid not in signalled]
        return stopped, ended


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
        ``status_url``, ...); ``screen`` may be a dict of the ``[screen]`` table. Paths are written
        absolute: the app resolves a relative one against the device file's folder, not against
        where this process was started (``--state var`` would otherwise point at ``var/.../var``).
        """
        screen = dict(settings.pop("screen", {}))  # type: ignore[call-overload]
        state = self.state.resolve()
        lines = [f"device = {_toml(device)}", f"site = {_toml(str(Path(site_path).resolve()))}"]
        lines += [
            f"{key} = {_toml(str(value.resolve()) if isinstance(value, Path) else value)}"
            for key, value in settings.items()
            if value is not None
        ]
        lines += ["", "[broker]", 'host = "127.0.0.1"', f"port = {self.port}"]
        lines.append(f"password_file = {_toml(str(state / 'secrets' / f'{device}.password'))}")
        if screen:
            lines += ["", "[screen]"] + [f"{key} = {_toml(value)}" for key, value in screen.items()]
        path = state / "devices" / f"{device}.toml"
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
    mosquitto = find_program("mosquitto")
    if mosquitto is None:
        raise StackError("Mosquitto is not installed: run scripts/install first")
    port = port or free_port()
    settings = BrokerSettings(listeners=(Listener(port=port),), run_as_root=os.geteuid() == 0)
    files = generate(site, state / "broker", state / "secrets", settings)
    with (state / "mosquitto.log").open("ab") as log:
        proc = subprocess.Popen([mosquitto, "-c", str(files.conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc=proc)
    except BaseException:  # never ready, or Ctrl-C while waiting: no broker left behind
        stop_process(proc, timeout=5)
        raise
    return LocalBroker(site, state, port, proc)


def start_service_process(
    broker: LocalBroker,
    site_path: Path,
    http_port: int = 0,
    db: Path | None = None,
    preentry_key: Path | None = None,
    launcher: tuple[str, ...] = (),
) -> subprocess.Popen:
    """The queue service as its own process, exactly as `madoguchi service` runs it (``launcher``: a command
    it runs under, e.g. ``prlimit --nofile=1024:1024 --`` for the open-file limit of a systemd unit)."""
    cmd = [*launcher,
        sys.executable, "-m", "madoguchi", "service",
        "--site", str(site_path), "--state", str(broker.state),
        "--broker", f"127.0.0.1:{broker.port}", "--http", f"127.0.0.1:{http_port}",
    ]  # fmt: skip
    if db is not None:
        cmd += ["--db", str(db)]
    if preentry_key is not None:
        cmd += ["--preentry-key", str(preentry_key)]
    with (broker.state / "service.log").open("ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)


def wait_healthy(port: int, procs: list[subprocess.Popen], timeout: float = 20.0) -> dict:
    """Poll the service's /healthz until it says ok; fail early if a process died."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                name = p.args[0] if isinstance(p.args, list | tuple) else p.args
                raise StackError(f"{name!s} exited with {p.returncode} during start-up")
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
