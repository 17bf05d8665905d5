"""Which fields the staff ask at the desk, each once for all of a visit's forms. Pure: no Kivy, no I/O.

A visit's forms share most of their fields (氏名, 住所, 電話番号 on every form): the desk asks each *source*
(``card.name``, ``pre.phone``...) once and every form that prints it gets the same answer. The label is the one the
form itself prints next to the box (the staff read the forms they know), so a city that edits a template needs no
code change; choices are the form's own options (男・女...), tapped rather than typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from form_printer.forms.model import Box, FormField, FormTemplate

#: The card's 4 items, in the order they are asked when the resident has no card (typed from an ID document).
CARD_SOURCES = ("card.name", "card.address", "card.birth", "card.sex")
#: Sources the desk fills by itself (never asked).
AUTOMATIC = ("today",)
#: ``residence_card``: a 在留カード番号 (2 letters, 8 digits, 2 letters), checked as the staff type it.
FieldKind = Literal["text", "date", "choice", "residence_card"]
_PERSON = re.compile(r"^pre\.(member|child)([1-9])_")
#: Labels for the card's items when no form prints a label beside them (the forms normally do).
CARD_LABELS = {"card.name": "氏名", "card.address": "住所", "card.birth": "生年月日", "card.sex": "性別"}
PERSON_PREFIX = {"member": "世帯員", "child": "児童"}


@dataclass(frozen=True)
class Ask:
    """One question of the desk's form: a source, its label, how it is answered, the forms it goes on."""

    source: str
    label: str
    kind: FieldKind
    #: (value, label) for a choice, in the form's order.
    options: tuple[tuple[str, str], ...]
    forms: tuple[str, ...]


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return min(a1, b1) - max(a0, b0)


def _label_text(box: Box) -> str:
    assert box.label is not None
    return box.label.text.replace("\n", "").strip()


def form_label(template: FormTemplate, field: FormField) -> str:
    """The label printed beside the field's box: the nearest labelled box on its left on the same row, else the
    nearest above it in the same column (a table's header); "" if neither."""
    labelled = [b for b in template.boxes if b.label is not None and b.label.text.strip()]
    mid_y = field.y_mm + field.h_mm / 2
    left = [
        b
        for b in labelled
        if b.y_mm - 0.5 <= mid_y <= b.bottom_mm + 0.5 and b.right_mm <= field.x_mm + 1.0 and b.x_mm < field.x_mm
    ]
    if left:
        return _label_text(max(left, key=lambda b: b.right_mm))
    above = [
        b
        for b in labelled
        if _overlap(b.x_mm, b.right_mm, field.x_mm, field.right_mm) > field.w_mm / 2 and b.bottom_mm <= field.y_mm + 1
    ]
    if above:
        return _label_text(max(above, key=lambda b: b.bottom_mm))
    return ""


def _kind(field: FormField) -> FieldKind:
    if field.format == "choice":
        return "choice"
    if field.format in ("wareki", "western_date", "wareki_western"):
        return "date"
    if field.format == "residence_card_number":
        return "residence_card"
    return "text"


def asks_for(templates: list[FormTemplate], with_card: bool, known: set[str] = frozenset()) -> list[Ask]:  # type: ignore[assignment]
    """The questions for these forms, each source once, in the order the forms ask them.

    ``with_card``: the card's items come from the card (not asked); without one they are asked first.
    ``known``: sources already answered (a pre-entry QR's keys as ``pre.<key>``): not asked again.
    """
    found: dict[str, Ask] = {}
    for template in templates:
        for field in template.fields:
            source = field.source
            if source in AUTOMATIC or source.startswith("kiosk.") or source in known:
                continue
            if source.startswith("card.") and with_card:
                continue
            ask = found.get(source)
            if ask is not None:
                if template.id not in ask.forms:
                    found[source] = Ask(
                        ask.source, ask.label, ask.kind, ask.options or _options(field), (*ask.forms, template.id)
                    )
                continue
            found[source] = Ask(source, _label(template, field), _kind(field), _options(field), (template.id,))
    card = [found.pop(s) for s in CARD_SOURCES if s in found]
    return card + list(found.values())


def _options(field: FormField) -> tuple[tuple[str, str], ...]:
    return tuple((o.value, o.label) for o in field.options)


def _label(template: FormTemplate, field: FormField) -> str:
    label = form_label(template, field) or CARD_LABELS.get(field.source, "") or field.id
    person = _PERSON.match(field.source)
    if person:
        prefix = f"{PERSON_PREFIX[person.group(1)]}{person.group(2)}"
        if not label.startswith(prefix):
            label = f"{prefix} {label}"
    return label
