"""Drive a real Kivy app from inside its own process: synthetic touches, waits, screenshots.

A scenario is a generator function ``scenario(app, ui, params)``; each ``yield`` hands
control back to Kivy's loop until a step is done: ``yield ui.until(cond, what)`` waits
for a condition (checked every frame, with a timeout: no sleeps as synchronisation),
``yield ui.shot(name)`` saves the screen after the next drawn frame. ``ui.tap(key)``
sends a touch down/up at the centre of the button with that ``key`` through Kivy's
real input path, so a hidden, covered or disabled button fails the test.

Run as ``python -m tests.ui.driver ROLE DEVICE_TOML SCENARIO RESULT_JSON [k=v ...]``;
the result file gets ``{"ok": bool, "error": str, **ui.result}``.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from tests.artifacts_dir import TEST_ARTIFACTS

ARTIFACTS = TEST_ARTIFACTS / "ui"


class Step:
    def __init__(self, done: Callable[[], bool], what: str, timeout: float) -> None:
        self.done = done
        self.what = what
        self.deadline = time.monotonic() + timeout


class UI:
    def __init__(self, app) -> None:
        self.app = app
        self.result: dict = {"screens": []}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------ finding
    def widgets(self):
        return self.app.root.walk(restrict=True)

    def find(self, key: str, must: bool = True):
        from kivy.uix.screenmanager import Screen, ScreenManager

        for w in self.widgets():
            if getattr(w, "key", None) == key and self._shown(w, Screen, ScreenManager):
                return w
        if must:
            raise AssertionError(f"no visible widget with key {key!r} on screen {self.app.sm.current!r}")
        return None

    @staticmethod
    def _shown(w, Screen, ScreenManager) -> bool:
        node = w
        while node is not None:
            if node.opacity == 0:
                return False
            parent = node.parent
            if isinstance(node, Screen) and isinstance(parent, ScreenManager) and parent.current != node.name:
                return False
            node = parent if parent is not node else None
        return True

    def buttons(self) -> list:
        from kivy.uix.button import Button
        from kivy.uix.screenmanager import Screen, ScreenManager

        return [w for w in self.widgets() if isinstance(w, Button) and self._shown(w, Screen, ScreenManager)]

    # ------------------------------------------------------------ acting
    def tap(self, key: str) -> Step:
        """A finger on the button ``key``: scrolls its list first if needed, then touches down/up.

        The step ends when the button saw the press; a scrolling list hands a touch to its
        children a moment later, so the check waits a few frames before calling it covered.
        """
        from kivy.clock import Clock

        state: dict = {"pressed": [], "frame": None}

        def done() -> bool:
            if state["frame"] is None:
                if not self._touch(key, state["pressed"]):
                    return False
                state["frame"] = Clock.frames_displayed
            if state["pressed"]:
                return True
            if Clock.frames_displayed > state["frame"] + 20:
                raise AssertionError(f"a touch at {key!r} did not reach it (covered?)")
            return False

        return Step(done, f"tap {key!r}", 10.0)

    def _touch(self, key: str, pressed: list) -> bool:
        from kivy.tests.common import UnitTestTouch

        w = self.find(key)
        if self._scroll_into_view(w):
            return False  # touch on a later frame, once the list has moved
        if w.disabled:
            raise AssertionError(f"button {key!r} is disabled")
        w.bind(on_press=lambda *_: pressed.append(True))
        touch = UnitTestTouch(*w.to_window(*w.center))
        touch.touch_down()
        touch.touch_up()
        return True

    def touch_swallowed(self, key: str) -> bool:
        """True if a touch on ``key`` does NOT press it (e.g. under the out-of-service overlay)."""
        pressed: list = []
        self._touch(key, pressed)
        return not pressed

    @staticmethod
    def _scroll_into_view(w) -> bool:
        """Like a finger would: scroll the enclosing list until the button is inside it."""
        from kivy.uix.scrollview import ScrollView

        node = w.parent
        while node is not None and not isinstance(node, ScrollView):
            node = node.parent if node.parent is not node else None
        if node is None:
            return False
        _wx, wy = w.to_window(w.x, w.y)
        _sx, sy = node.to_window(node.x, node.y)
        if wy < sy - 1 or wy + w.height > sy + node.height + 1:
            node.scroll_to(w, padding=0, animate=False)
            return True
        return False

    # ------------------------------------------------------------ steps
    def until(self, cond: Callable[[], object], what: str, timeout: float = 15.0) -> Step:
        return Step(lambda: bool(cond()), what, timeout)

    def screen(self, name: str, timeout: float = 15.0) -> Step:
        """Wait for a screen, then for two drawn frames so its layout is done before a tap."""
        from kivy.clock import Clock

        seen: list[int] = []

        def done() -> bool:
            if self.app.sm.current != name:
                return False
            if not seen:
                seen.append(Clock.frames_displayed)
            return Clock.frames_displayed >= seen[0] + 2

        return Step(done, f"screen {name!r}", timeout)

    def frames(self, n: int = 2) -> Step:
        from kivy.clock import Clock

        target = Clock.frames_displayed + n
        return self.until(lambda: Clock.frames_displayed >= target, f"{n} frames")

    def shot(self, name: str) -> Step:
        """Save the whole app as ``build/test-artifacts/ui/NAME.png`` once a fresh frame is drawn."""
        from kivy.clock import Clock

        path = ARTIFACTS / f"{name}.png"
        target = Clock.frames_displayed + 2
        saved: list[bool] = []

        def done() -> bool:
            if not saved and Clock.frames_displayed >= target:
                self.app.root.export_to_png(str(path))
                self.result["screens"].append(name)
                self.check_touch_targets(name)
                saved.append(True)
            self.app.root.canvas.ask_update()
            return bool(saved)

        return Step(done, f"screenshot {name}", 10.0)

    def boxes(self) -> dict:
        """What is on screen now, for checks on a screenshot (tests/accessibility.py): every visible
        label's text and text box, every visible button's box, key, state and whether it is disabled.
        Boxes are ``[left, top, right, bottom]`` in the screenshot's pixels (y down), clipped to any
        scrolling list around them; a widget scrolled out of view is left out."""
        from kivy.uix.button import Button
        from kivy.uix.label import Label
        from kivy.uix.screenmanager import Screen, ScreenManager
        from kivy.uix.scrollview import ScrollView

        height = self.app.root.height

        def clip(w, x0, y0, x1, y1):
            node = w.parent
            while node is not None and node is not node.parent:
                if isinstance(node, ScrollView):
                    sx, sy = node.to_window(node.x, node.y)
                    x0, y0, x1, y1 = max(x0, sx), max(y0, sy), min(x1, sx + node.width), min(y1, sy + node.height)
                node = node.parent
            if x1 - x0 < 1 or y1 - y0 < 1:
                return None
            return [round(x0), round(height - y1), round(x1), round(height - y0)]

        def under(w, cover) -> bool:
            node = w
            while node is not None and node is not node.parent:
                if node is cover:
                    return True
                node = node.parent
            return False

        # an active cover (idle warning, staff coming, out of service) hides everything below it
        covers = [c for c in self.app.root.children if getattr(c, "active", False)]
        labels, buttons = [], []
        for w in self.widgets():
            if not isinstance(w, Label) or not self._shown(w, Screen, ScreenManager):
                continue
            if covers and not under(w, covers[0]):
                continue
            if w.text.strip() and w.texture_size[0] > 0:
                tw, th = w.texture_size
                cx, cy = w.to_window(*w.center)
                box = clip(w, cx - tw / 2, cy - th / 2, cx + tw / 2, cy + th / 2)
                if box:
                    labels.append({"text": w.text, "box": box, "key": getattr(w, "key", "")})
            if isinstance(w, Button):
                x, y = w.to_window(w.x, w.y)
                box = clip(w, x, y, x + w.width, y + w.height)
                if box:
                    key = getattr(w, "key", "")
                    buttons.append({"key": key, "text": w.text, "box": box, "state": w.state, "disabled": w.disabled})
        return {"labels": labels, "buttons": buttons, "size": [round(self.app.root.width), round(height)]}

    def check_touch_targets(self, name: str) -> None:
        """Every visible button is at least 15 mm both ways (the theme's touch size)."""
        from kiosk.ui.theme import theme

        small = [
            (getattr(b, "key", "") or b.text, round(b.width), round(b.height))
            for b in self.buttons()
            if b.height < theme.touch - 1 or b.width < theme.touch - 1
        ]
        if small:
            raise AssertionError(f"{name}: buttons under 15 mm ({theme.touch:.0f} px): {small}")


def run(role: str, config: str, scenario: str, result_path: str, params: dict[str, str]) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from kiosk.config.device import load_device
    from kiosk.ui.run import make_app
    from madoguchi.roles import APPS

    app = make_app(APPS[role], load_device(config), windowed=True)
    from kivy.clock import Clock

    from tests.ui import scenarios

    ui = UI(app)
    state: dict = {"gen": None, "step": None, "error": None}

    def finish(error: str | None) -> None:
        ui.result.update(ok=error is None, error=error)
        Path(result_path).write_text(json.dumps(ui.result, ensure_ascii=False, default=str))
        state["error"] = error
        app.stop()

    def advance(_dt) -> bool:
        try:
            if state["gen"] is None:
                state["gen"] = getattr(scenarios, scenario)(app, ui, params)
            step: Step | None = state["step"]
            if step is not None and not step.done():
                if time.monotonic() > step.deadline:
                    raise AssertionError(f"timed out waiting for {step.what} (screen {app.sm.current!r})")
                return True
            state["step"] = next(state["gen"])
            return True
        except StopIteration:
            finish(None)
        except Exception:
            finish(traceback.format_exc())
        return False

    Clock.schedule_once(lambda _dt: Clock.schedule_interval(advance, 0), 0.2)
    app.run()
    if state["error"]:
        print(state["error"], file=sys.stderr)
    return 0 if state["error"] is None else 1


if __name__ == "__main__":
    role, config, scenario, result, *rest = sys.argv[1:]
    sys.exit(run(role, config, scenario, result, dict(kv.split("=", 1) for kv in rest)))
