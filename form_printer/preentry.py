"""Pre-entered form data (事前入力) carried in a signed QR code from the city's web form to the form issuer.

The resident fills in what the card does not hold (move date, new address, bank account...) on the city's web site;
the site shows a QR code; the form issuer's scanner reads it. The payload is::

    MDG1.<BODY>.<SIG>
    BODY = base32(compact UTF-8 JSON {"v":1,"site":..., "iat":unix, "exp":unix, "fields":{key: text}})
    SIG  = base32(HMAC-SHA256(site key, "MDG1." + BODY))

base32 (RFC 4648 alphabet, upper case, no "=" padding) rather than base64, because:

- the scanner is a USB keyboard wedge: it can only "type" ASCII, and a kiosk whose Caps Lock got switched on swaps
  the case of every letter it types. base32 is case-insensitive: the reader upper-cases before checking, and
  base64's "-" and "_" are the first keys a Japanese (JIS) keyboard layout maps differently;
- upper-case letters, digits and "." are all in the QR code's alphanumeric mode (5.5 bits a character), so the code
  is no denser than with base64 in byte mode (8 bits a character).

The signature proves the city's web form produced the payload and nobody edited it since; it does not hide it (the
QR is the resident's own data, on the resident's own phone or paper). The key is shared by the web form and the
kiosks of a site: 32 random bytes, hex, in a file only its owner can read (:func:`load_key`).

CLI: ``python -m form_printer.preentry new-key|make|verify`` (see docs/forms.md).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from PIL import Image

from kiosk.qr import qr_image as kiosk_qr_image

PREFIX = "MDG1."
VERSION = 1
#: A field key: what ``pre.<key>`` sources in the templates name.
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
#: A field value may be long (an address) but not unbounded.
MAX_VALUE_CHARS = 200
#: A QR code holds at most 4296 alphanumeric characters (version 40-L); longer payloads cannot be scanned.
MAX_PAYLOAD_CHARS = 4296
#: Clocks of the web server and a kiosk may differ this much ("issued in the future" is allowed up to it).
CLOCK_SKEW = timedelta(minutes=5)
#: 2100-01-01: any later ``exp`` is not a date a web form sets (and 10**20 would overflow datetime).
MAX_TIMESTAMP = 4_102_444_800
#: AIM symbology identifier a scanner may put before the data ("]Q1" for a QR code), see ISO/IEC 15424.
_AIM_PREFIX = re.compile(r"^\][A-Za-z][0-9A-Za-z]")
_BASE32 = re.compile(r"^[A-Z2-7]+$")

#: ``no_key``: the form issuer has no pre-entry key to verify with (raised by the issuer, not by :func:`read_payload`).
ErrorCode = Literal["malformed", "tampered", "expired", "wrong_site", "unknown_field", "no_key"]


class PreEntryError(ValueError):
    """A payload that cannot be used. ``code`` is what the app translates; the message is English, for logs."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass
class PreEntry:
    """What the resident pre-entered, once the payload is verified."""

    fields: dict[str, str] = field(repr=False)  # personal data: never in a repr
    expires: datetime


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def _b32decode(text: str) -> bytes:
    """Unpadded RFC 4648 base32, canonical only: the unused low bits of the last character must be zero,
    so one payload has exactly one spelling (otherwise several scans of "different" codes verify)."""
    if not _BASE32.fullmatch(text):
        raise ValueError("not base32")
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error:
        raise ValueError("not base32") from None
    if base64.b32encode(data).decode("ascii").rstrip("=") != text:
        raise ValueError("not canonical base32")
    return data


def _sign(key: bytes, body: str) -> bytes:
    return hmac.new(key, (PREFIX + body).encode("ascii"), hashlib.sha256).digest()


def _timestamp(moment: datetime, name: str) -> int:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return int(moment.timestamp())


def _check_fields(fields: dict[str, str], known: set[str] | None) -> None:
    for key, value in fields.items():
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            raise PreEntryError("malformed", f"field name {key!r} is not lower_snake_case")
        if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
            raise PreEntryError("malformed", f"field {key!r} is not text of at most {MAX_VALUE_CHARS} characters")
        if known is not None and key not in known:
            raise PreEntryError("unknown_field", f"field {key!r} is not used by any form")


