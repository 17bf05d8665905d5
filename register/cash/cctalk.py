"""ccTalk link layer (simple 8-bit checksum mode), pure: no I/O, no threads.

Frame: ``[dest] [data length] [source] [header] [data...] [checksum]`` where the checksum makes
the sum of all bytes 0 mod 256. A reply carries header 0 (ACK + data), 5 (NAK) or 6 (BUSY).
There is no start-of-frame byte, so :class:`FrameParser` resynchronises by looking for the
earliest offset at which a complete frame with a good checksum sits. Numbers and layouts come
from the ccTalk Generic Specification (parts 1-3); see docs/cash-changer.md for what was checked.
"""

from __future__ import annotations

from dataclasses import dataclass

HOST_ADDRESS = 1
MAX_DATA = 255
_MIN_FRAME = 5

# Reply headers.
ACK = 0
NAK = 5
BUSY = 6

# Command headers used by the driver and the simulator.
RESET_DEVICE = 1
WRITE_DATA_BLOCK = 214
READ_DATA_BLOCK = 215
REQUEST_DATA_STORAGE_AVAILABILITY = 216
REQUEST_PAYOUT_HIGH_LOW_STATUS = 217
REQUEST_MASTER_INHIBIT_STATUS = 227
MODIFY_MASTER_INHIBIT_STATUS = 228
READ_BUFFERED_CREDIT_OR_ERROR_CODES = 229
REQUEST_INHIBIT_STATUS = 230
MODIFY_INHIBIT_STATUS = 231
PERFORM_SELF_CHECK = 232
REQUEST_SERIAL_NUMBER = 242
REQUEST_PRODUCT_CODE = 244
REQUEST_EQUIPMENT_CATEGORY_ID = 245
REQUEST_MANUFACTURER_ID = 246
SIMPLE_POLL = 254
REQUEST_COIN_ID = 184
REQUEST_PAYOUT_FLOAT = 174
EMERGENCY_STOP = 172
REQUEST_HOPPER_COIN = 171
DISPENSE_HOPPER_COINS = 167
REQUEST_HOPPER_STATUS = 166
ENABLE_HOPPER = 164
TEST_HOPPER = 163
READ_BUFFERED_BILL_EVENTS = 159
REQUEST_BILL_ID = 157
REQUEST_COUNTRY_SCALING_FACTOR = 156
ROUTE_BILL = 154

#: Data byte for ENABLE_HOPPER that enables payout (any other value disables).
HOPPER_ENABLE_CODE = 165
#: ROUTE_BILL route codes and its error replies.
ROUTE_RETURN = 0
ROUTE_STACK = 1
ROUTE_ERROR_ESCROW_EMPTY = 254
ROUTE_ERROR_FAILED = 255
#: Events kept by READ_BUFFERED_* (result 1 is the newest, result 5 the oldest).
EVENT_BUFFER = 5

CATEGORY_COIN_ACCEPTOR = "Coin Acceptor"
CATEGORY_BILL_VALIDATOR = "Bill Validator"
CATEGORY_PAYOUT = "Payout"

#: Coin acceptor error codes (result A = 0) that mean something is stuck in the coin path.
COIN_JAM_CODES = {
    5: "validation_timeout",
    6: "credit_sensor_timeout",
    7: "sorter_opto_timeout",
    14: "credit_sensor_blocked",
    15: "sorter_opto_blocked",
    26: "reject_sensor_blocked",
    31: "manifold_opto_timeout",
    32: "manifold_opto_blocked",
    35: "motor_exception",
    254: "coin_return_mechanism_activated",
}
COIN_INHIBITED = 2

#: Bill event codes (result A = 0).
BILL_RETURNED_FROM_ESCROW = 1
BILL_INHIBITED_SERIAL = 4
BILL_JAM_CODES = {
    6: "bill_jammed_in_transport_unsafe",
    7: "bill_jammed_in_stacker",
    15: "stacker_jammed",
    16: "bill_jammed_in_transport_safe",
}
BILL_STACKER_FULL = 14
BILL_ESCROW = 1  # result B for a bill held in escrow (pending credit)
BILL_STACKED = 0  # result B for a bill sent to the stacker (credit)

