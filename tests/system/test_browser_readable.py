"""Issue 19, the public pages in a real browser (headless Debian Chromium): Japanese wraps between phrases only
(never "オンラ / インで申請する" at 360 px), the congestion legend comes first and says each level in words and a
shape with text at ≥ 4.5:1, closed counters show the office hours, and the pre-entry form asks a date with its
era. Screenshots at a phone's 360 px and a 1280 px desktop go to build/test-artifacts/web/readable-*.png.

The same real office as tests/system/test_browser_public.py (Mosquitto, the queue service with past days, uvicorn).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.system.test_browser_public import (  # noqa: F401 - fixtures
    ARTIFACTS,
    PHONE,
    chromium,
    history,
    no_sideways_scroll,
    office,
)

DESKTOP = {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False}

#: Every text node that wraps onto more than one line, and where: a wrap inside a phrase (span.phr, whose phrases
#: are separate text nodes between <wbr>s) or inside Japanese/Chinese text that is not phrased at all.
_WRAPS_INSIDE_WORDS = """
const cjk = /[\\u3040-\\u30ff\\u3400-\\u9fff\\uff00-\\uffef]/;
const bad = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const range = document.createRange();
let node;
while ((node = walker.nextNode())) {
  const text = node.textContent;
  const phrased = node.parentElement && node.parentElement.closest('.phr');
  if (!phrased && !cjk.test(text)) continue;
  let top = null;
  for (let i = 0; i < text.length; i++) {
    if (/\\s/.test(text[i])) { top = null; continue; }  // a space is a break point
    range.setStart(node, i); range.setEnd(node, i + 1);
    const rects = range.getClientRects();
    if (!rects.length) continue;  // folded away (a closed <details>)
    if (top !== null && rects[0].top - top > rects[0].height / 2) {
      bad.push((phrased ? 'phrase: ' : 'unphrased: ') + text.slice(0, i) + ' / ' + text.slice(i));
      break;
    }
    top = rects[0].top;
  }
}
return bad;
"""

_CONTRAST = """
function lum(rgb) {
  const c = rgb.match(/[0-9.]+/g).slice(0, 3).map(v => v / 255)
    .map(v => v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4));
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}
function ratio(a, b) { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); }
function background(el) {
  for (; el; el = el.parentElement) {
    const bg = getComputedStyle(el).backgroundColor;
    if (bg && !bg.startsWith('rgba(0, 0, 0, 0)') && bg !== 'transparent') return bg;
  }
  return 'rgb(255, 255, 255)';
}
return [...document.querySelectorAll(arguments[0])].filter(el => el.getClientRects().length).map(
  el => [el.textContent.trim(), ratio(getComputedStyle(el).color, background(el))]);
"""


def screen(driver, metrics: dict) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)


def shot(driver, name: str, metrics: dict) -> Path:
    """The whole page at ``metrics``' width as build/test-artifacts/web/readable-NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screen(driver, metrics)
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    screen(driver, metrics | {"height": max(height, metrics["height"])})
    path = ARTIFACTS / f"readable-{name}.png"
    driver.save_screenshot(str(path))
    screen(driver, metrics)
    return path


def words_whole(driver) -> None:
    wraps = driver.execute_script(_WRAPS_INSIDE_WORDS)
    assert wraps == [], f"lines broken inside a word: {wraps}"


@pytest.fixture
def browser(chromium):  # noqa: F811
    yield chromium
    screen(chromium, PHONE)


def test_congestion_legend_first_levels_in_words_hours_and_whole_words(browser, office, devices):  # noqa: F811
    from selenium.webdriver.common.by import By

    _service, base, _key = office
    kiosk, panel = devices("kiosk-1f"), devices("panel-demo")
    for c in ("c01", "c21"):
        panel.request("open_counter", {"counter": c})
    for procedures in (["tennyu"], ["tennyu", "kokuho_kanyu"], ["tenkyo"], ["kokuho_kanyu"], ["tennyu"]):
        kiosk.request("issue", {"procedures": procedures})

    for lang in ("ja", "en"):
        for size, metrics in (("phone", PHONE), ("desktop", DESKTOP)):
            screen(browser, metrics)
            browser.get(f"{base}/congestion?lang={lang}&group=jumin")
            legend = browser.find_element(By.ID, "legend")
            assert legend.location["y"] < browser.find_element(By.ID, "now").location["y"]
            shapes = [s.text for s in legend.find_elements(By.CSS_SELECTOR, ".shape")]
            assert shapes == ["○", "△", "✕"]
            hours = browser.find_element(By.ID, "hours")
            assert ("Mon–Fri 8:30–17:15" if lang == "en" else "月〜金 8:30–17:15") in hours.text
            assert hours.location["y"] < browser.find_element(By.ID, "now").location["y"]
            level = browser.find_element(By.CSS_SELECTOR, "#now-jumin .lv").text
            assert level.strip() and level[0] in "○△✕"  # the level in a shape and words beside the minutes
            for text, ratio in browser.execute_script(_CONTRAST, ".lv, .groups .now span, td.num, .hours, .pill"):
                assert ratio >= 4.5, f"{text!r} at {ratio:.2f}:1"
            words_whole(browser)
            if size == "phone":
                no_sideways_scroll(browser)
            shot(browser, f"congestion-{lang}-{size}", metrics)


