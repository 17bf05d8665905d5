"""Cold-start time and memory of the three queuing apps (``python -m bench.apps``).

Each app is started as its own process under Xvfb (Mesa llvmpipe), against a real broker
and queue service, exactly as ``madoguchi kiosk ROLE`` starts it; the clock runs from the
process's exec (``/proc/self/stat``) to the first drawn frame of its home screen once the
broker and the queue service are reachable. Memory is the resident set then (and its peak).
A small ARM board has 1-4 GB: these numbers say how many apps fit and how fast one comes back
after a watchdog restart.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from kiosk.config import load_site
from madoguchi.local import (
    ROOT,
    free_port,
    start_broker,
    start_service_process,
    start_xvfb,
    stop_process,
    wait_healthy,
)

SITE = ROOT / "sites" / "example" / "site.toml"
APPS = (("ticket", "kiosk-1f", 1280, 800), ("panel", "panel-c01", 1024, 600), ("board", "board-1f", 1280, 720))


def measure(runs: int) -> dict[str, list[dict]]:
    site = load_site(SITE)
    results: dict[str, list[dict]] = {role: [] for role, *_ in APPS}
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        broker = start_broker(site, state)
        http = free_port()
        service = start_service_process(broker, SITE, http)
        xvfb, display = start_xvfb()
        try:
            wait_healthy(http, [service])
            env = dict(os.environ, DISPLAY=display, SDL_AUDIODRIVER="dummy")
            for n in range(runs):
                for role, device, width, height in APPS:
                    config = broker.device_file(
                        device, SITE, screen={"fullscreen": False, "width": width, "height": height}
                    )
                    out = state / f"{role}-{n}.json"
                    cmd = [sys.executable, "-m", "tests.ui.driver", role, str(config), "ready", str(out)]
                    subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, timeout=120, check=False)
                    data = json.loads(out.read_text())
                    if not data["ok"]:
                        raise RuntimeError(f"{role} did not start: {data['error']}")
                    results[role].append(data)
        finally:
            xvfb.kill()
            stop_process(service)
            broker.stop()
    return results


def table(results: dict[str, list[dict]]) -> str:
    lines = [
        "| app | runs | cold start median (s) | cold start max (s) | RSS median (MB) | peak RSS max (MB) |",
        "|---|---|---|---|---|---|",
    ]
    for role, runs in results.items():
        starts = [r["cold_start_s"] for r in runs]
        lines.append(
            f"| {role} | {len(runs)} | {statistics.median(starts):.2f} | {max(starts):.2f} | "
            f"{statistics.median(r['rss_mb'] for r in runs):.0f} | {max(r['peak_rss_mb'] for r in runs):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = measure(args.runs)
    print(json.dumps(results, indent=1) if args.json else table(results))


if __name__ == "__main__":
    main()
