"""Finding Debian's programs by name, for whoever runs us.

Daemons and admin tools (mosquitto, pcscd, cupsd, lpadmin) live in ``/usr/sbin``, which an ordinary
user's PATH does not hold: looking them up on PATH alone told a user "install pcscd" with pcscd installed.
"""

from __future__ import annotations

import os
import shutil

SYSTEM_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def find_program(name: str) -> str | None:
    """The full path of program ``name`` on PATH or in the system folders, or None."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", os.defpath), *SYSTEM_DIRS]))
