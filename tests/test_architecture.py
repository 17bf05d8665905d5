"""The layering of docs/architecture.md holds: import-linter's contracts and mypy on the runtime packages.

Both run the real tools on the checkout (the same commands a developer runs), so a change that
breaks a rule fails here with the tool's own explanation.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

#: The packages held to zero mypy errors (docs/architecture.md).
TYPED = (
    "madoguchi",
    "kiosk",
    "queue_service",
    "ticket_machine",
    "form_printer",
    "register",
    "broker_config",
    "images",
    "devkit",
    "city_hub",
)


def run(tool: str, *args: str) -> subprocess.CompletedProcess:
    exe = BIN / tool
    if not exe.exists():
        pytest.fail(f"{tool} is not installed in this venv: run scripts/install")
    return subprocess.run([str(exe), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_import_contracts_hold():
    done = run("lint-imports", "--no-cache")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_runtime_packages_are_mypy_clean():
    done = run("mypy", "--ignore-missing-imports", "--cache-dir", str(ROOT / "build" / "mypy-cache"), *TYPED)
    assert done.returncode == 0, done.stdout[-6000:]
    assert "Success: no issues found" in done.stdout


def test_the_contracts_would_catch_a_library_importing_an_app():
    """The contracts are not vacuous: a kiosk module importing an app breaks 'library'."""
    probe = ROOT / "kiosk" / "_architecture_probe.py"
    probe.write_text("import register.cart  # noqa: F401\n")
    try:
        done = run("lint-imports", "--no-cache", "--contract", "library")
    finally:
        probe.unlink()
    assert done.returncode != 0 and "kiosk._architecture_probe -> register.cart" in done.stdout
