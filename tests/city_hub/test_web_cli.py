"""``madoguchi city migrate`` and ``madoguchi city serve`` as a resident's browser and an operator see them: a real
Mosquitto as the city broker, the command as its own process, Ctrl-C (SIGINT) stopping it cleanly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx

from kiosk.bus.contract import Topics
from kiosk.bus.schemas import GroupState, Presence, dump
from madoguchi.local import free_port
from tests.city_hub.test_web import CITY_FILE
from tests.system.test_browser_city import city_broker  # noqa: F401  (fixture)

MADOGUCHI = [sys.executable, "-m", "madoguchi"]


def test_migrate_creates_the_schema(tmp_path) -> None:
    db = tmp_path / "hub.sqlite"
    out = subprocess.run(
        [*MADOGUCHI, "city", "migrate", "--city", str(CITY_FILE), "--database", f"sqlite:///{db}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "at revision" in out.stdout and db.exists()
    bad = subprocess.run([*MADOGUCHI, "city", "migrate", "--city", str(tmp_path / "none.toml")], capture_output=True)
    assert bad.returncode == 2


def wait_until(check, timeout: float = 20.0):
    """Poll ``check`` (an HTTP answer) until it returns something truthy: the hub answers when it has the state."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except httpx.HTTPError:
            found = None
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_serve_follows_the_broker_and_stops_on_ctrl_c(city_broker, tmp_path) -> None:  # noqa: F811
    import paho.mqtt.publish as publish

    t = Topics("sakura-kita")
    publish.multiple(
        [
            {
                "topic": f"{t.root}/queue/state/group/shomei",
                "payload": dump(GroupState(group="shomei", waiting=2, open_counters=1, est_wait_min=6)),
                "retain": True,
                "qos": 1,
            },
            {"topic": t.status("queue-service"), "payload": dump(Presence(online=True)), "retain": True, "qos": 1},
        ],
        hostname="127.0.0.1",
        port=city_broker,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            *MADOGUCHI,
            "city",
            "serve",
            "--city",
            str(CITY_FILE),
            "--database",
            f"sqlite:///{tmp_path / 'hub.sqlite'}",
            "--broker",
            f"127.0.0.1:{city_broker}",
            "--http",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"

        def kita_first():
            offices = httpx.get(f"{base}/api/v1/offices?proc=juminhyo&lang=en", timeout=2).json()
            return offices if offices[0]["site"] == "sakura-kita" and offices[0]["match"]["waiting"] == 2 else None

        offices = wait_until(kita_first)
        assert offices, "the hub never showed the branch's retained state"
        assert wait_until(lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200)
        assert "Sakura Ward North Branch" in httpx.get(f"{base}/?lang=en").text
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, out
    assert "city hub stopped" in out
    # nothing left listening
    try:
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
        raise AssertionError("the hub's web server still answers after Ctrl-C")
    except httpx.ConnectError:
        pass
