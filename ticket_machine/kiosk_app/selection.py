"""What the resident at the kiosk has chosen so far. Pure; cleared on idle and after issue.

What reception learned travels with the ticket (:meth:`Selection.issue_args`): the life event and the
answers to its questions, as ids only, and in concierge mode a short note, so no counter asks again.

Every question is answered yes, no or "not sure" (わからない). "Not sure" never drops a procedure: the
procedures it may need stay on the list, marked for staff to confirm. The bus contract's answers are
yes/no only (``IssueArgs.answers: dict[Id, bool]``, and the engine refuses question ids it does not know),
so a "not sure" is not sent as an answer: the question is left out of ``answers`` (the counter sees it
unanswered and asks) and its procedures travel in ``procedures`` like any other.

The guidance list numbers only what is ticked, with the number of the stop the printed ticket gives it
(:meth:`Selection.rows`): in a one-stop visit every booth procedure shares the booth's one stop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiosk.config.site import Site
from queue_service.guidance import GuidanceItem, Suggestion, guidance, suggested
from ticket_machine.kiosk_app.reception import clean_note

#: Procedure routings served at a one-stop booth (the engine's StepView modes ``booth`` and ``front``).
AT_BOOTH_ROUTINGS = ("booth", "front")


@dataclass(frozen=True)
class Row:
    """One line of the guidance list as the screen shows it."""

    item: GuidanceItem
    ticked: bool
    #: The stop this procedure is on the printed ticket (1-based), or None when unticked.
    number: int | None
    #: Listed because of a "not sure" answer: staff confirm at the counter.
    to_confirm: bool

    @property
    def procedure(self) -> str:
        return self.item.procedure.id


@dataclass
class Selection:
    event: str | None = None
    answers: dict[str, bool] = field(default_factory=dict)
    #: Questions answered "not sure" (わからない): never in ``answers``.
    unsure: set[str] = field(default_factory=set)
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

    def answer(self, question: str, yes: bool | None) -> None:
        """Yes, no, or None for "not sure"."""
        if yes is None:
            self.answers.pop(question, None)
            self.unsure.add(question)
        else:
            self.unsure.discard(question)
            self.answers[question] = yes

    def answer_of(self, question: str) -> bool | str | None:
        """The answer as the questions screen shows it: True, False, ``"unsure"``, or None (not answered)."""
        if question in self.unsure:
            return "unsure"
        return self.answers.get(question)

    def unanswered(self, site: Site) -> list[str]:
        """The life event's questions with no answer yet (not even "not sure"), in the site's order."""
        if self.event is None:
            return []
        return [q.id for q in site.questions_for(self.event) if q.id not in self.answers and q.id not in self.unsure]

    def _suggested(self, site: Site) -> list[Suggestion]:
        return suggested(site, self.event, self.answers, self.unsure) if self.event else []

    def listed(self, site: Site) -> list[str]:
        """Every procedure on the guidance list, ticked or not: the life event's, then those added."""
        return list(dict.fromkeys([s.procedure for s in self._suggested(site)] + self.added))

    def to_confirm(self, site: Site) -> set[str]:
        """Procedures listed only because of a "not sure" answer (and not added by hand)."""
        return {s.procedure for s in self._suggested(site) if s.to_confirm and s.procedure not in self.added}

    def chosen(self, site: Site) -> list[str]:
        return [p for p in self.listed(site) if p not in self.unticked]

    def toggle(self, procedure: str) -> None:
        self.unticked ^= {procedure}

    def pick(self, site: Site, procedure: str) -> None:
        """The catalog's tap: a procedure already chosen is unticked, any other is added (ticked)."""
        if procedure in self.chosen(site):
            self.unticked.add(procedure)
        else:
            self.add(procedure)

    def stop_numbers(self, site: Site) -> dict[str, int]:
        """Each chosen procedure's stop on the printed ticket (1-based), as the engine orders the visit and
        :func:`ticket_machine.kiosk_app.slip.stops` prints it: in a one-stop visit every booth procedure is
        the one stop of the booth, where the first of them comes."""
        one_stop = self.one_stop(site)
        numbers: dict[str, int] = {}
        booth: int | None = None
        count = 0
        for item in guidance(site, self.chosen(site)):
            if one_stop and item.procedure.routing in AT_BOOTH_ROUTINGS:
                if booth is None:
                    count += 1
                    booth = count
                numbers[item.procedure.id] = booth
            else:
                count += 1
                numbers[item.procedure.id] = count
        return numbers

    def rows(self, site: Site) -> list[Row]:
        """The guidance list: every listed procedure in serving order, each ticked one numbered with its stop on
        the printed ticket (:meth:`stop_numbers`), so the list and the ticket agree; in a one-stop visit the
        ticked booth procedures are listed together, where the booth's stop comes. Unticked procedures keep
        their place and have no number."""
        items = guidance(site, self.listed(site))
        numbers = self.stop_numbers(site)
        if self.one_stop(site):
            booth = [i for i in items if i.procedure.id in numbers and i.procedure.routing in AT_BOOTH_ROUTINGS]
            if booth:
                first = items.index(booth[0])
                rest = [i for i in items if i not in booth]
                items = rest[:first] + booth + rest[first:]
        doubt = self.to_confirm(site)
        return [Row(i, i.procedure.id in numbers, numbers.get(i.procedure.id), i.procedure.id in doubt) for i in items]

    def add(self, procedure: str) -> None:
        if procedure not in self.added:
            self.added.append(procedure)
        self.unticked.discard(procedure)

    def one_stop(self, site: Site) -> bool:
        """Whether the ticket for what is ticked now would go to a one-stop booth (the engine decides the same)."""
        chosen = self.chosen(site)
        return bool(chosen) and site.is_one_stop(chosen, self.event)

    def answered(self, site: Site) -> dict[str, bool]:
        """The yes/no answers to the chosen life event's questions ("not sure" is not an answer the bus carries:
        see the module's docstring)."""
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
        self.unsure = set()
        self.added = []
        self.unticked = set()
        self.priority = False
        self.ticket_lang = None
        self.note = ""
