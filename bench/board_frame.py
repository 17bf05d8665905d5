"""From the board state's message to the frame that shows the number (``python -m bench.board_frame``).

``bench.call_path`` stops when a board's bus client holds the retained board state; a person sees the call only
when the board app has drawn it. This bench runs the real board app (``madoguchi.roles``' ``board``, as
``madoguchi kiosk board`` starts it) in its own process under Xvfb (Mesa llvmpipe, software OpenGL), against the
real broker and queue service. A call panel's bus client calls tickets at two counters (``call_next`` then
``complete``, a random pause between), so the board receives the board states, group states and wait states
exactly as the service sends them.

Inside the board's process (instrumented from outside: the app's code is unchanged) every board-state message is
timed on the MQTT thread as it arrives, again when the app's handler runs on Kivy's main thread, and then every
frame: the newest number in the calls grid just before the frame is drawn, and the moment the frame was flipped
(after ``Window.flip``, the buffer swap). A call's latency is its message's arrival to the first flipped frame whose
drawn grid shows its number first. All timestamps are CLOCK_MONOTONIC, so the panel's ``call_next`` publish (in
this process) is on the same clock.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import EXAMPLE_SITE, local_stack, percentile
from madoguchi.local import ROOT, start_xvfb

#: Counters the panel calls at (both on the board's floor): residents' moves and certificates.
COUNTERS = {"c01": ["tennyu"], "c07": ["juminhyo"]}


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)


# ----------------------------------------------------------------- inside the board's process
def child(config: str, out: str, maxfps: str) -> None:
    """Run the board app with probes; write what they saw to ``out`` when ``out.stop`` appears."""
    from kiosk.config.device import load_device
    from kiosk.ui.boot import boot

    device = load_device(Path(config))
    boot(device.device, device.screen.width, device.screen.height, fullscreen=False)
    from kivy.config import Config

    if maxfps:
        Config.set("graphics", "maxfps", maxfps)
    from kiosk.bus.client import Bus
    from kiosk.bus.schemas import BoardState
    from kiosk.config import load_site
    from madoguchi.roles import APPS

    rec: dict[str, list] = {
        "recv": [],  # (t, number) on the MQTT thread
        "handled": [],  # (t_start, t_end, number) on the main thread
        "frames": [],  # (t_draw, t_flipped, newest number drawn, t_swap: the canvas drawn, the buffer swap begins)
        "groups": [],  # (t_start, t_end) of every table rebuild
        "calls": [],  # (t_start, t_end) of every calls redraw
        "side": [],  # t of every group / wait state message (MQTT thread)
    }
    board_topic: list[str] = []
    plain = Bus.subscribe_model

    def probed(self, topic, model, handler):  # the MQTT thread, before the app's own hop to the main thread
        if model is BoardState:
            board_topic.append(topic)

            def timed(t, msg, handler=handler):
                rec["recv"].append((now(), msg.recent[0].number if msg.recent else None))
                handler(t, msg)

            return plain(self, topic, model, timed)
        if model.__name__ in ("GroupState", "WaitState"):

            def counted(t, msg, handler=handler):
                rec["side"].append(now())
                handler(t, msg)

            return plain(self, topic, model, counted)
        return plain(self, topic, model, handler)

    Bus.subscribe_model = probed  # type: ignore[method-assign]
    app = APPS["board"](device, load_site(device.site))
    handler = app._board

    def board(topic, state):
        start = now()
        handler(topic, state)
        rec["handled"].append((start, now(), state.recent[0].number if state.recent else None))

    app._board = board  # before build(): connect() subscribes the instance's attribute

    from kivy.clock import Clock
    from kivy.core.window import Window

    def setup(_dt) -> None:
        screen = app.sm.get_screen("board")
        for name, key in (("show_groups", "groups"), ("show_calls", "calls")):
            plain_method = getattr(screen, name)

            def timed(*a, plain_method=plain_method, key=key):
                start = now()
                plain_method(*a)
                rec[key].append((start, now()))

            setattr(screen, name, timed)
        drawn: list = []

        def newest() -> int | None:
            cells = screen.ids.calls.children
            return cells[-1].number if cells else None

        Window.bind(on_draw=lambda *_: drawn.append((now(), newest())))
        flip = Window.flip

        def flipped() -> None:
            swap = now()
            flip()
            if drawn:
                t_draw, number = drawn.pop()
                drawn.clear()
                rec["frames"].append((t_draw, now(), number, swap))

        Window.flip = flipped

    def ready(_dt) -> bool:
        if app.in_service and Clock.frames_displayed > 2:
            Path(out + ".ready").write_text("1")
            return False
        return True

    def dump(_dt) -> None:
        if Path(out + ".stop").exists():
            Path(out).write_text(json.dumps(rec))
            app.stop()

    Clock.schedule_once(setup, 0)
    Clock.schedule_interval(ready, 0.1)
    Clock.schedule_interval(dump, 0.2)
    app.run()


# ----------------------------------------------------------------- the bench
@dataclass
class Run:
    """One board process: what it recorded and the panel's publish times."""

    rec: dict
    published: dict[int, float] = field(default_factory=dict)
    env: str = ""


