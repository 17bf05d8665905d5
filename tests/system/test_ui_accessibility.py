"""What a resident meets at the shared shell, measured on real screenshots under Xvfb.

- contrast: every label's text ≥ 4.5:1 and every control's edge ≥ 3:1 (tests/accessibility.py), on the
  ticket kiosk home in normal, larger-text and accessible (high contrast + 1.3×) mode, on the idle warning
  and the "staff are coming" cover, and on the call panel's main screen;
- touch targets in millimetres on three panels (7″ 800×480, 10.1″ 1280×800, 15.6″ 1920×1080): every
  visible button ≥ 15 mm both ways (kiosk home and call panel);
- the idle warning counts down and Continue keeps the resident's screen; Call staff raises
  ``assistance_requested`` in the device's presence.

Screenshots and the boxes measured: build/test-artifacts/ui/a11y-*.png / *.boxes.json.
"""

from __future__ import annotations

import json
import sys

import pytest
from PIL import Image, ImageDraw

from kiosk.ui.sizing import MIN_TARGET_MM, px_to_mm
from tests.accessibility import check_screen, contrast, edge_contrast, measure, text_contrast
from tests.system.test_ui_apps import Stack

PANELS = {"7in": (800, 480, 7.0), "10in": (1280, 800, 10.1), "15in": (1920, 1080, 15.6)}


# ----------------------------------------------------------------- the checks can fail
def test_the_contrast_check_fails_on_low_contrast_text_and_edges_and_passes_good_ones():
    image = Image.new("RGB", (400, 200), "#f4f6f8")
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), "Pale text pale text", fill="#c8ccd0", font_size=24)  # ~1.5:1
    draw.text((20, 120), "Dark text dark text", fill="#1b1f24", font_size=24)
    draw.rounded_rectangle((250, 20, 380, 90), 10, fill="#dfe6ee")  # the old secondary button: ~1.16:1
    draw.rounded_rectangle((250, 110, 380, 180), 10, fill="#dfe6ee", outline="#56606b", width=3)
    boxes = {
        "labels": [{"text": "pale", "box": [18, 18, 240, 52]}, {"text": "dark", "box": [18, 118, 240, 152]}],
        "buttons": [
            {"key": "flat", "text": "", "box": [246, 16, 384, 94]},
            {"key": "edged", "text": "", "box": [246, 106, 384, 184]},
        ],
    }
    problems = {(p.kind, p.what.split()[0]) for p in check_screen(image, boxes)}
    assert problems == {("text", "'pale'"), ("edge", "'flat'")}
    assert text_contrast(image, [18, 118, 240, 152])[0] > 12
    assert 1.1 < edge_contrast(image, [246, 16, 384, 94])[0] < 1.25
    assert abs(contrast((255, 255, 255), (0, 0, 0)) - 21) < 1e-9


def test_the_overlap_check_finds_text_over_text():
    image = Image.new("RGB", (300, 100), "black")
    boxes = {"labels": [{"text": "a", "box": [0, 0, 200, 50]}, {"text": "b", "box": [100, 30, 300, 90]}], "buttons": []}
    assert [p.kind for p in check_screen(image, boxes)] == ["overlap"]


# ----------------------------------------------------------------- scenarios (run inside the app)
def _shot(ui, name: str):
    """A screenshot with the boxes the checks need beside it."""
    from tests.ui.driver import ARTIFACTS

    yield ui.frames(3)
    yield ui.shot(name)
    (ARTIFACTS / f"{name}.boxes.json").write_text(json.dumps(ui.boxes(), ensure_ascii=False))
    ui.result.setdefault("shots", []).append(name)


def _targets(app, ui) -> list:
    s = app.device.screen
    return [
        (
            b.key or b.text,
            px_to_mm(b.width, s.width, s.height, s.diagonal_in),
            px_to_mm(b.height, s.width, s.height, s.diagonal_in),
        )
        for b in ui.buttons()
    ]


