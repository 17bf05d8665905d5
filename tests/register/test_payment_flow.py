"""The register's payment flow without Kivy (register/app/payment.py), driving the real register on the dev kit's
changer and terminal simulators: what a resident would see, screen by screen, recorded by a view."""

from __future__ import annotations

import queue

import pytest

from register.app.payment import CASH_BROKEN, PaymentFlow
from tests.register.test_register_flow import all_consistent, artifacts, cart_of, devices, register  # noqa: F401


class Screens:
    """The PaymentView of a test: everything shown, in order."""

    def __init__(self) -> None:
        self.shown: list[tuple] = []

    def show_cash(self, total, inserted, state):
        self.shown.append(("cash", total, inserted, state))

    def show_cashless(self, total, state):
        self.shown.append(("cashless", total, state))

    def back_to_cart(self, message):
        self.shown.append(("cart", message))

    def settled(self, after, settlement):
        self.shown.append(("settled", after.screen, settlement.result))

    def needs_staff(self, why, tx, amount):
        self.shown.append(("staff", why, amount))

    def device_fault(self, fault):
        self.shown.append(("fault", fault))


class MainThread:
    """Stands in for Kivy's thread: device work runs at once in the caller; callbacks from the changer's thread
    wait in a queue until the test delivers them."""

    def __init__(self) -> None:
        self.pending: queue.Queue = queue.Queue()

    def run(self, work, done, failed):
        try:
            result = work()
        except Exception as exc:  # noqa: BLE001 - the flow's failed() is what is tested
            failed(exc)
        else:
            done(result)

    def on_main(self, fn, *args):
        self.pending.put((fn, args))

    def deliver(self, timeout: float = 5.0) -> None:
        fn, args = self.pending.get(timeout=timeout)
        fn(*args)


@pytest.fixture
def flow(register):  # noqa: F811 - the register fixture of test_register_flow
    screens, main = Screens(), MainThread()
    return PaymentFlow(register, screens, main.run, main.on_main), screens, main


def test_cash_until_enough_then_change_and_done(flow, register, devices):  # noqa: F811
    payment, screens, main = flow
    changer, _, _ = devices
    cart = cart_of(register, "hoiku")  # 21,000 yen
    assert payment.pay_cash(cart, "self")
    assert screens.shown[:2] == [("cash", cart.total, 0, "starting"), ("cash", cart.total, 0, "accepting")]
    assert not payment.pay_cashless(cart, "self")  # one payment at a time
    changer.insert(10000)
    main.deliver()
    assert screens.shown[-1] == ("cash", cart.total, 10000, "accepting")
    changer.insert(10000, count=2)
    while payment.checkout is not None:
        main.deliver()
    assert ("cash", cart.total, 30000, "settling") in screens.shown
    assert screens.shown[-1] == ("settled", "done", "paid")
    assert changer.taken == cart.total and sum(changer.paid_out) == 30000 - cart.total
    assert all_consistent(register) == []


def test_cashless_declined_goes_back_to_the_cart_with_the_reason(flow, register, devices):  # noqa: F811
    payment, screens, _ = flow
    _, terminal, _ = devices
    terminal.auto = ("credit", "VISA")
    terminal.decline_next("残高不足")
    cart = cart_of(register, "kokuho")
    assert payment.pay_cashless(cart, "self")
    assert screens.shown[0] == ("cashless", cart.total, "waiting")
    assert screens.shown[-1] == ("settled", "cart", "aborted")
    assert payment.checkout is None and payment.cashless == ""
    assert terminal.charges == []


def test_a_changer_that_cannot_start_is_a_fault_and_the_cart_says_so(flow, register, devices):  # noqa: F811
    payment, screens, _ = flow
    register.changer.close()  # pulled cable
    assert payment.pay_cash(cart_of(register, "kokuho"), "self")
    faults = [s for s in screens.shown if s[0] == "fault"]
    assert faults and faults[0][1].startswith("changer_")
    assert screens.shown[-1] == ("cart", CASH_BROKEN) and payment.checkout is None
    register.changer.open()
