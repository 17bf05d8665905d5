"""The convenience-store payment barcode (コンビニ収納用バーコード): GS1-128, AI 91, 44 digits.

Layout per GS1 Japan's 「GS1-128シンボルによる標準料金代理収納ガイドライン」 (see
docs/payment-slips.md for what was checked against which source)::

    91 | company (6) | free field (21) | reissue (1) | deadline YYMMDD (6) | stamp (1) | amount (6) | check (1)

The check digit is modulus 10 with weights 3 and 1 from the right, as in JAN; it catches every
single-digit error, which is why the register can trust a read that passes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from register.slips.model import Slip, SlipError, digits, slip_date

AI = "91"
LENGTH = 44
FREE_LENGTH = 21
NO_DEADLINE = "999999"
MAX_AMOUNT = 999_999


@dataclass(frozen=True)
class CvsFields:
    """Every field of the barcode, for tests, sample slips and logs."""

    company: str
    free: str
    reissue: int
    deadline: date | None
    stamp: int
    amount: int


def check_digit(data43: str) -> str:
    """The 44th digit for 43 data digits: rightmost ×3, then ×1, ×3, … leftwards; (10 − sum mod 10) mod 10."""
    digits(data43, LENGTH - 1, "barcode data")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(data43)))
    return str((10 - total % 10) % 10)


def decode_cvs(text: str) -> CvsFields:
    """All fields of a 44-digit barcode; the check digit is verified before any field is trusted."""
    digits(text, LENGTH, "convenience-store barcode")
    if check_digit(text[:-1]) != text[-1]:
        raise SlipError("bad_check_digit", f"convenience-store barcode: check digit {text[-1]} is wrong")
    if not text.startswith(AI):
        raise SlipError("malformed", f"convenience-store barcode: AI is {text[:2]}, not {AI}")
    deadline = None if text[30:36] == NO_DEADLINE else slip_date(text[30:36], "支払期限")
    return CvsFields(
        company=text[2:8],
        free=text[8:29],
        reissue=int(text[29]),
        deadline=deadline,
        stamp=int(text[36]),
        amount=int(text[37:43]),
    )


def parse_cvs(text: str) -> Slip:
    """The slip a 44-digit barcode stands for (scanner prefixes already stripped)."""
    f = decode_cvs(text)
    return Slip(
        kind="cvs",
        key=f"cvs:{f.company}:{f.free}",
        amount=f.amount,
        deadline=f.deadline,
        due=None,
        payee_code=f.company,
        institution="",
        reference=f.free,
        fiscal_year=None,
        period=None,
        raw=text,
        number=f.free,
    )


def encode_cvs(company: str, free: str, reissue: int, deadline: date | None, stamp: int, amount: int) -> str:
    """The 44 digits for these fields; ``free`` is padded with trailing zeros as the guideline says."""
    digits(company, 6, "company code")
    if len(free) > FREE_LENGTH:
        raise ValueError(f"free field longer than {FREE_LENGTH} digits: {free!r}")
    free = digits(free.ljust(FREE_LENGTH, "0"), FREE_LENGTH, "free field")
    if not (0 <= reissue <= 9 and 0 <= stamp <= 9):
        raise ValueError("reissue and stamp are one digit each")
    if not 0 <= amount <= MAX_AMOUNT:
        raise ValueError(f"amount must be 0…{MAX_AMOUNT} yen, got {amount}")
    if deadline is not None and not 2000 <= deadline.year <= 2099:
        raise ValueError(f"deadline must be in 2000…2099, got {deadline}")
    when = NO_DEADLINE if deadline is None else deadline.strftime("%y%m%d")
    data = f"{AI}{company}{free}{reissue}{when}{stamp}{amount:06d}"
    return data + check_digit(data)
