"""The read sequence of the 券面事項入力補助AP over any transport (PC/SC, or the in-process simulated card).

Pure logic: it builds APDUs, interprets status words and raises :class:`CardError` with a code
the app turns into a message in the resident's language. It never logs an APDU: VERIFY carries
the PIN in clear, READ BINARY answers carry the 4 items.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from form_printer.card import apdu, tlv
from form_printer.card.apdu import Status, StatusWord
from form_printer.card.basic4 import Basic4Error, BasicFour, parse_basic4, parse_my_number

T = TypeVar("T")


#: The largest EF we read: the basic-4 EF of a real card is a few hundred bytes, the My Number EF less.
MAX_EF_BYTES = 8 * 1024


class Transport(Protocol):
    """Sends one command APDU, returns (response data, SW1, SW2). Raises :class:`CardError` (removed, ...)."""

    def transmit(self, command: bytes) -> tuple[bytes, int, int]: ...


class CardError(Exception):
    """Why reading stopped. ``code`` is stable (the app translates it), ``tries_left`` for wrong_pin."""

    CODES = (
        "wrong_pin",  # tries_left says how many remain
        "locked",  # the PIN is blocked: only the city office can reset it
        "not_mynumber",  # the card has no 券面事項入力補助AP
        "card_removed",  # taken away mid-read
        "reader_missing",  # no PC/SC reader (unplugged, pcscd down)
        "card_error",  # anything else the card answered
    )

    def __init__(self, code: str, message: str, tries_left: int | None = None):
        assert code in self.CODES, code
        super().__init__(message)
        self.code = code
        self.tries_left = tries_left


@dataclass
class TextInputSupportAP:
    """One session with one card. Counts the APDUs it sends (the benchmark reports them)."""

    transport: Transport
    apdus: int = 0
    _selected: bytes = field(default=b"", repr=False)

    def _send(self, command: bytes) -> tuple[bytes, StatusWord]:
        self.apdus += 1
        data, sw1, sw2 = self.transport.transmit(command)
        return data, StatusWord(sw1, sw2)

    def _expect_ok(self, command: bytes, what: str) -> bytes:
        data, sw = self._send(command)
        if sw.status is not Status.OK:
            raise CardError("card_error", f"{what}: card answered {sw}")
        return data

    def select(self) -> None:
        """Select the AP; a card without it is not a My Number card (or a different application set)."""
        _, sw = self._send(apdu.select_df(apdu.AID_TEXT_INPUT_SUPPORT))
        if sw.status is Status.NOT_FOUND:
            raise CardError("not_mynumber", "this card has no text-input support application")
        if sw.status is not Status.OK:
            raise CardError("card_error", f"select AP: card answered {sw}")
        self._selected = b""

    def _select_ef(self, ef: bytes) -> None:
        if self._selected != ef:
            self._expect_ok(apdu.select_ef(ef), f"select EF {ef.hex()}")
            self._selected = ef

    def pin_tries(self) -> int:
        """Tries left before the PIN locks, without spending one (VERIFY with no data → 63 Cx)."""
        self._select_ef(apdu.EF_PIN)
        _, sw = self._send(apdu.verify(None))
        if sw.status is Status.LOCKED:
            return 0
        if sw.status is Status.OK:  # already verified in this session
            return apdu.PIN_TRIES_FRESH
        if sw.tries_left is None:
            raise CardError("card_error", f"PIN tries: card answered {sw}")
        return sw.tries_left

    def verify(self, pin: str) -> None:
        """VERIFY the 4-digit PIN. Wrong → CardError(wrong_pin, tries_left); 0 left or blocked → locked."""
        self._select_ef(apdu.EF_PIN)
        _, sw = self._send(apdu.verify(pin))
        if sw.status is Status.OK:
            return
        if sw.status is Status.WRONG_PIN:
            left = sw.tries_left or 0
            if left == 0:
                raise CardError("locked", "the PIN is now locked", tries_left=0)
            raise CardError("wrong_pin", f"wrong PIN, {left} tries left", tries_left=left)
        if sw.status is Status.LOCKED:
            raise CardError("locked", "the PIN is locked", tries_left=0)
        raise CardError("card_error", f"verify: card answered {sw}")

    def _read_ef(self, ef: bytes) -> bytearray:
        """The whole TLV of an EF: the first 7 bytes give its length, the rest comes in ≤255-byte reads."""
        self._select_ef(ef)
        data = bytearray(self._read(0, 7))
        total = tlv.header_size(bytes(data))
        if total is None:
            raise CardError("card_error", "EF does not start with a TLV header")
        if total > MAX_EF_BYTES:  # READ BINARY offsets stop at 32 KB; a real EF is a few hundred bytes
            raise CardError("card_error", f"EF claims {total} bytes; a My Number card's is under {MAX_EF_BYTES}")
        while len(data) < total:
            chunk = self._read(len(data), min(apdu.READ_CHUNK, total - len(data)))
            if not chunk:
                raise CardError("card_error", "EF shorter than its TLV header says")
            data += chunk
        del data[total:]
        return data

    def _read(self, offset: int, length: int) -> bytes:
        data, sw = self._send(apdu.read_binary(offset, length))
        if sw.status is Status.NOT_ALLOWED:
            raise CardError("card_error", "read before the PIN was verified")
        if sw.status is not Status.OK:
            raise CardError("card_error", f"read binary: card answered {sw}")
        return data

    def _read_parsed(self, ef: bytes, parse: Callable[[bytes], T]) -> T:
        raw = self._read_ef(ef)
        try:
            return parse(bytes(raw))
        except Basic4Error as e:
            raise CardError("card_error", str(e)) from None
        finally:
            raw[:] = bytes(len(raw))  # the buffer we own: zeroed

    def read_basic4(self) -> BasicFour:
        return self._read_parsed(apdu.EF_BASIC4, parse_basic4)

    def read_my_number(self) -> str:
        """Only for a statutory My Number procedure (My Number Act art. 19); never shown in full."""
        return self._read_parsed(apdu.EF_MY_NUMBER, parse_my_number)


def mask_my_number(number: str) -> str:
    """What a screen may show: the last 4 digits only."""
    return "•" * (len(number) - 4) + number[-4:]
