"""Later deliveries (事後交付) a pickup counter hands over, as its panel lists them. Pure (no Kivy).

The queue service publishes each group's pickups on a retained topic (``queue/state/pickups/{group}``): one is
listed from when its procedure is completed (the engine adds the pickup step then) until it is handed over, and
is ``ready`` once the back office marked it. The panel shows exactly that list for the groups its counter serves,
derived from nothing else (not from other groups' queues, nor from its own replies): a restarted panel shows the
same rows as soon as the retained message arrives, and what it shows is what the queue service will accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kiosk.bus.schemas import PickupsState
from kiosk.config.site import Counter, Site
from kiosk.i18n import gettext_for


@dataclass(frozen=True)
class PickupLine:
    """One later delivery: what the row says, and what 「準備完了」 sends (``ticket``, ``procedure``)."""

    ticket: str
    number: int
    procedure: str
    #: the back office marked it: the resident is called here with 「次を呼ぶ」; nothing left to mark
    ready: bool
    text: str

    @property
    def markable(self) -> bool:
        return not self.ready

    @property
    def key(self) -> str:
        return f"ready-{self.number}-{self.procedure}"


def pickup_groups(site: Site, counter: Counter) -> tuple[str, ...]:
    """The groups ``counter`` serves that hand over later deliveries (a procedure with ``delivery = "later"``
    is picked up at its ``pickup_group``, else at its own group): the topics whose lists this panel shows."""
    later = {p.pickup_group or p.group for p in site.procedures if p.delivery == "later"}
    return tuple(g for g in counter.groups if g in later)


def hands_over(site: Site, counter: Counter) -> bool:
    """Whether the panel shows the pickups button at all."""
    return bool(pickup_groups(site, counter))


def pickup_lines(site: Site, counter: Counter, states: Mapping[str, PickupsState], lang: str) -> list[PickupLine]:
    """Every later delivery handed over at ``counter``, by number: those to mark ready and those already ready
    (waiting to be called here). ``states`` is the latest retained message per group; other groups' are ignored."""
    seen: dict[tuple[str, str], PickupLine] = {}
    for group in pickup_groups(site, counter):
        state = states.get(group)
        for pickup in state.pickups if state is not None else ():
            procedure = site.procedure_by_id.get(pickup.procedure)
            name = procedure.names.get(lang) if procedure is not None else pickup.procedure
            head = gettext_for(lang, "Number {number}: {procedure}").format(number=pickup.number, procedure=name)
            if pickup.ready:
                said = gettext_for(lang, "Ready: the resident is called here with “Call next”.")
            else:
                said = gettext_for(lang, "Done: mark it ready when the document is here.")
            seen.setdefault(
                (pickup.ticket, pickup.procedure),
                PickupLine(pickup.ticket, pickup.number, pickup.procedure, pickup.ready, f"{head}\n{said}"),
            )
    return sorted(seen.values(), key=lambda line: (line.number, line.procedure))


def to_mark(lines: list[PickupLine]) -> int:
    """How many wait for the back office (the count on the counter screen's pickups button)."""
    return sum(1 for line in lines if line.markable)