#: Perform-self-check fault codes the driver treats specially.
FAULT_OK = 0
FAULT_CREDIT_SENSOR = 3
FAULT_BILL_JAMMED = 39
FAULT_ACCEPT_GATE_OPEN = 42
FAULT_STACKER_FULL = 45
JAM_FAULTS = {FAULT_CREDIT_SENSOR, FAULT_BILL_JAMMED, FAULT_ACCEPT_GATE_OPEN}

#: Test-hopper (163) register bits as (register index, bit).
HOPPER_MAX_CURRENT = (0, 0)
HOPPER_PAYOUT_TIMEOUT = (0, 1)
HOPPER_OPTO_BLOCKED_PAYOUT = (0, 5)
HOPPER_PAYOUT_DISABLED = (0, 7)
HOPPER_MOTOR_REVERSE_LIMIT = (1, 4)
HOPPER_JAM_FLAGS = (HOPPER_MAX_CURRENT, HOPPER_OPTO_BLOCKED_PAYOUT, HOPPER_MOTOR_REVERSE_LIMIT)

#: Request-payout-high/low-status (217) bits.
LEVEL_BELOW_LOW = 0x01
LEVEL_ABOVE_HIGH = 0x02
LEVEL_LOW_SUPPORTED = 0x10
LEVEL_HIGH_SUPPORTED = 0x20


class FrameError(ValueError):
    """Bytes that are not a valid ccTalk frame."""


@dataclass(frozen=True)
class Frame:
    dest: int
    source: int
    header: int
    data: bytes = b""

    def encode(self) -> bytes:
        return encode(self.dest, self.source, self.header, self.data)


def checksum(body: bytes) -> int:
    """Simple checksum: the byte that makes the whole frame sum to 0 mod 256."""
    return (-sum(body)) & 0xFF


def encode(dest: int, source: int, header: int, data: bytes = b"") -> bytes:
    if len(data) > MAX_DATA:
        raise FrameError(f"data too long: {len(data)}")
    for name, value in (("dest", dest), ("source", source), ("header", header)):
        if not 0 <= value <= 255:
            raise FrameError(f"{name} out of range: {value}")
    body = bytes((dest, len(data), source, header)) + bytes(data)
    return body + bytes((checksum(body),))


def decode(raw: bytes) -> Frame:
    """Decode exactly one frame; raises FrameError on a bad length or checksum."""
    if len(raw) < _MIN_FRAME or len(raw) != raw[1] + _MIN_FRAME:
        raise FrameError("bad frame length")
    if sum(raw) & 0xFF:
        raise FrameError("bad checksum")
    return Frame(dest=raw[0], source=raw[2], header=raw[3], data=bytes(raw[4:-1]))


def _frame_at(buf: bytes | bytearray, offset: int) -> int:
    """Length of a complete valid frame at ``offset``, or 0."""
    if len(buf) - offset < _MIN_FRAME:
        return 0
    length = buf[offset + 1] + _MIN_FRAME
    if len(buf) - offset < length:
        return 0
    return length if sum(buf[offset : offset + length]) & 0xFF == 0 else 0


class FrameParser:
    """Streaming parser: feed bytes as they arrive, get whole frames back.

    Garbage is skipped: the earliest offset holding a complete, checksum-valid frame wins and
    the bytes before it are dropped (counted in ``discarded``). A bogus length byte therefore
    cannot swallow a good reply that follows it.
    """

    def __init__(self, max_buffer: int = 2 * (MAX_DATA + _MIN_FRAME)) -> None:
        self._buf = bytearray()
        self._max = max_buffer
        self.discarded = 0

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while True:
            found = self._next()
            if found is None:
                break
            start, length = found
            self.discarded += start
            frames.append(decode(bytes(self._buf[start : start + length])))
            del self._buf[: start + length]
        if len(self._buf) > self._max:
            drop = len(self._buf) - self._max
            self.discarded += drop
            del self._buf[:drop]
        return frames

    def _next(self) -> tuple[int, int] | None:
        for offset in range(len(self._buf) - _MIN_FRAME + 1):
            length = _frame_at(self._buf, offset)
            if length:
                return offset, length
        return None

    def clear(self) -> None:
        self.discarded += len(self._buf)
        self._buf.clear()


