"""The role's hardware: receipt printer, card reader, A4 printer, cash changer, cashless terminal,
slip scanner, payments journal, the screen.

Serial devices are opened for real, so the appliance's app must be stopped while the doctor runs
(only one program can hold a serial port).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
from pathlib import Path

from madoguchi.doctor.core import CheckResult, Context, check, fail, ok, warn

SCREEN_ROLES = {"ticket", "panel", "board", "forms", "register"}


def _role(ctx: Context) -> str:
    ctx.require_device()
    return str(ctx.role)


# ------------------------------------------------------------------------------------------ receipt printer

_PRINTER_FAULTS = {
    "cover_open": ("its cover is open", "close the printer cover firmly"),
    "paper_out": ("it is out of paper", "put in a new paper roll and close the cover"),
    "error": (
        "it reports an error (cutter jam or a fault)",
        "open the cover, remove any stuck paper, close it; if it stays, turn the printer off and on",
    ),
    "offline": (
        "it does not answer",
        "check that the printer is on and its cable (USB, serial or network) is plugged in",
    ),
}


@check("receipt printer")
def check_receipt_printer(ctx: Context) -> CheckResult | None:
    from kiosk.printing.printer import TicketPrinter

    role = _role(ctx)
    if role not in ("ticket", "register"):
        return None
    what = "receipt printer" if role == "register" else "ticket printer"
    device = ctx.device
    assert device is not None
    if not device.printer:
        if role == "register":
            return warn(what, "no printer in the device file: the register cannot print receipts", "set printer")
        return warn(what, "no printer in the device file: tickets are shown on screen only", "set printer")
    try:
        printer = TicketPrinter(device.printer, timeout=ctx.timeout)
    except ValueError as exc:
        return fail(what, f"printer URI not understood: {exc}", "fix `printer` in the device file")
    status = printer.status()
    blocking = status.blocking_fault or (None if status.online else "offline")
    if blocking is not None:
        why, fix = _PRINTER_FAULTS.get(blocking, (blocking, "look at the printer"))
        return fail(what, f"{device.printer}: {why}", fix)
    if "paper_near_end" in status.faults:
        return warn(what, f"{device.printer}: online, the paper roll is nearly used up", "put in a new roll today")
    return ok(what, f"{device.printer}: online, paper loaded")


# ------------------------------------------------------------------------------------------ form issuer


@check("card reader")
def check_card_reader(ctx: Context) -> CheckResult | None:
    if _role(ctx) != "forms":
        return None
    what = "card reader"
    assert ctx.device is not None
    wanted = ctx.device.card_reader
    if wanted == "simulated":
        return warn(
            what,
            'card_reader = "simulated": a virtual card for the demo, no real card can be read',
            "remove card_reader from the device file (or name the real reader)",
        )
    try:
        from form_printer.card.pcsc import reader_names

        names = reader_names()
    except Exception as exc:  # noqa: BLE001 - pyscard raises many kinds when pcscd is away
        return fail(
            what,
            f"the card reader service pcscd is not running ({type(exc).__name__})",
            "sudo systemctl restart pcscd, then run the doctor again",
        )
    matching = [n for n in names if wanted in n] if wanted else names
    if matching:
        return ok(what, f"{matching[0]} (listed by pcscd)")
    listed = f"pcscd lists: {', '.join(names)}" if names else "pcscd lists no reader at all"
    looking = f"no reader named like {wanted!r}" if wanted else "no card reader"
    return fail(
        what,
        f"{looking}; {listed}",
        "plug the card reader in (USB) and wait 5 s; if it still is not listed, try another USB port"
        + (" or fix card_reader in the device file" if wanted and names else ""),
    )


def _lpstat(ctx: Context, args: list[str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(
            [ctx.lpstat, *args], capture_output=True, text=True, timeout=ctx.timeout, check=False,
            env={**os.environ, "LC_ALL": "C"},
        )  # fmt: skip
    except FileNotFoundError:
        return None


@check("form printer")
def check_form_printer(ctx: Context) -> CheckResult | None:
    from form_printer.forms.spool import CupsSpool, PdfSpool, open_spool

    if _role(ctx) != "forms":
        return None
    what = "form printer"
    assert ctx.device is not None
    uri = ctx.device.form_printer
    if not uri:
        return fail(what, "no form_printer in the device file", 'set form_printer = "cups:QUEUE"')
    try:
        spool = open_spool(uri)
    except ValueError as exc:
        return fail(what, str(exc), "fix form_printer in the device file")
    if isinstance(spool, PdfSpool):
        problem = folder_writable(spool.folder)
        if problem:
            return fail(what, f"{uri}: {problem}", f"create the folder {spool.folder} or fix form_printer")
        return ok(what, f"{spool.folder} writable (forms are saved as PDF files, not printed)")
    assert isinstance(spool, CupsSpool)
    server = ["-h", spool.server] if spool.server else []
    where = f"the print server {spool.server}" if spool.server else "CUPS"
    scheduler = _lpstat(ctx, [*server, "-r"])
    if scheduler is None:
        return fail(what, f"lpstat not found ({ctx.lpstat})", "install the Debian package cups-client")
    if "scheduler is running" not in scheduler.stdout:
        fix = "sudo systemctl start cups" if not spool.server else f"check that {spool.server} is on and runs CUPS"
        return fail(what, f"{where} is not running or does not answer", fix)
    accepting = _lpstat(ctx, [*server, "-a", spool.printer])
    if accepting is None or accepting.returncode != 0 or spool.printer not in accepting.stdout:
        return fail(
            what,
            f"{where} has no printer queue named {spool.printer!r}",
            "`lpstat -e` lists the queues: set form_printer to one of them, or add the printer in CUPS",
        )
    if "not accepting" in accepting.stdout:
        return fail(what, f"queue {spool.printer} does not accept jobs", f"sudo cupsaccept {spool.printer}")
    state = _lpstat(ctx, [*server, "-p", spool.printer])
    if state is not None and "disabled" in state.stdout:
        return fail(
            what,
            f"queue {spool.printer} is paused (disabled): {state.stdout.strip().splitlines()[-1].strip()}",
            f"fix the printer (paper, toner, cover), then sudo cupsenable {spool.printer}",
        )
    return ok(what, f"CUPS queue {spool.printer} accepts jobs")


def folder_writable(folder: Path) -> str | None:
    """None when a file can be created in ``folder`` (made if missing), else what is wrong, in plain words."""
    if folder.exists() and not folder.is_dir():
        return f"{folder} is a file, not a folder"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
    except NotADirectoryError:
        return f"{folder} cannot be made: part of its path is a file"
    except OSError as exc:
        return f"cannot write in {folder}: {exc.strerror or exc}"
    return None


# ------------------------------------------------------------------------------------------ self register


def _port_missing(path: str) -> bool:
    return "://" not in path and not os.path.exists(path)


@check("cash changer", limit=4.0)
def check_cash_changer(ctx: Context) -> CheckResult | None:
    from register.cash.changer import CashChangerError
    from register.setup import changer_for

    if _role(ctx) != "register":
        return None
    what = "cash changer"
    assert ctx.device is not None
    uri = ctx.device.cash_changer
    if uri is None:
        if ctx.device.cashless_terminal is None:
            return fail(what, "the device file has neither cash_changer nor cashless_terminal", "set one of them")
        return ok(what, "none configured (cashless only)")
    try:
        changer = changer_for(uri)
    except ValueError as exc:
        return fail(what, str(exc), "fix cash_changer in the device file")
    assert changer is not None
    path = uri.removeprefix("cctalk:")
    if _port_missing(path):
        return fail(
            what,
            f"no device at {path}",
            "check the cash changer's USB cable and power; `ls -l /dev/serial/by-id/` shows what is plugged in",
        )
    try:
        changer.open()
    except CashChangerError as exc:
        if exc.code == "disconnected":
            return fail(
                what,
                f"{path} opens but the changer does not answer ({exc})",
                "turn the cash changer on (or off and on) and check its cable; stop the register app first",
            )
        return fail(what, f"something answers on {path}, but not as the configured changer: {exc}", "call support")
    try:
        status = changer.status()
    finally:
        changer.close()
    if not status.connected:
        return fail(what, f"{path}: the changer stopped answering", "turn it off and on, check the cable")
    jams = [f.split(":", 1)[1] for f in status.faults if f.startswith("jam:")]
    if jams:
        return fail(what, f"jammed: {', '.join(jams)}", "open the changer and clear the stuck coin or note")
    other = [f for f in status.faults if f.startswith("fault:")]
    if other:
        return fail(what, f"reports a fault: {', '.join(other)}", "turn the changer off and on; call its maintenance")
    empty = [f.split(":", 1)[1] for f in status.faults if f.startswith("empty:")]
    low = [f.split(":", 1)[1] for f in status.faults if f.startswith("near_empty:")]
    notes: list[str] = []
    if empty:
        notes.append(f"empty: {', '.join(empty)} yen")
    if low:
        notes.append(f"nearly empty: {', '.join(low)} yen")
    if "full:note" in status.faults:
        notes.append("the note box is full")
    if notes:
        return warn(what, f"answers; {'; '.join(notes)}", "refill the change (and empty the note box) before opening")
    return ok(what, f"{path} answers, change loaded")


@check("cashless terminal", limit=3.0)
def check_cashless_terminal(ctx: Context) -> CheckResult | None:
    from register.cashless.terminal import CatError
    from register.setup import terminal_for

    if _role(ctx) != "register":
        return None
    what = "cashless terminal"
    assert ctx.device is not None
    uri = ctx.device.cashless_terminal
    if uri is None:
        return ok(what, "none configured (cash only)")
    try:
        terminal = terminal_for(uri)
    except ValueError as exc:
        return fail(what, str(exc), "fix cashless_terminal in the device file")
    assert terminal is not None
    terminal.reply_timeout = min(terminal.reply_timeout, ctx.timeout)
    path = uri.removeprefix("cat:")
    if _port_missing(path):
        return fail(
            what,
            f"no device at {path}",
            "check the payment terminal's USB cable and power; `ls -l /dev/serial/by-id/` shows what is plugged in",
        )
    try:
        terminal.open()
        status = terminal.status()
    except CatError as exc:
        return fail(
            what,
            f"{path}: the payment terminal does not answer ({exc})",
            "turn the payment terminal on (or off and on) and check its cable; stop the register app first",
        )
    finally:
        terminal.close()
    if not status.connected:
        return fail(what, f"{path}: the terminal stopped answering", "turn it off and on, check the cable")
    if status.faults:
        return warn(what, f"answers but reports: {', '.join(status.faults)}", "see the terminal's own screen")
    return ok(what, f"{path} answers")


@check("slip scanner")
def check_scanner(ctx: Context) -> CheckResult | None:
    import serial

    if _role(ctx) != "register":
        return None
    what = "slip scanner"
    assert ctx.device is not None
    uri = ctx.device.scanner
    if uri is None:
        return ok(what, "USB keyboard scanner (not checked: scan a slip on the screen to test it)")
    if not uri.startswith("serial:") or len(uri) == len("serial:"):
        return fail(what, f"scanner {uri!r}: expected serial:/dev/...", "fix scanner in the device file")
    path = uri.removeprefix("serial:")
    if _port_missing(path):
        return fail(
            what,
            f"no device at {path}",
            "check the scanner's USB cable; `ls -l /dev/serial/by-id/` shows what is plugged in",
        )
    try:
        with serial.serial_for_url(path, baudrate=9600, timeout=0.1):
            pass
    except (OSError, serial.SerialException) as exc:
        return fail(what, f"{path} cannot be opened: {exc}", "unplug and plug the scanner; stop the register app")
    return ok(what, f"{path} opens")


@check("payments journal")
def check_payments_journal(ctx: Context) -> CheckResult | None:
    if _role(ctx) != "register":
        return None
    what = "payments journal"
    assert ctx.device is not None
    path = ctx.device.payments_journal
    if path is None:
        return fail(what, "no payments_journal in the device file", "set it to a file on the data partition")
    problem = folder_writable(path.parent)
    if problem:
        return fail(what, problem, f"check that the data partition is mounted and writable ({path.parent})")
    if path.exists() and not os.access(path, os.W_OK):
        return fail(what, f"{path} cannot be written", f"fix its owner or mode (it must be writable: {path})")
    return ok(what, f"{path.parent} writable" + ("" if path.exists() else " (journal not created yet)"))


# ------------------------------------------------------------------------------------------ screen


@check("display")
def check_display(ctx: Context) -> CheckResult | None:
    if _role(ctx) not in SCREEN_ROLES:
        return None
    what = "display"
    env = ctx.environ
    x11 = env.get("DISPLAY")
    if x11:
        problem = _x11_problem(x11, ctx.x11_dir)
        if problem is None:
            return ok(what, f"X display {x11} answers")
        return fail(what, problem, "check that the screen is on and the kiosk session started (systemctl status)")
    wayland = env.get("WAYLAND_DISPLAY")
    if wayland:
        runtime = Path(env.get("XDG_RUNTIME_DIR", "/run/user/0"))
        socket_path = Path(wayland) if wayland.startswith("/") else runtime / wayland
        if socket_path.exists():
            return ok(what, f"Wayland display {wayland}")
        return fail(what, f"Wayland display {wayland} is set but {socket_path} does not exist", "restart the session")
    # Over SSH neither is set: look for a running display server on this machine.
    screens = sorted(ctx.x11_dir.glob("X*")) if ctx.x11_dir.is_dir() else []
    if screens:
        return ok(what, f"X display :{screens[0].name[1:]} is running")
    return fail(
        what,
        "no screen: neither DISPLAY nor WAYLAND_DISPLAY is set, and no display server is running",
        "check the screen's cable and power, then restart the appliance; "
        "from SSH, run the doctor as `DISPLAY=:0 madoguchi doctor ...`",
    )


def _x11_problem(display: str, x11_dir: Path) -> str | None:
    host, _, rest = display.rpartition(":")
    number = rest.split(".")[0]
    if not number.isdigit():
        return f"DISPLAY={display} is not a display name"
    if host and host not in ("unix", "localhost"):
        return None  # a remote X server: the app will tell
    path = x11_dir / f"X{number}"
    with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as s:
        s.settimeout(2)
        try:
            s.connect(str(path))
        except OSError:
            return f"DISPLAY={display} is set, but no X server answers at {path}"
    return None


__all__ = [
    "check_card_reader",
    "check_cash_changer",
    "check_cashless_terminal",
    "check_display",
    "check_form_printer",
    "check_payments_journal",
    "check_receipt_printer",
    "check_scanner",
    "folder_writable",
]
