"""``madoguchi demo``: the whole queuing system on one machine.

Starts Mosquitto from the project's generated config, the queue service as its own
process and the ESC/POS printer simulator, then opens the ticket kiosk, a call panel
with a counter picker, the call board, the form issuer and the self register as windows
(with a small card window that holds a test resident's virtual My Number card on the reader,
and a small hardware window for the register): issue a ticket, call it, watch the board,
print forms, pay slips. Tickets and receipts are saved as PNGs, forms as PDFs.

The demo is one process group: Ctrl-C, SIGTERM or SIGHUP to it, or closing any window, stops
every process it started (:class:`~madoguchi.local.Processes`) and it says which.
``--narrate`` instead walks four residents through the office in the terminal, on the same
processes (no display needed): three with one ticket at the classic counters, then the same move-in as
a one-stop visit (called once to a booth; the sections take its requests).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.bus.client import Bus, CommandFailed
from kiosk.bus.schemas import CalledEvent
from kiosk.config import load_site
from kiosk.config.site import Site
from kiosk.ui.run import has_display
from madoguchi.local import (
    LocalBroker,
    Processes,
    StackError,
    free_port,
    start_broker,
    start_service_process,
    wait_healthy,
)

if TYPE_CHECKING:
    from devkit.pcscd import Pcscd

DEMO_PIN = "1234"


#: Layers of the demo's processes: the windows stop first, then the service and pcscd, the broker last.
WINDOWS, SERVERS, BROKER = 2, 1, 0


#: Where the example site's 1F sections are, seen from the demo's board (arrows beside the calls).
DEMO_BOARD_DIRECTIONS = {
    "jumin": "left",
    "mynumber": "left",
    "koseki": "right",
    "shomei": "right",
    "onestop": "ahead",
    "nofu": "back",
}


class DemoStopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP: the demo ends like on Ctrl-C (everything it started is stopped)."""


def _stop_demo(signum: int, _frame: object) -> None:
    raise DemoStopped(signal.Signals(signum).name)