def run_once(calls: int, size: tuple[int, int], seed: int, clock: str, maxfps: str, state: Path) -> Run:
    """A fresh broker, service, Xvfb and board app; ``calls`` calls; the board's record."""
    rng = random.Random(seed)
    with local_stack(EXAMPLE_SITE, state) as stack:
        xvfb, display = start_xvfb(*size)
        proc = None
        try:
            width, height = size
            config = stack.broker.device_file(
                "board-1f",
                EXAMPLE_SITE,
                screen={"fullscreen": False, "width": width, "height": height, "diagonal_in": 55},
                chime=False,
            )
            out = str(state / "frames.json")
            env = dict(os.environ, DISPLAY=display, SDL_AUDIODRIVER="dummy")
            if clock:
                env["KIVY_CLOCK"] = clock
            cmd = [sys.executable, "-m", "bench.board_frame", "child", str(config), out, maxfps]
            with (state / "board.log").open("wb") as log:
                proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
            kiosk, panel = stack.broker.bus("kiosk-1f"), stack.broker.bus("panel-demo")
            try:
                for counter, procedures in COUNTERS.items():
                    for _ in range((calls + 1) // len(COUNTERS) + 1):
                        kiosk.request("issue", {"procedures": procedures})
                    panel.request("open_counter", {"counter": counter})
                deadline = time.monotonic() + 90
                while not Path(out + ".ready").exists():
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError(f"the board never came up: see {state / 'board.log'}")
                    time.sleep(0.1)
                time.sleep(1.0)  # the retained states drawn, the first frames over
                published: dict[int, float] = {}
                counters = list(COUNTERS)
                for i in range(calls):
                    counter = counters[i % len(counters)]
                    sent = now()
                    ticket = panel.request("call_next", {"counter": counter})["ticket"]
                    if ticket is None:
                        raise RuntimeError(f"nobody to call at {counter}")
                    published[ticket["number"]] = sent
                    time.sleep(rng.uniform(0.15, 0.45))  # staff look up, the resident walks over
                    panel.request("complete", {"counter": counter})
                    time.sleep(rng.uniform(0.05, 0.25))
                time.sleep(1.0)
                Path(out + ".stop").write_text("1")
                proc.wait(60)
            finally:
                kiosk.stop()
                panel.stop()
            rec = json.loads(Path(out).read_text())
            return Run(rec, published)
        finally:
            if proc is not None and proc.poll() is None:
                proc.kill()
            xvfb.kill()


@dataclass
class Latencies:
    """Per call (seconds): the stages from the message to the frame, and the counts around them."""

    stages: dict[str, list[float]] = field(default_factory=dict)
    frame_interval: list[float] = field(default_factory=list)
    canvas: list[float] = field(default_factory=list)
    swap: list[float] = field(default_factory=list)
    groups: list[float] = field(default_factory=list)
    calls_draw: list[float] = field(default_factory=list)
    messages: int = 0
    shown: int = 0
    #: Calls whose number a later call replaced before any frame was drawn (the main thread stalled that long).
    superseded: int = 0
    side_messages: int = 0
    group_rebuilds: int = 0
    frames: int = 0


STAGES = (
    ("recv_main", "message (MQTT thread) → handler on the main thread"),
    ("handler", "handler (show_calls and the rest)"),
    ("main_frame", "handler done → frame flipped"),
    ("recv_frame", "**message → frame that shows the number**"),
    ("publish_frame", "call_next published → frame that shows the number"),
)


def analyse(runs: list[Run]) -> Latencies:
    out = Latencies(stages={key: [] for key, _ in STAGES})
    for r in runs:
        rec = r.rec
        frames = rec["frames"]
        flips = [f[0] for f in frames]  # by the time the frame started drawing
        handled = rec["handled"]
        starts = [h[0] for h in handled]
        out.frame_interval += [b[1] - a[1] for a, b in zip(frames, frames[1:], strict=False)]
        out.canvas += [f[3] - f[0] for f in frames]
        out.swap += [f[1] - f[3] for f in frames]
        out.groups += [b - a for a, b in rec["groups"]]
        out.calls_draw += [b - a for a, b in rec["calls"]]
        out.frames += len(frames)
        out.side_messages += len(rec["side"])
        first = rec["recv"][0][0] if rec["recv"] else 0.0
        out.group_rebuilds += sum(1 for a, _ in rec["groups"] if a >= first)
        seen: set[int] = set()
        for t_recv, number in rec["recv"]:
            if number is None or number not in r.published or number in seen:
                continue  # the retained state of the start, or a later state with the same newest call
            seen.add(number)
            out.messages += 1
            j = bisect.bisect_left(starts, t_recv)
            while j < len(handled) and handled[j][2] != number:
                j += 1
            k = bisect.bisect_left(flips, t_recv)
            while k < len(frames) and frames[k][2] != number:
                k += 1
            if j >= len(handled) or k >= len(frames):
                later = {n for n, t in r.published.items() if t > r.published[number]}
                out.superseded += any(f[2] in later for f in frames if f[0] >= t_recv)
                continue
            out.shown += 1
            h0, h1, _ = handled[j]
            t_frame = frames[k][1]
            out.stages["recv_main"].append(h0 - t_recv)
            out.stages["handler"].append(h1 - h0)
            out.stages["main_frame"].append(t_frame - h1)
            out.stages["recv_frame"].append(t_frame - t_recv)
            out.stages["publish_frame"].append(t_frame - r.published[number])
    return out


def _row(label: str, values: list[float]) -> str:
    if not values:
        return f"| {label} | 0 |  |  |  |  |"
    ms = [v * 1000 for v in values]
    cells = " | ".join(f"{percentile(ms, q):.1f}" for q in (0.5, 0.9, 0.99))
    return f"| {label} | {len(ms)} | {cells} | {max(ms):.1f} |"


def table(result: Latencies) -> str:
    lines = [
        f"calls timed: {result.shown} of {result.messages} new board states ({result.superseded} replaced by the "
        f"next call before any frame was drawn); frames drawn: {result.frames}; "
        f"group/wait state messages: {result.side_messages}; waiting-table rebuilds: {result.group_rebuilds}",
        "",
        "| stage | n | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|",
    ]
    lines += [_row(label, result.stages[key]) for key, label in STAGES]
    lines.append(_row("frame interval (flip to flip)", result.frame_interval))
    lines.append(_row("a frame: the canvas drawn (on_draw)", result.canvas))
    lines.append(_row("a frame: the buffer swap (flip)", result.swap))
    lines.append(_row("show_calls", result.calls_draw))
    lines.append(_row("show_groups (a waiting-table rebuild)", result.groups))
    return "\n".join(lines)


def measure(
    runs: int, calls: int, size: tuple[int, int] = (1920, 1080), seed: int = 7, clock: str = "", maxfps: str = ""
) -> list[Run]:
    """``runs`` board processes, each on a fresh stack in a temporary folder."""
    out = []
    for n in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            out.append(run_once(calls, size, seed + n, clock, maxfps, Path(tmp)))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.board_frame", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="board processes, each on a fresh stack")
    parser.add_argument("--calls", type=int, default=60, help="calls per run")
    parser.add_argument("--size", default="1920x1080", help="the board's window (and Xvfb's screen)")
    parser.add_argument("--clock", default="", help="KIVY_CLOCK for the board (default, interrupt, free_all, ...)")
    parser.add_argument("--maxfps", default="", help="Kivy's graphics maxfps for the board (default 60)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the raw records here")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    runs = measure(args.runs, args.calls, (width, height), args.seed, args.clock, args.maxfps)
    result = analyse(runs)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([{"rec": r.rec, "published": r.published} for r in runs]))
    return 0 if result.shown + result.superseded == result.messages == args.runs * args.calls else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(*sys.argv[2:5])
        sys.exit(0)
    sys.exit(main())
