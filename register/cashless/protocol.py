"""The register ↔ payment terminal serial link: framing and messages (no I/O here).

Japanese payment terminals have no public wire protocol, so this module defines a small one
in the manner of ECR links (STX … ETX + check, ACK/NAK, retransmission) carrying UTF-8 JSON.
The full specification, with examples, is docs/cashless-terminal.md; keep the two in step.

Frame: ``STX body ETX CRC`` where ``body`` is one UTF-8 JSON object (no byte below 0x20,
which JSON escapes anyway) and ``CRC`` is CRC-16/CCITT-FALSE over ``body ETX`` written as 4
upper-case hex digits, so that every byte of a frame except STX and ETX is printable and a
stray control byte (ACK, NAK, ENQ) can never be mistaken for part of a frame.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .terminal import CatResult, Outcome, PaymentMedia

STX = 0x02
ETX = 0x03


class Control(IntEnum):
    """Single link bytes sent outside frames."""

    ENQ = 0x05  # "are you there?" answered with ACK
    ACK = 0x06  # the last frame arrived intact
    NAK = 0x15  # the last frame arrived damaged: send it again


#: Largest body accepted; a longer run without ETX is treated as a lost ETX and dropped.
MAX_BODY = 4096
#: Longest card wait a sale request may ask for, in seconds.
MAX_CARD_WAIT = 600.0
#: Retransmissions after the first attempt before a sender declares the link down.
RETRIES = 3

#: Brand name as it appears on the wire (and on the receipt) → the media it belongs to.
BRANDS: dict[str, PaymentMedia] = {
    "VISA": PaymentMedia.CREDIT,
    "Mastercard": PaymentMedia.CREDIT,
    "JCB": PaymentMedia.CREDIT,
    "American Express": PaymentMedia.CREDIT,
    "Diners Club": PaymentMedia.CREDIT,
    "交通系IC": PaymentMedia.EMONEY,
    "nanaco": PaymentMedia.EMONEY,
    "WAON": PaymentMedia.EMONEY,
    "楽天Edy": PaymentMedia.EMONEY,
    "iD": PaymentMedia.EMONEY,
    "QUICPay": PaymentMedia.EMONEY,
    "PayPay": PaymentMedia.QR,
    "d払い": PaymentMedia.QR,
    "楽天ペイ": PaymentMedia.QR,
    "au PAY": PaymentMedia.QR,
}


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF): the check value of a frame."""
    return binascii.crc_hqx(data, 0xFFFF)


def encode_frame(body: bytes) -> bytes:
    """Wrap one message body; refuses bodies a receiver could not delimit."""
    if len(body) > MAX_BODY:
        raise ValueError(f"frame body of {len(body)} bytes exceeds {MAX_BODY}")
    if any(b < 0x20 for b in body):
        raise ValueError("frame body contains a control byte")
    return bytes([STX]) + body + bytes([ETX]) + b"%04X" % crc16(body + bytes([ETX]))


@dataclass(frozen=True)
class Frame:
    body: bytes


@dataclass(frozen=True)
class BadFrame:
    """A frame that started but failed its check: the receiver answers NAK."""

    reason: str


ParsedItem = Frame | BadFrame | Control
_HEX = frozenset(b"0123456789ABCDEF")
_CONTROLS = frozenset(c.value for c in Control)


class FrameParser:
    """Streaming parser: feed it bytes as they come; it yields frames and control bytes.

    It resynchronises by itself: bytes outside a frame that are not control bytes are skipped
    (counted in ``discarded``), a new STX inside a frame restarts the frame, and a control byte
    inside a frame ends it as damaged and is then taken as the control byte it is.
    """

    def __init__(self) -> None:
        self._body: bytearray | None = None  # inside a frame, before ETX
        self._crc: bytearray | None = None  # after ETX, collecting the 4 hex digits
        self.discarded = 0

    def feed(self, data: bytes) -> list[ParsedItem]:
        items: list[ParsedItem] = []
        for byte in data:
            item = self._step(byte)
            if isinstance(item, BadFrame):
                items.append(item)
                item = self._step(byte)  # the byte that broke the frame may start the next item
            if item is not None:
                items.append(item)
        return items

    def _step(self, byte: int) -> ParsedItem | None:
        if self._crc is not None:
            return self._step_crc(byte)
        if self._body is not None:
            return self._step_body(byte)
        if byte == STX:
            self._body = bytearray()
        elif byte in _CONTROLS:
            return Control(byte)
        else:
            self.discarded += 1
        return None

    def _step_body(self, byte: int) -> ParsedItem | None:
        assert self._body is not None
        if byte == ETX:
            self._crc = bytearray()
            return None
        if byte == STX:
            self.discarded += len(self._body) + 1
            self._body = bytearray()  # the previous frame lost its end; this is a new one
            return None
        if byte < 0x20:
            return self._abandon("control byte inside a frame")
        self._body.append(byte)
        if len(self._body) > MAX_BODY:
            self._body = None
            self.discarded += MAX_BODY + 2
            return BadFrame("frame too long")  # the overflowing byte is counted, not re-parsed
        return None

    def _step_crc(self, byte: int) -> ParsedItem | None:
        assert self._crc is not None and self._body is not None
        if byte not in _HEX:
            return self._abandon("bad check digits")
        self._crc.append(byte)
        if len(self._crc) < 4:
            return None
        body, sent = bytes(self._body), int(self._crc, 16)
        self._body = self._crc = None
        if sent != crc16(body + bytes([ETX])):
            return BadFrame("check mismatch")
        return Frame(body)

    def _abandon(self, reason: str) -> BadFrame:
        """Drop the frame in progress; the caller re-parses the offending byte from outside a frame."""
        self.discarded += len(self._body or b"") + len(self._crc or b"")
        self._body = self._crc = None
        return BadFrame(reason)


