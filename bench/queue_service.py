"""Queue service under load, on the real stack: Mosquitto + the service process + device clients.

    .venv/bin/python -m bench.queue_service [--tickets 300] [--kiosks 4]

Phase 1 (morning rush): ``--kiosks`` threads issue ``--tickets`` tickets of one to three
procedures through the kiosk's bus. Phase 2 (serving): every counter that has its own call
panel opens, and each panel loops call_next → complete until every ticket is done, while a
call board listens for the ``called`` events. It prints one table: throughput, round-trip
times per verb, how long a call takes to reach the board, and the journal's durability.

Numbers depend on the machine (the journal fsyncs every batch); compare within one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import EXAMPLE_SITE, local_stack, panel_counters, percentile, workload
from kiosk.bus.client import Bus
from kiosk.bus.schemas import CalledEvent
from kiosk.config import load_site
from madoguchi.local import LocalBroker


@dataclass
class Timings:
    """Round trips per verb and call→board latencies, filled by many threads."""

    rtt: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: (counter, number) → when each call was sent / reached the board, in order: a ticket
    #: can be called at the same counter more than once (steps of one group split by a
    #: prerequisite elsewhere), so the n-th call pairs with the n-th board event.
    calls: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    shown: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    cond: threading.Condition = field(default_factory=threading.Condition)  # notified when the board sees a call

    def timed(self, bus: Bus, verb: str, args: dict) -> tuple[float, dict]:
        started = time.perf_counter()
        result = bus.request(verb, args, timeout=10)
        with self.cond:
            self.rtt[verb].append(time.perf_counter() - started)
        return started, result

    def board_latencies(self) -> list[float]:
        pairs = ((sends, self.shown.get(k, [])) for k, sends in self.calls.items())
        return [seen - sent for sends, shown in pairs for sent, seen in zip(sends, shown, strict=False)]

    def call_count(self) -> int:
        return sum(map(len, self.calls.values()))


@dataclass
class Result:
    tickets: int
    issue_seconds: float
    serve_seconds: float
    served: int
    steps: int
    counters: int
    timings: Timings
    health: dict
    errors: list[str]


def issue_phase(broker: LocalBroker, visits: list[list[str]], kiosks: int, timings: Timings, errors: list[str]):
    kiosk = broker.bus("kiosk-1f")
    todo = list(enumerate(visits))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                if not todo:
                    return
                i, procedures = todo.pop()
            try:
                timings.timed(kiosk, "issue", {"procedures": procedures, "lang": "ja", "priority": i % 10 == 0})
            except Exception as exc:  # noqa: BLE001 - a bench reports failures, it does not stop at one
                errors.append(f"issue {procedures}: {exc!r}")

    started = time.perf_counter()
    threads = [threading.Thread(target=work) for _ in range(kiosks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    kiosk.stop()
    return elapsed


def serve_phase(broker: LocalBroker, counters: dict[str, str], tickets: int, timings: Timings, errors: list[str]):
    board = broker.bus("board-1f")

    def on_called(topic: str, event: CalledEvent) -> None:
        now = time.perf_counter()
        with timings.cond:
            timings.shown[(event.counter, event.number)].append(now)
            timings.cond.notify_all()

    board.subscribe_model(board.topics.called_event, CalledEvent, on_called)
    panels = {counter: broker.bus(device) for counter, device in counters.items()}
    for counter, panel in panels.items():
        panel.request("open_counter", {"counter": counter})

    done = threading.Condition()
    finished = {"tickets": 0, "steps": 0}

    def work(counter: str, panel: Bus) -> None:
        while True:
            with done:
                if finished["tickets"] >= tickets or errors:
                    return
            try:
                sent, result = timings.timed(panel, "call_next", {"counter": counter})
                ticket = result["ticket"]
                if ticket is None:  # nobody callable here right now: wait for someone to finish elsewhere
                    with done:
                        done.wait(0.05)
                    continue
                with timings.cond:
                    timings.calls[(counter, ticket["number"])].append(sent)
                _, result = timings.timed(panel, "complete", {"counter": counter})
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{counter}: {exc!r}")
                return
            steps = sum(1 for s in result["ticket"]["itinerary"] if s["status"] == "done")
            with done:
                finished["steps"] += 1
                if steps == len(result["ticket"]["itinerary"]):
                    finished["tickets"] += 1
                done.notify_all()

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=item) for item in panels.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    with timings.cond:  # the last called events may still be in flight to the board
        timings.cond.wait_for(lambda: len(timings.board_latencies()) == timings.call_count(), timeout=5)
    for bus in (*panels.values(), board):
        bus.stop()
    return elapsed, finished["tickets"], finished["steps"]


def run(tickets: int, kiosks: int, seed: int = 7, site_path: Path = EXAMPLE_SITE, state: Path | None = None) -> Result:
    site = load_site(site_path)
    counters = panel_counters(site)
    visits = workload(site, list(counters), tickets, seed)
    timings, errors = Timings(), []
    with tempfile.TemporaryDirectory(prefix="madoguchi-bench-") as tmp, local_stack(site_path, state or Path(tmp)) as s:
        issue_seconds = issue_phase(s.broker, visits, kiosks, timings, errors)
        serve_seconds, served, steps = serve_phase(s.broker, counters, tickets, timings, errors)
        health = s.health()
    return Result(tickets, issue_seconds, serve_seconds, served, steps, len(counters), timings, health, errors)


def table(r: Result) -> str:
    ms = 1000.0
    python = sys.version.split()[0]
    lines = [
        f"queue service bench: {r.tickets} tickets, {r.counters} counters ({sys.platform}, Python {python})",
        "",
        "| measure | value |",
        "|---|---|",
        f"| issue throughput (tickets/s) | {r.tickets / r.issue_seconds:.0f} |",
        f"| serving throughput (call_next + complete pairs/s) | {r.steps / r.serve_seconds:.0f} |",
        f"| tickets fully served / issued | {r.served} / {r.tickets} |",
        f"| calls that never reached the board | {r.timings.call_count() - len(r.timings.board_latencies())} |",
        f"| commands processed by the service | {r.health['commands_processed']} |",
        f"| journal | {r.health['journal']['journal_mode']}, synchronous={r.health['journal']['synchronous']} |",
        "",
        "| verb | n | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
    ]
    for verb, values in sorted(r.timings.rtt.items()):
        lines.append(
            f"| {verb} | {len(values)} | {statistics.median(values) * ms:.1f} | "
            f"{percentile(values, 0.99) * ms:.1f} | {max(values) * ms:.1f} |"
        )
    board = r.timings.board_latencies()
    if board:
        lines.append(
            f"| call_next → board | {len(board)} | {statistics.median(board) * ms:.1f} | "
            f"{percentile(board, 0.99) * ms:.1f} | {max(board) * ms:.1f} |"
        )
    if r.errors:
        lines += ["", f"{len(r.errors)} errors, first: {r.errors[0]}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queue_service", description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=300, help="tickets to issue (at most 999 a day)")
    parser.add_argument("--kiosks", type=int, default=4, help="threads issuing at once")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the raw numbers here")
    args = parser.parse_args(argv)
    result = run(args.tickets, args.kiosks, args.seed)
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        raw = {"tickets": result.tickets, "served": result.served, "rtt": result.timings.rtt, "health": result.health}
        args.json.write_text(json.dumps(raw, indent=1))
    return 1 if result.errors or result.served != result.tickets else 0


if __name__ == "__main__":
    sys.exit(main())
