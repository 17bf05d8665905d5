"""The queue service's web server under floods (issue 15, medium 1 and item 6), on the real uvicorn server:
idle and slowloris connections are closed after the head timeout, connections over the per-address cap are
closed at once, live streams are capped per ticket, and X-Forwarded-For from loopback is not believed."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager

import pytest

from kiosk.bus.client import BusSettings
from kiosk.bus.contract import Role
from madoguchi.local import wait_for_port
from queue_service.service.app import HttpSettings, QueueService
from queue_service.service.http_guard import ConnectionLimits
from queue_service.web.app import make_app
from tests.harness import free_port

pytestmark = pytest.mark.broker
PASSWORD = "sakura-demo-2026"  # the example site's demo staff account "kanri"


@contextmanager
def web_service(site, broker, tmp_path, limits: ConnectionLimits):
    settings = BusSettings(
        site.site.id, "queue-service", Role.SERVICE, broker.password("queue-service"), "127.0.0.1", broker.port
    )
    port = free_port()
    svc = QueueService(
        site, tmp_path / "queue.sqlite", settings, HttpSettings("127.0.0.1", port, limits=limits), web=make_app
    )
    svc.start()
    wait_for_port(port)
    try:
        yield svc, port
    finally:
        svc.stop()


def healthz(port: int) -> tuple[int, float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, time.monotonic() - started
    except urllib.error.HTTPError as e:
        return e.code, time.monotonic() - started


def closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed ``sock`` (EOF or reset), or None if it stayed open that long."""
    sock.settimeout(seconds)
    started = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def test_idle_and_slowloris_connections_are_closed_after_the_head_timeout(site, broker, tmp_path):
    with web_service(site, broker, tmp_path, ConnectionLimits(header_timeout=1.0)) as (_svc, port):
        idle = [connect(port) for _ in range(20)]
        slow = connect(port)
        slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        assert healthz(port)[0] == 200  # answered while they are held
        for _ in range(3):  # one header line every 0.4 s: never a whole head
            time.sleep(0.4)
            try:
                slow.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
        assert closed_within(slow, 3) is not None
        assert all(closed_within(s, 3) is not None for s in idle)
        for s in [*idle, slow]:
            s.close()
        assert healthz(port)[0] == 200


def test_connections_over_the_per_address_cap_are_closed_at_once(site, broker, tmp_path):
    limits = ConnectionLimits(header_timeout=30.0, max_per_address=10)
    with web_service(site, broker, tmp_path, limits) as (_svc, port):
        held: list[socket.socket] = []
        while len(held) < 10:  # ten that the server keeps (its own health probe may hold a slot for a moment)
            s = connect(port)
            if closed_within(s, 0.3) is None:
                held.append(s)
            else:
                s.close()
        took = None
        for _ in range(10):  # until the server has taken all ten: then the next one is closed at once
            extra = connect(port)
            took = closed_within(extra, 3.0)
            extra.close()
            if took is not None:
                break
        assert took is not None and took < 3, "closed at once, not after the 30 s head timeout"
        assert all(closed_within(s, 0.2) is None for s in held)  # the others stay
        for s in held:
            s.close()
        deadline = time.monotonic() + 5
        while healthz(port)[0] != 200 and time.monotonic() < deadline:  # slots free again
            time.sleep(0.1)
        assert healthz(port)[0] == 200


def test_live_streams_are_capped_per_ticket(site, broker, tmp_path, devices):
    with web_service(site, broker, tmp_path, ConnectionLimits()) as (_svc, port):
        token = devices("kiosk-1f").request("issue", {"procedures": ["juminhyo"]})["ticket"]["token"]

        def open_stream() -> tuple[socket.socket, int]:
            s = connect(port)
            s.sendall(f"GET /t/{token}/events HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            status = int(s.recv(64).split(b" ", 2)[1])
            return s, status

        streams = [open_stream() for _ in range(8)]
        assert [status for _, status in streams] == [200] * 8
        over, status = open_stream()
        assert status == 429
        over.close()
        streams[0][0].close()  # one phone leaves: its slot frees (when the server sees it gone)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            again, status = open_stream()
            again.close()
            if status == 200:
                break
            time.sleep(0.5)
        assert status == 200
        assert healthz(port)[0] == 200
        for s, _ in streams[1:]:
            s.close()


def test_x_forwarded_for_from_loopback_does_not_pick_the_address_the_lockout_counts(site, broker, tmp_path):
    with web_service(site, broker, tmp_path, ConnectionLimits()) as (_svc, port):

        def login(account: str, password: str, forwarded: str) -> int:
            body = urllib.parse.urlencode({"account": account, "password": password}).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/staff/login", body, headers={"X-Forwarded-For": forwarded}
            )
            try:
                with urllib.request.urlopen(request, timeout=10) as r:
                    return r.status
            except urllib.error.HTTPError as e:
                return e.code

        # five wrong passwords, each claiming another address (and another account): the fifth locks
        codes = [login(f"nobody{i}", "wrong-password", f"203.0.113.{i}") for i in range(5)]
        assert codes == [401, 401, 401, 401, 429]
        # the address that counts is the real one (127.0.0.1): it is locked, whatever the header says
        assert login("kanri", PASSWORD, "198.51.100.7") == 429


def test_healthz_body_names_the_worker(site, broker, tmp_path):
    with web_service(site, broker, tmp_path, ConnectionLimits()) as (_svc, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            body = json.load(r)
        assert body["worker"] == "ok" and body["status"] == "ok" and body["quarantined"] == 0
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=5) as r:
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        for path in ("/docs", "/redoc"):  # they would load scripts from a CDN
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
            assert err.value.code == 404


def test_the_ticket_api_is_never_cached(site, broker, tmp_path, devices):
    with web_service(site, broker, tmp_path, ConnectionLimits()) as (_svc, port):
        token = devices("kiosk-1f").request("issue", {"procedures": ["juminhyo"]})["ticket"]["token"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/tickets/{token}", timeout=5) as r:
            assert r.headers["Cache-Control"] == "no-store" and r.headers["X-Content-Type-Options"] == "nosniff"


def test_the_systemd_watchdog_follows_healthz(site, broker, tmp_path, monkeypatch):
    """Pinged while the worker takes commands and the web server answers; not while the worker is stuck."""
    import threading

    from tests.images.test_images import NotifySocket

    notify = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    monkeypatch.setenv("WATCHDOG_USEC", "1500000")  # a ping every 0.5 s
    try:
        with web_service(site, broker, tmp_path, ConnectionLimits()) as (svc, _port):
            assert "WATCHDOG=1" in notify.wait_for("WATCHDOG=1", timeout=10)[-1]
            svc.stuck_after = 0.5
            release = threading.Event()
            real = svc.core.tick

            def stuck():
                release.wait(30)
                return real()

            svc.core.tick = stuck
            svc.inbox.put(None)  # wake the worker for a tick now (None is what a timed-out wait hands over)
            deadline = time.monotonic() + 10
            while svc.worker_state() != "stuck" and time.monotonic() < deadline:
                time.sleep(0.05)
            assert svc.worker_state() == "stuck"
            while True:  # drain what was sent before it got stuck
                try:
                    notify.receive(timeout=1.5)
                except TimeoutError:
                    break
            with pytest.raises(TimeoutError):  # no ping while stuck (three intervals)
                notify.receive(timeout=1.5)
            release.set()
            svc.core.tick = real
            assert "WATCHDOG=1" in notify.wait_for("WATCHDOG=1", timeout=10)[-1]  # back
    finally:
        notify.sock.close()
