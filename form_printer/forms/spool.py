"""Handing the forms' PDF to the A4 printer: CUPS ``lp`` in production, a folder for the demo and tests.

The PDF holds the resident's name, address and birth date, so it never lingers: CUPS gets it through a file that is
private to this process (0600 in a 0700 temporary folder) and deleted as soon as ``lp`` returns, whether it
succeeded or not (``lp`` has sent the bytes to the scheduler by then). Job titles are shown to anyone who runs
``lpstat``: callers pass the form names, never personal data.

URIs (device file ``form_printer`` key): ``cups:PRINTER`` (the local scheduler), ``cups://HOST[:PORT]/PRINTER``,
``pdf:/absolute/folder``.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

SpoolErrorKind = Literal["unknown_printer", "no_lp", "cups_down", "not_writable", "failed"]

_REQUEST_ID = re.compile(r"request id is (\S+)")
#: CUPS printer names: printable, no spaces, "/" or "#" (lpadmin(8)).
_PRINTER_NAME = re.compile(r"^[^\s/#\\'\"]{1,127}$")


class SpoolError(Exception):
    """The job could not be handed over. ``kind`` lets the app choose what to say; ``str()`` is for technicians."""

    def __init__(self, kind: SpoolErrorKind, message: str) -> None:
        self.kind = kind
        super().__init__(message)


class FormSpool(Protocol):
    def submit(self, pdf: bytes, title: str) -> str:
        """Queue ``pdf`` for printing as one job titled ``title``; returns the job id."""
        ...


class CupsSpool:
    """Print through CUPS: ``lp [-h SERVER] -d PRINTER -t TITLE -- FILE`` (Debian ``cups-client``).

    The scheduler owns the printer's queue, retries and faults; this only hands the job over.
    """

    def __init__(self, printer: str, server: str | None = None, lp: str = "lp", timeout: float = 60.0) -> None:
        if not _PRINTER_NAME.match(printer):
            raise ValueError(f"{printer!r} is not a CUPS printer name")
        self.printer = printer
        self.server = server
        self.lp = lp
        self.timeout = timeout

    @property
    def _where(self) -> str:
        return f"CUPS at {self.server}" if self.server else "the local CUPS"

    def _server_args(self) -> list[str]:
        return ["-h", self.server] if self.server else []

    def submit(self, pdf: bytes, title: str) -> str:
        with tempfile.TemporaryDirectory(prefix="madoguchi-forms-") as private:  # mode 0700
            path = Path(private) / "forms.pdf"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pdf)
            # -h first: lp looks the destination up as soon as it reads -d, on the server known at that point.
            args = [self.lp, *self._server_args(), "-d", self.printer, "-t", title, "--", str(path)]
            try:
                done = subprocess.run(args, capture_output=True, text=True, timeout=self.timeout, check=False)
            except FileNotFoundError:
                raise SpoolError("no_lp", f"{self.lp!r} not found: install the Debian package cups-client") from None
            except subprocess.TimeoutExpired:
                raise SpoolError("failed", f"lp did not return within {self.timeout:g} s ({self._where})") from None
        if done.returncode != 0:
            raise self._explain(done.stderr.strip() or done.stdout.strip())
        found = _REQUEST_ID.search(done.stdout)
        if not found:
            raise SpoolError("failed", f"lp printed no request id: {done.stdout.strip()!r}")
        return found.group(1)

    def _explain(self, message: str) -> SpoolError:
        """lp says "printer does not exist" also when the scheduler is down: ask the scheduler to tell them apart."""
        if "does not exist" in message and not self._scheduler_running():
            return SpoolError("cups_down", f"CUPS is not running ({self._where}): {message}")
        if "does not exist" in message:
            return SpoolError("unknown_printer", f"printer {self.printer!r} is unknown to {self._where}: {message}")
        return SpoolError("failed", f"lp failed for printer {self.printer!r} ({self._where}): {message}")

    def _scheduler_running(self) -> bool:
        lpstat = str(Path(self.lp).with_name("lpstat")) if os.sep in self.lp else "lpstat"
        try:
            done = subprocess.run(
                [lpstat, *self._server_args(), "-r"], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return True  # cannot tell: report what lp said
        return "scheduler is running" in done.stdout


class PdfSpool:
    """Writes each job as a PDF file in a folder: the paper of the demo and the tests. Files are 0600."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def submit(self, pdf: bytes, title: str) -> str:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SpoolError("not_writable", f"cannot create the PDF folder {self.folder}: {exc.strerror}") from None
        safe_title = re.sub(r"[\s/\\:*?\"<>|\x00-\x1f]+", "_", title).strip("_")[:40] or "forms"
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}-{safe_title}.pdf"
        try:
            fd = os.open(self.folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pdf)
        except OSError as exc:
            raise SpoolError("not_writable", f"cannot write to the PDF folder {self.folder}: {exc.strerror}") from None
        return name


def open_spool(uri: str) -> FormSpool:
    """``cups:PRINTER``, ``cups://HOST[:PORT]/PRINTER`` or ``pdf:/folder``; ``ValueError`` naming the URI otherwise."""
    scheme, _, rest = uri.partition(":")
    if scheme == "cups" and rest.startswith("//"):
        parts = urlsplit(uri)
        printer = unquote(parts.path.lstrip("/"))
        if not parts.netloc or not printer or parts.query or parts.fragment:
            raise ValueError(f"form printer {uri!r}: expected cups://HOST[:PORT]/PRINTER")
        return CupsSpool(printer, server=parts.netloc)
    if scheme == "cups":
        if not rest:
            raise ValueError(f"form printer {uri!r}: expected cups:PRINTER")
        return CupsSpool(rest)
    if scheme == "pdf":
        if not rest.startswith("/"):
            raise ValueError(f"form printer {uri!r}: expected pdf:/absolute/folder")
        return PdfSpool(Path(rest))
    raise ValueError(f"form printer {uri!r}: expected cups:PRINTER, cups://HOST[:PORT]/PRINTER or pdf:/folder")
