"""Print a queue ticket on an ESC/POS thermal printer through python-escpos, and tell the kiosk what went wrong.

One connection per job (open, check, print, confirm, close): a printer power-cycled between two tickets just works,
and every socket/serial/USB operation has a timeout of a few seconds, so an unplugged printer never hangs the kiosk.

Status bytes follow the Epson ESC/POS reference (TM-T88 series), see docs/printing.md:

* ``DLE EOT n`` (real-time, answered even while the printer is offline) gives one byte ``0xx1xx10b``:
  n=1 printer (bit 3 offline), n=2 offline cause (bit 2 cover open, bit 5 stopped by paper end, bit 6 error),
  n=3 error cause (bit 3 autocutter, bit 5 unrecoverable, bit 6 auto-recoverable),
  n=4 roll paper sensor (bits 2,3 near end, bits 5,6 paper end).
* ``GS r 1`` (paper sensor status) is *not* real-time: the printer answers it only after it has processed (printed)
  everything sent before it, and never while stopped by a paper end. Its byte has bit 4 = 0, so it cannot be
  mistaken for a ``DLE EOT`` reply (bit 4 = 1). Sent after the cut, its answer confirms the ticket came out whole.

python-escpos 3.1 pitfalls worked around here (subclasses below, each says why):

* ``Network._read``/``Serial._read``/``Usb._read`` return whatever arrives in one read of up to 16 bytes, or ``b""``
  on a closed socket / serial timeout; ``paper_status()`` turns an empty reply into 2 ("paper adequate") and
  ``is_online()`` reads ``status[0]`` of stale bytes left by an earlier, late reply. Here ``query_status`` drains
  stale replies first, keeps only a byte of the real-time format, and raises :class:`NoStatusReply` when none comes.
* ``Network`` defaults to a 60 s timeout, ``Usb`` to none at all (blocks until the cable is pulled), ``Serial`` has
  no write timeout (with DSR/DTR flow control a switched-off printer blocks ``write`` forever): all are bounded.
* ``image()`` with the default profile prints a warning to stdout on every call and cannot check the width: the
  printers here get a profile carrying the real paper width in dots.
* ``Usb.open`` detects a missing device with ``assert``, which ``python -O`` strips: checked again explicitly.
* ``Network.open`` is IPv4-only and leaks its socket when the connection fails: replaced.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

from escpos.capabilities import Profile, get_profile_class
from escpos.constants import QR_ECLEVEL_M
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.printer import File, Network, Serial, Usb

from kiosk.printing.ticket import TicketSlip, render_caption_image, render_ticket_image

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
GS_R_PAPER = b"\x1dr\x01"
GS_ASB_OFF = b"\x1da\x00"

#: DLE EOT 1 (printer status)
ST_OFFLINE = 0x08
#: DLE EOT 2 (offline cause)
OFF_COVER_OPEN = 0x04
OFF_PAPER_END_STOP = 0x20
OFF_ERROR = 0x40
#: DLE EOT 3 (error cause)
ERR_AUTOCUTTER = 0x08
ERR_UNRECOVERABLE = 0x20
ERR_AUTO_RECOVERABLE = 0x40
#: GS r 1 (paper sensor status, processed in order)
GSR_NEAR_END = 0x03
GSR_PAPER_END = 0x0C

FAULT_KINDS = frozenset({"offline", "paper_out", "cover_open", "error"})
#: Order in which a job failure is reported when several faults are present: an open cover usually also
#: reads as "no paper", and the fix the staff needs is to close it first.
_PRECEDENCE = ("cover_open", "paper_out", "error", "offline")

DEFAULT_TCP_PORT = 9100


def is_realtime_status(byte: int) -> bool:
    """A ``DLE EOT`` reply has the fixed bits 0xx1xx10b (bits 0, 1, 4, 7)."""
    return byte & 0x93 == 0x12


def is_gs_r_status(byte: int) -> bool:
    """A ``GS r`` reply has bits 4 and 7 clear, unlike real-time replies (bit 4 set)."""
    return byte & 0x90 == 0x00


class PrinterFault(Exception):
    """The ticket was not printed; ``kind`` tells the kiosk what to show and whom to call."""

    def __init__(self, kind: str, message: str) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown printer fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class NoStatusReply(TimeoutError):
    """The printer accepted the connection but did not answer a status query in time."""


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer reported. ``paper_near_end`` is a warning: tickets still print, staff should change the roll.

    ``offline`` is listed when the printer cannot be reached, or is offline for a reason it does not report.
    """

    online: bool
    faults: frozenset[str] = field(default_factory=frozenset)

    @property
    def ready(self) -> bool:
        """True when a ticket can be printed now (a near-end warning does not stop printing)."""
        return self.online and not (self.faults - {"paper_near_end"})

    @property
    def blocking_fault(self) -> str | None:
        """The fault that stops printing, most actionable first, or None."""
        return next((kind for kind in _PRECEDENCE if kind in self.faults), None)


