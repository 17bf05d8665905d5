"""The queue ticket as a picture, ready for a thermal printer. Pure: Pillow only, no I/O, no escpos.

The printer's own fonts cannot print kanji, hangul and Vietnamese on one slip, so everything the resident reads
is drawn here with the CJK font (:func:`kiosk.fonts.cjk_font`) and sent as one raster image. The QR code is not
part of that image: the printer draws it natively (sharper, and the URL stays readable in the byte stream).
:func:`render_ticket_preview` adds a QR for screens and documentation.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

from kiosk.fonts import pil_font
from kiosk.qr import qr_image
from kiosk.text_rules import wrap

#: The number must be readable from across the waiting hall: its digits are at least this many dots tall.
NUMBER_MIN_HEIGHT = 160
#: Font size of the big number; Noto Sans CJK digits are ~0.77 em tall, so 240 gives ~184 dot digits.
_NUMBER_SIZE = 240
REPRINT_MARK = "再発行 / REPRINT"


@dataclass(frozen=True)
class TicketStep:
    """One counter of the visit, already in the resident's language."""

    place: str
    floor: str
    procedure: str


@dataclass(frozen=True)
class TicketSlip:
    """Everything printed on the ticket, as localised strings: the renderer never translates."""

    site_name: str
    number: int
    number_label: str
    issued_at: str
    steps: list[TicketStep]
    steps_label: str
    wait_text: str
    qr_url: str
    qr_caption: str
    footer: str
    reprint: bool = False
    #: The slip's language: where a line may break (Japanese and Chinese between phrases, never mid-word).
    lang: str = "ja"


