"""``madoguchi hash-pin`` and ``madoguchi hash-password``: hash a secret read from stdin.

Never from argv: it would show in ps and the shell history.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


def print_hash(hasher: Callable[[str], str]) -> int:
    secret = sys.stdin.readline().rstrip("\n")
    try:
        print(hasher(secret))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0
