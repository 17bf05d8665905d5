"""What the register needs from a cash changer, modelled on UnifiedPOS CashChanger.

The register never talks bytes to a changer: it talks to this interface, and a driver
chosen by URI in the device config implements it. The status codes keep UnifiedPOS'
numbers so a log line means the same thing to a technician who knows OPOS.

Sequence for one payment (UnifiedPOS kiosk sequence)::

    begin_deposit(on_deposit)      # accept cash; on_deposit fires per note/coin
    ... on_deposit(DepositEvent) ...
    fix_deposit() -> amount        # stop accepting; the amount is final
    end_deposit(EndDeposit.CHANGE) # keep the cash
    dispense_change(change)        # give change

Cancel: ``fix_deposit()`` then ``end_deposit(EndDeposit.REPAY)`` gives back what was put in.

Crash recovery: the register journals every :class:`DepositEvent` (with its ``event_id``)
and every dispense intent before acting. After a restart it calls :meth:`CashChanger.recover`
with the last event id it journaled; the driver reports credits the device took after that
event and the outcome of the last payout, so the register can finish or undo a payment
without guessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Protocol

#: Japanese yen denominations a changer may take or give.
COINS = (1, 5, 10, 50, 100, 500)
NOTES = (1000, 2000, 5000, 10000)


class DeviceStatus(IntEnum):
    """UnifiedPOS CHAN_STATUS_*."""

    OK = 0
    EMPTY = 11
    NEAREMPTY = 12
    JAM = 31


class FullStatus(IntEnum):
    """UnifiedPOS CHAN_STATUS_* for the cash boxes."""

    OK = 0
    FULL = 21
    NEARFULL = 22


class DepositStatus(IntEnum):
    """UnifiedPOS CHAN_STATUS_DEPOSIT_*."""

    START = 1
    END = 2
    NONE = 3
    COUNT = 4
    JAM = 5


class EndDeposit(IntEnum):
    """UnifiedPOS CHAN_DEPOSIT_*: what ``end_deposit`` does with the cash taken in."""

    CHANGE = 1
    NOCHANGE = 2
    REPAY = 3


class CashChangerError(Exception):
    """A changer operation failed. ``code`` is one of:

    ``disconnected`` (no answer on the line), ``jam`` (a note or coin stuck: staff must clear it),
    ``not_enough_change`` (raised BEFORE anything is paid out), ``busy`` (an operation out of order),
    ``protocol`` (a reply that makes no sense). ``paid`` is how much cash did come out of an
    interrupted payout (0 when nothing moved).
    """

    def __init__(self, code: str, message: str, *, paid: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.paid = paid


@dataclass(frozen=True)
class DepositEvent:
    """One note or coin accepted during a deposit.

    ``event_id`` identifies the credit on the device (e.g. ccTalk event counter plus the
    device address) so that :meth:`CashChanger.recover` can tell which credits the
    register had already journaled when it died.
    """

    denomination: int
    total: int
    event_id: str


@dataclass(frozen=True)
class ChangerStatus:
    connected: bool
    device: DeviceStatus = DeviceStatus.OK
    full: FullStatus = FullStatus.OK
    deposit: DepositStatus = DepositStatus.NONE
    #: Short machine words for the presence message and the staff screen, e.g. "jam", "near_empty:100".
    faults: tuple[str, ...] = ()


@dataclass(frozen=True)
class PayoutResult:
    """Outcome of a payout (change or repay)."""

    requested: int
    paid: int

    @property
    def complete(self) -> bool:
        return self.paid == self.requested


@dataclass(frozen=True)
class Recovery:
    """What the device says after the host restarted."""

    #: Credits taken after the last event the register journaled, in order.
    credits_since: tuple[DepositEvent, ...] = ()
    #: Was the device still accepting cash (a deposit left open by the dead host)?
    deposit_open: bool = False
    #: The last payout the device performed or was performing (None: none since power-on).
    last_payout: PayoutResult | None = None
    #: Anything the driver wants the staff screen to show.
    notes: tuple[str, ...] = field(default=())


class CashChanger(Protocol):
    def open(self) -> None:
        """Connect and check the device; raises CashChangerError("disconnected")."""

    def close(self) -> None: ...

    def status(self) -> ChangerStatus: ...

    def read_cash_counts(self) -> dict[int, int]:
        """Pieces available for change, by denomination."""

    def can_dispense(self, amount: int) -> bool:
        """True if ``amount`` can be paid out exactly from what the changer holds."""

    def begin_deposit(self, on_deposit: Callable[[DepositEvent], None]) -> None:
        """Start accepting cash. ``on_deposit`` is called from a driver thread per credit."""

    def deposit_amount(self) -> int: ...

    def fix_deposit(self) -> int:
        """Stop accepting cash; returns the final deposited amount (late credits included)."""

    def end_deposit(self, action: EndDeposit) -> PayoutResult:
        """Close the deposit. REPAY pays the deposited amount back (PayoutResult of that payout);
        CHANGE / NOCHANGE keep the cash (PayoutResult(0, 0))."""

    def dispense_change(self, amount: int) -> PayoutResult:
        """Pay out ``amount``. Raises CashChangerError("not_enough_change") before paying anything
        if it cannot be paid exactly, or ("jam", paid=k) if the payout stopped part way."""

    def recover(self, last_event_id: str | None) -> Recovery:
        """After a host restart: credits since ``last_event_id``, open deposit, last payout."""