def make_payload(fields: dict[str, str], key: bytes, site: str, expires: datetime, now: datetime) -> str:
    """The signed payload for ``fields`` (what the city's web form does; here for the demo, tests and the CLI)."""
    _check_fields(fields, None)
    body = {
        "v": VERSION,
        "site": site,
        "iat": _timestamp(now, "now"),
        "exp": _timestamp(expires, "expires"),
        "fields": fields,
    }
    encoded = _b32encode(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    payload = f"{PREFIX}{encoded}.{_b32encode(_sign(key, encoded))}"
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise ValueError(f"payload of {len(payload)} characters does not fit in a QR code ({MAX_PAYLOAD_CHARS})")
    return payload


def read_payload(text: str, key: bytes, site: str, now: datetime, known: set[str] | None = None) -> PreEntry:
    """Verify a scanned payload and return its fields; :class:`PreEntryError` says why it cannot be used.

    Leading/trailing whitespace and control characters (the scanner's Enter) and an AIM prefix like ``]Q1`` are
    dropped; letter case does not matter. The signature is checked (in constant time) before anything in the body
    is believed. ``known``: the pre-entry keys the site's forms use; any other key is ``unknown_field`` (a web form
    and templates that disagree should be noticed, not printed half).
    """
    cleaned = _AIM_PREFIX.sub("", "".join(ch for ch in text if ch.isprintable()).strip()).strip().upper()
    if not cleaned.startswith(PREFIX):
        raise PreEntryError("malformed", f"not a pre-entry code (expected it to start with {PREFIX!r})")
    parts = cleaned[len(PREFIX) :].split(".")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise PreEntryError("malformed", "expected MDG1.<body>.<signature>")
    body, signature = parts
    if not _BASE32.fullmatch(body):  # before signing it: a non-ASCII body (a scanner in an IME mode) is no code
        raise PreEntryError("malformed", "the body is not base32 (A-Z, 2-7)")
    try:
        given = _b32decode(signature)
    except ValueError:
        raise PreEntryError("malformed", "the signature is not base32") from None
    if not hmac.compare_digest(given, _sign(key, body)):
        raise PreEntryError("tampered", "the signature does not match: changed, damaged, or made with another key")
    try:
        data = json.loads(_b32decode(body).decode("utf-8"))
    except ValueError:
        raise PreEntryError("malformed", "the body is not base32-encoded UTF-8 JSON") from None
    if not isinstance(data, dict) or type(data.get("v")) is not int or data.get("v") != VERSION:
        raise PreEntryError(
            "malformed", f"unsupported payload version {data.get('v') if isinstance(data, dict) else None!r}"
        )
    fields, iat, exp = data.get("fields"), data.get("iat"), data.get("exp")
    if not isinstance(fields, dict) or type(iat) is not int or type(exp) is not int:  # bool is no time
        raise PreEntryError("malformed", "the body lacks fields, iat or exp")
    if not 0 <= iat <= exp <= MAX_TIMESTAMP:
        raise PreEntryError("malformed", "iat and exp are not times in order")
    if data.get("site") != site:
        raise PreEntryError("wrong_site", f"made for site {data.get('site')!r}, this is {site!r}")
    moment = _timestamp(now, "now")
    if moment >= exp:
        raise PreEntryError("expired", f"expired at {datetime.fromtimestamp(exp, UTC).isoformat()}")
    if iat > moment + CLOCK_SKEW.total_seconds():
        raise PreEntryError("malformed", "issued in the future (check the clocks)")
    _check_fields(fields, known)
    return PreEntry(fields=dict(fields), expires=datetime.fromtimestamp(exp, UTC))


def new_key() -> str:
    """A new site key: 32 random bytes, hex."""
    return secrets.token_hex(32)


def load_key(path: Path) -> bytes:
    """The site key from ``path`` (64 hex digits). A file that group or others may access is refused: the key lets
    anyone forge pre-entered data."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ValueError(f"cannot read the pre-entry key file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"pre-entry key file {path}: not hex") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(
            f"pre-entry key file {path} is accessible by group or others (mode {stat.filemode(mode)}): "
            f"run chmod 600 {path}"
        )
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"pre-entry key file {path}: not hex") from None
    if len(key) != 32:
        raise ValueError(f"pre-entry key file {path}: expected 32 bytes (64 hex digits), found {len(key)}")
    return key


def qr_image(payload: str, module: int = 8) -> Image.Image:
    """The payload as a QR code (error correction M), mode "L"; qrcode picks alphanumeric mode for it."""
    return kiosk_qr_image(payload, module)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)


def _parse_field(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m form_printer.preentry", description="Signed pre-entry QR codes.")
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("new-key", help="print a new site key (or write it, mode 0600, with --out)")
    new.add_argument("--out", type=Path, help="write the key to this new file instead of printing it")
    make = sub.add_parser("make", help="print a payload for the given fields")
    verify = sub.add_parser("verify", help="check a payload and print its fields as JSON")
    for p in (make, verify):
        p.add_argument("--key-file", type=Path, required=True)
        p.add_argument("--site", required=True)
    make.add_argument("--days", type=float, default=14, help="valid for this many days (default 14)")
    make.add_argument("--field", type=_parse_field, action="append", default=[], metavar="KEY=VALUE")
    make.add_argument("--png", type=Path, help="also save the QR code as this PNG")
    verify.add_argument("payload")
    args = parser.parse_args(argv)

    if args.command == "new-key":
        if args.out:
            try:
                _write_private(args.out, new_key() + "\n")
            except OSError as exc:
                print(f"error: cannot create {args.out}: {exc.strerror}", file=sys.stderr)
                return 1
        else:
            print(new_key())
        return 0
    try:
        key = load_key(args.key_file)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    now = datetime.now(UTC)
    if args.command == "make":
        try:
            payload = make_payload(dict(args.field), key, args.site, now + timedelta(days=args.days), now)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        if args.png:
            qr_image(payload).save(args.png)
        print(payload)
        return 0
    try:
        entry = read_payload(args.payload, key, args.site, now)
    except PreEntryError as exc:
        print(f"error: {exc.code}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps({"expires": entry.expires.isoformat(), "fields": entry.fields}, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
