"""What the register needs from a cashless payment terminal, modelled on UnifiedPOS CAT.

A payment terminal in Japan takes credit cards, e-money (交通系IC, nanaco, WAON, iD,
QUICPay, ...) and QR code payments (PayPay, d払い, 楽天ペイ, au PAY, ...); the resident
picks the brand on the terminal, and the terminal reports which one was used.

Never charge twice: every request carries an idempotency ``key`` chosen by the register
(and journaled before the request is sent). A terminal that sees the same key again
answers with the first outcome instead of charging again. When a request times out the
outcome is UNKNOWN: the register must call :meth:`CashlessTerminal.check` with the same
key (now, or after a restart) and never simply retry with a new key. The same holds for a line
that broke during a request (``disconnected``): the request may have reached the terminal.

No card data leaves the driver: a :class:`CatResult` carries the brand, the approval code
and the terminal's slip number, never a card number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class PaymentMedia(StrEnum):
    """UnifiedPOS CAT PaymentMedia, reduced to what Japanese terminals report."""

    CREDIT = "credit"
    EMONEY = "emoney"
    QR = "qr"


class Outcome(StrEnum):
    APPROVED = "approved"
    DECLINED = "declined"
    #: The resident cancelled on the terminal, or the register aborted while it waited for a card.
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class CatResult:
    key: str
    outcome: Outcome
    amount: int
    media: PaymentMedia | None = None
    #: As the terminal names it, e.g. "VISA", "交通系IC", "PayPay".
    brand: str = ""
    approval_code: str = ""
    #: The terminal's own slip (伝票) number, printed on the receipt for reconciliation.
    slip_number: str = ""
    #: The decline reason as the terminal gives it (for staff; never shown raw to residents).
    reason: str = ""


class CatError(Exception):
    """``code``: ``timeout`` (outcome unknown: call check), ``disconnected``, ``busy``, ``protocol``,
    ``unknown_key`` (void/refund of a key the terminal never approved)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TerminalStatus:
    connected: bool
    busy: bool = False
    faults: tuple[str, ...] = ()


class CashlessTerminal(Protocol):
    #: Seconds check, status and abort wait for the terminal's answer (recovery and the doctor shorten it).
    reply_timeout: float

    def open(self) -> None:
        """Connect; raises CatError("disconnected")."""

    def close(self) -> None: ...

    def status(self) -> TerminalStatus: ...

    def authorize_sales(self, key: str, amount: int, timeout: float) -> CatResult:
        """Charge ``amount`` yen; waits for the resident to pay on the terminal up to ``timeout`` s.
        Raises CatError("timeout") when no outcome came in time (it may still have charged)."""

    def check(self, key: str) -> CatResult | None:
        """The outcome the terminal recorded for ``key``; None if it never received that key.
        A sale still waiting for the resident's card is reported by raising CatError("busy")."""

    def abort(self) -> None:
        """Stop waiting for a card (the resident pressed cancel). The pending sale ends CANCELLED,
        unless the card was already read, in which case it ends as it ends: call check."""

    def authorize_void(self, key: str, original_key: str, timeout: float) -> CatResult:
        """Cancel today's approved sale ``original_key`` (取消)."""

    def authorize_refund(self, key: str, original_key: str, amount: int, timeout: float) -> CatResult:
        """Refund ``amount`` of an earlier sale (返品)."""
