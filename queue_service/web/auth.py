"""Staff logins for the KPI pages: accounts from the site config (``[[staff]]``, pbkdf2 hashes), a signed
session cookie, and a lockout after repeated wrong passwords.

* The session is an itsdangerous-signed cookie (HttpOnly, SameSite=Strict, Secure when served over
  HTTPS) holding the account id, a fingerprint of its password hash (a changed password ends the old
  sessions), a CSRF token for the logout form and a session id. It expires after :data:`SESSION_SECONDS`;
  logout revokes the session id in the service, so a copy of the cookie taken before is refused too
  (in memory: a restart ends every session anyway, the secret being per process).
* The signing secret is random per service process (a restart logs everybody out) unless
  ``MADOGUCHI_STAFF_SECRET`` (or the ``secret`` argument) gives one, e.g. for several workers.
* Like the kiosk's :class:`kiosk.pin.PinGuard`: :data:`LOCK_AFTER` wrong passwords in a row for an
  account, or from one client address, lock that account / address out for :data:`LOCK_SECONDS`.
  An unknown account name costs the same hashing time as a known one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

from kiosk.config.site import StaffAccount
from kiosk.pin import verify_pin

COOKIE = "madoguchi_staff"
SESSION_SECONDS = 10 * 3600  # one working day and some
LOCK_AFTER = 5
LOCK_SECONDS = 300.0
SECRET_ENV = "MADOGUCHI_STAFF_SECRET"
#: A hash to check unknown names against, so "no such account" takes as long as "wrong password".
_DUMMY_HASH = "pbkdf2_sha256$200000$00000000000000000000000000000000$" + "0" * 64


@dataclass(frozen=True)
class Session:
    account: StaffAccount
    csrf: str
    #: What logout revokes: every copy of the cookie carries it.
    sid: str


@dataclass
class _Strikes:
    failures: int = 0
    locked_until: float = 0.0


class LoginGuard:
    """Wrong-password counts per key (``account:kanri``, ``ip:10.0.0.5``); thread-safe."""

    def __init__(
        self, limit: int = LOCK_AFTER, lock_seconds: float = LOCK_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.lock_seconds = lock_seconds
        self.clock = clock
        self._strikes: dict[str, _Strikes] = {}
        self._lock = threading.Lock()

    def locked(self, *keys: str) -> float:
        """Seconds until every one of ``keys`` may try again (0: none is locked)."""
        now = self.clock()
        with self._lock:
            left = [s.locked_until - now for k in keys if (s := self._strikes.get(k)) is not None]
        return max([0.0, *left])

    def failed(self, *keys: str) -> bool:
        """Count a wrong password for each key; True when that locked one of them."""
        now = self.clock()
        locked = False
        with self._lock:
            if len(self._strikes) > 10_000:  # someone is spraying names: forget the unlocked ones
                self._strikes = {k: s for k, s in self._strikes.items() if s.locked_until > now}
            for key in keys:
                strikes = self._strikes.setdefault(key, _Strikes())
                strikes.failures += 1
                if strikes.failures >= self.limit:
                    strikes.failures = 0
                    strikes.locked_until = now + self.lock_seconds
                    locked = True
        return locked

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._strikes.pop(key, None)


class StaffAuth:
    def __init__(
        self,
        accounts: tuple[StaffAccount, ...] | list[StaffAccount],
        secret: str | None = None,
        guard: LoginGuard | None = None,
        max_age: int = SESSION_SECONDS,
    ) -> None:
        self.accounts = {a.id: a for a in accounts}
        secret = secret or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32)
        self.serializer = URLSafeTimedSerializer(secret, salt="madoguchi-staff-session")
        self.guard = guard or LoginGuard()
        self.max_age = max_age
        #: Sessions ended by logout: session id → when its cookie would have expired anyway. A copied
        #: cookie is refused from the moment its owner logs out, not 10 hours later.
        self._revoked: dict[str, float] = {}
        self._revoked_lock = threading.Lock()

    @staticmethod
    def _fingerprint(account: StaffAccount) -> str:
        return hashlib.sha256(account.password.encode()).hexdigest()[:16]

    def login(self, account_id: str, password: str, client: str) -> tuple[str, StaffAccount | None, float]:
        """``("ok", account, 0)``, ``("wrong", None, 0)`` or ``("locked", None, seconds left)``."""
        account_id = account_id.strip()
        keys = (f"account:{account_id[:64]}", f"ip:{client}")
        wait = self.guard.locked(*keys)
        if wait > 0:
            return "locked", None, wait
        account = self.accounts.get(account_id)
        ok = verify_pin(password, account.password if account else _DUMMY_HASH) and account is not None
        if ok:
            self.guard.succeeded(*keys)
            return "ok", account, 0.0
        if self.guard.failed(*keys):
            return "locked", None, self.guard.locked(*keys)
        return "wrong", None, 0.0

    def cookie_for(self, account: StaffAccount) -> str:
        return self.serializer.dumps(
            {
                "id": account.id,
                "fp": self._fingerprint(account),
                "csrf": secrets.token_urlsafe(16),
                "sid": secrets.token_urlsafe(16),
            }
        )

    def revoke(self, session: Session) -> None:
        """Logout: ``session`` ends here, for every copy of its cookie."""
        now = time.monotonic()
        with self._revoked_lock:
            self._revoked = {sid: until for sid, until in self._revoked.items() if until > now}  # forget expired
            self._revoked[session.sid] = now + self.max_age

    def session(self, cookie: str | None) -> Session | None:
        """The session a cookie value stands for, or None (missing, forged, expired, revoked, account gone or
        changed)."""
        if not cookie:
            return None
        try:
            data = self.serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:  # SignatureExpired is a BadSignature too
            return None
        if not isinstance(data, dict) or not isinstance(data.get("sid"), str):
            return None
        with self._revoked_lock:
            if data["sid"] in self._revoked:
                return None
        account = self.accounts.get(str(data.get("id")))
        if account is None or not hmac.compare_digest(str(data.get("fp")), self._fingerprint(account)):
            return None
        return Session(account, str(data.get("csrf", "")), data["sid"])
