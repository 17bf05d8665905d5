"""``madoguchi service``: the queue service (MQTT commands, journal, web pages)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from madoguchi.cli.common import host_port, run_command, site_and_state

NAME = "service"
HELP = "run the queue service"


def add_arguments(p: argparse.ArgumentParser) -> None:
    site_and_state(p)
    p.add_argument("--broker", type=host_port, default=("127.0.0.1", 1883), metavar="HOST:PORT")
    p.add_argument("--cafile", help="CA certificate: connect with TLS")
    p.add_argument("--device", help="the service's device id (default: the site's 'service' device)")
    p.add_argument("--password-file", type=Path, help="default: STATE/secrets/DEVICE.password")
    p.add_argument("--db", type=Path, help="journal (default: STATE/queue.sqlite)")
    p.add_argument("--http", type=host_port, default=("127.0.0.1", 8080), metavar="HOST:PORT")
    p.add_argument("--tick", type=float, default=15.0, help="seconds between wait refreshes")
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy whose X-Forwarded-For is believed (repeatable; default: none)",
    )
    p.add_argument("--preentry-key", type=Path, help="the site's pre-entry key: the web guide signs QR codes for forms")


def run(args: argparse.Namespace) -> int:
    from kiosk.bus.client import BusSettings
    from kiosk.bus.contract import Role
    from kiosk.config import load_site
    from queue_service.city_summary import day_summary
    from queue_service.service.app import HttpSettings, QueueService
    from queue_service.web.app import make_app

    # The journal holds today's ticket tokens and staff handover notes: private at rest, whatever umask the
    # caller had (SQLite creates the -wal and -shm files later; the unit says UMask=0077 too).
    os.umask(0o077)
    site = load_site(args.site)
    device = args.device or (site.service_device.id if site.service_device else None)
    if device is None or device not in site.device_by_id or site.device_by_id[device].role is not Role.SERVICE:
        print("the site has no device of role 'service' (add one to [[devices]])", file=sys.stderr)
        return 2
    password_file = args.password_file or args.state / "secrets" / f"{device}.password"
    try:
        password = password_file.read_text().strip()
    except OSError as exc:
        print(f"cannot read the service's password {password_file}: {exc.strerror}", file=sys.stderr)
        return 2
    host, port = args.broker
    settings = BusSettings(site.site.id, device, Role.SERVICE, password, host, port, cafile=args.cafile)
    http_host, http_port = args.http
    http = HttpSettings(http_host, http_port, trusted_proxies=tuple(args.trusted_proxy)) if http_port else None
    forms = Path(args.site).parent / "forms"
    service = QueueService(
        site,
        args.db or args.state / "queue.sqlite",
        settings,
        http,
        tick_seconds=args.tick,
        preentry_key=args.preentry_key,
        forms_dir=forms if forms.is_dir() else None,
        web=make_app,
        city_summary=day_summary,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    service.start(wait=None)
    logging.getLogger("madoguchi").info("queue service for %s running (http %s:%s)", site.site.id, *args.http)
    stop.wait()
    service.stop()
    return 0


def main(argv: list[str]) -> int:
    return run_command(NAME, HELP, add_arguments, run, argv)
