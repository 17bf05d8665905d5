"""Japanese line-breaking rules shared by everything that wraps text (queue tickets, application forms).

Kinsoku shori (禁則処理): a line must not start with a closing mark, a small kana or the long-vowel mark, and must
not end with an opening bracket. One set of rules keeps a ticket and a form from breaking the same text differently.
"""

from __future__ import annotations

#: Characters that must not start a line.
NO_LINE_START = frozenset("、。，．,.:;!?！？）)]｝」』】〉》〕ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々・…")
#: Characters that must not end a line.
NO_LINE_END = frozenset("（([｛「『【〈《〔")
