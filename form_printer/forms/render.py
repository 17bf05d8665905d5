"""Drawing a filled form on a blank page at printer resolution, and packing forms into one PDF print job.

The whole form is drawn (ruling, labels, notes and the resident's data), 1 bit per dot at 300 dpi: a laser printer
prints black or nothing, and 1-bit pages go into the PDF losslessly (CCITT G4), so kanji stay crisp and a four-form
job stays small. Text is set with Noto Sans CJK JP (:func:`kiosk.fonts.cjk_font`) through the pure layout in
:mod:`form_printer.forms.layout`.

A value is never printed wrong: one that does not fit its box even at its minimum size, or that has a character the
font cannot draw (a 外字 the card may hold), is left out and its field id listed in ``overflows`` so the app can ask
the resident to write it by hand. A tofu box (□) on an official form would be worse than a blank.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from PIL import Image, ImageDraw, features

from form_printer.forms.fill import FormInputs, field_values, invalid_fields
from form_printer.forms.layout import (
    LINE_PITCH,
    Fit,
    block_extent,
    fit_text,
    measure_vertical,
    vertical_advance,
)
from form_printer.forms.model import (
    Align,
    Bilingual,
    Box,
    FixedText,
    FormField,
    FormTemplate,
    Label,
    Line,
    Rect,
    VAlign,
    second_language,
)
from kiosk.fonts import pil_font

MM_PER_INCH = 25.4
PT_PER_INCH = 72.0
#: Space kept between a field's text and its box (the ruling is usually the box's edge).
FIELD_PAD_MM = 0.8
#: Space kept between a label and the edge of its cell.
LABEL_PAD_MM = 1.0
#: Top of the ideographic em box above the baseline, in ems (Noto Sans CJK): lines are stacked em box on em box.
EM_ASCENT = 0.88
#: Stroke of the circle drawn around a chosen option.
CIRCLE_STROKE_MM = 0.35
#: The tint of shaded label cells: one dot in every SHADE_PITCH x SHADE_PITCH square, every other row shifted.
SHADE_PITCH = 4
#: The second (translated) line of a bilingual label, as a share of the Japanese size, and its smallest size.
TR_SIZE = 0.7
TR_MIN_PT = 4.5
#: Space between a label's Japanese and its translation, in ems of the Japanese.
TR_GAP = 0.2
#: A bilingual option's two lines keep this share of its rectangle's height free above and below, and this share
#: of its pill's end radius free on the left and right, so the mark drawn around it never touches them.
OPTION_INSET = 0.06
PILL_END_INSET = 0.45
#: A code point no font draws: its picture is the font's .notdef ("tofu") glyph.
_NOTDEF_PROBE = "\U0010fffd"
_PROBE_SIZE = 32
#: Vertical text uses the font's vertical forms (。、「」ー rotate and move) through HarfBuzz, when Pillow has it.
_VERTICAL_FEATURES = ["vert"] if features.check_feature("raqm") else None


@dataclass
class RenderedForm:
    """One printed page, ready for :func:`forms_pdf`."""

    form_id: str
    title: str
    #: The page at ``dpi``, mode "1".
    image: Image.Image
    #: Fields left BLANK because their value did not fit or has characters the font lacks: "please write by hand".
    overflows: list[str]
    dpi: int = 300
    page_mm: tuple[float, float] = (210.0, 297.0)
    #: How each printed field was set (tests and troubleshooting).
    fits: dict[str, Fit] = field(default_factory=dict, repr=False)  # the printed texts: personal data
    #: Fixed texts of the template that do not fit their place: a template bug (tests check there are none).
    problems: list[str] = field(default_factory=list)
    #: Fields left BLANK because their value has the wrong format (a 在留カード番号 that is not AB12345678CD): the
    #: app asks for it again (it is not in ``overflows``: writing it by hand would not make it right).
    invalid: list[str] = field(default_factory=list)
    #: The language printed under the Japanese labels (None: Japanese only).
    second_language: str | None = None


_font = pil_font


def _quantize(size_px: float) -> float:
    """Font sizes in quarter pixels: the layout tries many sizes, this keeps the font cache small."""
    return max(1.0, round(size_px * 4) / 4)


def measurer(bold: bool = False) -> Callable[[str, float], float]:
    """A ``measure(text, size_px)`` for :func:`fit_text`, using the same fonts the page is drawn with.

    Its memo lives as long as the measurer: one page. A process-wide cache would keep residents' names and
    addresses in memory long after their session (the card's items must go when the session ends).
    """

    memo: dict[tuple[str, float], float] = {}

    def measure(text: str, size_px: float) -> float:
        key = (text, size_px)
        if key not in memo:
            memo[key] = _font(_quantize(size_px), bold).getlength(text)
        return memo[key]

    return measure


def _signature(ch: str) -> tuple:
    font = _font(_PROBE_SIZE)
    return font.getbbox(ch), bytes(font.getmask(ch))


@lru_cache(maxsize=8192)
def has_glyph(ch: str) -> bool:
    """Whether the font draws ``ch`` (rather than its .notdef box). Marks and format characters need no glyph."""
    if unicodedata.category(ch) in ("Mn", "Me", "Cf", "Zs", "Cc"):
        return True
    return _signature(ch) != _signature(_NOTDEF_PROBE)


def missing_glyphs(text: str) -> list[str]:
    """The characters of ``text`` the font cannot draw, in order of appearance."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if not has_glyph(ch) and ch not in out:
            out.append(ch)
    return out


@lru_cache(maxsize=2)
def _tint_mask(width: int, height: int) -> Image.Image:
    """One dot every SHADE_PITCH dots, every other dot row shifted by half a pitch; page-sized, so the dots of
    neighbouring cells line up."""
    p = SHADE_PITCH
    even = bytes(255 if x % p == 0 else 0 for x in range(width))
    odd = bytes(255 if x % p == p // 2 else 0 for x in range(width))
    blank = bytes(width)
    rows = ((odd if (y // p) % 2 else even) if y % p == 0 else blank for y in range(height))
    return Image.frombytes("L", (width, height), b"".join(rows))


class _Page:
    """The canvas: millimetres and points in, dots out."""

    def __init__(self, template: FormTemplate, dpi: int) -> None:
        self.dpi = dpi
        page = template.page
        self.size = (round(self.mm(page.width_mm)), round(self.mm(page.height_mm)))
        self.image = Image.new("L", self.size, 255)
        self.draw = ImageDraw.Draw(self.image)
        self.measure = {False: measurer(False), True: measurer(True)}

    def mm(self, value: float) -> float:
        return value * self.dpi / MM_PER_INCH

    def pt(self, value: float) -> float:
        return value * self.dpi / PT_PER_INCH

    def rect(self, r: Rect, inset_mm: float = 0.0) -> tuple[float, float, float, float]:
        return (
            self.mm(r.x_mm + inset_mm),
            self.mm(r.y_mm + inset_mm),
            self.mm(r.right_mm - inset_mm),
            self.mm(r.bottom_mm - inset_mm),
        )

    def stroke(self, stroke_mm: float) -> int:
        return max(1, round(self.mm(stroke_mm)))

    # ruling -----------------------------------------------------------------------------------------------------
    def box(self, box: Box) -> None:
        x0, y0, x1, y1 = (round(v) for v in self.rect(box))
        if box.shade:
            self._shade(x0, y0, x1, y1)
        if box.stroke_mm > 0:
            # Centred on the box's edges, so two cells sharing an edge share one rule of the same weight.
            width = self.stroke(box.stroke_mm)
            a, b = width // 2, width - width // 2
            self.draw.rectangle((x0 - a, y0 - a, x1 + b - 1, y1 + b - 1), outline=0, width=width)

    def _shade(self, x0: int, y0: int, x1: int, y1: int) -> None:
        """A light dot tint that survives the 1-bit conversion (a grey fill would vanish or turn black)."""
        box = (x0, y0, x1, y1)
        self.image.paste(0, box, _tint_mask(*self.size).crop(box))

    def line(self, line: Line) -> None:
        start = (self.mm(line.x1_mm), self.mm(line.y1_mm))
        end = (self.mm(line.x2_mm), self.mm(line.y2_mm))
        width = self.stroke(line.stroke_mm)
        if not line.dashed:
            self.draw.line((start, end), fill=0, width=width)
            return
        length = ((end[0] - start[0]) ** 2 + (end[1] - start[1]) ** 2) ** 0.5
        dash = self.mm(1.5)
        steps = max(1, int(length // (2 * dash)))
        for i in range(steps + 1):
            a, b = i * 2 * dash / length, min(1.0, (i * 2 + 1) * dash / length)
            if a >= 1:
                break
            p0 = (start[0] + (end[0] - start[0]) * a, start[1] + (end[1] - start[1]) * a)
            p1 = (start[0] + (end[0] - start[0]) * b, start[1] + (end[1] - start[1]) * b)
            self.draw.line((p0, p1), fill=0, width=width)

    def circle(self, r: Rect) -> None:
        x0, y0, x1, y1 = self.rect(r)
        self.draw.ellipse((x0, y0, x1 - 1, y1 - 1), outline=0, width=self.stroke(CIRCLE_STROKE_MM))

    def pill(self, r: Rect) -> None:
        """The mark around a chosen bilingual option: an ellipse would cut into the ends of its second line."""
        x0, y0, x1, y1 = self.rect(r)
        radius = (y1 - y0) / 2
        self.draw.rounded_rectangle(
            (x0, y0, x1 - 1, y1 - 1), radius=radius, outline=0, width=self.stroke(CIRCLE_STROKE_MM)
        )

    # text -------------------------------------------------------------------------------------------------------
    def fit(
        self, text: str, area: tuple[float, float, float, float], size_pt: float, min_pt: float, vertical: bool, bold
    ) -> Fit:
        x0, y0, x1, y1 = area
        return fit_text(text, x1 - x0, y1 - y0, self.pt(size_pt), self.pt(min_pt), vertical, self.measure[bold])

    def text(
        self,
        fit: Fit,
        area: tuple[float, float, float, float],
        align: Align,
        valign: VAlign,
        vertical: bool,
        bold: bool = False,
    ) -> None:
        if vertical:
            self._vertical(fit, area, align, bold)
            return
        x0, y0, x1, y1 = area
        size = fit.size
        font = _font(_quantize(size), bold)
        height = block_extent(len(fit.lines), size)
        top = {"top": y0, "middle": (y0 + y1 - height) / 2, "bottom": y1 - height}[valign]
        for i, line in enumerate(fit.lines):
            width = self.measure[bold](line, size)
            x = {"left": x0, "center": (x0 + x1 - width) / 2, "right": x1 - width}[align]
            baseline = top + i * LINE_PITCH * size + EM_ASCENT * size
            self.draw.text((x, baseline), line, font=font, fill=0, anchor="ls")

    def _vertical(self, fit: Fit, area: tuple[float, float, float, float], align: Align, bold: bool) -> None:
        """Columns right to left, each character upright in its cell; ``align`` places a column top/middle/bottom."""
        x0, y0, x1, y1 = area
        size = fit.size
        font = _font(_quantize(size), bold)
        right = (x0 + x1 + block_extent(len(fit.lines), size)) / 2
        for i, column in enumerate(fit.lines):
            centre_x = right - size / 2 - i * LINE_PITCH * size
            length = measure_vertical(column, size)
            y = {"left": y0, "center": (y0 + y1 - length) / 2, "right": y1 - length}[align]
            for ch in column:
                cell = vertical_advance(ch) * size
                if cell and not ch.isspace():
                    self.draw.text(
                        (centre_x, y + EM_ASCENT * size),
                        ch,
                        font=font,
                        fill=0,
                        anchor="ms",
                        features=_VERTICAL_FEATURES,
                    )
                y += cell

    def finish(self) -> Image.Image:
        """Threshold to 1 bit without dithering: crisp edges print and photocopy better than dithered grey."""
        return self.image.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)


def _draw_label(
    page: _Page,
    text: str,
    tr: str | None,
    style: Bilingual,
    area: tuple[float, float, float, float],
    size_pt: float,
    min_pt: float,
    align: Align,
    valign: VAlign,
    vertical: bool,
    bold: bool,
) -> bool:
    """A label, and its translation under it when ``tr`` is given; False (nothing drawn) if they do not fit.

    The Japanese is fitted first, as large as the area allows while leaving room for one line of the translation
    at its minimum size; the translation then takes what is left (shrinking, then wrapping, like any text). The two
    blocks are placed together by ``valign``, each aligned by ``align``.
    """
    if tr is None:
        fit = page.fit(text, area, size_pt, min_pt, vertical, bold)
        if fit.overflow or missing_glyphs(text):
            return False
        page.text(fit, area, align, valign, vertical, bold)
        return True
    if missing_glyphs(text) or missing_glyphs(tr):
        return False
    x0, y0, x1, y1 = area
    tr_size = style.tr_size_pt if style.tr_size_pt is not None else max(TR_MIN_PT, size_pt * TR_SIZE)
    tr_min = min(tr_size, max(TR_MIN_PT, tr_size * 0.75))
    reserve = block_extent(1, page.pt(tr_min)) + TR_GAP * page.pt(min_pt)
    ja = page.fit(text, (x0, y0, x1, max(y0 + 1, y1 - reserve)), size_pt, min_pt, False, bold)
    if ja.overflow:
        return False
    ja_h = block_extent(len(ja.lines), ja.size)
    gap = TR_GAP * ja.size
    tr_top = y0 + ja_h + gap
    second = page.fit(tr, (x0, tr_top, x1, y1), tr_size, tr_min, False, False)
    if second.overflow:
        return False
    total = ja_h + gap + block_extent(len(second.lines), second.size)
    top = {"top": y0, "middle": (y0 + y1 - total) / 2, "bottom": y1 - total}[valign]
    page.text(ja, (x0, top, x1, top + ja_h), align, "top", False, bold)
    page.text(second, (x0, top + ja_h + gap, x1, top + total), align, "top", False, False)
    return True


def _inside_pill(area: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The part of a bilingual option's rectangle its two lines may fill: the mark drawn around a chosen one is a
    pill (a rectangle with half-round ends, :meth:`_Page.pill`), so the lines keep clear of its round ends."""
    x0, y0, x1, y1 = area
    radius = (y1 - y0) / 2
    dx, dy = radius * PILL_END_INSET, (y1 - y0) * OPTION_INSET
    return (x0 + dx, y0 + dy, x1 - dx, y1 - dy)


def _draw_fixed_texts(page: _Page, template: FormTemplate, lang: str | None = None) -> list[str]:
    """Labels of boxes, free texts and choice options (with their translation in ``lang`` under them, when given).
    Returns the ones that do not fit (a template problem)."""
    problems: list[str] = []
    items: list[tuple[str, Label | FixedText, tuple[float, float, float, float]]] = [
        (f"boxes[{i}].label", b.label, page.rect(b, LABEL_PAD_MM)) for i, b in enumerate(template.boxes) if b.label
    ]
    items += [(f"texts[{i}]", t, page.rect(t)) for i, t in enumerate(template.texts)]
    for where, style, area in items:
        tr = style.tr.get(lang) if (lang and style.tr) else None
        args = (style.size_pt, style.min_size, style.align, style.valign, style.vertical, style.bold)
        if not _draw_label(page, style.text, tr, style, area, *args):
            problems.append(f"{where}: {style.text!r}{f' / {tr!r}' if tr else ''} does not fit its place")
    for f in template.fields:
        for option in f.options:
            area = page.rect(option)
            tr = option.tr.get(lang) if (lang and option.tr) else None
            if tr is not None:
                area = _inside_pill(area)
            args = (option.size_pt, option.size_pt * 0.75, "center", "middle", False, False)
            if not _draw_label(page, option.label, tr, option, area, *args):  # type: ignore[arg-type]
                problems.append(f"fields {f.id}: option {option.label!r} does not fit its place")
    return problems


def _draw_field(page: _Page, f: FormField, value: str, lang: str | None = None) -> Fit | None:
    """Print one field; None when it had to stay blank (does not fit, or a character the font lacks)."""
    if f.format == "choice":
        chosen = next((o for o in f.options if o.label == value), None)
        if chosen is not None and lang and chosen.tr and chosen.tr.get(lang):
            page.pill(chosen)
        elif chosen is not None:
            page.circle(chosen)
        return Fit([value], page.pt(f.size_pt), False)
    if f.cells is not None:
        return _draw_cells(page, f, value)
    area = page.rect(f, FIELD_PAD_MM)
    fit = page.fit(value, area, f.size_pt, f.min_size_pt, f.vertical, False)
    if fit.overflow or missing_glyphs(value):
        return None
    page.text(fit, area, f.align, f.valign, f.vertical)
    return fit


def _draw_cells(page: _Page, f: FormField, value: str) -> Fit | None:
    """One character per cell, centred (a 在留カード番号 in its 12 ruled cells); None if there are more characters
    than cells or one does not fit its cell."""
    chars = list(value)
    if len(chars) > (f.cells or 0) or missing_glyphs(value):
        return None
    x0, y0, x1, y1 = page.rect(f)
    width = (x1 - x0) / (f.cells or 1)
    pad = page.mm(FIELD_PAD_MM / 2)
    fits = []
    for i, ch in enumerate(chars):
        area = (x0 + i * width + pad, y0 + pad, x0 + (i + 1) * width - pad, y1 - pad)
        fit = page.fit(ch, area, f.size_pt, f.min_size_pt, False, False)
        if fit.overflow:
            return None
        fits.append((fit, area))
    for fit, area in fits:
        page.text(fit, area, "center", f.valign, False)
    return Fit([value], min(fit.size for fit, _ in fits) if fits else page.pt(f.size_pt), False)


def render_form(template: FormTemplate, inputs: FormInputs, dpi: int = 300) -> RenderedForm:
    """The whole form, filled, as a 1-bit page image at ``dpi``.

    A ``bilingual`` template prints its labels' translations in ``inputs.lang`` under the Japanese
    (:func:`form_printer.forms.model.second_language`). The template is printed as given: pick a resident kind's
    variant first with :func:`form_printer.forms.model.select_template`.
    """
    page = _Page(template, dpi)
    for box in template.boxes:
        page.box(box)
    for line in template.lines:
        page.line(line)
    lang = second_language(template, inputs.lang)
    problems = _draw_fixed_texts(page, template, lang)
    overflows: list[str] = []
    fits: dict[str, Fit] = {}
    values = field_values(template, inputs)
    for f in template.fields:
        value = values[f.id]
        if not value:
            continue
        fit = _draw_field(page, f, value, lang)
        if fit is None:
            overflows.append(f.id)
        else:
            fits[f.id] = fit
    return RenderedForm(
        form_id=template.id,
        title=template.title,
        image=page.finish(),
        overflows=overflows,
        dpi=dpi,
        page_mm=(template.page.width_mm, template.page.height_mm),
        fits=fits,
        problems=problems,
        invalid=invalid_fields(template, inputs),
        second_language=lang,
    )


def forms_pdf(forms: list[RenderedForm]) -> bytes:
    """All forms as one PDF (one print job per visit), a page each, at the exact paper size.

    A4 is 210 x 297 mm but 2480 x 3508 dots at 300 dpi is a hair off, so the resolution written into the PDF is the
    one that maps the image onto the exact paper size: the MediaBox is 595.28 x 841.89 pt, what the printer expects.
    """
    if not forms:
        raise ValueError("no forms to print")
    first = forms[0]
    width_mm, height_mm = first.page_mm
    dpi = (first.image.width * MM_PER_INCH / width_mm, first.image.height * MM_PER_INCH / height_mm)
    out = io.BytesIO()
    first.image.save(out, "PDF", save_all=True, append_images=[f.image for f in forms[1:]], dpi=dpi)
    return out.getvalue()


def preview_image(form: RenderedForm, width_px: int) -> Image.Image:
    """The page scaled to ``width_px`` wide, greyscale and smoothed, for the app's zoomable preview."""
    if width_px <= 0:
        raise ValueError(f"width_px must be positive, got {width_px}")
    source = form.image.convert("L")
    height = max(1, round(source.height * width_px / source.width))
    return source.resize((width_px, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
