"""The staff KPI pages in a real browser: headless Debian Chromium (selenium) against a real uvicorn serving
``make_app(service)`` of a QueueService whose journal holds realistic days written by the real QueueCore.

Logs in (after a wrong password), looks at the dashboard of yesterday (picked in the day picker) and of
today, the daily report (and prints it to PDF: one A4 page), downloads the CSV, logs out. Screenshots go
to build/test-artifacts/web/staff-*.png."""

from __future__ import annotations

import base64
import re
import shutil
import threading
import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import pytest

from madoguchi.local import free_port, wait_for_port
from queue_service.service.journal import Journal
from tests.artifacts_dir import TEST_ARTIFACTS

ARTIFACTS = TEST_ARTIFACTS / "web"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()), reason="needs Debian chromium + chromium-driver"
)


@pytest.fixture(scope="module")
def server(site, tmp_path_factory):
    """make_app(QueueService) on uvicorn; the journal holds the day before yesterday, yesterday and today so far."""
    import uvicorn

    from kiosk.bus.client import BusSettings
    from kiosk.bus.contract import Role
    from queue_service.service.app import QueueService
    from queue_service.web.app import make_app
    from tests.queue_service.test_web_staff import fill_day

    path = tmp_path_factory.mktemp("browser") / "queue.sqlite"
    today = datetime.now(site.zone).date()
    journal = Journal(path, durable=False)
    for back, seed in ((2, 11), (1, 12)):
        fill_day(journal, site, today - timedelta(days=back), seed=seed)
    fill_day(journal, site, today, seed=13, until=clock_time(14, 30))
    journal.close()

    settings = BusSettings(site.site.id, "queue-service", Role.SERVICE, "unused", "127.0.0.1", free_port())
    service = QueueService(site, path, settings, http=None)  # not started: no broker needed to read the journal
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}", today
    server.should_exit = True
    thread.join(timeout=10)
    service.journal.close()


@pytest.fixture(scope="module")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def browser(downloads):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1366,900",
        "--lang=ja-JP",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _shot(driver, name: str) -> Path:
    """A full-page screenshot at the window's width (Chromium's capture beyond the viewport)."""
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 8000), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path = ARTIFACTS / f"staff-{name}.png"
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


def _report_on_a4(driver) -> bytes:
    """The report fits its A4 sheet (nothing scrolls) and prints: the PDF's bytes."""
    sheet = driver.execute_script(
        "const r = document.getElementById('report'); return [r.scrollHeight, r.clientHeight, r.scrollWidth,"
        " r.clientWidth]"
    )
    assert sheet[0] <= sheet[1] + 1 and sheet[2] <= sheet[3] + 1, f"the report overflows its A4 sheet: {sheet}"
    return base64.b64decode(
        driver.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True})["data"]
    )


def _images_loaded(driver) -> list[str]:
    """The src of every image that did not load (an empty list when all did)."""
    _wait(driver, "return Array.from(document.images).every(i => i.complete)")
    return driver.execute_script("return Array.from(document.images).filter(i => !i.naturalWidth).map(i => i.src)")


