"""A virtual My Number card for tests and the demo.

:class:`VirtualMyNumberCard` answers the same APDUs as a real card (SELECT, VERIFY with its PIN
counter and lock, READ BINARY with the security state). :class:`VpcdCard` plugs it into pcscd
through the vsmartcard ``vpcd`` reader driver, so the real pyscard → PC/SC path is used;
:class:`SimulatedReader` is the in-process fallback when pcscd is not installed.

vpcd protocol: the card is a TCP client of the driver (port 35963 by default). Every message
is a 2-byte big-endian length and its bytes. A 1-byte message is a control: 0 power off,
1 power on, 2 reset, 4 "send your ATR". Anything longer is a command APDU, answered with the
response APDU. Closing the socket is taking the card away.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import sys
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources

from form_printer.card import apdu
from form_printer.card.basic4 import BasicFour, encode_basic4
from form_printer.card.protocol import CardError, TextInputSupportAP
from form_printer.card.tlv import encode

VPCD_PORT = 35963
#: pcscd polls a vpcd reader's presence every 400 ms and only its poller raises "card removed":
#: a card put back before one poll saw it gone is never seen again. Hands take longer than this.
AWAY_AT_LEAST = 0.5
_CTRL_OFF, _CTRL_ON, _CTRL_RESET, _CTRL_ATR = 0, 1, 2, 4


def _atr(historical: bytes) -> bytes:
    """A T=1 ATR with a valid check byte (pcscd checks it)."""
    body = bytes([0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3b" + body + bytes([tck])


@dataclass(frozen=True)
class Resident:
    """A test resident: what their card holds."""

    id: str
    label: str
    items: BasicFour
    my_number: str
    pin: str = "1234"


def load_residents() -> dict[str, Resident]:
    """The invented residents of ``residents.toml`` (long name, rare kanji, 60+ character address, alphabet name)."""
    text = resources.files("devkit").joinpath("residents.toml").read_text("utf-8")
    out = {}
    for r in tomllib.loads(text)["residents"]:
        items = BasicFour(name=r["name"], address=r["address"], birth=r["birth"], sex=r["sex"])
        out[r["id"]] = Resident(r["id"], r["label"], items, r["my_number"], r.get("pin", "1234"))
    return out


_OK = b"\x90\x00"


@dataclass
class VirtualMyNumberCard:
    """The card's side of the APDU exchange; state survives removal, like a real card's PIN counter."""

    resident: Resident | None  # None: some other card (a transit IC card, a bank card)
    tries: int = apdu.PIN_TRIES_FRESH
    _df: bytes = b""
    _ef: bytes = b""
    _verified: bool = False
    #: Every command seen, for tests that check what was (not) sent. Never printed.
    commands: list[bytes] = field(default_factory=list, repr=False)

    @property
    def atr(self) -> bytes:
        return _atr(b"MyNumberSim" if self.resident else b"OtherCardSm")

    def reset(self) -> None:
        """Power cycle: the security state and the selection are lost; the PIN counter is not."""
        self._df = self._ef = b""
        self._verified = False

    def _files(self) -> dict[bytes, bytes]:
        assert self.resident is not None
        return {
            apdu.EF_BASIC4: encode_basic4(self.resident.items),
            apdu.EF_MY_NUMBER: encode(0xFF10, self.resident.my_number.encode("ascii")),
        }

    def process(self, command: bytes) -> bytes:
        self.commands.append(bytes(command))
        if len(command) < 4:
            return b"\x67\x00"  # wrong length
        cla, ins, p1, p2 = command[:4]
        data = command[5 : 5 + command[4]] if len(command) > 5 else b""
        if cla != 0x00:
            return b"\x6e\x00"
        if ins == 0xA4:
            return self._select(p1, data)
        if ins == 0x20 and (p1, p2) == (0x00, 0x80):
            return self._verify(data)
        if ins == 0xB0:
            le = command[4] if len(command) == 5 else 0
            return self._read((p1 << 8) | p2, le or 256)
        return b"\x6d\x00"

    def _select(self, p1: int, data: bytes) -> bytes:
        if p1 == 0x04:
            known = (apdu.AID_TEXT_INPUT_SUPPORT, apdu.AID_CARD_FACE, apdu.AID_JPKI)
            if self.resident is None or data not in known:
                return b"\x6a\x82"
            if data != self._df:
                self._verified = False  # selecting another DF drops the security state
            self._df, self._ef = data, b""
            return _OK
        if p1 == 0x02 and self._df == apdu.AID_TEXT_INPUT_SUPPORT and data in (apdu.EF_PIN, *self._files()):
            self._ef = data
            return _OK
        return b"\x6a\x82"

    def _verify(self, pin: bytes) -> bytes:
        if self._df != apdu.AID_TEXT_INPUT_SUPPORT or self._ef != apdu.EF_PIN:
            return b"\x69\x86"
        if self.tries == 0:
            return b"\x69\x84"
        if not pin:
            return _OK if self._verified else bytes([0x63, 0xC0 | self.tries])
        assert self.resident is not None
        if pin == self.resident.pin.encode("ascii"):
            self.tries, self._verified = apdu.PIN_TRIES_FRESH, True
            return _OK
        self.tries -= 1
        self._verified = False
        return bytes([0x63, 0xC0 | self.tries])

    def _read(self, offset: int, length: int) -> bytes:
        files = self._files() if self.resident else {}
        if self._ef not in files:
            return b"\x69\x86"
        if not self._verified:
            return b"\x69\x82"
        content = files[self._ef]
        if offset >= len(content):
            return b"\x6b\x00"
        return content[offset : offset + length] + _OK


class SimulatedReader:
    """An in-process card reader with the same interface as :class:`~form_printer.card.pcsc.PcscReader`.

    ``hold``/``take_away`` stand in for a hand (tests). With a ``port`` it also plays the vpcd
    driver's part of the vpcd protocol: a card holder (:class:`VpcdCard`, the demo's card window)
    connects to it exactly as it would to pcscd's vpcd, so the demo works without pcscd.
    ``remove_after`` takes the card away after that many APDUs (lost in the middle of a command).
    """

    def __init__(self, port: int | None = None) -> None:
        self.card: VirtualMyNumberCard | _RemoteCard | None = None
        self.remove_after: int | None = None
        self._on_inserted: Callable[[], None] | None = None
        self._on_removed: Callable[[], None] | None = None
        self._lock = threading.RLock()
        self._server: socket.socket | None = None
        if port is not None:
            self._server = socket.create_server(("127.0.0.1", port), reuse_port=False)
            threading.Thread(target=self._accept, name="simulated-reader", daemon=True).start()

    @property
    def port(self) -> int | None:
        return self._server.getsockname()[1] if self._server else None

    def start(
        self,
        on_inserted: Callable[[], None],
        on_removed: Callable[[], None],
        on_health: Callable[[bool], None] | None = None,
    ) -> None:
        self._on_inserted, self._on_removed = on_inserted, on_removed
        if on_health is not None:
            on_health(True)  # in-process: always there

    def stop(self) -> None:
        self._on_inserted = self._on_removed = None
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self.take_away()

    def hold(self, card) -> None:
        self.take_away()
        with self._lock:
            self.card = card
        if self._on_inserted:
            self._on_inserted()

    def take_away(self) -> None:
        with self._lock:
            card, self.card = self.card, None
        if card is not None:
            card.reset()
            if isinstance(card, _RemoteCard):
                card.close()
            if self._on_removed:
                self._on_removed()

    def transmit(self, command: bytes) -> tuple[bytes, int, int]:
        if self.remove_after is not None:
            if self.remove_after <= 0:
                self.remove_after = None
                self.take_away()
            else:
                self.remove_after -= 1
        with self._lock:
            card = self.card
            if card is None:
                raise CardError("card_removed", "the card was taken away")
            try:
                answer = card.process(command)
            except OSError:
                answer = b""
        if len(answer) < 2:
            self.take_away()
            raise CardError("card_removed", "the card was taken away")
        return answer[:-2], answer[-2], answer[-1]

    def open(self) -> TextInputSupportAP:
        with self._lock:
            if self.card is None:
                raise CardError("card_removed", "no card on the reader")
            self.card.reset()
        ap = TextInputSupportAP(self)
        ap.select()
        return ap

    def close(self) -> None:
        with self._lock:
            if self.card is not None:
                self.card.reset()

    # the vpcd side, for a card holder in another process
    def _accept(self) -> None:
        while self._server is not None:
            try:
                sock, _ = self._server.accept()
            except OSError:
                return
            remote = _RemoteCard(sock)
            if remote.alive():
                self.hold(remote)
                threading.Thread(target=self._watch, args=(remote,), daemon=True).start()
            else:
                remote.close()

    def _watch(self, remote: _RemoteCard) -> None:
        """Like vpcd's presence poll: ask for the ATR now and then; no answer = taken away."""
        while self.card is remote:
            time.sleep(0.2)
            with self._lock:
                if self.card is not remote:
                    return
                alive = remote.alive()
            if not alive:
                if self.card is remote:
                    self.take_away()
                return


