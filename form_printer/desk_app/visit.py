"""One visit at the counter desk, without Kivy: which forms, where the resident's data comes from, the answers.

The desk reuses the form issuer's :class:`~form_printer.issuer.FormIssuer` as it is: its card session (tries
shown, the last try confirmed, a locked card refused), its pre-entry QR reader, its fill/render and its one-job
print spool. Everything personal therefore lives where the form issuer keeps it (``FormIssuer.visit``, wiped by
``FormIssuer.end``) plus the answers typed here (:attr:`DeskVisit.answers`), wiped with it. The queue service
tells the desk only ids (``ServingTicket``); nothing the desk learns goes back, but the anonymous form counts.

Foreign residents: the staff say so (a toggle on the visit screen; never guessed from the card, which holds no
nationality). The desk then fills each form's foreign-resident variant (``select_template``) with the ticket's
language under the Japanese labels of a bilingual form, asks the variant's own fields (国籍・地域, 在留資格,
在留カード番号...) and refuses a 在留カード番号 that is not 2 letters, 8 digits, 2 letters before anything is rendered.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from form_printer.card.basic4 import BasicFour
from form_printer.fields import CARD_SOURCES, Ask, asks_for
from form_printer.forms.fill import is_residence_card_number, normalize_residence_card_number, parse_date
from form_printer.forms.model import FormTemplate
from form_printer.forms.render import RenderedForm
from form_printer.issuer import FormIssuer
from kiosk.bus.schemas import ServingTicket

log = logging.getLogger(__name__)

Source = Literal["card", "qr", "typed"]
ResidentKind = Literal["japanese", "foreign"]


class Unprintable(ValueError):
    """Answers the forms cannot print (a date that is not a date, a malformed 在留カード番号): ``sources`` names
    them so the staff screen can ask again."""

    def __init__(self, sources: list[str]) -> None:
        super().__init__(f"cannot print: {', '.join(sources)}")
        self.sources = sources


@dataclass
class DeskVisit:
    """The visit opened at the desk: ids from the queue service, the staff's answers (personal, never in a repr)."""

    ticket: str
    number: int | None
    procedures: list[str]
    source: Source | None = None
    #: The staff's choice on the visit screen (never from card data): ``foreign`` fills the variants.
    resident_kind: ResidentKind = "japanese"
    #: The ticket's language: the second line of a bilingual form's labels.
    lang: str = "ja"
    answers: dict[str, str] = field(default_factory=dict, repr=False)

    def wipe(self) -> None:
        for key in list(self.answers):
            self.answers[key] = ""
        self.answers.clear()


