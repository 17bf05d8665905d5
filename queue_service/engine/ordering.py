"""Order a visit's procedures so prerequisites come first (転入届 before 国民健康保険)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def order_by_precedence(procedures: Iterable[str], requires: Mapping[str, Iterable[str]]) -> list[str]:
    """A stable topological order: each procedure after those it requires that are present.

    Among procedures that are free to go, the given order is kept, so the guidance list
    reads the way the resident (or the life event) listed it. The site config guarantees
    there is no cycle.
    """
    items = list(dict.fromkeys(procedures))
    present = set(items)
    remaining = {p: {r for r in requires.get(p, ()) if r in present and r != p} for p in items}
    out: list[str] = []
    while remaining:
        ready = next(p for p in items if p in remaining and not remaining[p])
        out.append(ready)
        del remaining[ready]
        for deps in remaining.values():
            deps.discard(ready)
    return out
