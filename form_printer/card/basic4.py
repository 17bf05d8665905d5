"""The card's 4 basic items (基本4情報): name, address, birth date, sex.

They are personal information: they live in memory for one resident's session only. Python
strings cannot be overwritten in place, so ``wipe`` drops every reference this object holds;
the raw APDU buffers (bytearrays) are zeroed by the reader where they are owned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from form_printer.card import tlv

#: ISO 5218 codes as the card stores them.
SEX_CODES = {"1": "male", "2": "female", "9": "not_applicable"}


@dataclass
class BasicFour:
    name: str
    address: str
    #: The birth date as the card stores it, ``YYYYMMDD``.
    birth: str
    #: ISO 5218: "1" male, "2" female, "9" not applicable.
    sex: str

    @property
    def birth_date(self) -> date:
        return date(int(self.birth[:4]), int(self.birth[4:6]), int(self.birth[6:8]))

    def wipe(self) -> None:
        """Forget the items (the session ended: card removed, finished or idle)."""
        self.name = self.address = self.birth = self.sex = ""

    @property
    def wiped(self) -> bool:
        return not (self.name or self.address or self.birth or self.sex)

    def __repr__(self) -> str:  # never print personal data by accident (logs, tracebacks)
        return "BasicFour(<redacted>)" if not self.wiped else "BasicFour(<wiped>)"

    __str__ = __repr__


TAG_CONTAINER = 0xFF20
TAG_HEADER = 0xDF21
TAG_NAME = 0xDF22
TAG_ADDRESS = 0xDF23
TAG_BIRTH = 0xDF24
TAG_SEX = 0xDF25


class Basic4Error(ValueError):
    """The basic-4 EF is not what the 券面事項入力補助AP stores (wrong card, damaged data)."""


def parse_basic4(data: bytes) -> BasicFour:
    """The 4 items from the EF ``00 02``: ``FF 20 { DF 21 header, DF 22 name, DF 23 address, DF 24 birth, DF 25 sex }``.

    Strict on purpose: no public dump of a real card exists, so anything unexpected is an error the
    resident hears about ("please go to the counter") rather than a form printed with garbage.
    """
    try:
        outer = list(tlv.iterate(data))
    except tlv.TlvError as e:
        raise Basic4Error(f"basic-4 EF: {e}") from None
    if not outer or outer[0][0] != TAG_CONTAINER:
        raise Basic4Error("basic-4 EF: no FF 20 container")
    try:
        items = dict(tlv.iterate(outer[0][1]))
    except tlv.TlvError as e:
        raise Basic4Error(f"basic-4 EF: {e}") from None
    missing = [f"{t:X}" for t in (TAG_NAME, TAG_ADDRESS, TAG_BIRTH, TAG_SEX) if t not in items]
    if missing:
        raise Basic4Error(f"basic-4 EF: missing {', '.join(missing)}")
    try:
        name, address = items[TAG_NAME].decode("utf-8"), items[TAG_ADDRESS].decode("utf-8")
        birth, sex = items[TAG_BIRTH].decode("ascii"), items[TAG_SEX].decode("ascii")
    except UnicodeDecodeError:
        raise Basic4Error("basic-4 EF: text is not UTF-8") from None
    if not (len(birth) == 8 and birth.isdigit()):
        raise Basic4Error("basic-4 EF: birth date is not YYYYMMDD")
    if sex not in SEX_CODES:
        raise Basic4Error("basic-4 EF: sex is not an ISO 5218 code")
    found = BasicFour(name=name, address=address, birth=birth, sex=sex)
    try:
        found.birth_date  # noqa: B018 - validates the calendar date
    except ValueError:
        raise Basic4Error("basic-4 EF: birth date is not a date") from None
    return found


def encode_basic4(items: BasicFour, header: bytes = b"\x00\x00\x00") -> bytes:
    """The EF as a card stores it (the virtual card serves it)."""
    body = b"".join(
        (
            tlv.encode(TAG_HEADER, header),
            tlv.encode(TAG_NAME, items.name.encode("utf-8")),
            tlv.encode(TAG_ADDRESS, items.address.encode("utf-8")),
            tlv.encode(TAG_BIRTH, items.birth.encode("ascii")),
            tlv.encode(TAG_SEX, items.sex.encode("ascii")),
        )
    )
    return tlv.encode(TAG_CONTAINER, body)


def parse_my_number(data: bytes) -> str:
    """The EF ``00 01``: ``FF 10 0C`` + 12 ASCII digits (most likely; see docs/mynumber-card.md)."""
    try:
        (tag, value), *_ = tlv.iterate(data)
    except (tlv.TlvError, ValueError):
        raise Basic4Error("My Number EF: not TLV") from None
    number = value.decode("ascii", "replace")
    if tag != 0xFF10 or len(number) != 12 or not number.isdigit():
        raise Basic4Error("My Number EF: not FF 10 with 12 digits")
    return number
