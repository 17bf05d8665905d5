"""地方税統一QRコード (eL-QR): the local-tax QR code on 納付書 since April 2023.

The text is EMVCo-style numeric TLV (2-digit tag, 2-digit length; 255 digits in practice)::

    00 02 "01"                         payload format indicator
    01 02 "12"                         point of initiation (not checked)
    27 96 ┬ 00 05 "13800"              地方税共同機構 (anything else: not an eL-QR)
          └ 01 83 MPN block            the Pay-easy (MPN) OCR lines, see below
    54 11 amount, zero-padded          must equal the block's 払込金額
    62 26 賦課年度(4) 課税年度(4) 期別(2) 納期限 yyyymmdd(8) 支払期限 yyyymmdd(8)
    80 85 additional data              kept verbatim, NOT interpreted (content unknown)
    63 05 CRC-16/CCITT-FALSE over everything up to and including "6305", as 5 decimal digits

The 83-digit MPN block is the two OCR lines of the bank-standard 納付書 (上段 39 = 2 check digits
+ 37, 下段 44 = 2 check digits + 42)::

    上段: CD(2) 機構口座番号(11) 払込金額(11) 手数料負担区分(1) 機関ID 13800(5) 印紙税要否区分(1)
          税目・料金番号(3) reserved(5)
    下段: CD(2) 納付番号=案件特定キー(20) 確認番号(6) eLTAX利用領域(1) 共通納税機関コード(5)
          税務事務所コード(3) reserved(7)

Verified (docs/payment-slips.md says against what): the TLV layout and lengths, the CRC, the
block layout, and the two OCR check-digit pairs, which reproduce exactly the check digits of
two eL-QR codes published as test data. NOT verified: the meaning of tag 80 and the eL番号
(the number printed for typing) as 共通納税機関コード + 納付番号 + 確認番号 + 税目・料金番号; an
all-zero or all-nine date is read as "no date", which is an assumption.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from register.slips.model import Slip, SlipError, digits, slip_date

ELTAX_ID = "13800"
CRC_TAG = "6305"
NO_DATES = ("00000000", "99999999")


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(text: str) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, MSB first, no final XOR) of the ASCII text."""
    crc = 0xFFFF
    for byte in text.encode("ascii", errors="replace"):
        crc = ((crc << 8) & 0xFFFF) ^ _CRC_TABLE[(crc >> 8) ^ byte]
    return crc


def mpn_check_digits(line: str) -> str:
    """The two check digits that lead a 37- or 42-digit MPN OCR line (bank-standard 納付書 OCR).

    The second digit is Σ(digit × weight) mod 10 with weights 9, 8, … 2 (cycling) on the 1st, 3rd, …
    digits and 1 on the others; the first is mod 11 with weights 1 on the 1st, 3rd, … digits and 3, 4,
    … 9, 2, … (cycling) on the others, plus twice the second check digit (10 counts as 0).
    """
    if len(line) not in (37, 42):
        raise ValueError(f"an MPN OCR line has 37 or 42 digits, got {len(line)}")
    digits(line, len(line), "MPN OCR line")
    sum1 = sum2 = 0
    for i, ch in enumerate(line):
        d, k = int(ch), i // 2
        if i % 2:
            sum1 += d * (2 + (k + 1) % 8)
            sum2 += d
        else:
            sum1 += d
            sum2 += d * (9 - k % 8)
    second = sum2 % 10
    first = (sum1 + 2 * second) % 11 % 10
    return f"{first}{second}"


@dataclass(frozen=True)
class ElqrFields:
    """Every field of an eL-QR code; defaults are the values seen on real codes."""

    institution: str  # 共通納税機関コード (5)
    tax_code: str  # 税目・料金番号 (3)
    number: str  # 納付番号 = 案件特定キー (20)
    confirmation: str  # 確認番号 (6)
    amount: int
    levy_year: int  # 賦課年度
    tax_year: int  # 課税年度
    period: int  # 期別
    due: date | None  # 納期限
    deadline: date | None  # 支払期限
    office: str = "000"  # 税務事務所コード
    account: str = "0" * 11  # 機構口座番号
    fee: str = "2"  # 手数料負担区分
    stamp: str = "0"  # 印紙税要否区分
    eltax_area: str = "0"  # eLTAX利用領域
    reserved1: str = "0" * 5
    reserved2: str = "0" * 7
    extra: str | None = "0" * 85  # tag 80, verbatim; None = no tag 80

    def __post_init__(self) -> None:
        widths = {"institution": 5, "tax_code": 3, "number": 20, "confirmation": 6, "office": 3, "account": 11}
        widths |= {"fee": 1, "stamp": 1, "eltax_area": 1, "reserved1": 5, "reserved2": 7}
        for name, width in widths.items():
            digits(getattr(self, name), width, name)
        extra = self.extra or ""
        if len(extra) > 99 or (extra and not (extra.isascii() and extra.isdigit())):
            raise SlipError("malformed", "tag 80: expected up to 99 digits")
        if not 0 <= self.amount < 10**11:
            raise SlipError("malformed", f"amount out of range: {self.amount}")
        if not (1000 <= self.levy_year <= 9999 and 1000 <= self.tax_year <= 9999 and 0 <= self.period <= 99):
            raise SlipError("malformed", "years must have 4 digits and 期別 2")

    @property
    def el_number(self) -> str:
        """The eL番号 printed for typing (composition unverified, see the module docstring)."""
        return self.institution + self.number + self.confirmation + self.tax_code


