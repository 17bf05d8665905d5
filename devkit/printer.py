"""An ESC/POS printer on a TCP port, so the real driver code (python-escpos + kiosk.printing.printer) runs in tests.

It behaves like an Epson TM-T88-class receipt printer on port 9100: it parses the byte stream command by command
(skipping unknown commands by their known lengths), answers the real-time status queries ``DLE EOT n`` at once and
``GS r 1`` in order, after everything before it was "printed", and on each cut saves the receipt as a PNG: raster
images pasted at their size, text drawn with the CJK font, native QR codes drawn with the qrcode library.

Faults can be injected (paper near end / out, paper running out in the middle of the next job, cover open, cutter
error, offline) and are reported with the status bytes of the Epson ESC/POS reference (see docs/printing.md).

Simplifications, on purpose: one job per connection (a new connection starts with a fresh print buffer and default
modes); data received while the printer is stopped is parsed and discarded (a real printer would hold it and print
it when the paper is replaced, which is why the kiosk treats such a job as not printed); real-time commands are
recognised between commands only, never inside image data; page mode and barcodes are skipped, not drawn.

Command line: ``python -m devkit.printer --port 9100 --out DIR`` (Ctrl-C to stop).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import select
import socket
import threading
import tty
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageOps

from kiosk.fonts import pil_font

log = logging.getLogger(__name__)

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, CR, HT, NUL = 0x0A, 0x0D, 0x09, 0x00

PAPER_STATES = ("ok", "near_end", "out")


# ----------------------------------------------------------------------------------------------- parsing


@dataclass(frozen=True)
class Command:
    """One parsed unit of the stream: ``code`` is the command prefix (b"" for a run of text), ``args`` the rest."""

    code: bytes
    args: bytes

    @property
    def size(self) -> int:
        return len(self.code) + len(self.args)

    @property
    def realtime(self) -> bool:
        """DLE EOT / DLE ENQ / DLE DC4 are executed on receipt, even while the printer is stopped."""
        return self.code[:2] in (b"\x10\x04", b"\x10\x05", b"\x10\x14")


class _Incomplete(Exception):
    """The buffer ends inside a command: wait for more bytes."""


# Parameter byte counts of fixed-length commands, per the ESC/POS command reference (TM-T88 series).
_ESC_FIXED = {
    0x0C: 0, 0x20: 1, 0x21: 1, 0x24: 2, 0x25: 1, 0x2D: 1, 0x32: 0, 0x33: 1, 0x3C: 0, 0x3D: 1, 0x3F: 1, 0x40: 0,
    0x45: 1, 0x47: 1, 0x4A: 1, 0x4B: 1, 0x4C: 0, 0x4D: 1, 0x52: 1, 0x53: 0, 0x54: 1, 0x55: 1, 0x56: 1, 0x57: 8,
    0x5C: 2, 0x61: 1, 0x63: 2, 0x64: 1, 0x65: 1, 0x69: 0, 0x6D: 0, 0x70: 3, 0x72: 1, 0x74: 1, 0x75: 1, 0x76: 0,
    0x7B: 1,
}  # fmt: skip
_GS_FIXED = {
    0x21: 1, 0x24: 2, 0x2F: 1, 0x3A: 0, 0x42: 1, 0x45: 1, 0x48: 1, 0x49: 1, 0x4C: 2, 0x50: 2, 0x54: 1, 0x57: 2,
    0x5C: 2, 0x5E: 3, 0x61: 1, 0x62: 1, 0x63: 0, 0x66: 1, 0x67: 4, 0x68: 1, 0x6A: 1, 0x72: 1, 0x77: 1, 0x7A: 3,
    0x7C: 1,
}  # fmt: skip
_FS_FIXED = {0x21: 1, 0x26: 0, 0x2D: 1, 0x2E: 0, 0x3F: 2, 0x43: 1, 0x53: 2, 0x57: 1, 0x70: 2}
_DLE_DC4_PARAMS = {1: 2, 2: 2, 7: 1, 8: 7}


def _byte(buf: bytes, i: int) -> int:
    if i >= len(buf):
        raise _Incomplete
    return buf[i]


def _until_nul(buf: bytes, start: int, limit: int = 256) -> int:
    """Index just past the NUL that ends a variable-length argument."""
    end = buf.find(b"\x00", start, start + limit)
    if end < 0:
        if len(buf) - start < limit:
            raise _Incomplete
        return start + limit
    return end + 1


def _measure(buf: bytes, i: int) -> tuple[int, int, bool]:
    """(prefix length, total length, known) of the command starting at ``buf[i]``; raises _Incomplete."""
    lead = buf[i]
    if lead == ESC:
        c = _byte(buf, i + 1)
        if c in _ESC_FIXED:
            return 2, 2 + _ESC_FIXED[c], True
        if c == 0x2A:  # ESC * m nL nH d1..dk: column bit image
            m, n = _byte(buf, i + 2), _byte(buf, i + 3) + 256 * _byte(buf, i + 4)
            return 2, 5 + n * (3 if m in (32, 33) else 1), True
        if c == 0x28:  # ESC ( X pL pH ...
            p = _byte(buf, i + 3) + 256 * _byte(buf, i + 4)
            return 3, 5 + p, True
        if c == 0x44:  # ESC D n1..nk NUL: tab stops
            return 2, _until_nul(buf, i + 2, 33) - i, True
        if c == 0x26:  # ESC & y c1 c2 [x d1..d(y*x)]...: user-defined characters
            y, c1, c2 = _byte(buf, i + 2), _byte(buf, i + 3), _byte(buf, i + 4)
            j = i + 5
            for _ in range(max(0, c2 - c1 + 1)):
                j += 1 + y * _byte(buf, j)
            return 2, j - i, True
        return 2, 2, False
    if lead == GS:
        c = _byte(buf, i + 1)
        if c in _GS_FIXED:
            return 2, 2 + _GS_FIXED[c], True
        if c == 0x76:  # GS v 0 m xL xH yL yH d1..dk: raster bit image
            _byte(buf, i + 2)
            x = _byte(buf, i + 4) + 256 * _byte(buf, i + 5)
            y = _byte(buf, i + 6) + 256 * _byte(buf, i + 7)
            return 3, 8 + x * y, True
        if c == 0x28:  # GS ( X pL pH ...
            p = _byte(buf, i + 3) + 256 * _byte(buf, i + 4)
            return 3, 5 + p, True
        if c == 0x38:  # GS 8 X p1 p2 p3 p4 ...
            p = sum(_byte(buf, i + 3 + k) << (8 * k) for k in range(4))
            return 3, 7 + p, True
        if c == 0x56:  # GS V m [n]: cut
            m = _byte(buf, i + 2)
            return 2, 4 if m in (65, 66, 97, 98, 103, 104) else 3, True
        if c == 0x6B:  # GS k m ...: barcode
            m = _byte(buf, i + 2)
            if m <= 6:
                return 2, _until_nul(buf, i + 3) - i, True
            return 2, 4 + _byte(buf, i + 3), True
        if c == 0x2A:  # GS * x y d1..d(x*y*8): define downloaded bit image
            return 2, 4 + _byte(buf, i + 2) * _byte(buf, i + 3) * 8, True
        return 2, 2, False
    if lead == FS:
        c = _byte(buf, i + 1)
        if c in _FS_FIXED:
            return 2, 2 + _FS_FIXED[c], True
        if c == 0x32:  # FS 2 c1 c2 d1..d72: user-defined kanji
            return 2, 76, True
        if c == 0x28:
            p = _byte(buf, i + 3) + 256 * _byte(buf, i + 4)
            return 3, 5 + p, True
        if c == 0x71:  # FS q n [xL xH yL yH d1..dk]1..n: define NV bit images
            j = i + 3
            for _ in range(_byte(buf, i + 2)):
                x = _byte(buf, j) + 256 * _byte(buf, j + 1)
                y = _byte(buf, j + 2) + 256 * _byte(buf, j + 3)
                j += 4 + x * y * 8
            return 2, j - i, True
        return 2, 2, False
    if lead == DLE:
        c = _byte(buf, i + 1)
        if c == 0x04:  # DLE EOT n [a]
            n = _byte(buf, i + 2)
            return 2, 4 if n in (7, 8) else 3, True
        if c == 0x05:  # DLE ENQ n
            return 2, 3, True
        if c == 0x14:  # DLE DC4 fn ...
            fn = _byte(buf, i + 2)
            return 3, 3 + _DLE_DC4_PARAMS.get(fn, 0), fn in _DLE_DC4_PARAMS
        return 1, 1, False
    return 1, 1, True  # other control characters


class EscposParser:
    """Incremental: feed it bytes as they arrive, get complete commands back; a command split across reads waits."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.unknown: list[str] = []

    def feed(self, data: bytes) -> list[Command]:
        self._buf.extend(data)
        return self._parse(final=False)

    def finish(self) -> list[Command]:
        """End of stream: a trailing run of text is complete, a truncated command is dropped."""
        commands = self._parse(final=True)
        if self._buf:
            self.unknown.append(f"truncated command {bytes(self._buf[:8]).hex()}")
            self._buf.clear()
        return commands

    def _parse(self, final: bool) -> list[Command]:
        buf = bytes(self._buf)
        out: list[Command] = []
        i = 0
        while i < len(buf):
            if buf[i] >= 0x20:  # text, up to the next control byte (text is printed on LF, so waiting is harmless)
                j = i
                while j < len(buf) and buf[j] >= 0x20:
                    j += 1
                if j == len(buf) and not final:
                    break
                out.append(Command(b"", buf[i:j]))
                i = j
                continue
            try:
                prefix, total, known = _measure(buf, i)
            except _Incomplete:
                break
            if i + total > len(buf):
                break
            if not known:
                self.unknown.append(buf[i : i + prefix].hex())
                log.debug("skipping unknown command %s", buf[i : i + prefix].hex())
            out.append(Command(buf[i : i + prefix], buf[i + prefix : i + total]))
            i += total
        del self._buf[:i]
        return out


