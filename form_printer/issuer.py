"""One resident's visit at the form issuer, without Kivy: card → PIN → procedures → forms → print.

The app drives a :class:`FormIssuer` from a worker thread (card and printer calls block) and
shows what it says. Everything personal lives in :class:`Visit` and nowhere else: the card's 4
items, the pre-entered fields, the rendered pages, the PDF. :meth:`FormIssuer.end` wipes it
when the visit ends for any reason (finished, card taken away, idle, error). Nothing personal
is logged: log lines name form ids, counts and error codes only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

from form_printer.card.basic4 import BasicFour
from form_printer.card.protocol import CardError, TextInputSupportAP
from form_printer.fields import Ask, asks_for
from form_printer.forms.fill import FormInputs, is_residence_card_number, normalize_residence_card_number
from form_printer.forms.model import FormTemplate, second_language, select_template
from form_printer.forms.render import RenderedForm, forms_pdf, render_form
from form_printer.forms.spool import FormSpool
from form_printer.preentry import PreEntryError, read_payload
from kiosk.config.site import Site

log = logging.getLogger(__name__)

#: Who the forms are for: ``foreign`` fills each form's foreign-resident variant where the site has one. Said by
#: the resident (a toggle on the screen) or the staff, never read from the card (it holds no nationality).
ResidentKind = Literal["japanese", "foreign"]


class CardReaderPort(Protocol):
    """What the issuer needs of a card reader (PC/SC or the in-process simulation)."""

    def start(
        self,
        on_inserted: Callable[[], None],
        on_removed: Callable[[], None],
        on_health: Callable[[bool], None] | None = None,
    ) -> None: ...
    def stop(self) -> None: ...
    def open(self) -> TextInputSupportAP: ...
    def close(self) -> None: ...


class LastTryUnconfirmed(Exception):
    """One PIN try is left: a wrong PIN now locks the card, so the resident must confirm first."""


@dataclass
class Visit:
    """The resident's session: in memory only, wiped at the end."""

    tries_left: int | None = None
    items: BasicFour | None = None
    #: Personal data: never in a repr (a log line or a traceback would carry it).
    pre: dict[str, str] = field(default_factory=dict, repr=False)
    procedures: list[str] = field(default_factory=list)
    rendered: list[RenderedForm] = field(default_factory=list, repr=False)
    apdus: int = 0

    def wipe(self) -> None:
        if self.items is not None:
            self.items.wipe()
        self.items = None
        for key in list(self.pre):
            self.pre[key] = ""
        self.pre.clear()
        for form in self.rendered:
            form.image.close()
        self.rendered.clear()
        self.procedures.clear()
        self.tries_left = None


