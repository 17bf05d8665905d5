"""A headless self register in its own process, so the crash tests can SIGKILL it at any journal point.

It is the real thing minus the screen: register_for() builds the Register from a device file
(journal on disk, ccTalk changer driver, CAT terminal driver, ESC/POS printer over TCP), runs
recovery, then pays the given slips the way the app would. The test process plays the resident
through the device simulators and reads this process's JSON lines on stdout::

    python -m tests.register_worker DEVICE_TOML cash|cashless|none [--if-unpaid] SLIP...

Lines: {"event": "recovered", "reports": [...]}, {"event": "deposit_open"}, {"event": "credit", "total": n},
{"event": "settled", "tx": ..., "result": ...}, {"event": "skipped"} (--if-unpaid and already paid).
``MADOGUCHI_CRASH_AT`` (see register/journal.py) makes it kill itself at a journal point.
"""

from __future__ import annotations

import json
import sys
import threading
from dataclasses import asdict

from kiosk.config.device import load_device
from kiosk.config.site import load_site
from register.cart import Cart
from register.setup import register_for


def say(event: str, **data) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


def main(argv: list[str]) -> int:
    device_file, method, *rest = argv
    if_unpaid = "--if-unpaid" in rest
    slips = [s for s in rest if s != "--if-unpaid"]
    device = load_device(device_file)
    site = load_site(device.site)
    register = register_for(device, site)
    devices = [d for d in (register.changer, register.terminal) if d is not None]
    for d in devices:
        d.open()
    try:
        return run(register, site, method, slips, if_unpaid)
    finally:
        for d in devices:
            d.close()


def run(register, site, method: str, slips: list[str], if_unpaid: bool) -> int:
    reports = register.recover()
    say("recovered", reports=[asdict(r) for r in reports])
    if method == "none":
        return 0
    if if_unpaid and register.journal.closed_as("paid"):
        say("skipped")
        return 0
    cart = Cart(site.register, register.today())
    for code in slips:
        cart.scan(code)
    checkout = register.begin(cart)
    if method == "cashless":
        settlement = checkout.pay_cashless()
    else:
        enough = threading.Event()

        def credited(total: int) -> None:
            say("credit", total=total)
            if total >= checkout.total:
                enough.set()

        checkout.start_cash(credited)
        say("deposit_open", tx=checkout.tx)
        settlement = checkout.settle_cash() if enough.wait(30) else checkout.cancel_cash()
    say("settled", tx=checkout.tx, result=settlement.result, owed=settlement.owed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
