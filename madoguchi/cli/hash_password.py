"""``madoguchi hash-password``: a staff web password (stdin) hashed for the site file's ``[[staff]]``."""

from __future__ import annotations

import argparse

from madoguchi.cli.common import run_command
from madoguchi.cli.hashes import print_hash

NAME = "hash-password"
HELP = "hash a staff web password (read from stdin) for the site's [[staff]]"


def run(_args: argparse.Namespace) -> int:
    from kiosk.pin import hash_password

    return print_hash(hash_password)


def main(argv: list[str]) -> int:
    return run_command(NAME, HELP, lambda _p: None, run, argv)
