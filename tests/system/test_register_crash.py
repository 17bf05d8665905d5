"""kill -9 of the register at every journal point, then a restart: each run ends with exactly one payment kept,
no transaction left open, and every transaction consistent (register.ledger.check).

The register runs as its own process (tests/register_worker.py: the real Register, drivers and journal) and kills
itself with SIGKILL at the journal point named in MADOGUCHI_CRASH_AT: ``after:X`` = X is on disk and the device has
not been asked yet; ``before:X`` = the device did act and X is not on disk yet. The devices (pty simulators) and the
printer (TCP simulator) live in this test process, so they outlive the register like real hardware does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from devkit.cash_changer import CcTalkSimulator
from devkit.payment_terminal import CatSimulator
from devkit.printer import EscposSimulator
from devkit.slip_samples import sample_slips
from kiosk.config.site import load_site
from register.journal import Journal
from register.ledger import check, replay
from tests.conftest import EXAMPLE_SITE
from tests.register.test_register_flow import today, write_device

ROOT = Path(__file__).resolve().parents[2]
SLIPS = ("kokuho", "kaigo")  # 12,300 + 8,600 = 20,900
TOTAL = 20_900
NOTES = (10_000, 10_000, 1_000)  # 21,000: 100 yen change

CASH_POINTS = [
    "after:open",
    "after:deposit_begin",
    "after:credit",
    "after:credit#2",
    "before:credit#3",
    "after:deposit_fix",
    "before:deposited",
    "after:deposited",
    "after:paid",
    "after:change_intent",
    "before:change_done",
    "after:change_done",
    "after:receipt_intent",
    "before:receipt_done",
    "after:receipt_done",
    "after:closed",
]
CASHLESS_POINTS = [
    "after:open",
    "after:sale_intent",
    "before:sale_result",
    "after:sale_result",
    "after:paid",
    "after:receipt_intent",
    "before:receipt_done",
    "after:receipt_done",
    "after:closed",
]


@pytest.fixture
def office(tmp_path):
    with (
        CatSimulator(auto=("emoney", "交通系IC")) as terminal,
        CcTalkSimulator() as changer,
        EscposSimulator(tmp_path / "receipts") as printer,
    ):
        printer_uri = f"tcp://127.0.0.1:{printer.port}"
        device = write_device(tmp_path, EXAMPLE_SITE, changer=changer.path, terminal=terminal.path, printer=printer_uri)
        yield device, changer, terminal, printer


def slip_codes() -> list[str]:
    site = load_site(EXAMPLE_SITE)
    samples = {s.id: s.data for s in sample_slips(site.register, today().astimezone(site.zone).date())}
    return [samples[i] for i in SLIPS]


def run_register(device: Path, method: str, changer: CcTalkSimulator, *, crash: str | None, if_unpaid: bool) -> tuple:
    """Run the worker to its end (or its death); plays the resident: inserts the notes when it asks for cash."""
    env = {k: v for k, v in os.environ.items() if k != "MADOGUCHI_CRASH_AT"}
    if crash:
        env["MADOGUCHI_CRASH_AT"] = crash
    args = [sys.executable, "-m", "tests.register_worker", str(device), method]
    args += ["--if-unpaid"] if if_unpaid else []
    proc = subprocess.Popen(
        args + slip_codes(), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    events = []
    for line in proc.stdout:
        event = json.loads(line)
        events.append(event)
        if event["event"] == "deposit_open":
            assert changer.wait_accepting(5)
            for note in NOTES:
                changer.insert(note)
    stderr = proc.stderr.read()
    proc.wait(60)
    return proc.returncode, events, stderr


def settle_after_crash(device: Path, method: str, changer: CcTalkSimulator, point: str) -> Journal:
    code, events, stderr = run_register(device, method, changer, crash=point, if_unpaid=False)
    assert code == -signal.SIGKILL, f"{point} was never reached (exit {code}): {events} {stderr[-2000:]}"
    code, events, stderr = run_register(device, method, changer, crash=None, if_unpaid=True)
    assert code == 0, stderr[-3000:]
    recovered = events[0]["reports"]
    assert all(not r["blocked"] for r in recovered), recovered
    return Journal(device.parent / "payments.db")


def assert_one_payment(journal: Journal) -> None:
    records = [replay(steps) for steps in journal.transactions()]
    problems = [f"{r.id}: {p}" for r in records for p in check(r)]
    assert problems == []
    assert journal.open_transactions() == []
    assert [r.total for r in records if r.closed == "paid"] == [TOTAL]


@pytest.mark.parametrize("point", CASH_POINTS)
def test_kill_9_during_a_cash_payment(office, point):
    device, changer, _, printer = office
    journal = settle_after_crash(device, "cash", changer, point)
    assert_one_payment(journal)
    assert changer.taken == TOTAL, f"the changer kept {changer.taken} yen"
    assert printer.receipts, "no receipt came out"


@pytest.mark.parametrize("point", CASHLESS_POINTS)
def test_kill_9_during_a_cashless_payment(office, point):
    device, changer, terminal, printer = office
    journal = settle_after_crash(device, "cashless", changer, point)
    assert_one_payment(journal)
    assert [c.amount for c in terminal.charges] == [TOTAL]
    assert printer.receipts, "no receipt came out"