def _wait(driver, script: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def _no_horizontal_overflow(driver) -> None:
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the window"


def test_staff_dashboard_report_and_csv_in_chromium(server, browser, downloads):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    base, today = server
    yesterday = (today - timedelta(days=1)).isoformat()
    driver = browser

    # not logged in: the login page, then a wrong password
    driver.get(f"{base}/staff")
    assert "/staff/login" in driver.current_url
    _shot(driver, "01-login")
    driver.find_element(By.ID, "account").send_keys("kanri")
    driver.find_element(By.ID, "password").send_keys("not-the-password")
    driver.find_element(By.ID, "login-submit").click()
    # the answer is a new page after the password hash check: wait for it, do not race it
    _wait(driver, "return document.getElementById('login-error') !== null")
    assert "パスワードが違います" in driver.find_element(By.ID, "login-error").text
    _shot(driver, "02-login-error")

    # the right password: today's dashboard
    driver.find_element(By.ID, "password").send_keys("sakura-demo-2026")
    driver.find_element(By.ID, "login-submit").click()
    _wait(driver, "return document.querySelector('.day-title') !== null")
    assert "本日・集計中" in driver.find_element(By.CSS_SELECTOR, ".day-title").text
    assert _images_loaded(driver) == []
    _no_horizontal_overflow(driver)
    _shot(driver, "03-dashboard-today")

    # yesterday, from the day picker (changing the select submits it)
    Select(driver.find_element(By.ID, "day")).select_by_value(yesterday)
    _wait(driver, f"return location.search.includes('day={yesterday}')")
    d = date.fromisoformat(yesterday)
    assert f"{d.year}年{d.month}月{d.day}日" in driver.find_element(By.CSS_SELECTOR, ".day-title").text
    tickets = int(re.sub(r"\D", "", driver.find_element(By.CSS_SELECTOR, "#kpi-tickets .big").text))
    assert tickets > 100
    rows = driver.find_elements(By.CSS_SELECTOR, "#group-table tbody tr")
    assert len(rows) == 11 and "住民異動" in rows[0].text  # the site's groups, the one-stop booths' among them
    assert _images_loaded(driver) == []
    _no_horizontal_overflow(driver)
    _shot(driver, "04-dashboard")

    # the same page on a narrow screen (a tablet held upright)
    driver.set_window_size(800, 1000)
    _no_horizontal_overflow(driver)
    _shot(driver, "05-dashboard-narrow")
    driver.set_window_size(1366, 900)

    # CSV: the per-ticket export, downloaded by the browser with the session cookie
    driver.find_element(By.ID, "csv-tickets").click()
    target = downloads / f"madoguchi-tickets-{yesterday}.csv"
    deadline = time.monotonic() + 10
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.exists(), list(downloads.iterdir())
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("日付,整理券ID,番号,発券時刻") and len(lines) == tickets + 1
    shutil.copy(target, ARTIFACTS / "staff-tickets.csv")

    # the daily report: on screen, and printed to PDF on one A4 page
    driver.find_element(By.ID, "report-link").click()
    _wait(driver, "return document.getElementById('report') !== null")
    assert "窓口業務 日報" in driver.find_element(By.ID, "report").text
    assert _images_loaded(driver) == []
    assert driver.find_element(By.CSS_SELECTOR, "[data-print]").is_displayed()  # the script ran (CSP allows it)
    _shot(driver, "06-report")
    pdf = _report_on_a4(driver)
    (ARTIFACTS / "staff-report.pdf").write_bytes(pdf)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})  # what the paper gets
    driver.set_window_size(794, 1123)  # A4 at 96 dpi
    _shot(driver, "07-report-print")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    driver.set_window_size(1366, 900)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages == 1, f"the daily report printed on {pages} pages"

    # log out: back at the login page, and the dashboard is closed again
    driver.get(f"{base}/staff?day={yesterday}")
    driver.find_element(By.CSS_SELECTOR, ".who button").click()
    _wait(driver, "return location.pathname === '/staff/login'")
    driver.get(f"{base}/staff")
    assert "/staff/login" in driver.current_url


def _log_in(driver, base: str, path: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}{path}")
    if "/staff/login" in driver.current_url:
        driver.find_element(By.ID, "account").send_keys("kanri")
        driver.find_element(By.ID, "password").send_keys("sakura-demo-2026")
        driver.find_element(By.ID, "login-submit").click()
        _wait(driver, "return document.querySelector('.day-title') !== null || document.getElementById('report')")


