"""What a person sees: from a panel's ``call_next`` to the number in the board state every board draws from.

    .venv/bin/python -m bench.call_path [--scenario one|fifty|both] [--tickets 300] [--json FILE]

On the real stack (Mosquitto from the generated config, the queue service as its own process, devices on the
kiosk's bus client with their own roles and passwords), for each scenario on a fresh broker and database:

1. **The floor**, before the service starts, on the same broker, same client library, same payload (a board
   state of ``recent_calls`` calls, parsed into ``BoardState`` as a board does): one hop (publish → subscribe)
   and two hops (a panel's publish on ``queue/cmd/call_next`` → a relay on the service's credentials that
   republishes the bytes retained on a state topic → a board), since a call crosses the broker twice.
2. **The calls**: ``one``: one panel calls 300 tickets issued beforehand, one board watches. ``fifty``: 10 kiosks
   issue while 30 panels race (call_next → complete on 30 counters) and 10 boards watch; 300 tickets in all.
   The clock runs from the moment the panel publishes ``call_next`` to the moment each board holds a parsed
   ``queue/state/board`` that shows the call (normally as ``recent[0]``; counted apart when it first shows
   lower because the service applied two calls in one batch). The ``called`` event and the panel's reply are
   timed beside it.

Each board runs in a process of its own (the observers share no interpreter with the 40 load clients); all
processes read CLOCK_MONOTONIC, which is system-wide. The example site has 16 section counters and 12 panels, so
the bench writes a copy with 30 counters that serve residents, a panel for each, 10 kiosks and 10 boards.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import paho.mqtt.client as mqtt

from bench.common import EXAMPLE_SITE, Stack, local_stack, panel_counters, percentile, workload
from kiosk.bus.client import Bus
from kiosk.bus.contract import Role
from kiosk.bus.schemas import Announcement, BoardCall, BoardState, CalledEvent, GroupState, WaitState, dump
from kiosk.config import load_site
from kiosk.config.loading import toml_value
from kiosk.config.site import Device, Site
from madoguchi.local import LocalBroker

#: Devices of the ``fifty`` scenario (the issue's busy morning: 50 devices).
KIOSKS, PANELS, BOARDS = 10, 30, 10
#: Floor samples not counted (the first publishes on a fresh connection).
WARM_UP = 10
#: The floor's path check: a number no sample carries (samples count 0-998 round).
MARKER = 999
#: A call = (counter, number, called at): the board state's key for one call.
CallKey = tuple[str, int, datetime]


def now() -> float:
    """CLOCK_MONOTONIC in seconds: the same clock in the bench's processes, so a send in one and a receive in the
    other subtract."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


