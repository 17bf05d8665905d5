"""The public pages in a real browser: headless Debian Chromium (selenium + chromedriver) on a phone-sized screen.

The whole path is real: Mosquitto, the queue service on it (journal with past days written by the real service
core), its public router served by uvicorn, devices on the bus (a kiosk issuing, a call panel calling). Screenshots
go to build/test-artifacts/web/ (looked at by a person when the pages change).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.artifacts_dir import TEST_ARTIFACTS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = TEST_ARTIFACTS / "web"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FORMS = ROOT / "sites" / "example" / "forms"
PHONE = {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True}


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium at a phone's size (360 × 740 CSS px, 2× pixels); skipped only if Chromium is missing."""
    if not CHROMIUM.exists() or not CHROMEDRIVER.exists():
        pytest.skip("Debian chromium / chromium-driver are not installed (/usr/bin/chromium, /usr/bin/chromedriver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--lang=en-US"):
        options.add_argument(arg)
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {k: PHONE[k] for k in ("width", "height")} | {"pixelRatio": 2}}
    )
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()


def shot(driver, name: str, folder: Path = ARTIFACTS) -> Path:
    """The whole page (not just the screen) as FOLDER/NAME.png (build/test-artifacts/web/), at the phone's width."""
    folder.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE | {"height": max(height, PHONE["height"])})
    try:
        path = folder / f"{name}.png"
        driver.save_screenshot(str(path))
    finally:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
    return path


def no_sideways_scroll(driver) -> None:
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow} px wider than a 360 px phone"


def _write_history(site, path: Path, today: datetime) -> None:
    """Past office days in the journal, by the real service core with a clock: three same weekdays and yesterday."""
    from queue_service.service.core import QueueCore
    from queue_service.service.direct import DirectClient
    from queue_service.service.journal import Journal

    moment = [today - timedelta(days=21)]
    journal = Journal(path, durable=False)
    core = QueueCore(site, journal, clock=lambda: moment[0])
    client = DirectClient(core)
    counters = {"c01": "jumin", "c02": "jumin", "c07": "shomei", "c21": "kokuho"}
    visits = [["tennyu"], ["tennyu", "kokuho_kanyu"], ["juminhyo"], ["tenkyo"], ["kokuho_kanyu"], ["juminhyo"]]
    rate = {8: 0.2, 9: 0.55, 10: 0.45, 11: 0.3, 12: 0.2, 13: 0.4, 14: 0.3, 15: 0.25, 16: 0.1}
    for days_ago in (21, 14, 7, 1):
        rng = random.Random(days_ago)
        day = (today - timedelta(days=days_ago)).replace(hour=8, minute=30, second=0, microsecond=0)
        moment[0] = day
        for c in counters:
            client.request("panel-demo", "open_counter", {"counter": c})
        busy: dict[str, datetime] = {}
        while moment[0] < day.replace(hour=17, minute=15):
            now = moment[0]
            if now.hour < 17 and rng.random() < rate.get(now.hour, 0):
                client.request("kiosk-1f", "issue", {"procedures": rng.choice(visits)})
            for c, group in counters.items():
                if c in busy and now >= busy[c]:
                    client.request("panel-demo", "complete", {"counter": c})
                    del busy[c]
                if c not in busy and core.engine.group_state(group, now).waiting:
                    ticket = client.request("panel-demo", "call_next", {"counter": c})["ticket"]
                    if ticket:
                        busy[c] = now + timedelta(minutes=rng.uniform(4, 12))
            moment[0] = now + timedelta(minutes=1)
    journal.close()


@pytest.fixture(scope="module")
def history(site, tmp_path_factory) -> Path:
    """A journal holding the past days, written once for the module (each test gets a copy)."""
    path = tmp_path_factory.mktemp("history") / "queue.sqlite"
    _write_history(site, path, datetime.now(site.zone))
    return path


@pytest.fixture
def office(site, broker, history, tmp_path):
    """The queue service (real broker, journal with history) and its public pages on a free port."""
    import uvicorn
    from fastapi import FastAPI

    from form_printer.preentry import new_key
    from kiosk.bus.client import BusSettings
    from kiosk.bus.contract import Role
    from madoguchi.local import free_port, wait_for_port
    from queue_service.service.app import QueueService
    from queue_service.web.public import make_public_router

    now = datetime.now(site.zone)
    for sqlite in history.parent.glob("queue.sqlite*"):
        shutil.copy(sqlite, tmp_path / sqlite.name)
    key = tmp_path / "preentry.key"
    key.write_text(new_key() + "\n")
    key.chmod(0o600)
    settings = BusSettings(
        site.site.id, "queue-service", Role.SERVICE, broker.password("queue-service"), "127.0.0.1", broker.port
    )
    service = QueueService(site, tmp_path / "queue.sqlite", settings, http=None, tick_seconds=3600).start()
    # the forecast at 10:00 today, whatever time the test runs
    ten = now.replace(hour=10, minute=0, second=0, microsecond=0)
    app = FastAPI()
    app.include_router(make_public_router(service, clock=lambda: ten, preentry_key=key, forms_dir=FORMS))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield service, f"http://127.0.0.1:{port}", key
    server.should_exit = True
    thread.join(timeout=10)
    service.stop()


