"""``madoguchi doctor`` on a site server: the city bridge check, with real brokers provisioned the way a city is
(`madoguchi provision city`, then the office's `init --city-bridge` and `server-bundle`): the link up is OK, the
city broker stopped is a WARN saying since when (from the site broker's own log), an office without a bridge
says so, and appliances do not get the line."""

from __future__ import annotations

import os
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from madoguchi.doctor import CHECKS, Context, diagnose
from madoguchi.doctor.bridge_check import BridgeConf, check_city_bridge, down_since, read_bridge_conf
from madoguchi.local import free_port, stop_process, wait_for_port
from tests.images.test_provision_city import city_run, write_city
from tests.system.test_tls_stack import DEVICES_TOML, eventually, provision_site, start_provisioned_broker

pytestmark = pytest.mark.broker


def start_city_broker(out: Path, port: int, log: Path) -> subprocess.Popen:
    conf = out / "bundles" / "city-broker" / "mosquitto.conf"
    with open(log, "ab") as f:
        proc = subprocess.Popen(["/usr/sbin/mosquitto", "-c", str(conf)], stdout=f, stderr=subprocess.STDOUT)
    wait_for_port(port, proc=proc)
    return proc


def bridge_result(config: Path, broker_conf: Path, log: Path):
    """The doctor's lines for the server's device file; the city bridge line (None when not shown)."""
    ctx = Context(
        config_path=config,
        timeout=2.0,
        ntp_synchronized=lambda: True,
        broker_conf=broker_conf,
        broker_log=lambda ctx: log.read_text(errors="replace").splitlines(),
    )
    results = {r.check: r for r in diagnose(ctx)}
    return results, results.get("city bridge")


@pytest.fixture
def city_and_site(tmp_path, site):
    port = free_port()
    city = write_city(tmp_path / "city", port=port)
    out = tmp_path / "city-out"
    root = ["--run-as-root"] if os.geteuid() == 0 else []
    assert city_run(city, out, *root) == 0
    city_log = tmp_path / "city-broker.log"
    city_broker = start_city_broker(out, port, city_log)
    (tmp_path / "site").mkdir()
    p = provision_site(
        tmp_path / "site", site, DEVICES_TOML, "--city-bridge", str(out / "sites" / "sakura-ward" / "bridge")
    )
    assert p.run("server-bundle") == 0
    site_broker = start_provisioned_broker(p)
    holder = {"city": city_broker, "site": site_broker}
    yield p, holder, p.tmp / "mosquitto.log", (out, port, city_log)
    site_broker.stop()
    if holder["city"] is not None:
        stop_process(holder["city"], timeout=5)


def test_bridge_up_is_ok_and_city_broker_stopped_is_down_since(city_and_site):
    p, holder, site_log, _city = city_and_site
    config = p.bundle("queue-service") / "device.toml"
    conf = p.root / "broker" / "mosquitto.conf"
    seen: dict[str, object] = {}

    def up() -> bool:
        seen["all"], seen["line"] = bridge_result(config, conf, site_log)
        return seen["line"] is not None and seen["line"].status == "OK"

    eventually(up, timeout=20, what="the bridge up")
    results, line = seen["all"], seen["line"]
    assert (
        results["device file"].status == "OK" and "queue service of site sakura-ward" in results["device file"].detail
    )
    assert results["broker login"].status == "OK"
    assert "the link to the city broker 127.0.0.1:" in line.detail and "is up (city-sakura-ward)" in line.detail

    stopped = datetime.now(UTC)
    stop_process(holder["city"], timeout=5)
    holder["city"] = None

    def down() -> bool:
        seen["all"], seen["line"] = bridge_result(config, conf, site_log)
        return seen["line"].status == "WARN"

    eventually(down, timeout=20, what="the bridge down")
    line = seen["line"]
    assert "is down since " in line.detail and "The office works on" in line.detail
    assert "check the network to 127.0.0.1:" in line.fix
    since = datetime.strptime(line.detail.split("is down since ")[1][:19], "%Y-%m-%d %H:%M:%S").astimezone(UTC)
    assert stopped - timedelta(seconds=2) <= since <= datetime.now(UTC)
    assert not any(r.failed for r in seen["all"].values())  # the office can open without the city


