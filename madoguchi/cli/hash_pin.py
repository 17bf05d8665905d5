"""``madoguchi hash-pin``: a staff PIN (stdin) hashed for a device file's ``concierge_pin``."""

from __future__ import annotations

from kiosk.pin import hash_pin
from madoguchi.cli.hashes import hash_command

NAME = "hash-pin"
HELP = "hash a staff PIN (read from stdin) for a device file's concierge_pin"


def main(argv: list[str]) -> int:
    return hash_command(NAME, HELP, hash_pin, argv)
