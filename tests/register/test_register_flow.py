"""The register end to end, headless: real drivers on pty simulators (ccTalk changer, CAT terminal), the receipt on
the ESC/POS simulator over TCP, the journal on disk. Every test ends with the journal checked transaction by
transaction (register.ledger.check) and the money counted on the simulators."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devkit.cash_changer import CcTalkSimulator
from devkit.payment_terminal import CatSimulator
from devkit.printer import EscposSimulator
from devkit.slip_samples import sample_slips
from kiosk.config.device import load_device
from register.cart import Cart
from register.checkout import Register
from register.ledger import check, replay
from register.setup import register_for
from tests.conftest import artifact_folder


def write_device(folder: Path, site_file: Path, *, changer: str | None, terminal: str | None, printer: str) -> Path:
    lines = [
        'device = "register-1f"',
        f'site = "{site_file}"',
        f'printer = "{printer}"',
        f'payments_journal = "{folder / "payments.db"}"',
    ]
    if changer:
        lines.append(f'cash_changer = "cctalk:{changer}"')
    if terminal:
        lines.append(f'cashless_terminal = "cat:{terminal}"')
    lines += ["[broker]", f'password_file = "{folder / "unused.password"}"']
    path = folder / "register.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def artifacts(request) -> Path:
    return artifact_folder(request, "register")


@pytest.fixture
def devices(artifacts):
    with CatSimulator() as terminal, CcTalkSimulator() as changer, EscposSimulator(artifacts) as printer:
        yield changer, terminal, printer


@pytest.fixture
def register(devices, tmp_path):
    from tests.conftest import EXAMPLE_SITE

    changer, terminal, printer = devices
    device = load_device(
        write_device(
            tmp_path,
            EXAMPLE_SITE,
            changer=changer.path,
            terminal=terminal.path,
            printer=f"tcp://127.0.0.1:{printer.port}",
        )
    )
    from kiosk.config.site import load_site

    site = load_site(device.site)
    reg = register_for(device, site)
    reg.changer.open()
    reg.terminal.open()
    reg.sale_timeout = 3.0
    yield reg
    reg.changer.close()
    reg.terminal.close()
    reg.journal.close()


def today() -> datetime:
    return datetime.now(UTC)


def cart_of(register: Register, *ids: str) -> Cart:
    from kiosk.config.site import load_site
    from tests.conftest import EXAMPLE_SITE

    site = load_site(EXAMPLE_SITE)
    day = today().astimezone(site.zone).date()
    samples = {s.id: s for s in sample_slips(site.register, day)}
    cart = Cart(site.register, day)
    for slip_id in ids:
        cart.scan(samples[slip_id].data)
    return cart


def all_consistent(register: Register) -> list[str]:
    return [f"{steps[0].tx}: {p}" for steps in register.journal.transactions() for p in check(replay(steps))]


def in_background(fn, *args) -> Future:
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(fn, *args)
    pool.shutdown(wait=False)
    return future


# ------------------------------------------------------------------------------------------- cashless
def test_three_slips_paid_cashless_in_one_go(register, devices):
    _, terminal, printer = devices
    cart = cart_of(register, "kokuho", "kaigo", "kotei")
    checkout = register.begin(cart)
    paying = in_background(checkout.pay_cashless)
    terminal.wait_for_card_wait(5)
    terminal.present("qr", "PayPay")
    settlement = paying.result(10)
    assert settlement.result == "paid" and settlement.receipt_printed
    assert [(c.amount, c.brand) for c in terminal.charges] == [(cart.total, "PayPay")]
    assert printer.wait_for_receipts(1, timeout=30)
    assert all_consistent(register) == []
    record = replay(register.journal.steps(checkout.tx))
    assert record.paid["media"] == "qr" and record.paid["brand"] == "PayPay" and record.paid["approval_code"]


def test_a_terminal_that_times_out_but_charged_is_asked_and_never_charged_twice(register, devices):
    _, terminal, _ = devices
    terminal.auto = ("emoney", "交通系IC")
    terminal.swallow_next_response()
    checkout = register.begin(cart_of(register, "kokuho"))
    settlement = checkout.pay_cashless()
    assert settlement.result == "paid"
    assert len(terminal.charges) == 1
    notes = [s.data for s in register.journal.steps(checkout.tx) if s.step == "note"]
    assert notes == [{"code": "sale_unknown", "error": "timeout"}]
    assert all_consistent(register) == []


def test_declined_then_paid_by_another_card_is_one_charge(register, devices):
    _, terminal, _ = devices
    terminal.auto = ("credit", "VISA")
    terminal.decline_next("残高不足")
    cart = cart_of(register, "hoiku")
    first = register.begin(cart).pay_cashless()
    assert first.result == "aborted" and first.reason == "declined"
    second = register.begin(cart).pay_cashless()
    assert second.result == "paid"
    assert [c.amount for c in terminal.charges] == [cart.total]
    assert all_consistent(register) == []


def test_resident_cancels_at_the_terminal_and_nothing_is_charged(register, devices):
    _, terminal, _ = devices
    checkout = register.begin(cart_of(register, "kokuho", "kaigo"))
    paying = in_background(checkout.pay_cashless)
    terminal.wait_for_card_wait(5)
    checkout.abort_cashless()
    assert paying.result(10).result == "cancelled"
    assert terminal.charges == []
    assert all_consistent(register) == []


def test_receipt_printer_out_of_paper_keeps_the_payment_and_reprints_marked(register, devices):
    _, terminal, printer = devices
    terminal.auto = ("credit", "JCB")
    printer.set_paper("out")
    checkout = register.begin(cart_of(register, "kotei"))
    settlement = checkout.pay_cashless()
    assert settlement.result == "paid" and not settlement.receipt_printed and settlement.receipt_fault == "paper_out"
    printer.set_paper("ok")
    assert register.print_receipt(checkout.tx) == (True, None)
    assert printer.wait_for_receipts(1, timeout=30)
    assert "再発行" in printer.receipts[-1].text or replay(register.journal.steps(checkout.tx)).receipt_copies == 2
    assert all_consistent(register) == []


def test_semi_self_staff_key_in_fees_and_the_resident_pays(register, devices):
    _, terminal, printer = devices
    from kiosk.config.site import load_site
    from register.slips.policy import SlipRefused
    from tests.conftest import EXAMPLE_SITE

    site = load_site(EXAMPLE_SITE)
    cart = Cart(site.register, register.today())
    cart.add_fee("shomei_fee", 300)
    cart.add_fee("shomei_fee", 300)
    cart.add_fee("inkan_fee", 300)
    with pytest.raises(SlipRefused) as e:
        cart.add_fee("kokuho", 1000)  # a slip payee, not a fee
    assert e.value.code == "not_accepted"
    with pytest.raises(SlipRefused) as e:
        cart.add_fee("shomei_fee", 300_001)
    assert e.value.code == "over_limit"
    terminal.auto = ("emoney", "nanaco")
    settlement = register.begin(cart, mode="staff").pay_cashless()
    assert settlement.result == "paid" and settlement.record.mode == "staff" and settlement.record.total == 900
    assert [c.amount for c in terminal.charges] == [900]
    assert all_consistent(register) == []


# ------------------------------------------------------------------------------------------- cash
def wait_accepting(changer: CcTalkSimulator) -> None:
    assert changer.wait_accepting(5), "the changer never started accepting cash"


def test_three_slips_paid_by_cash_with_change(register, devices, artifacts):
    changer, _, printer = devices
    cart = cart_of(register, "kokuho", "kaigo", "hoiku")  # 12,300 + 8,600 + 21,000 = 41,900
    checkout = register.begin(cart)
    enough = threading.Event()
    seen: list[int] = []

    def credited(total: int) -> None:
        seen.append(total)
        if total >= checkout.total:
            enough.set()

    checkout.start_cash(credited)
    wait_accepting(changer)
    for note in (10000, 10000, 10000, 10000, 5000):
        changer.insert(note)
    assert enough.wait(30)
    settlement = checkout.settle_cash()
    assert settlement.result == "paid" and settlement.receipt_printed
    assert seen == [10000, 20000, 30000, 40000, 45000]
    assert changer.taken == cart.total
    assert sum(changer.paid_out) == 45000 - cart.total == 3100  # one entry per coin or note paid out
    assert printer.wait_for_receipts(1, timeout=30)
    shutil.copy(printer.tickets[-1], artifacts / "receipt-cash.png")
    assert all_consistent(register) == []


def test_cancel_mid_deposit_gives_the_cash_back(register, devices):
    changer, _, _ = devices
    checkout = register.begin(cart_of(register, "kotei"))
    got = threading.Event()
    checkout.start_cash(lambda total: got.set() if total >= 1500 else None)
    wait_accepting(changer)
    changer.insert(1000)
    changer.insert(500)
    assert got.wait(30)
    settlement = checkout.cancel_cash()
    assert settlement.result == "cancelled" and settlement.owed == 0
    assert changer.taken == 0
    assert all_consistent(register) == []


def test_not_enough_change_gives_everything_back_before_keeping_anything(register, devices):
    changer, _, _ = devices
    for coin in (500, 100, 50, 10, 5, 1):
        changer.set_hopper(coin, 0)
    checkout = register.begin(cart_of(register, "kaigo"))  # 8,600
    got = threading.Event()
    checkout.start_cash(lambda total: got.set() if total >= 10000 else None)
    wait_accepting(changer)
    changer.insert(10000)
    assert got.wait(30)
    settlement = checkout.settle_cash()
    assert settlement.result == "cancelled" and settlement.reason == "not_enough_change"
    assert changer.taken == 0 or settlement.owed == changer.taken
    assert all_consistent(register) == []


def test_a_jam_mid_deposit_is_reported_and_the_cash_taken_is_given_back(register, devices):
    changer, _, _ = devices
    checkout = register.begin(cart_of(register, "kokuho"))
    got = threading.Event()
    checkout.start_cash(lambda total: got.set())
    wait_accepting(changer)
    changer.insert(1000)
    assert got.wait(30)
    changer.jam_acceptor()
    assert register.changer.status().device.name == "JAM"
    settlement = checkout.cancel_cash()
    assert settlement.result == "cancelled"
    assert changer.taken == settlement.owed
    assert all_consistent(register) == []


# ------------------------------------------------------------------------------------------- recovery, scanner
def test_recovery_waits_for_a_terminal_that_does_not_answer_then_settles(register, devices):
    _, terminal, _ = devices
    checkout = register.begin(cart_of(register, "kokuho"))
    register.append(checkout.tx, "sale_intent", {"key": f"{checkout.tx}-s1", "amount": checkout.total})
    terminal.disconnect()
    register.terminal.reply_timeout = 0.5
    [report] = register.recover()
    assert report.blocked and report.result == "open"
    assert register.journal.open_transactions() == [checkout.tx]  # nothing guessed: still open
    terminal.reconnect()
    register.terminal.close()
    register.terminal.open()
    [report] = register.recover()
    assert not report.blocked and report.result == "cancelled"  # the terminal never saw the key
    assert terminal.charges == [] and all_consistent(register) == []


def test_a_serial_scanner_delivers_each_code_once(tmp_path):
    from devkit.scanner import PtyScanner
    from register.scanner import SerialScanner

    got: list[str] = []
    done = threading.Event()

    def on_code(code: str) -> None:
        got.append(code)
        if len(got) == 2:
            done.set()

    with PtyScanner(str(tmp_path / "scanner")) as pty:
        scanner = SerialScanner(str(tmp_path / "scanner"), on_code).start()
        try:
            assert scanner.ready.wait(10)
            pty.scan("]C191912345012345678901234567890101033101230003")
            pty.scan("0002010102")
            assert done.wait(10)
        finally:
            scanner.stop()
    assert got == ["]C191912345012345678901234567890101033101230003", "0002010102"]
