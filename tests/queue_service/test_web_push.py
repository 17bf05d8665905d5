"""Web Push of the phone page end to end on loopback (queue_service.web.push): the page's subscribe endpoint, the
real pywebpush posting to a local HTTP server that stands in for the browser's push service, the payload decrypted
with the subscription's own keys (RFC 8291 aes128gcm via http_ece), the VAPID header checked with the service's
public key, a 410 dropping the subscription, a slow push service never holding up the queue, and the day's
subscriptions deleted when the day turns.

The service core is the real one (QueueCore + journal + DirectClient, a clock the test moves), with the router
make_public_router mounts served by FastAPI's TestClient.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import queue
import threading
import types
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from fastapi import FastAPI
from fastapi.testclient import TestClient

from queue_service.service.core import QueueCore
from queue_service.service.direct import DirectClient
from queue_service.service.journal import Journal
from queue_service.web.live import LiveHub, StreamLimits
from queue_service.web.pages import SitePages
from queue_service.web.push import PushHub
from queue_service.web.status import make_status_router

JST = ZoneInfo("Asia/Tokyo")
PANEL, KIOSK = "panel-demo", "kiosk-1f"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PushService:
    """A stand-in push service on 127.0.0.1: records every post; ``/gone/...`` answers 410, ``/slow/...`` waits
    for ``release`` before answering, the rest 201."""

    def __init__(self) -> None:
        self.posts: queue.Queue = queue.Queue()
        self.release = threading.Event()
        self.slow_arrived = threading.Event()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path.startswith("/slow/"):
                    owner.slow_arrived.set()
                    owner.release.wait(30)
                owner.posts.put((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(410 if self.path.startswith("/gone/") else 201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_post(self, timeout: float = 20.0) -> tuple[str, dict, bytes]:
        return self.posts.get(timeout=timeout)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


class Browser:
    """A browser's side of one subscription: its P-256 key pair and auth secret, as PushManager makes them."""

    def __init__(self, endpoint: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = endpoint

    def subscription(self) -> dict:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": b64(public), "auth": b64(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"))


class Office:
    def __init__(self, site, tmp_path: Path, push_url: str) -> None:
        self.clock_now = datetime(2026, 11, 24, 10, 0, tzinfo=JST)
        self.journal = Journal(tmp_path / "queue.sqlite", durable=False)
        self.core = QueueCore(site, self.journal, clock=lambda: self.clock_now)
        self.service = types.SimpleNamespace(
            site=site, core=self.core, journal=self.journal, lock=threading.RLock(), change_listeners=[]
        )
        self.bus = DirectClient(self.core)
        self.hub: PushHub | None = None

        def push(service, status_of) -> PushHub:
            self.hub = PushHub(
                tmp_path / "push",
                status_of,
                lambda: service.core.engine.day,
                site.phone.alert_ahead,
                site.phone.push_contact,
                hosts=("127.0.0.1",),
                allow_http=True,
            )
            service.change_listeners.append(self.hub.notify)
            return self.hub

        app = FastAPI()
        app.include_router(make_status_router(self.service, SitePages(site), LiveHub(), StreamLimits(), push=push))
        self.http = TestClient(app)

    def cmd(self, device: str, verb: str, **args) -> dict:
        with self.service.lock:
            result = self.bus.request(device, verb, args)
        for listener in self.service.change_listeners:  # as the service's worker does after a batch
            listener()
        return result

    def close(self) -> None:
        if self.hub is not None:
            self.hub.close()
        self.journal.close()


@pytest.fixture
def pushsvc():
    p = PushService()
    yield p
    p.close()


@pytest.fixture
def office(site, tmp_path, pushsvc):
    o = Office(site, tmp_path, pushsvc.url)
    yield o
    o.close()


