"""Physical touch-target sizing and phrase line breaking of the shared shell: pure functions, no window."""

from __future__ import annotations

import pytest

from kiosk.ui.linebreak import fit_lines
from kiosk.ui.sizing import MIN_TARGET_MM, mm_per_px, px_to_mm, touch_px


@pytest.mark.parametrize(
    ("diagonal", "width", "height", "mm_px", "touch"),
    [
        (7.0, 800, 480, 0.1906, 79),  # a call panel
        (10.1, 1280, 800, 0.1700, 89),
        (15.6, 1920, 1080, 0.1799, 84),
        (21.5, 1920, 1080, 0.2479, 61),
        (15.4, 1280, 800, 0.2591, 58),  # the old 64 px measured 16.6 mm here, 10.9 mm on the 10.1″
    ],
)
def test_millimetres_per_pixel_and_the_15_mm_target_per_panel(diagonal, width, height, mm_px, touch):
    assert mm_per_px(width, height, diagonal) == pytest.approx(mm_px, abs=5e-5)
    assert touch_px(width, height, diagonal) == touch
    assert px_to_mm(touch, width, height, diagonal) >= MIN_TARGET_MM
    assert px_to_mm(touch - 1, width, height, diagonal) < MIN_TARGET_MM  # rounded up, not padded


def test_an_unset_diagonal_is_the_device_files_15_6_inch_default():
    assert mm_per_px(1280, 800, None) == mm_per_px(1280, 800, 15.6)


def test_64_px_is_under_15_mm_on_small_dense_panels():
    assert px_to_mm(64, 800, 480, 7.0) < 15 and px_to_mm(64, 1280, 800, 10.1) < 11


def _ten_px(text: str) -> float:
    return 10.0 * len(text)


def test_lines_end_between_phrases_not_inside_a_word():
    assert fit_lines("次の方を呼び出す", "ja", 70, _ten_px) == "次の方を\n呼び出す"
    assert fit_lines("受付中（押すと休止）", "ja", 80, _ten_px) == "受付中（押すと\n休止）"


def test_numbers_stay_with_their_units_and_markup_is_kept():
    out = fit_lines("番号札は1枚ですべての窓口を回れます。", "ja", 100, _ten_px)
    assert "1枚" in out.replace("\n", "|").split("|")[1]
    assert fit_lines("[b]受付中[/b]（押すと休止）", "ja", 80, _ten_px, markup=True) == "[b]受付中[/b]（押すと\n休止）"


def test_spaced_text_and_text_that_fits_are_left_to_the_renderer():
    assert fit_lines("Call the next person", "en", 50, _ten_px) == "Call the next person"
    assert fit_lines("次の方を呼び出す", "ja", 500, _ten_px) == "次の方を呼び出す"
    assert fit_lines("あてはまる できごとを えらんで ください", "ja-easy", 120, _ten_px) == (
        "あてはまる できごとを\nえらんで ください"
    )
