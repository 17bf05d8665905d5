"""The self register app under Xvfb, driven through its real screens, on the real broker and queue
service, with the devices' simulators in this process: the ccTalk cash changer and the payment
terminal on ptys, the receipt printer on TCP (ESC/POS). Slips are typed in as a keyboard-wedge
scanner would. Screens are saved under build/test-artifacts/ui/register-*.png.

The app runs as ``python -m tests.system.test_register_app`` (below): the UI driver of tests/ui/driver.py
with the ``register`` role installed (kiosk/ui/run.py does not list it yet).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devkit.cash_changer import CcTalkSimulator
from devkit.payment_terminal import CatSimulator
from devkit.printer import EscposSimulator
from kiosk.pin import hash_pin
from madoguchi.local import stop_process, wait_healthy
from register.cashless.terminal import PaymentMedia
from register.journal import Journal
from tests.artifacts_dir import TEST_ARTIFACTS
from tests.conftest import EXAMPLE_SITE
from tests.harness import ROOT, free_port, start_broker, start_service_process
from tests.system.test_ui_apps import Run

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb (scripts/install)")
DEVICE = "register-1f"
PIN = "2468"
ARTIFACTS = TEST_ARTIFACTS / "ui"
#: What the changer holds for change at the start of each test.
FLOAT = {1000: 40, 500: 20, 100: 40, 50: 20, 10: 40, 5: 20, 1: 40}


class RegisterStack:
    """Broker, queue service, receipt printer, cash changer and payment terminal for one register.

    ``module`` is the test module whose scenarios the app runs (``python -m <module>``); ``terminal`` the
    payment terminal simulator; ``status_url`` the tickets' QR address the register may look tickets up at."""

    def __init__(
        self,
        site,
        state: Path,
        display: str,
        module: str = "tests.system.test_register_app",
        terminal: CatSimulator | None = None,
        status_url: bool = False,
    ) -> None:
        self.site = site
        self.state = state
        self.display = display
        self.module = module
        self.broker = start_broker(site, state)
        self.http = free_port()
        self.service = start_service_process(self.broker, EXAMPLE_SITE, self.http)
        wait_healthy(self.http, [self.service])
        self.status_url = f"http://127.0.0.1:{self.http}/t/{{token}}" if status_url else None
        self.printer = EscposSimulator(state / "printed").start()
        self.changer = CcTalkSimulator(counts=FLOAT).start()
        self.terminal = terminal or CatSimulator()
        self.journal = state / "payments.sqlite"
        (state / "flags").mkdir()

    def drive(self, scenario: str, wait: bool = True, **params):
        extra = {"status_url": self.status_url} if self.status_url else {}
        config = self.broker.device_file(
            DEVICE,
            EXAMPLE_SITE,
            screen={"fullscreen": False, "width": 1280, "height": 800},
            printer=f"tcp://127.0.0.1:{self.printer.port}",
            cash_changer=f"cctalk:{self.changer.path}",
            cashless_terminal=f"cat:{self.terminal.path}",
            payments_journal=str(self.journal),
            concierge_pin=hash_pin(PIN),
            **extra,
        )
        result = self.state / f"{scenario}.json"
        params.setdefault("flags", self.state / "flags")
        cmd = [sys.executable, "-m", self.module, "register", str(config), scenario, str(result)]
        cmd += [f"{k}={v}" for k, v in params.items()]
        env = dict(os.environ, DISPLAY=self.display, SDL_AUDIODRIVER="dummy")
        log = self.state / f"{scenario}.log"
        with log.open("wb") as err:
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stderr=err)
        run = Run(proc, result, log)
        return run.result(timeout=180) if wait else run

    def stop(self) -> None:
        self.terminal.close()
        self.changer.stop()
        self.printer.stop()
        stop_process(self.service)
        self.broker.stop()


@pytest.fixture
def register_stack(site, tmp_path, display):
    running = RegisterStack(site, tmp_path, display)
    yield running
    running.stop()


