"""Where a label's lines end: between phrases (``kiosk.text_breaks``), measured, never inside a word.

Kivy wraps only at spaces; a Japanese line without spaces is cut wherever the width runs out
("次の方を呼 / 出", "受付中（押すと休止 / ）"). :func:`fit_lines` lays the phrases out greedily
with the label's own text measure and puts a line end before the first phrase that would not fit,
so Kivy never has to cut a line itself. Markup tags (``[b]…[/b]``, ``[size=28]``) are kept and not
measured. Pure: the measure is given, so this is unit-tested without a window.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from kiosk.text_breaks import phrases

#: Japanese, Chinese and full-width forms: the text a plain wrapper would cut anywhere.
_UNSPACED_SCRIPT = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef]")
#: A Kivy markup tag (``[b]``, ``[/color]``, ``[size=28]``, ``[ref=x]``).
_TAG = re.compile(r"\[/?[a-z_]+(?:=[^\]]*)?\]")


@lru_cache(maxsize=2048)
def _pieces(text: str, lang: str) -> tuple[str, ...]:
    return tuple(phrases(text, lang))


def needs_phrase_wrap(text: str) -> bool:
    """Only text with Japanese or Chinese in it: spaced languages wrap well at spaces already."""
    return bool(_UNSPACED_SCRIPT.search(text))


def fit_lines(text: str, lang: str, width: float, measure: Callable[[str], float], markup: bool = False) -> str:
    """``text`` with line ends before the phrases that would overflow ``width`` (``measure(s)``: the
    width of ``s`` in the label's font). Existing line ends stay; a phrase wider than a line is left
    to the renderer; a space at a new line end is dropped. With ``markup``, tags are carried over."""
    if width <= 0 or not needs_phrase_wrap(text):
        return text
    plain, to_source = _strip_tags(text) if markup else (text, None)
    breaks: list[tuple[int, int]] = []  # (plain offset of the line end, characters of space to drop before it)
    at = 0
    for paragraph in plain.split("\n"):
        line = ""
        offset = at
        for piece in _pieces(paragraph, lang):
            if line and measure(line + piece.rstrip()) > width:
                dropped = len(line) - len(line.rstrip(" "))
                breaks.append((offset, dropped))
                line = piece
            else:
                line += piece
            offset += len(piece)
        at += len(paragraph) + 1
    if not breaks:
        return text
    out = text
    for position, dropped in reversed(breaks):
        start = to_source[position - dropped] if to_source else position - dropped
        end = to_source[position] if to_source else position
        out = out[:start] + out[start:end].replace(" ", "") + "\n" + out[end:]
    return out


def _strip_tags(text: str) -> tuple[str, list[int]]:
    """The text without markup, and for each plain offset (and the end) its offset in ``text``."""
    plain: list[str] = []
    where: list[int] = []
    i = 0
    while i < len(text):
        tag = _TAG.match(text, i) if text[i] == "[" else None
        if tag:
            i = tag.end()
            continue
        plain.append(text[i])
        where.append(i)
        i += 1
    where.append(len(text))
    return "".join(plain), where
