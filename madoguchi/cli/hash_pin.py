"""``madoguchi hash-pin``: a staff PIN (stdin) hashed for a device file's ``concierge_pin``."""

from __future__ import annotations

import argparse

from madoguchi.cli.common import run_command
from madoguchi.cli.hashes import print_hash

NAME = "hash-pin"
HELP = "hash a staff PIN (read from stdin) for a device file's concierge_pin"


def run(_args: argparse.Namespace) -> int:
    from kiosk.pin import hash_pin

    return print_hash(hash_pin)


def main(argv: list[str]) -> int:
    return run_command(NAME, HELP, lambda _p: None, run, argv)
