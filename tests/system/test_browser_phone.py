"""The phone alert in a real browser (issue 19): headless Debian Chromium at a phone's size on the ticket's page, the
real queue service on Mosquitto moving the queue until the resident is next-but-N (the site's ``[phone]
alert_ahead``, 3 in the example site).

A script injected before every page load (Chrome DevTools ``Page.addScriptToEvaluateOnNewDocument``) records the
page's ``navigator.vibrate`` calls and the Web Audio tones it starts, so the test sees that the alert vibrated and
tried to play its sound; the title's flashing and the banner are read from the page. Screenshots (English and
Japanese) go to build/test-artifacts/phone/. The fixtures (Chromium, the office on a real broker) are those of
test_browser_public.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.artifacts_dir import TEST_ARTIFACTS
from tests.system.test_browser_public import PHONE, chromium, history, no_sideways_scroll, office  # noqa: F401
from tests.system.test_browser_public import shot as page_shot

ARTIFACTS = TEST_ARTIFACTS / "phone"

#: Runs before the page's own scripts: records vibrations and tones instead of only making them.
INSTRUMENT = """
window.__vibrations = [];
navigator.vibrate = function (pattern) { window.__vibrations.push(pattern); return true; };
window.__tones = 0;
if (window.OscillatorNode) {
  var start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function () { window.__tones += 1; return start.apply(this, arguments); };
}
"""


def shot(driver, name: str) -> Path:
    """The whole page as build/test-artifacts/phone/NAME.png, at the phone's width."""
    return page_shot(driver, name, ARTIFACTS)


def test_the_phone_alerts_when_the_resident_is_next_but_n(chromium, office, devices, site):  # noqa: F811
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    _service, base, _key = office
    n = site.phone.alert_ahead
    assert n == 3
    kiosk, panel = devices("kiosk-1f"), devices("panel-demo")
    for _ in range(n + 2):
        kiosk.request("issue", {"procedures": ["tennyu"], "lang": "ja"})
    mine = kiosk.request("issue", {"procedures": ["tennyu"], "lang": "en"})["ticket"]
    panel.request("open_counter", {"counter": "c01"})

    marker = chromium.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": INSTRUMENT})
    try:
        chromium.get(f"{base}/t/{mine['token']}")
        wait = WebDriverWait(chromium, 30, ignored_exceptions=(StaleElementReferenceException,))
        ahead = lambda d: d.find_element(By.ID, "ahead").text  # noqa: E731
        wait.until(lambda d: ahead(d) == f"{n + 2} people ahead of you")
        assert not chromium.find_elements(By.ID, "near")
        # the tap that unlocks sound (iOS) and asks for notifications; over plain http the page says to keep it open
        button = wait.until(ec.element_to_be_clickable((By.ID, "alerts-on")))
        assert button.text.endswith("Turn on alerts")
        assert "3 or fewer people" in chromium.find_element(By.ID, "alerts-when").text
        button.click()
        wait.until(ec.visibility_of_element_located((By.ID, "alerts-sound")))
        wait.until(
            lambda d: (
                d.find_element(By.ID, "alerts-push").is_displayed()
                or d.find_element(By.ID, "alerts-nopush").is_displayed()
            )
        )
        before = chromium.execute_script("return window.__tones")
        no_sideways_scroll(chromium)
        shot(chromium, "phone-waiting-en")

        # the queue moves: N+1 ahead (no alert yet), then N ahead: the alert
        panel.request("call_next", {"counter": "c01"})
        panel.request("complete", {"counter": "c01"})
        wait.until(lambda d: ahead(d) == f"{n + 1} people ahead of you")
        assert not chromium.find_elements(By.ID, "near")
        assert chromium.execute_script("return window.__vibrations").count([300, 150, 300]) == 0
        panel.request("call_next", {"counter": "c01"})
        panel.request("complete", {"counter": "c01"})
        banner = wait.until(ec.visibility_of_element_located((By.ID, "near")))
        assert "Your turn is near" in banner.text
        assert ahead(chromium) == f"{n} people ahead of you"
        assert "alerts-sound" in [
            e.get_attribute("id") for e in chromium.find_elements(By.CSS_SELECTOR, "#live #alerts p")
        ]
        # the title flashes: the alert's title and the bells take turns
        wait.until(lambda d: "🔔" in d.title)
        wait.until(lambda d: d.title == f"▶ {mine['number']} {n} people ahead of you")
        wait.until(lambda d: "🔔" in d.title)
        assert [300, 150, 300] in chromium.execute_script("return window.__vibrations")
        assert chromium.execute_script("return window.__tones") >= before + 3, "the beep's tones were started"
        no_sideways_scroll(chromium)
        shot(chromium, "phone-near-en")

        # one alert per turn: the next move updates the figure without ringing again
        vibrations = len(chromium.execute_script("return window.__vibrations"))
        panel.request("call_next", {"counter": "c01"})
        wait.until(lambda d: ahead(d) == f"{n - 1} people ahead of you")
        assert len(chromium.execute_script("return window.__vibrations")) == vibrations

        # Japanese: the same page, the same figure (the live part is re-rendered by the server in the language)
        chromium.find_element(By.LINK_TEXT, "日本語").click()
        wait.until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja")
        wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#ahead .n").text == str(n - 1))
        assert chromium.find_element(By.ID, "near").is_displayed()
        wait.until(ec.visibility_of_element_located((By.ID, "alerts-on")))
        no_sideways_scroll(chromium)
        shot(chromium, "phone-near-ja")

        # called: the call rings too (a new alert), with the long vibration
        for _ in range(n):  # the one at the counter now, then the n - 1 still ahead
            panel.request("complete", {"counter": "c01"})
            called = panel.request("call_next", {"counter": "c01"})["ticket"]
        assert called["id"] == mine["id"]
        wait.until(ec.visibility_of_element_located((By.ID, "called")))
        wait.until(lambda d: [400, 150, 400, 150, 400] in d.execute_script("return window.__vibrations"))
        assert not chromium.find_elements(By.ID, "ahead")
        shot(chromium, "phone-called-ja")

        # the unknown ticket's page has the language switch, and it never repeats the token asked for
        chromium.get(f"{base}/t/AAAAAAAAAAAAAAAAAAAAAA?lang=en")
        assert "Ticket not found" in chromium.find_element(By.TAG_NAME, "h1").text
        chromium.find_element(By.LINK_TEXT, "日本語").click()
        wait.until(lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja")
        assert "AAAAAAAAAAAAAAAAAAAAAA" not in chromium.page_source.replace(chromium.current_url, "")
        shot(chromium, "phone-unknown-ja")
    finally:
        chromium.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": marker["identifier"]})
