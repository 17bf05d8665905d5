"""``madoguchi hash-pin`` and ``madoguchi hash-password``: hash a secret read from stdin.

Never from argv: it would show in ps and the shell history.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from madoguchi.cli.common import run_command


def print_hash(hasher: Callable[[str], str]) -> int:
    secret = sys.stdin.readline().rstrip("\n")
    try:
        print(hasher(secret))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def hash_command(name: str, description: str, hasher: Callable[[str], str], argv: list[str]) -> int:
    """A subcommand with no options that hashes one secret from stdin."""
    return run_command(name, description, lambda _p: None, lambda _a: print_hash(hasher), argv)
