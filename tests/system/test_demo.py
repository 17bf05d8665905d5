"""The README's main command: `madoguchi demo` runs end to end."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.harness import ROOT, free_port

pytestmark = pytest.mark.broker


def test_demo_walks_three_residents(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "madoguchi", "demo", "--narrate", "--state", str(tmp_path),
         "--port", str(free_port()), "--http-port", str(free_port()), "--history-days", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    for line in (
        "ticket #1: done",
        "ticket #2: done",
        "ticket #3: done",
        "ticket #4: done",
        "4番の方、ワンストップ B1（1階）へどうぞ",
        "c21: request from booth b1 taken → #4",
        "refused: counter_busy",
        "1番の方、21番窓口（2階）へどうぞ",
        "new simulated past days in the journal",
    ):
        assert line in out.stdout
    assert "WARNING" not in out.stderr


def test_demo_without_a_display_says_so_plainly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out = subprocess.run(
        [sys.executable, "-m", "madoguchi", "demo", "--state", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert out.returncode == 2
    assert "there is no display" in out.stderr and "--narrate" in out.stderr
    assert not (tmp_path / "demo").exists()  # nothing started