class FormIssuer:
    def __init__(
        self,
        site: Site,
        templates: dict[str, FormTemplate],
        reader: CardReaderPort,
        spool: FormSpool,
        preentry_key: bytes | None = None,
        on_printed: Callable[[list[str]], None] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.site = site
        self.templates = templates
        self.reader = reader
        self.spool = spool
        self.preentry_key = preentry_key
        self.on_printed = on_printed
        self.clock = clock or (lambda: datetime.now(site.zone))
        self.visit = Visit()
        self._ap: TextInputSupportAP | None = None

    # ------------------------------------------------------------ what the site offers
    def procedures_with_forms(self) -> list[str]:
        return [p.id for p in self.site.procedures if any(f in self.templates for f in p.forms)]

    def life_events_with_forms(self) -> dict[str, list[str]]:
        """Life event → its procedures that have forms (all of them pre-ticked; the resident unticks)."""
        offered = set(self.procedures_with_forms())
        out = {}
        for event in self.site.life_events:
            procedures = [p.id for p in event.procedures if p.id in offered]
            if procedures:
                out[event.id] = procedures
        return out

    def forms_for(self, procedures: list[str]) -> list[tuple[FormTemplate, str]]:
        """(template, procedure it is printed for), each form once, in the order the procedures come."""
        seen: set[str] = set()
        out = []
        for pid in procedures:
            for form_id in self.site.procedure_by_id[pid].forms:
                if form_id in self.templates and form_id not in seen:
                    seen.add(form_id)
                    out.append((self.templates[form_id], pid))
        return out

    # ------------------------------------------------------------ the card
    def open_card(self) -> int:
        """Connect to the card just held and read the PIN tries left (no try spent)."""
        self._close_card()
        self._ap = self.reader.open()
        tries = self._ap.pin_tries()
        self.visit.tries_left = tries
        if tries == 0:
            raise CardError("locked", "the PIN is locked", tries_left=0)
        return tries

    def enter_pin(self, pin: str, confirmed_last_try: bool = False) -> BasicFour:
        """VERIFY, then read the 4 items and let go of the card. Never sends a PIN on the last try unconfirmed."""
        if self._ap is None:
            raise CardError("card_removed", "no card session")
        if self.visit.tries_left == 1 and not confirmed_last_try:
            raise LastTryUnconfirmed()
        try:
            self._ap.verify(pin)
        except CardError as e:
            if e.tries_left is not None:
                self.visit.tries_left = e.tries_left
            raise
        self.visit.tries_left = None
        items = self._ap.read_basic4()
        self.visit.apdus = self._ap.apdus
        self.visit.items = items
        self._close_card()
        log.info("card read: %d APDUs", self.visit.apdus)
        return items

    def _close_card(self) -> None:
        self._ap = None
        self.reader.close()

    # ------------------------------------------------------------ pre-entered data
    def scan_preentry(self, text: str) -> list[str]:
        """Accept a pre-entry QR; returns the field names it filled. PreEntryError (code) if refused."""
        if self.preentry_key is None:
            raise PreEntryError("no_key", "this form issuer has no pre-entry key")
        known = set().union(*(t.pre_keys() for t in self.templates.values()))
        entry = read_payload(text, self.preentry_key, self.site.site.id, self.clock(), known=known)
        self.visit.pre.update(entry.fields)
        log.info("pre-entry accepted: %d fields", len(entry.fields))
        return sorted(entry.fields)

    # ------------------------------------------------------------ forms
    def templates_for(
        self, procedures: list[str], resident_kind: ResidentKind = "japanese"
    ) -> list[tuple[FormTemplate, str]]:
        """(template to fill, procedure) of the chosen procedures: each form's variant for ``resident_kind`` where the
        site has one, else the base form (what :meth:`forms_for` names)."""
        return [(select_template(self.templates, t.id, resident_kind), pid) for t, pid in self.forms_for(procedures)]

    def prepare(
        self, procedures: list[str], resident_kind: ResidentKind = "japanese", lang: str = "ja"
    ) -> list[RenderedForm]:
        """Fill and render the forms of the chosen procedures (the preview shows these pages).

        ``resident_kind="foreign"`` fills the foreign-resident variants; ``lang`` (the screen's language) is printed
        under the Japanese labels of a bilingual form. A form that says a value is malformed (a 在留カード番号 that
        is not 2 letters, 8 digits, 2 letters) keeps its field ids in ``RenderedForm.invalid``: the app asks again
        rather than print it (see :meth:`invalid_sources`)."""
        for form in self.visit.rendered:
            form.image.close()
        self.visit.rendered.clear()
        self.visit.procedures = list(procedures)
        today: date = self.clock().date()
        site_name = self.site.site.names.get("ja")
        for template, pid in self.templates_for(procedures, resident_kind):
            inputs = FormInputs(
                card=self.visit.items,
                pre=self.visit.pre,
                kiosk={"procedure": pid, "site_name": site_name},
                today=today,
                resident_kind=resident_kind,
                lang=lang,
            )
            self.visit.rendered.append(render_form(template, inputs))
        return self.visit.rendered

    def variant_asks(self, procedures: list[str], resident_kind: ResidentKind) -> list[Ask]:
        """What the kiosk asks on screen before the forms: the fields a variant adds to its base form (国籍・地域,
        在留資格, 在留カード番号...), each once, unless a pre-entry QR answered them validly. The base forms' own
        fields are the ordinary forms' business (the QR, else written by hand), as for any resident."""
        chosen = [t for t, _pid in self.templates_for(procedures, resident_kind)]
        base = {f.source for t, _pid in self.forms_for(procedures) for f in t.fields}
        known = {f"pre.{k}" for k, v in self.visit.pre.items() if v} | base
        cards = {f.source for t in chosen for f in t.fields if f.format == "residence_card_number"}
        known -= {s for s in cards if not is_residence_card_number(self.visit.pre.get(s.removeprefix("pre."), ""))}
        return asks_for(chosen, with_card=True, known=known)

    def ask_in_language(self, ask: Ask, lang: str) -> tuple[str, dict[str, str]]:
        """The question's label and its choices' labels in ``lang`` as the bilingual form prints them under the
        Japanese ("" and {} when the form has none for that language): the kiosk shows both lines too."""
        template = self.templates[ask.forms[0]]
        code = second_language(template, lang) or ""
        if not code:
            return "", {}
        label = ""
        for box in template.boxes:
            if box.label is not None and box.label.tr is not None and box.label.text.replace("\n", "") == ask.label:
                label = box.label.tr.get(code) or ""
                break
        options: dict[str, str] = {}
        for f in template.fields:
            if f.source == ask.source:
                options = {o.value: (o.tr.get(code) or "") for o in f.options if o.tr is not None}
                break
        return label, options

    def answer(self, answers: dict[str, str]) -> None:
        """The resident's answers to :meth:`variant_asks` (``pre.<key>`` → text), kept with the pre-entered fields
        (personal: wiped with the visit). An empty answer is left blank on the form, to write by hand."""
        for source, value in answers.items():
            key = source.removeprefix("pre.")
            value = value.strip()
            if key == "residence_card_number" and value:
                value = normalize_residence_card_number(value)
            if value:
                self.visit.pre[key] = value
            else:
                self.visit.pre.pop(key, None)

    def invalid_sources(self) -> list[str]:
        """The sources (``pre.residence_card_number``...) of the prepared forms' malformed values, each once."""
        out: list[str] = []
        for form in self.visit.rendered:
            template = self.templates[form.form_id]
            for field_id in form.invalid:
                source = template.field_by_id[field_id].source
                if source not in out:
                    out.append(source)
        return out

    def print_forms(self) -> str:
        """All the prepared forms in ONE print job; the counts (form ids only) go to ``on_printed``."""
        if not self.visit.rendered:
            raise ValueError("nothing to print")
        pdf = forms_pdf(self.visit.rendered)
        form_ids = [f.form_id for f in self.visit.rendered]
        try:
            job = self.spool.submit(pdf, "madoguchi forms")
        finally:
            del pdf
        log.info("print job %s: %d forms (%s)", job, len(form_ids), ", ".join(form_ids))
        if self.on_printed is not None:
            self.on_printed(form_ids)
        return job

    # ------------------------------------------------------------ the end
    def end(self, why: str) -> None:
        """The visit is over (finished, card_removed, idle, error): forget everything personal."""
        self._close_card()
        self.visit.wipe()
        self.visit = Visit()
        log.info("visit ended: %s; data wiped", why)
