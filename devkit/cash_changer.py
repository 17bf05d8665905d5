"""A ccTalk bus on a pty pair: coin acceptor, bill validator and payout hoppers.

Why: the real driver (``cctalk_changer``) must be tested against the exact bytes a device
sends, including echo on a single-wire bus, garbage, timeouts and a host that dies mid-way.
The simulator keeps its own slave fd open so the master side never sees EIO when the driver
closes the port or the host process is killed: a restarted register reopens the same path.

Device map (ccTalk addresses): 2 coin acceptor (1/5/10/50/100/500 yen), 40 bill validator
(1000/2000/5000/10000 yen, one-note escrow), 3.. hoppers, one per denomination; the
1000-yen "hopper" stands in for a note recycler (ccTalk's generic spec has none).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import sys
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from register.cash import cctalk as ct

log = logging.getLogger(__name__)

COIN_ADDRESS = 2
BILL_ADDRESS = 40
DEFAULT_HOPPERS: dict[int, int] = {1000: 3, 500: 4, 100: 5, 50: 6, 10: 7, 5: 8, 1: 9}
COIN_IDS = {1: "JP001A", 2: "JP005A", 3: "JP010A", 4: "JP050A", 5: "JP100A", 6: "JP500A"}
BILL_IDS = {1: "JP0001A", 2: "JP0002A", 3: "JP0005A", 4: "JP0010A"}
BILL_SCALING = 1000  # bill ids are in thousands of yen: JP0010A = 10,000 yen
DEFAULT_FILL = 50  # pieces per hopper when no counts are given
DATA_BLOCKS = 4
DATA_BLOCK_SIZE = 32


@dataclass
class _Acceptor:
    """Shared state of a coin acceptor / bill validator: inhibits and the event buffer."""

    address: int
    category: str
    ids: dict[int, str]
    values: dict[int, int]
    inhibit: bytes = b"\x00\x00"
    master: bool = False
    counter: int = 0
    events: deque = field(default_factory=lambda: deque(maxlen=ct.EVENT_BUFFER))
    fault: int = ct.FAULT_OK
    escrow: int | None = None

    def add_event(self, a: int, b: int) -> None:
        self.counter = ct.next_counter(self.counter)
        self.events.appendleft((a, b))

    def buffer(self) -> bytes:
        pairs = list(self.events) + [(0, 0)] * (ct.EVENT_BUFFER - len(self.events))
        return bytes([self.counter, *[x for pair in pairs for x in pair]])

    def accepts(self, position: int) -> bool:
        return self.master and self.fault == ct.FAULT_OK and position in ct.mask_positions(self.inhibit)


@dataclass
class _Hopper:
    address: int
    denomination: int
    count: int
    serial: bytes
    enabled: bool = False
    counter: int = 0
    remaining: int = 0
    paid: int = 0
    unpaid: int = 0
    registers: bytearray = field(default_factory=lambda: bytearray(3))
    jam_after: int | None = None
    blocks: list[bytes] = field(default_factory=lambda: [bytes(DATA_BLOCK_SIZE)] * DATA_BLOCKS)

    @property
    def coin_id(self) -> str:
        if self.denomination >= 1000:
            return f"JP{self.denomination // 1000:03d}K"
        return f"JP{self.denomination:03d}A"

    def set_flag(self, flag: tuple[int, int], on: bool = True) -> None:
        index, bit = flag
        if on:
            self.registers[index] |= 1 << bit
        else:
            self.registers[index] &= ~(1 << bit) & 0xFF


class CcTalkSimulator:
    """Serves the devices on a pty; ``path`` is what the driver opens."""

    def __init__(
        self,
        *,
        echo: bool = False,
        hoppers: dict[int, int] | None = None,
        counts: dict[int, int] | None = None,
        coin_time: float = 0.002,
        near_empty: int = 5,
        symlink: str | None = None,
        escrow_wait: float = 2.0,
    ) -> None:
        self.echo = echo
        self.escrow_wait = escrow_wait
        self.coin_time = coin_time
        self.near_empty = near_empty
        self.symlink = symlink
        self.returned: list[int] = []
        self.paid_out: list[int] = []
        self._accepted = 0
        self._cond = threading.Condition(threading.RLock())
        self._connected = True
        self._garbage = b""
        self._corrupt_next = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.coin = _Acceptor(
            COIN_ADDRESS,
            ct.CATEGORY_COIN_ACCEPTOR,
            COIN_IDS,
            {p: ct.coin_value(i) or 0 for p, i in COIN_IDS.items()},
        )
        self.bill = _Acceptor(
            BILL_ADDRESS,
            ct.CATEGORY_BILL_VALIDATOR,
            BILL_IDS,
            {p: ct.bill_value(i, BILL_SCALING, 0) or 0 for p, i in BILL_IDS.items()},
        )
        counts = dict.fromkeys(DEFAULT_HOPPERS, DEFAULT_FILL) if counts is None else counts
        self.hoppers = {
            denom: _Hopper(addr, denom, counts.get(denom, 0), serial=bytes((addr, 0x10, 0x20)))
            for denom, addr in (hoppers or DEFAULT_HOPPERS).items()
        }
        for hopper in self.hoppers.values():
            hopper.set_flag(ct.HOPPER_PAYOUT_DISABLED)
        self._by_address: dict[int, _Acceptor | _Hopper] = {self.coin.address: self.coin, self.bill.address: self.bill}
        self._by_address.update({h.address: h for h in self.hoppers.values()})
        self.master_fd, self._slave_fd = os.openpty()
        tty.setraw(self._slave_fd)
        tty.setraw(self.master_fd)
        self.path = os.ttyname(self._slave_fd)
        self._parser = ct.FrameParser()

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> CcTalkSimulator:
        if self.symlink:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.symlink)
            os.symlink(self.path, self.symlink)
        self._thread = threading.Thread(target=self._serve, name="cctalk-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=2)
        if self.symlink:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.symlink)
        for fd in (self.master_fd, self._slave_fd):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> CcTalkSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- test / demo controls -------------------------------------------------------------

    def insert(self, denomination: int, count: int = 1) -> bool:
        """A resident puts cash in; False if it came back (inhibited, jammed, escrow busy).

        Like a resident at the slot, a note waits (up to ``escrow_wait`` seconds) for the
        one-note escrow to be cleared by the host before it goes in.
        """
        with self._cond:
            ok = True
            for _ in range(count):
                if denomination in self.bill.values.values():
                    self._cond.wait_for(lambda: self.bill.escrow is None, self.escrow_wait)
                ok = self._insert_one(denomination) and ok
            self._cond.notify_all()
            return ok

    def set_hopper(self, denomination: int, count: int) -> None:
        with self._cond:
            self.hoppers[denomination].count = count

    def hopper_counts(self) -> dict[int, int]:
        with self._cond:
            return {d: h.count for d, h in self.hoppers.items()}

    def jam_acceptor(self, which: str = "note") -> None:
        """Jam the bill validator ("note") or the coin acceptor ("coin")."""
        with self._cond:
            if which == "coin":
                self.coin.fault = ct.FAULT_CREDIT_SENSOR
                self.coin.add_event(0, 14)  # credit sensor blocked
            else:
                self.bill.fault = ct.FAULT_BILL_JAMMED
                self.bill.add_event(0, 16)  # bill jammed in transport (safe mode)
            self._cond.notify_all()

    def jam_hopper(self, denomination: int, after: int = 0) -> None:
        """The hopper pays ``after`` more pieces, then jams."""
        with self._cond:
            self.hoppers[denomination].jam_after = after

    def clear_jam(self) -> None:
        """Staff cleared every jam (and reset the hoppers' error flags)."""
        with self._cond:
            self.coin.fault = self.bill.fault = ct.FAULT_OK
            for hopper in self.hoppers.values():
                hopper.jam_after = None
                for flag in (*ct.HOPPER_JAM_FLAGS, ct.HOPPER_PAYOUT_TIMEOUT):
                    hopper.set_flag(flag, False)

    def disconnect(self) -> None:
        """Stop answering (cable pulled); the devices themselves keep running."""
        with self._cond:
            self._connected = False

    def reconnect(self) -> None:
        with self._cond:
            self._connected = True

    def inject_garbage(self, data: bytes) -> None:
        """Send ``data`` just before the next reply (line noise)."""
        with self._cond:
            self._garbage += data

    def corrupt_next_reply(self) -> None:
        with self._cond:
            self._corrupt_next = True

    def preset_event_counters(self, value: int) -> None:
        """Start both acceptors' event counters at ``value`` (to test the 255 -> 1 wrap)."""
        with self._cond:
            self.coin.counter = self.bill.counter = value

    @property
    def taken(self) -> int:
        """Cash kept by the machine: value accepted minus value paid out."""
        with self._cond:
            return self._accepted - sum(self.paid_out)

    def accepting(self) -> bool:
        with self._cond:
            return self.coin.master or self.bill.master

    def accepts(self, denomination: int) -> bool:
        """Whether a coin or note of ``denomination`` would go in now.

        The host enables the coin acceptor before the bill validator, so ``accepting()`` can
        hold while a note would still come back: a test that inserts a note waits for this.
        """
        with self._cond:
            slot = self._slot(denomination)
            return slot is not None and slot[0].accepts(slot[1])

    def _slot(self, denomination: int) -> tuple[_Acceptor, int] | None:
        """The acceptor that takes ``denomination`` and its position there (None: neither does)."""
        for acceptor in (self.coin, self.bill):
            position = next((p for p, v in acceptor.values.items() if v == denomination), None)
            if position is not None:
                return acceptor, position
        return None

    def wait_accepting(self, timeout: float = 2.0) -> bool:
        """Block until the host has enabled an acceptor (a deposit began)."""
        return self.wait_for(self.accepting, timeout)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Block until ``predicate()`` holds (checked on every device state change)."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    # ---- the devices ------------------------------------------------------------------------

    def _insert_one(self, denomination: int) -> bool:
        slot = self._slot(denomination)
        if slot is None:
            self.returned.append(denomination)
            return False
        acceptor, position = slot
        if not acceptor.accepts(position) or acceptor.escrow is not None:
            if acceptor is self.coin:
                acceptor.add_event(0, ct.COIN_INHIBITED)
            else:
                acceptor.add_event(0, ct.BILL_INHIBITED_SERIAL)
            self.returned.append(denomination)
            return False
        if acceptor is self.coin:
            acceptor.add_event(position, 1)  # result B: sorter path 1 (cash box)
            self._accepted += denomination
        else:
            acceptor.escrow = position
            acceptor.add_event(position, ct.BILL_ESCROW)
        return True

    def _route_bill(self, code: int) -> bytes:
        bill = self.bill
        if bill.escrow is None:
            return bytes((ct.ROUTE_ERROR_ESCROW_EMPTY,))
        position, bill.escrow = bill.escrow, None
        if code == ct.ROUTE_STACK:
            bill.add_event(position, ct.BILL_STACKED)
            self._accepted += bill.values[position]
        else:
            bill.add_event(0, ct.BILL_RETURNED_FROM_ESCROW)
            self.returned.append(bill.values[position])
        return b""

    def _acceptor_reply(self, dev: _Acceptor, header: int, data: bytes) -> bytes | None:
        if header in (ct.READ_BUFFERED_CREDIT_OR_ERROR_CODES, ct.READ_BUFFERED_BILL_EVENTS):
            return dev.buffer()
        if header == ct.MODIFY_INHIBIT_STATUS and len(data) == 2:
            dev.inhibit = bytes(data)
            return b""
        if header == ct.REQUEST_INHIBIT_STATUS:
            return dev.inhibit
        if header == ct.MODIFY_MASTER_INHIBIT_STATUS and len(data) == 1:
            dev.master = bool(data[0] & 1)
            return b""
        if header == ct.REQUEST_MASTER_INHIBIT_STATUS:
            return bytes((int(dev.master),))
        if header == ct.PERFORM_SELF_CHECK:
            return bytes((dev.fault,))
        if header in (ct.REQUEST_COIN_ID, ct.REQUEST_BILL_ID) and len(data) == 1:
            width = 6 if dev is self.coin else 7
            return dev.ids.get(data[0], "." * width).encode()
        if dev is self.bill and header == ct.REQUEST_COUNTRY_SCALING_FACTOR:
            return BILL_SCALING.to_bytes(2, "little") + b"\x00" if data == b"JP" else b"\x00\x00\x00"
        if dev is self.bill and header == ct.ROUTE_BILL and len(data) == 1:
            return self._route_bill(data[0])
        return None

    def _hopper_reply(self, hop: _Hopper, header: int, data: bytes) -> bytes | None:
        if header == ct.REQUEST_HOPPER_STATUS:
            return bytes((hop.counter, hop.remaining, hop.paid, hop.unpaid))
        if header == ct.TEST_HOPPER:
            return bytes(hop.registers)
        if header == ct.ENABLE_HOPPER and len(data) == 1:
            hop.enabled = data[0] == ct.HOPPER_ENABLE_CODE
            hop.set_flag(ct.HOPPER_PAYOUT_DISABLED, not hop.enabled)
            return b""
        if header == ct.DISPENSE_HOPPER_COINS:
            return self._dispense(hop, data)
        if header == ct.EMERGENCY_STOP:
            left, hop.remaining = hop.remaining, 0
            hop.unpaid += left
            return bytes((left,))
        if header == ct.REQUEST_HOPPER_COIN:
            return hop.coin_id.encode()
        if header == ct.REQUEST_PAYOUT_FLOAT and not data:
            return min(hop.count, 0xFFFF).to_bytes(2, "little")
        if header == ct.REQUEST_PAYOUT_HIGH_LOW_STATUS:
            return bytes((ct.LEVEL_LOW_SUPPORTED | (ct.LEVEL_BELOW_LOW if hop.count < self.near_empty else 0),))
        if header == ct.REQUEST_DATA_STORAGE_AVAILABILITY:
            return bytes((1, DATA_BLOCKS, DATA_BLOCK_SIZE, DATA_BLOCKS, DATA_BLOCK_SIZE))
        if header == ct.READ_DATA_BLOCK and len(data) == 1 and data[0] < DATA_BLOCKS:
            return hop.blocks[data[0]]
        if header == ct.WRITE_DATA_BLOCK and 2 <= len(data) <= DATA_BLOCK_SIZE + 1 and data[0] < DATA_BLOCKS:
            hop.blocks[data[0]] = bytes(data[1:]).ljust(DATA_BLOCK_SIZE, b"\x00")
            return b""
        return None

    def _dispense(self, hop: _Hopper, data: bytes) -> bytes | None:
        """167: [serial 1..3] [coins]; refused (NAK) unless enabled, idle and error-free."""
        if len(data) != 4 or bytes(data[:3]) != hop.serial or data[3] == 0:
            return None
        if not hop.enabled or hop.remaining or any(ct.has_flag(bytes(hop.registers), f) for f in ct.HOPPER_JAM_FLAGS):
            return None
        hop.set_flag(ct.HOPPER_PAYOUT_TIMEOUT, False)
        hop.counter = ct.next_counter(hop.counter)
        hop.remaining, hop.paid, hop.unpaid = data[3], 0, 0
        return bytes((hop.counter,))

    def _tick(self) -> None:
        """Pay one piece from every hopper that is paying out."""
        changed = False
        for hop in self.hoppers.values():
            if not hop.remaining:
                continue
            changed = True
            if hop.jam_after == 0:
                hop.set_flag(ct.HOPPER_MOTOR_REVERSE_LIMIT)
                hop.unpaid += hop.remaining
                hop.remaining = 0
            elif hop.count == 0:
                hop.set_flag(ct.HOPPER_PAYOUT_TIMEOUT)
                hop.unpaid += hop.remaining
                hop.remaining = 0
            else:
                hop.count -= 1
                hop.remaining -= 1
                hop.paid += 1
                self.paid_out.append(hop.denomination)
                if hop.jam_after is not None:
                    hop.jam_after -= 1
        if changed:
            self._cond.notify_all()

    def _handle(self, frame: ct.Frame, raw: bytes) -> bytes:
        """Bytes to put on the line for one received frame (echo included)."""
        out = raw if self.echo else b""
        if frame.source == ct.HOST_ADDRESS and frame.dest in self._by_address and self._connected:
            reply = self._reply(self._by_address[frame.dest], frame)
            self._cond.notify_all()
            if self._garbage:
                out += self._garbage
                self._garbage = b""
            if self._corrupt_next:
                self._corrupt_next = False
                reply = reply[:-1] + bytes(((reply[-1] + 1) & 0xFF,))
            out += reply
        return out

    def _reply(self, dev: _Acceptor | _Hopper, frame: ct.Frame) -> bytes:
        header, data = frame.header, frame.data
        if header == ct.SIMPLE_POLL:
            payload: bytes | None = b""
        elif header == ct.REQUEST_EQUIPMENT_CATEGORY_ID:
            payload = (dev.category if isinstance(dev, _Acceptor) else ct.CATEGORY_PAYOUT).encode()
        elif header == ct.REQUEST_MANUFACTURER_ID:
            payload = b"SIM"
        elif header == ct.REQUEST_SERIAL_NUMBER:
            payload = dev.serial if isinstance(dev, _Hopper) else bytes((dev.address, 0, 0))
        elif isinstance(dev, _Acceptor):
            payload = self._acceptor_reply(dev, header, data)
        else:
            payload = self._hopper_reply(dev, header, data)
        if payload is None:
            return ct.encode(ct.HOST_ADDRESS, dev.address, ct.NAK)
        return ct.encode(ct.HOST_ADDRESS, dev.address, ct.ACK, payload)

    def _serve(self) -> None:
        next_tick = time.monotonic()
        while not self._stop.is_set():
            paying = any(h.remaining for h in self.hoppers.values())
            wait = max(0.0, next_tick - time.monotonic()) if paying else 0.05
            try:
                ready, _, _ = select.select([self.master_fd], [], [], wait)
                chunk = os.read(self.master_fd, 4096) if ready else b""
            except OSError:
                return
            with self._cond:
                out = b"".join(self._handle(f, f.encode()) for f in self._parser.feed(chunk))
                if time.monotonic() >= next_tick:
                    self._tick()
                    next_tick = time.monotonic() + self.coin_time
            if out:
                try:
                    os.write(self.master_fd, out)
                except OSError:
                    return


def main(argv: list[str] | None = None) -> int:
    """Run a simulator and read commands from stdin (manual tests and the demo)."""
    parser = argparse.ArgumentParser(description="ccTalk cash changer simulator on a pty")
    parser.add_argument("--link", help="stable symlink to the pty slave")
    parser.add_argument("--echo", action="store_true", help="echo host bytes like a single-wire bus")
    parser.add_argument("--fill", type=int, default=DEFAULT_FILL, help="pieces in every hopper at start")
    args = parser.parse_args(argv)
    counts = dict.fromkeys(DEFAULT_HOPPERS, args.fill)
    sim = CcTalkSimulator(echo=args.echo, counts=counts, symlink=args.link, coin_time=0.05).start()
    print(f"ccTalk simulator on {args.link or sim.path}", flush=True)
    print(
        "commands: insert N | hopper N COUNT | jam note|coin | jamhopper N AFTER | clear | "
        "disconnect | reconnect | status | quit",
        flush=True,
    )
    commands: dict[str, Callable[..., object]] = {
        "insert": lambda d: sim.insert(int(d)),
        "hopper": lambda d, n: sim.set_hopper(int(d), int(n)),
        "jam": lambda which="note": sim.jam_acceptor(which),
        "jamhopper": lambda d, after="0": sim.jam_hopper(int(d), int(after)),
        "clear": sim.clear_jam,
        "disconnect": sim.disconnect,
        "reconnect": sim.reconnect,
        "status": lambda: f"taken={sim.taken} counts={sim.hopper_counts()} returned={sim.returned}",
    }
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            if words[0] == "quit":
                break
            try:
                result = commands[words[0]](*words[1:])
            except (KeyError, TypeError, ValueError) as exc:
                result = f"? {exc}"
            print(result if result is not None else "ok", flush=True)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