def test_status_page_receives_the_call_live(chromium, office, devices):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    _service, base, _key = office
    kiosk, panel = devices("kiosk-1f"), devices("panel-demo")
    first = kiosk.request("issue", {"procedures": ["tennyu"], "lang": "ja"})["ticket"]
    mine = kiosk.request("issue", {"procedures": ["tennyu", "kokuho_kanyu"], "lang": "en"})["ticket"]
    panel.request("open_counter", {"counter": "c01"})

    chromium.get(f"{base}/t/{mine['token']}")
    # The event stream's first message swaps the live part in right after loading: an element found just before
    # can go stale, so every read waits (and looks again) instead of racing the swap.
    wait = WebDriverWait(chromium, 30, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: d.find_element(By.ID, "number").text == str(mine["number"]))
    wait.until(lambda d: "People ahead of you: 1" in d.find_element(By.ID, "live").text)
    assert chromium.find_element(By.CSS_SELECTOR, "nav.langs a.current").text == "English"
    no_sideways_scroll(chromium)
    shot(chromium, "status-waiting")
    chromium.execute_script("window.notReloaded = true")

    panel.request("call_next", {"counter": "c01"})  # the first ticket: mine moves up
    wait.until(lambda d: "People ahead of you: 0" in d.find_element(By.ID, "live").text)
    panel.request("complete", {"counter": "c01"})
    called = panel.request("call_next", {"counter": "c01"})["ticket"]
    assert called["number"] == mine["number"] and first["number"] != mine["number"]

    banner = wait.until(ec.visibility_of_element_located((By.ID, "called")))
    assert "Your number is called" in banner.text and "Go to Counter 1 (1F)" in banner.text
    assert chromium.execute_script("return window.notReloaded") is True  # pushed by the event stream, no reload
    assert chromium.title.startswith("▶ ")
    no_sideways_scroll(chromium)
    shot(chromium, "status-called")

    chromium.find_element(By.LINK_TEXT, "日本語").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "called"), "1番窓口へお越しください（1階）"))
    shot(chromium, "status-called-ja")

    chromium.get(f"{base}/t/AAAAAAAAAAAAAAAAAAAAAA")
    assert "Ticket not found" in chromium.find_element(By.TAG_NAME, "h1").text
    shot(chromium, "status-unknown")


def test_congestion_page_shows_now_and_the_forecast(chromium, office, devices):
    from selenium.webdriver.common.by import By

    _service, base, _key = office
    kiosk, panel = devices("kiosk-1f"), devices("panel-demo")
    for c in ("c01", "c02", "c21"):
        panel.request("open_counter", {"counter": c})
    for procedures in (["tennyu"], ["tennyu", "kokuho_kanyu"], ["tenkyo"], ["kokuho_kanyu"]):
        kiosk.request("issue", {"procedures": procedures})

    chromium.get(f"{base}/congestion?lang=en&group=jumin")
    now = chromium.find_element(By.ID, "now-jumin").text
    assert "Resident registration" in now and "Waiting: 3" in now
    assert "Not open now" in chromium.find_element(By.ID, "now-zei").text
    assert "Learned from 3 past days (same weekday)." in chromium.page_source
    table = chromium.find_element(By.ID, "fc-jumin")
    assert table.get_attribute("open") is not None
    hours = [td.text for td in table.find_elements(By.CSS_SELECTOR, "tbody tr td:first-child")]
    assert hours[0] == "10:00" and "16:00" in hours
    no_sideways_scroll(chromium)
    shot(chromium, "congestion")

    chromium.get(f"{base}/congestion?lang=zh&group=kokuho")
    assert "国民健康保险" in chromium.find_element(By.ID, "fc-kokuho").text
    shot(chromium, "congestion-zh")


