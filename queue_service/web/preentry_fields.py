"""How the online guide asks for pre-entry data (the form issuer's QR code), and which forms want which keys.

The form templates say which ``pre.*`` keys each form takes (docs/forms.md); this module says how to ask for
each (label, kind, choices) and checks an answer before it goes into a signed QR code.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from kiosk.config.site import Site
from kiosk.i18n import N_

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldSpec:
    key: str
    label: str  # an English message id (or the key itself when the key is not known here)
    kind: Literal["text", "date", "tel", "number", "choice"] = "text"
    options: tuple[tuple[str, str], ...] = ()  # (value, message id)
    #: Repeated people: ("member", 2) → shown under "Household member 2".
    person: tuple[str, int] | None = None


_YES_NO = (("yes", N_("Yes")), ("no", N_("No")))
_SEX = (("1", N_("Male")), ("2", N_("Female")))
_KNOWN_FIELDS: dict[str, FieldSpec] = {
    spec.key: spec
    for spec in (
        FieldSpec("name_kana", N_("Your name in hiragana (furigana)")),
        FieldSpec("phone", N_("Daytime phone number"), "tel"),
        FieldSpec("move_date", N_("Date of the move"), "date"),
        FieldSpec("new_address", N_("New address")),
        FieldSpec("household_head", N_("Head of household (after the move)")),
        FieldSpec("relationship", N_("Your relationship to the head of household")),
        FieldSpec(
            "certificate_type",
            N_("Type of certificate"),
            "choice",
            (("copy", N_("Copy of the certificate of residence")), ("certificate", N_("Certificate of stated items"))),
        ),
        FieldSpec(
            "scope",
            N_("Whose entries"),
            "choice",
            (("self", N_("Only me")), ("household", N_("The whole household")), ("some", N_("Some members"))),
        ),
        FieldSpec("copies", N_("Number of copies"), "number"),
        FieldSpec("purpose", N_("What it is for")),
        FieldSpec("submit_to", N_("Where you will hand it in")),
        FieldSpec("include_relationship", N_("Show the head of household and relationships"), "choice", _YES_NO),
        FieldSpec("include_domicile", N_("Show the registered domicile (本籍)"), "choice", _YES_NO),
        FieldSpec("include_my_number", N_("Show the My Number"), "choice", _YES_NO),
        FieldSpec("include_resident_code", N_("Show the resident record code"), "choice", _YES_NO),
        FieldSpec("coverage_start", N_("Insurance start date"), "date"),
        FieldSpec(
            "join_reason",
            N_("Reason for joining"),
            "choice",
            (
                ("tennyu", N_("Moved in")),
                ("employer_insurance_ended", N_("Employer's insurance ended")),
                ("welfare_ended", N_("Public assistance ended")),
                ("birth", N_("Birth")),
                ("other", N_("Other")),
            ),
        ),
        FieldSpec("previous_insurance", N_("Previous health insurance (insurer)")),
        FieldSpec("previous_insurance_end", N_("Date the previous insurance ended"), "date"),
        FieldSpec(
            "pension_type",
            N_("Your pension"),
            "choice",
            (("kokumin", N_("National Pension")), ("kosei", N_("Employees' Pension")), ("kyosai", N_("Mutual aid"))),
        ),
        FieldSpec("spouse_name", N_("Spouse's name")),
        FieldSpec("bank_name", N_("Bank")),
        FieldSpec("bank_branch", N_("Branch")),
        FieldSpec("account_type", N_("Account type"), "choice", (("futsu", N_("Ordinary")), ("toza", N_("Current")))),
        FieldSpec("account_number", N_("Account number"), "number"),
        FieldSpec("account_holder", N_("Account holder (katakana)")),
    )
}
_PERSON_FIELD = re.compile(r"^(member|child)([1-9])_(name|birth|sex|relationship|together)$")
_PERSON_PARTS: dict[str, tuple[str, str, tuple[tuple[str, str], ...]]] = {
    "name": (N_("Name"), "text", ()),
    "birth": (N_("Date of birth"), "date", ()),
    "sex": (N_("Sex"), "choice", _SEX),
    "relationship": (N_("Relationship"), "text", ()),
    "together": (N_("Lives with you"), "choice", _YES_NO),
}
PERSON_TITLES = {"member": N_("Household member {n}"), "child": N_("Child {n}")}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits: \d also takes ١٢٣ and full-width ones
_NUMBER = re.compile(r"[0-9]{1,20}")


def field_spec(key: str) -> FieldSpec:
    """How the guide asks for a pre-entry key (docs/forms.md lists them); an unknown key is a plain text field."""
    if key in _KNOWN_FIELDS:
        return _KNOWN_FIELDS[key]
    m = _PERSON_FIELD.match(key)
    if m:
        label, kind, options = _PERSON_PARTS[m.group(3)]
        return FieldSpec(key, label, kind, options, (m.group(1), int(m.group(2))))  # type: ignore[arg-type]
    return FieldSpec(key, key)


def check_field(spec: FieldSpec, value: str) -> bool:
    from form_printer.preentry import MAX_VALUE_CHARS

    if len(value) > MAX_VALUE_CHARS:
        return False
    if spec.kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return bool(_DATE.fullmatch(value))
    if spec.kind == "number":  # str.isdigit() is true for ١٢٣, ² and １２３ too: the form would print them
        return bool(_NUMBER.fullmatch(value))
    if spec.kind == "choice":
        return value in {v for v, _ in spec.options}
    return True


@dataclass
class PreEntryConfig:
    key: bytes
    #: form id → its pre-entry keys, in the order of the form's fields
    form_keys: dict[str, list[str]]
    form_titles: dict[str, str]


def load_preentry(site: Site, key_path: Path | None, forms_dir: Path | None) -> PreEntryConfig | None:
    if key_path is None or forms_dir is None:
        return None
    from form_printer.forms.model import load_templates
    from form_printer.preentry import load_key

    try:
        key = load_key(Path(key_path))
        forms = load_templates(Path(forms_dir))
    except Exception as exc:  # a misconfigured site loses the QR feature, not its pages
        log.warning("pre-entry QR codes are off: %s", exc)
        return None
    form_keys = {
        fid: list(dict.fromkeys(f.source.removeprefix("pre.") for f in t.fields if f.source.startswith("pre.")))
        for fid, t in forms.items()
    }
    return PreEntryConfig(key, form_keys, {fid: t.title for fid, t in forms.items()})
