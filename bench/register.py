"""The self register: slip parsing, and one whole payment through the real drivers (``python -m bench.register``).

Two tables:

1. **slips**: codes per second for the convenience-store barcode and the eL-QR code (scanner
   prefix stripped, kind detected, check digits / CRC verified, fields parsed), the site policy
   check against a cart of 4 slips, and one journal step written durably (the price of
   "journal first").
2. **one payment**: three slips, the resident's part taken out (the simulators answer at once),
   so what is left is what the register itself costs: journal (SQLite, FULL sync, every step
   fsynced), ccTalk over a pty (deposit, 5 notes, fix, change from 4 hoppers), or the CAT link
   over a pty (sale, approval), the receipt drawn and printed over TCP to the ESC/POS simulator
   and confirmed. Split into: scan (3 codes into the cart), pay (device steps), receipt, total.

A real changer counts a note in ~1–2 s and a hopper pays ~5 coins/s; a real terminal waits for
the resident. Those seconds are the hardware's, not measured here.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from devkit.cash_changer import CcTalkSimulator
from devkit.payment_terminal import CatSimulator
from devkit.printer import EscposSimulator
from devkit.slip_samples import sample_slips
from kiosk.config import load_site
from kiosk.printing.printer import TicketPrinter
from madoguchi.local import ROOT
from register.cart import Cart
from register.cash.cctalk_changer import CcTalkCashChanger
from register.cashless.driver import SerialCatTerminal
from register.checkout import Register
from register.journal import Journal
from register.receipt import render_receipt
from register.slips.policy import check_slip
from register.slips.scan import read_slip

SITE = ROOT / "sites" / "example" / "site.toml"
PAYMENT = ("kokuho", "kaigo", "hoiku")  # 41,900 yen
NOTES = (10000, 10000, 10000, 10000, 5000)  # 45,000: 3,100 change


def slips_per_second(seconds: float = 0.5) -> dict[str, float]:
    site = load_site(SITE)
    today = datetime.now(site.zone).date()
    samples = {s.id: s.data for s in sample_slips(site.register, today)}
    cart = [read_slip(samples[i]) for i in ("kokuho", "kaigo", "hoiku", "kotei")]
    extra = read_slip(samples["keijidosha"])
    cases = {
        "convenience barcode (44 digits)": lambda: read_slip("]C1" + samples["kokuho"]),
        "eL-QR (255 characters)": lambda: read_slip(samples["kotei"]),
        "site policy (cart of 4)": lambda: check_slip(extra, site.register, today, cart),
    }
    tmp = tempfile.TemporaryDirectory()
    journal = Journal(Path(tmp.name) / "payments.db")
    at = datetime.now(UTC)
    cases["journal step (SQLite WAL, FULL sync)"] = lambda: journal.append("bench", "note", {"code": "bench"}, at=at)
    rates = {}
    for name, fn in cases.items():
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for _ in range(100):
                fn()
            n += 100
        rates[name] = n / (time.perf_counter() - t0)
    journal.close()
    tmp.cleanup()
    return rates


def one_payment(method: str, runs: int) -> list[dict[str, float]]:
    site = load_site(SITE)
    today = datetime.now(site.zone).date()
    codes = {s.id: s.data for s in sample_slips(site.register, today)}
    timings = []
    with tempfile.TemporaryDirectory() as tmp, CcTalkSimulator() as sim, CatSimulator(auto=("qr", "PayPay")) as cat:
        cat.auto_delay = 0.0
        printer_sim = EscposSimulator(Path(tmp) / "receipts").start()
        changer, terminal = CcTalkCashChanger(sim.path), SerialCatTerminal(cat.path)
        changer.open()
        terminal.open()
        clock = [datetime.now(UTC)]
        register = Register(
            device="register-bench",
            journal=Journal(Path(tmp) / "payments.db"),
            changer=changer,
            terminal=terminal,
            printer=_TimedPrinter(TicketPrinter(f"tcp://127.0.0.1:{printer_sim.port}")),
            render_receipt=lambda record, copy: render_receipt(site, record, copy),
            clock=lambda: clock[0],
            zone=site.zone,
        )
        try:
            for _ in range(runs):
                clock[0] += timedelta(seconds=1)
                t0 = time.perf_counter()
                cart = Cart(site.register, today)
                for slip in PAYMENT:
                    cart.scan(codes[slip])
                t1 = time.perf_counter()
                checkout = register.begin(cart)
                register.printer.elapsed = 0.0
                settlement = _pay_cash(checkout, sim) if method == "cash" else checkout.pay_cashless()
                t2 = time.perf_counter()
                assert settlement.result == "paid" and settlement.receipt_printed, settlement
                receipt = register.printer.elapsed
                steps = len(register.journal.steps(checkout.tx))
                timings.append(
                    {"scan": t1 - t0, "pay": t2 - t1 - receipt, "receipt": receipt, "total": t2 - t0, "steps": steps}
                )
        finally:
            changer.close()
            terminal.close()
            printer_sim.stop()
    return timings


class _TimedPrinter:
    """Measures the receipt job (render + print + confirm) inside the payment."""

    def __init__(self, printer: TicketPrinter) -> None:
        self.printer = printer
        self.elapsed = 0.0

    def print_image(self, image) -> None:
        t0 = time.perf_counter()
        self.printer.print_image(image)
        self.elapsed += time.perf_counter() - t0


def _pay_cash(checkout, sim: CcTalkSimulator):
    enough = threading.Event()
    checkout.start_cash(lambda total: enough.set() if total >= checkout.total else None)
    sim.wait_accepting(5)
    for note in NOTES:
        sim.insert(note)
    if not enough.wait(30):
        raise RuntimeError("the simulated resident's cash never arrived")
    return checkout.settle_cash()


def table(rates: dict[str, float], payments: dict[str, list[dict]]) -> str:
    lines = ["| operation | per second |", "|---|---|"]
    lines += [f"| {name} | {rate:,.0f} |" for name, rate in rates.items()]
    lines += [
        "",
        "| payment (3 slips) | runs | journal steps | scan ms | pay ms (p50) | receipt print ms | total ms (p50) "
        "| total ms (max) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, runs in payments.items():
        med = {k: statistics.median(r[k] for r in runs) * 1000 for k in ("scan", "pay", "receipt", "total")}
        worst = max(r["total"] for r in runs) * 1000
        lines.append(
            f"| {method} | {len(runs)} | {runs[0]['steps']} | {med['scan']:.1f} | {med['pay']:.0f} | "
            f"{med['receipt']:.0f} | {med['total']:.0f} | {worst:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    rates = slips_per_second()
    payments = {m: one_payment(m, args.runs) for m in ("cash", "cashless")}
    print(table(rates, payments))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
