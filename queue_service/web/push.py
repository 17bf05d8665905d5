"""Web Push for the resident's phone page: the page may ask to be told when its turn is near, when it is called,
and on the pickup call, even while the page is closed (docs/web.md, "The phone page").

- **VAPID keys**: one P-256 key pair per service, made at first start in ``STATE/push/vapid_private.pem`` (mode
  0600; or put there by provisioning). The private key is never logged or served; the public one is the page's
  ``applicationServerKey``.
- **Subscriptions** (``STATE/push/push.sqlite``): the browser's PushSubscription (endpoint and its two keys) tied
  to one ticket's id and the page's language, for the service day only: rows of another day are deleted when the
  day turns, with the day's other data. No personal data: the endpoint is the push service's address for that
  browser, and the payload is the ticket's number and what to do, encrypted to the browser (aes128gcm, RFC 8291).
- **Sending** never blocks the queue: :meth:`PushHub.notify` is a change listener of the service (called on its
  worker thread after every batch and tick) and only sets an event; a thread of its own reads the subscribed
  tickets' status (holding the service's lock for that read only), decides with :mod:`.phone_alert` what is due,
  and posts with ``pywebpush`` (5 s timeout each). An endpoint the push service says is gone (404, 410) is
  dropped; another failure is tried again on the next change or tick.
- **Endpoints** must be ``https://`` on a known push service's host (:data:`PUSH_HOSTS`): the service posts to
  whatever URL a page hands it, so it must not be made to post into the office's own network.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from queue_service.web.api_models import TicketStatusOut
from queue_service.web.phone_alert import Alert, alert_words, current_alert, due

log = logging.getLogger(__name__)

#: Hosts (and their subdomains) of the browsers' push services: Chrome/Android (FCM), Firefox (Mozilla autopush),
#: Safari/iOS (Apple), Edge (Windows Push Notification Services).
PUSH_HOSTS = (
    "fcm.googleapis.com",
    "android.googleapis.com",
    "push.services.mozilla.com",
    "push.apple.com",
    "notify.windows.com",
)
#: A family's phones on one ticket; more is refused.
MAX_PER_TICKET = 4
#: All subscriptions of a day (a busy office issues ~1,000 tickets).
MAX_SUBSCRIPTIONS = 5000
#: Seconds a push service may take to answer one post.
SEND_TIMEOUT = 5.0
#: Seconds a push service keeps a message for a phone that is offline: a stale "3 ahead" is worse than none.
PUSH_TTL = 900
#: A pass runs at least this often without a change (a failed post is tried again).
IDLE_SECONDS = 30.0
KEY_FILE = "vapid_private.pem"
DB_FILE = "push.sqlite"


def _b64url_bytes(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SubscriptionKeys(BaseModel):
    """The browser's keys for the payload's encryption (base64url): its P-256 public key and auth secret."""

    p256dh: str = Field(max_length=128)
    auth: str = Field(max_length=64)

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        raw = _b64url_bytes(value)
        if len(raw) != 65 or raw[0] != 4:
            raise ValueError("p256dh is not an uncompressed P-256 public key")
        return value

    @field_validator("auth")
    @classmethod
    def _secret(cls, value: str) -> str:
        if len(_b64url_bytes(value)) != 16:
            raise ValueError("auth is not a 16-byte secret")
        return value


class SubscriptionIn(BaseModel):
    """``PushSubscription.toJSON()`` as the page posts it."""

    endpoint: str = Field(max_length=2048)
    expirationTime: float | None = None  # noqa: N815 - the browser's name
    keys: SubscriptionKeys

    model_config = ConfigDict(extra="ignore")


def load_vapid(folder: Path):
    """The service's VAPID key (a ``py_vapid.Vapid``), made and saved (mode 0600) when there is none yet."""
    from py_vapid import Vapid  # type: ignore[import-untyped]

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / KEY_FILE
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return Vapid.from_file(str(path))
    vapid = Vapid()
    vapid.generate_keys()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(vapid.private_pem())
    log.info("made the Web Push (VAPID) key pair of this service")
    return vapid