def test_stay_by_life_event_and_the_one_stop_floor_in_chromium(server, browser):
    """Issue 17: the stays by life event against each one's target, one-stop against the counters, on the
    dashboard (wide and narrow) and on the printed daily report (still one A4 page)."""
    from selenium.webdriver.common.by import By

    base, today = server
    yesterday = (today - timedelta(days=1)).isoformat()
    driver = browser
    _log_in(driver, base, f"/staff?day={yesterday}")
    events = driver.find_elements(By.CSS_SELECTOR, "#event-table tbody tr")
    texts = [row.text for row in events]
    assert len(events) >= 7 and texts[0].startswith("転入（区外から引っ越してきた） 79分")
    assert any(t.startswith("転出（区外へ引っ越す） 45分") for t in texts)
    assert texts[-1].startswith("ライフイベントなし 79分")
    mean = driver.find_element(By.CSS_SELECTOR, "#event-table tbody tr:first-child td:nth-of-type(4)")
    color = mean.value_of_css_property("color")
    assert mean.get_attribute("class") in ("ok", "over") and color in ("rgba(10, 122, 85, 1)", "rgba(179, 71, 0, 1)")
    one_stop = driver.find_element(By.CSS_SELECTOR, '#reception-table tr[data-reception="one_stop"]').text
    seated = int(one_stop.split()[1])
    assert one_stop.startswith("ワンストップ（ブースで受付）") and seated > 10
    assert "ブースへの出向" in driver.find_element(By.ID, "onestop-work").text
    assert _images_loaded(driver) == []
    for name in ("lifeevents", "reception"):
        assert driver.find_element(By.CSS_SELECTOR, f"#chart-{name} img").get_property("naturalWidth") > 600
    _no_horizontal_overflow(driver)
    driver.execute_script("document.getElementById('events-title').scrollIntoView()")
    _shot(driver, "08-dashboard-life-events")
    driver.set_window_size(800, 1000)
    _no_horizontal_overflow(driver)
    _shot(driver, "09-dashboard-life-events-narrow")
    driver.set_window_size(1366, 900)

    driver.get(f"{base}/staff/report?day={yesterday}")
    _wait(driver, "return document.getElementById('report') !== null")
    rows = driver.find_elements(By.CSS_SELECTOR, "#report-events tbody tr")
    assert 6 <= len(rows) <= 8 and "転入" in rows[0].text
    assert f"ワンストップ {seated}人" in driver.find_element(By.ID, "report-onestop").text
    pdf = _report_on_a4(driver)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    (ARTIFACTS / "staff-report-onestop.pdf").write_bytes(pdf)
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.set_window_size(794, 1123)
    _shot(driver, "10-report-life-events-print")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    driver.set_window_size(1366, 900)


# ---------------------------------------------------------------- issue 18: the cities' KPIs and the trends
@pytest.fixture(scope="module")
def kpi_server(site, tmp_path_factory):
    """make_app(QueueService) on uvicorn over seven weeks of simulated office days (devkit.office_simulation:
    survey answers at the exit screen, guide uses, full- and semi-self payments) and today until 14:30."""
    import uvicorn

    from devkit.office_simulation import simulate_day, write_history
    from kiosk.bus.client import BusSettings
    from kiosk.bus.contract import Role
    from queue_service.service.app import QueueService
    from queue_service.web.app import make_app

    path = tmp_path_factory.mktemp("browser-kpi") / "queue.sqlite"
    today = datetime.now(site.zone).date()
    write_history(site, path, [today - timedelta(days=n) for n in range(49, 0, -1)])
    journal = Journal(path, durable=False)
    simulate_day(site, journal, today, until=clock_time(14, 30))
    journal.close()
    settings = BusSettings(site.site.id, "queue-service", Role.SERVICE, "unused", "127.0.0.1", free_port())
    service = QueueService(site, path, settings, http=None)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}", today, service
    server.should_exit = True
    thread.join(timeout=10)
    service.journal.close()


def _last_office_day(service, today: date) -> str:
    return [d for d in service.journal.days() if d < today.isoformat()][-1]


def test_satisfaction_guide_multi_department_and_register_modes_in_chromium(kpi_server, browser):
    """Issue 18 on the dashboard: the median wait leads, the stay card follows [kpi] within_target_share, the
    satisfaction, guide, multi-department and semi-self cards, the survey and register-mode tables; the report
    still prints on one A4 page with the satisfaction."""
    from selenium.webdriver.common.by import By

    base, today, service = kpi_server
    day = _last_office_day(service, today)
    driver = browser
    _log_in(driver, base, f"/staff?day={day}")
    median = float(driver.find_element(By.ID, "wait-median").text)
    mean = float(driver.find_element(By.ID, "wait-mean").text)
    assert 0 < median < mean  # a few long waits pull the mean up: the median leads
    stay = driver.find_element(By.ID, "kpi-stay")
    share = int(stay.find_element(By.CSS_SELECTOR, ".big").text.rstrip("%"))
    assert ("good" in stay.get_attribute("class")) == (share >= 80)  # [kpi] within_target_share = 0.8
    satisfaction = driver.find_element(By.ID, "kpi-satisfaction")
    assert re.fullmatch(r"\d+%", satisfaction.find_element(By.CSS_SELECTOR, ".big").text)
    assert "目標 85%" in satisfaction.text and "回答率" in satisfaction.text
    assert int(driver.find_element(By.CSS_SELECTOR, "#kpi-guide .big").text.rstrip("件")) > 0
    assert int(driver.find_element(By.CSS_SELECTOR, "#kpi-multi .big").text.rstrip("件")) > 10
    assert "目標 8%" in driver.find_element(By.ID, "kpi-semi-self").text
    questions = driver.find_elements(By.CSS_SELECTOR, "#survey-table tbody tr")
    assert [q.get_attribute("data-question") for q in questions] == ["overall", "waiting", "no_repeat"]
    modes = [m.get_attribute("data-mode") for m in driver.find_elements(By.CSS_SELECTOR, "#mode-table tbody tr")]
    assert modes == ["full_self", "semi_self"]
    assert _images_loaded(driver) == []
    _no_horizontal_overflow(driver)
    _shot(driver, "11-dashboard-issue18")
    driver.execute_script("document.getElementById('survey-title').scrollIntoView()")
    driver.set_window_size(800, 1000)
    _no_horizontal_overflow(driver)
    _shot(driver, "12-dashboard-issue18-narrow")
    driver.set_window_size(1366, 900)

    driver.get(f"{base}/staff/report?day={day}")
    _wait(driver, "return document.getElementById('report') !== null")
    assert "満足度" in driver.find_element(By.ID, "report-satisfaction").text
    pdf = _report_on_a4(driver)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    driver.set_window_size(794, 1123)
    _shot(driver, "13-report-issue18-print")
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    driver.set_window_size(1366, 900)


