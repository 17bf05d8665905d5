"""``madoguchi``: the one command line of smart madoguchi.

    madoguchi broker      generate Mosquitto's config from the site and run it
    madoguchi service     run the queue service
    madoguchi demo        broker + service + simulators + kiosk, call panel, board, form issuer, register windows
    madoguchi check-site  validate a site file and say what is wrong, with line numbers
    madoguchi kiosk ROLE  run an appliance app (ticket, panel, board, forms, register) from its device file
    madoguchi hash-pin    hash a staff PIN for a device file (reads the PIN from stdin)
    madoguchi hash-password  hash a staff web password for the site file's [[staff]] (stdin)
    madoguchi preentry    the form issuer's pre-entry QR codes: new-key, make, verify
    madoguchi provision   a site's CA, broker TLS, device credentials and bundles (images/provision.py)
    madoguchi doctor      check this appliance: config, broker over TLS, hardware, clock (kiosk/doctor.py)

Everything a process writes (broker config, device passwords, the journal) goes
under the state directory (``--state``, default ``./var``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from kiosk.config import ConfigError, load_site

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SITE = ROOT / "sites" / "example" / "site.toml"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--site", type=Path, default=DEFAULT_SITE, help="site file (default: the example ward office)")
    p.add_argument("--state", type=Path, default=Path("var"), help="state directory (default: ./var)")
    p.add_argument("-v", "--verbose", action="store_true")


def _broker_address(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return (host or "127.0.0.1"), int(port)


#: Commands with their own option parser: everything after the command name is theirs (argparse's REMAINDER
#: would stop at the first ``--option``).
DELEGATED = {"preentry": "form_printer.preentry", "provision": "images.provision", "doctor": "kiosk.doctor"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DELEGATED:
        rest = argv[1:]
        return importlib.import_module(DELEGATED[argv[0]]).main(rest[1:] if rest[:1] == ["--"] else rest)
    parser = argparse.ArgumentParser(prog="madoguchi", description="smart madoguchi: smart counters for a city hall")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("broker", help="generate the broker config from the site and run Mosquitto")
    _common(p)
    p.add_argument("--settings", type=Path, help="broker settings TOML (listeners, TLS); default: loopback 1883")
    p.add_argument("--port", type=int, help="loopback port (overrides the settings' first listener)")
    p.add_argument("--generate-only", action="store_true", help="write the files and exit")

    p = sub.add_parser("service", help="run the queue service")
    _common(p)
    p.add_argument("--broker", type=_broker_address, default=("127.0.0.1", 1883), metavar="HOST:PORT")
    p.add_argument("--cafile", help="CA certificate: connect with TLS")
    p.add_argument("--device", help="the service's device id (default: the site's 'service' device)")
    p.add_argument("--password-file", type=Path, help="default: STATE/secrets/DEVICE.password")
    p.add_argument("--db", type=Path, help="journal (default: STATE/queue.sqlite)")
    p.add_argument("--http", type=_broker_address, default=("127.0.0.1", 8080), metavar="HOST:PORT")
    p.add_argument("--tick", type=float, default=15.0, help="seconds between wait refreshes")
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="a reverse proxy whose X-Forwarded-For is believed (repeatable; default: none)",
    )
    p.add_argument("--preentry-key", type=Path, help="the site's pre-entry key: the web guide signs QR codes for forms")

    demo_help = (
        "every role on one screen: ticket kiosk, call panel, call board, form issuer and self register "
        "(with a card window and a register hardware window); --narrate: a text walk-through"
    )
    p = sub.add_parser(
        "demo",
        help=demo_help,
        description=f"{demo_help}. Starts Mosquitto, the queue service, pcscd and the hardware simulators; "
        "Ctrl-C, SIGTERM or closing any window stops all of them.",
    )
    _common(p)
    p.add_argument("--port", type=int, default=18830, help="broker port for the demo")
    p.add_argument("--http-port", type=int, default=18080)
    p.add_argument("--narrate", action="store_true", help="no windows: walk three residents through in the terminal")
    p.add_argument(
        "--history-days", type=int, default=15, help="simulated past office days for the KPI pages and forecast"
    )

    p = sub.add_parser("check-site", help="validate a site file")
    p.add_argument("site", type=Path)

    p = sub.add_parser(
        "kiosk", help="run an appliance app: ticket kiosk, call panel, call board, form issuer or self register"
    )
    p.add_argument(
        "role", nargs="?", choices=["ticket", "panel", "board", "forms", "register"], help="default: the device file's"
    )
    p.add_argument("--config", type=Path, required=True, help="the device file (device.toml)")
    p.add_argument("--counter", help="call panel: the counter to operate")
    p.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    p.add_argument("-v", "--verbose", action="store_true")

    sub.add_parser("hash-pin", help="hash a staff PIN (read from stdin) for a device file's concierge_pin")
    sub.add_parser("hash-password", help="hash a staff web password (read from stdin) for the site's [[staff]]")

    p = sub.add_parser("preentry", help="pre-entry QR codes for the form issuer (new-key, make, verify)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of python -m form_printer.preentry")
    p = sub.add_parser("provision", help="site CA, broker TLS, device credentials and bundles (see --help)")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of python -m images.provision")
    p = sub.add_parser("doctor", help="check this appliance: one line per check, non-zero exit on a failure")
    p.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of python -m kiosk.doctor")

    args = parser.parse_args(argv)
    if hasattr(args, "state"):
        # Absolute from here on: these paths go into generated configs, device files and child processes
        # that start elsewhere; a relative --state (the default ./var) must mean the same folder there.
        args.state, args.site = args.state.resolve(), args.site.resolve()
    quiet = args.command == "demo"  # the demo narrates; its processes log to files
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2


def cmd_check_site(args) -> int:
    """The site file, and its form templates (``forms/`` next to it) against its procedures."""
    site = load_site(args.site)
    forms = Path(args.site).parent / "forms"
    templates = {}
    if forms.is_dir():
        from form_printer.forms.model import check_site_forms, load_templates

        try:
            templates = load_templates(forms)
            check_site_forms(site, templates)
        except ValueError as exc:
            print(f"{forms}: {exc}", file=sys.stderr)
            return 2
    print(
        f"{args.site}: ok — site {site.site.id}: {len(site.groups)} counter groups, {len(site.counters)} counters, "
        f"{len(site.procedures)} procedures, {len(site.life_events)} life events, {len(site.devices)} devices, "
        f"{len(templates)} form templates"
    )
    return 0


def cmd_broker(args) -> int:
    from broker_config.generate import conf_text, generate
    from broker_config.run import hand_to_broker_user, run_mosquitto
    from broker_config.settings import BrokerSettings, Listener
    from kiosk.config import load_toml_model

    site = load_site(args.site)
    settings = load_toml_model(BrokerSettings, args.settings) if args.settings else BrokerSettings()
    if args.port:
        rest = settings.listeners[1:]
        settings = settings.model_copy(update={"listeners": (Listener(port=args.port), *rest)})
    files = generate(site, args.state / "broker", args.state / "secrets", settings)
    print(f"broker config: {files.conf}\ndevice passwords: {args.state / 'secrets'}/<device>.password")
    if os.geteuid() == 0 and not settings.run_as_root:
        user = hand_to_broker_user(files)
        if user.is_root:
            print(f"Mosquitto runs as root: {user.why}", file=sys.stderr)
            files.conf.write_text(conf_text(files, settings.model_copy(update={"run_as_root": True})), encoding="utf-8")
        else:
            print(f"Mosquitto drops its privileges to user {user.name}")
    if args.generate_only:
        return 0
    return run_mosquitto(files.conf, settings.listeners)


def cmd_service(args) -> int:
    from kiosk.bus.client import BusSettings
    from kiosk.bus.contract import Role
    from queue_service.service.app import HttpSettings, QueueService

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
    http = HttpSettings(*args.http, trusted_proxies=tuple(args.trusted_proxy)) if args.http[1] else None
    forms = Path(args.site).parent / "forms"
    service = QueueService(
        site,
        args.db or args.state / "queue.sqlite",
        settings,
        http,
        tick_seconds=args.tick,
        preentry_key=args.preentry_key,
        forms_dir=forms if forms.is_dir() else None,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    service.start(wait=None)
    logging.getLogger("madoguchi").info("queue service for %s running (http %s:%s)", site.site.id, *args.http)
    stop.wait()
    service.stop()
    return 0


def cmd_demo(args) -> int:
    from ticket_machine.demo import run_demo

    return run_demo(args)


def cmd_kiosk(args) -> int:
    from kiosk.ui.run import run

    return run(args.role, args.config, windowed=args.windowed, counter=args.counter)


def cmd_hash_pin(args) -> int:
    from kiosk.pin import hash_pin

    return _print_hash(hash_pin)


def cmd_hash_password(args) -> int:
    from kiosk.pin import hash_password

    return _print_hash(hash_password)


def _print_hash(hasher) -> int:
    """Read the secret from stdin (never from argv: it would show in ps and shell history)."""
    secret = sys.stdin.readline().rstrip("\n")
    try:
        print(hasher(secret))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


COMMANDS = {
    "broker": cmd_broker,
    "service": cmd_service,
    "demo": cmd_demo,
    "check-site": cmd_check_site,
    "kiosk": cmd_kiosk,
    "hash-pin": cmd_hash_pin,
    "hash-password": cmd_hash_password,
}

if __name__ == "__main__":
    sys.exit(main())
