"""CashChanger driver for a ccTalk bus: coin acceptor + bill validator + payout hoppers.

Why ccTalk: it is an openly documented serial protocol (ccTalk Generic Specification) with
buffered, counter-numbered credit events, which is exactly what crash recovery needs: the
device remembers the last five credits and the host can tell which ones it already saw.
See docs/cash-changer.md for the header subset, the device map and the recovery rules.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

import serial

from register.cash import cctalk as ct
from register.cash.changer import (
    COINS,
    NOTES,
    CashChangerError,
    ChangerStatus,
    DepositEvent,
    DepositStatus,
    DeviceStatus,
    EndDeposit,
    FullStatus,
    PayoutResult,
    Recovery,
)

log = logging.getLogger(__name__)

#: Denomination -> ccTalk address of the hopper paying it. 1000 yen is a note "hopper"
#: standing in for a note recycler (ccTalk's generic spec has no recycler commands).
DEFAULT_HOPPERS: dict[int, int] = {1000: 3, 500: 4, 100: 5, 50: 6, 10: 7, 5: 8, 1: 9}
MAX_PIECES = 255  # one 167 command pays at most 255 pieces; the planner stays below it

_DEPOSIT_BLOCK = 0  # data block holding the acceptors' counters at begin_deposit
_PAYOUT_BLOCK = 1  # data block holding the payout in progress
_BLOCK_NEEDED = 28


class _Nak(Exception):
    """The device answered NAK: it understood the frame and refused."""


class _Line:
    """One serial line shared by every device on the bus; one lock around each exchange."""

    def __init__(self, port: str, timeout: float, retries: int) -> None:
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self._lock = threading.Lock()
        self._parser = ct.FrameParser()
        self._ser: serial.SerialBase | None = None

    def open(self) -> None:
        try:
            self._ser = serial.serial_for_url(self.port, baudrate=9600, timeout=0.02, write_timeout=self.timeout)
        except (serial.SerialException, OSError) as exc:
            raise CashChangerError("disconnected", f"cannot open {self.port}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._ser is not None:
                self._ser.close()
                self._ser = None

    def transact(self, address: int, header: int, data: bytes = b"", *, retries: int | None = None) -> bytes:
        """Send one command and return the ACK data; raises _Nak or CashChangerError."""
        with self._lock:
            if self._ser is None:
                raise CashChangerError("disconnected", "line not open")
            attempts = (self.retries if retries is None else retries) + 1
            for _ in range(attempts):
                try:
                    self._ser.reset_input_buffer()
                    self._parser.clear()
                    self._ser.write(ct.encode(address, ct.HOST_ADDRESS, header, data))
                    frame = self._read_reply(address)
                except (serial.SerialException, OSError) as exc:
                    raise CashChangerError("disconnected", f"serial error: {exc}") from exc
                if frame is None or frame.header == ct.BUSY:
                    continue
                if frame.header == ct.NAK:
                    raise _Nak(f"address {address} refused header {header}")
                if frame.header != ct.ACK:
                    raise CashChangerError("protocol", f"reply header {frame.header} from {address}")
                return frame.data
        raise CashChangerError("disconnected", f"no reply from address {address} (header {header})")

    def _read_reply(self, address: int) -> ct.Frame | None:
        deadline = time.monotonic() + self.timeout
        assert self._ser is not None
        while time.monotonic() < deadline:
            chunk = self._ser.read(max(1, self._ser.in_waiting))
            for frame in self._parser.feed(chunk):
                if frame.source == ct.HOST_ADDRESS:
                    continue  # our own bytes echoed by a single-wire bus
                if frame.dest == ct.HOST_ADDRESS and frame.source == address:
                    return frame
        return None


def plan_payout(amount: int, counts: dict[int, int]) -> list[tuple[int, int]] | None:
    """Pieces per denomination, largest first, or None if ``amount`` cannot be paid exactly.

    Greedy is exact here: every yen denomination divides the next one up (1|5|10|50|...).
    """
    plan: list[tuple[int, int]] = []
    left = amount
    for denom in sorted(counts, reverse=True):
        pieces = min(left // denom, counts[denom], MAX_PIECES)
        if pieces:
            plan.append((denom, pieces))
            left -= pieces * denom
    return plan if left == 0 else None


def parse_event_id(event_id: str | None) -> dict[int, int]:
    """``"2:17;40:3"`` -> {2: 17, 40: 3}: the credit itself, then the other acceptors' counters."""
    vector: dict[int, int] = {}
    for part in (event_id or "").split(";"):
        if ":" in part:
            address, counter = part.split(":", 1)
            vector[int(address)] = int(counter)
    return vector