# ---------------------------------------------------------------- the bench site
def bench_site_text(example: Path = EXAMPLE_SITE) -> str:
    """The example site plus copies of its section counters (``c01x2``...) up to :data:`PANELS` counters that
    serve residents, a panel for every one of them, :data:`KIOSKS` kiosks and :data:`BOARDS` boards.

    Appended as TOML to the example's own text, so everything else (groups, procedures, the strict validation)
    is the example's; the result is validated by the caller's ``load_site``."""
    site = load_site(example)
    groups = serving_groups(site)
    serving = [c for c in site.counters if c.group in groups]
    counters = list(serving)
    extra: list[dict[str, Any]] = []
    copy = 2
    while len(counters) < PANELS:
        for c in serving[: PANELS - len(counters)]:
            names = {
                lang: f"{name} ({copy})" for lang, name in c.names.model_dump(by_alias=True, exclude_none=True).items()
            }
            item = {"id": f"{c.id}x{copy}", "names": names, "floor": c.floor, "group": c.group}
            if c.serves:
                item["serves"] = list(c.serves)
            extra.append(item)
            counters.append(c.model_copy(update={"id": item["id"]}))
        copy += 1
    paneled = panel_counters(site)
    devices: list[dict[str, Any]] = [
        {"id": f"panel-{c.id}", "role": "panel", "counters": [c.id]} for c in counters if c.id not in paneled
    ]
    devices += [{"id": f"kiosk-b{i:02d}", "role": "ticket"} for i in range(1, KIOSKS + 1)]
    devices += [{"id": f"board-b{i:02d}", "role": "board"} for i in range(1, BOARDS + 1)]
    blocks = ["\n# ---------------------------------------------------------------- bench.call_path additions"]
    for name, items in (("counters", extra), ("devices", devices)):
        for item in items:
            blocks.append(f"[[{name}]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in item.items()))
    return example.read_text(encoding="utf-8") + "\n".join(blocks)


def serving_groups(site: Site) -> set[str]:
    """Groups with a procedure a panel can call and complete at once (what :func:`bench.common.workload` issues)."""
    return {
        p.group
        for p in site.procedures
        if p.routing != "register" and p.delivery != "later" and p.group != site.booth_group
    }


def write_bench_site(folder: Path) -> Path:
    path = folder / "bench-site.toml"
    path.write_text(bench_site_text(), encoding="utf-8")
    load_site(path)  # fail here, naming the line, rather than in the service's log
    return path


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    kiosks: tuple[str, ...]
    #: counter → its panel's device id
    panels: dict[str, str]
    boards: tuple[str, ...]
    #: tickets issued before the first call (the rest are issued while the panels call)
    prefill: int


def scenarios(site: Site, tickets: int) -> dict[str, Scenario]:
    groups = serving_groups(site)
    panels = {c: d for c, d in panel_counters(site).items() if site.counter_by_id[c].group in groups}
    assert len(panels) >= PANELS, f"the bench site has {len(panels)} serving counters with a panel"
    fifty = dict(list(panels.items())[:PANELS])
    kiosks = tuple(f"kiosk-b{i:02d}" for i in range(1, KIOSKS + 1))
    boards = tuple(f"board-b{i:02d}" for i in range(1, BOARDS + 1))
    return {
        "one": Scenario("one", "1 device", ("kiosk-1f",), {"c01": panels["c01"]}, ("board-1f",), tickets),
        "fifty": Scenario("fifty", "50 devices", kiosks, fifty, boards, min(tickets, PANELS)),
    }


# ---------------------------------------------------------------- the floor
def floor_payload(site: Site, seq: int) -> bytes:
    """A board state as the service publishes it (``recent_calls`` calls), ``seq`` as the newest number."""
    counters = [c.id for c in site.counters]
    at = datetime.now(site.zone)
    recent = [
        BoardCall(number=seq if i == 0 else i, counter=counters[i % len(counters)], at=at)
        for i in range(site.queue.recent_calls)
    ]
    return dump(BoardState(recent=recent))


def measure_floor(broker: LocalBroker, samples: int) -> dict[str, list[float]]:
    """Ping-pong ``samples`` board-state-sized messages one hop and two hops through ``broker``; seconds each.

    Runs before the queue service starts: the relay borrows the service's credentials (the only ones the ACL lets
    read a command and write a state topic), and nothing else is on the broker."""
    site = broker.site
    assert site.service_device is not None
    relay = broker.bus(site.service_device.id)
    panel = broker.bus(next(d.id for d in site.devices if d.role is Role.PANEL))
    board = broker.bus(next(d.id for d in site.devices if d.role is Role.BOARD))
    one_hop = f"{relay.topics.root}/queue/state/bench-floor-1"
    two_hops = f"{relay.topics.root}/queue/state/bench-floor-2"
    got: dict[str, dict[int, float]] = {one_hop: {}, two_hops: {}}
    cond = threading.Condition()

    def seen(topic: str, state: BoardState) -> None:
        t = now()
        with cond:
            got[topic].setdefault(state.recent[0].number, t)
            cond.notify_all()

    board.subscribe_model(one_hop, BoardState, seen)
    board.subscribe_model(two_hops, BoardState, seen)

    def forward(msg: mqtt.MQTTMessage) -> None:
        relay.publish(two_hops, bytes(msg.payload), retain=True)

    relay.subscribe(relay.topics.command("call_next"), forward)
    # subscriptions are made in the network threads: the first message through each path says they are in place
    payloads = [floor_payload(site, seq % MARKER) for seq in range(samples + WARM_UP)]
    marker = floor_payload(site, MARKER)
    out: dict[str, list[float]] = {}

    def ping(topic: str, send: Callable[[bytes], object]) -> list[float]:
        _wait_path(cond, got[topic], lambda: send(marker), MARKER)
        times = []
        for seq, payload in enumerate(payloads):
            started = now()
            send(payload)
            with cond:
                if not cond.wait_for(lambda: seq % MARKER in got[topic], timeout=5):  # noqa: B023 - called here
                    raise RuntimeError(f"floor message {seq} on {topic} never arrived")
                arrived = got[topic].pop(seq % MARKER)
            if seq >= WARM_UP:
                times.append(arrived - started)
        return times

    try:
        out["floor_1hop"] = ping(one_hop, lambda data: relay.publish(one_hop, data, retain=True))
        out["floor_2hops"] = ping(two_hops, lambda data: panel.publish(relay.topics.command("call_next"), data))
        for topic in (one_hop, two_hops):  # leave no retained message behind
            relay.publish_confirmed(topic, b"", retain=True)
    finally:
        for bus in (panel, board, relay):
            bus.stop()
    return out


def _wait_path(cond: threading.Condition, got: dict[int, float], send: Callable[[], object], marker: int) -> None:
    """Re-send a marker until it comes through: the subscriptions (made asynchronously) are in place."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        send()
        with cond:
            if cond.wait_for(lambda: marker in got, timeout=0.2):
                got.clear()
                return
    raise RuntimeError("the floor's subscriptions never came up")


# ---------------------------------------------------------------- the boards, in their own process
@dataclass
class BoardLog:
    """What one board saw: each call's first sighting in a board state (when, at which position of ``recent``) and
    each ``called`` event."""

    device: str
    states: int = 0
    shown: dict[CallKey, tuple[float, int]] = field(default_factory=dict)
    called: dict[CallKey, float] = field(default_factory=dict)


def _boards_child(conn: Connection, site_path: str, state: str, port: int, devices: list[str], as_app: bool) -> None:
    """Connect the boards, say ready once each holds the retained board state, log until every call the parent
    expects (``(counter, number)`` → how many times) was seen (5 s at most), send the logs back."""
    site = load_site(site_path)
    broker = LocalBroker(site, Path(state), port, cast(subprocess.Popen, None))  # the parent runs it: .bus() only
    logs = {d: BoardLog(d) for d in devices}
    cond = threading.Condition()
    buses: list[Bus] = []
    assert site.service_device is not None
    service = site.service_device.id

    def on_state(log: BoardLog) -> Callable[[str, BoardState], None]:
        def seen(_topic: str, board: BoardState) -> None:
            t = now()
            with cond:
                log.states += 1
                for i, c in enumerate(board.recent):
                    log.shown.setdefault((c.counter, c.number, c.at), (t, i))
                cond.notify_all()

        return seen

    def on_called(log: BoardLog) -> Callable[[str, CalledEvent], None]:
        def heard(_topic: str, event: CalledEvent) -> None:
            t = now()
            with cond:
                log.called.setdefault((event.counter, event.number, event.at), t)
                cond.notify_all()

        return heard

    def complete(expected: Counter[tuple[str, int]]) -> bool:
        for log in logs.values():
            shown = Counter((c, n) for c, n, _ in log.shown)
            called = Counter((c, n) for c, n, _ in log.called)
            if any(shown[k] < v or called[k] < v for k, v in expected.items()):
                return False
        return True

    try:
        for device in devices:
            bus = broker.bus(device, start=False)
            bus.subscribe_model(bus.topics.board_state, BoardState, on_state(logs[device]))
            bus.subscribe_model(bus.topics.called_event, CalledEvent, on_called(logs[device]))
            if as_app:
                subscribe_as_app(bus, Role.BOARD, service, parse=True)
            buses.append(bus.start(wait=10))
        with cond:
            ready = cond.wait_for(lambda: all(log.states for log in logs.values()), timeout=10)
        conn.send(ready)
        expected: Counter[tuple[str, int]] = conn.recv()
        with cond:
            cond.wait_for(lambda: complete(expected), timeout=5)
            conn.send(list(logs.values()))
    finally:
        for bus in buses:
            bus.stop()


class Boards:
    """The boards, each in a process of its own as each is a device of its own (in one process, ten boards'
    network threads shared one interpreter: p50 5.4 → 4.2 ms when split): started before the first call,
    collected after the last."""

    def __init__(self, stack: Stack, devices: tuple[str, ...], as_app: bool) -> None:
        ctx = mp.get_context("spawn")
        self.procs: list[tuple[Any, Connection]] = []
        for device in devices:
            conn, child = ctx.Pipe()
            args = (child, str(stack.site_path), str(stack.broker.state), stack.broker.port, [device], as_app)
            proc = ctx.Process(target=_boards_child, args=args, name=f"bench-{device}", daemon=True)
            proc.start()
            self.procs.append((proc, conn))
        for _proc, conn in self.procs:
            if not conn.poll(60) or not conn.recv():
                self.close()
                raise RuntimeError("a board never received the retained board state")

    def collect(self, expected: Counter[tuple[str, int]]) -> list[BoardLog]:
        for _proc, conn in self.procs:
            conn.send(expected)
        logs: list[BoardLog] = []
        for proc, conn in self.procs:
            if not conn.poll(60):
                raise RuntimeError(f"{proc.name} did not answer")
            logs += conn.recv()
            proc.join(10)
        return logs

    def close(self) -> None:
        for proc, _conn in self.procs:
            if proc.is_alive():
                proc.terminate()
                proc.join(5)


# ---------------------------------------------------------------- the load: kiosks and panels
@dataclass
class Load:
    """What the kiosk and panel threads share."""

    tickets: int
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: (counter, number) → when each call_next that called it was published, in order
    sent: dict[tuple[str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    rtt: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    empty_calls: int = 0
    finished: int = 0
    steps: int = 0
    errors: list[str] = field(default_factory=list)
    #: each group's ``waiting`` as the panels last read it from the retained group state, and how many group
    #: states came in: a panel with nobody to call waits for a new one saying someone waits at its groups
    waiting: dict[str, int] = field(default_factory=dict)
    versions: Counter[str] = field(default_factory=Counter)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def finish(self) -> None:
        self.stop.set()
        with self.changed:
            self.changed.notify_all()

    def on_group(self, _topic: str, state: GroupState) -> None:
        with self.changed:
            self.waiting[state.group] = state.waiting
            self.versions[state.group] += 1
            self.changed.notify_all()

    def request(self, bus: Bus, verb: str, args: dict) -> tuple[float, dict]:
        started = now()
        result = bus.request(verb, args, timeout=10)
        with self.lock:
            self.rtt[verb].append(now() - started)
        return started, result

    def fail(self, what: str, exc: Exception) -> None:
        with self.lock:
            self.errors.append(f"{what}: {exc!r}")
        self.finish()

    def kiosk(self, bus: Bus, visits: list[tuple[int, list[str]]], gap: float) -> None:
        """Issue ``visits`` one by one, ``gap`` seconds apart (a resident at the screen: workload, not a wait)."""
        for i, procedures in visits:
            if self.stop.is_set():
                return
            try:
                self.request(bus, "issue", {"procedures": procedures, "lang": "ja", "priority": i % 10 == 0})
            except Exception as exc:  # noqa: BLE001 - a bench reports failures, it does not stop at one
                self.fail(f"issue {procedures}", exc)
                return
            if gap:
                self.stop.wait(gap)

    def _someone_waits(self, groups: tuple[str, ...]) -> Callable[[], bool]:
        """A new group state since now says someone waits at one of ``groups`` (or the run is over)."""
        seen = {g: self.versions[g] for g in groups}
        return lambda: self.stop.is_set() or any(self.versions[g] != seen[g] and self.waiting.get(g) for g in groups)

    def panel(self, counter: str, groups: tuple[str, ...], bus: Bus, idle: float) -> None:
        """call_next → complete until every ticket is done. When nobody was callable here, the staff wait until
        their panel shows someone waiting at one of the counter's ``groups`` (a new group state), or ``idle``
        seconds, then press again: no storm of empty calls that no office makes."""
        while not self.stop.is_set():
            try:
                sent, result = self.request(bus, "call_next", {"counter": counter})
                ticket = result["ticket"]
                if ticket is None:
                    with self.lock:
                        self.empty_calls += 1
                    with self.changed:
                        self.changed.wait_for(self._someone_waits(groups), timeout=idle)
                    continue
                with self.lock:
                    self.sent[(counter, ticket["number"])].append(sent)
                _, result = self.request(bus, "complete", {"counter": counter})
            except Exception as exc:  # noqa: BLE001
                self.fail(counter, exc)
                return
            itinerary = result["ticket"]["itinerary"]
            with self.lock:
                self.steps += 1
                if all(s["status"] == "done" for s in itinerary):
                    self.finished += 1
                    if self.finished >= self.tickets:
                        self.finish()


def _ignore(*_args: object) -> None:
    """A message the bench does not look at: the device receives it all the same (the broker's fan-out)."""


def subscribe_as_app(bus: Bus, role: Role, service: str, parse: bool) -> None:
    """Subscribe ``bus`` to what the role's app subscribes to (ticket_machine/*/app.py, kiosk/ui/link.py) beyond
    what the bench itself reads, so each connection carries what it would carry in the office. ``parse``:
    validate each message as the app's bus does (the boards' process); the panels (the load process) take them
    raw, to leave the 2 CPUs to the broker and the service."""
    t = bus.topics
    bus.subscribe(t.status(service), _ignore)
    if role is Role.PANEL:
        for topic in (t.counter_state("+"), t.group_state("+"), t.requests_state("+"), t.coming_state("+")):
            bus.subscribe(topic, _ignore)
        for topic in (t.booth_state("+"), t.pickups_state("+")):
            bus.subscribe(topic, _ignore)
    elif role is Role.BOARD:
        if parse:
            bus.subscribe_model(t.group_state("+"), GroupState, _ignore)
            bus.subscribe_model(t.wait_state("+"), WaitState, _ignore)
            bus.subscribe_model(t.announce_event, Announcement, _ignore)
        else:
            for topic in (t.group_state("+"), t.wait_state("+"), t.announce_event):
                bus.subscribe(topic, _ignore)


def _run_threads(targets: Sequence[Callable[[], object]]) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _shares(kiosks: list[Bus], visits: list[tuple[int, list[str]]]) -> list[tuple[Bus, list[tuple[int, list[str]]]]]:
    """Each kiosk with its share of ``visits`` (every n-th)."""
    return [(kiosk, visits[i :: len(kiosks)]) for i, kiosk in enumerate(kiosks)]


# ---------------------------------------------------------------- one scenario
@dataclass
class ScenarioResult:
    scenario: Scenario
    tickets: int
    served: int
    steps: int
    empty_calls: int
    serve_seconds: float
    calls_sent: int
    seen_by_every_board: int
    #: (call, board) pairs whose call first showed below ``recent[0]`` (two calls applied in one batch)
    shown_below_top: int
    #: seconds, by measure: floor_1hop, floor_2hops, board_state, last_board, called_event, reply
    seconds: dict[str, list[float]]
    health: dict
    errors: list[str]

    @property
    def missed(self) -> int:
        return self.calls_sent - self.seen_by_every_board


def pair_calls(sent: dict[tuple[str, int], list[float]], logs: list[BoardLog]) -> dict[str, Any]:
    """Match the n-th call_next of (counter, number) with the n-th call of that (counter, number) the boards saw
    (ordered by its ``at``, over every board's states and events, so one board missing a call shifts nothing)."""
    calls: dict[tuple[str, int], set[datetime]] = defaultdict(set)
    for log in logs:
        for counter, number, at in (*log.shown, *log.called):
            calls[(counter, number)].add(at)
    board, last, called = [], [], []
    seen_all = below = 0
    for cn, sends in sent.items():
        order = sorted(calls.get(cn, ()))
        for i, started in enumerate(sends):
            if i >= len(order):
                continue
            key = (*cn, order[i])
            shown = [log.shown.get(key) for log in logs]
            for sight in shown:
                if sight is not None:
                    board.append(sight[0] - started)
                    below += sight[1] > 0
            if all(shown):
                seen_all += 1
                last.append(max(s[0] for s in shown if s is not None) - started)
            called += [log.called[key] - started for log in logs if key in log.called]
    return {"board_state": board, "last_board": last, "called_event": called, "seen_all": seen_all, "below": below}


def run_scenario(
    sc: Scenario,
    site_path: Path,
    state: Path,
    tickets: int,
    seed: int,
    floor_samples: int,
    issue_gap: float,
    idle: float,
    as_app: bool = False,
) -> ScenarioResult:
    site = load_site(site_path)
    visits = list(enumerate(workload(site, list(sc.panels), tickets, seed)))
    load = Load(tickets)
    with local_stack(site_path, state, service=False) as stack:
        floor = measure_floor(stack.broker, floor_samples)
        stack.start_service()
        boards = Boards(stack, sc.boards, as_app)
        try:
            service = cast(Device, site.service_device).id
            kiosks = [stack.broker.bus(d) for d in sc.kiosks]
            panels = {c: stack.broker.bus(d) for c, d in sc.panels.items()}
            if as_app:
                for bus in (*kiosks, *panels.values()):
                    subscribe_as_app(bus, site.device_by_id[bus.device].role, service, parse=False)
            # the staff's eyes: one panel reads the group states (once each) for every panel's "someone waits"
            observer = next(iter(panels.values()))
            observer.subscribe_model(observer.topics.group_state("+"), GroupState, load.on_group)
            for counter, panel in panels.items():
                panel.request("open_counter", {"counter": counter})
            before, during = visits[: sc.prefill], visits[sc.prefill :]
            _run_threads([partial(load.kiosk, k, v, 0) for k, v in _shares(kiosks, before)])
            started = now()
            work = [partial(load.kiosk, k, v, issue_gap) for k, v in _shares(kiosks, during)]
            work += [partial(load.panel, c, site.counter_by_id[c].groups, p, idle) for c, p in panels.items()]
            _run_threads(work)
            serve_seconds = now() - started
            for bus in (*kiosks, *panels.values()):
                bus.stop()
            health = stack.health()
            logs = boards.collect(Counter({k: len(v) for k, v in load.sent.items()}))
        finally:
            boards.close()
    paired = pair_calls(load.sent, logs)
    seconds = {
        **floor,
        "board_state": paired["board_state"],
        "called_event": paired["called_event"],
        "reply": load.rtt["call_next"],
    }
    if len(sc.boards) > 1:
        seconds["last_board"] = paired["last_board"]
    return ScenarioResult(
        sc,
        tickets,
        load.finished,
        load.steps,
        load.empty_calls,
        serve_seconds,
        sum(map(len, load.sent.values())),
        paired["seen_all"],
        paired["below"],
        seconds,
        health,
        load.errors,
    )


def run(
    which: list[str],
    tickets: int = 300,
    seed: int = 7,
    floor_samples: int = 300,
    issue_gap: float = 0.25,
    idle: float = 1.0,
    state: Path | None = None,
    as_app: bool = False,
) -> list[ScenarioResult]:
    """Each scenario of ``which`` (``one``, ``fifty``) on its own fresh broker, service and database."""
    with tempfile.TemporaryDirectory(prefix="madoguchi-callpath-") as tmp:
        root = state or Path(tmp)
        site_path = write_bench_site(root)
        all_scenarios = scenarios(load_site(site_path), tickets)
        results = []
        for key in which:
            folder = root / key
            folder.mkdir(parents=True, exist_ok=True)
            sc = all_scenarios[key]
            results.append(run_scenario(sc, site_path, folder, tickets, seed, floor_samples, issue_gap, idle, as_app))
    return results


# ---------------------------------------------------------------- the report
LABELS = {
    "floor_1hop": "floor: publish → subscribe (1 hop)",
    "floor_2hops": "floor: publish → relay → subscribe (2 hops)",
    "board_state": "**call_next → board state** (each board)",
    "last_board": "call_next → board state at the last of the boards",
    "called_event": "call_next → `called` event (each board)",
    "reply": "call_next → reply at the panel",
}


def stats(values: list[float]) -> dict[str, float]:
    ms = [v * 1000 for v in values]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50": percentile(ms, 0.5),
        "p90": percentile(ms, 0.9),
        "p99": percentile(ms, 0.99),
        "max": max(ms),
    }


def devices(sc: Scenario) -> str:
    """The devices at work while the calls are made (``one``'s kiosk issues everything beforehand)."""

    def count(n: int, what: str) -> str:
        return f"{n} {what}{'s' if n != 1 else ''}"

    kiosks = f"{count(len(sc.kiosks), 'kiosk')} issuing, " if sc.key != "one" else ""
    return f"{kiosks}{count(len(sc.panels), 'panel')}, {count(len(sc.boards), 'board')}"


def table(results: list[ScenarioResult]) -> str:
    python = sys.version.split()[0]
    lines = [
        f"call path bench ({sys.platform}, Python {python}); the floor is measured on the same broker in the same run",
        "",
        "| scenario | devices | tickets served / issued | calls sent | seen by every board | missed "
        "| first shown below the top | empty call_next | commands | journal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        journal = r.health.get("journal", {})
        lines.append(
            f"| {r.scenario.title} | {devices(r.scenario)} | {r.served} / {r.tickets} | {r.calls_sent} "
            f"| {r.seen_by_every_board} | {r.missed} | {r.shown_below_top} | {r.empty_calls} "
            f"| {r.health.get('commands_processed', '?')} "
            f"| {journal.get('journal_mode', '?')}, synchronous={journal.get('synchronous', '?')} |"
        )
    lines += [
        "",
        "| scenario | path | n | p50 ms | p90 ms | p99 ms | max ms | ÷ 1-hop floor (p50 / p99) "
        "| ÷ 2-hop floor (p50 / p99) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        one, two = stats(r.seconds["floor_1hop"]), stats(r.seconds["floor_2hops"])
        for name, label in LABELS.items():
            if name not in r.seconds:
                continue
            s = stats(r.seconds[name])
            if not s["n"]:
                lines.append(f"| {r.scenario.title} | {label} | 0 | | | | | | |")
                continue
            ratio = ["", ""]
            if not name.startswith("floor"):
                ratio = [f"{s['p50'] / f['p50']:.1f}× / {s['p99'] / f['p99']:.1f}×" for f in (one, two)]
            lines.append(
                f"| {r.scenario.title} | {label} | {s['n']} | {s['p50']:.2f} | {s['p90']:.2f} | {s['p99']:.2f} "
                f"| {s['max']:.2f} | {ratio[0]} | {ratio[1]} |"
            )
    lines += [
        "",
        "Inside the service (its /healthz timings over the last batches): a batch = validation, engine, journal "
        "commit, publishing the board's state, events and replies; a state pass = the group topics after it.",
        "",
        "| scenario | batches | commands per batch | batch p50 / p99 ms | journal commit p50 / p99 ms "
        "| state passes | state pass p50 / p99 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        t = r.health.get("timings") or {}
        lines.append(
            f"| {r.scenario.title} | {t.get('batches', '?')} | {t.get('commands_per_batch', '?')} "
            f"| {t.get('batch_p50_ms', '?')} / {t.get('batch_p99_ms', '?')} "
            f"| {t.get('journal_p50_ms', '?')} / {t.get('journal_p99_ms', '?')} | {t.get('state_passes', '?')} "
            f"| {t.get('state_p50_ms', '?')} / {t.get('state_p99_ms', '?')} |"
        )
    for r in results:
        if r.errors:
            lines += ["", f"{r.scenario.title}: {len(r.errors)} errors, first: {r.errors[0]}"]
    return "\n".join(lines)


def raw(results: list[ScenarioResult]) -> dict[str, Any]:
    return {
        r.scenario.key: {
            "title": r.scenario.title,
            "devices": devices(r.scenario),
            "tickets": r.tickets,
            "served": r.served,
            "steps": r.steps,
            "serve_seconds": r.serve_seconds,
            "calls_sent": r.calls_sent,
            "seen_by_every_board": r.seen_by_every_board,
            "missed": r.missed,
            "shown_below_top": r.shown_below_top,
            "empty_calls": r.empty_calls,
            "stats_ms": {name: stats(values) for name, values in r.seconds.items()},
            "ms": {name: [round(v * 1000, 4) for v in values] for name, values in r.seconds.items()},
            "health": r.health,
            "errors": r.errors,
        }
        for r in results
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.call_path", description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", choices=("one", "fifty", "both"), default="both")
    parser.add_argument("--tickets", type=int, default=300, help="tickets per scenario (at most 999 a day)")
    parser.add_argument("--floor-samples", type=int, default=300, help="messages timed per floor path")
    parser.add_argument(
        "--issue-gap", type=float, default=0.25, help="fifty: seconds between two tickets of one kiosk while calling"
    )
    parser.add_argument(
        "--app-subscriptions",
        action="store_true",
        help="devices also subscribe to everything their app does (heavy: on 2 CPUs the bench's own parsing "
        "competes with the service)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the raw numbers (milliseconds) here")
    args = parser.parse_args(argv)
    which = ["one", "fifty"] if args.scenario == "both" else [args.scenario]
    results = run(which, args.tickets, args.seed, args.floor_samples, args.issue_gap, as_app=args.app_subscriptions)
    print(table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(raw(results), indent=1))
    bad = [r for r in results if r.errors or r.missed or r.served != r.tickets]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