def public_key_b64(vapid) -> str:
    """The VAPID public key as the page's ``applicationServerKey`` (base64url of the uncompressed point)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass
class Subscription:
    endpoint: str
    day: str
    ticket: str
    lang: str
    p256dh: str
    auth: str
    sent: set[str]

    def info(self) -> dict:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class PushStore:
    """Today's subscriptions on disk (so a restart of the service keeps them), one row per endpoint."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = path
        self._lock = threading.Lock()
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        path.chmod(0o600)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS subscriptions (endpoint TEXT PRIMARY KEY, day TEXT NOT NULL, "
            "ticket TEXT NOT NULL, lang TEXT NOT NULL, p256dh TEXT NOT NULL, auth TEXT NOT NULL, "
            "sent TEXT NOT NULL DEFAULT '[]')"
        )

    def add(self, sub: Subscription) -> bool:
        """Keep ``sub`` (replacing the same endpoint's); False when its ticket or the day has too many."""
        with self._lock:
            (per_ticket,) = self.db.execute(
                "SELECT count(*) FROM subscriptions WHERE ticket = ? AND day = ? AND endpoint != ?",
                (sub.ticket, sub.day, sub.endpoint),
            ).fetchone()
            (total,) = self.db.execute("SELECT count(*) FROM subscriptions").fetchone()
            if per_ticket >= MAX_PER_TICKET or total >= MAX_SUBSCRIPTIONS:
                return False
            self.db.execute(
                "INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (sub.endpoint, sub.day, sub.ticket, sub.lang, sub.p256dh, sub.auth, json.dumps(sorted(sub.sent))),
            )
            return True

    def of_day(self, day: str) -> list[Subscription]:
        with self._lock:
            rows = self.db.execute(
                "SELECT endpoint, day, ticket, lang, p256dh, auth, sent FROM subscriptions WHERE day = ?", (day,)
            ).fetchall()
        return [
            Subscription(endpoint, day, ticket, lang, p256dh, auth, set(json.loads(sent)))
            for endpoint, day, ticket, lang, p256dh, auth, sent in rows
        ]

    def mark(self, endpoint: str, sent: set[str]) -> None:
        with self._lock:
            self.db.execute(
                "UPDATE subscriptions SET sent = ? WHERE endpoint = ?", (json.dumps(sorted(sent)), endpoint)
            )

    def drop(self, endpoint: str) -> None:
        with self._lock:
            self.db.execute("DELETE FROM subscriptions WHERE endpoint = ?", (endpoint,))

    def purge_except(self, day: str) -> int:
        """Delete every subscription of another day than ``day``; how many."""
        with self._lock:
            return self.db.execute("DELETE FROM subscriptions WHERE day != ?", (day,)).rowcount

    def close(self) -> None:
        with self._lock:
            self.db.close()


def endpoint_allowed(url: str, hosts: tuple[str, ...], allow_http: bool = False) -> bool:
    """Whether the service may post to ``url``: https on a push service's host (or a subdomain of one);
    ``allow_http`` (tests: a stand-in push service on loopback) lets plain http through too."""
    parts = urlsplit(url)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        return False
    host = (parts.hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in hosts)


