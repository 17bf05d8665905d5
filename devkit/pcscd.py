"""Start a pcscd with the vsmartcard ``vpcd`` reader, for tests and the demo.

pcscd always serves ``/run/pcscd/pcscd.comm`` (1.9.x ignores a custom socket name on the daemon
side), so one runs per machine: if one is running already we say so rather than fight it. It
runs with the default log level: never ``-a``/``-d``, which log every APDU, the PIN in clear.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from kiosk.programs import find_program

PID_FILE = Path("/run/pcscd/pcscd.pid")
VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER_NAME = "Virtual PCD"


class PcscdUnavailable(RuntimeError):
    pass


def vpcd_installed() -> bool:
    return find_program("pcscd") is not None and VPCD_DRIVER.exists()


def running_pcscd() -> int | None:
    """The pid of a live pcscd, if any: from its pid file, or any process named pcscd (one started with
    ``--foreground``, as ours are, writes no pid file; a second one would fail on the shared socket while
    the first one's vpcd reader made it look ready)."""
    try:
        pid = int(PID_FILE.read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        pass
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "pcscd" and _alive(entry):
                    return int(entry.name)
            except OSError:
                continue
    return None


def _alive(proc: Path) -> bool:
    """Not a zombie (a pcscd we stopped but whose parent has not reaped it yet)."""
    return proc.joinpath("stat").read_text().rsplit(") ", 1)[1].split()[0] != "Z"


@dataclass
class Pcscd:
    process: subprocess.Popen
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_pcscd(workdir: Path, port: int, timeout: float = 15.0) -> Pcscd:
    """pcscd in the foreground with only the vpcd reader configured, listening for a card on ``port``."""
    if not vpcd_installed():
        raise PcscdUnavailable("pcscd and vsmartcard-vpcd are not installed (Debian: pcscd vsmartcard-vpcd)")
    if running_pcscd() is not None:
        raise PcscdUnavailable(f"a pcscd is already running (pid {running_pcscd()}); stop it first")
    if os.geteuid() != 0:
        raise PcscdUnavailable("pcscd serves /run/pcscd and must be started as root")
    conf = workdir.resolve() / "reader.conf.d"  # pcscd refuses a relative --config folder
    conf.mkdir(parents=True, exist_ok=True)
    (conf / "vpcd").write_text(
        f'FRIENDLYNAME "{READER_NAME}"\nDEVICENAME /dev/null:{port:#x}\nLIBPATH {VPCD_DRIVER}\nCHANNELID {port:#x}\n'
    )
    log = conf.parent / "pcscd.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [find_program("pcscd") or "pcscd", "--foreground", "--config", str(conf)],
            stdout=out,
            stderr=out,
        )
    daemon = Pcscd(process, port, log)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = _has_reader()
            if process.poll() is not None:
                tail = log.read_text(errors="replace")[-500:]
                raise PcscdUnavailable(f"pcscd exited ({process.returncode}): {tail}")
            if ready:
                return daemon
            time.sleep(0.05)
        raise PcscdUnavailable(f"pcscd did not list the vpcd reader within {timeout:.0f} s")
    except BaseException:  # not ready, or Ctrl-C while waiting: no pcscd left behind
        daemon.stop()
        raise


def _has_reader() -> bool:
    from form_printer.card.pcsc import reader_names

    try:
        return any(READER_NAME in name for name in reader_names())
    except Exception:  # noqa: BLE001 - not up yet
        return False