def test_the_link_back_is_ok_again(city_and_site):
    p, holder, site_log, (out, port, city_log) = city_and_site
    config = p.bundle("queue-service") / "device.toml"
    conf = p.root / "broker" / "mosquitto.conf"
    eventually(lambda: bridge_result(config, conf, site_log)[1].status == "OK", timeout=20, what="up")
    stop_process(holder["city"], timeout=5)
    eventually(lambda: bridge_result(config, conf, site_log)[1].status == "WARN", timeout=20, what="down")
    holder["city"] = start_city_broker(out, port, city_log)
    # Mosquitto retries after restart_timeout (5 s, then backing off): bounded wait for the reconnect
    eventually(lambda: bridge_result(config, conf, site_log)[1].status == "OK", timeout=60, what="up again")


def test_a_site_without_a_bridge_says_so_and_appliances_do_not_get_the_line(tmp_path, site):
    p = provision_site(tmp_path, site)
    assert p.run("server-bundle") == 0
    broker = start_provisioned_broker(p)
    try:
        config = p.bundle("queue-service") / "device.toml"
        _all, line = bridge_result(config, p.root / "broker" / "mosquitto.conf", tmp_path / "mosquitto.log")
        assert line.status == "OK" and "no bridge configured" in line.detail
        # no mosquitto.conf to read: the broker's word (nothing for the service to read) decides
        _all, line = bridge_result(config, tmp_path / "nowhere.conf", tmp_path / "mosquitto.log")
        assert line.status == "OK" and "no bridge configured" in line.detail
        results, line = bridge_result(p.bundle("kiosk-1f") / "device.toml", tmp_path / "x", tmp_path / "y")
        assert line is None and results["device file"].status == "OK"
    finally:
        broker.stop()


def test_a_bridge_whose_state_the_service_may_not_read_fails(city_and_site):
    p, holder, site_log, _city = city_and_site
    acl = p.root / "broker" / "acl"
    text = acl.read_text()
    acl.write_text(text[: text.index("\n# the city bridge's state")] + "\n")
    broker_conf = p.root / "broker" / "mosquitto.conf"
    holder["site"].reload()  # SIGHUP to the broker this test started: it reads the ACL again
    config = p.bundle("queue-service") / "device.toml"
    eventually(lambda: bridge_result(config, broker_conf, site_log)[1].status == "FAIL", timeout=10, what="refused")
    line = bridge_result(config, broker_conf, site_log)[1]
    assert "does not let queue-service read it" in line.detail and "--city-bridge" in line.fix


# ----------------------------------------------------------------------------------------------- pure parts
def test_reading_the_bridge_from_mosquitto_conf():
    conf = "listener 1883 127.0.0.1\n\n# the bridge\nconnection city-a\naddress hub.example:8883\nremote_clientid a\n"
    assert read_bridge_conf(conf, "a") == BridgeConf("city-a", "hub.example:8883", "a")
    assert read_bridge_conf("listener 1883 127.0.0.1\nconnection_messages true\n", "a") is None


def test_down_since_from_the_log():
    bridge = BridgeConf("city-a", "hub:8883", "a")
    t = int(time.time())
    lines = [
        f"{t - 900}: mosquitto version 2.0.11 starting",  # an earlier run
        f"{t - 800}: Client local.a closed its connection.",
        f"{t - 600}: mosquitto version 2.0.11 starting",
        f"{t - 300}: Client local.a closed its connection.",
        f"{t - 295}: Connecting bridge city-a (hub:8883)",
        f"{t - 295}: Error creating bridge: Connection refused.",
    ]
    since, never, reason = down_since(lines, bridge)
    assert since == datetime.fromtimestamp(t - 300, UTC) and not never and reason.startswith("Error creating bridge")
    since, never, _ = down_since([lines[2], *lines[4:]], bridge)  # never came up in this run
    assert since == datetime.fromtimestamp(t - 600, UTC) and never
    assert down_since([], bridge) == (None, False, None)


def test_a_down_link_without_a_log_still_says_down(city_and_site, tmp_path):
    p, holder, site_log, _city = city_and_site
    config = p.bundle("queue-service") / "device.toml"
    conf = p.root / "broker" / "mosquitto.conf"
    eventually(lambda: bridge_result(config, conf, site_log)[1].status == "OK", timeout=20, what="up")
    stop_process(holder["city"], timeout=5)
    holder["city"] = None
    empty = tmp_path / "empty.log"
    empty.write_text("")
    eventually(lambda: bridge_result(config, conf, empty)[1].status == "WARN", timeout=20, what="down")
    ctx = Context(config_path=config, timeout=2.0, broker_conf=conf, broker_log=lambda ctx: [])
    for fn in CHECKS:  # the checks before it fill in the context
        if fn is check_city_bridge:
            break
        fn(ctx)
    line = check_city_bridge(ctx)
    assert line.status == "WARN" and line.detail.startswith("the link to the city broker 127.0.0.1:")
    assert " is down. The office works on" in line.detail