class Desk:
    """The desk's state between the bus (what the counter serves) and the staff (what they open, type, print)."""

    def __init__(self, issuer: FormIssuer) -> None:
        self.issuer = issuer
        #: What the counter serves now (ids only), as the queue service last said.
        self.serving: ServingTicket | None = None
        self.visit: DeskVisit | None = None
        #: The staff's toggle for the served resident: reset for every new ticket and when a visit ends.
        self.resident_kind: ResidentKind = "japanese"

    # ------------------------------------------------------------ the counter's visit
    def served(self, message: ServingTicket) -> bool:
        """The queue service says what the counter serves. True if an open visit just ended (it was wiped):
        the counter completed it, handed it over or called someone else."""
        if self.serving is None or message.ticket != self.serving.ticket:
            self.resident_kind = "japanese"
        self.serving = message
        if self.visit is not None and message.ticket != self.visit.ticket:
            self.end("completed")
            return True
        return False

    def offered_procedures(self) -> list[str]:
        """The procedures of the served visit that have forms (served now first, then the visit's other open ones)."""
        if self.serving is None or self.serving.ticket is None:
            return []
        with_forms = set(self.issuer.procedures_with_forms())
        seen: list[str] = []
        for pid in [*self.serving.serving, *self.serving.open]:
            if pid in with_forms and pid not in seen:
                seen.append(pid)
        return seen

    def offered_forms(self) -> list[str]:
        """The base forms' ids (what the procedures name), whoever the resident is."""
        return [t.id for t, _pid in self.issuer.forms_for(self.offered_procedures())]

    def mark_foreign(self, foreign: bool) -> None:
        """The staff say the resident is (or is not) a foreign resident: the foreign-resident variants are used."""
        self.resident_kind = "foreign" if foreign else "japanese"
        if self.visit is not None:
            self.visit.resident_kind = self.resident_kind

    def forms(self, procedures: list[str] | None = None) -> list[tuple[FormTemplate, str]]:
        """(template to fill, procedure) for the visit (or the served visit): the variant for the resident's kind
        where the site has one, else the base form."""
        visit = self.visit  # read once: the worker thread may end the visit meanwhile
        if procedures is None:
            procedures = visit.procedures if visit is not None else self.offered_procedures()
        kind = visit.resident_kind if visit is not None else self.resident_kind
        return self.issuer.templates_for(procedures, kind)

    def open(self, source: Source) -> DeskVisit:
        """Open the served visit with the resident's data from ``source``; a previous visit is wiped first."""
        procedures = self.offered_procedures()
        if self.serving is None or self.serving.ticket is None or not procedures:
            raise ValueError("the counter serves no visit with forms")
        if self.visit is not None:
            self.end("reopened")
        self.visit = DeskVisit(
            self.serving.ticket,
            self.serving.number,
            procedures,
            source,
            resident_kind=self.resident_kind,
            lang=self.serving.lang or "ja",
        )
        log.info(
            "visit %s opened (%s, %s): %d forms",
            self.visit.ticket,
            source,
            self.visit.resident_kind,
            len(self.offered_forms()),
        )
        return self.visit

    # ------------------------------------------------------------ the questions
    def asks(self) -> list[Ask]:
        """What is left to ask: the card's items unless the card was read, the forms' other fields unless a
        pre-entry QR answered them."""
        if self.visit is None:
            return []
        templates = [t for t, _pid in self.forms()]
        # a QR's malformed 在留カード番号 would print blank: asked again rather than taken as known
        cards = {f.source for t in templates for f in t.fields if f.format == "residence_card_number"}
        known = {
            f"pre.{k}"
            for k, v in self.issuer.visit.pre.items()
            if v and (f"pre.{k}" not in cards or is_residence_card_number(v))
        }
        return asks_for(templates, with_card=self.issuer.visit.items is not None, known=known)

    def check(self, answers: dict[str, str]) -> list[str]:
        """The sources whose answer cannot be printed (a date that is not a date, a missing name)."""
        asks = {a.source: a for a in self.asks()}
        bad = []
        for source, value in answers.items():
            ask = asks.get(source)
            value = value.strip()
            if ask is None or not value:
                continue
            not_a_date = ask.kind == "date" and parse_date(value) is None
            not_an_option = ask.kind == "choice" and value not in {v for v, _ in ask.options}
            not_a_card_number = ask.kind == "residence_card" and not is_residence_card_number(value)
            if not_a_date or not_an_option or not_a_card_number:
                bad.append(source)
        if self.issuer.visit.items is None or self.visit is not None and self.visit.source != "card":
            # typed from an ID document: the name and a real birth date are what every form needs
            bad += [s for s in ("card.name", "card.birth") if not answers.get(s, "").strip() and s not in bad]
        return bad

    def answer(self, answers: dict[str, str]) -> None:
        """Keep the staff's answers for the forms: the card's items (typed from an ID document) as the card's
        4 items, the rest as the forms' ``pre.*`` values. Raises ``ValueError`` naming what cannot be printed."""
        if self.visit is None:
            raise ValueError("no visit is open")
        bad = self.check(answers)
        if bad:
            raise Unprintable(sorted(bad))
        cards = {a.source for a in self.asks() if a.kind == "residence_card"}
        self.visit.answers.update(
            {k: normalize_residence_card_number(v) if k in cards else v.strip() for k, v in answers.items()}
        )
        pre = self.issuer.visit.pre
        for source, value in self.visit.answers.items():
            if source.startswith("pre."):
                if value:
                    pre[source.removeprefix("pre.")] = value
                else:
                    pre.pop(source.removeprefix("pre."), None)
        if self.visit.source != "card" and any(s in self.visit.answers for s in CARD_SOURCES):
            self.issuer.visit.items = typed_items(self.visit.answers)

    def prepare(self) -> list[RenderedForm]:
        """Fill and render the visit's forms (the resident's variants, the ticket's language on bilingual ones)
        into the form issuer's visit, where its one-job print and its wipe find them. ``Unprintable`` if a form
        says a value is malformed (``RenderedForm.invalid``): nothing is kept to print then."""
        if self.visit is None:
            raise ValueError("no visit is open")
        rendered = self.issuer.prepare(self.visit.procedures, self.visit.resident_kind, self.visit.lang)
        invalid = self.issuer.invalid_sources()
        if invalid:
            for form in rendered:
                form.image.close()
            rendered.clear()
            raise Unprintable(sorted(invalid))
        return rendered

    def print_forms(self) -> str:
        """Every form of the visit in one job (the form issuer's spool); the counts go out as the issuer's."""
        return self.issuer.print_forms()

    # ------------------------------------------------------------ the end
    def end(self, why: str) -> None:
        """Forget the resident: the card's items, the QR's fields, the answers, the rendered pages."""
        if self.visit is not None:
            self.visit.wipe()
        self.visit = None
        self.resident_kind = "japanese"
        self.issuer.end(why)

    @property
    def holds_personal_data(self) -> bool:
        v = self.issuer.visit
        return bool(self.visit is not None and self.visit.answers) or v.items is not None or bool(v.pre or v.rendered)


def typed_items(answers: dict[str, str]) -> BasicFour:
    """The card's 4 items typed from an ID document (運転免許証, 在留カード...): same fields, same forms."""
    birth = parse_date(answers.get("card.birth", ""))
    return BasicFour(
        name=answers.get("card.name", ""),
        address=answers.get("card.address", ""),
        birth=birth.strftime("%Y%m%d") if isinstance(birth, date) else "",
        sex=answers.get("card.sex", ""),
    )