# --------------------------------------------------------------------------------------------------- URIs


@dataclass(frozen=True)
class PrinterURI:
    """A parsed printer URI: ``scheme`` is usb, serial, tcp or file."""

    scheme: str
    uri: str
    host: str = ""
    port: int = DEFAULT_TCP_PORT
    path: str = ""
    vendor_id: int = 0
    product_id: int = 0
    in_ep: int = 0x82
    out_ep: int = 0x01
    baudrate: int = 9600

    @property
    def can_read(self) -> bool:
        """Only two-way links can answer status queries; a device file (``file://``) is write-only."""
        return self.scheme != "file"


_USAGE = "use usb://VVVV:PPPP, serial:///dev/ttyUSB0?baudrate=38400, tcp://host:9100 or file:///dev/usb/lp0"
_USB_IDS = re.compile(r"^(?:0x)?([0-9a-fA-F]{1,4}):(?:0x)?([0-9a-fA-F]{1,4})$")


def _int(value: str, what: str, uri: str) -> int:
    try:
        return int(value, 0)
    except ValueError:
        raise ValueError(f"printer URI {uri!r}: {what} {value!r} is not a number") from None


def _query(uri: str, raw: str, allowed: set[str]) -> dict[str, str]:
    params = parse_qs(raw, keep_blank_values=True)
    unknown = set(params) - allowed
    if unknown:
        hint = f"allowed: {', '.join(sorted(allowed))}" if allowed else "this scheme takes no parameters"
        raise ValueError(f"printer URI {uri!r}: unknown parameter(s) {', '.join(sorted(unknown))} ({hint})")
    return {key: values[-1] for key, values in params.items()}


def parse_printer_uri(uri: str) -> PrinterURI:
    """Parse and validate a printer URI; ValueError says what is wrong and what is expected."""
    if not isinstance(uri, str) or "://" not in uri:
        raise ValueError(f"printer URI {uri!r} is not a URI; {_USAGE}")
    parts = urlsplit(uri.strip())
    scheme = parts.scheme.lower()
    if scheme == "usb":
        match = _USB_IDS.match(parts.netloc)
        if not match or parts.path not in ("", "/"):
            raise ValueError(f"printer URI {uri!r}: expected usb://VVVV:PPPP with hex vendor and product ids")
        params = _query(uri, parts.query, {"in_ep", "out_ep"})
        vendor, product = (int(x, 16) for x in match.groups())
        if not vendor or not product:
            raise ValueError(f"printer URI {uri!r}: vendor and product ids must not be 0")
        return PrinterURI(
            "usb",
            uri,
            vendor_id=vendor,
            product_id=product,
            in_ep=_int(params.get("in_ep", "0x82"), "in_ep", uri),
            out_ep=_int(params.get("out_ep", "0x01"), "out_ep", uri),
        )
    if scheme == "serial":
        device = unquote(parts.path) if parts.path else unquote(parts.netloc)  # serial:///dev/ttyS0 or serial://COM3
        if not device or device == "/" or (parts.netloc and parts.path):
            raise ValueError(f"printer URI {uri!r}: expected serial:///dev/ttyUSB0[?baudrate=38400]")
        params = _query(uri, parts.query, {"baudrate"})
        baudrate = _int(params.get("baudrate", "9600"), "baudrate", uri)
        if baudrate <= 0:
            raise ValueError(f"printer URI {uri!r}: baudrate must be positive")
        return PrinterURI("serial", uri, path=device, baudrate=baudrate)
    if scheme == "tcp":
        try:
            host, port = parts.hostname, parts.port
        except ValueError as e:  # urlsplit raises on a non-numeric or out-of-range port
            raise ValueError(f"printer URI {uri!r}: bad port ({e}); expected tcp://host:9100") from None
        if not host or parts.path not in ("", "/") or parts.username or parts.password:
            raise ValueError(f"printer URI {uri!r}: expected tcp://host[:port]")
        _query(uri, parts.query, set())
        if port == 0:
            raise ValueError(f"printer URI {uri!r}: port 0 is not a printer port")
        return PrinterURI("tcp", uri, host=host, port=port or DEFAULT_TCP_PORT)
    if scheme == "file":
        path = unquote(parts.path)
        if parts.netloc not in ("", "localhost") or not path.startswith("/") or path == "/":
            raise ValueError(f"printer URI {uri!r}: expected an absolute path, file:///dev/usb/lp0")
        _query(uri, parts.query, set())
        return PrinterURI("file", uri, path=path)
    raise ValueError(f"printer URI {uri!r}: unsupported scheme {parts.scheme!r}; {_USAGE}")


