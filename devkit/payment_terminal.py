"""A payment terminal simulator speaking the link protocol on a pty pair, for tests and the demo.

The driver opens the pty's slave path (``sim.path``) exactly as it would open /dev/ttyUSB0.
The simulator keeps its own slave fd open, so the master never reads EIO when a host closes
the port or dies, and its journal of keys (in memory) outlives any number of host restarts.

Test controls: :meth:`present` (the resident pays), :meth:`decline_next`, ``auto``,
:meth:`swallow_next_response`, :meth:`disconnect`/:meth:`reconnect`, :meth:`corrupt_next_frame`;
assertions: :attr:`charges`, :attr:`charged_total`, :attr:`journal`.
"""

from __future__ import annotations

import argparse
import logging
import os
import queue
import random
import select
import sys
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from register.cashless import protocol as p
from register.cashless.driver import Link, LinkDown
from register.cashless.terminal import Outcome, PaymentMedia

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Charge:
    """An approved sale as it stands after voids and refunds."""

    key: str
    amount: int
    brand: str


class _PtyPort:
    """The master side of the pty as a BytePort, with a pluggable cable and frame damage."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.connected = True
        self.corrupt_out = False  # damage the next frame we write
        self.corrupt_in = False  # damage the next frame we read
        self._after_stx = False

    def read(self, size: int) -> bytes:
        ready, _, _ = select.select([self.fd], [], [], 0.05)
        if not ready:
            return b""
        data = os.read(self.fd, size)
        if not self.connected:
            return b""  # cable pulled: the bytes go nowhere
        return self._damage_incoming(data) if self.corrupt_in else data

    def write(self, data: bytes) -> int:
        if not self.connected:
            return len(data)
        if self.corrupt_out and data[:1] == bytes([p.STX]) and len(data) > 2:
            self.corrupt_out = False
            data = data[:1] + bytes([data[1] ^ 0x01]) + data[2:]
        os.write(self.fd, data)
        return len(data)

    def _damage_incoming(self, data: bytes) -> bytes:
        """Flip one bit of the first body byte of the next frame (even across read chunks)."""
        out = bytearray(data)
        for i, byte in enumerate(out):
            if self._after_stx:
                out[i] = byte ^ 0x01
                self._after_stx = self.corrupt_in = False
                break
            self._after_stx = byte == p.STX
        return bytes(out)


@dataclass
class _Pending:
    key: str
    amount: int
    re: int  # the request to answer (a repeated sale request takes over)
    card_read: bool = False


class CatSimulator:
    """A multi-brand payment terminal: one sale at a time, a journal of keys, test controls."""

    def __init__(
        self,
        *,
        symlink: str | Path | None = None,
        auto: tuple[PaymentMedia | str, str] | None = None,
        auto_delay: float = 0.05,
        ack_timeout: float = 0.2,
    ) -> None:
        self.auto = auto
        self.auto_delay = auto_delay
        self.faults: tuple[str, ...] = ()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: ETX is not ^C here
        self.path = os.ttyname(self._slave)
        self.symlink = Path(symlink) if symlink else None
        if self.symlink is not None:
            self.symlink.unlink(missing_ok=True)
            self.symlink.symlink_to(self.path)
        self._port = _PtyPort(self._master)
        self._link = Link(self._port, self._on_body, ack_timeout=ack_timeout)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._journal: dict[str, p.Record] = {}
        self._pending: _Pending | None = None
        self._timers: list[threading.Timer] = []
        self._decline: str | None = None
        self._swallow = False
        self._seq = 0
        self._slip = 0
        self._rng = random.Random(1)
        self._outbox: queue.Queue[p.Request | p.Reply | p.Event | None] = queue.Queue()
        self._sender = threading.Thread(target=self._send_loop, name="cat-sim-sender", daemon=True)
        self.dropped = 0  # frames given up on (host gone)
        self._link.start("cat-sim-reader")
        self._sender.start()

    # --- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._cancel_timers()
        self._outbox.put(None)
        self._link.stop()
        self._sender.join(timeout=2.0)
        for fd in (self._master, self._slave):
            os.close(fd)
        if self.symlink is not None:
            self.symlink.unlink(missing_ok=True)

    def __enter__(self) -> CatSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- controls ----------------------------------------------------------------------------

    def present(self, media: PaymentMedia | str, brand: str) -> None:
        """The resident taps a card, inserts one or shows a QR: completes the waiting sale."""
        media = _check_brand(media, brand)
        with self._lock:
            pending = self._pending
            if pending is None or pending.card_read:
                raise RuntimeError("no sale is waiting for a card")
            pending.card_read = True
            self._emit_event(pending.key, p.EventName.CARD_READ, media, brand)
            self._emit_event(pending.key, p.EventName.PROCESSING, media, brand)
            if self._decline is not None:
                reason, self._decline = self._decline, None
                self._finish(Outcome.DECLINED, media=media, brand=brand, reason=reason)
            else:
                self._finish(Outcome.APPROVED, media=media, brand=brand)

    def decline_next(self, reason: str = "declined by issuer") -> None:
        """The next card presented is declined with ``reason``."""
        with self._lock:
            self._decline = reason

    def swallow_next_response(self) -> None:
        """The next result is journaled (and charged) but never sent: the host must ask with check."""
        with self._lock:
            self._swallow = True

    def corrupt_next_frame(self, *, incoming: bool = False) -> None:
        """Damage our next outgoing frame (the driver must NAK it) or, with ``incoming``, the
        next frame from the driver (we NAK it and the driver must retransmit)."""
        if incoming:
            self._port.corrupt_in = True
        else:
            self._port.corrupt_out = True

    def disconnect(self) -> None:
        """Pull the cable: nothing goes in or out; a pending sale still runs on the terminal."""
        self._port.connected = False

    def reconnect(self) -> None:
        self._port.connected = True

    def wait_for_card_wait(self, timeout: float = 2.0) -> str:
        """Block until a sale waits for the resident's card; returns its key (a test helper)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._pending and not self._pending.card_read, timeout):
                raise TimeoutError("no sale is waiting for a card")
            assert self._pending is not None
            return self._pending.key

    # --- assertions --------------------------------------------------------------------------

    @property
    def journal(self) -> dict[str, p.Record]:
        with self._lock:
            return dict(self._journal)

    @property
    def charges(self) -> list[Charge]:
        """Approved sales by key with their net amount (voided and fully refunded ones left out)."""
        with self._lock:
            records = list(self._journal.values())
        approved = [r for r in records if r.outcome is Outcome.APPROVED]
        charges = []
        for sale in (r for r in approved if r.kind is p.Kind.SALE):
            undone = [r for r in approved if r.original_key == sale.key]
            if any(r.kind is p.Kind.VOID for r in undone):
                continue
            net = sale.amount - sum(r.amount for r in undone if r.kind is p.Kind.REFUND)
            if net > 0:
                charges.append(Charge(sale.key, net, sale.brand))
        return charges

    @property
    def charged_total(self) -> int:
        return sum(c.amount for c in self.charges)

    @property
    def link(self) -> Link:
        return self._link

    # --- requests (on the reader thread: state changes and outbox only, never a blocking send) --

    def _on_body(self, body: bytes) -> None:
        try:
            message = p.decode_message(body)
        except p.MessageError as exc:
            self._post(p.ErrorReply(seq=self._next_seq(), code="protocol", message=str(exc)))
            return
        handler = getattr(self, f"_on_{message.type}", None)
        if handler is None:
            self._post(p.ErrorReply(seq=self._next_seq(), re=message.seq, code="protocol", message=message.type))
            return
        with self._lock:
            handler(message)

    def _on_sale(self, req: p.SaleRequest) -> None:
        if self._replay(req):
            return
        pending = self._pending
        if pending is not None and pending.key == req.key:
            pending.re = req.seq  # a restarted host asks again: it gets the one outcome
            return
        if pending is not None:
            self._post(p.ErrorReply(seq=self._next_seq(), re=req.seq, code="busy", message=f"{pending.key} pending"))
            return
        self._pending = _Pending(req.key, req.amount, req.seq)
        self._changed.notify_all()
        self._emit_event(req.key, p.EventName.WAITING_FOR_CARD)
        self._start_timer(req.wait, self._card_wait_over, req.key)
        if self.auto is not None:
            self._start_timer(self.auto_delay, self._auto_present, req.key)

    def _on_void(self, req: p.VoidRequest) -> None:
        if self._replay(req):
            return
        sale = self._approved_sale(req.original_key, req.seq)
        if sale is None:
            return
        if self._undone(sale.key):
            self._record(req, Outcome.DECLINED, sale.amount, sale, reason="already voided or refunded")
        else:
            self._record(req, Outcome.APPROVED, sale.amount, sale)

    def _on_refund(self, req: p.RefundRequest) -> None:
        if self._replay(req):
            return
        sale = self._approved_sale(req.original_key, req.seq)
        if sale is None:
            return
        undone = self._undone(sale.key)
        left = 0 if any(r.kind is p.Kind.VOID for r in undone) else sale.amount - sum(r.amount for r in undone)
        if req.amount > left:
            self._record(req, Outcome.DECLINED, req.amount, sale, reason=f"only {left} yen refundable")
        else:
            self._record(req, Outcome.APPROVED, req.amount, sale)

    def _on_check(self, req: p.CheckRequest) -> None:
        record = self._journal.get(req.key)
        if record is not None:
            state = p.CheckState.DONE
        elif self._pending is not None and self._pending.key == req.key:
            state = p.CheckState.PENDING
        else:
            state = p.CheckState.NONE
        self._post(p.CheckReply(seq=self._next_seq(), re=req.seq, key=req.key, state=state, record=record))

    def _on_abort(self, req: p.AbortRequest) -> None:
        pending = self._pending
        stopped = pending is not None and not pending.card_read
        self._post(p.AbortReply(seq=self._next_seq(), re=req.seq, stopped=stopped))
        if stopped:
            self._finish(Outcome.CANCELLED, reason="aborted by the register")

    def _on_status(self, req: p.StatusRequest) -> None:
        pending_key = self._pending.key if self._pending else ""
        self._post(
            p.StatusReply(
                seq=self._next_seq(), re=req.seq, busy=bool(pending_key), pending_key=pending_key, faults=self.faults
            )
        )

    # --- outcomes ----------------------------------------------------------------------------

    def _replay(self, req: p.SaleRequest | p.VoidRequest | p.RefundRequest) -> bool:
        """A key seen before gets its first outcome again, whatever the rest of the request says."""
        record = self._journal.get(req.key)
        if record is not None:
            self._post(p.ResultReply(seq=self._next_seq(), re=req.seq, record=record, replayed=True))
        return record is not None

    def _approved_sale(self, key: str, re: int) -> p.Record | None:
        sale = self._journal.get(key)
        if sale is None or sale.kind is not p.Kind.SALE or sale.outcome is not Outcome.APPROVED:
            self._post(p.ErrorReply(seq=self._next_seq(), re=re, code="unknown_key", message=f"no approved sale {key}"))
            return None
        return sale

    def _undone(self, sale_key: str) -> list[p.Record]:
        return [r for r in self._journal.values() if r.original_key == sale_key and r.outcome is Outcome.APPROVED]

    def _card_wait_over(self, key: str) -> None:
        with self._lock:
            if self._pending is not None and self._pending.key == key and not self._pending.card_read:
                self._finish(Outcome.CANCELLED, reason="no card within the wait time")

    def _auto_present(self, key: str) -> None:
        with self._lock:
            auto, pending = self.auto, self._pending
            if auto is not None and pending is not None and pending.key == key and not pending.card_read:
                self.present(*auto)

    def _finish(
        self, outcome: Outcome, *, media: PaymentMedia | None = None, brand: str = "", reason: str = ""
    ) -> None:
        pending = self._pending
        assert pending is not None
        self._pending = None
        self._cancel_timers()
        self._changed.notify_all()
        record = p.Record(
            key=pending.key,
            kind=p.Kind.SALE,
            outcome=outcome,
            amount=pending.amount,
            media=media,
            brand=brand,
            reason=reason,
        )
        self._record_and_answer(record, pending.re)

    def _record(
        self, req: p.VoidRequest | p.RefundRequest, outcome: Outcome, amount: int, sale: p.Record, reason: str = ""
    ) -> None:
        record = p.Record(
            key=req.key,
            kind=p.Kind(req.type),
            outcome=outcome,
            amount=amount,
            media=sale.media,
            brand=sale.brand,
            reason=reason,
            original_key=sale.key,
        )
        self._record_and_answer(record, req.seq)

    def _record_and_answer(self, record: p.Record, re: int) -> None:
        """Journal first, then answer: the outcome exists even if the answer is lost."""
        if record.outcome is Outcome.APPROVED:
            self._slip += 1
            code = f"{self._rng.randrange(1_000_000):06d}"
            record = record.model_copy(update={"approval_code": code, "slip_number": f"{self._slip:05d}"})
        self._journal[record.key] = record
        if self._swallow:
            self._swallow = False
            log.info("swallowing the result for %s", record.key)
            return
        self._post(p.ResultReply(seq=self._next_seq(), re=re, record=record))

    # --- plumbing ----------------------------------------------------------------------------

    def _emit_event(self, key: str, event: p.EventName, media: PaymentMedia | None = None, brand: str = "") -> None:
        self._post(p.Event(seq=self._next_seq(), key=key, event=event, media=media, brand=brand))

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def _post(self, message: p.Reply | p.Event) -> None:
        self._outbox.put(message)

    def _send_loop(self) -> None:
        """The terminal's only sender: one frame at a time, dropped if the host never ACKs it."""
        while (message := self._outbox.get()) is not None:
            try:
                self._link.send(p.message_body(message))
            except LinkDown:
                self.dropped += 1
                log.info("host did not take %s %s", message.type, getattr(message, "re", ""))

    def _start_timer(self, delay: float, fn: Callable[[str], None], key: str) -> None:
        timer = threading.Timer(delay, fn, args=(key,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            if timer is not threading.current_thread():
                timer.cancel()
        self._timers.clear()


def _check_brand(media: PaymentMedia | str, brand: str) -> PaymentMedia:
    media = PaymentMedia(media)
    if p.BRANDS.get(brand) is not media:
        raise ValueError(f"{brand!r} is not a {media} brand (known: {', '.join(p.BRANDS)})")
    return media


# --- CLI -----------------------------------------------------------------------------------------

_HELP = """commands:
  present MEDIA BRAND    e.g. "present emoney 交通系IC", "present qr PayPay", "present credit VISA"
  decline [REASON]       the next card is declined
  auto MEDIA BRAND|off   answer every sale automatically
  swallow                lose the next result (the host must check)
  corrupt [in]           damage the next frame out (or in)
  disconnect | reconnect
  charges | brands | quit"""


def _command(sim: CatSimulator, line: str) -> str | None:
    """One stdin command; returns what to print."""
    word, _, rest = line.strip().partition(" ")
    rest = rest.strip()
    if word == "present":
        media, _, brand = rest.partition(" ")
        sim.present(media, brand.strip())
    elif word == "decline":
        sim.decline_next(rest or "declined by issuer")
    elif word == "auto":
        media, _, brand = rest.partition(" ")
        sim.auto = None if media == "off" else (_check_brand(media, brand.strip()), brand.strip())
    elif word == "swallow":
        sim.swallow_next_response()
    elif word == "corrupt":
        sim.corrupt_next_frame(incoming=rest == "in")
    elif word == "disconnect":
        sim.disconnect()
    elif word == "reconnect":
        sim.reconnect()
    elif word == "charges":
        return "\n".join(f"{c.key}\t{c.amount}\t{c.brand}" for c in sim.charges) + f"\ntotal\t{sim.charged_total}"
    elif word == "brands":
        return "\n".join(f"{media}\t{brand}" for brand, media in p.BRANDS.items())
    else:
        return _HELP
    return "ok"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Payment terminal simulator on a pty.")
    parser.add_argument("--link", required=True, help="symlink to create for the terminal's serial port")
    parser.add_argument("--auto", nargs=2, metavar=("MEDIA", "BRAND"), help="approve every sale automatically")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    auto = (_check_brand(args.auto[0], args.auto[1]), args.auto[1]) if args.auto else None
    with CatSimulator(symlink=args.link, auto=auto) as sim:
        print(f"terminal on {args.link} -> {sim.path}\n{_HELP}", flush=True)
        for line in sys.stdin:
            if line.strip() in ("quit", "exit"):
                break
            if not line.strip():
                continue
            try:
                print(_command(sim, line), flush=True)
            except (RuntimeError, ValueError) as exc:
                print(f"error: {exc}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
