"""The ccTalk cash-changer driver against the simulator on a real pty, plus pure framing tests.

Synchronisation is by conditions (driver callbacks, simulator state), never by sleeping.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from devkit.cash_changer import DEFAULT_HOPPERS, CcTalkSimulator
from register.cash import cctalk as ct
from register.cash.cctalk_changer import CcTalkCashChanger, parse_event_id, plan_payout
from register.cash.changer import (
    CashChangerError,
    DepositEvent,
    DepositStatus,
    DeviceStatus,
    EndDeposit,
    PayoutResult,
)

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 0.2
RETRIES = 1
FAST = {"timeout": TIMEOUT, "retries": RETRIES, "poll_interval": 0.01, "seconds_per_piece": 0.2}


class Credits:
    """on_deposit target that tests can wait on."""

    def __init__(self) -> None:
        self.events: list[DepositEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: DepositEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait(self, n: int, timeout: float = 2.0) -> list[DepositEvent]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.events) >= n, timeout), self.events
            return list(self.events)


@pytest.fixture
def sim(request):
    options = getattr(request, "param", {})
    with CcTalkSimulator(counts=dict.fromkeys(DEFAULT_HOPPERS, 20), **options) as running:
        yield running


@pytest.fixture
def changer(sim):
    made: list[CcTalkCashChanger] = []

    def make(**kw) -> CcTalkCashChanger:
        driver = CcTalkCashChanger(sim.path, **{**FAST, **kw})
        driver.open()
        made.append(driver)
        return driver

    yield make
    for driver in made:
        driver.close()


def deposit(ch: CcTalkCashChanger, sim: CcTalkSimulator, *cash: int) -> Credits:
    """Begin a deposit and insert ``cash`` one piece at a time, each credited before the next."""
    credits = Credits()
    ch.begin_deposit(credits)
    for i, denomination in enumerate(cash, 1):
        assert sim.insert(denomination)
        credits.wait(i)
    return credits


# ---- pure link layer ----------------------------------------------------------------------------


def test_simple_poll_frame_and_checksum():
    assert ct.encode(2, 1, ct.SIMPLE_POLL) == bytes([2, 0, 1, 254, 255])
    frame = ct.decode(ct.encode(1, 40, ct.ACK, b"\x05\x01\x00"))
    assert frame == ct.Frame(dest=1, source=40, header=0, data=b"\x05\x01\x00")
    assert sum(frame.encode()) % 256 == 0
    with pytest.raises(ct.FrameError):
        ct.decode(bytes([2, 0, 1, 254, 254]))
    with pytest.raises(ct.FrameError):
        ct.decode(bytes([2, 3, 1, 254, 255]))


def test_parser_resynchronises_after_garbage_and_split_reads():
    good = ct.encode(1, 2, ct.ACK, b"\x07")
    other = ct.encode(1, 3, ct.ACK)
    parser = ct.FrameParser()
    # A bogus length byte (0x30) must not swallow the good frame that follows it.
    noise = b"\x01\x30\x02\x99\xff"
    assert parser.feed(noise + good[:3]) == []
    assert parser.feed(good[3:] + other) == [ct.decode(good), ct.decode(other)]
    assert parser.discarded == len(noise)
    bad = bytearray(good)
    bad[-1] ^= 0xFF
    assert parser.feed(bytes(bad) + good) == [ct.decode(good)]


def test_event_counters_wrap_and_lost_events():
    assert ct.next_counter(255) == 1
    assert ct.counter_distance(255, 1) == 1
    assert ct.counter_distance(254, 2) == 3
    assert ct.counter_distance(0, 3) == 3
    assert ct.counter_back(1, 2) == 254
    # newest first on the wire: counter 2 = (5, 1), 1 = (6, 1), 255 = (3, 1)
    reply = bytes([2, 5, 1, 6, 1, 3, 1, 0, 0, 0, 0])
    events, counter, lost = ct.new_events(254, reply)
    assert counter == 2 and lost == 0
    assert [(e.counter, e.a) for e in events] == [(255, 3), (1, 6), (2, 5)]
    _, _, lost = ct.new_events(250, reply)
    assert lost == 2


def test_ids_masks_and_plan():
    assert ct.coin_value("JP500A") == 500
    assert ct.coin_value("JP001K") == 1000
    assert ct.bill_value("JP0010A", 1000, 0) == 10000
    assert ct.mask_positions(ct.mask_bytes({1, 9, 16})) == {1, 9, 16}
    assert plan_payout(3270, dict.fromkeys(DEFAULT_HOPPERS, 20)) == [(1000, 3), (100, 2), (50, 1), (10, 2)]
    assert plan_payout(60, {50: 1, 10: 0, 5: 1, 1: 4}) is None
    assert parse_event_id("2:17;40:3") == {2: 17, 40: 3}


# ---- driver on the simulator ------------------------------------------------------------------


@pytest.mark.parametrize("sim", [{"echo": False}, {"echo": True}], indirect=True, ids=["no-echo", "echo"])
def test_pay_1730_with_5000_note_gives_exact_change(sim, changer):
    ch = changer()
    credits = deposit(ch, sim, 5000)
    assert credits.events[0].denomination == 5000
    assert ch.fix_deposit() == 5000
    assert ch.end_deposit(EndDeposit.CHANGE) == PayoutResult(0, 0)
    assert ch.dispense_change(5000 - 1730) == PayoutResult(3270, 3270)
    assert Counter(sim.paid_out) == Counter({1000: 3, 100: 2, 50: 1, 10: 2})
    assert sim.taken == 1730
    assert ch.read_cash_counts()[1000] == 17
    assert not sim.accepting()


@pytest.mark.parametrize("sim", [{"echo": True}], indirect=True)
def test_deposit_events_in_order_with_totals(sim, changer):
    ch = changer()
    credits = deposit(ch, sim, 1000, 100, 500, 10, 2000)
    assert [e.denomination for e in credits.events] == [1000, 100, 500, 10, 2000]
    assert [e.total for e in credits.events] == [1000, 1100, 1600, 1610, 3610]
    assert len({e.event_id for e in credits.events}) == 5
    assert ch.status().deposit == DepositStatus.COUNT
    assert ch.fix_deposit() == 3610
    assert ch.status().deposit == DepositStatus.END


def test_cancel_mid_deposit_repays_exact_amount(sim, changer):
    ch = changer()
    deposit(ch, sim, 1000, 500, 100)
    assert ch.fix_deposit() == 1600
    assert not sim.insert(100)  # inhibited: goes straight back to the resident
    assert sim.returned == [100]
    assert ch.end_deposit(EndDeposit.REPAY) == PayoutResult(1600, 1600)
    assert sorted(sim.paid_out) == [100, 500, 1000]
    assert sim.taken == 0


def test_fix_deposit_from_inside_the_callback(sim, changer):
    ch = changer()
    fixed: queue.Queue = queue.Queue()

    def on_deposit(event: DepositEvent) -> None:
        if event.total >= 1000:
            fixed.put(ch.fix_deposit())

    ch.begin_deposit(on_deposit)
    assert sim.insert(1000)
    assert fixed.get(timeout=2) == 1000
    assert not sim.accepting()


def test_not_enough_change_raised_before_anything_moves(sim, changer):
    for denomination in (10, 5, 1):
        sim.set_hopper(denomination, 1)
    before = sim.hopper_counts()
    ch = changer()
    assert not ch.can_dispense(3270)
    with pytest.raises(CashChangerError) as err:
        ch.dispense_change(3270)
    assert err.value.code == "not_enough_change" and err.value.paid == 0
    assert sim.paid_out == [] and sim.hopper_counts() == before


def test_jam_mid_deposit_stops_deposit_and_keeps_amount(sim, changer):
    ch = changer()
    deposit(ch, sim, 1000, 100)
    sim.jam_acceptor("note")
    assert sim.wait_for(lambda: not sim.accepting())  # the driver inhibited everything
    status = ch.status()
    assert status.device == DeviceStatus.JAM and status.deposit == DepositStatus.JAM
    assert "jam:note" in status.faults
    assert not sim.insert(500)
    assert ch.deposit_amount() == 1100
    assert ch.fix_deposit() == 1100
    assert sim.taken == 1100


def test_hopper_jam_part_way_reports_what_was_paid(sim, changer):
    ch = changer()
    sim.jam_hopper(100, after=1)
    with pytest.raises(CashChangerError) as err:
        ch.dispense_change(3270)
    assert err.value.code == "jam"
    assert err.value.paid == 3100 == sum(sim.paid_out)
    status = ch.status()
    assert status.device == DeviceStatus.JAM and "jam:100" in status.faults
    sim.clear_jam()
    assert ch.status().device == DeviceStatus.OK


def test_near_empty_and_empty_status(sim, changer):
    sim.set_hopper(50, 0)
    sim.set_hopper(10, 2)
    status = changer().status()
    assert status.device == DeviceStatus.EMPTY
    assert {"empty:50", "near_empty:10"} <= set(status.faults)


@pytest.mark.parametrize("sim", [{"coin_time": 0.02}], indirect=True)
def test_disconnect_mid_payout_raises_within_timeout(sim, changer):
    ch = changer()
    outcome: queue.Queue = queue.Queue()

    def pay() -> None:
        try:
            outcome.put(ch.dispense_change(3270))
        except CashChangerError as exc:
            outcome.put(exc)

    threading.Thread(target=pay, daemon=True).start()
    assert sim.wait_for(lambda: len(sim.paid_out) >= 1)
    sim.disconnect()
    cut = time.monotonic()
    result = outcome.get(timeout=5)
    assert isinstance(result, CashChangerError) and result.code == "disconnected"
    assert time.monotonic() - cut < TIMEOUT * (RETRIES + 1) + 0.5
    assert not ch.status().connected
    with pytest.raises(CashChangerError, match="not connected"):
        ch.read_cash_counts()
    sim.reconnect()
    assert ch.status().connected


def test_disconnect_mid_deposit(sim, changer):
    ch = changer()
    deposit(ch, sim, 1000)
    sim.disconnect()
    cut = time.monotonic()
    with pytest.raises(CashChangerError) as err:
        ch.fix_deposit()
    assert err.value.code == "disconnected"
    assert time.monotonic() - cut < 4 * TIMEOUT + TIMEOUT * (RETRIES + 1) + 0.5
    assert ch.deposit_amount() == 1000


def test_garbage_and_corrupt_replies_are_survived(sim, changer):
    ch = changer()
    sim.inject_garbage(b"\x01\x30\x02\x00noise\xff")
    assert ch.read_cash_counts()[500] == 20
    sim.corrupt_next_reply()  # dropped by the checksum, retried
    assert ch.can_dispense(1000)
    sim.inject_garbage(bytes(range(7)))
    credits = deposit(ch, sim, 100)
    assert credits.events[0].total == 100


def test_event_counter_wrap(sim, changer):
    sim.preset_event_counters(253)
    ch = changer()
    credits = deposit(ch, sim, 10, 50, 100)
    assert [e.event_id.split(";")[0] for e in credits.events] == ["2:254", "2:255", "2:1"]
    assert ch.fix_deposit() == 160


def test_lost_events_are_flagged(sim, changer):
    ch = changer()
    ch.begin_deposit(Credits())
    assert sim.insert(100, count=7)  # seven credits between two polls: the buffer holds five
    assert sim.wait_for(lambda: sim.taken == 700)
    assert ch.fix_deposit() == 500
    assert "lost_events:2:2" in ch.status().faults


# ---- a register killed mid-operation ----------------------------------------------------------

CHILD = """
import sys
from register.cash.cctalk_changer import CcTalkCashChanger
ch = CcTalkCashChanger(sys.argv[1], timeout=0.2, poll_interval=0.01, seconds_per_piece=0.2)
ch.open()
if sys.argv[2] == "deposit":
    ch.begin_deposit(lambda e: print("credit", e.event_id, flush=True))
    print("ready", flush=True)
