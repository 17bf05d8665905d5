"""``kill -9`` of the queue service in the middle of a day loses nothing.

The service runs as its own process (``madoguchi service``), exactly as deployed.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request

import pytest

from kiosk.bus.schemas import BoardState, CounterState
from tests.conftest import EXAMPLE_SITE
from tests.harness import Watcher, free_port, kill9, start_service_process, wait_for_port

pytestmark = pytest.mark.broker


def health(port: int) -> dict:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        return json.load(e)


def start(broker, http_port):
    proc = start_service_process(broker, EXAMPLE_SITE, http_port)
    wait_for_port(http_port, proc=proc)
    return proc


def test_kill_9_mid_day_loses_nothing(broker, devices):
    http_port = free_port()
    proc = start(broker, http_port)
    try:
        kiosk, panel = devices("kiosk-1f"), devices("panel-c01")
        tickets = [kiosk.request("issue", {"procedures": ["tennyu", "juminhyo"]})["ticket"] for _ in range(5)]
        panel.request("open_counter", {"counter": "c01"})
        panel.request("call_next", {"counter": "c01"})
        panel.request("complete", {"counter": "c01", "note": "住民票は2通"})
        serving = panel.request("call_next", {"counter": "c01"})["ticket"]
        assert serving["id"] == tickets[1]["id"]

        kill9(proc)
        proc = start(broker, http_port)

        # the counter is still serving ticket 2; ticket 1's note is still handed over
        board = devices("board-1f")
        counter = Watcher(board, board.topics.counter_state("c01"), CounterState)
        recent = Watcher(board, board.topics.board_state, BoardState)
        counter.wait_for(lambda w: w.messages and w.messages[-1][1].serving is not None)
        assert counter.messages[-1][1].serving.number == serving["number"]
        recent.wait_for(lambda w: w.messages and [c.number for c in w.messages[-1][1].recent] == [2, 1])
        with pytest.raises(Exception) as err:
            panel.request("call_next", {"counter": "c01"})
        assert getattr(err.value, "code", None) == "counter_busy"
        panel.request("complete", {"counter": "c01"})
        third = panel.request("call_next", {"counter": "c01"})["ticket"]
        assert third["id"] == tickets[2]["id"]
        assert kiosk.request("issue", {"procedures": ["tennyu"]})["ticket"]["number"] == 6
        again = kiosk.request("reprint", {"ticket": tickets[0]["id"]})["ticket"]
        assert again["token"] == tickets[0]["token"], "tokens survive: residents' QR codes keep working"
        assert health(http_port)["tickets_today"] == 6
    finally:
        kill9(proc) if proc.poll() is None else None


def test_kill_9_under_load_every_confirmed_and_retried_command_counts_once(broker, devices):
    """A kiosk issues tickets non-stop while the service is killed and restarted:
    every request ends with exactly one ticket, numbers 1..N with no gap or repeat."""
    http_port = free_port()
    proc = start(broker, http_port)
    kiosk = devices("kiosk-1f")
    results, errors = [], []
    half = threading.Event()

    def issue_many(n: int) -> None:
        for i in range(n):
            try:
                results.append(kiosk.request("issue", {"procedures": ["juminhyo"]}, timeout=2, attempts=15)["ticket"])
            except Exception as exc:  # collected, asserted below
                errors.append(exc)
            if i == n // 3:
                half.set()

    worker = threading.Thread(target=issue_many, args=(60,))
    worker.start()
    try:
        assert half.wait(30)
        kill9(proc)
        proc = start(broker, http_port)
        worker.join(timeout=120)
        assert not worker.is_alive()
        assert errors == []
        numbers = [t["number"] for t in results]
        assert sorted(numbers) == list(range(1, 61)), numbers
        assert len({t["id"] for t in results}) == 60
        assert health(http_port)["tickets_today"] == 60
    finally:
        kill9(proc) if proc.poll() is None else None


def test_health_endpoint_reports_the_bus(broker):
    http_port = free_port()
    proc = start(broker, http_port)
    try:
        body = wait_status(http_port, "ok")
        assert body["site"] == "sakura-ward" and body["broker_connected"] is True
        assert body["journal"] == {"journal_mode": "wal", "synchronous": "full"}, "every command survives power loss"
        broker.stop()
        assert wait_status(http_port, "degraded")["broker_connected"] is False
    finally:
        kill9(proc) if proc.poll() is None else None


def wait_status(port: int, status: str, timeout: float = 15.0) -> dict:
    """Poll the health endpoint until it reports ``status`` (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = health(port)
        if body["status"] == status:
            return body
        time.sleep(0.1)
    raise AssertionError(f"health never became {status}: {body}")