# ---- event counters ---------------------------------------------------------------------------


def next_counter(counter: int) -> int:
    """Event counters run 1..255 then wrap to 1; 0 only means power-up or reset."""
    return 1 if counter >= 255 else counter + 1


def counter_distance(old: int, new: int) -> int:
    """How many events happened going from counter ``old`` to ``new`` (wrap-aware)."""
    if new == old:
        return 0
    if old == 0:
        return new
    if new == 0:
        return 0  # the device was reset; nothing can be said about events in between
    return new - old if new > old else new + 255 - old


def counter_back(counter: int, steps: int) -> int:
    """The counter value ``steps`` events before ``counter`` (never 0 after a wrap)."""
    value = counter
    for _ in range(steps):
        value = 255 if value <= 1 else value - 1
    return value


@dataclass(frozen=True)
class BufferedEvent:
    """One (result A, result B) pair of a buffered credit/bill event read with its counter."""

    counter: int
    a: int
    b: int


def new_events(last: int, data: bytes) -> tuple[list[BufferedEvent], int, int]:
    """Split a 229/159 reply into events newer than ``last``, oldest first.

    Returns (events, new counter, lost) where ``lost`` counts events that fell out of the
    5-deep buffer before they were read.
    """
    if not data or (len(data) - 1) % 2:
        raise FrameError("bad buffered event reply")
    current = data[0]
    count = counter_distance(last, current)
    pairs = [(data[1 + 2 * i], data[2 + 2 * i]) for i in range((len(data) - 1) // 2)]
    seen = min(count, len(pairs), EVENT_BUFFER)
    events = [BufferedEvent(counter_back(current, i), pairs[i][0], pairs[i][1]) for i in range(seen)]
    events.reverse()
    return events, current, count - seen


# ---- currency ids -------------------------------------------------------------------------------

_FACTORS = {"K": 1000, "M": 1_000_000}


def coin_value(coin_id: str) -> int | None:
    """Yen value of a 6-char coin id like ``JP100A`` (``JP001K`` = 1000); None if not yen."""
    coin_id = coin_id.strip()
    if len(coin_id) < 6 or coin_id[:2] != "JP":
        return None
    value_part = coin_id[2:5]
    multiplier = _FACTORS.get(coin_id[5], 1)
    if not value_part.isdigit():
        return None
    return int(value_part) * multiplier


def bill_value(bill_id: str, scaling: int, decimals: int) -> int | None:
    """Yen value of a 7-char bill id ``CCVVVVI`` in terms of the country scaling factor."""
    bill_id = bill_id.strip()
    if len(bill_id) < 7 or bill_id[:2] != "JP" or not bill_id[2:6].isdigit() or scaling == 0:
        return None
    return int(bill_id[2:6]) * scaling // (10**decimals)


def mask_bytes(positions: set[int], size: int = 2) -> bytes:
    """Inhibit mask for MODIFY_INHIBIT_STATUS: bit (n-1) set = position n enabled, LSB first."""
    bits = 0
    for position in positions:
        bits |= 1 << (position - 1)
    return bits.to_bytes(size, "little")


def mask_positions(data: bytes) -> set[int]:
    bits = int.from_bytes(data, "little")
    return {i + 1 for i in range(len(data) * 8) if bits >> i & 1}


def has_flag(registers: bytes, flag: tuple[int, int]) -> bool:
    index, bit = flag
    return len(registers) > index and bool(registers[index] >> bit & 1)
