"""One payment at the self register, without Kivy: the cash and cashless flows as a state machine over
:class:`~register.checkout.Checkout`, showing itself through a :class:`PaymentView` the app implements.

Device calls block (a changer accepting notes, a terminal waiting for a card), so they run through a
``Runner``: ``run(work, done, failed)`` calls ``work()`` on the register's device thread and ``done(result)``
or ``failed(exception)`` where the view may be touched (Kivy's thread in the app, the caller's in tests).
``on_main`` brings a changer's credit callback to that same place.

A payment may be for the resident's ticket (they scanned its QR code): the ``ticket`` step is journaled with the
transaction, before any device acts, so whatever happens next (a crash, a lost reply) the outbox sends
``ticket_paid`` once the transaction is paid, and never for one that was not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal, Protocol

from kiosk.i18n import N_
from register.app.flow import AfterPayment, TicketScan, after_settlement
from register.cart import Cart
from register.checkout import Checkout, CheckoutError, Register, Settlement

log = logging.getLogger(__name__)

CashState = Literal["", "starting", "accepting", "settling", "returning"]
CashlessState = Literal["", "waiting", "cancelling"]
Runner = Callable[[Callable[[], Any], Callable[[Any], None], Callable[[Exception], None]], None]

CASH_BROKEN = N_("The cash machine is not working. Please pay by card, or ask a member of staff.")
PAYMENT_FAILED = N_("The payment could not be made. Nothing was charged. Please ask a member of staff.")


class PaymentView(Protocol):
    """What a payment shows: the app puts it on its screens (tests record it)."""

    def show_cash(self, total: int, inserted: int, state: CashState) -> None: ...
    def show_cashless(self, total: int, state: CashlessState) -> None: ...
    def back_to_cart(self, message: str) -> None:
        """The payment did not happen; ``message`` is an English id ("" for none)."""

    def settled(self, after: AfterPayment, settlement: Settlement) -> None: ...
    def needs_staff(self, why: str, tx: str, amount: int) -> None: ...
    def device_fault(self, fault: str) -> None: ...


class PaymentFlow:
    """The payment in progress, if any. One at a time: a second ``pay_*`` while one runs is ignored."""

    def __init__(self, register: Register, view: PaymentView, run: Runner, on_main: Callable[..., None]) -> None:
        self.register, self.view, self.run, self.on_main = register, view, run, on_main
        self.checkout: Checkout | None = None
        self.cash: CashState = ""
        self.cashless: CashlessState = ""
        #: yen the changer has taken for this payment so far
        self.inserted = 0

    # ------------------------------------------------------------ cash
    def pay_cash(self, cart: Cart, mode: str, ticket: TicketScan | None = None) -> bool:
        """Start taking notes and coins for ``cart`` (for ``ticket``, if the resident scanned one); False when
        there is nothing to pay or a payment runs."""
        checkout = self._begin(cart, mode, ticket)
        if checkout is None:
            return False
        self._show_cash("starting", 0)

        def started(_result: object) -> None:
            if self.checkout is checkout and self.cash == "starting":
                self._show_cash("accepting", 0)

        def failed(exc: Exception) -> None:
            code = getattr(exc, "code", "error")
            log.warning("cash not accepted: %s (%r)", code, exc)
            self.view.device_fault(f"changer_{code}")
            self._end(CASH_BROKEN)

        self.run(lambda: checkout.start_cash(lambda total: self.on_main(self.credit, checkout, total)), started, failed)
        return True

    def credit(self, checkout: Checkout, total: int) -> None:
        """The changer took money: ``total`` so far. Enough → settle (change, receipt)."""
        if self.checkout is not checkout or self.cash not in ("starting", "accepting"):
            return
        if total >= checkout.total:
            self._show_cash("settling", total)
            self.run(checkout.settle_cash, self._settled, self._failed)
        else:
            self._show_cash(self.cash, total)

    def cancel_cash(self) -> None:
        """The resident cancels: what went in comes back."""
        checkout = self.checkout
        if checkout is None or self.cash != "accepting":
            return
        self._show_cash("returning", self.inserted)
        self.run(checkout.cancel_cash, self._settled, self._failed)

    # ------------------------------------------------------------ cashless
    def pay_cashless(self, cart: Cart, mode: str, ticket: TicketScan | None = None) -> bool:
        checkout = self._begin(cart, mode, ticket)
        if checkout is None:
            return False
        self._show_cashless("waiting")
        self.run(checkout.pay_cashless, self._settled, self._failed)
        return True

    def cancel_cashless(self) -> None:
        if self.checkout is None or self.cashless != "waiting":
            return
        self._show_cashless("cancelling")
        try:
            self.checkout.abort_cashless()
        except Exception as exc:  # noqa: BLE001 - the sale then ends as it ends; pay_cashless reports it
            log.warning("abort_cashless failed: %r", exc)

    # ------------------------------------------------------------ the outcome
    def _settled(self, settlement: Settlement) -> None:
        log.info("checkout %s: %s (%s)", settlement.record.id, settlement.result, settlement.reason)
        self._clear()
        self.view.settled(after_settlement(settlement), settlement)

    def _failed(self, exc: Exception) -> None:
        """A payment that raised: unknown outcome → staff; a device fault → back to the cart, unless the
        transaction was left open (recovery settles it before the next resident, with staff)."""
        tx = self.checkout.tx if self.checkout else ""
        device = "terminal" if self.cashless else "changer"
        code = exc.code if isinstance(exc, CheckoutError) else "error"
        log.warning("checkout %s failed: %s (%r)", tx, code, exc)
        self._clear()
        if code == "unknown_outcome" or not isinstance(exc, CheckoutError):
            self.view.needs_staff("unknown", tx, 0)
            return
        self.view.device_fault(f"{device}_{code}")
        record = self.register.record(tx) if tx else None
        if record is not None and record.closed is None:
            self.view.needs_staff("unknown", tx, 0)
            return
        self.view.back_to_cart(PAYMENT_FAILED)

    # ------------------------------------------------------------ helpers
    def _begin(self, cart: Cart | None, mode: str, ticket: TicketScan | None) -> Checkout | None:
        if cart is None or not cart.lines or self.checkout is not None:
            return None
        self.checkout = self.register.begin(cart, mode=mode)
        log.info("checkout %s: %d lines, %d yen", self.checkout.tx, len(cart.lines), self.checkout.total)
        if ticket is not None and ticket.attached:
            self.register.append(self.checkout.tx, "ticket", ticket.journal())
            log.info("checkout %s is for ticket %s (%s)", self.checkout.tx, ticket.number or "?", ticket.code.short)
        return self.checkout

    def _show_cash(self, state: CashState, inserted: int) -> None:
        assert self.checkout is not None
        self.cash, self.inserted = state, inserted
        self.view.show_cash(self.checkout.total, inserted, state)

    def _show_cashless(self, state: CashlessState) -> None:
        assert self.checkout is not None
        self.cashless = state
        self.view.show_cashless(self.checkout.total, state)

    def _end(self, message: str) -> None:
        self._clear()
        self.view.back_to_cart(message)

    def _clear(self) -> None:
        self.checkout, self.cash, self.cashless, self.inserted = None, "", "", 0
