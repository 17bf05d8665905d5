"""``madoguchi hash-password``: a staff web password (stdin) hashed for the site file's ``[[staff]]``."""

from __future__ import annotations

from kiosk.pin import hash_password
from madoguchi.cli.hashes import hash_command

NAME = "hash-password"
HELP = "hash a staff web password (read from stdin) for the site's [[staff]]"


def main(argv: list[str]) -> int:
    return hash_command(NAME, HELP, hash_password, argv)
