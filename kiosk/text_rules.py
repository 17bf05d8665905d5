"""Japanese line-breaking rules shared by everything that wraps text (queue tickets, application forms).

Kinsoku shori (禁則処理): a line must not start with a closing mark, a small kana or the long-vowel mark, and must
not end with an opening bracket. One set of rules keeps a ticket and a form from breaking the same text differently.
"""

from __future__ import annotations

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
