"""The wait as a range on a phone (issue 21): headless Chromium at a phone's size on the ticket's page and the
congestion page, the real queue service on Mosquitto. The range is the engine's (read from the API, whatever its
estimator); the page shows it in Japanese and English, updates it live when the queue moves, and nothing scrolls
sideways. Screenshots: build/test-artifacts/phone/phone-wait-range-*.png and web/congestion-wait-range-ja.png.
"""

from __future__ import annotations

import httpx
import pytest

from tests.artifacts_dir import TEST_ARTIFACTS
from tests.i18n_preview import previewed
from tests.system.test_browser_public import chromium, history, no_sideways_scroll, office, shot  # noqa: F401

PHONE_SHOTS = TEST_ARTIFACTS / "phone"


@pytest.fixture(autouse=True)
def preview():
    """The new range messages (build/i18n/display.json) in the service's process until the lead merges them."""
    with previewed():
        yield


def test_the_phone_page_shows_the_wait_as_a_range_and_follows_the_queue(chromium, office, devices):  # noqa: F811
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _service, base, _key = office
    kiosk, panel = devices("kiosk-1f"), devices("panel-demo")
    panel.request("open_counter", {"counter": "c01"})
    for _ in range(4):
        kiosk.request("issue", {"procedures": ["tennyu"], "lang": "ja"})
    mine = kiosk.request("issue", {"procedures": ["tennyu", "kokuho_kanyu"], "lang": "ja"})["ticket"]

    def api() -> dict:
        return httpx.get(f"{base}/api/v1/tickets/{mine['token']}").json()

    first = api()
    span, step = first["est_wait_range"], first["steps"][0]["est_wait_range"]
    assert span["low"] < first["est_wait_min"] < span["high"]

    wait = WebDriverWait(chromium, 30, ignored_exceptions=(StaleElementReferenceException,))
    chromium.get(f"{base}/t/{mine['token']}")
    big = lambda d: d.find_element(By.ID, "wait").text  # noqa: E731
    wait.until(lambda d: big(d) == f"待ち時間の目安：{span['low']}〜{span['high']}分")
    step_text = chromium.find_element(By.CSS_SELECTOR, "ol.steps li.waiting .state").text
    assert step_text.endswith(f"{step['low']}〜{step['high']}分"), step_text
    no_sideways_scroll(chromium)
    shot(chromium, "phone-wait-range-ja", PHONE_SHOTS)

    # the queue moves: the live part brings the new range, no reload
    chromium.execute_script("window.notReloaded = true")
    panel.request("call_next", {"counter": "c01"})
    panel.request("complete", {"counter": "c01"})
    panel.request("call_next", {"counter": "c01"})
    after = api()
    moved = after["est_wait_range"]
    assert moved is not None and moved["high"] < span["high"], (span, moved)
    wait.until(lambda d: big(d) == f"待ち時間の目安：{moved['low']}〜{moved['high']}分")
    assert chromium.execute_script("return window.notReloaded") is True

    for lang, expected in (
        ("en", f"Estimated wait: {moved['low']}–{moved['high']} min"),
        ("ja-easy", f"まつ じかん：{moved['low']}ふん から {moved['high']}ふん"),
    ):
        chromium.get(f"{base}/t/{mine['token']}?lang={lang}")
        wait.until(lambda d, expected=expected: big(d) == expected)
        no_sideways_scroll(chromium)
        shot(chromium, f"phone-wait-range-{lang}", PHONE_SHOTS)


def test_the_congestion_page_shows_each_groups_range(chromium, office, devices):  # noqa: F811
    from selenium.webdriver.common.by import By

    _service, base, _key = office
    kiosk, panel = devices("kiosk-1f"), devices("panel-demo")
    for c in ("c01", "c21"):
        panel.request("open_counter", {"counter": c})
    for procedures in (["tennyu"], ["tennyu"], ["tennyu", "kokuho_kanyu"], ["tenkyo"], ["kokuho_kanyu"]):
        kiosk.request("issue", {"procedures": procedures})
    groups = {g["group"]: g for g in httpx.get(f"{base}/api/v1/congestion?lang=ja").json()["groups"]}
    span = groups["jumin"]["est_wait_range"]
    assert span["low"] < groups["jumin"]["est_wait_min"] < span["high"]

    chromium.get(f"{base}/congestion?lang=ja&group=jumin")
    card = chromium.find_element(By.ID, "now-jumin").text
    assert f"{span['low']}〜{span['high']}分" in card, card
    closed = chromium.find_element(By.ID, "now-zei").text
    assert "ただいま受付していません" in closed and "分" not in closed, "a closed group: no wait at all"
    no_sideways_scroll(chromium)
    shot(chromium, "congestion-wait-range-ja")