class PushHub:
    """Subscriptions, the VAPID key and the sending thread of one service.

    ``status_of(ticket_id, lang)``: the ticket's status as its page sees it (None once it is gone); ``day()``:
    the service day; ``threshold``: the site's ``[phone] alert_ahead``."""

    def __init__(
        self,
        folder: Path,
        status_of: Callable[[str, str], TicketStatusOut | None],
        day: Callable[[], str],
        threshold: int,
        contact: str,
        *,
        hosts: tuple[str, ...] = PUSH_HOSTS,
        allow_http: bool = False,
        timeout: float = SEND_TIMEOUT,
    ) -> None:
        import requests

        self.vapid = load_vapid(folder)
        self.public_key = public_key_b64(self.vapid)
        self.store = PushStore(folder / DB_FILE)
        self.status_of, self.day, self.threshold, self.contact = status_of, day, threshold, contact
        self.hosts, self.allow_http, self.timeout = hosts, allow_http, timeout
        self.session = requests.Session()
        self.sent = self.dropped = self.failed = 0
        self._day = day()
        self.store.purge_except(self._day)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pass_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    # ------------------------------------------------------------ from the service and the page
    def notify(self) -> None:
        """The queue changed (the service's worker thread): wake the sender. Never blocks."""
        self._wake.set()
        if self._thread is None:
            self._start()

    def allowed(self, endpoint: str) -> bool:
        return endpoint_allowed(endpoint, self.hosts, self.allow_http)

    def subscribe(self, ticket_id: str, lang: str, sub: SubscriptionIn, current: Alert | None) -> bool:
        """Keep ``sub`` for the ticket. What the page already shows (``current``) is not pushed again."""
        kept = Subscription(
            sub.endpoint,
            self.day(),
            ticket_id,
            lang,
            sub.keys.p256dh,
            sub.keys.auth,
            {current.key} if current else set(),
        )
        return self.store.add(kept)

    # ------------------------------------------------------------ the sender
    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._run, name="web-push", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(IDLE_SECONDS)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.run_once()
            except Exception:  # one bad pass must not end the sender
                log.exception("a Web Push pass failed; going on")

    def run_once(self) -> int:
        """One pass: purge other days, push what is due to every subscription of today. Returns how many sent."""
        with self._pass_lock:
            day = self.day()
            if day != self._day:
                purged = self.store.purge_except(day)
                log.info("new service day: %d push subscriptions of the last day deleted", purged)
                self._day = day
            sent = 0
            for sub in self.store.of_day(day):
                st = self.status_of(sub.ticket, sub.lang)
                if st is None:
                    continue
                alert = due(current_alert(st, self.threshold), sub.sent)
                if alert is None:
                    continue
                outcome = self._send(sub, alert, st)
                if outcome == "gone":
                    self.store.drop(sub.endpoint)
                    self.dropped += 1
                elif outcome == "sent":
                    sub.sent.add(alert.key)
                    self.store.mark(sub.endpoint, sub.sent)
                    sent += 1
            self.sent += sent
            return sent

    def payload(self, alert: Alert, st: TicketStatusOut, lang: str) -> dict:
        """What the phone is sent (encrypted to it): the number and what to do. No name, token or ticket id."""
        title, body = alert_words(alert, st, lang)
        return {
            "kind": alert.kind,
            "number": st.number,
            "ahead": alert.ahead,
            "title": title,
            "body": body,
            "lang": lang,
            "tag": alert.key,
        }

    def _send(self, sub: Subscription, alert: Alert, st: TicketStatusOut) -> str:
        """``sent``, ``gone`` (404/410: drop it) or ``failed`` (try again later)."""
        from pywebpush import WebPushException, webpush  # type: ignore[import-untyped]

        if not self.allowed(sub.endpoint):  # the hosts were narrowed since it was kept
            return "gone"
        data = json.dumps(self.payload(alert, st, sub.lang), ensure_ascii=False)
        host = urlsplit(sub.endpoint).hostname  # the endpoint itself is a capability: never logged
        try:
            webpush(
                sub.info(),
                data=data,
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.contact},
                ttl=PUSH_TTL,
                timeout=self.timeout,
                headers={"Urgency": "high"},
                requests_session=self.session,
            )
        except WebPushException as exc:
            code = exc.response.status_code if exc.response is not None else None
            if code in (404, 410):
                log.info("push endpoint at %s is gone (%s): subscription dropped", host, code)
                return "gone"
            log.warning("push to %s failed (%s); trying again later", host, code)
            self.failed += 1
            return "failed"
        except Exception as exc:  # network: refused, timed out
            log.warning("push to %s failed (%s); trying again later", host, type(exc).__name__)
            self.failed += 1
            return "failed"
        return "sent"

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.store.close()
        self.session.close()
