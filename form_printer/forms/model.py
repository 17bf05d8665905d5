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


class FixedText(Rect, TextStyle):
    """Printed text: the title, a note, a label outside any box. Set inside its rectangle."""

    text: Text


class Label(TextStyle):
    """The text of a labelled box (項目名), centred in the box unless said otherwise."""

    text: Text
    align: Align = "center"


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


class ChoiceOption(Rect):
    """One printed option of a choice field (男・女, 転入・転出...). The rectangle is where the circle is drawn."""

    value: Annotated[str, StringConstraints(min_length=1)]
    label: Text
    size_pt: Points = 10.0


FieldFormat = Literal["text", "wareki", "western_date", "choice"]


class FormField(Rect):
    """A value printed into a box. Empty when its source has nothing: the box stays blank for handwriting.

    ``format``: ``text`` as is; ``wareki`` a date in the Japanese era calendar (昭和60年4月12日); ``western_date``
    (1985年4月12日); ``choice`` circles the option whose ``value`` equals the source's value (none if no option does).
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

    @model_validator(mode="after")
    def _consistent(self) -> FormField:
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
    if problems:
        raise ConfigError(folder, problems)
    return templates


def check_site_forms(site: Site, templates: dict[str, FormTemplate]) -> None:
    """Raise ``ValueError`` naming every procedure whose ``forms`` names a form without a template."""
    missing = [
        f"procedures[{i}] ({p.id}): form {form!r} has no template"
        for i, p in enumerate(site.procedures)
        for form in p.forms
        if form not in templates
    ]
    if missing:
        raise ValueError("; ".join(missing))
