"""The exit screen's state, without Kivy: the stars chosen per question, the ticket number typed, and what to
say about the queue service's answer (unit-tested without a window).

One answer per ticket (issue 18) needs the ticket: the resident types the number printed on it. There is no
"skip the number": the engine keys each answer by its ticket (``record_survey {number, answers}``), and an
answer without a ticket could be given any number of times by anyone passing by. Nothing is kept but stars and
the number, and both are cleared once sent, on "start again" and on the idle timeout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.config.site import Site, SurveyQuestion
from kiosk.i18n import N_

#: Stars per question.
STARS = (1, 2, 3, 4, 5)
#: Today's numbers (SurveyArgs.number: 0..99,999).
MAX_DIGITS = 5

#: What the resident reads after the queue service's answer, by its error code.
ERROR_MESSAGES = {
    "already_answered": N_("This ticket has already answered the survey. Thank you."),
    "unknown_ticket": N_("No ticket with this number today. Please check the number on your ticket."),
}
#: Any other failure (the service unreachable, a timeout): the stars and the number are kept for another try.
RETRY = N_("Your answers could not be recorded just now. Please try again.")


@dataclass
class SurveyForm:
    """One resident's answers at the exit screen."""

    questions: tuple[SurveyQuestion, ...]
    stars: dict[str, int] = field(default_factory=dict)
    number: str = ""

    @classmethod
    def for_site(cls, site: Site) -> SurveyForm:
        return cls(tuple(site.survey))

    def choose(self, question: str, stars: int) -> None:
        """Tap a star: that many for the question (tapping again changes it)."""
        if question not in {q.id for q in self.questions} or stars not in STARS:
            raise ValueError(f"no {stars} stars for {question!r}")
        self.stars[question] = stars

    @property
    def complete(self) -> bool:
        """Every question has its stars: the resident may go on to the number."""
        return bool(self.questions) and all(q.id in self.stars for q in self.questions)

    def press(self, key: str) -> None:
        """A key of the number pad: a digit, ``back`` (the last digit) or ``clear``."""
        if key == "clear":
            self.number = ""
        elif key == "back":
            self.number = self.number[:-1]
        elif key.isdigit() and len(key) == 1 and len(self.number) < MAX_DIGITS:
            self.number += key
        # anything else is ignored

    @property
    def can_send(self) -> bool:
        return self.complete and self.number != ""

    def args(self) -> dict:
        """``record_survey``'s arguments (SurveyArgs): today's number and the stars."""
        if not self.can_send:
            raise ValueError("the survey is not complete")
        return {"number": int(self.number), "answers": {q.id: self.stars[q.id] for q in self.questions}}

    def clear(self) -> None:
        self.stars.clear()
        self.number = ""

    @property
    def touched(self) -> bool:
        """Something to clear when the resident walks away."""
        return bool(self.stars or self.number)


def outcome_message(code: str | None) -> tuple[str, bool]:
    """(message id, done) for the queue service's answer: ``done`` means the resident is finished (thanked, or
    told it was already answered) and the screen goes back to the start; otherwise they fix and send again."""
    if code is None:
        return N_("Thank you for your answers."), True
    if code == "already_answered":
        return ERROR_MESSAGES[code], True
    return ERROR_MESSAGES.get(code, RETRY), False
