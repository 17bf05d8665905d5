"""Application-form templates (申請書の様式) as data: one TOML file per form in the site's ``forms/`` folder.

The form issuer prints the WHOLE form on blank A4 paper, so a template describes everything on the page: the ruling
(``boxes`` and ``lines``), the fixed texts (title, labels, notes) and the ``fields`` filled from the My Number card,
the resident's pre-entered data (QR) and the kiosk. Positions are in millimetres from the top-left corner of the
page. A city changes a form by editing its file; everything is checked when it is loaded (unknown keys, sizes,
everything inside the printable area), so a typo is an error naming the file and line, not a misprinted form.
See docs/forms.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from kiosk.config.loading import ConfigError, load_toml_model
from kiosk.config.site import Id, Site, Strict, Text

#: Where a field's value comes from. ``card.*``: the 4 basic items of the My Number card; ``pre.<key>``: what the
#: resident entered on the city's web form (QR); ``kiosk.<key>``: what the app knows (the chosen procedure...);
#: ``today``: the date of printing.
SOURCE_PATTERN = r"^(card\.(name|address|birth|sex)|pre\.[a-z][a-z0-9_]{0,39}|kiosk\.[a-z][a-z0-9_]{0,39}|today)$"
Source = Annotated[str, StringConstraints(pattern=SOURCE_PATTERN)]
#: Sources whose value is a date.
DATE_SOURCES = frozenset({"card.birth", "today"})
Align = Literal["left", "center", "right"]
VAlign = Literal["top", "middle", "bottom"]
Millimetres = Annotated[float, Field(ge=0, le=2000)]
Extent = Annotated[float, Field(gt=0, le=2000)]
Points = Annotated[float, Field(gt=0, le=96)]
Stroke = Annotated[float, Field(ge=0, le=3)]
#: The languages a bilingual form can print under its Japanese labels (the kiosk's languages but Japanese and
#: やさしい日本語, which need no second line).
SECOND_LANGUAGES = ("en", "zh", "ko", "vi", "pt")
#: Who a form variant is for. ``japanese``: the default forms; ``foreign``: foreign residents (国籍・地域, 在留資格,
#: 在留カード番号 instead of 本籍・筆頭者). Chosen at fill time (the card does not say a resident's nationality).
ResidentKind = Literal["japanese", "foreign"]
RESIDENT_KINDS: tuple[str, ...] = ("japanese", "foreign")


class Page(Strict):
    """The paper, portrait. Nothing is printed in the margin (printers cannot reach the paper's edge)."""

    width_mm: Extent = 210.0
    height_mm: Extent = 297.0
    margin_mm: Millimetres = 10.0


class Rect(Strict):
    x_mm: Millimetres
    y_mm: Millimetres
    w_mm: Extent
    h_mm: Extent

    @property
    def right_mm(self) -> float:
        return self.x_mm + self.w_mm

    @property
    def bottom_mm(self) -> float:
        return self.y_mm + self.h_mm


class Translations(Strict):
    """A label's text in the resident's language, printed under the Japanese on a ``bilingual`` form."""

    en: Text | None = None
    zh: Text | None = None
    ko: Text | None = None
    vi: Text | None = None
    pt: Text | None = None

    def get(self, lang: str) -> str | None:
        return getattr(self, lang, None) if lang in SECOND_LANGUAGES else None


class TextStyle(Strict):
    """How a fixed text is set. It shrinks to ``min_size_pt`` (default 3/4 of its size) and wraps when it must."""

    size_pt: Points = 10.0
    min_size_pt: Points | None = None
    bold: bool = False
    align: Align = "left"
    valign: VAlign = "middle"
    vertical: bool = False

    @property
    def min_size(self) -> float:
        return self.min_size_pt if self.min_size_pt is not None else self.size_pt * 0.75

    @model_validator(mode="after")
    def _sizes(self) -> TextStyle:
        if self.min_size_pt is not None and self.min_size_pt > self.size_pt:
            raise ValueError(f"min_size_pt {self.min_size_pt} is larger than size_pt {self.size_pt}")
        return self


class Bilingual(Strict):
    """The second line of a label on a ``bilingual`` form: ``tr`` per language, set at ``tr_size_pt`` (default 7/10
    of the Japanese size) under the Japanese. Japanese stays first: it is the form the office reads."""

    tr: Translations | None = None
    tr_size_pt: Points | None = None


class FixedText(Rect, TextStyle, Bilingual):
    """Printed text: the title, a note, a label outside any box. Set inside its rectangle."""

    text: Text

    @model_validator(mode="after")
    def _horizontal_translation(self) -> FixedText:
        if self.tr is not None and self.vertical:
            raise ValueError("a vertical text cannot carry translations (tr)")
        return self


class Label(TextStyle, Bilingual):
    """The text of a labelled box (項目名), centred in the box unless said otherwise."""

    text: Text
    align: Align = "center"

    @model_validator(mode="after")
    def _horizontal_translation(self) -> Label:
        if self.tr is not None and self.vertical:
            raise ValueError("a vertical label cannot carry translations (tr)")
        return self


class Box(Rect):
    """A ruled rectangle: a table cell, the signature box, the staff-use box. ``shade`` tints label cells."""

    stroke_mm: Stroke = 0.25
    shade: bool = False
    label: Label | None = None


class Line(Strict):
    """A straight rule, e.g. the line under the addressee or a dashed separator."""

    x1_mm: Millimetres
    y1_mm: Millimetres
    x2_mm: Millimetres
    y2_mm: Millimetres
    stroke_mm: Stroke = 0.25
    dashed: bool = False


class ChoiceOption(Rect, Bilingual):
    """One printed option of a choice field (男・女, 転入・転出...). The rectangle is where the circle is drawn."""

    value: Annotated[str, StringConstraints(min_length=1)]
    label: Text
    size_pt: Points = 10.0


FieldFormat = Literal["text", "wareki", "western_date", "wareki_western", "residence_card_number", "choice"]


class FormField(Rect):
    """A value printed into a box. Empty when its source has nothing: the box stays blank for handwriting.

    ``format``: ``text`` as is; ``wareki`` a date in the Japanese era calendar (昭和60年4月12日); ``western_date``
    (1985年4月12日); ``wareki_western`` both, for residents who count in Western years (昭和60年4月12日 (1985-04-12));
    ``residence_card_number`` a 在留カード番号 (AB12345678CD), checked: one that is not is left blank and listed;
    ``choice`` circles the option whose ``value`` equals the source's value (none if no option does).

    ``cells``: the value is printed one character per cell (the box split into that many equal cells, which the
    template rules itself): 在留カード番号 in 12 cells, as printed forms have it.
    """

    id: Id
    source: Source
    size_pt: Points = 11.0
    min_size_pt: Points = 7.0
    vertical: bool = False
    format: FieldFormat = "text"
    align: Align = "left"
    valign: VAlign = "middle"
    options: tuple[ChoiceOption, ...] = ()
    cells: Annotated[int, Field(ge=2, le=40)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
        if self.cells is not None and (self.vertical or self.format == "choice"):
            raise ValueError("cells are for horizontal, non-choice fields")
        if self.min_size_pt > self.size_pt:
            raise ValueError(f"min_size_pt {self.min_size_pt} is larger than size_pt {self.size_pt}")
        if self.format == "choice" and not self.options:
            raise ValueError("a choice field needs options")
        if self.format != "choice" and self.options:
            raise ValueError(f"options are only for format 'choice' (this field is {self.format!r})")
        values = [o.value for o in self.options]
        if len(set(values)) != len(values):
            raise ValueError("two options have the same value")
        return self


class FormTemplate(Strict):
    """One application form: the page, its ruling, its fixed texts and its fields."""

    id: Id
    #: The form's name as printed and shown in the app (Japanese).
    title: Text
    page: Page = Page()
    boxes: tuple[Box, ...] = ()
    lines: tuple[Line, ...] = ()
    texts: tuple[FixedText, ...] = ()
    fields: tuple[FormField, ...] = Field(min_length=1)
    #: Print each label's ``tr`` in the resident's language under the Japanese (a form the site hands to foreign
    #: residents). Only labels that carry ``tr`` get a second line; ja and ja-easy get none.
    bilingual: bool = False
    #: This template is a variant of the form ``variant_of`` for residents of kind ``resident_kind``
    #: (``juminhyo_foreign``: ``variant_of = "juminhyo"``, ``resident_kind = "foreign"``). Procedures name the base
    #: form; :func:`select_template` picks the variant at fill time.
    variant_of: Id | None = None
    resident_kind: ResidentKind | None = None

    @model_validator(mode="after")
    def _variant(self) -> FormTemplate:
        if (self.variant_of is None) != (self.resident_kind is None):
            raise ValueError("variant_of and resident_kind go together")
        if self.variant_of == self.id:
            raise ValueError("a template cannot be a variant of itself")
        if self.resident_kind == "japanese":
            raise ValueError("resident_kind 'japanese' is the base form's: a variant is for another kind")
        return self

    @model_validator(mode="after")
    def _on_the_page(self) -> FormTemplate:
        seen: set[str] = set()
        for i, f in enumerate(self.fields):
            if f.id in seen:
                raise ValueError(f"fields[{i}]: duplicate field id {f.id!r}")
            seen.add(f.id)
        for where, rect in self._rects():
            self._check_inside(where, rect.x_mm, rect.y_mm, rect.right_mm, rect.bottom_mm)
        for i, ln in enumerate(self.lines):
            xs, ys = sorted((ln.x1_mm, ln.x2_mm)), sorted((ln.y1_mm, ln.y2_mm))
            self._check_inside(f"lines[{i}]", xs[0], ys[0], xs[1], ys[1])
        return self

    def _rects(self) -> list[tuple[str, Rect]]:
        rects: list[tuple[str, Rect]] = [(f"boxes[{i}]", b) for i, b in enumerate(self.boxes)]
        rects += [(f"texts[{i}]", t) for i, t in enumerate(self.texts)]
        for i, f in enumerate(self.fields):
            rects.append((f"fields[{i}] ({f.id})", f))
            rects += [(f"fields[{i}].options[{j}] ({f.id})", o) for j, o in enumerate(f.options)]
        return rects

    def _check_inside(self, where: str, left: float, top: float, right: float, bottom: float) -> None:
        p = self.page
        lo_x, lo_y = p.margin_mm, p.margin_mm
        hi_x, hi_y = p.width_mm - p.margin_mm, p.height_mm - p.margin_mm
        if left < lo_x or top < lo_y or right > hi_x or bottom > hi_y:
            raise ValueError(
                f"{where}: reaches outside the printable area ({lo_x:g}-{hi_x:g} mm across, {lo_y:g}-{hi_y:g} mm down)"
            )

    @property
    def field_by_id(self) -> dict[str, FormField]:
        return {f.id: f for f in self.fields}

    def pre_keys(self) -> set[str]:
        """The pre-entry (QR) keys this form reads: the city's web form must use exactly these names."""
        return {f.source.removeprefix("pre.") for f in self.fields if f.source.startswith("pre.")}


def load_templates(folder: Path) -> dict[str, FormTemplate]:
    """Every ``*.toml`` in ``folder``, by id. Raises :class:`ConfigError` listing every problem of every file.

    A template's file is named after its id (``jumin_ido.toml`` holds ``id = "jumin_ido"``), so the site file's
    ``forms = [...]`` can be followed to a file by eye.
    """
    folder = Path(folder)
    paths = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if not paths:
        raise ConfigError(folder, [f"{folder}: no form templates (*.toml) found"])
    templates: dict[str, FormTemplate] = {}
    problems: list[str] = []
    for path in paths:
        try:
            template = load_toml_model(FormTemplate, path)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        if template.id != path.stem:
            problems.append(f"{path}: id {template.id!r} does not match the file name (expected {path.stem!r})")
            continue
        templates[template.id] = template
    seen: dict[tuple[str, str], str] = {}
    for t in templates.values():
        if t.variant_of is None or t.resident_kind is None:
            continue
        base = templates.get(t.variant_of)
        if base is None or base.variant_of is not None:
            problems.append(f"{folder / (t.id + '.toml')}: variant_of {t.variant_of!r} is not a base form here")
        elif (t.variant_of, t.resident_kind) in seen:
            other = seen[t.variant_of, t.resident_kind]
            problems.append(f"{folder / (t.id + '.toml')}: {other!r} is already the {t.resident_kind} variant")
        else:
            seen[t.variant_of, t.resident_kind] = t.id
    if problems:
        raise ConfigError(folder, problems)
    return templates


def select_template(templates: dict[str, FormTemplate], form_id: str, resident_kind: str = "japanese") -> FormTemplate:
    """The template to print form ``form_id`` (a base form, as procedures name it) for a resident of this kind.

    The variant for ``resident_kind`` when the site has one, else the base form (a site without foreign-resident
    variants prints its ordinary forms). KeyError if ``form_id`` has no template; ValueError for an unknown kind.
    """
    if resident_kind not in RESIDENT_KINDS:
        raise ValueError(f"unknown resident kind {resident_kind!r} (one of {', '.join(RESIDENT_KINDS)})")
    base = templates[form_id]
    if resident_kind != "japanese":
        for t in templates.values():
            if t.variant_of == form_id and t.resident_kind == resident_kind:
                return t
    return base


def base_forms(templates: dict[str, FormTemplate]) -> dict[str, FormTemplate]:
    """The templates that are not variants: the forms procedures can name."""
    return {k: t for k, t in templates.items() if t.variant_of is None}


def second_language(template: FormTemplate, lang: str) -> str | None:
    """The language printed under the Japanese labels of ``template`` for a resident using ``lang``, if any.

    None unless the template is ``bilingual``; None for ja and ja-easy (Japanese needs no second line). Accepts
    region tags (``pt-BR``, ``zh_CN``) by their language.
    """
    if not template.bilingual:
        return None
    code = lang.replace("_", "-").split("-")[0].lower()
    return code if code in SECOND_LANGUAGES else None


def check_site_forms(site: Site, templates: dict[str, FormTemplate]) -> None:
    """Raise ``ValueError`` naming every procedure whose ``forms`` names a form without a template."""
    missing = [
        f"procedures[{i}] ({p.id}): form {form!r} has no template"
        if form not in templates
        else f"procedures[{i}] ({p.id}): form {form!r} is a variant; name its base form {templates[form].variant_of!r}"
        for i, p in enumerate(site.procedures)
        for form in p.forms
        if form not in templates or templates[form].variant_of is not None
    ]
    if missing:
        raise ValueError("; ".join(missing))
