"""``madoguchi kiosk ROLE``: run an appliance app (ticket, panel, board, forms, register) from its device file."""

from __future__ import annotations

import argparse
from pathlib import Path

from madoguchi.cli.common import run_command
from madoguchi.roles import APPS

NAME = "kiosk"
HELP = "run an appliance app: ticket kiosk, call panel, call board, form issuer or self register"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("role", nargs="?", choices=sorted(APPS), help="default: the device file's")
    p.add_argument("--config", type=Path, required=True, help="the device file (device.toml)")
    p.add_argument("--counter", help="call panel: the counter to operate")
    p.add_argument("--windowed", action="store_true", help="a window instead of full screen")
    p.add_argument("-v", "--verbose", action="store_true")


def run(args: argparse.Namespace) -> int:
    from madoguchi.roles import run_app

    return run_app(args.role, args.config, windowed=args.windowed, counter=args.counter)


def main(argv: list[str]) -> int:
    return run_command(NAME, HELP, add_arguments, run, argv)