# ---------------------------------------------------------------------------------------- escpos printers


class _PaperProfile(Profile):
    """The generic escpos profile with the real paper width, so ``image()`` can check it (and stays quiet)."""

    def __init__(self, width: int) -> None:
        base = get_profile_class("default").profile_data
        super().__init__(features=dict(base["features"]))
        self.profile_data = {**base, "media": {**base["media"], "width": {"mm": "Unknown", "pixels": width}}}


class _Readback:
    """Status queries that either return a genuine reply byte or raise: see the module docstring for why.

    Mixed in before an escpos printer class; the subclass supplies ``_read_some`` for its transport.
    """

    timeout: float
    _raw: Callable[[bytes], None]

    @property
    def status_timeout(self) -> float:
        """Seconds to wait for a status reply."""
        return float(self.timeout)

    def _read_some(self, timeout: float) -> bytes:
        """Whatever bytes arrive within ``timeout`` seconds (``b""`` if none; 0 = don't wait)."""
        raise NotImplementedError

    _pending: bytearray | None = None

    @property
    def _inbox(self) -> bytearray:
        """Bytes received but not yet claimed by a query (a reply may arrive while waiting for another)."""
        if self._pending is None:
            self._pending = bytearray()
        return self._pending

    def _drain(self) -> None:
        while chunk := self._read_some(0):
            self._inbox.extend(chunk)

    def discard_pending(self) -> None:
        """Forget every byte received so far."""
        self._drain()
        self._inbox.clear()

    def take_reply(self, accept: Callable[[int], bool], timeout: float) -> int | None:
        """The first received byte that ``accept`` recognises, waiting up to ``timeout`` s; others stay queued."""
        deadline = time.monotonic() + timeout
        while True:
            for i, byte in enumerate(self._inbox):
                if accept(byte):
                    del self._inbox[i]
                    return byte
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._inbox.extend(self._read_some(remaining))

    def query_status(self, mode: bytes) -> bytes:
        """Send ``DLE EOT n`` and return its one reply byte. Replaces escpos's, which may return b"" or stale bytes."""
        self._drain()
        stale = [b for b in self._inbox if is_realtime_status(b)]
        if stale:
            log.debug("dropping %d stale status byte(s) %s", len(stale), bytes(stale).hex())
            self._inbox[:] = bytes(b for b in self._inbox if not is_realtime_status(b))
        self._raw(mode)
        byte = self.take_reply(is_realtime_status, self.status_timeout)
        if byte is None:
            raise NoStatusReply(f"no reply to status query {mode.hex()} within {self.status_timeout:g} s")
        return bytes([byte])

    def _read(self) -> bytes:
        """escpos's raw read, bounded: one queued or newly received byte, or NoStatusReply."""
        byte = self.take_reply(lambda _b: True, self.status_timeout)
        if byte is None:
            raise NoStatusReply(f"no data from the printer within {self.status_timeout:g} s")
        return bytes([byte])


class KioskNetwork(_Readback, Network):
    """``escpos.printer.Network`` with bounded reads and Nagle off (small status queries are not delayed)."""

    #: As escpos's Network declares it: False (never opened), None (not connected) or the socket.
    _device: socket.socket | Literal[False] | None

    def open(self, raise_not_found: bool = True) -> None:
        """Replaces escpos's: that one is IPv4-only and leaks the socket when the connection fails."""
        if self._device:
            self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as e:
            self._device = None
            if raise_not_found:
                raise DeviceNotFoundError(f"could not connect to {self.host}:{self.port}: {e}") from e
            log.error("network printer %s:%s not reachable: %s", self.host, self.port, e)
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._device = sock

    def _read_some(self, timeout: float) -> bytes:
        sock = self.device
        sock.settimeout(timeout if timeout > 0 else 0.0)
        try:
            data = sock.recv(64)
        except (BlockingIOError, TimeoutError):
            return b""
        finally:
            sock.settimeout(self.timeout)
        if not data:
            raise ConnectionResetError("the printer closed the connection")
        return data