def a11y_kiosk(app, ui, params):
    from kivy.clock import Clock

    from kiosk.ui.theme import theme

    yield ui.until(lambda: app.in_service, "in service", timeout=20)
    yield ui.screen("home")
    tag = params["tag"]
    ui.result["targets"] = _targets(app, ui)
    ui.result["touch_px"] = theme.touch
    if params.get("full") != "1":
        yield from _shot(ui, f"a11y-kiosk-home-{tag}")
        return
    yield from _shot(ui, f"a11y-kiosk-home-{tag}-normal")
    theme.scale = 1.3  # larger text alone, normal colours
    yield from _shot(ui, f"a11y-kiosk-home-{tag}-larger")
    theme.scale = 1.0
    yield ui.tap("a11y")  # accessible: high contrast and 1.3×
    yield ui.until(lambda: theme.accessible, "accessible mode")
    yield from _shot(ui, f"a11y-kiosk-home-{tag}-accessible")
    ui.result["targets_accessible"] = _targets(app, ui)
    yield ui.tap("a11y")
    yield ui.tap("lang-ja-easy")
    yield from _shot(ui, f"a11y-kiosk-home-{tag}-ja-easy")
    yield ui.tap("lang-ja")
    # walk away from a screen that holds something: warned first, with the seconds left
    yield ui.tap("one-procedure")
    yield ui.screen("catalog")
    app.idle_seconds = 60
    app._last_touch = Clock.get_boottime() - 45
    yield ui.until(lambda: app.idle_warning, "the idle warning")
    ui.result["idle_left"] = app.idle_left
    yield from _shot(ui, f"a11y-kiosk-idle-warning-{tag}")
    yield ui.tap("idle-continue")
    yield ui.until(lambda: not app.idle_warning, "the warning gone")
    ui.result["after_continue"] = app.sm.current
    # help
    yield ui.tap("call-staff")
    yield ui.until(lambda: app.assistance_shown, "the staff-coming cover")
    yield ui.until(lambda: "assistance_requested" in app.link.bus.faults, "the presence flag")
    ui.result["faults"] = list(app.link.bus.faults)
    yield from _shot(ui, f"a11y-kiosk-staff-coming-{tag}")
    yield ui.tap("assist-back")
    yield ui.until(lambda: not app.assistance_shown, "the cover gone")
    app.idle_seconds = 1
    yield ui.until(lambda: app.sm.current == "home" and not app.assistance, "the idle reset", timeout=10)
    yield ui.until(lambda: "assistance_requested" not in app.link.bus.faults, "the flag cleared", timeout=10)
    ui.result["faults_after_reset"] = list(app.link.bus.faults)


def a11y_panel(app, ui, params):
    from kiosk.ui.theme import theme

    yield ui.until(lambda: app.in_service, "in service", timeout=20)
    yield ui.frames(5)
    ui.result["screen"] = app.sm.current
    ui.result["targets"] = _targets(app, ui)
    ui.result["touch_px"] = theme.touch
    yield from _shot(ui, f"a11y-panel-{params['tag']}")


# ----------------------------------------------------------------- the tests
def _drive(stack: Stack, role: str, device: str, scenario: str, panel: str, **params) -> dict:
    width, height, diagonal = PANELS[panel]
    return stack.drive(
        role,
        device,
        scenario,
        module="tests.system.test_ui_accessibility",
        screen={"width": width, "height": height, "diagonal_in": diagonal},
        tag=panel,
        **params,
    )


CONTRAST = ("text", "edge")
LAYOUT = ("overlap", "off screen")


def _check(name: str, kinds: tuple[str, ...] = CONTRAST + LAYOUT) -> list:
    from tests.ui.driver import ARTIFACTS

    png = ARTIFACTS / f"{name}.png"
    boxes = json.loads((ARTIFACTS / f"{name}.boxes.json").read_text())
    problems = check_screen(png, boxes)
    (ARTIFACTS / f"{name}.contrast.json").write_text(json.dumps(measure(png, boxes), ensure_ascii=False, indent=1))
    return [str(p) for p in problems if p.kind in kinds]


def _small(targets: list) -> list:
    return [(k, round(w, 1), round(h, 1)) for k, w, h in targets if w < MIN_TARGET_MM or h < MIN_TARGET_MM]


def test_kiosk_home_contrast_idle_warning_and_call_staff_at_10_inch(site, tmp_path, display):
    stack = Stack(site, tmp_path, display)
    try:
        result = _drive(stack, "ticket", "kiosk-1f", "a11y_kiosk", "10in", full="1")
    finally:
        stack.stop()
    for shot in result["shots"]:
        assert _check(shot, CONTRAST) == [], shot
    assert _small(result["targets"]) == [] and _small(result["targets_accessible"]) == []
    assert 1 <= result["idle_left"] <= 20 and result["after_continue"] == "catalog"
    assert "assistance_requested" in result["faults"]
    assert "assistance_requested" not in result["faults_after_reset"]
    layout = {shot: _check(shot, LAYOUT) for shot in result["shots"] if "home" in shot}
    assert not any(layout.values()), f"text overlaps or leaves the screen: {layout}"


@pytest.mark.parametrize("panel", ["7in", "15in"])
def test_kiosk_home_touch_targets_in_millimetres(site, tmp_path, display, big_display, panel):
    stack = Stack(site, tmp_path, big_display if panel == "15in" else display)
    try:
        result = _drive(stack, "ticket", "kiosk-1f", "a11y_kiosk", panel)
    finally:
        stack.stop()
    assert result["targets"] and _small(result["targets"]) == []
    assert _check(f"a11y-kiosk-home-{panel}", CONTRAST) == []


@pytest.mark.parametrize("panel", ["7in", "10in", "15in"])
def test_call_panel_contrast_and_touch_targets_in_millimetres(site, tmp_path, display, big_display, panel):
    stack = Stack(site, tmp_path, big_display if panel == "15in" else display)
    try:
        result = _drive(stack, "panel", "panel-c01", "a11y_panel", panel)
    finally:
        stack.stop()
    assert result["targets"] and _small(result["targets"]) == []
    problems = _check(f"a11y-panel-{panel}")
    assert problems == []


if __name__ == "__main__":
    from tests.ui import driver, scenarios

    for name in ("a11y_kiosk", "a11y_panel"):
        setattr(scenarios, name, globals()[name])
    role, config, scenario, result, *rest = sys.argv[1:]
    sys.exit(driver.run(role, config, scenario, result, dict(kv.split("=", 1) for kv in rest)))