class _RemoteCard:
    """A card held by a :class:`VpcdCard` in another process, reached over the vpcd protocol."""

    def __init__(self, sock: socket.socket) -> None:
        sock.settimeout(5.0)  # a holder that stops answering is a card taken away
        self.sock = sock

    def alive(self) -> bool:
        try:
            _send_message(self.sock, bytes([_CTRL_ATR]))
            return bool(_recv_message(self.sock))
        except OSError:
            return False

    def process(self, command: bytes) -> bytes:
        _send_message(self.sock, command)
        return _recv_message(self.sock) or b""

    def reset(self) -> None:
        with contextlib.suppress(OSError):
            _send_message(self.sock, bytes([_CTRL_RESET]))

    def close(self) -> None:
        _close(self.sock)


class VpcdCard:
    """Holds a virtual card on the vpcd reader: :meth:`insert` connects, :meth:`remove` disconnects.

    Take the card away between APDUs, not during one: when vpcd loses its card in the middle of
    a command, pcscd marks the reader empty behind its own poller's back and never sees the next
    card (pcsc-lite 1.9.9 + vpcd 0.8). A real CCID reader has no such problem; the in-process
    :class:`SimulatedReader` covers a card lost mid-command.
    """

    def __init__(self, card: VirtualMyNumberCard, host: str = "127.0.0.1", port: int = VPCD_PORT):
        self.card, self.host, self.port = card, host, port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._removed_at = -AWAY_AT_LEAST

    @property
    def inserted(self) -> bool:
        return self._sock is not None

    def insert(self, timeout: float = 5.0) -> None:
        with self._lock:
            if self._sock is not None:
                return
            away = time.monotonic() - self._removed_at
            if away < AWAY_AT_LEAST:
                time.sleep(AWAY_AT_LEAST - away)
            sock = socket.create_connection((self.host, self.port), timeout=timeout)
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small answers: no Nagle delay
            self._sock = sock
            self._thread = threading.Thread(target=self._serve, args=(sock,), name="vpcd-card", daemon=True)
            self._thread.start()

    def remove(self) -> None:
        """Take the card away (idempotent)."""
        with self._lock:
            sock, self._sock = self._sock, None
            thread, self._thread = self._thread, None
        if sock is not None:
            _close(sock)
            self._removed_at = time.monotonic()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self.card.reset()

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                message = _recv_message(sock)
                if message is None:
                    return
                if len(message) == 1:
                    if message[0] == _CTRL_ATR:
                        _send_message(sock, self.card.atr)
                    elif message[0] in (_CTRL_OFF, _CTRL_RESET):
                        self.card.reset()
                    continue
                _send_message(sock, self.card.process(message))
        except OSError:
            return


