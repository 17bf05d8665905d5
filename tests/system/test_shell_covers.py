"""The shell's covers (idle warning, "staff are coming", out of service) are in the widget tree only while they show.

Kivy draws every widget in the tree every frame, whatever its opacity: a hidden cover was a transparent layer over
the whole window in every frame (under software OpenGL a large share of the frame, bench/kiosk_frame.py). So each
cover is added when it shows and removed when it goes, and these tests hold what a resident meets to what it was:
out of service over everything (staff coming, the idle warning) and swallowing touches while the queue service is
really down, lifting when it is back; the idle warning and staff coming in their places; the board (no touch) with
out of service only. Screenshots: build/test-artifacts/ui/covers-*.png.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading

import pytest

from madoguchi.local import stop_process, wait_healthy
from tests.conftest import EXAMPLE_SITE
from tests.harness import free_port, start_service_process
from tests.system.test_ui_apps import Stack

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")


# ----------------------------------------------------------------- scenarios (run inside the app)
def _covers(app) -> list[str]:
    """What the window draws over the app, the topmost first."""
    return [type(w).__name__ for w in app.root.children if type(w).__name__ != "Surface"]


def _warn(app) -> None:
    """Nobody touched the screen for a while: the idle warning is due (19 s before the reset)."""
    from kivy.clock import Clock

    app.idle_seconds = 60
    app._last_touch = Clock.get_boottime() - 41


def covers_kiosk(app, ui, params):
    yield ui.until(lambda: app.in_service, "in service", timeout=30)
    yield ui.screen("home")
    seen = ui.result["covers"] = {"home": _covers(app)}
    yield ui.tap("one-procedure")  # nothing over the home screen takes the touch
    yield ui.screen("catalog")
    _warn(app)
    yield ui.until(lambda: app.idle_warning, "the idle warning")
    yield ui.frames(3)
    seen["idle"] = _covers(app)
    yield ui.shot("covers-idle-warning")
    yield ui.tap("idle-continue")
    yield ui.until(lambda: not app.idle_warning, "the warning gone")
    seen["continued"] = _covers(app)
    yield ui.tap("call-staff")
    yield ui.until(lambda: app.assistance_shown, "the staff-coming cover")
    yield ui.frames(3)
    seen["staff"] = _covers(app)
    yield ui.shot("covers-staff-coming")
    # the queue service goes down while the resident waits for staff: out of service over everything
    open(params["stop_flag"], "w").close()  # noqa: SIM115 - tells the test to stop the service
    yield ui.until(lambda: not app.in_service, "out of service", timeout=30)
    yield ui.frames(3)
    seen["down_staff"] = _covers(app)
    yield ui.shot("covers-out-of-service-over-staff-coming")
    ui.result["back_swallowed"] = ui.touch_swallowed("assist-back")
    ui.result["still_staff"] = app.assistance_shown
    app.end_assistance()  # the call expires
    seen["down"] = _covers(app)
    _warn(app)  # the idle warning comes up under the out-of-service cover
    yield ui.until(lambda: app.idle_warning, "the idle warning")
    yield ui.frames(3)
    seen["down_idle"] = _covers(app)
    yield ui.shot("covers-out-of-service-over-idle-warning")
    open(params["start_flag"], "w").close()  # noqa: SIM115 - tells the test to start the service again
    yield ui.until(lambda: app.in_service, "back in service", timeout=30)
    seen["up_idle"] = _covers(app)
    yield ui.tap("idle-continue")
    yield ui.until(lambda: not app.idle_warning, "the warning gone")
    seen["end"] = _covers(app)
    ui.result["screen"] = app.sm.current


def covers_board(app, ui, params):
    yield ui.until(lambda: app.link.broker_up, "the broker")
    yield ui.until(lambda: not app.in_service, "out of service")
    yield ui.frames(3)
    ui.result["covers"] = _covers(app)
    yield ui.shot("covers-board-out-of-service")


# ----------------------------------------------------------------- the tests
def _wait_for(path: str, run, timeout: float = 90.0) -> None:
    event = threading.Event()
    for _ in range(int(timeout * 20)):
        if os.path.exists(path):
            return
        if run.proc.poll() is not None:
            run.result()  # the app ended: its error
            raise AssertionError(f"the app ended before {path}")
        event.wait(0.05)
    raise AssertionError(f"timed out waiting for {path}")


def test_each_cover_is_drawn_only_while_it_shows_and_out_of_service_stays_on_top(site, tmp_path, display):
    stack = Stack(site, tmp_path, display)
    stop_flag, start_flag = str(tmp_path / "stop"), str(tmp_path / "start")
    try:
        run = stack.drive(
            "ticket",
            "kiosk-1f",
            "covers_kiosk",
            wait=False,
            module="tests.system.test_shell_covers",
            stop_flag=stop_flag,
            start_flag=start_flag,
        )
        _wait_for(stop_flag, run)
        stop_process(stack.service)
        _wait_for(start_flag, run)
        http = free_port()
        stack.service = start_service_process(stack.broker, EXAMPLE_SITE, http)
        wait_healthy(http, [stack.service])
        result = run.result()
    finally:
        stack.stop()
    assert result["covers"] == {
        "home": [],
        "idle": ["IdleWarning"],
        "continued": [],
        "staff": ["StaffComing"],
        "down_staff": ["OutOfService", "StaffComing"],
        "down": ["OutOfService"],
        "down_idle": ["OutOfService", "IdleWarning"],
        "up_idle": ["IdleWarning"],
        "end": [],
    }
    assert result["back_swallowed"] is True and result["still_staff"] is True
    assert result["screen"] == "catalog"


def test_the_board_draws_only_the_out_of_service_cover_while_out_of_service(site, tmp_path, display):
    stack = Stack(site, tmp_path, display, with_service=False)
    try:
        result = stack.drive("board", "board-1f", "covers_board", module="tests.system.test_shell_covers")
    finally:
        stack.stop()
    assert result["covers"] == ["OutOfService"]


if __name__ == "__main__":
    from tests.ui import driver, scenarios

    for name in ("covers_kiosk", "covers_board"):
        setattr(scenarios, name, globals()[name])
    role, config, scenario, result, *rest = sys.argv[1:]
    sys.exit(driver.run(role, config, scenario, result, dict(kv.split("=", 1) for kv in rest)))