def run_demo(args) -> int:
    if not args.narrate and not has_display():
        print(
            "madoguchi demo opens the kiosk, a call panel, the call board, the form issuer and the self register "
            "as windows, but there is no display (DISPLAY/WAYLAND_DISPLAY unset).\n"
            "  - on a desktop: run it there;  - headless: xvfb-run -a .venv/bin/madoguchi demo;\n"
            "  - or the text walk-through: .venv/bin/madoguchi demo --narrate",
            file=sys.stderr,
        )
        return 2
    site = load_site(args.site)
    state: Path = args.state.resolve() / "demo"  # absolute: it goes into device files and child processes
    state.mkdir(parents=True, exist_ok=True)
    journal = state / "queue.sqlite"
    for stale in (journal, journal.with_name("queue.sqlite-wal"), journal.with_name("queue.sqlite-shm")):
        stale.unlink(missing_ok=True)  # every demo starts a fresh day
    processes = Processes()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop_demo)
    # Ctrl-C stops the demo even when it was started in the background of a script, where the shell set
    # SIGINT to "ignore" and Python then installs no handler of its own.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if args.history_days > 0:
            seed_history(site, journal, state, args.history_days)
        broker = start_broker(site, state, port=args.port)
        processes.add("broker (Mosquitto)", broker.proc, BROKER)
        say("broker", f"Mosquitto on 127.0.0.1:{args.port} (no anonymous access, ACL per role: {state}/broker/acl)")
        key = demo_preentry_key(site, state)
        service = start_service_process(broker, args.site, args.http_port, db=journal, preentry_key=key)
        processes.add("queue service", service, SERVERS)
        health = wait_healthy(args.http_port, [broker.proc, service])
        web = f"http://127.0.0.1:{args.http_port}"
        say("service", f"queue service up: day {health['day']}, health {web}/healthz")
        say("web", f"congestion {web}/congestion · guide {web}/guide · the ticket's QR opens {web}/t/<token>")
        say("web", f"staff KPI pages {web}/staff (login kanri / sakura-demo-2026) · API {web}/openapi.json")
        if not args.narrate:
            return run_apps(args, broker, state, processes)
        walk(site, broker)
        say("service", f"health: {json.dumps(wait_healthy(args.http_port, [service]), ensure_ascii=False)}")
        say("demo", f"journal: {journal} — logs: {state}/*.log")
        return 0
    except StackError as exc:
        print(f"the demo could not start: {exc} (logs under {state})", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        say("demo", f"stopping ({str(exc) or 'Ctrl-C'})")
        return 0
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        stopped, ended = processes.stop_all()
        if ended:
            say("demo", "had ended: " + ", ".join(ended))
        if stopped:
            say("demo", "stopped: " + ", ".join(stopped))


def run_apps(args, broker: LocalBroker, state: Path, processes: Processes) -> int:
    """Open the apps on the running stack; return when one of them (or the service, or the broker) ends."""
    from devkit.printer import EscposSimulator
    from kiosk.pin import hash_pin

    printed = state / "printed"
    printer = EscposSimulator(printed, on_receipt=lambda r: say("printer", f"ticket printed → {r.png_path}")).start()
    try:
        say("printer", f"ESC/POS printer simulator on tcp://127.0.0.1:{printer.port} (tickets saved in {printed})")
        windows = {"fullscreen": False}
        configs = {
            "ticket": broker.device_file(
                "kiosk-1f",
                args.site,
                printer=f"tcp://127.0.0.1:{printer.port}",
                status_url=f"http://127.0.0.1:{args.http_port}/t/{{token}}",
                concierge_pin=hash_pin(DEMO_PIN),
                screen={**windows, "width": 1280, "height": 800},
            ),
            "panel": broker.device_file("panel-demo", args.site, screen={**windows, "width": 1024, "height": 600}),
            "board": broker.device_file(
                "board-1f",
                args.site,
                floor=1,
                directions=DEMO_BOARD_DIRECTIONS,
                screen={**windows, "width": 1280, "height": 720},
            ),
        }
        cards = CardPath.choose(state)
        if cards.daemon is not None:
            processes.add("pcscd", cards.daemon.process, SERVERS)
        forms_out = state / "forms-printed"
        configs["forms"] = broker.device_file(
            "forms-1f",
            args.site,
            form_printer=f"pdf:{forms_out}",
            card_reader=cards.reader,
            preentry_key=demo_preentry_key(site_of(args), state),
            screen={**windows, "width": 1280, "height": 800},
        )
        for role, config in configs.items():
            cmd = [sys.executable, "-m", "madoguchi", "kiosk", role, "--config", str(config), "--windowed"]
            processes.start(APP_NAMES[role], cmd, state / f"{role}.log", WINDOWS)
        holder = [sys.executable, "-m", "devkit.card_window", "--port", str(cards.port)]
        processes.start("card window", holder, state / "card-holder.log", WINDOWS)
        register_how = start_register(args, broker, state, printer, processes, windows)
        say("demo", "ticket kiosk, call panel (pick a counter, open it, call next) and call board are opening")
        say("demo", f"kiosk staff mode PIN: {DEMO_PIN}. Close any window or press Ctrl-C to stop.")
        say("forms", f"form issuer: {cards.how}; hold a card from the small card window (PIN 1234)")
        say("forms", f"printed forms go to {forms_out} as PDF")
        if register_how:
            say("register", register_how)
        while (ended := processes.exited()) is None:
            time.sleep(0.2)
        name, proc = ended
        say("demo", f"{name} ended (exit {proc.returncode}); stopping the demo")
        return 0
    finally:
        printer.stop()


APP_NAMES = {"ticket": "ticket kiosk", "panel": "call panel", "board": "call board", "forms": "form issuer"}


def start_register(args, broker: LocalBroker, state: Path, printer, processes: Processes, windows: dict) -> str | None:
    """The self register with its hardware window (changer, terminal and scanner simulators on ptys)."""
    from kiosk.pin import hash_pin

    if site_of(args).register is None:
        return None
    links, slips = state / "register-devices", state / "slips"
    for name in ("cash-changer", "terminal", "scanner"):
        (links / name).unlink(missing_ok=True)
    window = [sys.executable, "-m", "devkit.register_window", "--links", str(links), "--slips", str(slips)]
    hardware = processes.start(
        "register hardware window", [*window, "--site", str(args.site)], state / "register-devices.log", WINDOWS
    )
    deadline = time.monotonic() + 30
    while not all((links / n).exists() for n in ("cash-changer", "terminal", "scanner")):
        if time.monotonic() > deadline or hardware.poll() is not None:
            return f"the register's hardware window did not start (see {state / 'register-devices.log'})"
        time.sleep(0.1)
    config = broker.device_file(
        "register-1f",
        args.site,
        printer=f"tcp://127.0.0.1:{printer.port}",
        cash_changer=f"cctalk:{links / 'cash-changer'}",
        cashless_terminal=f"cat:{links / 'terminal'}",
        scanner=f"serial:{links / 'scanner'}",
        payments_journal=state / "payments.db",
        status_url=f"http://127.0.0.1:{args.http_port}/t/{{token}}",  # the ticket QR it recognises
        concierge_pin=hash_pin(DEMO_PIN),
        screen={**windows, "width": 1280, "height": 800},
    )
    cmd = [sys.executable, "-m", "madoguchi", "kiosk", "register", "--config", str(config), "--windowed"]
    processes.start("self register", cmd, state / "register.log", WINDOWS)
    return (
        f"self register: scan slips, insert cash and tap cards from the small hardware window; "
        f"slip pictures in {slips}; receipts come out of the same printer; staff PIN {DEMO_PIN}"
    )


def seed_history(site: Site, journal: Path, state: Path, days: int) -> None:
    """Past office days from the simulated office day, so the dashboard and the forecast look like a real
    office. Simulated once into a cache (only new days are added on later runs), then copied in."""
    from devkit.office_simulation import write_history

    today = datetime.now(site.zone).date()
    past = [today - timedelta(days=n) for n in range(1, days * 7 // 5 + 3)]
    cache = state / "history.sqlite"
    started = time.monotonic()
    written = write_history(site, cache, past)
    shutil.copyfile(cache, journal)
    took = time.monotonic() - started
    say("service", f"{len(written)} new simulated past days in the journal ({took:.0f} s; cache {cache})")


def site_of(args) -> Site:
    return load_site(args.site)


def demo_preentry_key(site: Site, state: Path) -> Path:
    """A pre-entry key for the demo (0600), and a sample QR of pre-entered answers next to it."""
    from datetime import datetime, timedelta

    from form_printer.preentry import make_payload, new_key, qr_image

    path = state / "secrets" / "preentry.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(new_key() + "\n")
    now = datetime.now(site.zone)
    fields = {
        "move_date": now.date().isoformat(),
        "new_address": "東京都さくら区梅田一丁目1番1号",
        "phone": "03-1234-5678",
    }
    payload = make_payload(fields, bytes.fromhex(path.read_text().strip()), site.site.id, now + timedelta(days=7), now)
    qr_image(payload).save(state / "preentry-sample.png")
    (state / "preentry-sample.txt").write_text(payload + "\n")
    return path


@dataclass
class CardPath:
    """Where the demo's virtual card goes: pcscd's vpcd reader when possible, else the in-process reader."""

    reader: str
    port: int
    how: str
    daemon: Pcscd | None = None

    @classmethod
    def choose(cls, state: Path) -> CardPath:
        from devkit.mynumber_card import VPCD_PORT
        from devkit.pcscd import PcscdUnavailable, running_pcscd, start_pcscd, vpcd_installed

        why = "install pcscd + vsmartcard-vpcd for the real PC/SC path"
        if vpcd_installed():
            if running_pcscd() is not None:
                return cls("Virtual PCD 00 00", VPCD_PORT, "the running pcscd with vsmartcard-vpcd (real PC/SC path)")
            why = "the demo starts pcscd (the real PC/SC path) only when run as root"
            if os.geteuid() == 0:
                try:
                    daemon = start_pcscd(state / "pcscd", VPCD_PORT)
                    return cls("Virtual PCD 00 00", VPCD_PORT, "pcscd + vsmartcard-vpcd (real PC/SC path)", daemon)
                except PcscdUnavailable as exc:
                    why = f"pcscd could not start: {exc}"
        port = free_port()
        return cls(f"simulated:{port}", port, f"in-process simulated card reader ({why})")


def say(who: str, text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}  [{who:<9}] {text}", flush=True)


def walk(site: Site, broker: LocalBroker) -> None:
    kiosk, panel, board = broker.bus("kiosk-1f"), broker.bus("panel-demo"), broker.bus("board-1f")
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

        say("demo", "the same move-in as a one-stop visit: called once to a booth, the sections come to it")
        panel.request("open_counter", {"counter": "b1"})
        d = issue(site, kiosk, "転入 one-stop (children, NHI)", moving_in, life_event="moving_in")
        call("b1")  # seated at booth B1; the booth's staff do 転入届 themselves
        complete("b1")
        for counter in ("c21", "c24"):
            t = panel.request("take_request", {"counter": counter, "ticket": d["id"]})["ticket"]
            say("panel", f"{counter}: request from booth {t['booth']} taken → #{t['number']} for {here(site, t)}")
            complete(counter)
        for t in (a, b, c, d):
            final = panel.request("reprint", {"ticket": t["id"]})["ticket"]
            say("kiosk", f"ticket #{final['number']}: {final['status']}")
    finally:
        for b_ in (kiosk, panel, board):
            b_.stop()


def issue(
    site: Site, kiosk: Bus, label: str, procedures: list[str], priority: bool = False, life_event: str | None = None
) -> dict:
    args = {"procedures": procedures, "lang": "ja", "priority": priority}
    if life_event is not None:
        args["life_event"] = life_event
    t = kiosk.request("issue", args)["ticket"]
    wait = "—" if t["est_wait_min"] is None else f"about {t['est_wait_min']} min"
    say("kiosk", f"ticket #{t['number']}{' (優先 priority)' if priority else ''}: {label}; first call in {wait}")
    for i, step in enumerate(t["itinerary"], 1):
        p, g = site.procedure_by_id[step["procedure"]], site.group_by_id[step["group"]]
        where = "staff come to the booth" if step.get("mode") == "booth" else f"{g.names.ja} {g.floor}F"
        say("kiosk", f"   {i}. {p.names.ja} / {p.names.en} — {where}")
    return t


def here(site: Site, t: dict) -> str:
    return ", ".join(site.procedure_by_id[s["procedure"]].names.ja for s in t["itinerary"] if s["status"] == "serving")


def progress(t: dict) -> str:
    marks = {"done": "✓", "serving": "▶", "pending": "·"}
    return " ".join(f"{marks[s['status']]}{s['procedure']}" for s in t["itinerary"])
