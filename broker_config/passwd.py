"""Hash device passwords for Mosquitto's password file with ``mosquitto_passwd -U`` (the broker's own hasher).

One place for both writers of password files: ``madoguchi broker`` (the demo and a single server) and
``madoguchi provision`` (a site's bundles). The plain text only ever sits in a 0600 file inside a fresh
0700 folder, which is gone when this returns; no password is ever on a command line.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path


class PasswordHashError(RuntimeError):
    """mosquitto_passwd is missing or did not hash every password (its messages never name a password)."""


def read_passwd(path: Path) -> dict[str, str]:
    """``user -> line`` of a password file (each line as it is, without its newline), in file order."""
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and ":" in line:
            out[line.split(":", 1)[0]] = line
    return out


def hash_passwords(passwords: dict[str, str], workdir: Path) -> dict[str, str]:
    """``user -> "user:$7$..."`` for each ``user -> password``; the plain text is written under ``workdir``."""
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        raise PasswordHashError("mosquitto_passwd not found: install the 'mosquitto' package (scripts/install)")
    if not passwords:
        return {}
    workdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=workdir, prefix=".hash-") as tmp:  # created 0700
        plain = Path(tmp) / "passwd"
        plain.touch(mode=0o600)
        plain.write_text("".join(f"{user}:{password}\n" for user, password in passwords.items()), encoding="utf-8")
        done = subprocess.run([tool, "-U", str(plain)], capture_output=True, text=True)
        if done.returncode != 0:  # its messages name the file, never a password
            raise PasswordHashError(f"mosquitto_passwd failed (exit {done.returncode}): {done.stderr.strip()}")
        hashed = read_passwd(plain)
    if set(hashed) != set(passwords) or not all(line.split(":", 1)[1].startswith("$") for line in hashed.values()):
        raise PasswordHashError("mosquitto_passwd did not hash every password")
    return hashed
