"""What the register knows about one scanned payment slip, whatever code it carried.

Both slip kinds (the convenience-store barcode and the local-tax QR code) become one
:class:`Slip`, so the cart, the refusal rules and the receipt never care which code was read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

#: "fee": keyed in by staff at the register (semi-self mode), no code behind it
SlipKind = Literal["cvs", "elqr", "fee"]
SlipErrorCode = Literal["unknown_format", "malformed", "bad_check_digit", "bad_crc"]


@dataclass(frozen=True)
class Slip:
    """One payment slip as read from its code.

    ``key`` identifies the bill itself, not this copy of it: a reissued slip of a bill that is
    already in the cart has the same key, so it is refused as a duplicate. The two codes of one
    bill have different keys; :func:`register.slips.policy.bill_key` joins them by the payee's
    ``bill_number`` rule.
    """

    kind: SlipKind
    #: identity of the bill: cvs = company code + free field; elqr = 共通納税機関コード + 納付番号
    key: str
    #: yen
    amount: int
    #: last day it may be paid (cvs 支払期限, elqr 支払期限); None = no deadline
    deadline: date | None
    #: elqr 納期限 (the legal due date; paying after it still works until ``deadline``)
    due: date | None
    #: cvs: 6-digit 請求書発行企業コード; elqr: 3-digit 税目・料金番号
    payee_code: str
    #: elqr: 5-digit 共通納税機関コード; cvs: ""
    institution: str
    #: what a person reads on the slip: cvs the free field; elqr the eL番号
    reference: str
    #: elqr 賦課年度; None for cvs
    fiscal_year: int | None
    #: elqr 期別 (0 when the code gives none); None for cvs
    period: int | None
    #: the code's text as scanned, scanner prefixes stripped
    raw: str
    #: the field a payee's ``bill_number`` rule reads: cvs the 21-digit free field; elqr the 納付番号
    number: str = ""


class SlipError(ValueError):
    """A scanned code is not a usable slip. ``code`` is for the UI; the message is for logs.

    A ``ValueError`` so the encoders can reuse the same field checks for their arguments.
    """

    def __init__(self, code: SlipErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: SlipErrorCode = code


def digits(text: str, length: int, what: str) -> str:
    """``text`` if it is exactly ``length`` ASCII digits, else a ``malformed`` error naming ``what``."""
    if len(text) != length or not (text.isascii() and text.isdigit()):
        raise SlipError("malformed", f"{what}: expected {length} digits, got {text!r}")
    return text


def slip_date(text: str, what: str) -> date:
    """A YYMMDD (20YY) or YYYYMMDD field as a date; an impossible date is ``malformed``."""
    digits(text, len(text), what)
    year = 2000 + int(text[:2]) if len(text) == 6 else int(text[:4])
    month, day = int(text[-4:-2]), int(text[-2:])
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise SlipError("malformed", f"{what}: not a date: {text!r}") from exc
