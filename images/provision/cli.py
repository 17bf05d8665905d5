"""``madoguchi provision``'s command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from images.provision import city as city_provision
from images.provision.commands import (
    Context,
    cmd_add,
    cmd_bundle,
    cmd_init,
    cmd_list,
    cmd_renew,
    cmd_replace,
    cmd_retire,
    cmd_server_bundle,
)
from images.provision.common import ProvisionError
from images.provision.layout import Layout
from kiosk.config import ConfigError, load_site


# ---------------------------------------------------------------- command line
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="madoguchi provision",
        description="A site's CA, broker TLS certificate, device credentials and boot-partition bundles.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser, devices: str | None) -> None:
        sp.add_argument("--site", type=Path, required=True, help="the site file (site.toml)")
        sp.add_argument("--out", type=Path, default=Path("provision"), help="provisioning folder (default ./provision)")
        if devices == "required":
            sp.add_argument("--devices", type=Path, required=True, help="the device list (devices.toml)")
        elif devices == "optional":
            sp.add_argument("--devices", type=Path, help="the device list (devices.toml)")

    sp = sub.add_parser("init", help="CA, broker certificate, every credential, broker files and bundles")
    common(sp, "required")
    sp.add_argument(
        "--broker-host",
        action="append",
        required=True,
        metavar="HOST",
        help="the broker's LAN address or name (repeatable); devices connect to the first",
    )
    sp.add_argument("--broker-name", action="append", default=[], metavar="NAME", help="another name for the broker")
    sp.add_argument("--listen", metavar="ADDRESS", help="address of the TLS listener (default: the first IP host)")
    sp.add_argument("--tls-port", type=int, default=8883)
    sp.add_argument("--plain-port", type=int, default=1883, help="the loopback-only plain listener")
    sp.add_argument(
        "--install-dir", type=Path, help="where broker/ is installed on the server (default: run it in place)"
    )
    sp.add_argument("--ca-days", type=int, default=3650)
    sp.add_argument("--cert-days", type=int, default=825)
    sp.add_argument("--run-as-root", action="store_true", help="mosquitto.conf says `user root` (tests, containers)")

    for name, text in (
        ("add", "provision new devices: credential, bundle, passwd and ACL"),
        ("replace", "new passwords (and bundles) for these devices; the old ones stop working"),
    ):
        sp = sub.add_parser(name, help=text)
        common(sp, "required")
        sp.add_argument("device", nargs="+")

    sp = sub.add_parser("retire", help="remove devices: credential, passwd line, ACL entry and bundle")
    common(sp, None)
    sp.add_argument("device", nargs="+")

    sp = sub.add_parser("bundle", help="rebuild bundles (site file or hardware changed) with the same passwords")
    common(sp, "required")
    sp.add_argument("device", nargs="*")

    sp = sub.add_parser("renew-broker-cert", help="a new broker key and certificate from the site CA")
    common(sp, None)
    sp.add_argument("--broker-host", action="append", default=[], metavar="HOST")
    sp.add_argument("--broker-name", action="append", default=[], metavar="NAME")
    sp.add_argument("--cert-days", type=int)

    sp = sub.add_parser("server-bundle", help="the server image's bundle: broker files, site file, service credential")
    common(sp, None)

    sp = sub.add_parser("list", help="provisioned devices and certificate expiry")
    common(sp, "optional")

    city_provision.add_parser(sub)
    for name in ("init", "bundle"):  # an office of a city: its bridge to the city broker (images/provision/city.py)
        sub.choices[name].add_argument(
            "--city-bridge", type=Path, metavar="DIR", help="the office's bridge folder from `provision city`"
        )
    return p


COMMANDS = {
    "init": cmd_init,
    "add": cmd_add,
    "replace": cmd_replace,
    "retire": cmd_retire,
    "bundle": cmd_bundle,
    "renew-broker-cert": cmd_renew,
    "server-bundle": cmd_server_bundle,
    "list": cmd_list,
}


def run(argv: list[str]) -> list[str]:
    """Run a subcommand; returns the lines it printed (for tests). Raises ProvisionError/ConfigError."""
    args = parser().parse_args(argv)
    if args.command == "city":
        return city_provision.cmd_city(args)
    site = load_site(args.site)
    ctx = Context(args.site, site, Layout.of(args.out, site), [])
    old = os.umask(0o022)
    try:
        COMMANDS[args.command](ctx, args)
    finally:
        os.umask(old)
    return ctx.out


def main(argv: list[str] | None = None) -> int:
    try:
        run(list(sys.argv[1:] if argv is None else argv))
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
    except ProvisionError as exc:
        print(f"provision: {exc}", file=sys.stderr)
        return 2
    return 0
