"""``madoguchi broker`` as the README runs it, as whoever runs the tests (root in CI and for technicians, an
ordinary user on a developer's machine): a device logs in with its generated password and is refused with a
wrong one; when Mosquitto cannot start it says why and exits non-zero; SIGTERM stops it and its Mosquitto.

(Becoming another user inside the test does not work here: the venv's interpreter lives under root's 0700
home. An ordinary user running this file runs the first test as that user.)"""

from __future__ import annotations

import os
import pwd
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from broker_config.run import BROKER_USER
from kiosk.bus.client import BusSettings
from kiosk.bus.contract import Role
from kiosk.programs import find_program
from tests.harness import ROOT, free_port
from tests.system.test_tls_stack import connack

pytestmark = pytest.mark.skipif(find_program("mosquitto") is None, reason="needs Mosquitto (scripts/install)")
AS_ROOT = os.geteuid() == 0


@dataclass
class BrokerCommand:
    proc: subprocess.Popen
    port: int
    state: Path
    lines: queue.Queue

    def expect(self, text: str, timeout: float = 20.0) -> str:
        """The first output line holding ``text`` (reading on; fails if the command ends first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"madoguchi broker ended (exit {self.proc.wait()}) before saying {text!r}")
            if text in line:
                return line
        raise AssertionError(f"madoguchi broker did not say {text!r} within {timeout} s")

    def mosquitto_pid(self) -> int:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        assert len(children) == 1, children
        return int(children[0])

    def password(self, device: str) -> str:
        return (self.state / "secrets" / f"{device}.password").read_text().strip()

    def login(self, device: str, password: str):
        settings = BusSettings("sakura-ward", device, Role.TICKET, password, "127.0.0.1", self.port)
        return connack(settings)


STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def nothing_left_running() -> Iterator[None]:
    """A failed test leaves no ``madoguchi broker`` (nor its Mosquitto: it stops with its parent's SIGTERM)."""
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)


def start(state: Path, port: int) -> BrokerCommand:
    """``madoguchi broker --state STATE --port PORT`` from the repository root."""
    cmd = [sys.executable, "-m", "madoguchi", "broker", "--state", str(state), "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    STARTED.append(proc)
    lines: queue.Queue = queue.Queue()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    return BrokerCommand(proc, port, state, lines)


@pytest.fixture
def open_folder() -> Iterator[Path]:
    """A state folder every user may reach (not pytest's 0700 tmp), like /var/lib/madoguchi."""
    folder = Path(tempfile.mkdtemp(prefix="madoguchi-broker-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def stop(broker: BrokerCommand) -> int:
    mosquitto = broker.mosquitto_pid()
    broker.proc.send_signal(signal.SIGTERM)
    code = broker.proc.wait(timeout=15)
    assert not Path(f"/proc/{mosquitto}").exists() or _zombie(mosquitto), "Mosquitto outlived madoguchi broker"
    return code


def _zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")


def _uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[2])  # effective
    raise AssertionError("no Uid line")


def test_as_the_ci_user_a_device_logs_in_with_its_password_and_a_wrong_one_is_refused(open_folder):
    broker = start(open_folder / "var", free_port())
    if AS_ROOT:
        broker.expect(f"drops its privileges to user {BROKER_USER}")
    broker.expect("is listening on 127.0.0.1:")
    if AS_ROOT:  # the privilege drop happened and the files it reads are still private
        assert _uid(broker.mosquitto_pid()) == pwd.getpwnam(BROKER_USER).pw_uid
        assert (open_folder / "var" / "broker" / "passwd").stat().st_mode & 0o777 == 0o600
        assert (open_folder / "var" / "secrets" / "kiosk-1f.password").stat().st_mode & 0o777 == 0o600
    assert broker.login("kiosk-1f", broker.password("kiosk-1f")) == 0
    assert broker.login("kiosk-1f", "not-the-password") != 0
    assert broker.login("kiosk-1f", broker.password("board-1f")) != 0  # another device's password
    assert stop(broker) == 0


def test_root_with_a_state_folder_closed_to_the_broker_user_runs_it_as_root_and_says_so(tmp_path):
    if not AS_ROOT:
        pytest.skip("only root's Mosquitto drops privileges")  # CI runs as root
    assert tmp_path.parent.stat().st_mode & 0o077 == 0  # pytest's folders are 0700: user mosquitto is shut out
    broker = start(tmp_path / "var", free_port())
    broker.expect("Mosquitto runs as root: user 'mosquitto' cannot reach")
    broker.expect("is listening on")
    assert broker.login("panel-c01", broker.password("panel-c01")) == 0
    assert broker.login("panel-c01", "wrong") != 0
    assert stop(broker) == 0


def test_a_broker_that_cannot_start_says_why_and_exits_non_zero(open_folder):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        broker = start(open_folder / "var", port)
        code = broker.proc.wait(timeout=20)
        out = []
        while (line := broker.lines.get(timeout=5)) is not None:
            out.append(line)
    text = "".join(out)
    assert code != 0
    assert "Mosquitto could not start" in text and "Address already in use" in text, text
    assert "is listening" not in text  # it did not mistake our socket for its own
