"""The queue service's web server while it is flooded: ``python -m bench.http_flood``.

Starts the real broker and the queue service as its own process (exactly as deployed), then, one phase at
a time, holds what the outside audit used against it and measures ``/healthz`` from another address while
it is held (monitoring, or a resident's phone, is not the flooding client):

1. **idle**: ``--idle`` TCP connections that never send a byte;
2. **slowloris**: ``--slow`` connections sending one header line every 2 s, never a whole head;
3. **streams**: ``--streams`` live-update streams on one ticket.

The flooding sockets come from 127.0.0.2 and up (``--per-address`` each), ``/healthz`` from 127.0.0.1:
every address is this machine's loopback. Loops are bounded in count and time; everything is closed at
the end. Prints a table (never asserted: tests/system/test_bench_smoke.py checks the counts at a tiny size).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config import load_site
from madoguchi.local import ROOT, free_port, start_broker, start_service_process, stop_process, wait_healthy

SITE = ROOT / "sites" / "example" / "site.toml"


@dataclass
class Phase:
    name: str
    offered: int
    accepted: int = 0  # still open (or answered 200, for streams) after the phase's hold
    refused: int = 0  # closed by the server at once, or 429
    health_ms: list[float] = field(default_factory=list)
    health_failures: int = 0


def healthz(port: int, samples: int, timeout: float = 5.0) -> tuple[list[float], int]:
    times, failures = [], 0
    for _ in range(samples):
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout) as r:
                r.read()
            times.append((time.monotonic() - started) * 1000)
        except (OSError, urllib.error.URLError):
            failures += 1
    return times, failures


def flood_sockets(port: int, count: int, per_address: int) -> list[socket.socket]:
    """``count`` connections, ``per_address`` from each of 127.0.0.2, 127.0.0.3, ..."""
    out = []
    for i in range(count):
        s = socket.socket()
        s.bind((f"127.0.0.{2 + i // per_address}", 0))
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            s.close()
            continue
        out.append(s)
    return out


def still_open(sockets: list[socket.socket]) -> int:
    """How many the server has not closed (a closed one reads EOF or a reset at once)."""
    n = 0
    for s in sockets:
        s.setblocking(False)
        try:
            if s.recv(1, socket.MSG_PEEK) == b"":
                continue
        except BlockingIOError:
            n += 1
            continue
        except OSError:
            continue
        n += 1
    return n


def settle(phase: Phase, held: list[socket.socket]) -> Phase:
    """Count what the server kept open of ``held``, then close it all."""
    phase.accepted = still_open(held)
    phase.refused = phase.offered - phase.accepted
    for s in held:
        s.close()
    return phase


def run(idle: int = 1100, slow: int = 300, streams: int = 1011, per_address: int = 100, samples: int = 20,
        hold: float = 3.0, nofile: int | None = 1024, state: Path | None = None) -> list[Phase]:  # fmt: skip
    """``nofile``: the service's open-file limit (systemd's default for a unit is 1,024, what the audit had)."""
    site = load_site(SITE)
    state = state or Path(tempfile.mkdtemp(prefix="madoguchi-flood-"))
    broker = start_broker(site, state)
    http = free_port()
    launcher = ("prlimit", f"--nofile={nofile}:{nofile}", "--") if nofile else ()
    service = start_service_process(broker, SITE, http, launcher=launcher)
    phases: list[Phase] = []
    try:
        wait_healthy(http, [service, broker.proc])
        base = Phase("none (baseline)", 0)
        base.health_ms, base.health_failures = healthz(http, samples)
        phases.append(base)

        phase = Phase("idle connections", idle)
        held = flood_sockets(http, idle, per_address)
        phase.health_ms, phase.health_failures = healthz(http, samples)
        time.sleep(min(hold, 1.0))  # the spell they are held (measured, not a sync)
        phases.append(settle(phase, held))

        phase = Phase("slowloris (a header line / 2 s)", slow)
        held = flood_sockets(http, slow, per_address)
        for s in held:
            with contextlib.suppress(OSError):
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        ends = time.monotonic() + hold
        while time.monotonic() < ends:
            phase.health_ms += healthz(http, 1)[0]
            for s in held:
                with contextlib.suppress(OSError):
                    s.sendall(b"X-Slow: 1\r\n")
            time.sleep(2.0 if hold > 4 else 0.2)
        phases.append(settle(phase, held))

        phase = Phase("live streams on one ticket", streams)
        kiosk = broker.bus("kiosk-1f")
        try:
            token = kiosk.request("issue", {"procedures": ["juminhyo"]})["ticket"]["token"]
        finally:
            kiosk.stop()
        held = flood_sockets(http, streams, per_address)
        for s in held:
            try:
                s.sendall(f"GET /t/{token}/events HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                status = s.recv(64).split(b" ", 2)[1]
            except (OSError, IndexError):
                phase.refused += 1
                continue
            if status == b"200":
                phase.accepted += 1
            else:
                phase.refused += 1
        phase.refused += streams - len(held)
        phase.health_ms, phase.health_failures = healthz(http, samples)
        for s in held:
            s.close()
        phases.append(phase)

        after = Phase("none (after)", 0)
        after.health_ms, after.health_failures = healthz(http, samples)
        phases.append(after)
    finally:
        stop_process(service)
        broker.stop()
    return phases


def table(phases: list[Phase]) -> str:
    rows = [
        "| held while /healthz is asked | offered | accepted / open | refused or closed | /healthz p50 ms "
        "| /healthz max ms | /healthz failed |",
        "|---|---|---|---|---|---|---|",
    ]
    for p in phases:
        p50 = f"{statistics.median(p.health_ms):.1f}" if p.health_ms else "—"
        top = f"{max(p.health_ms):.1f}" if p.health_ms else "—"
        rows.append(
            f"| {p.name} | {p.offered:,} | {p.accepted:,} | {p.refused:,} | {p50} | {top} | {p.health_failures} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=1100)
    parser.add_argument("--slow", type=int, default=300)
    parser.add_argument("--streams", type=int, default=1011)
    parser.add_argument("--per-address", type=int, default=100)
    parser.add_argument("--hold", type=float, default=12.0, help="seconds the slow clients are kept going")
    parser.add_argument("--nofile", type=int, default=1024, help="the service's open-file limit (0: this shell's)")
    args = parser.parse_args(argv)
    phases = run(args.idle, args.slow, args.streams, args.per_address, hold=args.hold, nofile=args.nofile or None)
    print(f"service open-file limit: {args.nofile or 'inherited'}")
    print(table(phases))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
