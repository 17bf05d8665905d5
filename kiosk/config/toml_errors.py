"""Turn a pydantic error location into a line of the TOML file it came from.

tomllib keeps no line numbers, yet a technician fixing a site file at 7 a.m. needs
"site.toml:42 procedures[3].group: ..." rather than a bare key path. The site files
are plain TOML (tables, arrays of tables, key = value, inline tables), so a small
scan that tracks the current table path and counts ``[[array]]`` headers is enough
to map ``('procedures', 3, 'group')`` back to its line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_\-.]+)\s*=""")


def _split_dotted(key: str) -> list[str]:
    return [part.strip().strip("\"'") for part in key.split(".")]


def line_index(text: str) -> dict[tuple, int]:
    """Map each table/key path in ``text`` to its 1-based line number.

    Array-of-tables elements get their index in the path, as pydantic reports them.
    """
    index: dict[tuple, int] = {}
    counts: dict[tuple, int] = {}
    current: tuple = ()
    for lineno, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header and not _KEY.match(line):
            names = _split_dotted(header.group(2))
            # Resolve the parent path using the latest element of each array prefix.
            path: list = []
            for name in names[:-1]:
                path.append(name)
                if tuple(path) in counts:
                    path.append(counts[tuple(path)] - 1)
            path.append(names[-1])
            if header.group(1) == "[[":
                n = counts.get(tuple(path), 0)
                counts[tuple(path)] = n + 1
                index.setdefault(tuple(path), lineno)
                path.append(n)
            current = tuple(path)
            index.setdefault(current, lineno)
            continue
        key = _KEY.match(line)
        if key:
            keypath = current + tuple(_split_dotted(key.group(1)))
            index.setdefault(keypath, lineno)
    return index


def find_line(text: str, loc: Sequence) -> int | None:
    """The line of the longest prefix of ``loc`` found in ``text``, if any."""
    index = line_index(text)
    loc = tuple(loc)
    for end in range(len(loc), 0, -1):
        if loc[:end] in index:
            return index[loc[:end]]
    return None


def format_loc(loc: Sequence) -> str:
    """``('procedures', 3, 'group')`` → ``procedures[3].group``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"
