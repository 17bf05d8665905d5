"""``madoguchi broker``: generate Mosquitto's config, ACL and passwords from the site, and run it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from madoguchi.cli.common import run_command, site_and_state

NAME = "broker"
HELP = "generate the broker config from the site and run Mosquitto"


def add_arguments(p: argparse.ArgumentParser) -> None:
    site_and_state(p)
    p.add_argument("--settings", type=Path, help="broker settings TOML (listeners, TLS); default: loopback 1883")
    p.add_argument("--port", type=int, help="loopback port (overrides the settings' first listener)")
    p.add_argument("--generate-only", action="store_true", help="write the files and exit")


def run(args: argparse.Namespace) -> int:
    from broker_config.generate import conf_text, generate
    from broker_config.run import hand_to_broker_user, run_mosquitto
    from broker_config.settings import BrokerSettings, Listener
    from kiosk.config import load_site, load_toml_model

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


def main(argv: list[str]) -> int:
    return run_command(NAME, HELP, add_arguments, run, argv)
