"""The city hub's pages in a real browser: headless Debian Chromium at phone width (360 px).

The whole path is real: a Mosquitto standing in for the city broker, the offices' retained group states,
presences and day summaries published on it as the bridges carry them, the hub's ingest feeding its view and a
SQLite store, the pages served by uvicorn. Screenshots go to build/test-artifacts/city/ (looked at by a person
when the pages change): the congestion page in ja, en and vi, the day picker, the KPI page.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import threading

import pytest

from tests.artifacts_dir import TEST_ARTIFACTS
from tests.city_hub.test_web import CITY_FILE, shomei_wait
from tests.system.test_browser_public import chromium, no_sideways_scroll, shot  # noqa: F401  (fixture)

ARTIFACTS = TEST_ARTIFACTS / "city"


@pytest.fixture
def city_broker(tmp_path):
    """A plain Mosquitto on loopback (the city broker's TLS and ACLs are the bridge tests' part)."""
    from madoguchi.local import free_port, wait_for_port

    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n")
    proc = subprocess.Popen([mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _publish_offices(port: int, sites, today: dt.date) -> int:
    """What the offices' bridges carry out: group states, presences, six weeks of final day summaries."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from kiosk.bus.contract import Topics
    from kiosk.bus.schemas import GroupState, Presence, dump
    from tests.city_hub.summaries import summary

    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id="offices", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent = []

    def pub(topic: str, message) -> None:
        sent.append(client.publish(topic, dump(message), qos=1, retain=True))

    states = {
        "sakura-ward": [("shomei", 14, 2, 25), ("jumin", 6, 3, 12), ("koseki", 2, 2, 6), ("kokuho", 9, 2, 35)],
        "sakura-kita": [("shomei", 1, 1, 4), ("jumin", 2, 1, 8), ("koseki", 0, 0, None)],
        "sakura-minami": [("shomei", 0, 1, 0), ("jumin", 1, 1, 5)],
    }
    for site_id, groups in states.items():
        t = Topics(site_id)
        for group, waiting, open_counters, est in groups:
            pub(
                f"{t.root}/queue/state/group/{group}",
                GroupState(group=group, waiting=waiting, open_counters=open_counters, est_wait_min=est),
            )
        pub(t.status("queue-service"), Presence(online=site_id != "sakura-minami"))
    monday = today - dt.timedelta(days=today.weekday())
    for weeks in range(1, 7):
        for wd in range(5):
            day = monday - dt.timedelta(weeks=weeks) + dt.timedelta(days=wd)
            for site_id in sites:
                pub(
                    Topics(site_id).city_day(day.isoformat()),
                    summary(
                        site_id,
                        day.isoformat(),
                        final=True,
                        at="18:00",
                        groups={
                            "shomei": [(h, 5, 5, shomei_wait(site_id, wd, h)) for h in range(9, 17)],
                            "jumin": [(h, 3, 3, 12.0 + (h % 3) * 8) for h in range(9, 17)],
                        },
                        within_target_share=0.72 if site_id == "sakura-ward" else 0.88,
                        satisfaction_share=0.83 if site_id == "sakura-minami" else 0.9,
                        cashless_share=0.12 if site_id == "sakura-ward" else 0.05,
                        guide_uses=30 if site_id == "sakura-ward" else 8,
                        multi_department=20 if site_id == "sakura-ward" else 3,
                    ),
                )
    for info in sent:
        info.wait_for_publish(10)
    client.loop_stop()
    client.disconnect()
    return len(sent)


@pytest.fixture
def city_hub(city_broker, tmp_path):
    """The hub (ingest → view + SQLite store) on the broker, its pages on a free port."""
    import uvicorn

    from city_hub.ingest import Ingest, IngestSettings
    from city_hub.store import Store, migrate
    from city_hub.view import CityView
    from city_hub.web.app import ViewSource, make_app
    from kiosk.config.city import load_city
    from madoguchi.local import free_port, wait_for_port

    city, sites = load_city(CITY_FILE)
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    migrate(url)
    store = Store(url)
    view = CityView(city, sites)
    changed = threading.Condition()
    view.on_change(lambda *_: _notify(changed))
    ingest = Ingest(view, store, IngestSettings(host="127.0.0.1", port=city_broker)).start()
    now = dt.datetime.now(dt.UTC)
    sent = _publish_offices(city_broker, sites, now.astimezone(sites["sakura-ward"].zone).date())
    with changed:
        assert changed.wait_for(lambda: view.office("sakura-minami").online is False, 20)
        assert changed.wait_for(lambda: sum(len(view.summaries(s)) for s in sites) == 3 * 7, 20)
    assert ingest.flush(30)
    assert ingest.counts["stored"] == 3 * 30, (sent, ingest.counts)
    app = make_app(city, sites, ViewSource(view), store, healthy=ingest.connected.is_set)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}", store
    server.should_exit = True
    thread.join(10)
    ingest.stop()
    store.close()


def _notify(cond: threading.Condition) -> None:
    with cond:
        cond.notify_all()


def test_city_pages_in_a_phone_browser(chromium, city_hub) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    base, store = city_hub
    assert len(store.sites()) == 3
    for lang in ("ja", "en", "vi"):
        chromium.get(f"{base}/?lang={lang}&proc=juminhyo")
        order = [e.get_attribute("id") for e in chromium.find_elements(By.CSS_SELECTOR, "ol.offices > li")]
        assert order == ["office-sakura-kita", "office-sakura-ward", "office-sakura-minami"]
        assert chromium.find_element(By.ID, "map").is_displayed()
        no_sideways_scroll(chromium)
        shot(chromium, f"city-congestion-juminhyo-{lang}", ARTIFACTS)
    chromium.get(f"{base}/?lang=ja")
    assert "office-sakura-minami" in chromium.find_element(By.CSS_SELECTOR, "li.state-offline").get_attribute("id")
    no_sideways_scroll(chromium)
    shot(chromium, "city-congestion-all-ja", ARTIFACTS)

    chromium.get(f"{base}/forecast?office=sakura-kita&group=shomei&lang=ja")
    quiet = chromium.find_elements(By.CSS_SELECTOR, "#daygrid td.quiet")
    assert len(quiet) == 3
    assert (
        chromium.find_element(By.ID, "wd-3")
        .find_elements(By.CSS_SELECTOR, "td")[14 - 9]
        .get_attribute("class")
        .endswith("quiet")
    )
    no_sideways_scroll(chromium)
    shot(chromium, "city-forecast-ja", ARTIFACTS)
    chromium.get(f"{base}/forecast?office=sakura-kita&group=shomei&lang=en")
    shot(chromium, "city-forecast-en", ARTIFACTS)

    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    chromium.get(f"{base}/kpi?month={last_month}")
    assert chromium.find_element(By.ID, "kpi-sakura-ward").find_elements(By.CSS_SELECTOR, "td.below")
    no_sideways_scroll(chromium)  # the wide table scrolls inside its box, not the page
    shot(chromium, "city-kpi-phone", ARTIFACTS)
    wide_shot(chromium, "city-kpi")  # read by the city's staff on a desk's screen


def wide_shot(driver, name: str, width: int = 1200) -> None:
    """The whole page at a desktop width (the KPI page's usual reader), then back to the phone."""
    from tests.system.test_browser_public import PHONE

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    desk = {"width": width, "height": 800, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", desk)
    height = driver.execute_script("return Math.ceil(document.documentElement.scrollHeight)")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", desk | {"height": max(height, 800)})
    try:
        driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))
    finally:
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", PHONE)
