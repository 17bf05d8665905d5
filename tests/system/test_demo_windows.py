"""The README's demo command exactly as a newcomer types it: ``.venv/bin/madoguchi demo`` from the repository
root with the default (relative) state folder ``./var``, on a virtual screen.

Every window must come up and stay up for 30 s with no traceback in any log; then the demo must stop
completely, whether its main process gets SIGTERM or the whole process group gets SIGINT (what Ctrl-C does):
no process of it (windows, simulators, the queue service, Mosquitto, pcscd) may be left, checked by PID.
The five app windows and the two demo windows are saved as screenshots (build/test-artifacts/demo/).
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from madoguchi.local import start_xvfb
from tests.artifacts_dir import TEST_ARTIFACTS
from tests.harness import ROOT

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)"),
]

STATE = ROOT / "var" / "demo"  # the README's default state folder, relative to where the command runs
ARTIFACTS = TEST_ARTIFACTS / "demo"
#: Window title → screenshot name, and where the test places it on the big virtual screen (no window manager).
WINDOWS = {
    "smart madoguchi — kiosk-1f": ("ticket-kiosk", (0, 0)),
    "smart madoguchi — forms-1f": ("form-issuer", (1280, 0)),
    "smart madoguchi — register-1f": ("self-register", (0, 800)),
    "smart madoguchi — board-1f": ("call-board", (1280, 800)),
    "smart madoguchi — panel-demo": ("call-panel", (0, 1600)),
    "Register hardware (demo)": ("register-hardware", (2560, 0)),
    "Card simulator (demo)": ("card", (2560, 800)),
}
#: What must be running, by a piece of its command line.
PARTS = {
    "ticket kiosk": "kiosk ticket",
    "call panel": "kiosk panel",
    "call board": "kiosk board",
    "form issuer": "kiosk forms",
    "self register": "kiosk register",
    "card window": "devkit.card_window",
    "register hardware window": "devkit.register_window",
    "queue service": "madoguchi service",
    "broker": "mosquitto",
}
UP_FOR = 30.0
STOP_WITHIN = 15.0


def demo_command() -> list[str]:
    readme = ROOT / ".venv" / "bin" / "madoguchi"
    if readme.exists():
        return [".venv/bin/madoguchi", "demo"]  # relative, as printed in the README
    return [str(Path(sys.executable).with_name("madoguchi")), "demo"]  # a venv elsewhere (a developer's)


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(root: int) -> dict[int, str]:
    """Every live process under ``root`` (by parent pid, read from /proc), with its command line."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(") ", 1)[1].split()[1])
    found, frontier = {}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in found:
                found[pid] = cmdline(pid)
                frontier.append(pid)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Demo:
    def __init__(self, display: str) -> None:
        self.display = display
        self.logs_before = {log: log.stat().st_size for log in STATE.glob("*.log")} if STATE.exists() else {}
        env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
        env["DISPLAY"] = display
        self.proc = subprocess.Popen(
            demo_command(),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a shell gives a foreground job
        )
        self.started = time.monotonic()
        self.output: list[str] = []
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def expect(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the demo ended (exit {self.proc.wait()}):\n{''.join(self.output)[-3000:]}")
            if text in line:
                return
        raise AssertionError(f"the demo did not say {text!r} in {timeout} s:\n{''.join(self.output)[-3000:]}")

    def new_log_text(self) -> dict[str, str]:
        """What each log under the state folder got during this run."""
        texts = {}
        for log in STATE.glob("*.log"):
            with log.open("rb") as f:
                f.seek(self.logs_before.get(log, 0))
                texts[log.name] = f.read().decode(errors="replace")
        return texts

    def kill_all(self) -> None:
        """After a failed test: nothing of it may outlive the test either."""
        with contextlib.suppress(ProcessLookupError):  # the group outlives its leader if the test failed
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


@pytest.fixture(scope="module")
def big_screen():
    """Room for all seven windows side by side (they open on top of each other without a window manager)."""
    proc, name = start_xvfb(3100, 2400)
    yield name
    proc.kill()
    proc.wait()


@pytest.fixture
def demo(big_screen):
    running = Demo(big_screen)
    yield running
    running.kill_all()


def windows(display: str) -> dict[str, str]:
    """Title → X window id of the top-level windows."""
    out = subprocess.run(
        ["xwininfo", "-root", "-children"], env={**os.environ, "DISPLAY": display}, capture_output=True, text=True
    ).stdout
    found = {}
    for line in out.splitlines():
        parts = line.strip().split('"')
        if len(parts) >= 2 and parts[0].strip().startswith("0x"):
            found[parts[1]] = parts[0].strip()
    return found


def screenshots(display: str) -> dict[str, Path]:
    """Place each window at its spot, wait until the screen shows it drawn there, and save it."""
    from PIL import ImageGrab

    env = {**os.environ, "DISPLAY": display}
    found = windows(display)
    sizes = {}
    for title, (name, (x, y)) in WINDOWS.items():
        subprocess.run(["xdotool", "windowmove", found[title], str(x), str(y)], env=env, check=True)
        geometry = subprocess.run(
            ["xdotool", "getwindowgeometry", "--shell", found[title]], env=env, capture_output=True, text=True
        ).stdout
        values = dict(line.split("=", 1) for line in geometry.split())
        sizes[name] = (x, y, x + int(values["WIDTH"]), y + int(values["HEIGHT"]))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    saved = {}
    deadline = time.monotonic() + 30
    pending = dict(sizes)
    # A moved window first shows whatever pixels were there (no window manager, no backing store) until
    # its app redraws on the expose event (Kivy asks for a frame at once): so a shot is taken from the
    # second grab on, half a second after the move, once it is drawn (not a blank or black area).
    previous: dict[str, bytes] = {}
    while pending and time.monotonic() < deadline:
        screen = ImageGrab.grab(xdisplay=display)
        for name, box in list(pending.items()):
            shot = screen.crop(box)
            pixels = shot.tobytes()
            drawn = len(shot.getcolors(maxcolors=1 << 16) or [0] * 100) > 8  # not a blank or black area
            if drawn and name in previous:
                shot.save(ARTIFACTS / f"{name}.png")
                saved[name] = ARTIFACTS / f"{name}.png"
                del pending[name]
            previous[name] = pixels
        time.sleep(0.5)
    assert not pending, f"windows not drawn after moving them: {sorted(pending)}"
    return saved


def run_and_check(demo: Demo, shoot: bool) -> dict[int, str]:
    """Up for 30 s with every part alive and no traceback; returns the demo's processes."""
    demo.expect("Close any window or press Ctrl-C to stop.", timeout=75)
    missing = set(WINDOWS)
    deadline = time.monotonic() + 60
    while missing and time.monotonic() < deadline:
        missing = set(WINDOWS) - set(windows(demo.display))
        time.sleep(0.2)
    assert not missing, f"windows that never opened: {sorted(missing)}"
    time.sleep(max(0.0, UP_FOR - (time.monotonic() - demo.started)))  # the spell it must stay up, not a sync
    if shoot:  # by now every app has connected and checked its hardware
        shots = screenshots(demo.display)
        assert len(shots) == len(WINDOWS)
    assert demo.proc.poll() is None, "".join(demo.output)[-3000:]
    running = descendants(demo.proc.pid)
    for part, needle in PARTS.items():
        assert any(needle in cmd for cmd in running.values()), f"{part} is not running: {running}"
    if "pcscd + vsmartcard-vpcd (real PC/SC path)" in "".join(demo.output):  # the demo started its own pcscd
        assert any("pcscd --foreground" in cmd for cmd in running.values()), running
    for name, text in demo.new_log_text().items():
        assert "Traceback" not in text, f"{name}:\n{text[-3000:]}"
        assert "too much iteration" not in text, f"{name}: a layout loop"
    return running


def assert_stopped(demo: Demo, running: dict[int, str]) -> None:
    started = time.monotonic()
    demo.proc.wait(timeout=STOP_WITHIN)
    while (left := [pid for pid in running if alive(pid)]) and time.monotonic() - started < STOP_WITHIN:
        time.sleep(0.1)
    assert not left, {pid: running[pid] for pid in left}
    report = "".join(line for line in demo.output if "stopped: " in line or "had ended: " in line)
    for part in PARTS:  # it says what it stopped: every part, by name
        assert part in report, f"{part} missing from the demo's stop report:\n{''.join(demo.output)[-1500:]}"


def test_the_readme_demo_runs_and_stops_on_sigterm_to_its_main_process(demo):
    running = run_and_check(demo, shoot=True)
    demo.proc.send_signal(signal.SIGTERM)
    assert_stopped(demo, running)
    assert demo.proc.returncode == 0
    assert "stopping (SIGTERM)" in "".join(demo.output)


def test_the_readme_demo_stops_on_ctrl_c_to_its_process_group(demo):
    running = run_and_check(demo, shoot=False)
    os.killpg(demo.proc.pid, signal.SIGINT)
    assert_stopped(demo, running)
