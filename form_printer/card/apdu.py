"""APDUs and status words of the 券面事項入力補助AP (text-input support application). Pure.

Facts (AIDs, EF ids, status words) are in docs/mynumber-card.md; short APDUs only, because
extended length depends on the reader and its driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

#: 券面事項入力補助AP. Identify the card by selecting it, never by its ATR (contactless readers make ATRs up).
AID_TEXT_INPUT_SUPPORT = bytes.fromhex("D3921000310001010408")
#: 券面AP (card-face images) and JPKI AP: known to the virtual card, not used by the form issuer.
AID_CARD_FACE = bytes.fromhex("D3921000310001010402")
AID_JPKI = bytes.fromhex("D392F000260100000001")

EF_PIN = b"\x00\x11"
EF_BASIC4 = b"\x00\x02"
EF_MY_NUMBER = b"\x00\x01"

#: Fresh cards allow 3 wrong PINs; the third locks the AP until the city office resets it.
PIN_TRIES_FRESH = 3
#: READ BINARY answers at most this many bytes per short APDU (Le = 0x00 means 256; stay below).
READ_CHUNK = 255


def select_df(aid: bytes) -> bytes:
    """SELECT by DF name, no response data (P2 = 0C)."""
    return bytes([0x00, 0xA4, 0x04, 0x0C, len(aid)]) + aid


def select_ef(ef: bytes) -> bytes:
    """SELECT an EF of the current DF by its 2-byte id, no response data."""
    return bytes([0x00, 0xA4, 0x02, 0x0C, len(ef)]) + ef


def verify(pin: str | None) -> bytes:
    """VERIFY against the selected PIN EF. Without a PIN it only asks how many tries are left (63 Cx)."""
    if pin is None:
        return bytes([0x00, 0x20, 0x00, 0x80])
    if not (len(pin) == 4 and pin.isascii() and pin.isdigit()):
        raise ValueError("the PIN is 4 digits")
    return bytes([0x00, 0x20, 0x00, 0x80, 4]) + pin.encode("ascii")


def read_binary(offset: int, length: int) -> bytes:
    """READ BINARY from the selected EF; offset in P1-P2 (15 bits), length 1..255."""
    if not 0 <= offset <= 0x7FFF:
        raise ValueError(f"offset {offset} out of range")
    if not 1 <= length <= READ_CHUNK:
        raise ValueError(f"length {length} out of range")
    return bytes([0x00, 0xB0, offset >> 8, offset & 0xFF, length])


class Status(Enum):
    """What a status word means to the form issuer."""

    OK = "ok"
    WRONG_PIN = "wrong_pin"  # 63 Cx, x tries left
    LOCKED = "locked"  # 69 84: reference data blocked
    NOT_ALLOWED = "not_allowed"  # 69 82: security status not satisfied (read before VERIFY)
    NOT_FOUND = "not_found"  # 6A 82: no such application / file
    NO_EF = "no_ef"  # 69 86: no current EF
    OTHER = "other"


@dataclass(frozen=True)
class StatusWord:
    sw1: int
    sw2: int

    @property
    def status(self) -> Status:
        sw = (self.sw1, self.sw2)
        if sw == (0x90, 0x00):
            return Status.OK
        if self.sw1 == 0x63 and self.sw2 & 0xF0 == 0xC0:
            return Status.WRONG_PIN
        return {
            (0x69, 0x84): Status.LOCKED,
            (0x69, 0x83): Status.LOCKED,  # authentication method blocked
            (0x69, 0x82): Status.NOT_ALLOWED,
            (0x6A, 0x82): Status.NOT_FOUND,
            (0x69, 0x86): Status.NO_EF,
        }.get(sw, Status.OTHER)

    @property
    def tries_left(self) -> int | None:
        """For 63 Cx: x. (63 C0 on the third wrong PIN: the AP is now locked.)"""
        if self.status is Status.WRONG_PIN:
            return self.sw2 & 0x0F
        return None

    def __str__(self) -> str:
        return f"{self.sw1:02X} {self.sw2:02X}"