# ------------------------------------------------------------------------------------------- printer state


@dataclass
class _PrinterState:
    """The mechanism: sensors and errors, and the status bytes they produce (Epson ESC/POS reference)."""

    paper: str = "ok"
    cover_open: bool = False
    cutter_error: bool = False
    paper_budget: int | None = None  # bytes of print data left before the paper runs out, when armed

    @property
    def online(self) -> bool:
        return not (self.cover_open or self.paper == "out" or self.cutter_error)

    def realtime_status(self, n: int) -> bytes:
        """Reply to DLE EOT n: one byte 0xx1xx10b (bits 1 and 4 fixed on, 0 and 7 fixed off)."""
        fixed = 0x12
        if n == 1:  # printer status: bit 2 drawer pin 3 (HIGH: no drawer), bit 3 offline
            return bytes([fixed | 0x04 | (0 if self.online else 0x08)])
        if n == 2:  # offline cause: bit 2 cover open, bit 5 stopped by paper end, bit 6 error
            cover = 0x04 if self.cover_open else 0
            paper_stop = 0x20 if self.paper == "out" else 0
            error = 0x40 if self.cutter_error else 0
            return bytes([fixed | cover | paper_stop | error])
        if n == 3:  # error cause: bit 3 autocutter, bit 5 unrecoverable, bit 6 auto-recoverable
            return bytes([fixed | (0x08 if self.cutter_error else 0)])
        if n == 4:  # roll paper sensor: bits 2,3 near end, bits 5,6 paper end
            near = 0x0C if self.paper in ("near_end", "out") else 0
            end = 0x60 if self.paper == "out" else 0
            return bytes([fixed | near | end])
        return b""

    def gs_r_status(self, n: int) -> bytes:
        """Reply to GS r n, sent once everything before it is processed: bits 0,1 near end, bits 2,3 paper end."""
        if n in (1, 49):
            return bytes([0x03 if self.paper == "near_end" else 0x00])
        if n in (2, 50):
            return b"\x01"  # drawer kick-out connector pin 3 HIGH
        return b""

    def consume(self, size: int) -> bool:
        """Account for ``size`` bytes of print data; False when the paper runs out on them."""
        if self.paper_budget is None:
            return True
        self.paper_budget -= size
        if self.paper_budget > 0:
            return True
        self.paper_budget = None
        self.paper = "out"
        return False