def _newer(current: int, *candidates: int | None) -> int | None:
    """The candidate counter closest behind ``current`` (i.e. the most recent one)."""
    known = [c for c in candidates if c is not None]
    return min(known, key=lambda c: ct.counter_distance(c, current)) if known else None


class CcTalkCashChanger:
    """CashChanger (changer.py) over ccTalk; ``port`` is a device path, pty or pyserial URL."""

    def __init__(
        self,
        port: str,
        *,
        hoppers: dict[int, int] | None = None,
        timeout: float = 0.5,
        retries: int = 1,
        coin_address: int = 2,
        bill_address: int = 40,
        poll_interval: float = 0.05,
        seconds_per_piece: float = 1.0,
    ) -> None:
        self._line = _Line(port, timeout, retries)
        self._timeout = timeout
        self._poll_interval = poll_interval
        self._per_piece = seconds_per_piece
        self._coin = coin_address
        self._bill = bill_address
        self._hoppers = dict(hoppers or DEFAULT_HOPPERS)
        self._values: dict[int, dict[int, int]] = {coin_address: {}, bill_address: {}}
        self._serials: dict[int, bytes] = {}
        self._journal: int | None = None
        self._counters: dict[int, int] = {}
        self._connected = False
        self._lock = threading.RLock()  # deposit state
        self._deliver_lock = threading.RLock()
        self._mode = "idle"  # idle | depositing | jam | fixed
        self._amount = 0
        self._pending: deque[DepositEvent] = deque()
        self._callback: Callable[[DepositEvent], None] | None = None
        self._poller: threading.Thread | None = None
        self._stop_poll = threading.Event()
        self._sticky: set[str] = set()

    # ---- plumbing --------------------------------------------------------------------------

    def _ask(self, address: int, header: int, data: bytes = b"", *, retries: int | None = None) -> bytes:
        try:
            return self._line.transact(address, header, data, retries=retries)
        except CashChangerError as exc:
            if exc.code == "disconnected":
                if self._connected:
                    log.warning("cash changer: %s", exc)
                self._connected = False
            raise

    def _require_connected(self) -> None:
        if not self._connected:
            raise CashChangerError("disconnected", "cash changer not connected")

    @property
    def _acceptors(self) -> dict[int, int]:
        """Acceptor address -> its buffered-events header."""
        return {self._coin: ct.READ_BUFFERED_CREDIT_OR_ERROR_CODES, self._bill: ct.READ_BUFFERED_BILL_EVENTS}

    def _check_category(self, address: int, expected: str) -> None:
        category = self._ask(address, ct.REQUEST_EQUIPMENT_CATEGORY_ID).decode("ascii", "replace")
        if category.strip() != expected:
            raise CashChangerError("protocol", f"address {address} is a {category!r}, expected {expected!r}")

    def _read_ids(self, address: int, header: int, to_value: Callable[[str], int | None]) -> dict[int, int]:
        values: dict[int, int] = {}
        for position in range(1, 17):
            value = to_value(self._ask(address, header, bytes((position,))).decode("ascii", "replace"))
            if value in COINS or value in NOTES:
                values[position] = value
        return values

    # ---- open / close ----------------------------------------------------------------------

    def open(self) -> None:
        self._line.open()
        self._connected = True
        try:
            self._check_category(self._coin, ct.CATEGORY_COIN_ACCEPTOR)
            self._values[self._coin] = self._read_ids(self._coin, ct.REQUEST_COIN_ID, ct.coin_value)
            self._check_category(self._bill, ct.CATEGORY_BILL_VALIDATOR)
            scale = self._ask(self._bill, ct.REQUEST_COUNTRY_SCALING_FACTOR, b"JP")
            factor, decimals = int.from_bytes(scale[:2], "little"), scale[2]
            self._values[self._bill] = self._read_ids(
                self._bill, ct.REQUEST_BILL_ID, lambda i: ct.bill_value(i, factor, decimals)
            )
            for denom, address in self._hoppers.items():
                self._check_category(address, ct.CATEGORY_PAYOUT)
                coin = self._ask(address, ct.REQUEST_HOPPER_COIN).decode("ascii", "replace")
                if ct.coin_value(coin) != denom:
                    raise CashChangerError("protocol", f"hopper {address} pays {coin!r}, configured for {denom}")
                self._serials[address] = self._ask(address, ct.REQUEST_SERIAL_NUMBER)[:3]
            self._journal = self._find_journal()
            for address, header in self._acceptors.items():
                self._counters[address] = self._ask(address, header)[0]
        except _Nak as exc:
            self._connected = False
            self._line.close()
            raise CashChangerError("protocol", str(exc)) from exc
        except CashChangerError:
            self._connected = False
            self._line.close()
            raise
        log.info("cash changer open: %d coin and %d note types", *(len(v) for v in self._values.values()))

    def _find_journal(self) -> int | None:
        """A hopper with NV data blocks keeps the deposit/payout markers recovery needs."""
        address = min(self._hoppers.values())
        try:
            info = self._ask(address, ct.REQUEST_DATA_STORAGE_AVAILABILITY)
        except _Nak:
            return None
        return address if len(info) >= 5 and info[4] >= _BLOCK_NEEDED and info[2] >= _BLOCK_NEEDED else None

    def close(self) -> None:
        self._stop_poll.set()
        if self._poller and self._poller is not threading.current_thread():
            self._poller.join(timeout=self._timeout * 4)
        if self._connected and self._mode in ("depositing", "jam"):
            with contextlib.suppress(CashChangerError, _Nak):
                self._inhibit_all()
        self._connected = False
        self._line.close()

    # ---- status ----------------------------------------------------------------------------

    def status(self) -> ChangerStatus:
        faults = set(self._sticky)
        try:
            coin_fault = self._ask(self._coin, ct.PERFORM_SELF_CHECK)[0]
            bill_fault = self._ask(self._bill, ct.PERFORM_SELF_CHECK)[0]
            hopper_state = {
                denom: (
                    self._ask(address, ct.TEST_HOPPER),
                    self._count(address),
                    self._ask(address, ct.REQUEST_PAYOUT_HIGH_LOW_STATUS)[0],
                )
                for denom, address in self._hoppers.items()
            }
        except (CashChangerError, _Nak):
            self._connected = False
            return ChangerStatus(connected=False, deposit=self._deposit_status(), faults=("disconnected",))
        self._connected = True
        for name, code in (("coin", coin_fault), ("note", bill_fault)):
            if code in ct.JAM_FAULTS:
                faults.add(f"jam:{name}")
            elif code not in (ct.FAULT_OK, ct.FAULT_STACKER_FULL):
                faults.add(f"fault:{name}:{code}")
        full = FullStatus.FULL if bill_fault == ct.FAULT_STACKER_FULL else FullStatus.OK
        if full:
            faults.add("full:note")
        for denom, (registers, count, level) in hopper_state.items():
            if any(ct.has_flag(registers, flag) for flag in ct.HOPPER_JAM_FLAGS):
                faults.add(f"jam:{denom}")
            if count == 0:
                faults.add(f"empty:{denom}")
            elif level & ct.LEVEL_LOW_SUPPORTED and level & ct.LEVEL_BELOW_LOW:
                faults.add(f"near_empty:{denom}")
        device = DeviceStatus.OK
        for prefix, worst in (("near_empty", DeviceStatus.NEAREMPTY), ("empty", DeviceStatus.EMPTY)):
            if any(f.startswith(prefix + ":") for f in faults):
                device = worst
        if any(f.startswith("jam") for f in faults):
            device = DeviceStatus.JAM
        return ChangerStatus(
            connected=True, device=device, full=full, deposit=self._deposit_status(), faults=tuple(sorted(faults))
        )

    def _deposit_status(self) -> DepositStatus:
        if self._mode == "jam":
            return DepositStatus.JAM
        if self._mode == "depositing":
            return DepositStatus.COUNT if self._amount else DepositStatus.START
        return DepositStatus.END if self._mode == "fixed" else DepositStatus.NONE

    def _count(self, address: int) -> int:
        return int.from_bytes(self._ask(address, ct.REQUEST_PAYOUT_FLOAT)[:2], "little")

    def read_cash_counts(self) -> dict[int, int]:
        self._require_connected()
        return {denom: self._count(address) for denom, address in self._hoppers.items()}

    def _available(self) -> dict[int, int]:
        """Pieces that can be paid now: a hopper with a jam flag set counts as empty."""
        counts = {}
        for denom, address in self._hoppers.items():
            registers = self._ask(address, ct.TEST_HOPPER)
            jammed = any(ct.has_flag(registers, flag) for flag in ct.HOPPER_JAM_FLAGS)
            counts[denom] = 0 if jammed else self._count(address)
        return counts

    def can_dispense(self, amount: int) -> bool:
        self._require_connected()
        return amount == 0 or plan_payout(amount, self._available()) is not None

    # ---- deposit ---------------------------------------------------------------------------

    def begin_deposit(self, on_deposit: Callable[[DepositEvent], None]) -> None:
        self._require_connected()
        with self._lock:
            if self._mode != "idle":
                raise CashChangerError("busy", f"deposit already {self._mode}")
            try:
                self._ask(self._bill, ct.ROUTE_BILL, bytes((ct.ROUTE_RETURN,)))  # stale escrow goes back
                for address, header in self._acceptors.items():
                    self._counters[address] = self._ask(address, header)[0]
                self._write_block(_DEPOSIT_BLOCK, b"D" + self._vector_bytes())
                for address in self._acceptors:
                    self._ask(address, ct.MODIFY_INHIBIT_STATUS, ct.mask_bytes(set(self._values[address])))
                    self._ask(address, ct.MODIFY_MASTER_INHIBIT_STATUS, b"\x01")
            except _Nak as exc:
                raise CashChangerError("protocol", str(exc)) from exc
            self._mode, self._amount, self._callback = "depositing", 0, on_deposit
            self._pending.clear()
            self._sticky.clear()
            self._stop_poll.clear()
            self._poller = threading.Thread(target=self._poll_loop, name="cctalk-deposit", daemon=True)
            self._poller.start()
        log.info("deposit started")

    def deposit_amount(self) -> int:
        return self._amount

    def _poll_loop(self) -> None:
        while not self._stop_poll.wait(self._poll_interval):
            try:
                with self._lock:
                    if self._mode not in ("depositing", "jam"):
                        return
                    self._poll_once()
            except (CashChangerError, _Nak) as exc:
                log.warning("deposit polling stopped: %s", exc)
                return
            finally:
                self._deliver()

    def _poll_once(self) -> None:
        """Read both acceptors' buffers; queue credits, stack escrowed notes, note jams."""
        for address, header in self._acceptors.items():
            events, counter, lost = ct.new_events(self._counters[address], self._ask(address, header))
            self._counters[address] = counter
            if lost:
                log.error("address %d: %d events lost from the buffer", address, lost)
                self._sticky.add(f"lost_events:{address}:{lost}")
            for event in events:
                self._on_event(address, event)

    def _on_event(self, address: int, event: ct.BufferedEvent) -> None:
        coin = address == self._coin
        if event.a == 0:
            jam = (ct.COIN_JAM_CODES if coin else ct.BILL_JAM_CODES).get(event.b)
            if jam:
                self._on_jam(address, jam)
            elif not coin and event.b == ct.BILL_STACKER_FULL:
                self._sticky.add("full:note")
            return
        if not coin and event.b == ct.BILL_ESCROW:
            self._ask(self._bill, ct.ROUTE_BILL, bytes((ct.ROUTE_STACK,)))
            return
        value = self._values[address].get(event.a)
        if value is None:
            self._sticky.add(f"unknown_credit:{address}:{event.a}")
            return
        self._amount += value
        self._pending.append(DepositEvent(value, self._amount, self._event_id(address, event.counter)))

    def _on_jam(self, address: int, reason: str) -> None:
        log.error("address %d jammed: %s", address, reason)
        if self._mode == "depositing":
            self._mode = "jam"
            self._inhibit_all()

    def _event_id(self, address: int, counter: int) -> str:
        others = [f"{a}:{c}" for a, c in self._counters.items() if a != address]
        return ";".join([f"{address}:{counter}", *others])

    def _deliver(self) -> None:
        """Run on_deposit for queued credits, in order, outside the deposit lock."""
        with self._deliver_lock:
            while True:
                with self._lock:
                    if not self._pending:
                        return
                    event, callback = self._pending.popleft(), self._callback
                if callback is None:
                    continue
                try:
                    callback(event)
                except Exception:
                    log.exception("on_deposit callback failed")

    def _inhibit_all(self) -> None:
        for address in self._acceptors:
            self._ask(address, ct.MODIFY_MASTER_INHIBIT_STATUS, b"\x00")
            self._ask(address, ct.MODIFY_INHIBIT_STATUS, b"\x00\x00")

    def fix_deposit(self) -> int:
        with self._lock:
            if self._mode == "fixed":
                return self._amount
            if self._mode not in ("depositing", "jam"):
                raise CashChangerError("busy", "no deposit in progress")
        self._stop_poll.set()
        if self._poller and self._poller is not threading.current_thread():
            self._poller.join(timeout=self._timeout * 4)
        self._require_connected()
        try:
            with self._lock:
                self._inhibit_all()
                self._collect_late_credits()
                self._mode = "fixed"
        except _Nak as exc:
            raise CashChangerError("protocol", str(exc)) from exc
        finally:
            self._deliver()
        log.info("deposit fixed: %d yen", self._amount)
        return self._amount

    def _collect_late_credits(self) -> None:
        """After inhibiting: read the buffers and stack a note still sitting in escrow."""
        deadline = time.monotonic() + self._timeout * 4
        while True:
            self._poll_once()
            routed = self._ask(self._bill, ct.ROUTE_BILL, bytes((ct.ROUTE_STACK,)))
            if routed != b"" or time.monotonic() > deadline:
                self._poll_once()
                return

    def end_deposit(self, action: EndDeposit) -> PayoutResult:
        with self._lock:
            if self._mode != "fixed":
                raise CashChangerError("busy", "fix_deposit first")
            if action != EndDeposit.REPAY:
                self._mode = "idle"
                return PayoutResult(0, 0)
            try:
                result = self._payout(self._amount)
            except CashChangerError as exc:
                if exc.code != "not_enough_change":
                    self._mode = "idle"
                raise
            self._mode = "idle"
            return result

    # ---- payout ----------------------------------------------------------------------------

    def dispense_change(self, amount: int) -> PayoutResult:
        with self._lock:
            if self._mode in ("depositing", "jam"):
                raise CashChangerError("busy", "deposit in progress")
            return self._payout(amount)

    def _payout(self, amount: int) -> PayoutResult:
        self._require_connected()
        if amount <= 0:
            return PayoutResult(max(amount, 0), 0)
        try:
            plan = plan_payout(amount, self._available())
            if plan is None:
                raise CashChangerError("not_enough_change", f"cannot pay {amount} exactly", paid=0)
            before = {
                self._hoppers[denom]: self._ask(self._hoppers[denom], ct.REQUEST_HOPPER_STATUS)[0] for denom, _ in plan
            }
            marker = b"P" + amount.to_bytes(4, "little") + bytes((len(plan),))
            marker += b"".join(bytes((self._hoppers[d], before[self._hoppers[d]], n)) for d, n in plan)
            self._write_block(_PAYOUT_BLOCK, marker)
            paid = 0
            for denom, pieces in plan:
                try:
                    paid += denom * self._pay_hopper(denom, pieces, before[self._hoppers[denom]], paid)
                except CashChangerError as exc:
                    if exc.paid >= paid:
                        raise
                    raise CashChangerError(exc.code, str(exc), paid=paid) from exc
        except _Nak as exc:
            raise CashChangerError("protocol", str(exc)) from exc
        log.info("paid out %d yen", amount)
        return PayoutResult(amount, paid)

    def _pay_hopper(self, denom: int, pieces: int, counter_before: int, paid_so_far: int) -> int:
        """Run one hopper; returns pieces paid or raises with ``paid`` set to what came out."""
        address = self._hoppers[denom]
        self._ask(address, ct.ENABLE_HOPPER, bytes((ct.HOPPER_ENABLE_CODE,)))
        try:
            # Never retried blindly: a lost reply may hide a payout that did start.
            self._ask(address, ct.DISPENSE_HOPPER_COINS, self._serials[address] + bytes((pieces,)), retries=0)
        except CashChangerError as exc:
            if exc.code != "disconnected":
                raise
            try:
                started = self._ask(address, ct.REQUEST_HOPPER_STATUS)[0] != counter_before
            except CashChangerError:
                started = False
            if not started:
                raise CashChangerError("disconnected", str(exc), paid=paid_so_far) from exc
            self._connected = True
        except _Nak:
            return self._stopped(address, denom, 0, paid_so_far)
        done = self._wait_hopper(address, pieces, paid_so_far)
        if done < pieces:
            return self._stopped(address, denom, done, paid_so_far)
        return done

    def _wait_hopper(self, address: int, pieces: int, paid_so_far: int) -> int:
        """Poll hopper status until the payout ends; emergency-stop a hopper that hangs."""
        deadline = time.monotonic() + self._timeout + pieces * self._per_piece
        paid = 0
        while True:
            try:
                _, remaining, paid, unpaid = self._ask(address, ct.REQUEST_HOPPER_STATUS)[:4]
            except CashChangerError as exc:
                raise CashChangerError(exc.code, str(exc), paid=paid_so_far + paid * self._denom(address)) from exc
            if remaining == 0:
                return paid
            if time.monotonic() > deadline:
                self._ask(address, ct.EMERGENCY_STOP)
                return self._ask(address, ct.REQUEST_HOPPER_STATUS)[2]
            time.sleep(self._poll_interval / 5)

    def _denom(self, address: int) -> int:
        return next(d for d, a in self._hoppers.items() if a == address)

    def _stopped(self, address: int, denom: int, done: int, paid_so_far: int) -> int:
        registers = self._ask(address, ct.TEST_HOPPER)
        paid = paid_so_far + done * denom
        empty = ct.has_flag(registers, ct.HOPPER_PAYOUT_TIMEOUT) and not any(
            ct.has_flag(registers, flag) for flag in ct.HOPPER_JAM_FLAGS
        )
        code = "not_enough_change" if empty else "jam"
        log.error("hopper %d (%d yen) stopped after %d pieces: %s", address, denom, done, code)
        raise CashChangerError(code, f"{denom}-yen hopper stopped after {done} pieces", paid=paid)

    # ---- recovery --------------------------------------------------------------------------

    def _vector_bytes(self) -> bytes:
        pairs = list(self._counters.items())
        return bytes((len(pairs), *[x for pair in pairs for x in pair]))

    def _write_block(self, block: int, payload: bytes) -> None:
        if self._journal is not None:
            self._ask(self._journal, ct.WRITE_DATA_BLOCK, bytes((block,)) + payload)

    def _read_block(self, block: int) -> bytes:
        if self._journal is None:
            return b""
        return self._ask(self._journal, ct.READ_DATA_BLOCK, bytes((block,)))

    def recover(self, last_event_id: str | None) -> Recovery:
        """Inhibit acceptance, then report unjournaled credits and the last payout."""
        self._require_connected()
        notes: list[str] = []
        try:
            open_ = any(self._ask(a, ct.REQUEST_MASTER_INHIBIT_STATUS)[0] & 1 for a in self._acceptors)
            self._inhibit_all()
            if self._ask(self._bill, ct.ROUTE_BILL, bytes((ct.ROUTE_RETURN,))) == b"":
                notes.append("a note left in escrow was returned to the resident")
            credits = self._recover_credits(last_event_id, notes)
            last_payout = self._recover_payout(notes)
        except _Nak as exc:
            raise CashChangerError("protocol", str(exc)) from exc
        with self._lock:
            self._mode = "idle"
        log.info("recovered: %d unjournaled credits, deposit_open=%s", len(credits), open_)
        return Recovery(tuple(credits), open_, last_payout, tuple(notes))

    def _recover_credits(self, last_event_id: str | None, notes: list[str]) -> list[DepositEvent]:
        journaled = parse_event_id(last_event_id)
        marker = self._read_block(_DEPOSIT_BLOCK)
        baseline = parse_event_id(None)
        if marker[:1] == b"D":
            n = marker[1]
            baseline = {marker[2 + 2 * i]: marker[3 + 2 * i] for i in range(n)}
        credits: list[DepositEvent] = []
        total = 0
        for address, header in self._acceptors.items():
            data = self._ask(address, header)
            start = _newer(data[0], journaled.get(address), baseline.get(address))
            if start is None:
                notes.append(f"no deposit baseline for address {address}: its credits are unknown")
                self._counters[address] = data[0]
                continue
            events, self._counters[address], lost = ct.new_events(start, data)
            if lost:
                notes.append(f"{lost} events of address {address} fell out of its buffer")
            for event in events:
                value = self._values[address].get(event.a) if event.a else None
                if value is not None and (address == self._coin or event.b == ct.BILL_STACKED):
                    total += value
                    credits.append(DepositEvent(value, total, self._event_id(address, event.counter)))
        return credits

    def _recover_payout(self, notes: list[str]) -> PayoutResult | None:
        marker = self._read_block(_PAYOUT_BLOCK)
        if marker[:1] != b"P":
            if self._journal is None:
                notes.append("no data storage: last payout unknown")
            return None
        requested = int.from_bytes(marker[1:5], "little")
        paid = 0
        for i in range(marker[5]):
            address, counter_before, _ = marker[6 + 3 * i : 9 + 3 * i]
            status = self._settled_status(address)
            if ct.counter_distance(counter_before, status[0]) >= 1:
                paid += status[2] * self._denom(address)
        return PayoutResult(requested, paid)

    def _settled_status(self, address: int) -> bytes:
        """Hopper status once it has finished paying (bounded wait)."""
        deadline = time.monotonic() + self._timeout + MAX_PIECES * self._per_piece
        while True:
            status = self._ask(address, ct.REQUEST_HOPPER_STATUS)
            if status[1] == 0 or time.monotonic() > deadline:
                return status
            time.sleep(self._poll_interval)