def _wait(cond, what: str, timeout: float = 60.0, run: Run | None = None) -> None:
    event = threading.Event()
    for _ in range(int(timeout * 20)):
        if cond():
            return
        if run is not None and run.proc.poll() is not None:
            run.result()  # the app ended: its error
            raise AssertionError(f"the app ended while waiting for {what}")
        event.wait(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _journal_steps(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT tx, step FROM step ORDER BY seq").fetchall()


def test_three_slips_paid_by_cash_with_change_and_a_receipt(register_stack):
    stack = register_stack
    run = stack.drive("register_cash", wait=False)
    changer = stack.changer
    _wait(changer.accepting, "the changer to accept cash", run=run)
    assert changer.insert(10000)
    _wait(lambda: (stack.state / "flags" / "first-note-seen").exists(), "the first note on screen", run=run)
    assert changer.insert(10000, 4)
    result = run.result(timeout=180)

    assert "期限" in result["expired_message_ja"]
    assert result["duplicate_message_ja"] != result["duplicate_message_en"]
    assert "already" in result["duplicate_message_en"]
    total = result["total"]
    assert result["paid"] == total and result["tendered"] == 50000
    assert result["change"] == 50000 - total
    assert result["receipt"] is True and result["cart_after"] is True
    # the change came out of the hoppers; the machine kept exactly the total
    assert sum(changer.paid_out) == 50000 - total
    assert changer.taken == total
    # the receipt, as the printer printed it
    assert stack.printer.wait_for_receipts(1)
    shutil.copy(stack.printer.tickets[0], ARTIFACTS / "register-07-receipt.png")
    # journaled, closed as paid, and published to the queue service
    steps = [s for tx, s in _journal_steps(stack.journal) if tx == result["tx"]]
    assert steps[0] == "open" and "paid" in steps and "closed" in steps and steps[-1] == "published"
    with sqlite3.connect(stack.state / "queue.sqlite") as db:
        rows = db.execute("SELECT verb FROM journal WHERE verb = 'record_payment'").fetchall()
    assert len(rows) == 1


def test_cash_cancelled_then_card_cancelled_declined_and_approved(register_stack):
    stack = register_stack
    run = stack.drive("register_cancel_and_cashless", wait=False)
    changer, terminal = stack.changer, stack.terminal
    _wait(changer.accepting, "the changer to accept cash", run=run)
    assert changer.insert(1000, 2)
    seen: list[str] = []

    def next_sale() -> str:
        def waiting() -> bool:
            try:
                key = terminal.wait_for_card_wait(timeout=0.2)
            except TimeoutError:
                return False
            return key not in seen

        _wait(waiting, "a sale waiting for a card", run=run)
        key = terminal.wait_for_card_wait()
        seen.append(key)
        return key

    next_sale()  # cancelled on the register's screen
    next_sale()
    terminal.decline_next("insufficient funds")
    terminal.present(PaymentMedia.CREDIT, "VISA")
    next_sale()
    terminal.present(PaymentMedia.CREDIT, "VISA")
    result = run.result(timeout=180)

    assert result["returned"] == 2000
    assert changer.taken == 0 and sum(changer.paid_out) == 2000  # the cash put in came back out
    assert result["cancelled_message"] and result["declined_message"]
    assert result["cancelled_message"] != result["declined_message"]
    assert result["paid"] == result["total"] and result["change"] == 0 and result["brand"] == "VISA"
    assert result["receipt"] is True
    assert terminal.charged_total == result["total"] and len(terminal.charges) == 1


def test_unfinished_payment_is_reported_to_staff_then_staff_mode_and_idle_reset(register_stack):
    stack = register_stack
    journal = Journal(stack.journal)
    slip = {"kind": "fee", "key": "k1", "payee": "kokuho", "amount": 500, "reference": "", "raw": ""}
    journal.append("20250101-register-1f-00001", "open", {"slips": [slip], "total": 500, "mode": "self"}, at=_now())
    journal.close()
    result = stack.drive("register_recovery_and_staff", pin=PIN)
    assert [r["tx"] for r in result["reports"]] == ["20250101-register-1f-00001"]
    assert result["reports"][0]["result"] == "aborted" and not result["reports"][0]["blocked"]
    assert result["wrong_pin"]
    assert result["staff_message"]
    assert result["after_idle"] == {"screen": "home", "cart": True, "lang": "ja"}


def _now() -> datetime:
    return datetime.now(UTC)


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    from tests.ui.driver import run as drive

    _role, _config, _scenario, _result, *_rest = sys.argv[1:]
    sys.exit(drive(_role, _config, _scenario, _result, dict(kv.split("=", 1) for kv in _rest)))
