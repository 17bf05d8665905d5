"""The phone page and the congestion page say waits as ranges (issue 21): the ticket's wait until its first call,
each waiting step's standing and each group's wait now, in the API (``est_wait_range``) and on the pages, through
the same wording as the ticket and the board (kiosk/wait_text.py). The ranges are the engine's, whatever its
estimator: the tests read them from the API and look for them on the page."""

from __future__ import annotations

import pytest

from kiosk.i18n import LANGUAGES
from kiosk.wait_text import ESTIMATED, wait_text
from tests.i18n_preview import previewed
from tests.queue_service.test_web_public import KIOSK, PANEL, Office, office  # noqa: F401 - the fixture

__all__ = ["office"]


@pytest.fixture(autouse=True)
def preview():
    with previewed():
        yield


def test_the_ticket_and_its_waiting_step_show_ranges_in_every_language(office):  # noqa: F811
    office.cmd(PANEL, "open_counter", counter="c01")
    for _ in range(3):
        office.issue("tennyu")
    mine = office.issue("tennyu", "kokuho_kanyu", lang="ja")
    api = office.http.get(f"/api/v1/tickets/{mine['token']}").json()
    span = api["est_wait_range"]
    assert span["low"] < api["est_wait_min"] < span["high"], api
    waiting = next(s for s in api["steps"] if s["status"] == "waiting")
    later = next(s for s in api["steps"] if s["status"] == "later")
    step_span = waiting["est_wait_range"]
    assert step_span["low"] <= waiting["est_wait_min"] <= step_span["high"]
    assert later["est_wait_range"] is None and later["est_wait_min"] is None, "not callable yet: no figure"

    page = office.http.get(f"/t/{mine['token']}?lang=ja").text
    assert f'<p class="wait-big" id="wait">待ち時間の目安：{span["low"]}〜{span["high"]}分</p>' in page
    # one phrase: a narrow phone breaks the line before the range, never inside it ("18ふ / ん")
    assert f'<span class="step-wait"><span class="phr">{step_span["low"]}〜{step_span["high"]}分</span></span>' in page
    easy = office.http.get(f"/t/{mine['token']}?lang=ja-easy").text
    assert f'<span class="phr">{step_span["low"]}ふん から {step_span["high"]}ふん</span>' in easy
    assert "約" not in page[page.index('id="wait"') : page.index("</ol>")], "no single figure left for a range"
    for lang in LANGUAGES:
        text = office.http.get(f"/t/{mine['token']}?lang={lang}").text
        assert wait_text(lang, api["est_wait_min"], _Span(span), ESTIMATED) in text, lang


def test_a_ticket_with_no_counter_open_says_not_known(office):  # noqa: F811
    mine = office.issue("kokuho_kanyu", lang="en")
    api = office.http.get(f"/api/v1/tickets/{mine['token']}").json()
    assert api["est_wait_min"] is None and api["est_wait_range"] is None
    page = office.http.get(f"/t/{mine['token']}").text
    assert '<p class="wait-big" id="wait">Estimated wait: not known yet</p>' in page


def test_the_page_speaks_the_tickets_language_with_its_own_range_marks(office):  # noqa: F811
    """No ``?lang=``: the ticket's language (Chinese writes a range with ～ and 分钟)."""
    office.cmd(PANEL, "open_counter", counter="c07")
    for _ in range(4):
        office.issue("juminhyo")
    mine = office.issue("juminhyo", lang="zh")
    span = office.http.get(f"/api/v1/tickets/{mine['token']}").json()["est_wait_range"]
    assert f"预计等候：{span['low']}～{span['high']}分钟" in office.http.get(f"/t/{mine['token']}").text


def test_congestion_shows_each_open_groups_wait_as_a_range(office):  # noqa: F811
    office.cmd(PANEL, "open_counter", counter="c01")
    for _ in range(4):
        office.issue("tennyu")
    api = office.http.get("/api/v1/congestion?lang=ja").json()
    jumin = next(g for g in api["groups"] if g["group"] == "jumin")
    span = jumin["est_wait_range"]
    assert span["low"] < jumin["est_wait_min"] < span["high"]
    kokuho = next(g for g in api["groups"] if g["group"] == "kokuho")
    assert kokuho["est_wait_min"] is None and kokuho["est_wait_range"] is None
    page = office.http.get("/congestion?lang=ja").text
    card = page[page.index('id="now-jumin"') : page.index("</li>", page.index('id="now-jumin"'))]
    assert f"{span['low']}〜{span['high']}分" in card, card
    shomei = page[page.index('id="now-shomei"') : page.index("</li>", page.index('id="now-shomei"'))]
    assert "〜" not in shomei and "受付" in shomei, "a closed group says so, no range"


class _Span:
    def __init__(self, data: dict) -> None:
        self.low, self.high = data["low"], data["high"]
