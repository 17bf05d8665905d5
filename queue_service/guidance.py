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
        joined = ("・" if lang.startswith("ja") else "、" if lang == "zh" else ", ").join(names)  # ・ is Japanese only
        return f"{self.group.names.get(lang)} ({joined})" if names else self.group.names.get(lang)

    def bring(self, lang: str) -> list[str]:
        return [b.get(lang) for b in self.procedure.bring]


def questions_for(site: Site, event_id: str) -> list[Question]:
    """The questions a life event depends on, in the site's order (no question twice)."""
    event = site.life_event_by_id[event_id]
    used = {cond.lstrip("!") for ep in event.procedures for cond in ep.when}
    return [q for q in site.questions if q.id in used]


@dataclass(frozen=True)
class Suggestion:
    """A procedure a life event implies, and whether it is listed only because an answer was "not sure"."""

    procedure: str
    #: Listed because of a "not sure" answer: staff confirm at the counter whether it is needed.
    to_confirm: bool = False


def suggested(site: Site, event_id: str, answers: Mapping[str, bool], unsure: Iterable[str] = ()) -> list[Suggestion]:
    """The procedures of a life event for these answers, keeping those a "not sure" answer might need.

    ``answers`` are the yes/no answers (a question in neither ``answers`` nor ``unsure`` counts as no, as
    :meth:`Site.procedures_for` does); a condition on a question in ``unsure`` may hold either way, so its
    procedure stays on the list, marked :attr:`Suggestion.to_confirm`: a resident who does not know is never
    silently left without a procedure they may need.
    """
    doubt = set(unsure)
    out: dict[str, Suggestion] = {}
    for ep in site.life_event_by_id[event_id].procedures:
        if ep.id in out and not out[ep.id].to_confirm:
            continue
        holds, confirm = True, False
        for cond in ep.when:
            question = cond.lstrip("!")
            if question in doubt:
                confirm = True
            elif answers.get(question, False) == cond.startswith("!"):
                holds = False
                break
        if holds:
            out[ep.id] = Suggestion(ep.id, confirm)
    return list(out.values())


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
