"""The board's spoken calls: latency from the announce event to the first sample played, and the cache's build time.

    .venv/bin/python -m bench.voice [--calls 30] [--cache build/voice-bench-cache] [--build ja,en] [--gap 0.0]

Latency: a real Mosquitto broker; the queue service's identity publishes ``{root}/queue/event/announce`` (rev 2)
and a board's bus client receives it, queues it in the board's ``Speaker``, which renders chime + pieces from the
phrase cache and plays them through the real ``aplay`` into ALSA's ``file`` plugin (a null card: no sound card
needed). Two instants per call: the PCM handed to aplay, and the first samples written by ALSA (aplay numbers
one output file per call; it is polled every millisecond). Calls are spaced by the time the previous one took to
play (``--gap 0``: the board is idle when the call comes, what a resident meets most of the day).

Build: ``--build`` languages are recorded afresh into a temporary folder, each timed (Kokoro for ja, eSpeak NG for
the rest) — the cost of ``madoguchi voice build`` for the example site.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from kiosk.bus.schemas import Announcement
from kiosk.config import load_site
from madoguchi.local import ROOT, start_broker
from ticket_machine.board_app.announcement import site_pieces
from ticket_machine.board_app.phrase_cache import PhraseCache, available_engines, build_cache
from ticket_machine.board_app.speaker import AplaySink, Call, Speaker, call_renderer

EXAMPLE_SITE = ROOT / "sites" / "example" / "site.toml"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def latency(site_path: Path, cache_dir: Path, calls: int, tmp: Path, live: bool) -> dict[str, list[float]]:
    """``live``: the cache holds Japanese only and eSpeak NG says the rest at call time (the small bundle)."""
    site = load_site(site_path)
    engines, missing = available_engines(["ja"])
    if missing:
        raise SystemExit(f"bench.voice: {missing['ja']}")
    counters = [c.id for c in site.counters if c.floor == 1][:4]
    langs = ["vi", "ja", "en", "zh", "ko", "pt"]
    plan = [Call(10 + 37 * i % 980, counters[i % len(counters)], langs[i % len(langs)]) for i in range(calls)]
    from ticket_machine.board_app.announcement import plan_call

    pieces = {p for c in plan for u in plan_call(site, c.number, c.counter, c.lang) for p in u.pieces}
    others = available_engines(sorted({p.lang for p in pieces} - {"ja"}))[0]
    if not live:
        engines.update(others)
    build_cache(cache_dir / ("ja-only" if live else "all"), pieces, engines)  # idempotent: reruns record nothing
    cache = PhraseCache(cache_dir / ("ja-only" if live else "all"))
    if live:
        cache.live = dict(others)

    out = tmp / "played.raw"
    conf = tmp / "asound.conf"
    conf.write_text(
        "</usr/share/alsa/alsa.conf>\n"
        f'pcm.voicebench {{ type file; slave.pcm "null"; file "{out}"; format "raw"; truncate false }}\n'
    )
    os.environ["ALSA_CONFIG_PATH"] = str(conf)
    handed: list[float] = []
    speaker = Speaker(call_renderer(site, cache), AplaySink("voicebench", on_start=handed.append))

    state = tmp / "broker"
    broker = start_broker(site, state)
    received: list[float] = []
    got = threading.Event()
    try:
        service = broker.bus("queue-service")
        board = broker.bus("board-1f")

        def on_announce(_topic: str, event: Announcement) -> None:
            received.append(time.monotonic())
            speaker.say(Call(event.number, event.counter, event.lang, event.recall))
            got.set()

        board.subscribe_model(board.topics.announce_event, Announcement, on_announce)
        time.sleep(0.5)  # the subscription's SUBACK: a bench warm-up, not a test's synchronisation
        result: dict[str, list[float]] = {"bus": [], "handed": [], "first": [], "seconds": []}
        for i, call in enumerate(plan):
            got.clear()
            files_before = len(list(tmp.glob("played.raw*")))
            sent = time.monotonic()
            event = Announcement(
                number=call.number, counter=call.counter, at=datetime.now(UTC), recall=False, lang=call.lang
            )
            service.publish(service.topics.announce_event, event)
            got.wait(10)
            first = None
            deadline = time.monotonic() + 30
            while first is None and time.monotonic() < deadline:  # aplay writes one numbered file per call
                files = list(tmp.glob("played.raw*"))
                if len(files) > files_before and max(f.stat().st_size for f in files) > 0:
                    first = time.monotonic()
                time.sleep(0.001)
            speaker.wait_idle(60)
            result["bus"].append(received[i] - sent)
            result["handed"].append(handed[i] - sent)
            result["first"].append((first or float("nan")) - sent)
            rendered = call_renderer(site, cache)(call)
            result["seconds"].append(rendered.seconds)
        service.stop()
        board.stop()
    finally:
        broker.stop()
        speaker.close()
    return result


def build_times(site_path: Path, languages: list[str]) -> list[tuple[str, int, float, float, str]]:
    site = load_site(site_path)
    rows = []
    for lang in languages:
        engines, missing = available_engines([lang])
        if missing:
            rows.append((lang, 0, float("nan"), float("nan"), f"skipped: {missing[lang]}"))
            continue
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            (report,) = build_cache(Path(tmp), site_pieces(site, [lang]), engines)
            rows.append((lang, report.pieces, time.perf_counter() - started, report.bytes / 1e6, report.engine))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--site", type=Path, default=EXAMPLE_SITE)
    p.add_argument("--calls", type=int, default=30)
    p.add_argument("--cache", type=Path, default=ROOT / "build" / "voice-bench-cache")
    p.add_argument("--build", default="", help="languages whose whole cache is built afresh and timed (e.g. ja,en)")
    args = p.parse_args()
    print(f"\nannounce → sound, {args.calls} calls, board idle at each call (real Mosquitto, aplay → ALSA file plugin)")
    print(f"{'cache / step (from the MQTT publish)':<66} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for live in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            r = latency(args.site, args.cache, args.calls, Path(tmp), live)
        mode = "ja cached, others live espeak-ng" if live else "every language cached"
        for key, label in (
            ("bus", "announce received by the board"),
            ("handed", "chime+speech PCM handed to aplay"),
            ("first", "first samples written by ALSA"),
        ):
            v = [x * 1000 for x in r[key]]
            print(f"{mode + ': ' + label:<66} {pct(v, 0.5):>8.1f} {pct(v, 0.99):>8.1f} {max(v):>8.1f}")
    s = r["seconds"]
    print(f"{'length of one call (chime + 2-3 languages)':<66} {statistics.median(s):>7.1f}s {max(s):>7.1f}s")
    if args.build:
        print(f"\ncache build for {args.site.parent.name}, per language (fresh folder)")
        print(f"{'lang':<5} {'pieces':>7} {'seconds':>8} {'MB':>7}  engine")
        for lang, n, secs, mb, engine in build_times(args.site, args.build.split(",")):
            print(f"{lang:<5} {n:>7} {secs:>8.1f} {mb:>7.1f}  {engine}")


if __name__ == "__main__":
    main()
