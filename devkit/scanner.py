"""A serial slip scanner simulator: a pty pair whose slave the register opens (``scanner = "serial:PATH"``).

``scan(code)`` writes the code and CR LF, exactly what a scanner in serial (USB-CDC) mode sends.
The simulator keeps its own slave fd open so the register can close and reopen the port freely.
"""

from __future__ import annotations

import contextlib
import os
import tty


class PtyScanner:
    def __init__(self, symlink: str | None = None) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.symlink = symlink
        if symlink:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(symlink)
            os.symlink(self.path, symlink)

    def scan(self, code: str) -> None:
        os.write(self.master, code.encode("ascii") + b"\r\n")

    def close(self) -> None:
        if self.symlink:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.symlink)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyScanner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
