"""The guidance catalog: what a visit needs, where to go, what to bring, in serving order.

One source of truth for the ticket kiosk, the ticket printout and the online
procedure guide: a life event and the resident's yes/no answers give the procedures; the
procedures give the counters, floors and things to bring, ordered so prerequisites come
first (転入届 before 国民健康保険). Pure: site data in, plain values out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kiosk.config.site import Counter, Group, Procedure, Question, Site
from queue_service.engine.ordering import order_by_precedence


@dataclass(frozen=True)
class GuidanceItem:
    """One procedure of the visit and where it is served."""

    procedure: Procedure
    group: Group
    counters: tuple[Counter, ...]

    @property
    def floor(self) -> int:
        return self.group.floor

    def place(self, lang: str) -> str:
        """Counter group and its counters, e.g. "住民異動 (1番窓口・2番窓口)"."""
        names = [c.names.get(lang) for c in self.counters]
        joined = ("・" if lang.startswith("ja") or lang == "zh" else ", ").join(names)
        return f"{self.group.names.get(lang)} ({joined})" if names else self.group.names.get(lang)

    def bring(self, lang: str) -> list[str]:
        return [b.get(lang) for b in self.procedure.bring]


def questions_for(site: Site, event_id: str) -> list[Question]:
    """The questions a life event depends on, in the site's order (no question twice)."""
    event = site.life_event_by_id[event_id]
    used = {cond.lstrip("!") for ep in event.procedures for cond in ep.when}
    return [q for q in site.questions if q.id in used]


def guidance(site: Site, procedures: Iterable[str]) -> list[GuidanceItem]:
    """The visit's procedures in the order they will be served, with their places."""
    requires: Mapping[str, tuple[str, ...]] = {p.id: p.requires for p in site.procedures}
    items = []
    for pid in order_by_precedence(procedures, requires):
        proc = site.procedure_by_id[pid]
        group = site.group_by_id[proc.group]
        counters = tuple(c for c in site.counters if c.group == group.id)
        items.append(GuidanceItem(proc, group, counters))
    return items


def floors_in_order(items: Iterable[GuidanceItem]) -> list[int]:
    """Floors the resident visits, in order, without repeating a floor twice in a row."""
    floors: list[int] = []
    for item in items:
        if not floors or floors[-1] != item.floor:
            floors.append(item.floor)
    return floors
