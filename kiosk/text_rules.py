"""Line breaking shared by everything that wraps text (queue tickets, application forms). Pure: a measure callable.

Kinsoku shori (禁則処理): a line must not start with a closing mark, a small kana or the long-vowel mark, and must
not end with an opening bracket: :func:`units` glues such marks to their neighbour, :func:`wrap` fills lines
greedily. One wrapper keeps a ticket and a form from breaking the same text differently. Given a language, a line
breaks only between phrases (文節, :mod:`kiosk.text_breaks`) so "転入届の / 提出" never becomes "転入届の提 / 出";
a phrase wider than a whole line still breaks between characters.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Literal, overload

from kiosk.text_breaks import phrases

#: ``measure(text, size)``: the advance width of ``text`` set at ``size``.
Measure = Callable[[str, float], float]
#: Spaces that may end or start a wrapped line and are dropped there.
SPACES = " \u3000"
#: Measuring rounds; a line this much wider than its room (in the measure's unit) still counts as fitting.
WRAP_EPSILON = 1e-6

#: Characters that must not start a line.
NO_LINE_START = frozenset("、。，．,.:;!?！？）)]｝」』】〉》〕ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々・…")
#: Characters that must not end a line.
NO_LINE_END = frozenset("（([｛「『【〈《〔")


def is_cjk(ch: str) -> bool:
    """Kana, kanji (including the planes beyond the BMP, where 𠮷 lives) and full-width forms: they break anywhere.

    Hangul is not here: Korean breaks at spaces, like Latin.
    """
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x2FDF  # radicals
        or 0x3000 <= code <= 0x33FF  # CJK punctuation, kana, enclosed and compatibility forms
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFE30 <= code <= 0xFE4F  # vertical forms
        or 0xFF00 <= code <= 0xFFEF  # full-width and half-width forms
        or 0x20000 <= code <= 0x3FFFF  # extensions B and beyond (𠮷 is U+20BB7)
    )


def break_units(text: str) -> list[str]:
    """``text`` as pieces a line may break between: each CJK character, each other word with its trailing space."""
    units: list[str] = []
    word = ""
    for ch in text:
        if ch == " ":
            units.append(word + ch)
            word = ""
        elif is_cjk(ch):
            if word:
                units.append(word)
                word = ""
            units.append(ch)
        else:
            word += ch
    if word:
        units.append(word)
    return units


@lru_cache(maxsize=4096)
def _phrase_units(text: str, lang: str) -> tuple[str, ...]:
    """BudouX phrases (cached: a form's fitting wraps the same text at many sizes)."""
    return tuple(phrases(text, lang))


def units(text: str, lang: str | None = None) -> list[str]:
    """Split ``text`` into pieces that are never broken by wrapping (unless a piece is wider than the whole line).

    A CJK character is a piece (with ``lang``: a phrase, so a word stays whole); an alphabetic word is one with its
    trailing space. Kinsoku glues a no-start mark to the piece before it and a no-end mark to the piece after it,
    so a break can never fall next to them.
    """
    raw = list(_phrase_units(text, lang)) if lang else break_units(text)
    glued: list[str] = []
    carry = ""
    for piece in raw:
        piece = carry + piece
        carry = ""
        if glued and piece[0] in NO_LINE_START and not glued[-1].endswith(tuple(SPACES)):
            glued[-1] += piece
        else:
            glued.append(piece)
        if glued[-1][-1] in NO_LINE_END:
            carry = glued.pop()
    if carry:
        glued.append(carry)
    return glued


@overload
def wrap(
    text: str,
    length: float,
    size: float,
    measure: Measure,
    split_words: Literal[True] = True,
    lang: str | None = None,
) -> list[str]: ...


@overload
def wrap(
    text: str, length: float, size: float, measure: Measure, split_words: bool, lang: str | None = None
) -> list[str] | None: ...


def wrap(
    text: str, length: float, size: float, measure: Measure, split_words: bool = True, lang: str | None = None
) -> list[str] | None:
    """Greedy line filling of one paragraph at ``size``: each line as long as fits in ``length``.

    A piece wider than a whole line is broken between characters, or, with ``split_words=False``, the paragraph
    does not wrap at this size (None). With ``lang``, Japanese and Chinese break between phrases only.
    """

    def fits(s: str) -> bool:
        return measure(s.rstrip(SPACES), size) <= length + WRAP_EPSILON

    lines: list[str] = []
    line = ""
    todo = units(text, lang)[::-1]  # popped from the end
    while todo:
        piece = todo.pop()
        if fits(line + piece):
            line += piece
            continue
        if lang and not fits(piece.lstrip(SPACES)):
            finer = units(piece)  # a phrase wider than a whole line: its characters, kinsoku kept
            if len(finer) > 1:
                todo.extend(finer[::-1])
                continue
        if line.strip(SPACES):
            lines.append(line)
        piece = piece.lstrip(SPACES)
        if piece and not fits(piece) and not split_words:
            return None
        while piece and not fits(piece):  # wider than a whole line: break between characters
            cut = 1
            while cut < len(piece) and fits(piece[: cut + 1]):
                cut += 1
            lines.append(piece[:cut])
            piece = piece[cut:]
        line = piece
    if line.strip(SPACES) or not lines:
        lines.append(line)
    return [ln.rstrip(SPACES) for ln in lines]