def test_guide_in_two_languages_and_the_pre_entry_qr(chromium, office, site, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from form_printer.preentry import read_payload

    _service, base, key = office
    wait = WebDriverWait(chromium, 30)
    chromium.get(f"{base}/guide?lang=en")
    chromium.find_element(By.LINK_TEXT, "Moving in (from outside the ward)").click()
    wait.until(ec.presence_of_element_located((By.ID, "questions")))
    chromium.find_element(By.CSS_SELECTOR, "input[name=children][value=yes] + span").click()
    chromium.find_element(By.CSS_SELECTOR, "input[name=kokuho][value=yes] + span").click()
    shot(chromium, "guide-questions-en")
    chromium.find_element(By.ID, "show").click()
    wait.until(ec.presence_of_element_located((By.ID, "procedures")))
    shown = [li.get_attribute("id") for li in chromium.find_elements(By.CSS_SELECTOR, "#procedures > li")]
    assert shown == ["p-tennyu", "p-kokuho_kanyu", "p-jidou_teate", "p-kodomo_iryo"]
    assert "Apply online" in chromium.find_element(By.ID, "p-jidou_teate").text
    no_sideways_scroll(chromium)
    shot(chromium, "guide-result-en")

    chromium.find_element(By.LINK_TEXT, "日本語").click()
    wait.until(ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "転入"))
    assert "必要な手続き（お呼びする順）" in chromium.find_element(By.TAG_NAME, "main").text
    assert "転入届" in chromium.find_element(By.ID, "p-tennyu").text
    assert "オンラインで申請する" in chromium.find_element(By.ID, "p-jidou_teate").text
    no_sideways_scroll(chromium)
    shot(chromium, "guide-result-ja")

    chromium.find_element(By.CSS_SELECTOR, "#preentry > summary").click()  # folded until asked for
    # a date on a Japanese page: era, year, month, day (令和8年 = 2026)
    Select(chromium.find_element(By.ID, "pre_move_date")).select_by_value("R")
    chromium.find_element(By.ID, "pre_move_date_year").send_keys("8")
    chromium.find_element(By.ID, "pre_move_date_month").send_keys("11")
    chromium.find_element(By.ID, "pre_move_date_day").send_keys("20")
    chromium.find_element(By.ID, "pre_new_address").send_keys("東京都さくら区桜町一丁目2番3号")
    chromium.find_element(By.ID, "pre_phone").send_keys("03-1234-5678")
    shot(chromium, "guide-preentry-ja")
    chromium.find_element(By.ID, "make-qr").click()
    wait.until(ec.presence_of_element_located((By.ID, "qr")))
    assert "事前入力のQRコード" in chromium.find_element(By.TAG_NAME, "h1").text
    no_sideways_scroll(chromium)
    assert not chromium.find_elements(By.CSS_SELECTOR, "nav.langs")  # a POST's answer: no language links to GET
    path = shot(chromium, "guide-qr-ja")
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg not installed: the QR on the screen was not decoded")
    done = subprocess.run(["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, timeout=30)
    entry = read_payload(done.stdout, bytes.fromhex(key.read_text().strip()), site.site.id, datetime.now(site.zone))
    assert entry.fields == {
        "move_date": "2026-11-20",
        "new_address": "東京都さくら区桜町一丁目2番3号",
        "phone": "03-1234-5678",
    }


def test_status_page_of_a_one_stop_visit_with_a_pickup_and_the_register(chromium, office, devices):
    """Issue 17, on the resident's phone, live: called once to booth B3, told to stay there and which sections
    are still to come while their staff come, told the 被保険者証 is called when ready and then called, told to
    pay at the self register, and done once it closes the payment step."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    _service, base, _key = office
    kiosk, panel, register = devices("kiosk-1f"), devices("panel-demo"), devices("register-1f")
    for counter in ("b3", "c21", "c31", "c07"):
        panel.request("open_counter", {"counter": counter})
    issue = {"procedures": ["tennyu", "kokuho_kanyu", "kaigo_shikaku", "nofu"], "lang": "en"}
    issue |= {"life_event": "moving_in", "answers": {"kokuho": True, "over_65": True}}
    mine = kiosk.request("issue", issue)["ticket"]

    chromium.get(f"{base}/t/{mine['token']}")
    wait = WebDriverWait(chromium, 30, ignored_exceptions=(StaleElementReferenceException,))

    def live(text: str) -> str:
        """The live part's text once it says ``text`` (pushed by the event stream)."""

        def says(driver) -> str | None:
            shown = driver.find_element(By.ID, "live").text
            return shown if text in shown else None

        return wait.until(says)

    page = live("We will call you to a one-stop booth")
    assert "Please come to the counter" not in page and page.count("Staff will come to you") == 3
    no_sideways_scroll(chromium)
    shot(chromium, "status-onestop-waiting")

    panel.request("call_next", {"counter": "b3"})
    assert "Go to One-stop booth B3 (1F)" in live("Your number is called")
    shot(chromium, "status-onestop-called")
    panel.request("complete", {"counter": "b3"})
    seated = live("Please wait at One-stop booth B3. Staff will come to you in turn.")
    assert "Still to come:" in seated and "National Health Insurance" in seated
    assert chromium.find_elements(By.ID, "called") == [] and not chromium.title.startswith("▶ ")
    no_sideways_scroll(chromium)
    shot(chromium, "status-onestop-seated")
    chromium.find_element(By.LINK_TEXT, "日本語").click()
    wait.until(lambda d: "国民健康保険" in d.find_element(By.ID, "to-come").text)
    no_sideways_scroll(chromium)
    shot(chromium, "status-onestop-seated-ja")
    chromium.find_element(By.LINK_TEXT, "English").click()
    live("Still to come:")

    panel.request("take_request", {"counter": "c21", "ticket": mine["id"]})  # the staff come: no call
    served = live("Now being served")
    assert "One-stop booth B3 (1F)" in served and chromium.find_elements(By.ID, "called") == []
    shot(chromium, "status-onestop-served")
    panel.request("complete", {"counter": "c21"})
    panel.request("take_request", {"counter": "c31", "ticket": mine["id"]})
    panel.request("complete", {"counter": "c31"})
    pickup = live("We will call you when it is ready.")
    assert "Pickup" in pickup and "Pay at the self register" in pickup
    no_sideways_scroll(chromium)
    shot(chromium, "status-pickup-waiting")

    panel.request("mark_ready", {"ticket": mine["id"], "procedure": "kaigo_shikaku"})
    panel.request("call_next", {"counter": "c07"})
    assert "Go to Counter 7 (1F)" in live("Your number is called")
    panel.request("complete", {"counter": "c07"})
    live("Pay at the self register (hold your ticket's QR code to it).")
    assert chromium.find_element(By.CSS_SELECTOR, ".banner.pay").is_displayed()
    no_sideways_scroll(chromium)
    shot(chromium, "status-pay-at-register")
    register.request("ticket_paid", {"token": mine["token"]})
    live("All done. Thank you for coming.")


def test_survey_on_the_phone_page_once_the_visit_is_done(chromium, office, devices):
    """Issue 18: the page open while the visit ends loads the survey by itself; a missing star is said in the
    page's language and the stars already chosen stay; the answers go through the real service (in-process
    submit, worker, journal) once, and the page thanks the resident, also after a reload."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    service, base, _key = office
    kiosk, panel = devices("kiosk-1f"), devices("panel-demo")
    panel.request("open_counter", {"counter": "c01"})
    mine = kiosk.request("issue", {"procedures": ["tennyu"], "lang": "ja"})["ticket"]
    chromium.get(f"{base}/t/{mine['token']}")
    wait = WebDriverWait(chromium, 30, ignored_exceptions=(StaleElementReferenceException,))
    wait.until(lambda d: d.find_element(By.ID, "number").text == str(mine["number"]))
    assert chromium.find_elements(By.ID, "survey") == []

    assert panel.request("call_next", {"counter": "c01"})["ticket"]["number"] == mine["number"]
    panel.request("complete", {"counter": "c01"})
    form = wait.until(ec.visibility_of_element_located((By.ID, "survey")))  # the page reloaded itself
    assert "本日の手続きの満足度" in form.text and "待ち時間について" in form.text
    star = {
        (q, n): (By.CSS_SELECTOR, f"label[for='q_{q}_{n}']")
        for q in ("overall", "waiting", "no_repeat")
        for n in range(1, 6)
    }
    tap = chromium.find_element(*star["overall", 4])
    assert tap.size["height"] >= 48 and tap.size["width"] >= 48  # a thumb's target
    tap.click()
    chromium.find_element(*star["no_repeat", 5]).click()
    no_sideways_scroll(chromium)
    shot(chromium, "survey-choosing-ja")
    chromium.find_element(By.ID, "survey-send").click()  # 待ち時間 not answered yet

    message = wait.until(ec.visibility_of_element_located((By.ID, "survey-message")))
    assert message.text and "missing" in chromium.find_element(By.ID, "q-waiting").get_attribute("class")
    assert chromium.find_element(By.ID, "q_overall_4").is_selected()  # nothing chosen is lost
    assert chromium.find_element(By.ID, "q_no_repeat_5").is_selected()
    shot(chromium, "survey-missing-star-ja")
    chromium.find_element(*star["waiting", 3]).click()
    chromium.find_element(By.ID, "survey-send").click()

    thanks = wait.until(ec.visibility_of_element_located((By.ID, "survey-thanks")))
    assert chromium.find_elements(By.CSS_SELECTOR, "form#survey") == []
    with service.lock:
        assert list(service.core.engine.state.surveys.values()) == [{"overall": 4, "waiting": 3, "no_repeat": 5}]
    shot(chromium, "survey-thanks-ja")
    chromium.find_element(By.LINK_TEXT, "English").click()
    assert "Thank you for your answers." in wait.until(ec.visibility_of_element_located((By.ID, "survey-thanks"))).text
    assert thanks is not None