def _tlv(text: str, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    i = 0
    while i < len(text):
        tag, size = text[i : i + 2], text[i + 2 : i + 4]
        if len(size) < 2 or not size.isdigit():
            raise SlipError("malformed", f"{what}: truncated TLV at {i}")
        value = text[i + 4 : i + 4 + int(size)]
        if len(value) < int(size):
            raise SlipError("malformed", f"{what}: tag {tag} runs past the end")
        if tag in out:
            raise SlipError("malformed", f"{what}: tag {tag} twice")
        out[tag] = value
        i += 4 + int(size)
    return out


def _tlv_encode(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def _date(text: str, what: str) -> date | None:
    return None if text in NO_DATES else slip_date(text, what)


def _ymd(when: date | None) -> str:
    return NO_DATES[0] if when is None else when.strftime("%Y%m%d")


def _check_tail(text: str) -> None:
    """CRC first, so any changed character is reported as ``bad_crc`` whatever it broke."""
    tail = text[-9:]
    if len(text) < 9 or tail[:4] != CRC_TAG or not tail[4:].isdigit():
        if text[-8:-4] == "6304":
            raise SlipError("unknown_format", "an EMV merchant QR code (CRC tag 6304), not an eL-QR")
        raise SlipError("malformed", "eL-QR: does not end with the CRC tag 6305 and 5 digits")
    if f"{crc16(text[:-5]):05d}" != tail[4:]:
        raise SlipError("bad_crc", "eL-QR: CRC does not match")


def decode_elqr(text: str) -> ElqrFields:
    """All fields of an eL-QR text; CRC, then structure, then the block's check digits."""
    _check_tail(text)
    digits(text, len(text), "eL-QR")
    top = _tlv(text, "eL-QR")
    if top.get("00") != "01":
        raise SlipError("malformed", "eL-QR: payload format indicator is not 01")
    account_info = _tlv(top.get("27", ""), "eL-QR tag 27")
    if account_info.get("00") != ELTAX_ID:
        raise SlipError("unknown_format", "an EMV-style QR code that is not for 地方税共同機構 (13800)")
    block = digits(account_info.get("01", ""), 83, "MPN block")
    upper, lower = block[:39], block[39:]
    for line in (upper, lower):
        if mpn_check_digits(line[2:]) != line[:2]:
            raise SlipError("bad_check_digit", "eL-QR: MPN block check digits are wrong")
    if upper[25:30] != ELTAX_ID:
        raise SlipError("malformed", "eL-QR: MPN block 機関ID is not 13800")
    amount = int(digits(top.get("54", ""), 11, "amount (tag 54)"))
    if int(upper[13:24]) != amount:
        raise SlipError("malformed", "eL-QR: amount (tag 54) differs from the MPN block's 払込金額")
    t62 = digits(top.get("62", ""), 26, "tag 62")
    return ElqrFields(
        account=upper[2:13],
        amount=amount,
        fee=upper[24],
        stamp=upper[30],
        tax_code=upper[31:34],
        reserved1=upper[34:39],
        number=lower[2:22],
        confirmation=lower[22:28],
        eltax_area=lower[28],
        institution=lower[29:34],
        office=lower[34:37],
        reserved2=lower[37:44],
        levy_year=int(t62[0:4]),
        tax_year=int(t62[4:8]),
        period=int(t62[8:10]),
        due=_date(t62[10:18], "納期限"),
        deadline=_date(t62[18:26], "支払期限"),
        extra=top.get("80"),
    )


def parse_elqr(text: str) -> Slip:
    """The slip an eL-QR text stands for (scanner prefixes already stripped)."""
    f = decode_elqr(text)
    return Slip(
        kind="elqr",
        key=f"elqr:{f.institution}:{f.number}",
        amount=f.amount,
        deadline=f.deadline,
        due=f.due,
        payee_code=f.tax_code,
        institution=f.institution,
        reference=f.el_number,
        fiscal_year=f.levy_year,
        period=f.period,
        raw=text,
        number=f.number,
    )


def encode_fields(f: ElqrFields) -> str:
    """The complete eL-QR text for these fields, check digits and CRC computed."""
    upper = f"{f.account}{f.amount:011d}{f.fee}{ELTAX_ID}{f.stamp}{f.tax_code}{f.reserved1}"
    lower = f"{f.number}{f.confirmation}{f.eltax_area}{f.institution}{f.office}{f.reserved2}"
    block = mpn_check_digits(upper) + upper + mpn_check_digits(lower) + lower
    body = (
        _tlv_encode("00", "01")
        + _tlv_encode("01", "12")
        + _tlv_encode("27", _tlv_encode("00", ELTAX_ID) + _tlv_encode("01", block))
        + _tlv_encode("54", f"{f.amount:011d}")
        + _tlv_encode("62", f"{f.levy_year:04d}{f.tax_year:04d}{f.period:02d}{_ymd(f.due)}{_ymd(f.deadline)}")
        + ("" if f.extra is None else _tlv_encode("80", f.extra))
        + CRC_TAG
    )
    return body + f"{crc16(body):05d}"


def encode_elqr(
    *,
    institution: str,
    tax_code: str,
    number: str,
    confirmation: str,
    amount: int,
    levy_year: int,
    due: date | None,
    deadline: date | None,
    tax_year: int | None = None,
    period: int = 0,
    office: str = "000",
) -> str:
    """A complete, valid eL-QR text (for tests, sample slips and the bench); 課税年度 defaults to 賦課年度."""
    return encode_fields(
        ElqrFields(
            institution=institution,
            tax_code=tax_code,
            number=number,
            confirmation=confirmation,
            amount=amount,
            levy_year=levy_year,
            tax_year=levy_year if tax_year is None else tax_year,
            period=period,
            due=due,
            deadline=deadline,
            office=office,
        )
    )