# ----------------------------------------------------------------------------------------------- rendering


@dataclass
class Receipt:
    """One printed (and cut) receipt: its text lines, the QR codes' data, the PNG (None when not saved)."""

    text: str
    qr_codes: list[str]
    png_path: Path | None = None
    image: Image.Image | None = field(default=None, repr=False)
    warnings: list[str] = field(default_factory=list)
    cut: bool = True

    @property
    def qr_data(self) -> str | None:
        """The first QR code's data (tickets carry one)."""
        return self.qr_codes[0] if self.qr_codes else None


@dataclass
class _Style:
    font_b: bool = False
    bold: bool = False
    underline: bool = False
    width: int = 1
    height: int = 1


_CODE_PAGES = {0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866", 18: "cp852"}
_QR_EC = {
    48: qrcode.constants.ERROR_CORRECT_L,
    49: qrcode.constants.ERROR_CORRECT_M,
    50: qrcode.constants.ERROR_CORRECT_Q,
    51: qrcode.constants.ERROR_CORRECT_H,
}


_font = pil_font


def _bitmap(data: bytes, width_dots: int, height: int) -> Image.Image:
    """Row-major 1-bit data, MSB first, 1 = black dot, into an "L" image (0 = black)."""
    row = (width_dots + 7) // 8
    raw = bytes(data[: row * height]).ljust(row * height, b"\x00")
    return ImageOps.invert(Image.frombytes("1", (row * 8, height), raw).convert("L")).crop((0, 0, width_dots, height))


class _Paper:
    """The print mechanism of a standard-mode receipt printer: modes, the line buffer, and the paper so far."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.reset()
        self._new_receipt()

    def reset(self) -> None:
        """ESC @: modes back to default, unprinted line data dropped (printed paper stays)."""
        self.style = _Style()
        self.align = 0
        self.line_spacing = 30
        self.code_page = 0
        self.kanji = False
        self.line: list[tuple[str, object, _Style]] = []
        self.qr_model, self.qr_module, self.qr_ec, self.qr_data = 50, 3, 48, b""
        self.graphics: Image.Image | None = None

    def _new_receipt(self) -> None:
        self.strips: list[Image.Image] = []
        self.text_lines: list[str] = []
        self.qr_codes: list[str] = []
        self.warnings: list[str] = []
        self.inked = False

    # -- execution

    def execute(self, cmd: Command) -> Receipt | None:
        """Apply one (non-real-time) command; returns the finished receipt on a cut."""
        code, a = cmd.code, cmd.args
        if not code:
            self._text(a)
        elif code == b"\n":
            self._print_line(feed_empty=True)
        elif code == b"\t":
            self.line.append(("text", " " * (8 - len(self._pending_text()) % 8), self._copy_style()))
        elif code in (b"\r", b"\x0c", b"\x18") or len(code) == 1 and code[0] < 0x20 and code[0] not in (ESC, GS, FS):
            pass  # CR is ignored with auto line feed off; FF/CAN only matter in page mode
        elif code == b"\x1b@":
            self.reset()
        elif code == b"\x1b!":
            n = a[0]
            self.style.font_b, self.style.bold, self.style.underline = bool(n & 1), bool(n & 8), bool(n & 0x80)
            self.style.height, self.style.width = (2 if n & 0x10 else 1), (2 if n & 0x20 else 1)
        elif code == b"\x1d!":
            self.style.width, self.style.height = (a[0] >> 4) + 1, (a[0] & 0x0F) + 1
        elif code == b"\x1bE":
            self.style.bold = bool(a[0] & 1)
        elif code == b"\x1b-":
            self.style.underline = a[0] in (1, 2, 49, 50)
        elif code == b"\x1bM":
            self.style.font_b = a[0] in (1, 49)
        elif code == b"\x1ba":
            self.align = a[0] % 48 if a[0] % 48 <= 2 else 0
        elif code == b"\x1b2":
            self.line_spacing = 30
        elif code == b"\x1b3":
            self.line_spacing = a[0]
        elif code == b"\x1bt":
            self.code_page = a[0]
        elif code == b"\x1c&":
            self.kanji = True
        elif code == b"\x1c.":
            self.kanji = False
        elif code == b"\x1bd":
            self._print_line(feed_empty=False)
            self._feed(a[0] * self.line_spacing)
        elif code == b"\x1bJ":
            self._print_line(feed_empty=False)
            self._feed(a[0])
        elif code == b"\x1b*":
            self._column_image(a)
        elif code == b"\x1dv0":
            self._raster_image(a)
        elif code in (b"\x1d(L", b"\x1d8L"):
            self._graphics(a[4 if code == b"\x1d8L" else 2 :])
        elif code == b"\x1d(k":
            self._qr(a[2:])
        elif code == b"\x1dV":
            m = a[0]
            self._print_line(feed_empty=False)
            if m in (65, 66, 97, 98, 103, 104):
                self._feed(a[1])
            return self._cut()
        return None

    def _copy_style(self) -> _Style:
        return _Style(**vars(self.style))

    def _pending_text(self) -> str:
        return "".join(str(p) for kind, p, _s in self.line if kind == "text")

    def _decode(self, data: bytes) -> str:
        if self.kanji:
            return data.decode("shift_jis", errors="replace")
        if self.code_page == 1:  # Katakana (JIS X 0201 half-width)
            return data.decode("shift_jis", errors="replace")
        return data.decode(_CODE_PAGES.get(self.code_page, "cp437"), errors="replace")

    def _text(self, data: bytes) -> None:
        self.line.append(("text", self._decode(data), self._copy_style()))

    def _feed(self, dots: int) -> None:
        if dots > 0:
            self.strips.append(Image.new("L", (self.width, dots), 255))

    def _place(self, image: Image.Image) -> None:
        """Print an image on its own line(s), aligned by ESC a; wider than the paper is clipped, as on paper."""
        self._print_line(feed_empty=False)
        if image.width > self.width:
            self.warnings.append(f"image {image.width} dots wide clipped to the paper ({self.width})")
            image = image.crop((0, 0, self.width, image.height))
        strip = Image.new("L", (self.width, image.height), 255)
        x = [0, (self.width - image.width) // 2, self.width - image.width][self.align]
        strip.paste(image, (x, 0))
        self.strips.append(strip)
        self.inked = True

    def _raster_image(self, a: bytes) -> None:
        m, x, y = a[0], a[1] + 256 * a[2], a[3] + 256 * a[4]  # m xL xH yL yH d1..dk; x in bytes
        image = _bitmap(a[5:], x * 8, y)
        scale_x, scale_y = (2 if m in (1, 3, 49, 51) else 1), (2 if m in (2, 3, 50, 51) else 1)
        if scale_x > 1 or scale_y > 1:
            image = image.resize((image.width * scale_x, image.height * scale_y), Image.Resampling.NEAREST)
        self._place(image)

    def _graphics(self, a: bytes) -> None:
        """GS ( L / GS 8 L: fn 112 stores raster graphics in the print buffer, fn 50 prints them."""
        if len(a) < 2:
            return
        fn = a[1]
        if fn in (112, 0x70) and len(a) >= 10:
            bx, by, x, y = a[3], a[4], a[6] + 256 * a[7], a[8] + 256 * a[9]
            image = _bitmap(a[10:], x, y)
            if bx == 2 or by == 2:
                image = image.resize((x * (2 if bx == 2 else 1), y * (2 if by == 2 else 1)), Image.Resampling.NEAREST)
            self.graphics = image
        elif fn in (50, 2) and self.graphics is not None:
            self._place(self.graphics)
            self.graphics = None

    def _column_image(self, a: bytes) -> None:
        """ESC * m nL nH d: a strip of 8 or 24-dot columns, part of the current line."""
        m, n = a[0], a[1] + 256 * a[2]
        rows = 24 if m in (32, 33) else 8
        per_col = rows // 8
        strip = Image.new("L", (n, rows), 255)
        pixels = strip.load()
        assert pixels is not None  # a new in-memory image always has its pixels
        data = a[3:]
        for col in range(n):
            for byte_index in range(per_col):
                byte = data[col * per_col + byte_index] if col * per_col + byte_index < len(data) else 0
                for bit in range(8):
                    if byte & (0x80 >> bit):
                        pixels[col, byte_index * 8 + bit] = 0
        if m in (0, 32):  # single density: each column printed twice as wide
            strip = strip.resize((n * 2, rows), Image.Resampling.NEAREST)
        self.line.append(("image", strip, self._copy_style()))

    def _qr(self, a: bytes) -> None:
        """GS ( k with cn=49 (QR): fn 65 model, 67 module size, 69 error level, 80 store, 81 print."""
        if len(a) < 2 or a[0] != 49:
            if a:
                self.warnings.append(f"2D code type {a[0]} not drawn")
            return
        fn, params = a[1], a[2:]
        if fn == 65 and params:
            self.qr_model = params[0]
        elif fn == 67 and params:
            self.qr_module = max(1, min(16, params[0]))
        elif fn == 69 and params:
            self.qr_ec = params[0]
        elif fn == 80:
            self.qr_data = bytes(params[1:])  # m = 48, then the data
        elif fn == 81 and self.qr_data:
            text = self.qr_data.decode("utf-8", errors="replace")
            code = qrcode.QRCode(error_correction=_QR_EC.get(self.qr_ec, _QR_EC[48]), box_size=self.qr_module, border=0)
            code.add_data(self.qr_data)
            code.make(fit=True)
            image = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
            if self.qr_model != 50:
                self.warnings.append(f"QR model {self.qr_model - 48} drawn as model 2")
            self._place(image)
            self.qr_codes.append(text)

    def _glyph_cell(self, ch: str, style: _Style) -> tuple[int, int]:
        full = unicodedata.east_asian_width(ch) in ("W", "F")
        base_w, base_h = (9, 17) if style.font_b else (12, 24)
        return base_w * (2 if full else 1) * style.width, base_h * style.height

    @staticmethod
    def _glyph(ch: str, style: _Style, w: int, h: int) -> Image.Image:
        """One character in its w x h cell: baseline at 80 %, squeezed sideways when wider than the cell."""
        font = _font(max(8, round(h * 0.8)), style.bold)
        baseline = round(h * 0.8)
        natural = max(1, round(font.getlength(ch)))
        tmp = Image.new("L", (natural, h), 255)
        ImageDraw.Draw(tmp).text((0, baseline), ch, font=font, fill=0, anchor="ls")
        glyph = Image.new("L", (w, h), 255)
        if natural > w or style.width != style.height:
            glyph.paste(tmp.resize((w, h), Image.Resampling.LANCZOS), (0, 0))
        else:
            glyph.paste(tmp, ((w - natural) // 2, 0))
        return glyph

    def _print_line(self, feed_empty: bool) -> None:
        """Print the line buffer (wrapping at the paper edge like the printer); LF on an empty buffer feeds a line."""
        if not self.line:
            if feed_empty:
                self._feed(self.line_spacing)
            return
        items: list[tuple[Image.Image | str, _Style, int, int]] = []
        for kind, payload, style in self.line:
            if kind == "image":
                assert isinstance(payload, Image.Image)
                items.append((payload, style, payload.width, payload.height))
            else:
                for ch in str(payload):
                    w, h = self._glyph_cell(ch, style)
                    items.append((ch, style, w, h))
        if any(kind == "text" for kind, _p, _s in self.line):
            self.text_lines.append(self._pending_text())
        self.line = []
        rows: list[list[tuple[Image.Image | str, _Style, int, int]]] = [[]]
        x = 0
        for item in items:
            if x + item[2] > self.width and rows[-1]:
                rows.append([])
                x = 0
            rows[-1].append(item)
            x += item[2]
        for row in rows:
            self._draw_row(row)

    def _draw_row(self, row: list[tuple[Image.Image | str, _Style, int, int]]) -> None:
        content_h = max(h for *_rest, h in row)
        used = sum(w for _p, _s, w, _h in row)
        strip = Image.new("L", (self.width, max(self.line_spacing, content_h)), 255)
        draw = ImageDraw.Draw(strip)
        x = [0, (self.width - used) // 2, self.width - used][self.align]
        for payload, style, w, h in row:
            top = content_h - h
            if isinstance(payload, Image.Image):
                strip.paste(payload, (x, top))
            else:
                if not payload.isspace():
                    strip.paste(self._glyph(payload, style, w, h), (x, top))
                if style.underline:
                    draw.line((x, content_h - 2, x + w, content_h - 2), fill=0, width=max(1, style.height))
            x += w
        self.strips.append(strip)
        self.inked = True

    def _cut(self) -> Receipt | None:
        if not self.inked:
            self._new_receipt()
            return None
        height = sum(s.height for s in self.strips)
        image = Image.new("L", (self.width, height), 255)
        y = 0
        for strip in self.strips:
            image.paste(strip, (0, y))
            y += strip.height
        receipt = Receipt("\n".join(self.text_lines), list(self.qr_codes), None, image, list(self.warnings))
        self._new_receipt()
        return receipt

    def discard(self) -> None:
        """The job is lost (paper ran out, printer stopped): drop what was printed of it."""
        self.line = []
        self._new_receipt()

    def leftover(self) -> Receipt | None:
        """What was printed without a cut at the end of the stream (a ``file://`` capture may end so)."""
        self._print_line(feed_empty=False)
        receipt = self._cut()
        if receipt:
            receipt.cut = False
        return receipt


class _Session:
    """One TCP connection (one job) or one serial line: parser + paper, real-time replies, fault handling."""

    def __init__(self, width: int, state: _PrinterState) -> None:
        self.parser = EscposParser()
        self.paper = _Paper(width)
        self.state = state
        self.job_lost = False
        self.cuts_seen = 0  # GS V received, printed or not: shows how far a lost job got

    def feed(self, data: bytes, final: bool = False) -> tuple[bytes, list[Receipt]]:
        """Process bytes; returns the reply bytes for the host and the receipts cut."""
        commands = self.parser.feed(data) + (self.parser.finish() if final else [])
        replies = bytearray()
        receipts: list[Receipt] = []
        for cmd in commands:
            if cmd.realtime:
                if cmd.code == b"\x10\x04":
                    replies += self.state.realtime_status(cmd.args[0])
                continue  # DLE ENQ / DLE DC4: recovery and pulses, nothing to draw
            if cmd.code == b"\x1dr":
                if self.state.online and not self.job_lost:  # processed in order; never while stopped
                    replies += self.state.gs_r_status(cmd.args[0])
                continue
            if cmd.code == b"\x1dV":
                self.cuts_seen += 1
            if cmd.code == b"\x1b@" and self.state.online:
                self.job_lost = False
            if not self.state.online or self.job_lost:
                self._lose_job()
                continue
            if not self.state.consume(cmd.size):
                log.info("simulated paper end in the middle of the job: the rest is discarded")
                self._lose_job()
                continue
            receipt = self.paper.execute(cmd)
            if receipt is not None:
                receipt.warnings.extend(self.parser.unknown)
                self.parser.unknown.clear()
                receipts.append(receipt)
        return bytes(replies), receipts

    def _lose_job(self) -> None:
        if not self.job_lost:
            self.paper.discard()
        self.job_lost = True


def parse_escpos(data: bytes, width: int = 576) -> list[Receipt]:
    """Decode a captured ESC/POS byte stream (e.g. what a ``file://`` printer wrote) into receipts.

    A trailing part printed without a cut is returned too, with ``cut=False``.
    """
    session = _Session(width, _PrinterState())
    _replies, receipts = session.feed(data, final=True)
    leftover = session.paper.leftover()
    if leftover:
        receipts.append(leftover)
    return receipts


# ------------------------------------------------------------------------------------------------- server


class EscposSimulator:
    """A TCP ESC/POS printer (thread per connection). Receipts are saved as PNGs in ``out_dir`` on each cut."""

    def __init__(
        self,
        out_dir: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        width: int = 576,
        on_receipt: Callable[[Receipt], None] | None = None,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.host = host
        self.width = width
        self.on_receipt = on_receipt
        self.receipts: list[Receipt] = []
        self.lost_jobs = 0
        #: cut commands received, including those of jobs lost to a fault (a job sent to the end has its cut)
        self.cuts_received = 0
        self._port = port
        self._state = _PrinterState()
        self._cond = threading.Condition()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._handlers: set[threading.Thread] = set()
        self._online = True
        self._pty_wakers: list[int] = []

    # -- lifecycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def tickets(self) -> list[Path]:
        """Paths of the PNGs saved so far, in print order."""
        with self._cond:
            return [r.png_path for r in self.receipts if r.png_path is not None]

    def start(self) -> EscposSimulator:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._listen()
        return self

    def _feed(self, session: _Session, data: bytes) -> bytes:
        """Bytes from one connection (TCP or pty) into its session; receipts saved; the replies to send."""
        with self._cond:
            cuts_before = session.cuts_seen
            replies, receipts = session.feed(data)
            self.cuts_received += session.cuts_seen - cuts_before
            for receipt in receipts:
                self._save(receipt)
        return replies

    def stop(self) -> None:
        """Close the port and every connection, and wait for the handler threads."""
        self._close_listener()
        self._drop_connections()
        for wake in self._pty_wakers:
            with contextlib.suppress(OSError):
                os.write(wake, b"x")
        for thread in list(self._handlers):
            thread.join(timeout=5)
        self._pty_wakers.clear()

    def serve_pty(self) -> str:
        """Also be a serial printer: returns the path of a pseudo-terminal to open as ``serial://<path>``.

        Like a real serial line there are no connections: one byte stream for the line's lifetime (ESC @ starts
        each job afresh). The simulator keeps the slave side open so the line survives the host closing it.
        """
        master, slave = os.openpty()
        tty.setraw(slave)
        path = os.ttyname(slave)
        wake_r, wake_w = os.pipe()
        self._pty_wakers.append(wake_w)
        thread = threading.Thread(
            target=self._serve_pty, args=(master, slave, wake_r, wake_w), name="escpos-sim-pty", daemon=True
        )
        with self._cond:
            self._handlers.add(thread)
        thread.start()
        return path

    def _serve_pty(self, master: int, slave: int, wake_r: int, wake_w: int) -> None:
        session = _Session(self.width, self._state)
        try:
            while True:
                readable, _w, _x = select.select([master, wake_r], [], [])
                if wake_r in readable:
                    return
                try:
                    data = os.read(master, 65536)
                except OSError:
                    return
                replies = self._feed(session, data)
                if replies:
                    os.write(master, replies)
        finally:
            for fd in (master, slave, wake_r, wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
            with self._cond:
                self._handlers.discard(threading.current_thread())

    def __enter__(self) -> EscposSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self._port))
        listener.listen(8)
        self._port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, args=(listener,), name="escpos-sim", daemon=True)
        self._thread.start()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _drop_connections(self) -> None:
        with self._cond:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                conn, _addr = listener.accept()
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), name="escpos-sim-conn", daemon=True)
            with self._cond:
                self._connections.add(conn)
                self._handlers.add(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        session = _Session(self.width, self._state)
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                try:
                    data = conn.recv(65536)
                except OSError:
                    break
                if not data:
                    break
                replies = self._feed(session, data)
                if replies:
                    try:
                        conn.sendall(replies)
                    except OSError:
                        break
        finally:
            with self._cond:
                if session.job_lost:
                    self.lost_jobs += 1
                    self._cond.notify_all()
                self._connections.discard(conn)
                self._handlers.discard(threading.current_thread())
            conn.close()

    def _save(self, receipt: Receipt) -> None:
        """Called with the lock held."""
        path = self.out_dir / f"ticket-{len(self.receipts) + 1:04d}.png"
        assert receipt.image is not None
        receipt.image.save(path)
        receipt.png_path = path
        self.receipts.append(receipt)
        self._cond.notify_all()
        if self.on_receipt:
            self.on_receipt(receipt)

    def wait_for_receipts(self, count: int, timeout: float = 5.0) -> bool:
        """Block until at least ``count`` receipts were saved (True) or ``timeout`` passes (False)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.receipts) >= count, timeout)

    # -- fault injection

    def set_paper(self, state: str) -> None:
        """ "ok", "near_end" (still prints, sensor reports near end) or "out" (stops printing)."""
        if state not in PAPER_STATES:
            raise ValueError(f"paper state {state!r}: expected one of {PAPER_STATES}")
        with self._cond:
            self._state.paper = state
            self._state.paper_budget = None

    def paper_runs_out_after(self, n_bytes: int) -> None:
        """The paper ends after ``n_bytes`` more bytes of print data: the job in progress is lost, status says out."""
        with self._cond:
            self._state.paper_budget = n_bytes

    def set_cover_open(self, is_open: bool) -> None:
        with self._cond:
            self._state.cover_open = is_open

    def set_cutter_error(self, error: bool) -> None:
        """An autocutter error (recoverable error: the printer goes offline until cleared)."""
        with self._cond:
            self._state.cutter_error = error

    def set_online(self, online: bool) -> None:
        """Offline = switched off: the TCP port refuses connections and open ones are dropped (not the pty)."""
        if online == self._online:
            return
        self._online = online
        if online:
            self._listen()
        else:
            self._close_listener()
            self._drop_connections()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ESC/POS receipt printer simulator (saves each cut as a PNG)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9100, help="TCP port (default 9100; 0 = any free port)")
    parser.add_argument("--out", type=Path, default=Path("var/printed"), help="folder for the PNGs")
    parser.add_argument("--width", type=int, default=576, help="paper width in dots (576 = 80 mm, 384 = 58 mm)")
    parser.add_argument("--paper", choices=PAPER_STATES, default="ok", help="initial paper state")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    def report(receipt: Receipt) -> None:
        print(f"ticket → {receipt.png_path}  qr={receipt.qr_data or '-'}", flush=True)

    simulator = EscposSimulator(args.out, host=args.host, port=args.port, width=args.width, on_receipt=report)
    simulator.set_paper(args.paper)
    try:
        with simulator:
            print(f"ESC/POS simulator on tcp://{args.host}:{simulator.port}, tickets in {args.out}/ (Ctrl-C to stop)")
            threading.Event().wait()
    except KeyboardInterrupt:
        print("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