def test_guide_wraps_between_phrases_at_360_px(browser, office):  # noqa: F811
    from selenium.webdriver.common.by import By

    _service, base, _key = office
    pages = {
        "guide-index-ja": "/guide?lang=ja",
        "guide-questions-ja": "/guide/moving_in?lang=ja",
        "guide-result-ja": "/guide/moving_in/result?lang=ja&children=yes&kokuho=yes",
        "guide-result-ja-easy": "/guide/moving_in/result?lang=ja-easy&children=yes&kokuho=yes",
        "guide-result-zh": "/guide/moving_in/result?lang=zh&children=yes&kokuho=yes",
        "guide-result-en": "/guide/moving_in/result?lang=en&children=yes&kokuho=yes",
    }
    for name, path in pages.items():
        screen(browser, PHONE)
        browser.get(base + path)
        if "result" in name:
            assert browser.find_elements(By.CSS_SELECTOR, "#procedures .phr")
        words_whole(browser)
        no_sideways_scroll(browser)
        shot(browser, name, PHONE)
    shot(browser, "guide-result-ja-desktop", DESKTOP)


def test_pre_entry_date_with_the_era(browser, office):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    _service, base, _key = office
    wait = WebDriverWait(browser, 30)
    screen(browser, PHONE)
    browser.get(f"{base}/guide/moving_in/result?lang=ja&children=yes")
    browser.find_element(By.CSS_SELECTOR, "#preentry > summary").click()
    Select(browser.find_element(By.ID, "pre_child1_birth")).select_by_value("S")
    browser.find_element(By.ID, "pre_child1_birth_year").send_keys("25")
    browser.find_element(By.ID, "pre_child1_birth_month").send_keys("4")
    browser.find_element(By.ID, "pre_child1_birth_day").send_keys("31")  # no such day
    browser.find_element(By.ID, "pre_new_address").send_keys("東京都さくら区桜町一丁目2番3号")
    shot(browser, "preentry-era-ja", PHONE)
    group = browser.find_element(By.ID, "date_child1_birth")
    assert "年" in group.text and "昭和（1926〜1989）" in group.text
    parts = group.find_elements(By.CSS_SELECTOR, "select, input")
    assert len({p.location["y"] for p in parts[1:]}) == 1  # 年 月 日 on one line at 360 px
    outside = browser.execute_script(
        "return [...document.querySelectorAll('.dateparts .part')].filter(p => p.getClientRects().length &&"
        " p.getBoundingClientRect().right > p.closest('fieldset').getBoundingClientRect().right).length"
    )
    assert outside == 0, "a date part sticks out of its form"
    words_whole(browser)
    no_sideways_scroll(browser)
    browser.find_element(By.ID, "make-qr").click()
    wait.until(ec.presence_of_element_located((By.ID, "pre-error")))
    assert browser.find_element(By.ID, "pre_child1_birth_year").get_attribute("value") == "25"
    shot(browser, "preentry-era-error-ja", PHONE)
    day = browser.find_element(By.ID, "pre_child1_birth_day")
    day.clear()
    day.send_keys("1")
    browser.find_element(By.ID, "make-qr").click()
    wait.until(ec.presence_of_element_located((By.ID, "qr")))

    browser.get(f"{base}/guide/moving_in/result?lang=en&children=yes")
    browser.find_element(By.CSS_SELECTOR, "#preentry > summary").click()
    assert not browser.find_elements(By.CSS_SELECTOR, "select[name=pre_child1_birth_era]")
    browser.find_element(By.ID, "pre_child1_birth").send_keys("1950")
    browser.find_element(By.ID, "pre_child1_birth_month").send_keys("4")
    browser.find_element(By.ID, "pre_child1_birth_day").send_keys("1")
    no_sideways_scroll(browser)
    shot(browser, "preentry-date-en", PHONE)
