"""How the online guide asks for pre-entry data (the form issuer's QR code), and which forms want which keys.

The form templates say which ``pre.*`` keys each form takes (docs/forms.md); this module says how to ask for
each (label, kind, choices) and checks an answer before it goes into a signed QR code.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from kiosk.config.site import Site
from kiosk.i18n import N_
from kiosk.wareki import ERAS

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


#: A date is asked in parts, so nobody meets a browser's mm/dd/yyyy picker: Japanese pages ask the era (元号),
#: its year, month and day, as every Japanese form does (a 1950 birth date is 昭和25年); other pages ask year,
#: month, day. Both send the same ISO date. Form names: ``pre_KEY_era``, ``pre_KEY_year``, ... (``pre_KEY`` with
#: an ISO date is still taken, for clients that send one).
DATE_PARTS = ("era", "year", "month", "day")
#: The era choices: (value sent, era name, the Western years it spans), newest first.
ERA_CHOICES: tuple[tuple[str, str, str], ...] = (
    ("R", "令和", "2019〜"),
    ("H", "平成", "1989〜2019"),
    ("S", "昭和", "1926〜1989"),
    ("T", "大正", "1912〜1926"),
)
#: Page languages that ask a date by era.
ERA_LANGS = frozenset({"ja", "ja-easy"})
_ERA_START = {name: (start, first_year) for start, name, first_year in ERAS}
_PART_NUMBER = re.compile(r"[0-9]{1,4}")


def date_from_parts(parts: Mapping[str, str]) -> str | None:
    """The ISO date of a date asked in parts: "" when nothing was entered, None when it is no real date.

    ``era`` (a value of :data:`ERA_CHOICES`, or empty for a Western year) with ``year`` (元 = 1), ``month`` and
    ``day``; full-width digits (a Japanese keyboard's default) count. An era date must fall within its era
    (昭和64年1月8日 is 平成元年: refused, not silently moved).
    """
    raw = {p: unicodedata.normalize("NFKC", str(parts.get(p, ""))).strip() for p in DATE_PARTS}
    if not any(raw.values()):
        return ""
    numbers = []
    for p in ("year", "month", "day"):
        text = "1" if p == "year" and raw[p] == "元" else raw[p]
        if not _PART_NUMBER.fullmatch(text):
            return None
        numbers.append(int(text))
    year, month, day = numbers
    era = {v: name for v, name, _span in ERA_CHOICES}.get(raw["era"])
    if raw["era"] and era is None:
        return None
    if era is not None:
        start, first_year = _ERA_START[era]
        year += first_year - 1
    elif year < 1000:
        return None  # "25" without an era is no year anyone means
    try:
        when = date(year, month, day)
    except ValueError:
        return None
    if era is not None:
        later = [s for s, _n, _y in ERAS if s > start]
        if when < start or (later and when >= min(later)):
            return None
    return when.isoformat()


def date_parts_of(iso: str, lang: str) -> dict[str, str]:
    """An ISO date as the parts the page asks for in ``lang`` (to show an entry again): era parts on Japanese
    pages when the date falls in one of :data:`ERA_CHOICES`, else Western ones."""
    try:
        when = date.fromisoformat(iso)
    except ValueError:
        return {}
    if lang in ERA_LANGS:
        for value, name, _span in ERA_CHOICES:
            start, first_year = _ERA_START[name]
            if when >= start:
                return {
                    "era": value,
                    "year": str(when.year - first_year + 1),
                    "month": str(when.month),
                    "day": str(when.day),
                }
    return {"era": "", "year": str(when.year), "month": str(when.month), "day": str(when.day)}


def read_answers(
    form: Mapping[str, object], specs: Mapping[str, FieldSpec], lang: str
) -> tuple[dict[str, str], set[str], dict[str, dict[str, str]]]:
    """The pre-entry answers of a posted form: (values entered, keys whose value is wrong, each date field's
    parts as shown again on the page). A date comes as ``pre_KEY`` (ISO) or in parts (:func:`date_from_parts`)."""
    values: dict[str, str] = {}
    errors: set[str] = set()
    shown_dates: dict[str, dict[str, str]] = {}
    for key, spec in specs.items():
        whole = str(form.get(f"pre_{key}", "") or "").strip()
        if spec.kind == "date" and not whole:
            parts = {p: str(form.get(f"pre_{key}_{p}", "") or "").strip() for p in DATE_PARTS}
            iso = date_from_parts(parts)
            if iso is None:
                errors.add(key)
                shown_dates[key] = parts
                continue
            whole = iso
        if not whole:
            continue
        values[key] = whole
        if not check_field(spec, whole):
            errors.add(key)
        if spec.kind == "date":
            shown_dates[key] = date_parts_of(whole, lang) or {"year": whole}
    return values, errors, shown_dates


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
