"""Staff PINs (the kiosk's concierge mode): hashed in the config, checked in constant time,
locked out after repeated failures so a resident cannot try all 10,000 codes."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

ITERATIONS = 200_000
#: What a stored hash may ask for: fewer is weak, more is a login that never ends (or an OverflowError:
#: ``99999999999999999999`` iterations once passed check-site and made every login a 500).
MIN_ITERATIONS, MAX_ITERATIONS = 10_000, 10_000_000
HASH_FORMAT = re.compile(r"pbkdf2_sha256\$(\d{1,9})\$([0-9a-f]{32})\$([0-9a-f]{64})")


def check_hash(value: str) -> str:
    """``value`` if it is a hash as ``madoguchi hash-pin``/``hash-password`` writes it, else ValueError saying
    what it should be (config files validate with this)."""
    found = HASH_FORMAT.fullmatch(value)
    if found is None:
        raise ValueError("expected pbkdf2_sha256$ITERATIONS$SALT$HASH (madoguchi hash-pin / madoguchi hash-password)")
    if not MIN_ITERATIONS <= int(found[1]) <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be {MIN_ITERATIONS:,} to {MAX_ITERATIONS:,}, not {int(found[1]):,}")
    return value


def hash_pin(pin: str, iterations: int = ITERATIONS) -> str:
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        raise ValueError("a PIN is 4 to 12 digits")
    return _hash(pin, iterations)


def hash_password(password: str, iterations: int = ITERATIONS) -> str:
    """A staff web password (the KPI pages): at least 10 characters; same format as a PIN hash."""
    if len(password) < 10:
        raise ValueError("a staff password has at least 10 characters")
    return _hash(password, iterations)


def _hash(secret: str, iterations: int) -> str:
    salt = secrets.token_hex(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), iterations).hex()
    return f"pbkdf2_sha256${iterations}${salt}${digest}"


def verify_pin(pin: str, hashed: str) -> bool:
    """True if ``pin`` (or a staff password) matches ``hashed``; constant-time."""
    try:
        check_hash(hashed)
    except ValueError:
        return False
    _scheme, iterations, salt, digest = hashed.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), int(iterations)).hex()
    return hmac.compare_digest(candidate, digest)


@dataclass
class PinGuard:
    """Counts wrong PINs; after ``limit`` in a row, refuses every try for ``lock_seconds``."""

    hashed: str
    limit: int = 5
    lock_seconds: float = 300.0
    failures: int = 0
    locked_until: float = field(default=0.0)

    def check(self, pin: str, now: float) -> str:
        """``"ok"``, ``"wrong"`` or ``"locked"``."""
        if now < self.locked_until:
            return "locked"
        if verify_pin(pin, self.hashed):
            self.failures = 0
            return "ok"
        self.failures += 1
        if self.failures >= self.limit:
            self.failures = 0
            self.locked_until = now + self.lock_seconds
            return "locked"
        return "wrong"