def _quick_ack(sock: socket.socket) -> None:
    """ACK at once: with Linux's delayed ACK here, the vpcd driver's next command sat ~40 ms behind
    Nagle's algorithm on its side (bench/forms.py: 44 ms per APDU before, under 1 ms after)."""
    if hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        _quick_ack(sock)
        part = sock.recv(n - len(buf))
        if not part:
            return None
        buf += part
    return buf


def _recv_message(sock: socket.socket) -> bytes | None:
    head = _recv_exact(sock, 2)
    if head is None:
        return None
    (length,) = struct.unpack(">H", head)
    return _recv_exact(sock, length)


def _send_message(sock: socket.socket, data: bytes) -> None:
    sock.sendall(struct.pack(">H", len(data)) + data)


def main(argv: list[str] | None = None) -> int:
    """``python -m devkit.mynumber_card yamada``: hold a test resident's card on the vpcd reader."""
    residents = load_residents()
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("resident", choices=[*residents, "other"], help="whose card, or 'other' (not a My Number card)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=VPCD_PORT)
    args = parser.parse_args(argv)
    card = VirtualMyNumberCard(None if args.resident == "other" else residents[args.resident])
    holder = VpcdCard(card, args.host, args.port)
    try:
        holder.insert()
    except OSError as e:
        print(f"cannot reach the vpcd reader at {args.host}:{args.port} ({e}); is pcscd running with vsmartcard-vpcd?")
        return 2
    print(f"card on the reader ({args.resident}); press Enter to take it away")
    sys.stdin.readline()
    holder.remove()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
