"""Fitting text into a box of a printed form. Pure: text is measured through a callable, so no font is needed to test.

The rule, from the issue: a value that does not fit its box first SHRINKS (down to the field's minimum size), and only
then WRAPS, because one line of slightly smaller text reads better than an address broken in two. When it has to wrap,
the largest size at which the wrapped lines fit the box is used. What still does not fit is never clipped: the fit
says ``overflow`` and the renderer leaves the box blank for the resident to fill in by hand.

Wrapping follows Japanese rules: kana and kanji break between any two characters except where kinsoku forbids it
(no line starts with ``。」ー`` or small kana, none ends with ``「（``); alphabetic text breaks at spaces, and a word
longer than the whole line is broken between letters rather than clipped.

Vertical text (縦書き) lays each character upright in a one-em cell, columns running right to left; the same rules
apply, with the column height as the "line length". Sizes are in whatever unit ``measure`` uses (the renderer uses
pixels); only their ratios matter here.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from kiosk.text_rules import SPACES, WRAP_EPSILON, Measure, wrap

#: Distance between two baselines (or two column centres), in ems. A form's boxes are tight: 1.25 keeps lines apart
#: without wasting the little height a box has.
LINE_PITCH = 1.25
#: Sizes tried between the field's size and its minimum, as a fraction of the starting size.
_SIZE_STEP = 1 / 64
#: Widths are not exactly proportional to sizes (hinting, spaces dropped at line ends): the size-skipping estimate
#: only skips a size when the text is clearly too long for it.
_ESTIMATE_SLACK = 0.9
#: Measuring rounds: a line this much wider than the box still counts as fitting (the same slack as the wrapper's).
_EPSILON = WRAP_EPSILON


@dataclass(frozen=True)
class Fit:
    """How a text is set in its box: the lines (columns when vertical) and the size; ``overflow`` if it could not be."""

    lines: list[str]
    size: float
    overflow: bool


def block_extent(lines: int, size: float) -> float:
    """Height of ``lines`` horizontal lines (or width of as many vertical columns) set at ``size``."""
    return 0.0 if lines <= 0 else size * (1 + (lines - 1) * LINE_PITCH)


def vertical_advance(ch: str) -> float:
    """The height, in ems, of one character in a vertical column: a full cell, half for an ASCII space."""
    if ch == " ":
        return 0.5
    if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0.0
    return 1.0


def measure_vertical(text: str, size: float) -> float:
    """The length of a vertical column: every character upright in its own cell."""
    return size * sum(vertical_advance(ch) for ch in text)


def _sizes(size: float, min_size: float, start: float | None = None) -> Iterator[float]:
    """The sizes to try, largest first (from ``start``, default ``size``), ending exactly at ``min_size``."""
    step = max(size * _SIZE_STEP, _EPSILON)
    current = size if start is None else start
    while current > min_size + _EPSILON:
        yield current
        current -= step
    yield min_size


def fit_text(
    text: str,
    box_w: float,
    box_h: float,
    size: float,
    min_size: float,
    vertical: bool,
    measure: Measure,
    lang: str = "ja",
) -> Fit:
    """Set ``text`` in a ``box_w`` x ``box_h`` box: shrink to ``min_size`` on one line, then wrap, else overflow.

    Lines break between phrases (``lang``: BudouX for the Japanese of a form, spaces for Latin names), so a label
    or value that wraps keeps its words whole ("転入届の / 提出", not "転入届の提 / 出"). Explicit newlines are kept
    as line breaks. ``measure`` is used for horizontal text; vertical text is measured in
    character cells (:func:`measure_vertical`). Every line of a fit that does not overflow is at most the box's
    width (column: height) long and the lines together are at most its height (columns: width).
    """
    if min_size > size:
        raise ValueError(f"min_size {min_size} is larger than size {size}")
    paragraphs = unicodedata.normalize("NFC", text).split("\n")
    if not text.strip():
        return Fit([], size, False)
    length, breadth = (box_h, box_w) if vertical else (box_w, box_h)
    measure_line = measure_vertical if vertical else measure

    def block_fits(lines: list[str], s: float) -> bool:
        return block_extent(len(lines), s) <= breadth + _EPSILON and all(
            measure_line(ln, s) <= length + _EPSILON for ln in lines
        )

    # Measuring is the costly part (text shaping), and a text's width grows in proportion to its size: the widths
    # at full size tell where to start looking, and which sizes cannot possibly hold the text.
    unwrapped = [p.strip(SPACES) for p in paragraphs]
    widths = [measure_line(p, size) for p in unwrapped]
    start = min(size, size * length / max(max(widths), _EPSILON))
    if start >= min_size * _ESTIMATE_SLACK:
        for s in _sizes(size, min_size, max(start, min_size)):
            if block_fits(unwrapped, s):
                return Fit(unwrapped, s, False)
    # Whole words are preferred: a smaller size that keeps "FERNANDA" in one piece beats a larger one breaking it.
    total = sum(widths)
    for split_words in (False, True):
        for s in _sizes(size, min_size):
            capacity = len(paragraphs) + int((breadth / s - 1) / LINE_PITCH + _EPSILON)
            if s != min_size and total * s / size * _ESTIMATE_SLACK > capacity * length:
                continue
            wrapped = [wrap(p, length, s, measure_line, split_words, lang) for p in paragraphs]
            if any(w is None for w in wrapped):
                continue
            lines = [ln for w in wrapped for ln in w or ()]
            if block_fits(lines, s):
                return Fit(lines, s, False)
    return Fit(lines, min_size, True)