# --- messages ------------------------------------------------------------------------------------

Key = Annotated[str, Field(min_length=1, max_length=64)]
Yen = Annotated[int, Field(gt=0, le=9_999_999)]
Seq = Annotated[int, Field(ge=0)]


class _Message(BaseModel):
    # Unknown fields are ignored so a newer terminal can add some; there is deliberately no
    # field for a card number, so one sent by mistake is dropped at parse time.
    model_config = ConfigDict(extra="ignore", frozen=True)
    seq: Seq


class SaleRequest(_Message):
    type: Literal["sale"] = "sale"
    key: Key
    amount: Yen
    #: Seconds the terminal waits for the card/QR before ending the sale CANCELLED by itself.
    wait: float = Field(gt=0, le=MAX_CARD_WAIT)


class VoidRequest(_Message):
    type: Literal["void"] = "void"
    key: Key
    original_key: Key


class RefundRequest(_Message):
    type: Literal["refund"] = "refund"
    key: Key
    original_key: Key
    amount: Yen


class CheckRequest(_Message):
    type: Literal["check"] = "check"
    key: Key


class AbortRequest(_Message):
    type: Literal["abort"] = "abort"


class StatusRequest(_Message):
    type: Literal["status"] = "status"


class Kind(StrEnum):
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"


class Record(BaseModel):
    """One journaled outcome: what the terminal answers for a key, now and forever after."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    key: Key
    kind: Kind
    outcome: Outcome
    amount: int
    media: PaymentMedia | None = None
    brand: str = ""
    approval_code: str = ""
    slip_number: str = ""
    reason: str = ""
    original_key: str = ""

    def to_result(self) -> CatResult:
        return CatResult(
            key=self.key,
            outcome=self.outcome,
            amount=self.amount,
            media=self.media,
            brand=self.brand,
            approval_code=self.approval_code,
            slip_number=self.slip_number,
            reason=self.reason,
        )


class _Reply(_Message):
    #: The ``seq`` of the request this answers.
    re: Seq


class ResultReply(_Reply):
    type: Literal["result"] = "result"
    record: Record
    #: True when the key was already journaled and this is the first outcome again.
    replayed: bool = False


class CheckState(StrEnum):
    NONE = "none"  # the terminal never received this key
    PENDING = "pending"  # still waiting for the card or the host
    DONE = "done"


class CheckReply(_Reply):
    type: Literal["check_result"] = "check_result"
    key: Key
    state: CheckState
    record: Record | None = None


class AbortReply(_Reply):
    type: Literal["abort_ack"] = "abort_ack"
    #: True when a card wait was stopped (the sale's own result follows as CANCELLED).
    stopped: bool


class StatusReply(_Reply):
    type: Literal["status_reply"] = "status_reply"
    busy: bool
    pending_key: str = ""
    faults: tuple[str, ...] = ()


class ErrorReply(_Message):
    type: Literal["error"] = "error"
    re: Seq | None = None
    #: A CatError code: busy, unknown_key, protocol.
    code: str
    message: str = ""


class EventName(StrEnum):
    WAITING_FOR_CARD = "waiting_for_card"
    CARD_READ = "card_read"
    PROCESSING = "processing"


class Event(_Message):
    """Unsolicited progress of the pending sale, for the screen ("タッチしてください")."""

    type: Literal["event"] = "event"
    key: Key
    event: EventName
    media: PaymentMedia | None = None
    brand: str = ""


Request = SaleRequest | VoidRequest | RefundRequest | CheckRequest | AbortRequest | StatusRequest
Reply = ResultReply | CheckReply | AbortReply | StatusReply | ErrorReply
Message = Annotated[Request | Reply | Event, Field(discriminator="type")]
_MESSAGE: TypeAdapter[Message] = TypeAdapter(Message)


class MessageError(ValueError):
    """A frame arrived intact but does not hold a message this side understands."""


def message_body(message: Request | Reply | Event) -> bytes:
    """The UTF-8 JSON body of one message (what goes between STX and ETX)."""
    return message.model_dump_json().encode("utf-8")


def encode_message(message: Request | Reply | Event) -> bytes:
    """The whole frame for one message, ready to write."""
    return encode_frame(message_body(message))


def decode_message(body: bytes) -> Message:
    try:
        return _MESSAGE.validate_json(body)
    except ValidationError as exc:
        raise MessageError(f"not a link message: {exc.error_count()} problem(s)") from exc
