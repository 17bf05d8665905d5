"""A device on the bus in its own process, so a test can kill it with SIGKILL.

    python -m tests.device_process SITE STATE PORT DEVICE
prints "ready" once connected, then waits until killed or stdin closes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kiosk.bus.client import Bus, BusSettings
from kiosk.config import load_site


def main() -> None:
    site_path, state, port, device = sys.argv[1:5]
    site = load_site(site_path)
    password = (Path(state) / "secrets" / f"{device}.password").read_text().strip()
    role = site.device_by_id[device].role
    bus = Bus(BusSettings(site.site.id, device, role, password, "127.0.0.1", int(port))).start(wait=10)
    print("ready", flush=True)
    sys.stdin.read()
    bus.stop()


if __name__ == "__main__":
    main()