class KioskSerial(_Readback, Serial):
    """``escpos.printer.Serial`` with a write timeout sized to the data, and reads that return once a byte is in."""

    def _raw(self, msg: bytes) -> None:
        # ~10 bits per byte on the wire; double it for flow-control pauses while the printer prints.
        self.device.write_timeout = self.timeout + 2 * len(msg) * 10 / self.baudrate
        self.device.write(msg)

    def _read_some(self, timeout: float) -> bytes:
        port = self.device
        port.timeout = max(timeout, 0)
        try:
            first = port.read(1)
            return first + port.read(port.in_waiting) if first and port.in_waiting else first
        finally:
            port.timeout = self.timeout


class KioskUsb(_Readback, Usb):
    """``escpos.printer.Usb`` with a timeout (escpos's default is none) and a missing device reported without assert."""

    def __init__(self, *args, timeout_s: float = 3.0, **kwargs) -> None:
        super().__init__(*args, timeout=int(timeout_s * 1000), **kwargs)  # pyusb wants milliseconds

    def open(self, raise_not_found: bool = True) -> None:
        super().open(raise_not_found)
        if not self._device and raise_not_found:
            raise DeviceNotFoundError(f"USB printer {tuple(self.usb_args.values())} not found")

    @property
    def status_timeout(self) -> float:
        return self.timeout / 1000  # escpos hands ``timeout`` to pyusb, which counts milliseconds

    def _read_some(self, timeout: float) -> bytes:
        import usb.core

        try:
            return bytes(self.device.read(self.in_ep, 64, max(1, int(timeout * 1000))))
        except usb.core.USBTimeoutError:
            return b""


def open_printer(uri: str, *, timeout: float = 3.0, width: int = 576) -> Escpos:
    """A python-escpos printer for ``uri`` (not yet connected: escpos connects on first use or ``open()``).

    The objects are escpos.printer.Usb/Serial/Network/File subclasses with bounded timeouts and safe status reads.
    """
    target = parse_printer_uri(uri)
    profile = _PaperProfile(width)
    if target.scheme == "tcp":
        return KioskNetwork(host=target.host, port=target.port, timeout=timeout, profile=profile)
    if target.scheme == "serial":
        return KioskSerial(devfile=target.path, baudrate=target.baudrate, timeout=timeout, profile=profile)
    if target.scheme == "usb":
        return KioskUsb(
            target.vendor_id,
            target.product_id,
            timeout_s=timeout,
            in_ep=target.in_ep,
            out_ep=target.out_ep,
            profile=profile,
        )
    return File(devfile=target.path, profile=profile)


# ----------------------------------------------------------------------------------------- ticket printer


