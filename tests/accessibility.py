"""Contrast and overlap checks computed from a screenshot and the boxes the UI driver saw.

Given a screenshot (PNG) and ``UI.boxes()`` (tests/ui/driver.py: every visible label's text box, every
visible button's box), :func:`check_screen` measures what a resident sees, not what the theme says:

- text: the background is the most common colour of the label's box, the text the colour (seen on
  enough pixels to be a stroke, not anti-aliasing noise) farthest from it; WCAG 2.x contrast ≥ 4.5:1;
- control edges (WCAG 1.4.11): the surrounding background is the most common colour of a ring just
  outside the button, the control the colour of its fill or outline inside its box farthest from that;
  ≥ 3:1;
- overlap: two labels' text boxes that intersect (text drawn over text, a title under a bar);
- off screen: text outside the screenshot (a layout that overflows its screen).

Any screen's test can use it: ``problems = check_screen(png, boxes)``; ``assert not problems``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

TEXT_MIN = 4.5
EDGE_MIN = 3.0
RGB = tuple[int, int, int]


def luminance(colour: RGB) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """WCAG contrast ratio, 1 … 21."""
    la, lb = luminance(a), luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _colours(image: Image.Image, box: tuple[int, int, int, int]) -> Counter:
    return Counter(
        image.crop(box).get_flattened_data() if hasattr(image, "get_flattened_data") else image.crop(box).getdata()
    )


def _farthest(counts: Counter, against: RGB, least: int) -> RGB | None:
    """The colour farthest from ``against`` that, with the colours farther still, covers ``least`` pixels:
    the core of a stroke, whose anti-aliased edges spread over many colours of a few pixels each, while a
    stray pixel or two of noise cannot decide it."""
    seen = 0
    for colour in sorted((c for c in counts if c != against), key=lambda c: -contrast(c, against)):
        seen += counts[colour]
        if seen >= least:
            return colour
    return None


def text_contrast(image: Image.Image, box: list[int]) -> tuple[float, RGB, RGB | None]:
    """(ratio, background, text colour) of the text in ``box``; ratio 21 when no text colour is seen."""
    counts = _colours(image, _inside(image, box))
    background = counts.most_common(1)[0][0]
    others = sum(counts.values()) - counts[background]
    text = _farthest(counts, background, max(3, others // 20))
    return (contrast(background, text) if text else 21.0), background, text


def edge_contrast(image: Image.Image, box: list[int], ring: int = 6, band: int = 10) -> tuple[float, RGB, RGB | None]:
    """(ratio, surrounding background, control colour) of a control at ``box``."""
    x0, y0, x1, y1 = box
    outer = Counter()
    for strip in (
        (x0 - ring, y0 - ring, x1 + ring, y0),
        (x0 - ring, y1, x1 + ring, y1 + ring),
        (x0 - ring, y0, x0, y1),
        (x1, y0, x1 + ring, y1),
    ):
        clipped = _inside(image, list(strip))
        if clipped[2] > clipped[0] and clipped[3] > clipped[1]:
            outer += _colours(image, clipped)
    if not outer:
        return 21.0, (0, 0, 0), None
    background = outer.most_common(1)[0][0]
    inner = Counter()
    for strip in ((x0, y0, x1, y0 + band), (x0, y1 - band, x1, y1), (x0, y0, x0 + band, y1), (x1 - band, y0, x1, y1)):
        inner += _colours(image, _inside(image, list(strip)))
    control = _farthest(inner, background, max(8, sum(inner.values()) // 100))
    return (contrast(background, control) if control else 1.0), background, control


def _on(image: Image.Image, box: list[int]) -> bool:
    x0, y0, x1, y1 = _inside(image, box)
    return x1 > x0 and y1 > y0


def _inside(image: Image.Image, box: list[int]) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return max(0, x0), max(0, y0), min(image.width, x1), min(image.height, y1)


@dataclass(frozen=True)
class Problem:
    kind: str  # "text", "edge", "overlap", "off screen"
    what: str
    ratio: float = 0.0

    def __str__(self) -> str:
        return f"{self.kind}: {self.what}" + (f" {self.ratio:.2f}:1" if self.ratio else "")


def measure(png: Path | Image.Image, boxes: dict) -> dict:
    """Every label's text contrast and every button's edge contrast, for a report."""
    image = png if isinstance(png, Image.Image) else Image.open(png)
    image = image.convert("RGB")
    return {
        "text": [
            (label["text"], text_contrast(image, label["box"])[0])
            for label in boxes["labels"]
            if _on(image, label["box"])
        ],
        "edges": [(b["key"] or b["text"], edge_contrast(image, b["box"])[0]) for b in boxes["buttons"]],
    }


def check_screen(
    png: Path | Image.Image, boxes: dict, text_min: float = TEXT_MIN, edge_min: float = EDGE_MIN
) -> list[Problem]:
    """Every problem a resident would meet on this screenshot (empty: it passes)."""
    image = png if isinstance(png, Image.Image) else Image.open(png)
    image = image.convert("RGB")
    problems: list[Problem] = []
    for label in boxes["labels"]:
        x0, y0, x1, y1 = label["box"]
        if x0 < -2 or y0 < -2 or x1 > image.width + 2 or y1 > image.height + 2:
            problems.append(Problem("off screen", f"{label['text'][:40]!r} at {label['box']}"))
            continue
        ratio, bg, fg = text_contrast(image, label["box"])
        if ratio < text_min:
            problems.append(Problem("text", f"{label['text'][:40]!r} {fg} on {bg}", ratio))
    for button in boxes["buttons"]:
        ratio, bg, fg = edge_contrast(image, button["box"])
        if ratio < edge_min:
            problems.append(Problem("edge", f"{button['key'] or button['text'][:30]!r} {fg} against {bg}", ratio))
    labels = boxes["labels"]
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            if _overlap(a["box"], b["box"]) > 4:
                problems.append(Problem("overlap", f"{a['text'][:30]!r} and {b['text'][:30]!r}"))
    return problems


def _overlap(a: list[int], b: list[int]) -> int:
    """Overlapping area in pixels² (a few pixels of glyph padding touching do not count)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 2 and h > 2 else 0
