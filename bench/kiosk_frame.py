"""The frame time of an idle kiosk app (``python -m bench.kiosk_frame``).

Kivy has no partial redraw: whatever changes on a screen (a pressed button, a countdown, a cursor), the whole window
is drawn again, and on a kiosk without a GPU (Mesa llvmpipe, software OpenGL) that frame's cost is what a resident
feels as lag. This bench runs the real ticket kiosk app (``madoguchi kiosk ticket``, its home screen, in service)
in its own process under Xvfb against the real broker and queue service, and forces a redraw every frame
(``Window.canvas.ask_update`` after each buffer swap) for ``--frames`` frames. Each frame is timed from the start
of ``on_draw`` (the canvas drawn) through the end of ``Window.flip`` (the buffer swap, where llvmpipe rasterises).

Every ``--block`` frames the shell's covers (idle warning, "staff are coming", out of service) go into the tree
hidden, as the shell kept them before it added each only while it shows, and out again: both ways are timed in the
same process, frame blocks by turns, so the shared machine's load falls on both alike. (Before that change the
shell has no ``covers`` list: both modes then measure the covers as the shell kept them.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import EXAMPLE_SITE, local_stack, percentile
from madoguchi.local import ROOT, start_xvfb

MODES = ("hidden", "shown")


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


# ----------------------------------------------------------------- inside the kiosk's process
def child(config: str, out: str, frames: str, block: str) -> None:
    """Run the ticket kiosk; once in service, time ``frames`` forced redraws in blocks of ``block`` frames, the
    covers hidden in the tree and out of it by turns (the same process, so the same load), and write them."""
    from kiosk.config.device import load_device
    from kiosk.ui.run import make_app
    from madoguchi.roles import APPS

    app = make_app(APPS["ticket"], load_device(Path(config)), windowed=True)
    from kivy.clock import Clock
    from kivy.core.window import Window

    want, per_block = int(frames), int(block)
    #: (mode, frame in its block, t_draw, t_swap, t_flipped); the covers in the tree in each mode
    rec: dict = {"frames": [], "covers": {}}
    state = {"on": False, "draw": 0.0, "mode": MODES[0], "n": 0}

    def put(mode: str) -> None:
        """``hidden``: every cover in the tree, the lowest first, inactive (transparent), as the shell kept them
        before; ``shown``: only the active ones (none on an in-service home screen), as the shell keeps them now."""
        root = app.root
        for cover in getattr(app, "covers", []):  # before the change the shell has no list: nothing to move
            if mode == "hidden" and cover.parent is None:
                root.add_widget(cover)
            elif mode == "shown" and cover.parent is root and not cover.active:
                root.remove_widget(cover)
        rec["covers"][mode] = [type(w).__name__ for w in root.children if type(w).__name__ != "Surface"]
        state.update(mode=mode, n=0)

    def start() -> None:
        Window.bind(on_draw=lambda *_: state.update(draw=now()))
        flip = Window.flip

        def flipped() -> None:
            swap = now()
            flip()
            rec["frames"].append((state["mode"], state["n"], state["draw"], swap, now()))
            state["n"] += 1
            if state["n"] >= per_block:
                put(MODES[(MODES.index(state["mode"]) + 1) % len(MODES)])
            Window.canvas.ask_update()  # the next frame draws the whole window again

        Window.flip = flipped
        put(MODES[0])
        Window.canvas.ask_update()
        state["on"] = True

    def step(_dt) -> bool:
        if not state["on"]:
            if app.in_service and app.sm.current == app.home_screen and Clock.frames_displayed > 10:
                start()
            return True
        if len(rec["frames"]) >= want:
            Path(out).write_text(json.dumps(rec))
            app.stop()
            return False
        return True

    Clock.schedule_interval(step, 0)
    app.run()


# ----------------------------------------------------------------- the bench
def measure(runs: int, frames: int, block: int, size: tuple[int, int]) -> list[dict]:
    """``runs`` kiosk processes, one after the other on one broker, queue service and Xvfb."""
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp, local_stack(EXAMPLE_SITE, Path(tmp)) as stack:
        state = Path(tmp)
        xvfb, display = start_xvfb(*size)
        try:
            width, height = size
            config = stack.broker.device_file(
                "kiosk-1f", EXAMPLE_SITE, screen={"fullscreen": False, "width": width, "height": height}
            )
            env = dict(os.environ, DISPLAY=display, SDL_AUDIODRIVER="dummy")
            for n in range(runs):
                out = state / f"frames-{n}.json"
                cmd = [sys.executable, "-m", "bench.kiosk_frame", "child", str(config), str(out)]
                cmd += [str(frames), str(block)]
                with (state / "kiosk.log").open("wb") as log:
                    subprocess.run(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, timeout=300)
                if not out.exists():
                    raise RuntimeError("the kiosk wrote no frames: " + (state / "kiosk.log").read_text()[-2000:])
                results.append(json.loads(out.read_text()))
        finally:
            xvfb.kill()
    return results


def _row(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    if not ms:
        return f"| {label} | 0 |  |  |  |  |"
    cells = " | ".join(f"{percentile(ms, q):.1f}" for q in (0.5, 0.9, 0.99))
    return f"| {label} | {len(ms)} | {cells} | {max(ms):.1f} |"


def table(results: list[dict], skip: int = 2) -> str:
    """Per mode: a frame, its two parts; the first ``skip`` frames of each block left out (the tree just changed)."""
    lines = ["| covers in the tree | stage | n | p50 ms | p90 ms | p99 ms | max ms |", "|---|---|---|---|---|---|---|"]
    for mode in MODES:
        frames = [f[2:] for r in results for f in r["frames"] if f[0] == mode and f[1] >= skip]
        covers = ", ".join(results[0]["covers"].get(mode, [])) if results else ""
        label = f"{mode}: {covers or 'none'}"
        stages = (
            ("frame (on_draw start → flip done)", [c - a for a, _b, c in frames]),
            ("canvas drawn (on_draw)", [b - a for a, b, _c in frames]),
            ("buffer swap (flip)", [c - b for _a, b, c in frames]),
        )
        lines += [f"| {label} |{_row(stage, values)[1:]}" for stage, values in stages]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kiosk_frame", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="kiosk processes per mode (the modes alternate)")
    parser.add_argument("--frames", type=int, default=200, help="forced redraws timed per process (both modes)")
    parser.add_argument("--block", type=int, default=10, help="frames in a row in one mode before switching")
    parser.add_argument("--size", default="1280x800", help="the kiosk's window (and Xvfb's screen)")
    parser.add_argument("--json", type=Path, help="also write the raw records here")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    results = measure(args.runs, args.frames, args.block, (width, height))
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(*sys.argv[2:6])
        sys.exit(0)
    sys.exit(main())
