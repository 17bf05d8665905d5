"""Tickets and forms break Japanese lines between phrases (kiosk.text_rules with a language, BudouX through
kiosk.text_breaks): a procedure name or a thing to bring is never cut mid-word when a phrase boundary is there to
break at; a phrase longer than a whole line still breaks (between characters, kinsoku kept); nothing is lost."""

from __future__ import annotations

from form_printer.forms.layout import fit_text
from kiosk.printing.ticket import _font, wrap_text
from kiosk.text_breaks import phrases
from kiosk.text_rules import NO_LINE_START, wrap


def char_measure(text: str, size: float) -> float:
    return len(text) * size


def whole_phrases(lines: list[str], text: str) -> bool:
    """Every line boundary falls on a phrase boundary of ``text``."""
    bounds, at = set(), 0
    for piece in phrases(text, "ja"):
        at += len(piece)
        bounds.add(at)
    at = 0
    for line in lines[:-1]:
        at += len(line)
        if at not in bounds:
            return False
    return True


def test_a_wrapped_line_ends_between_phrases_where_characters_would_cut_a_word():
    text = "転入届の提出と国民健康保険の加入手続き"
    by_char = wrap(text, 10, 1, char_measure)
    assert by_char[0] == "転入届の提出と国民健"  # the old way: 「国民健 / 康保険」
    by_phrase = wrap(text, 10, 1, char_measure, lang="ja")
    assert by_phrase == ["転入届の提出と", "国民健康保険の", "加入手続き"]
    assert whole_phrases(by_phrase, text)


def test_a_phrase_wider_than_a_line_still_breaks_and_keeps_kinsoku():
    text = "あいうえお。かきくけ「こさし」すせそッたちつてとーなにぬね、のはひふ（へほ）"
    lines = wrap(text, 5, 1, char_measure, lang="ja")
    assert "".join(lines) == text
    assert all(char_measure(line, 1) <= 5 for line in lines)
    assert not any(line[0] in NO_LINE_START for line in lines[1:])


def test_latin_words_still_break_at_spaces_in_mixed_text():
    lines = wrap("Residence card 在留カード and passport", 12, 1, char_measure, lang="ja")
    assert "".join(lines).replace(" ", "") == "Residencecard在留カードandpassport"
    assert "在留カード" in "".join(lines) and not any(line.endswith("在") for line in lines)


def test_a_ticket_breaks_its_procedure_names_and_things_to_bring_between_phrases():
    font = _font(26)
    text = "国民健康保険の加入（本人確認書類と在留カードをお持ちください）"
    width = int(font.getlength("国民健康保険の加入（本"))  # characters alone would cut 「本人確認」
    lines = wrap_text(text, font, width, "ja")
    assert "".join(lines) == text
    assert all(font.getlength(line) <= width for line in lines)
    assert whole_phrases(lines, text), lines


def test_a_form_value_that_wraps_keeps_its_words():
    text = "東京都千代田区千代田一丁目一番一号さくらマンション二〇一号室"
    fit = fit_text(text, 16, 40, 1, 1, False, char_measure)  # 16 characters a line, no shrinking allowed
    assert not fit.overflow and "".join(fit.lines) == text
    assert whole_phrases(fit.lines, text), fit.lines
