"""The one wording of a wait (kiosk/wait_text.py) in the seven kiosk languages: not known, zero, one figure, a
range; the short form (board, congestion, a step) and the line of its own (ticket, issued screen, phone page)."""

from __future__ import annotations

import pytest

from kiosk.bus.schemas import WaitRange
from kiosk.i18n import LANGUAGES, gettext_for
from kiosk.wait_text import ESTIMATED, SHORT, wait_text
from tests.i18n_preview import previewed


@pytest.fixture(autouse=True)
def preview():
    """The new messages from build/i18n/display.json until the lead merges them into kiosk/locale."""
    with previewed():
        yield


#: (short, estimated) for 10–15 minutes, in every language.
RANGES = {
    "ja": ("10〜15分", "待ち時間の目安：10〜15分"),
    "en": ("10–15 min", "Estimated wait: 10–15 min"),
    "zh": ("10～15分钟", "预计等候：10～15分钟"),
    "ko": ("10~15분", "예상 대기 시간: 10~15분"),
    "vi": ("10–15 phút", "Thời gian chờ dự kiến: 10–15 phút"),
    "pt": ("10–15 min", "Espera estimada: 10–15 min"),
    "ja-easy": ("10ふん から 15ふん", "まつ じかん：10ふん から 15ふん"),
}


def test_every_language_is_covered():
    assert set(RANGES) == set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_range_in_each_language(lang):
    short, estimated = RANGES[lang]
    span = WaitRange(low=10, high=15)
    assert wait_text(lang, 12, span) == short
    assert wait_text(lang, 12, span, ESTIMATED) == estimated


@pytest.mark.parametrize("lang", LANGUAGES)
def test_not_known_zero_and_one_figure_keep_todays_words(lang):
    span = WaitRange(low=7, high=7)
    assert wait_text(lang, None, None) == gettext_for(lang, "Not open")
    assert wait_text(lang, None, None, ESTIMATED) == gettext_for(lang, "Estimated wait: not known yet")
    assert wait_text(lang, 0, WaitRange(low=0, high=0)) == gettext_for(lang, "No wait")
    assert wait_text(lang, 0, None, ESTIMATED) == gettext_for(lang, "Estimated wait: you are next")
    # a range of one value, or none at all (a rev-1 service): "about N min", as before ranges
    assert wait_text(lang, 7, span) == gettext_for(lang, "about {minutes} min").format(minutes=7)
    assert wait_text(lang, 7, None, ESTIMATED) == gettext_for(lang, "Estimated wait: about {minutes} min").format(
        minutes=7
    )


def test_the_figures_are_the_estimators_own():
    """Rounded ranges come from the estimator: printed as given, whatever the most likely minutes say."""
    assert wait_text("en", 23, WaitRange(low=20, high=30)) == "20–30 min"
    assert wait_text("ja", 1, WaitRange(low=0, high=2)) == "0〜2分"
    assert wait_text("en", None, WaitRange(low=5, high=9)) == SHORT.unknown, "no likely minutes: not known"


def test_japanese_ranges_use_the_wave_dash_and_no_double_hedge():
    text = wait_text("ja", 12, WaitRange(low=10, high=15), ESTIMATED)
    assert "〜" in text and "約" not in text and "–" not in text
