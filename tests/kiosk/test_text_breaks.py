"""Phrase-aware line breaking (BudouX): words and numbers with their counters are never cut."""

from __future__ import annotations

import pytest

from kiosk.text_breaks import phrases, with_break_points


@pytest.mark.parametrize(
    "text",
    [
        "わかるものをお持ちください",
        "受付番号45番の方、2階、21番窓口へお越しください。",
        "Bring your\nresidence card",
        "",
    ],
)
def test_phrases_join_back_to_the_text(text):
    assert "".join(phrases(text)) == text


def test_japanese_breaks_between_phrases_not_inside_words():
    assert phrases("わかるものをお持ちください") == ["わかる", "ものを", "お持ちください"]
    pieces = phrases("2番窓口へお越しください")
    assert "2番窓口へ" in pieces, "the counter number stays with 番窓口"
    assert with_break_points("オンラインで申請する") == "オンラインで\u200b申請する"


def test_spaced_languages_break_at_spaces_only():
    assert phrases("Counter 21, 2F", "en") == ["Counter ", "21, ", "2F"]
    assert with_break_points("Counter 21", "en") == "Counter 21"
