"""Serial driver for a payment terminal speaking the link protocol of docs/cashless-terminal.md.

One reader thread per link owns the input: it answers frames with ACK/NAK, hands ACK/NAK of
our own frames to the sender, and delivers messages. Requests wait on per-sequence events,
so :meth:`SerialCatTerminal.abort` can be called from another thread while a sale waits.
Every wait is bounded: a silent line becomes CatError("disconnected") after the bounded
retransmissions, a slow resident becomes CatError("timeout") (outcome unknown: call check).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import serial

from . import protocol as p
from .terminal import CatError, CatResult, TerminalStatus

log = logging.getLogger(__name__)
_R = TypeVar("_R")

#: Share of the register's own timeout after which the terminal stops waiting for a card, so
#: that an abandoned sale normally ends CANCELLED (known) rather than timing out (unknown).
CARD_WAIT_SHARE = 0.9


class BytePort(Protocol):
    """What a link needs from a line: ``read`` returns b"" after a short idle time."""

    def read(self, size: int) -> bytes: ...

    def write(self, data: bytes) -> object: ...


class LinkDown(Exception):
    """The peer did not acknowledge within the retransmissions, or the line broke."""


class Link:
    """Stop-and-wait framing over a byte port (used by the driver and by the simulator).

    ``deliver`` is called on the reader thread with each new frame body and must not block.
    A body identical to the previous one is a retransmission (our ACK was lost): acknowledged
    again, not delivered twice. Messages carry a sequence number, so real repeats differ.
    """

    def __init__(
        self, port: BytePort, deliver: Callable[[bytes], None], *, ack_timeout: float, retries: int = p.RETRIES
    ) -> None:
        self._port = port
        self._deliver = deliver
        self.ack_timeout = ack_timeout
        self.retries = retries
        self._parser = p.FrameParser()
        self._write_lock = threading.Lock()  # whole frames and control bytes never interleave
        self._send_lock = threading.Lock()  # at most one of our frames awaits its ACK
        self._answer_cond = threading.Condition()
        self._answer: p.Control | None = None
        self._last_body: bytes | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Why the line broke (read/write error); the link is then useless.
        self.broken: BaseException | None = None
        #: time.monotonic() of the last byte received: the caller's liveness signal.
        self.last_rx = time.monotonic()
        self.naks_sent = 0
        self.naks_received = 0
        self.retransmits = 0

    def start(self, name: str) -> None:
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._answer_cond:
            self._answer_cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def send(self, body: bytes) -> None:
        """Send one frame and wait for its ACK, retransmitting on NAK or silence."""
        self._exchange(p.encode_frame(body))

    def probe(self) -> None:
        """ENQ → ACK: is the peer still there? Raises LinkDown."""
        self._exchange(bytes([p.Control.ENQ]))

    def _exchange(self, data: bytes) -> None:
        with self._send_lock:
            for attempt in range(self.retries + 1):
                if attempt:
                    self.retransmits += 1
                with self._answer_cond:
                    self._answer = None
                self._write(data)
                answer = self._await_answer()
                if answer is p.Control.ACK:
                    return
                if answer is p.Control.NAK:
                    self.naks_received += 1
            raise LinkDown(f"no ACK after {self.retries + 1} attempts")

    def _await_answer(self) -> p.Control | None:
        with self._answer_cond:
            self._answer_cond.wait_for(
                lambda: self._answer is not None or self.broken is not None or self._stop.is_set(),
                timeout=self.ack_timeout,
            )
            if self.broken is not None or self._stop.is_set():
                raise LinkDown(f"line closed: {self.broken}")
            return self._answer

    def _write(self, data: bytes) -> None:
        try:
            with self._write_lock:
                self._port.write(data)
        except (OSError, serial.SerialException) as exc:
            self._fail(exc)
            raise LinkDown(str(exc)) from exc

    def _fail(self, exc: BaseException) -> None:
        with self._answer_cond:
            self.broken = exc
            self._answer_cond.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._port.read(4096)
            except (OSError, serial.SerialException) as exc:
                if not self._stop.is_set():
                    log.warning("line broke: %s", exc)
                    self._fail(exc)
                return
            if not data:
                continue
            self.last_rx = time.monotonic()
            for item in self._parser.feed(data):
                try:
                    self._handle(item)
                except LinkDown:
                    return

    def _handle(self, item: p.ParsedItem) -> None:
        if isinstance(item, p.Frame):
            self._write(bytes([p.Control.ACK]))
            if item.body != self._last_body:
                self._last_body = item.body
                self._deliver(item.body)
        elif isinstance(item, p.BadFrame):
            log.info("damaged frame (%s): NAK", item.reason)
            self.naks_sent += 1
            self._write(bytes([p.Control.NAK]))
        elif item is p.Control.ENQ:
            self._write(bytes([p.Control.ACK]))
        else:
            with self._answer_cond:
                self._answer = item
                self._answer_cond.notify_all()


class _SerialPort:
    """pyserial adapted to BytePort: returns as soon as anything arrived, or after ``idle`` s."""

    def __init__(self, ser: serial.SerialBase) -> None:
        self._ser = ser

    def read(self, size: int) -> bytes:
        return self._ser.read(min(size, max(1, self._ser.in_waiting)))

    def write(self, data: bytes) -> object:
        written = self._ser.write(data)
        self._ser.flush()
        return written


@dataclass
class _Waiter:
    done: threading.Event
    reply: p.Message | None = None


class SerialCatTerminal:
    """CashlessTerminal over a serial line (``port`` is a device path or any pyserial URL).

    ``ack_timeout``: how long a frame may go unacknowledged before it is sent again (at most
    ``retries`` times). ``keepalive``: while waiting for an answer with nothing heard for this
    long, the driver sends ENQ to tell a slow resident from a pulled cable. ``reply_timeout``:
    for check, status and abort. ``on_event`` gets the terminal's progress events (waiting for
    card, card read, processing) on the reader thread and must not block.
    """

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        ack_timeout: float = 0.5,
        retries: int = p.RETRIES,
        keepalive: float = 2.0,
        reply_timeout: float = 5.0,
        on_event: Callable[[p.Event], None] | None = None,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.ack_timeout = ack_timeout
        self.retries = retries
        self.keepalive = keepalive
        self.reply_timeout = reply_timeout
        self.on_event = on_event
        self._serial: serial.SerialBase | None = None
        self._link: Link | None = None
        self._lock = threading.Lock()
        self._waiters: dict[int, _Waiter] = {}
        # A random start keeps a restarted host's first frame from looking like a retransmission.
        self._seq = secrets.randbelow(1_000_000)

    # --- lifecycle ---------------------------------------------------------------------------

    def open(self) -> None:
        self.close()
        try:
            ser = serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.05, write_timeout=1.0)
            ser.reset_input_buffer()  # whatever a previous host left unread belongs to nobody
        except (OSError, serial.SerialException) as exc:
            raise CatError("disconnected", f"cannot open {self.port}: {exc}") from exc
        link = Link(_SerialPort(ser), self._on_body, ack_timeout=self.ack_timeout, retries=self.retries)
        self._serial, self._link = ser, link
        link.start(f"cat-reader:{self.port}")
        try:
            link.probe()
        except LinkDown as exc:
            self.close()
            raise CatError("disconnected", f"no terminal answers on {self.port}") from exc

    def close(self) -> None:
        link, ser = self._link, self._serial
        self._link = self._serial = None
        if link is not None:
            link.stop()
        if ser is not None:
            ser.close()
        self._wake_all()

    @property
    def link(self) -> Link | None:
        """The open link (for its counters in tests and diagnostics)."""
        return self._link

    # --- CashlessTerminal --------------------------------------------------------------------

    def status(self) -> TerminalStatus:
        """Never raises: an unreachable terminal is reported as not connected."""
        try:
            reply = self._expect(self._request(lambda seq: p.StatusRequest(seq=seq), self.reply_timeout), p.StatusReply)
        except CatError as exc:
            return TerminalStatus(connected=exc.code not in ("disconnected", "timeout"), faults=(exc.code,))
        return TerminalStatus(connected=True, busy=reply.busy, faults=tuple(reply.faults))

    def authorize_sales(self, key: str, amount: int, timeout: float) -> CatResult:
        wait = min(max(timeout * CARD_WAIT_SHARE, 0.001), p.MAX_CARD_WAIT)
        return self._result(key, lambda seq: p.SaleRequest(seq=seq, key=key, amount=amount, wait=wait), timeout)

    def authorize_void(self, key: str, original_key: str, timeout: float) -> CatResult:
        return self._result(key, lambda seq: p.VoidRequest(seq=seq, key=key, original_key=original_key), timeout)

    def authorize_refund(self, key: str, original_key: str, amount: int, timeout: float) -> CatResult:
        return self._result(
            key, lambda seq: p.RefundRequest(seq=seq, key=key, original_key=original_key, amount=amount), timeout
        )

    def check(self, key: str) -> CatResult | None:
        reply = self._expect(
            self._request(lambda seq: p.CheckRequest(seq=seq, key=key), self.reply_timeout), p.CheckReply
        )
        if reply.state is p.CheckState.PENDING:
            raise CatError("busy", f"{key} is still waiting on the terminal")
        if reply.state is p.CheckState.NONE:
            return None
        if reply.record is None or reply.record.key != key:
            raise CatError("protocol", f"check of {key} answered with another record")
        return reply.record.to_result()

    def abort(self) -> None:
        reply = self._expect(self._request(lambda seq: p.AbortRequest(seq=seq), self.reply_timeout), p.AbortReply)
        if not reply.stopped:
            log.info("abort: nothing was waiting for a card (or the card was already read)")

    # --- internals ---------------------------------------------------------------------------

    def _result(self, key: str, build: Callable[[int], p.Request], timeout: float) -> CatResult:
        reply = self._expect(self._request(build, timeout), p.ResultReply)
        if reply.record.key != key:
            raise CatError("protocol", f"result for {reply.record.key} answered a request for {key}")
        return reply.record.to_result()

    def _request(self, build: Callable[[int], p.Request], timeout: float) -> p.Message:
        """Send one request and wait for its reply; only the caller's thread blocks."""
        link = self._link
        if link is None:
            raise CatError("disconnected", "terminal not open")
        with self._lock:
            self._seq += 1
            seq = self._seq
            try:
                frame_body = p.message_body(build(seq))
            except ValueError as exc:  # pydantic's ValidationError is a ValueError too
                raise CatError("protocol", f"request not sendable: {exc}") from exc
            waiter = self._waiters[seq] = _Waiter(threading.Event())
        deadline = time.monotonic() + timeout
        try:
            link.send(frame_body)
            self._wait(link, waiter, deadline)
        except LinkDown as exc:
            raise CatError("disconnected", f"terminal on {self.port} does not answer: {exc}") from exc
        finally:
            with self._lock:
                self._waiters.pop(seq, None)
        if waiter.reply is None:
            raise CatError("disconnected", "terminal closed while waiting")
        return waiter.reply

    def _wait(self, link: Link, waiter: _Waiter, deadline: float) -> None:
        """Wait for the reply until ``deadline``, probing the line whenever it has been quiet."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CatError("timeout", "no answer in time: the outcome is unknown, call check")
            if waiter.done.wait(min(remaining, self.keepalive)):
                return
            if link.broken is not None:
                raise LinkDown(str(link.broken))
            if time.monotonic() - link.last_rx >= self.keepalive:
                link.probe()

    @staticmethod
    def _expect(reply: p.Message, kind: type[_R]) -> _R:
        if isinstance(reply, p.ErrorReply):
            raise CatError(reply.code, reply.message or reply.code)
        if not isinstance(reply, kind):
            raise CatError("protocol", f"expected {kind.__name__}, got {type(reply).__name__}")
        return reply

    def _on_body(self, body: bytes) -> None:
        try:
            message = p.decode_message(body)
        except p.MessageError as exc:
            log.warning("terminal sent %s", exc)
            return
        if isinstance(message, p.Event):
            self._emit(message)
            return
        re = getattr(message, "re", None)
        with self._lock:
            waiter = self._waiters.get(re) if re is not None else None
        if waiter is None:
            log.info("unclaimed %s (re=%s): its request is no longer waited for", message.type, re)
            return
        waiter.reply = message
        waiter.done.set()

    def _emit(self, event: p.Event) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception:
            log.exception("on_event handler failed")

    def _wake_all(self) -> None:
        with self._lock:
            for waiter in self._waiters.values():
                waiter.done.set()
