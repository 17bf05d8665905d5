"""The call board for a hall, driven by the real broker and queue service under Xvfb: 1, 6 and 20 recent calls at
1280×720 and 1920×1080, normal and accessible, saved as build/test-artifacts/board/*.png, and the flash of a new call.

The site is a copy of the example with ``recent_calls = 20``, so the retained board state really holds 20 calls
(the board shows as many as its panel fits). The calls go through the service as a call panel would make them.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from kiosk.config import load_site
from kiosk.i18n import gettext_for
from madoguchi.local import free_port, start_broker, start_service_process, stop_process, wait_healthy
from tests.artifacts_dir import TEST_ARTIFACTS
from tests.system.test_ui_apps import Run

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")
SHOTS = TEST_ARTIFACTS / "board"
EXAMPLE = Path(__file__).resolve().parents[2] / "sites" / "example"
#: The board hangs on the 1st floor; where things are from it.
DIRECTIONS = {"jumin": "left", "c04": "ahead", "koseki": "right", "shomei": "right", "onestop": "back"}
#: 20 calls in this order: (counter, procedures, life event). Floors 1, 2, 3 and the four booths.
CALLS = [
    ("c01", ["tennyu"], None),
    ("c21", ["kokuho_kanyu"], None),
    ("b1", ["tennyu"], "moving_in"),
    ("c07", ["juminhyo"], None),
    ("c31", ["kaigo_shikaku"], None),
    ("c04", ["mynumber_card"], None),
    ("c05", ["shussei"], None),
    ("c23", ["nenkin_kanyu"], None),
    ("b2", ["tennyu"], "moving_in"),
    ("c08", ["juminhyo"], None),
    ("c24", ["jidou_teate"], None),
    ("c32", ["shotoku_shomei"], None),
    ("c02", ["tennyu"], None),
    ("b3", ["tennyu"], "moving_in"),
    ("c22", ["kokuho_kanyu"], None),
    ("c06", ["shussei"], None),
    ("c03", ["tennyu"], None),
    ("c25", ["jidou_teate"], None),
    ("b4", ["tennyu"], "moving_in"),
    ("c07", ["juminhyo"], None),
]
#: Tickets left waiting (the table's counts): certificates, insurance, pension, child benefits.
WAITING = [["juminhyo"]] * 4 + [["kokuho_kanyu"]] * 3 + [["nenkin_kanyu"]] * 2 + [["jidou_teate"]] * 2


class BoardStack:
    """Broker, queue service (on the site copy) and a kiosk and a call panel on the bus."""

    def __init__(self, state: Path, display: str) -> None:
        self.state, self.display = state, display
        self.site_path = state / "site" / "site.toml"
        shutil.copytree(EXAMPLE, self.site_path.parent)
        text = self.site_path.read_text(encoding="utf-8")
        assert "recent_calls = 8" in text
        self.site_path.write_text(text.replace("recent_calls = 8", "recent_calls = 20"), encoding="utf-8")
        self.broker = start_broker(load_site(self.site_path), state)
        http = free_port()
        self.service = start_service_process(self.broker, self.site_path, http)
        wait_healthy(http, [self.service])
        self.kiosk, self.panel = self.broker.bus("kiosk-1f"), self.broker.bus("panel-demo")
        self.called = 0
        self.open: set[str] = set()

    def issue_all(self) -> None:
        for _counter, procedures, event in CALLS:
            args = {"procedures": procedures, **({"life_event": event} if event else {})}
            self.kiosk.request("issue", args)
        for procedures in WAITING:
            self.kiosk.request("issue", {"procedures": procedures})

    def call_until(self, count: int) -> None:
        """Call the next tickets of CALLS until ``count`` have been called (counters complete theirs at once,
        booths keep their resident)."""
        while self.called < count:
            counter, _procedures, event = CALLS[self.called]
            if counter not in self.open:
                self.panel.request("open_counter", {"counter": counter})
                self.open.add(counter)
            ticket = self.panel.request("call_next", {"counter": counter})["ticket"]
            assert ticket is not None, f"nobody to call at {counter}"
            if event is None:
                self.panel.request("complete", {"counter": counter})
            self.called += 1

    def close(self, counter: str) -> None:
        self.panel.request("close_counter", {"counter": counter})
        self.open.discard(counter)

    def board(
        self,
        name: str,
        size: tuple[int, int],
        accessible: bool,
        scenario: str,
        device: str = "board-1f",
        module: str = "tests.system.test_board_app",
        **params,
    ) -> Run:
        """The board app as ``device`` (hanging on the 1st floor) in its own process, running ``scenario`` (of
        ``module``: a test module that adds its scenarios to the driver's when run as ``__main__``)."""
        width, height = size
        config = self.broker.device_file(
            device,
            self.site_path,
            screen={"fullscreen": False, "width": width, "height": height, "diagonal_in": 55, "accessible": accessible},
            floor=1,
            directions=DIRECTIONS,
            flash_seconds=params.pop("flash_seconds", 0),
            chime=False,
        )
        result = self.state / f"board-{name}.json"
        cmd = [sys.executable, "-m", module, "board", str(config), scenario, str(result)]
        cmd += [f"{k}={v}" for k, v in {"name": name, **params}.items()]
        import os
        import subprocess

        env = dict(os.environ, DISPLAY=self.display, SDL_AUDIODRIVER="dummy")
        log = self.state / f"board-{name}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(cmd, env=env, cwd=Path(__file__).resolve().parents[2], stderr=err)
        return Run(proc, result, log)

    def stop(self) -> None:
        for bus in (self.kiosk, self.panel):
            bus.stop()
        stop_process(self.service)
        self.broker.stop()


@pytest.fixture
def board_stack(tmp_path, big_display):
    SHOTS.mkdir(parents=True, exist_ok=True)
    stack = BoardStack(tmp_path, big_display)
    yield stack
    stack.stop()


def test_board_with_1_6_and_20_calls_at_two_sizes_normal_and_accessible(board_stack):
    board_stack.issue_all()
    results = {}
    for calls in (1, 6, 20):
        board_stack.call_until(calls)
        if calls == 20:
            board_stack.close("c32")  # 税証明: nobody open any more → "not open", not a dash
        for accessible in (False, True):
            runs = {}  # two boards at once: each its own device (one bus client id each)
            for device, size in (("board-1f", (1280, 720)), ("board-2f", (1920, 1080))):
                name = f"board-{size[0]}x{size[1]}-{calls:02d}-calls-{'accessible' if accessible else 'normal'}"
                runs[name] = board_stack.board(name, size, accessible, "board_still", device=device, calls=calls)
            for name, run in runs.items():
                results[name] = run.result(timeout=120)
    for name, shown in results.items():
        assert (SHOTS / f"{name}.png").is_file()
        assert shown["buttons"] == [], f"{name}: a board has nothing to touch"
        assert shown["window"] == shown["size"], f"{name}: the window is the panel's size"
        cells = shown["cells"]
        calls = int(name.split("-")[2])
        assert len(cells) == min(calls, shown["grid_count"]), name
        assert 4 <= shown["grid_count"] <= 8
        for cell in cells:
            # the number is one line, the largest text, and inside its cell; so are the lines under it
            assert cell["number_lines"] == 1, (name, cell)
            assert cell["number_w"] <= cell["w"] and cell["number_px"] > cell["counter_px"], (name, cell)
            assert cell["inside"], (name, cell)
        assert [c["newest"] for c in cells] == [True] + [False] * (len(cells) - 1)
        assert shown["rows_bottom"] >= shown["footer_top"], f"{name}: the waiting table runs into the ticker"
        assert shown["covers"] == [], f"{name}: in service, nothing is drawn over the board"
    newest = results["board-1280x720-20-calls-normal"]["cells"]
    # newest first: the 20th call (c07), then c19's booth B4 (behind the board), then 2F/1F counters
    assert "7番窓口" in newest[0]["text"] and "→" in newest[0]["text"]
    assert "ワンストップ B4" in newest[1]["text"] and "↓" in newest[1]["text"]
    assert "25番窓口" in newest[2]["text"] and "▲ 2階" in newest[2]["text"] and ja("upstairs") in newest[2]["text"]
    assert "3番窓口" in newest[3]["text"] and "←" in newest[3]["text"]
    table = results["board-1280x720-20-calls-normal"]["rows"]
    by_name = {row[0]: row for row in table}
    assert by_name["税証明"][3] == ja("Not open") and by_name["証明発行"][2] == ja("{count} people").format(count=4)
    big = results["board-1920x1080-06-calls-normal"]
    assert big["number_mm"] >= 50, "a 55-inch board is read from 10 m"


def ja(message: str) -> str:
    return gettext_for("ja", message)


def test_a_new_call_flashes_for_its_seconds_then_stays_highlighted(board_stack):
    board_stack.issue_all()
    board_stack.call_until(2)
    flag = board_stack.state / "ready"
    run = board_stack.board("flash", (1280, 720), False, "board_flash", flash_seconds=2, ready_flag=flag, calls=3)
    _wait_for_file(flag)
    board_stack.call_until(3)
    shown = run.result(timeout=120)
    assert shown["flashed_before"] is False, "the retained state of a restart does not flash"
    assert shown["cells_kept"] == [True, True], "the two calls already on the board kept their cells"
    assert shown["phases"] == [True, False], "the newest cell inverts and back"
    assert 1.5 <= shown["flash_s"] <= 4.0
    assert shown["cells"][0]["newest"] and "ワンストップ B1" in shown["cells"][0]["text"]


def _wait_for_file(path: Path, timeout: float = 60.0) -> None:
    import threading

    event = threading.Event()
    for _ in range(int(timeout * 20)):
        if path.exists():
            return
        event.wait(0.05)
    raise AssertionError(f"{path} never appeared")


# ----------------------------------------------------------------- scenarios (run inside the board's process)
def _in_service(app, ui):
    return ui.until(lambda: app.in_service, "broker and queue service reachable", timeout=30)


def _still(app, ui, path: Path):
    """Save the whole window as ``path`` once a fresh frame is drawn."""
    from kivy.clock import Clock

    target = Clock.frames_displayed + 2
    saved: list[bool] = []

    def done() -> bool:
        if not saved and Clock.frames_displayed >= target:
            app.root.export_to_png(str(path))
            saved.append(True)
        app.root.canvas.ask_update()
        return bool(saved)

    return ui.until(done, f"screenshot {path.name}")


def _describe(app, ui) -> None:
    """What is on the board, measured from its widgets: cells, the number's lines, what fits where."""
    from kivy.core.window import Window

    board = app.sm.get_screen("board")
    lay = board.lay
    grid = board.ids.calls
    cells = []
    for cell in reversed(grid.children):
        labels = {getattr(child, "text", None): child for child in cell.children}
        number, counter = labels[str(cell.number)], labels[cell.counter]
        number.texture_update()
        cx, cy = cell.to_window(cell.x, cell.y)
        gx, gy = grid.to_window(grid.x, grid.y)
        cells.append(
            {
                "text": f"{cell.number} {cell.counter} {cell.where}",
                "newest": cell.newest,
                "number_px": number.font_size,
                "counter_px": counter.font_size,
                # a line of the font is 1.45 em: two lines would be twice that
                "number_lines": round(number.texture_size[1] / (number.font_size * 1.45)),
                "number_w": number.texture_size[0],
                "w": cell.width,
                "inside": gx - 1 <= cx and cx + cell.width <= gx + grid.width + 1 and gy - 1 <= cy,
            }
        )
    rows = [[r.name, r.floor, r.waiting, r.wait] for r in reversed(board.ids.groups.children)][1:]
    last = board.ids.groups.children[0]
    ui.result.update(
        cells=cells,
        rows=rows,
        page=board.ids.page.text,
        grid_count=lay.grid.count,
        number_mm=round(lay.number_mm, 1),
        number_reach_m=round(lay.number_reach_m, 1),
        rows_bottom=last.to_window(last.x, last.y)[1],
        footer_top=lay.footer_h,
        buttons=[getattr(b, "key", "") or b.text for b in ui.buttons()],
        # what the window draws besides the board: no hidden covers (each a transparent full-window layer)
        covers=[type(w).__name__ for w in app.root.children if type(w).__name__ != "Surface"],
        window=list(Window.size),
        size=[app.device.screen.width, app.device.screen.height],
    )


def board_still(app, ui, params):
    """Wait for the retained board state (``calls`` calls) and the groups, then save the board."""
    want = int(params["calls"])
    yield _in_service(app, ui)
    yield ui.until(lambda: len(app.recent) >= want, f"{want} calls in the board state", timeout=30)
    yield ui.until(lambda: len(app.group_states) == len(app.site.groups), "every group's state", timeout=30)
    yield ui.frames(3)
    yield _still(app, ui, SHOTS / f"{params['name']}.png")
    _describe(app, ui)


def board_flash(app, ui, params):
    """Started on a retained state (no flash), then a new call: the newest cell inverts for its seconds."""
    from kivy.clock import Clock

    board = app.sm.get_screen("board")
    yield _in_service(app, ui)
    yield ui.until(lambda: len(app.recent) >= int(params["calls"]) - 1, "the retained calls", timeout=30)
    yield ui.frames(3)
    ui.result["flashed_before"] = board.flashing
    before = list(reversed(board.ids.calls.children))
    open(params["ready_flag"], "w").close()  # noqa: SIM115 - tells the test to make the next call
    yield ui.until(lambda: len(app.recent) >= int(params["calls"]), "the new call", timeout=60)
    started = Clock.get_boottime()
    after = list(reversed(board.ids.calls.children))
    # the calls already shown keep their cells (moved one place on, not built again): only the new one is drawn anew
    ui.result["cells_kept"] = [a is b for a, b in zip(before, after[1:], strict=False)]
    yield ui.until(lambda: board.flashing, "the flash")
    phases = [board.flash_on]
    yield ui.frames(1)
    yield _still(app, ui, SHOTS / "board-flash-inverted.png")
    yield ui.until(lambda: not board.flash_on, "the other phase")
    phases.append(board.flash_on)
    yield ui.until(lambda: not board.flashing, "the end of the flash", timeout=10)
    ui.result["flash_s"] = round(Clock.get_boottime() - started, 2)
    ui.result["phases"] = phases
    yield ui.frames(2)
    yield _still(app, ui, SHOTS / "board-flash-after.png")
    _describe(app, ui)


if __name__ == "__main__":
    from tests.ui import driver, scenarios

    for _name in ("board_still", "board_flash"):
        setattr(scenarios, _name, globals()[_name])
    role, config, scenario, result, *rest = sys.argv[1:]
    sys.exit(driver.run(role, config, scenario, result, dict(kv.split("=", 1) for kv in rest)))