def verify_vapid(headers: dict, public_key: str, audience: str) -> dict:
    """The VAPID Authorization header (RFC 8292): ``vapid t=JWT, k=KEY``, signed by the service's key."""
    scheme, _, params = headers["authorization"].partition(" ")
    assert scheme == "vapid"
    fields = dict(part.strip().split("=", 1) for part in params.split(","))
    assert fields["k"] == public_key
    head, claims, signature = fields["t"].split(".")
    raw = unb64(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64(public_key))
    key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))  # raises when forged
    payload = json.loads(unb64(claims))
    assert payload["aud"] == audience and payload["sub"].startswith("mailto:")
    return payload


def test_pushes_near_called_and_pickup_encrypted_and_drops_a_gone_endpoint(office, pushsvc, caplog):
    caplog.set_level(logging.INFO)
    others = [office.cmd(KIOSK, "issue", procedures=["kaigo_shikaku"], lang="ja")["ticket"] for _ in range(5)]
    mine = office.cmd(KIOSK, "issue", procedures=["kaigo_shikaku"], lang="en")["ticket"]
    office.cmd(PANEL, "open_counter", counter="c31")
    hub = office.hub
    assert hub is not None

    # the page: the service's public key for PushManager.subscribe, and the endpoint to post the subscription to
    page = office.http.get(f"/t/{mine['token']}")
    assert f'data-push-key="{hub.public_key}"' in page.text and f"/t/{mine['token']}/push" in page.text
    key_file = office.journal.path.parent / "push" / "vapid_private.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    sw = office.http.get("/t/sw.js")
    assert sw.status_code == 200 and "javascript" in sw.headers["content-type"] and "showNotification" in sw.text

    phone, stale = Browser(f"{pushsvc.url}/ok/phone-1"), Browser(f"{pushsvc.url}/gone/phone-2")
    url = f"/t/{mine['token']}/push"
    for browser in (phone, stale):
        assert office.http.post(url, json=browser.subscription()).status_code == 201
    # what is refused: another site's page, an endpoint that is not a push service, not a subscription, no ticket
    assert office.http.post(url, json=phone.subscription(), headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    intranet = Browser("https://10.0.0.5/admin").subscription()
    assert office.http.post(url, json=intranet).status_code == 422
    assert (
        office.http.post(
            url, json={"endpoint": f"{pushsvc.url}/x", "keys": {"p256dh": "AAAA", "auth": "x"}}
        ).status_code
        == 422
    )
    assert office.http.post("/t/AAAAAAAAAAAAAAAAAAAAAA/push", json=phone.subscription()).status_code == 404

    # the queue moves: 5 ahead, 4 ahead (nothing yet), then 3 ahead (the site's alert_ahead): one push per phone
    for _ in range(2):
        office.cmd(PANEL, "call_next", counter="c31")
        office.cmd(PANEL, "complete", counter="c31")
    posts = {path: (headers, body) for path, headers, body in (pushsvc.next_post(), pushsvc.next_post())}
    assert set(posts) == {"/ok/phone-1", "/gone/phone-2"}
    headers, body = posts["/ok/phone-1"]
    assert headers["content-encoding"] == "aes128gcm" and headers["urgency"] == "high" and int(headers["ttl"]) > 0
    verify_vapid(headers, hub.public_key, pushsvc.url)
    near = phone.decrypt(body)
    assert near["kind"] == "near" and near["ahead"] == 3 and near["number"] == mine["number"]
    assert near["title"] == f"Your number {mine['number']}" and near["body"].startswith("3 people ahead of you")
    assert set(near) == {"kind", "number", "ahead", "title", "body", "lang", "tag"}
    plain = json.dumps(near)
    assert mine["token"] not in plain and mine["id"] not in plain  # nothing that finds or names the ticket
    assert stale.decrypt(posts["/gone/phone-2"][1])["kind"] == "near"  # encrypted to each phone's own keys
    hub.run_once()  # waits for the sender's pass: the 410 has dropped that subscription
    assert [s.endpoint for s in hub.store.of_day(office.core.engine.day)] == [phone.endpoint]
    assert hub.dropped == 1

    # 2 and 1 ahead: no second push for the same turn; then the call
    office.cmd(PANEL, "call_next", counter="c31")
    office.cmd(PANEL, "complete", counter="c31")
    office.cmd(PANEL, "call_next", counter="c31")
    office.cmd(PANEL, "complete", counter="c31")
    office.cmd(PANEL, "call_next", counter="c31")
    office.cmd(PANEL, "complete", counter="c31")
    assert office.cmd(PANEL, "call_next", counter="c31")["ticket"]["id"] == mine["id"]
    path, _headers, body = pushsvc.next_post()
    called = phone.decrypt(body)
    assert path == "/ok/phone-1" and called["kind"] == "called" and called["ahead"] is None
    assert "Your number is called" in called["body"] and "Counter 31" in called["body"]

    # the later delivery: called again at the pickup counter once the back office marks it ready
    office.cmd(PANEL, "complete", counter="c31")
    office.cmd(PANEL, "open_counter", counter="c07")
    office.cmd(PANEL, "mark_ready", ticket=mine["id"], procedure="kaigo_shikaku")
    assert office.cmd(PANEL, "call_next", counter="c07")["ticket"]["id"] == mine["id"]
    path, _headers, body = pushsvc.next_post()
    pickup = phone.decrypt(body)
    assert pickup["kind"] == "pickup" and "Ready to pick up" in pickup["body"] and "Counter 7" in pickup["body"]
    hub.run_once()
    assert pushsvc.posts.empty(), "each event was pushed once"
    assert hub.sent == 3 and others  # near, called, pickup (the near post to the gone phone was answered 410)

    # never logged by the service: the private key, the endpoints (capability URLs), the token
    private_pem = key_file.read_text()
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))  # the test's client
    assert private_pem.splitlines()[1] not in logged and "phone-1" not in logged and mine["token"] not in logged