class TicketPrinter:
    """Prints queue tickets on one printer. Jobs and status queries are serialised by a lock: most printers serve
    one connection at a time, and a status poll must not collide with a ticket being printed.

    ``last_status`` is what the printer reported after the last successful job (e.g. ``paper_near_end``).
    """

    def __init__(
        self,
        uri: str,
        *,
        width: int = 576,
        timeout: float = 3.0,
        confirm_timeout: float = 10.0,
        qr_module: int = 6,
    ) -> None:
        self.target = parse_printer_uri(uri)
        self.uri = uri
        self.width = width
        self.timeout = timeout
        self.confirm_timeout = confirm_timeout
        self.qr_module = qr_module
        self.poll_interval = 0.2
        self.last_status: PrinterStatus | None = None
        self._lock = threading.Lock()

    @contextmanager
    def _connection(self) -> Iterator[Escpos]:
        """Open a fresh connection and always close it; transport failures become PrinterFault("offline")."""
        printer = open_printer(self.uri, timeout=self.timeout, width=self.width)
        try:
            printer.open()
            yield printer
        except (OSError, DeviceNotFoundError) as e:
            raise PrinterFault("offline", " ".join(f"{self.uri}: {e}".split())) from e
        finally:
            try:
                printer.close()
            except Exception:  # closing a dead link must not hide the real error
                log.debug("closing %s failed", self.uri, exc_info=True)

    def status(self) -> PrinterStatus:
        """Ask the printer now (one short connection). A write-only ``file://`` printer: is the device writable."""
        if not self.target.can_read:
            path = self.target.path
            writable = os.access(path, os.W_OK) if os.path.exists(path) else os.access(os.path.dirname(path), os.W_OK)
            return PrinterStatus(writable, frozenset() if writable else frozenset({"offline"}))
        try:
            with self._lock, self._connection() as printer:
                return self._read_status(printer)
        except PrinterFault as fault:
            return PrinterStatus(False, frozenset({fault.kind}))

    def print_ticket(self, slip: TicketSlip) -> None:
        """Print one ticket or raise PrinterFault; a ticket cut short by a paper end counts as not printed."""
        image = render_ticket_image(slip, self.width)
        caption = render_caption_image(slip.qr_caption, self.width, slip.lang)
        self._job(lambda printer: self._send_job(printer, slip, image, caption))

    def print_image(self, image) -> None:
        """Print one raster image (a receipt drawn with Pillow, ``width`` dots wide) and cut, or raise PrinterFault."""

        def send(printer: Escpos) -> None:
            printer.hw("INIT")
            printer._raw(GS_ASB_OFF)
            printer.image(image, impl="bitImageRaster", fragment_height=512)
            printer.cut()

        self._job(send)

    def _job(self, send: Callable[[Escpos], None]) -> None:
        """Check the printer is ready, send, then wait for the printer to confirm it processed everything."""
        with self._lock, self._connection() as printer:
            if self.target.can_read:
                before = self._read_status(printer)
                kind = before.blocking_fault
                if kind:
                    raise PrinterFault(kind, f"{self.uri}: printer not ready ({', '.join(sorted(before.faults))})")
            send(printer)
            if self.target.can_read:
                self.last_status = self._confirm(printer)
            else:
                self.last_status = None

    def _send_job(self, printer: Escpos, slip: TicketSlip, image, caption) -> None:
        printer.hw("INIT")  # ESC @: forget modes left by whoever printed before
        printer._raw(GS_ASB_OFF)  # no unsolicited status: its bytes could be taken for the GS r reply
        printer.image(image, impl="bitImageRaster", fragment_height=512)
        printer.set(align="center")  # ESC a 1: the native QR is centred by the printer
        printer.ln()  # the printer adds no quiet zone around a QR: a blank line above and below keeps it scannable
        printer.qr(slip.qr_url, ec=QR_ECLEVEL_M, size=self.qr_module, native=True)
        printer.ln()
        printer.image(caption, impl="bitImageRaster")
        printer.set(align="left")
        printer.cut()

    def _read_status(self, printer) -> PrinterStatus:
        """DLE EOT 1-4 through escpos's is_online()/paper_status() (on our safe query_status) and the causes."""
        online = printer.is_online()
        paper = printer.paper_status()  # 2 adequate, 1 near end, 0 no paper
        offline_cause = printer.query_status(DLE_EOT + b"\x02")[0]
        error_cause = printer.query_status(DLE_EOT + b"\x03")[0]
        faults: set[str] = set()
        if offline_cause & OFF_COVER_OPEN:
            faults.add("cover_open")
        if paper == 0 or offline_cause & OFF_PAPER_END_STOP:
            faults.add("paper_out")
        elif paper == 1:
            faults.add("paper_near_end")
        if offline_cause & OFF_ERROR or error_cause & (ERR_AUTOCUTTER | ERR_UNRECOVERABLE | ERR_AUTO_RECOVERABLE):
            faults.add("error")
        if not online and not faults & {"cover_open", "paper_out", "error"}:
            faults.add("offline")
        return PrinterStatus(online, frozenset(faults))

    def _confirm(self, printer) -> PrinterStatus:
        """Wait until the printer has processed the whole job (its GS r reply); meanwhile ask why if it stops."""
        printer.discard_pending()  # nothing received before GS r can be its reply
        printer._raw(GS_R_PAPER)
        deadline = time.monotonic() + self.confirm_timeout
        while True:
            wait = max(0.0, min(self.poll_interval, deadline - time.monotonic()))
            reply = printer.take_reply(is_gs_r_status, wait)
            if reply is not None:
                if reply & GSR_PAPER_END:
                    raise PrinterFault("paper_out", f"{self.uri}: paper ran out at the end of the ticket")
                return PrinterStatus(True, frozenset({"paper_near_end"} if reply & GSR_NEAR_END else ()))
            status = self._read_status(printer)
            kind = status.blocking_fault
            if kind:
                raise PrinterFault(kind, f"{self.uri}: stopped during the job, ticket not printed ({kind})")
            if time.monotonic() >= deadline:
                # Online, no fault, but no GS r reply: a printer without GS r support. It is not stopped, so the
                # job went through; say so in the log rather than failing every ticket on such a model.
                log.warning("%s did not confirm the job (GS r); printer reports no fault", self.uri)
                return status