_font = pil_font


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: int, lang: str = "ja") -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` as measured with ``font``: nothing is ever clipped.

    Lines break between phrases (BudouX for Japanese and Chinese, spaces elsewhere): a procedure name or a thing to
    bring is not cut mid-word. Phrases longer than a line (URLs, long compounds) are broken between characters.
    Explicit newlines are kept.
    """
    lines: list[str] = []
    for paragraph in unicodedata.normalize("NFC", text).split("\n"):
        lines.extend(wrap(paragraph, max_width, font.size, lambda s, _size: font.getlength(s), lang=lang))
    return lines


class Canvas:
    """A growing white strip: blocks are drawn top to bottom, then cropped to the used height."""

    def __init__(self, width: int, lang: str = "ja") -> None:
        self.width = width
        #: where the text's lines may break (see :func:`wrap_text`)
        self.lang = lang
        self.margin = max(8, width // 36)
        self.inner = width - 2 * self.margin
        self.image = Image.new("L", (width, 4000), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = self.margin
        self.number_box: tuple[int, int, int, int] | None = None

    def _ensure(self, height: int) -> None:
        if self.y + height + self.margin > self.image.height:
            bigger = Image.new("L", (self.width, max(self.image.height * 2, self.y + height + 500)), 255)
            bigger.paste(self.image, (0, 0))
            self.image = bigger
            self.draw = ImageDraw.Draw(self.image)

    def gap(self, dots: int) -> None:
        self.y += dots

    def text(
        self,
        text: str,
        size: int,
        *,
        bold: bool = False,
        align: str = "left",
        indent: int = 0,
        right_reserve: int = 0,
    ) -> None:
        """Wrapped text; ``indent`` shifts every line right, ``right_reserve`` keeps room at the right edge."""
        font = _font(size, bold)
        width = self.inner - indent - right_reserve
        ascent, descent = font.getmetrics()
        line_height = ascent + descent + size // 8
        for line in wrap_text(text, font, width, self.lang):
            self._ensure(line_height)
            length = font.getlength(line)
            x = self.margin + indent
            if align == "center":
                x += int((width - length) / 2)
            elif align == "right":
                x += int(width - length)
            self.draw.text((x, self.y), line, font=font, fill=0)
            self.y += line_height

    def row(self, left: str, right: str, size: int, *, bold: bool = False, indent: int = 0) -> None:
        """``left`` wrapped on the left, ``right`` (an amount) right-aligned on the last line, never overlapping."""
        font = _font(size, bold)
        right_width = math.ceil(font.getlength(right)) + size // 2
        ascent, descent = font.getmetrics()
        line_height = ascent + descent + size // 8
        lines = wrap_text(left, font, self.inner - indent - right_width, self.lang) or [""]
        for line in lines:
            self._ensure(line_height)
            self.draw.text((self.margin + indent, self.y), line, font=font, fill=0)
            self.y += line_height
        x = self.margin + self.inner - font.getlength(right)
        self.draw.text((x, self.y - line_height), right, font=font, fill=0)

    def rule(self, thickness: int = 2, dashed: bool = False) -> None:
        self._ensure(thickness + 16)
        self.y += 8
        if dashed:
            for x in range(self.margin, self.margin + self.inner, 16):
                self.draw.rectangle((x, self.y, min(x + 8, self.margin + self.inner) - 1, self.y + thickness - 1), 0)
        else:
            self.draw.rectangle((self.margin, self.y, self.margin + self.inner - 1, self.y + thickness - 1), fill=0)
        self.y += thickness + 8

    def banner(self, text: str, size: int) -> None:
        """White text on a black band: the reprint mark must stand out to the staff at a glance."""
        font = _font(size, True)
        lines = wrap_text(text, font, self.inner - 16, self.lang)
        ascent, descent = font.getmetrics()
        height = len(lines) * (ascent + descent) + 12
        self._ensure(height)
        self.draw.rectangle((self.margin, self.y, self.margin + self.inner - 1, self.y + height - 1), fill=0)
        y = self.y + 6
        for line in lines:
            x = self.margin + int((self.inner - font.getlength(line)) / 2)
            self.draw.text((x, y), line, font=font, fill=255)
            y += ascent + descent
        self.y += height

    def big_number(self, number: int) -> None:
        """The number, centred; squeezed sideways (never shortened) when many digits meet narrow paper."""
        font = _font(_NUMBER_SIZE, True)
        text = str(number)
        left, top, right, bottom = font.getbbox(text)
        glyphs = Image.new("L", (int(right - left), int(bottom - top)), 255)  # int already (stroke width 0)
        ImageDraw.Draw(glyphs).text((-left, -top), text, font=font, fill=0)
        if glyphs.width > self.inner:
            glyphs = glyphs.resize((self.inner, glyphs.height), Image.Resampling.LANCZOS)
        self._ensure(glyphs.height + 24)
        self.y += 12
        x = (self.width - glyphs.width) // 2
        self.image.paste(glyphs, (x, self.y))
        self.number_box = (x, self.y, x + glyphs.width, self.y + glyphs.height)
        self.y += glyphs.height + 12

    def step(self, index: int, step: TicketStep, scale: float) -> None:
        """``1  [1F]  place`` on the first line(s), the procedure indented below; all wrapped to the paper."""
        size_place = round(30 * scale)
        size_proc = round(26 * scale)
        badge_font = _font(round(26 * scale), True)
        num_font = _font(size_place, True)
        num_text = f"{index}."
        num_width = math.ceil(num_font.getlength("99.")) + 6
        badge_text = step.floor.strip()
        badge_width = math.ceil(badge_font.getlength(badge_text)) + 18 if badge_text else 0
        badge_width = min(badge_width, self.inner // 3)
        indent = num_width + (badge_width + 10 if badge_width else 0)
        ascent, descent = num_font.getmetrics()
        self._ensure(ascent + descent)
        self.draw.text((self.margin, self.y), num_text, font=num_font, fill=0)
        if badge_text:
            b_asc, b_desc = badge_font.getmetrics()
            top = self.y + max(0, (ascent + descent - (b_asc + b_desc)) // 2)
            box = (self.margin + num_width, top, self.margin + num_width + badge_width - 1, top + b_asc + b_desc + 2)
            self.draw.rounded_rectangle(box, radius=6, fill=0)
            label = wrap_text(badge_text, badge_font, badge_width - 16, self.lang)[0]
            self.draw.text((box[0] + 8, top + 1), label, font=badge_font, fill=255)
        self.text(step.place, size_place, bold=True, indent=indent)
        if step.procedure:
            self.text(step.procedure, size_proc, indent=indent)
        self.gap(round(6 * scale))

    def finish(self) -> Image.Image:
        height = self.y + self.margin
        return self.image.crop((0, 0, self.width, height))


def to_thermal(image: Image.Image) -> Image.Image:
    """Threshold (no dithering) to 1 bit: a thermal head prints dots, and crisp text edges scan and read better."""
    return image.point(lambda v: 255 if v >= 160 else 0).convert("1", dither=Image.Dither.NONE)


def render_ticket_image(slip: TicketSlip, width: int = 576) -> Image.Image:
    """The printed part of the ticket (everything but the QR), mode "1", exactly ``width`` dots wide.

    ``image.info["number_box"]`` is the (left, top, right, bottom) box of the big number, for checks.
    """
    if width < 192:
        raise ValueError(f"paper width {width} dots is too narrow for a ticket (minimum 192)")
    scale = min(1.0, width / 576)
    c = Canvas(width, slip.lang)
    if slip.reprint:
        c.banner(REPRINT_MARK, round(30 * scale))
        c.gap(10)
    c.text(slip.site_name, round(34 * scale), bold=True, align="center")
    c.rule()
    c.text(slip.number_label, round(30 * scale), align="center")
    c.big_number(slip.number)
    c.text(slip.issued_at, round(24 * scale), align="center")
    if slip.steps:
        c.rule()
        c.text(slip.steps_label, round(28 * scale), bold=True)
        c.gap(6)
        for index, step in enumerate(slip.steps, start=1):
            c.step(index, step, scale)
    c.rule()
    c.text(slip.wait_text, round(30 * scale), bold=True, align="center")
    c.gap(6)
    c.text(slip.footer, round(26 * scale), align="center")
    image = to_thermal(c.finish())
    image.info["number_box"] = c.number_box
    return image


def render_caption_image(text: str, width: int = 576, lang: str = "ja") -> Image.Image:
    """The line under the QR code, as an image: the printer's fonts cannot print it in every language."""
    c = Canvas(width, lang)
    c.y = 4
    c.text(text, round(24 * min(1.0, width / 576)), align="center")
    return to_thermal(c.finish())


def render_qr_image(url: str, module: int = 6) -> Image.Image:
    """The QR as the printer draws it: ``module`` dots per module, error correction M, 4-module quiet zone."""
    return qr_image(url, module)


def render_ticket_preview(slip: TicketSlip, width: int = 576) -> Image.Image:
    """The whole ticket as the resident will hold it (image, QR, caption), mode "L", for screens and docs."""
    body = render_ticket_image(slip, width).convert("L")
    qr = render_qr_image(slip.qr_url)
    if qr.width > width:
        qr = qr.resize((width, width), Image.Resampling.NEAREST)
    caption = render_caption_image(slip.qr_caption, width, slip.lang).convert("L")
    preview = Image.new("L", (width, body.height + qr.height + caption.height + 24), 255)
    preview.paste(body, (0, 0))
    preview.paste(qr, ((width - qr.width) // 2, body.height))
    preview.paste(caption, (0, body.height + qr.height))
    return preview