def test_a_slow_push_service_never_holds_up_the_queue_and_the_day_is_purged(office, pushsvc):
    first = office.cmd(KIOSK, "issue", procedures=["tennyu"], lang="ja")["ticket"]
    mine = office.cmd(KIOSK, "issue", procedures=["tennyu"], lang="ja")["ticket"]
    office.cmd(PANEL, "open_counter", counter="c01")
    slow = Browser(f"{pushsvc.url}/slow/phone")
    assert office.http.post(f"/t/{mine['token']}/push?lang=ja", json=slow.subscription()).status_code == 201
    # 1 ahead is already near (alert_ahead 3): the page shows it, so subscribing does not push it again; the call does
    office.cmd(PANEL, "call_next", counter="c01")  # the first ticket
    office.cmd(PANEL, "complete", counter="c01")
    assert office.cmd(PANEL, "call_next", counter="c01")["ticket"]["id"] == mine["id"]
    assert pushsvc.slow_arrived.wait(20), "the call was pushed"
    # the push service has not answered yet, and the queue goes on: commands and their listeners return at once
    office.cmd(KIOSK, "issue", procedures=["tennyu"], lang="ja")
    office.cmd(PANEL, "complete", counter="c01")
    assert not pushsvc.release.is_set() and pushsvc.posts.empty()
    pushsvc.release.set()
    path, _headers, body = pushsvc.next_post()
    called = slow.decrypt(body)
    assert called["kind"] == "called" and called["lang"] == "ja" and "呼ばれました" in called["body"] and first

    # the next day: the subscriptions of the last one are deleted with the day's data
    assert office.hub is not None
    day = office.core.engine.day
    assert len(office.hub.store.of_day(day)) == 1
    office.clock_now += timedelta(days=1)
    office.core.tick()
    office.hub.run_once()
    (count,) = office.hub.store.db.execute("SELECT count(*) FROM subscriptions").fetchone()
    assert count == 0 and office.core.engine.day != day
