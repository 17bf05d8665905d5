"""What each field of a form says, from the card, the pre-entered data and the kiosk. Pure: no fonts, no I/O.

Nothing is invented: a source that has nothing gives an empty string and the box stays blank for the resident to
write by hand (書かない窓口 means writing less, never printing a guess).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from form_printer.card.basic4 import BasicFour
from form_printer.forms.model import FormField, FormTemplate
from kiosk.wareki import wareki, western_date  # noqa: F401  (re-exported by form_printer.forms)


@dataclass
class FormInputs:
    """Everything a form may be filled from, for one resident's session."""

    #: The card's 4 basic items; None when the resident did not use a card (all card fields stay blank).
    card: BasicFour | None
    #: Pre-entered fields from the resident's QR (``pre.<key>`` sources), already verified. Never in a repr.
    pre: dict[str, str] = field(repr=False)
    #: What the app passes: ``procedure`` (the procedure id being printed for), ``site_name``.
    kiosk: dict[str, str]
    #: The date of printing (届出日).
    today: date
    #: Who the forms are for: ``japanese`` or ``foreign`` (:data:`form_printer.forms.model.RESIDENT_KINDS`). Set by
    #: the app from what the resident or the staff chose (the card does not hold a nationality); it picks the form
    #: variant through :func:`form_printer.forms.model.select_template`.
    resident_kind: str = "japanese"
    #: The resident's language (ja, ja-easy, en, zh, ko, vi, pt): a ``bilingual`` form prints its labels' ``tr`` in
    #: it under the Japanese (none for ja and ja-easy).
    lang: str = "ja"


#: 在留カード番号: two letters, eight digits, two letters (出入国在留管理庁: AB12345678CD).
RESIDENCE_CARD_NUMBER = re.compile(r"^[A-Z]{2}[0-9]{8}[A-Z]{2}$")


def normalize_residence_card_number(text: str) -> str:
    """As typed or scanned → as printed: full-width to half-width, upper case, spaces and hyphens dropped."""
    return re.sub(r"[\s\-‐−ー]", "", unicodedata.normalize("NFKC", text)).upper()


def is_residence_card_number(text: str) -> bool:
    """Whether ``text`` (after :func:`normalize_residence_card_number`) has the 在留カード番号 format."""
    return RESIDENCE_CARD_NUMBER.match(normalize_residence_card_number(text)) is not None


def wareki_western(day: date) -> str:
    """The era date with the Western date beside it, for residents who count in Western years:
    令和8年12月4日 (2026-12-04)."""
    return f"{wareki(day)} ({day.isoformat()})"


def parse_date(text: str) -> date | None:
    """A pre-entered date, ``YYYY-MM-DD`` (ISO 8601, as the web form sends it); None if it is not one."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def source_value(source: str, inputs: FormInputs) -> str | date:
    """The raw value of a source: a date for ``card.birth`` and ``today``, else a string ("" when there is none)."""
    if source == "today":
        return inputs.today
    kind, _, key = source.partition(".")
    if kind == "card":
        card = inputs.card
        if card is None or card.wiped:
            return ""
        return card.birth_date if key == "birth" else getattr(card, key)
    if kind == "pre":
        return inputs.pre.get(key, "")
    if kind == "kiosk":
        return inputs.kiosk.get(key, "")
    raise ValueError(f"unknown source {source!r}")


def format_value(field: FormField, value: str | date) -> str:
    """The text printed for ``value``; for a choice, the label of the option to circle ("" for none).

    A pre-entered date that is not ``YYYY-MM-DD`` is printed as it was entered rather than dropped: the resident
    typed it and can see it on the preview.
    """
    if field.format == "choice":
        key = value.isoformat() if isinstance(value, date) else value.strip()
        return next((o.label for o in field.options if o.value == key), "")
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return ""
        if field.format == "residence_card_number":
            number = normalize_residence_card_number(value)
            return number if RESIDENCE_CARD_NUMBER.match(number) else ""
        if field.format in ("wareki", "western_date", "wareki_western"):
            parsed = parse_date(value)
            if parsed is None:
                return value
            value = parsed
    if isinstance(value, date):
        if field.format == "wareki":
            return wareki(value)
        if field.format == "western_date":
            return western_date(value)
        if field.format == "wareki_western":
            return wareki_western(value)
        return value.isoformat()
    return value


def field_values(template: FormTemplate, inputs: FormInputs) -> dict[str, str]:
    """Field id → the text to print ("" leaves the box blank; for a choice, the label of the circled option)."""
    return {f.id: format_value(f, source_value(f.source, inputs)) for f in template.fields}


def invalid_fields(template: FormTemplate, inputs: FormInputs) -> list[str]:
    """Fields whose source has a value in the wrong format (a 在留カード番号 that is not 2 letters, 8 digits, 2
    letters): they print blank, like an empty one, and the app asks for the value again."""
    out: list[str] = []
    for f in template.fields:
        if f.format != "residence_card_number":
            continue
        value = source_value(f.source, inputs)
        if isinstance(value, str) and value.strip() and not is_residence_card_number(value):
            out.append(f.id)
    return out
