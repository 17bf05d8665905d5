"""What the resident at the kiosk has chosen so far. Pure; cleared on idle and after issue.

What reception learned travels with the ticket (:meth:`Selection.issue_args`): the life event and the
answers to its questions, as ids only, and in concierge mode a short note, so no counter asks again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.config.site import Site
from ticket_machine.kiosk_app.reception import clean_note


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
    #: Concierge only: a short note for the counters (what to prepare; never personal data).
    note: str = ""

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

    def one_stop(self, site: Site) -> bool:
        """Whether the ticket for what is ticked now would go to a one-stop booth (the engine decides the same)."""
        chosen = self.chosen(site)
        return bool(chosen) and site.is_one_stop(chosen, self.event)

    def answered(self, site: Site) -> dict[str, bool]:
        """The answers to the chosen life event's questions, only those answered (unanswered means no)."""
        if self.event is None:
            return {}
        asked = {q.id for q in site.questions_for(self.event)}
        return {q: yes for q, yes in self.answers.items() if q in asked}

    def set_note(self, text: str) -> None:
        self.note = clean_note(text)

    def issue_args(self, site: Site, screen_lang: str, staff: bool) -> dict[str, Any]:
        """The ``issue`` command's args (schema ``IssueArgs``). Priority, another language and the note are
        the concierge's: a resident alone never sets them. A visit without a life event sends what a v1
        kiosk sent."""
        args: dict[str, Any] = {
            "procedures": self.chosen(site),
            "lang": (self.ticket_lang if staff else None) or screen_lang,
            "priority": staff and self.priority,
        }
        if self.event is not None:
            args["life_event"] = self.event
            answers = self.answered(site)
            if answers:
                args["answers"] = answers
        note = clean_note(self.note) if staff else ""
        if note:
            args["note"] = note
        return args

    def clear(self) -> None:
        self.event = None
        self.answers = {}
        self.added = []
        self.unticked = set()
        self.priority = False
        self.ticket_lang = None
        self.note = ""
