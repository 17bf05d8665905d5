"""Run Mosquitto on the generated files (``madoguchi broker``), as root or as an ordinary user.

Mosquitto started by root drops its privileges to user ``mosquitto`` *before* it reads the password file
and the ACL, so files that root wrote 0600 into a folder under ``/root`` cannot be read and it exits at once
(``Error: Unable to open pwfile``). Started by root, the broker's files are therefore handed to that user
(still 0600, so no one else reads them) and a child process running as that user checks that it can reach
them; where it cannot (a state folder under a 0700 home), the config says ``user root`` and we say so.
Started by anyone else, Mosquitto keeps that user and reads what that user wrote.

Mosquitto runs as our child, not via exec: its output passes through, and when it cannot start we say
so with its own reason and exit non-zero. SIGTERM and SIGINT are passed on (it stops), SIGHUP too (it
reloads the password file and ACL after ``madoguchi provision add``).
"""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from broker_config.generate import BrokerFiles
from broker_config.settings import Listener
from kiosk.programs import find_program

BROKER_USER = "mosquitto"


@dataclass(frozen=True)
class BrokerUser:
    """Who Mosquitto will run as: ``root`` (``user root`` in the config) or the user it drops to."""

    name: str
    why: str = ""

    @property
    def is_root(self) -> bool:
        return self.name == "root"


def hand_to_broker_user(files: BrokerFiles) -> BrokerUser:
    """Root only: give the password file, ACL and persistence folder to user ``mosquitto`` and check, as that
    user, that it can read them. Returns who Mosquitto must run as."""
    try:
        user = pwd.getpwnam(BROKER_USER)
    except KeyError:
        return BrokerUser("root", f"there is no user {BROKER_USER!r} to drop privileges to")
    for path in (files.passwd, files.acl, files.data, *files.data.iterdir()):  # data: its persistence file
        os.chown(path, user.pw_uid, user.pw_gid)
    probe = subprocess.run(
        [
            "sh",
            "-c",
            'test -r "$1" && test -r "$2" && test -w "$3"',
            "probe",
            *map(str, (files.passwd, files.acl, files.data)),
        ],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return BrokerUser(
            "root",
            f"user {BROKER_USER!r} cannot reach {files.passwd.parent} (a folder on the way is closed to it, "
            f"e.g. a 0700 home); use a --state outside it, such as /var/lib/madoguchi, to run it unprivileged",
        )
    return BrokerUser(BROKER_USER)


def run_mosquitto(conf: Path, listeners: tuple[Listener, ...], out=sys.stdout, err=sys.stderr) -> int:
    """Run Mosquitto on ``conf`` until it ends; its exit code (non-zero with its reason when it fails).
    Says when every listener accepts connections."""
    binary = find_program("mosquitto")
    if binary is None:
        print("madoguchi broker: Mosquitto is not installed (Debian package mosquitto; scripts/install)", file=err)
        return 2
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace"
    )
    forward = {s: signal.signal(s, lambda signum, _f: proc.send_signal(signum)) for s in _FORWARDED}
    started = threading.Event()
    threading.Thread(target=_say_when_listening, args=(proc, listeners, started, out), daemon=True).start()
    last: deque[str] = deque(maxlen=12)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            out.flush()
            last.append(line.rstrip("\n"))
        code = proc.wait()
    finally:
        for signum, previous in forward.items():
            signal.signal(signum, previous)
    if code != 0:
        what = "stopped" if started.is_set() else "could not start"
        reason = "\n  ".join(line for line in last if line.strip()) or "(it printed nothing)"
        print(f"madoguchi broker: Mosquitto {what} (exit {code}):\n  {reason}", file=err)
    return code


def _say_when_listening(proc: subprocess.Popen, listeners: tuple[Listener, ...], started: threading.Event, out) -> None:
    """Wait until Mosquitto itself holds a listening socket on each port (it says nothing at the generated
    log level; connecting would log a client and could reach another broker already on the port)."""
    ports = {listener.port for listener in listeners}
    while proc.poll() is None and not ports <= listening_ports(proc.pid):
        time.sleep(0.05)
    if proc.poll() is None:
        started.set()
        where = ", ".join(f"{listener.host}:{listener.port}" for listener in listeners)
        print(f"madoguchi broker: Mosquitto (pid {proc.pid}) is listening on {where}", file=out, flush=True)


def listening_ports(pid: int) -> set[int]:
    """The TCP ports on which process ``pid`` holds a listening socket (Linux: its fds, /proc/net/tcp*)."""
    try:
        links = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
    except OSError:
        return set()
    inodes = {link[len("socket:[") : -1] for link in links if link.startswith("socket:[")}
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
