"""What the resident at the kiosk has chosen so far. Pure; cleared on idle and after issue."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.config.site import Site


@dataclass
class Selection:
    event: str | None = None
    answers: dict[str, bool] = field(default_factory=dict)
    #: Procedures added by hand ("one procedure", or added to a life event's list).
    added: list[str] = field(default_factory=list)
    #: Procedures the resident (or the concierge) unticked.
    unticked: set[str] = field(default_factory=set)
    priority: bool = False
    #: Concierge issuing for someone else: the ticket's language when it differs from the screen's.
    ticket_lang: str | None = None

    def start_event(self, event: str | None) -> None:
        self.clear()
        self.event = event

    def answer(self, question: str, yes: bool) -> None:
        self.answers[question] = yes

    def listed(self, site: Site) -> list[str]:
        """Every procedure on the guidance list, ticked or not: the life event's, then those added."""
        suggested = site.procedures_for(self.event, self.answers) if self.event else []
        return list(dict.fromkeys(suggested + self.added))

    def chosen(self, site: Site) -> list[str]:
        return [p for p in self.listed(site) if p not in self.unticked]

    def toggle(self, procedure: str) -> None:
        self.unticked ^= {procedure}

    def add(self, procedure: str) -> None:
        if procedure not in self.added:
            self.added.append(procedure)
        self.unticked.discard(procedure)

    def clear(self) -> None:
        self.event = None
        self.answers = {}
        self.added = []
        self.unticked = set()
        self.priority = False
        self.ticket_lang = None