def test_trends_by_day_and_month_and_months_csv_in_chromium(kpi_server, browser, downloads):
    from selenium.webdriver.common.by import By

    base, today, service = kpi_server
    driver = browser
    _log_in(driver, base, f"/staff?day={today.isoformat()}")
    driver.find_element(By.ID, "trends-link").click()
    _wait(driver, "return document.getElementById('month-table') !== null")
    months = driver.find_elements(By.CSS_SELECTOR, "#month-table tbody tr")
    assert len(months) >= 2 and months[0].get_attribute("data-month") == today.isoformat()[:7]
    assert _images_loaded(driver) == []
    for chart in ("trend-days", "trend-months"):
        assert driver.find_element(By.CSS_SELECTOR, f"#{chart} img").get_property("naturalWidth") >= 900
    _no_horizontal_overflow(driver)
    _shot(driver, "14-trends")
    driver.find_element(By.ID, "csv-months").click()
    target = downloads / f"madoguchi-months-{service.site.site.id}.csv"
    deadline = time.monotonic() + 10
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert target.exists(), list(downloads.iterdir())
    lines = target.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("期間,記録のある日数,整理券数") and len(lines) == len(months) + 1
    shutil.copy(target, ARTIFACTS / "staff-months.csv")


def test_the_guides_uses_reach_the_dashboard_through_the_running_service(site, broker, browser, tmp_path):
    """The online guide in Chromium (a life event's questions, then its result) on a running QueueService: each page
    submits record_guide_use in-process through the worker into the journal, and the staff dashboard counts them."""
    import uvicorn
    from selenium.webdriver.common.by import By

    from kiosk.bus.client import BusSettings
    from kiosk.bus.contract import Role
    from queue_service.service.app import QueueService
    from queue_service.web.app import make_app

    settings = BusSettings(
        site.site.id, "queue-service", Role.SERVICE, broker.password("queue-service"), "127.0.0.1", broker.port
    )
    service = QueueService(site, tmp_path / "queue.sqlite", settings, http=None, tick_seconds=3600).start()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    base = f"http://127.0.0.1:{port}"
    today = datetime.now(site.zone).date().isoformat()

    def guide_uses() -> list[bool]:
        with service.lock:
            entries = list(service.journal.day_entries(today))
        return [e.verb == "record_guide_use" and e.ok for e in entries]

    try:
        driver = browser
        driver.get(f"{base}/guide/moving_in?lang=ja")
        _wait(driver, "return document.getElementById('questions') !== null")
        driver.find_element(By.ID, "show").click()
        _wait(driver, "return document.getElementById('procedures') !== null")
        deadline = time.monotonic() + 10
        while sum(guide_uses()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # polling the journal for the background task's command (not a sync by sleep)
        assert sum(guide_uses()) == 2
        _log_in(driver, base, f"/staff?day={today}")
        guide = driver.find_element(By.ID, "kpi-guide")
        assert guide.find_element(By.CSS_SELECTOR, ".big").text == "1件" and "結果まで 1件" in guide.text
        row = driver.find_element(By.CSS_SELECTOR, '#guide-table tr[data-event="moving_in"]').text
        assert row.split()[-2:] == ["1", "1"]
        driver.execute_script("document.getElementById('guide-title').scrollIntoView()")
        _shot(driver, "15-dashboard-guide-uses")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.stop()
