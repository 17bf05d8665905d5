"""What each field of a form says, from the card, the pre-entered data and the kiosk. Pure: no fonts, no I/O.

Nothing is invented: a source that has nothing gives an empty string and the box stays blank for the resident to
write by hand (書かない窓口 means writing less, never printing a guess).
"""

from __future__ import annotations

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
        if field.format in ("wareki", "western_date"):
            parsed = parse_date(value)
            if parsed is None:
                return value
            value = parsed
    if isinstance(value, date):
        if field.format == "wareki":
            return wareki(value)
        if field.format == "western_date":
            return western_date(value)
        return value.isoformat()
    return value


def field_values(template: FormTemplate, inputs: FormInputs) -> dict[str, str]:
    """Field id → the text to print ("" leaves the box blank; for a choice, the label of the circled option)."""
    return {f.id: format_value(f, source_value(f.source, inputs)) for f in template.fields}