else:
    print("ready", flush=True)
    ch.dispense_change(int(sys.argv[3]))
sys.stdin.read()
"""


class Register:
    """A register process driving the changer, killed with SIGKILL like a crashed host."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, *args], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())

    def expect(self, prefix: str) -> str:
        line = self.lines.get(timeout=10)
        assert line.startswith(prefix), line
        return line

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=5)


def test_recover_after_register_killed_mid_deposit(sim, changer):
    sim.preset_event_counters(254)
    register = Register(sim.path, "deposit")
    try:
        register.expect("ready")
        assert sim.insert(1000)
        last_journaled = register.expect("credit").split()[1]
        assert sim.insert(10)
        assert register.expect("credit").split()[1].startswith("2:255")
    finally:
        register.kill()
    # The host is dead but acceptance is still on: the resident keeps paying.
    assert sim.insert(100) and sim.insert(500)
    ch = changer()
    recovery = ch.recover(last_journaled)
    assert [e.denomination for e in recovery.credits_since] == [10, 100, 500]
    assert [e.event_id.split(";")[0] for e in recovery.credits_since] == ["2:255", "2:1", "2:2"]
    assert recovery.deposit_open
    assert not sim.accepting()
    # The register refunds what its journal plus the recovery say was put in.
    assert ch.dispense_change(1000 + 610) == PayoutResult(1610, 1610)
    assert sim.taken == 0


@pytest.mark.parametrize("sim", [{"coin_time": 0.05}], indirect=True)
def test_recover_after_register_killed_mid_payout(sim, changer):
    register = Register(sim.path, "pay", "3270")
    try:
        register.expect("ready")
        assert sim.wait_for(lambda: len(sim.paid_out) >= 1)
    finally:
        register.kill()
    recovery = changer().recover(None)
    assert recovery.credits_since == () and not recovery.deposit_open
    assert recovery.last_payout == PayoutResult(3270, 3000)
    assert sum(sim.paid_out) == 3000
