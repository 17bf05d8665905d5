"""``madoguchi demo``: the whole backbone on one machine, narrated in the terminal.

Starts Mosquitto from the project's generated config and the queue service as its own
process, then walks three residents through the ward office with a ticket kiosk, call
panels and a call board on the real bus. Later issues replace the narration with the
Kivy apps; the processes underneath stay the same.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from broker_config.generate import generate
from broker_config.settings import BrokerSettings, Listener
from kiosk.bus.client import Bus, BusSettings, CommandFailed
from kiosk.bus.schemas import CalledEvent
from kiosk.config import load_site
from kiosk.config.site import Site


def run_demo(args) -> int:
    site = load_site(args.site)
    state: Path = args.state / "demo"
    state.mkdir(parents=True, exist_ok=True)
    journal = state / "queue.sqlite"
    for stale in (journal, journal.with_name("queue.sqlite-wal"), journal.with_name("queue.sqlite-shm")):
        stale.unlink(missing_ok=True)  # every demo starts a fresh day
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(mosquitto).exists():
        print("Mosquitto is not installed: run scripts/install first.", file=sys.stderr)
        return 2

    settings = BrokerSettings(listeners=(Listener(port=args.port),), run_as_root=os.geteuid() == 0)
    files = generate(site, state / "broker", state / "secrets", settings)
    procs: list[subprocess.Popen] = []
    try:
        say("broker", f"Mosquitto on 127.0.0.1:{args.port} (no anonymous access, ACL per role: {files.acl})")
        log = open(state / "mosquitto.log", "ab")  # noqa: SIM115
        procs.append(subprocess.Popen([mosquitto, "-c", str(files.conf)], stdout=log, stderr=subprocess.STDOUT))
        service_cmd = [
            sys.executable, "-m", "kiosk.cli", "service", "--site", str(args.site), "--state", str(state),
            "--db", str(journal), "--broker", f"127.0.0.1:{args.port}", "--http", f"127.0.0.1:{args.http_port}",
        ]  # fmt: skip
        slog = open(state / "service.log", "ab")  # noqa: SIM115
        procs.append(subprocess.Popen(service_cmd, stdout=slog, stderr=subprocess.STDOUT))
        health = wait_healthy(args.http_port, procs)
        say("service", f"queue service up: day {health['day']}, health http://127.0.0.1:{args.http_port}/healthz")
        walk(site, state, args.port)
        say("service", f"health: {json.dumps(wait_healthy(args.http_port, procs), ensure_ascii=False)}")
        say("demo", f"journal: {journal} — logs: {state}/*.log")
        return 0
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()


def wait_healthy(port: int, procs: list[subprocess.Popen], timeout: float = 20.0) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise SystemExit(f"a demo process exited early ({p.args[0]}); see the logs under var/demo")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                body = json.load(r)
                if body["status"] == "ok":
                    return body
                last = body
        except OSError as exc:
            last = exc
        time.sleep(0.1)
    raise SystemExit(f"the queue service did not become healthy: {last}")


def say(who: str, text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}  [{who:<9}] {text}", flush=True)


def walk(site: Site, state: Path, port: int) -> None:
    def bus(device: str) -> Bus:
        password = (state / "secrets" / f"{device}.password").read_text().strip()
        role = site.device_by_id[device].role
        return Bus(BusSettings(site.site.id, device, role, password, "127.0.0.1", port)).start()

    kiosk, panel, board = bus("kiosk-1f"), bus("panel-demo"), bus("board-1f")
    announced = threading.Semaphore(0)

    def on_called(topic: str, e: CalledEvent) -> None:
        c = site.counter_by_id[e.counter]
        again = " (再呼出 recall)" if e.recall else ""
        say("board", f"♪ {e.number}番の方、{c.names.ja}（{c.floor}階）へどうぞ — No. {e.number} to {c.names.en}{again}")
        announced.release()

    board.subscribe_model(board.topics.called_event, CalledEvent, on_called)
    try:
        for counter in ("c01", "c07", "c21", "c24", "c32"):
            panel.request("open_counter", {"counter": counter})
        say("panel", "counters 1, 7, 21, 24 and 32 open")

        moving_in = site.procedures_for("moving_in", {"children": True, "kokuho": True})
        a = issue(site, kiosk, "転入 (children, NHI)", moving_in)
        b = issue(site, kiosk, "住民票の写し", ["juminhyo"])
        c = issue(site, kiosk, "所得証明 (priority)", ["shotoku_shomei"], priority=True)

        def call(counter: str) -> dict | None:
            t = panel.request("call_next", {"counter": counter})["ticket"]
            if t is None:
                say("panel", f"{counter}: call next → nobody callable here yet")
                return None
            note = f" — note from {t['note']['counter']}: 「{t['note']['text']}」" if t.get("note") else ""
            say("panel", f"{counter}: call next → #{t['number']} for {here(site, t)}{note}")
            announced.acquire(timeout=5)
            return t

        def complete(counter: str, **extra) -> None:
            t = panel.request("complete", {"counter": counter, **extra})["ticket"]
            say("panel", f"{counter}: complete #{t['number']} → {t['status']}; {progress(t)}")

        call("c01")  # A: 転入届
        call("c21")  # nobody: A's 国保 waits for 転入届, and A is busy at c01
        call("c07")  # B: 住民票
        call("c32")  # C: priority
        complete("c07")
        complete("c32")
        complete("c01", note="お子さん2人、保険証の切替をお願いします")
        call("c21")  # A again, with the note
        complete("c21")
        call("c24")  # A: 児童手当 + こども医療証 together
        try:
            panel.request("call_next", {"counter": "c24"})
        except CommandFailed as exc:
            say("panel", f"c24: call next again → refused: {exc.code} ({exc.message})")
        complete("c24")
        for t in (a, b, c):
            final = panel.request("reprint", {"ticket": t["id"]})["ticket"]
            say("kiosk", f"ticket #{final['number']}: {final['status']}")
    finally:
        for b_ in (kiosk, panel, board):
            b_.stop()


def issue(site: Site, kiosk: Bus, label: str, procedures: list[str], priority: bool = False) -> dict:
    t = kiosk.request("issue", {"procedures": procedures, "lang": "ja", "priority": priority})["ticket"]
    wait = "—" if t["est_wait_min"] is None else f"about {t['est_wait_min']} min"
    say("kiosk", f"ticket #{t['number']}{' (優先 priority)' if priority else ''}: {label}; first call in {wait}")
    for i, step in enumerate(t["itinerary"], 1):
        p, g = site.procedure_by_id[step["procedure"]], site.group_by_id[step["group"]]
        say("kiosk", f"   {i}. {p.names.ja} / {p.names.en} — {g.names.ja} {g.floor}F")
    return t


def here(site: Site, t: dict) -> str:
    return ", ".join(site.procedure_by_id[s["procedure"]].names.ja for s in t["itinerary"] if s["status"] == "serving")


def progress(t: dict) -> str:
    marks = {"done": "✓", "serving": "▶", "pending": "·"}
    return " ".join(f"{marks[s['status']]}{s['procedure']}" for s in t["itinerary"])
