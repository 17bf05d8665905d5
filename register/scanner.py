"""A serial slip scanner (barcode/QR reader in serial or USB-CDC mode): one code per line.

Most scanners can also be a USB keyboard ("keyboard wedge"); the app reads those from Kivy key
events. A serial scanner is better for a register: no key mapping (a Japanese keyboard layout
turns some characters into others) and no focus to lose. Codes end with CR, LF or CR LF.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import serial

log = logging.getLogger(__name__)

#: A slip code is at most a few hundred characters (eL-QR: 255); anything longer is line noise.
MAX_CODE = 1024


class SerialScanner:
    def __init__(self, port: str, on_code: Callable[[str], None], *, baudrate: int = 9600) -> None:
        self.port = port
        self.on_code = on_code
        self.baudrate = baudrate
        self.connected = False
        #: Set once the port is open (a code sent before that is lost: opening flushes the input).
        self.ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slip-scanner", daemon=True)

    def start(self) -> SerialScanner:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with serial.serial_for_url(self.port, baudrate=self.baudrate, timeout=0.2) as line:
                    self.connected = True
                    self.ready.set()
                    self._read(line)
            except (OSError, serial.SerialException) as exc:
                if self.connected:
                    log.warning("scanner %s lost: %s", self.port, exc)
                self.connected = False
                self.ready.clear()
                self._stop.wait(1.0)

    def _read(self, line: serial.Serial) -> None:
        buffer = bytearray()
        while not self._stop.is_set():
            chunk = line.read(256)
            if not chunk:
                continue
            for byte in chunk:
                if byte in (0x0D, 0x0A):
                    if buffer:
                        self._emit(bytes(buffer))
                    buffer.clear()
                elif len(buffer) < MAX_CODE:
                    buffer.append(byte)

    def _emit(self, raw: bytes) -> None:
        text = raw.decode("ascii", errors="replace")
        try:
            self.on_code(text)
        except Exception:  # a bug in the handler must not kill the scanner
            log.exception("scanner handler failed")
