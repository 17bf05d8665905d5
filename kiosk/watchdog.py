"""Tell systemd how the process is doing: ``READY=1``, ``WATCHDOG=1``, ``STATUS=...`` (sd_notify).

The appliance units are ``Type=notify`` with ``WatchdogSec=``: systemd waits for READY before it
counts the app as started, and kills and restarts it when the pings stop (a frozen UI, a stuck
worker). The protocol is one datagram on the AF_UNIX socket named by ``$NOTIFY_SOCKET`` (a path,
or ``@name`` in the abstract namespace); no library needed. Without ``$NOTIFY_SOCKET`` (a
developer's terminal, the tests) every function is a no-op.

The kiosk app runs under cage (``NotifyAccess=all``), so ``$WATCHDOG_PID`` names cage, not us:
it is deliberately not checked.
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)

#: Ping interval when systemd does not say (no ``$WATCHDOG_USEC``).
DEFAULT_INTERVAL = 5.0


def notify(*fields: str) -> bool:
    """Send ``fields`` (``"READY=1"``, ...) as one message; False when there is nobody to tell."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode())
    except OSError as exc:  # systemd gone or the socket not ours: never take the app down for it
        log.debug("sd_notify to %s failed: %s", address, exc)
        return False
    return True


def ready(status: str | None = None) -> bool:
    return notify("READY=1", *([f"STATUS={status}"] if status else []))


def ping() -> bool:
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    return notify(f"STATUS={text}")


def interval() -> float:
    """Seconds between pings: a third of systemd's ``WatchdogSec`` (``$WATCHDOG_USEC``), else 5."""
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return DEFAULT_INTERVAL
    return max(0.5, usec / 3e6) if usec > 0 else DEFAULT_INTERVAL
