"""Where a line may break in Japanese and Chinese text: between phrases (文節), never inside a word.

Japanese has no spaces, so a renderer that breaks "anywhere" cuts words in half ("わかるも / の",
"2番窓 / 口"), which slows every reader and misleads some. BudouX (Google's small phrase
segmenter, Apache-2.0, pure Python, no dictionary download) splits text into phrases; a line breaks
only between them. Numbers stay with their counters ("45番の", "2階、") because BudouX keeps them in
one phrase. Every surface uses this one module: Kivy labels (``kiosk.ui``), printed tickets, forms
and the web pages (as ``<wbr>`` points). Pure: no I/O beyond BudouX's bundled model.
"""

from __future__ import annotations

import re
from functools import cache

import budoux

#: Text in these languages runs without spaces between words.
_UNSPACED = {"ja": "ja", "ja-easy": "ja", "zh": "zh-hans"}
_SPACES = re.compile(r"(\s+)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


@cache
def _parser(kind: str) -> budoux.Parser:
    if kind == "zh-hans":
        return budoux.load_default_simplified_chinese_parser()
    return budoux.load_default_japanese_parser()


def phrases(text: str, lang: str = "ja") -> list[str]:
    """``text`` as pieces a line may break between; joined they give ``text`` back exactly.

    Spaced languages break at spaces (each piece keeps its trailing space); Japanese and Chinese
    (and Japanese words inside any text) break between BudouX phrases. Line ends are kept as pieces.
    """
    if not text:
        return []
    kind = _UNSPACED.get(lang, "ja")
    pieces: list[str] = []
    for chunk in _SPACES.split(text):
        if not chunk:
            continue
        if chunk.isspace():
            if pieces and "\n" not in chunk:
                pieces[-1] += chunk
            else:
                pieces.append(chunk)
        elif _CJK.search(chunk):
            pieces.extend(_parser(kind).parse(chunk))
        else:
            pieces.append(chunk)
    return pieces


def with_break_points(text: str, lang: str = "ja", mark: str = "\u200b") -> str:
    """``text`` with ``mark`` (a zero-width space by default) between phrases, where a renderer that
    breaks at it (a browser, a word-wrapping printer layout) may end a line."""
    out: list[str] = []
    for piece in phrases(text, lang):
        if out and not out[-1][-1:].isspace() and not piece[:1].isspace() and piece[:1] != "\n":
            out.append(mark)
        out.append(piece)
    return "".join(out)
