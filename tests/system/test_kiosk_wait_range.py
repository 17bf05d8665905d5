"""The ticket kiosk says the wait as a range (issue 21): a resident takes a 住民票 ticket behind others at the real
queue service; the issued screen and the printed ticket (the ESC/POS simulator's PNG) show the range the service's
rev-2 reply carried, in Japanese, then English and やさしい日本語 on the same screen; the wait line is whole on screen.
Screenshots: build/test-artifacts/ui/kiosk-wait-range-*.png.
"""

from __future__ import annotations

import shutil
import sys

from tests.artifacts_dir import TEST_ARTIFACTS
from tests.i18n_preview import DISPLAY
from tests.system.test_ui_apps import Stack, stack  # noqa: F401

MODULE = "tests.system.test_kiosk_wait_range"
SHOTS = TEST_ARTIFACTS / "ui"


def test_the_issued_screen_and_the_ticket_show_the_range(stack: Stack):  # noqa: F811
    kiosk, panel = stack.broker.bus("kiosk-1f"), stack.broker.bus("panel-demo")
    try:
        panel.request("open_counter", {"counter": "c07"})
        for _ in range(4):
            kiosk.request("issue", {"procedures": ["juminhyo"]})
    finally:
        kiosk.stop()
        panel.stop()
    result = stack.drive("ticket", "kiosk-1f", "kiosk_wait_range", module=MODULE, i18n=DISPLAY)

    ticket = result["ticket"]
    span = ticket["est_wait_range"]
    assert span is not None and span["low"] < ticket["est_wait_min"] < span["high"], ticket
    low, high = span["low"], span["high"]
    assert result["wait"] == {
        "ja": f"待ち時間の目安：{low}〜{high}分",
        "en": f"Estimated wait: {low}–{high} min",
        "ja-easy": f"まつ じかん：{low}ふん から {high}ふん",
    }
    for lang, fit in result["fits"].items():
        assert fit["lines"] == 1 and fit["inside"], f"{lang}: the wait line is cut or wrapped: {fit}"
    assert result["print_state"] == "printed" and len(stack.printer.receipts) == 1
    shutil.copy(stack.printer.tickets[0], SHOTS / "kiosk-wait-range-printed-ja.png")
    for name in ("issued-ja", "issued-en", "issued-ja-easy"):
        assert (SHOTS / f"kiosk-wait-range-{name}.png").stat().st_size > 10_000, name


# ----------------------------------------------------------------- the scenario (inside the kiosk's process)
def _fit(issued) -> dict:
    """Whether the wait label shows its text whole: one line, inside the label (Body wraps to its width)."""
    label = next(w for w in issued.walk(restrict=True) if getattr(w, "text", None) == issued.wait)
    label.texture_update()
    line_h = label.font_size * label.line_height * 1.45
    return {
        "lines": max(1, round(label.texture_size[1] / line_h)),
        "inside": label.texture_size[0] <= label.width + 1 and label.texture_size[1] <= label.height + 1,
        "texture": list(label.texture_size),
        "size": [label.width, label.height],
    }


def kiosk_wait_range(app, ui, params):
    """One 住民票 ticket in Japanese; the issued screen in ja, en and ja-easy, each saved and measured."""
    from kiosk.ui.lang import tr

    if params.get("i18n"):
        from tests.i18n_preview import install

        install(params["i18n"])
    from tests.ui.scenarios import issue_one

    yield ui.until(lambda: app.in_service, "broker and queue service reachable", timeout=20)
    yield from issue_one(ui)
    issued = app.sm.get_screen("issued")
    yield ui.until(lambda: issued.print_state == "printed", "the printer to finish")
    ui.result["ticket"] = app.last_ticket.model_dump(mode="json")
    ui.result["print_state"] = issued.print_state
    waits, fits = {}, {}
    for lang in ("ja", "en", "ja-easy"):
        tr.switch(lang)
        yield ui.frames(3)
        yield ui.shot(f"kiosk-wait-range-issued-{lang}")
        waits[lang], fits[lang] = issued.wait, _fit(issued)
    ui.result["wait"], ui.result["fits"] = waits, fits


if __name__ == "__main__":
    from tests.ui import driver, scenarios

    scenarios.kiosk_wait_range = kiosk_wait_range  # type: ignore[attr-defined]
    role, config, scenario, result, *rest = sys.argv[1:]
    sys.exit(driver.run(role, config, scenario, result, dict(kv.split("=", 1) for kv in rest)))
