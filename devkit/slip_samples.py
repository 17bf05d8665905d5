"""Sample payment slips for the demo, the tests and the bench, and pictures of them.

Slips are made from the site's own payees with dates relative to ``today``, so the demo never
shows a slip that expired since it was written. The deliberately bad ones say which refusal or
read error a register must give. No resident appears anywhere: a slip shows payee and amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import cycle

from barcode import Gs1_128
from barcode.writer import ImageWriter
from PIL import Image, ImageDraw

from kiosk.config.site import Payee, RegisterSettings
from kiosk.fonts import pil_font
from kiosk.qr import qr_image
from register.slips.cvs import MAX_AMOUNT, encode_cvs
from register.slips.elqr import encode_elqr
from register.slips.model import Slip
from register.slips.scan import read_slip

#: plausible amounts in yen, used in turn (10,800 is the usual 軽自動車税 for a private kei car)
AMOUNTS = (12_300, 8_600, 21_000, 39_500, 10_800)


@dataclass(frozen=True)
class SampleSlip:
    """One sample: ``data`` is the code's text; ``expect`` is None for a slip the register takes,
    else the :class:`SlipError` or :class:`SlipRefused` code it must give on an empty cart."""

    id: str
    payee_id: str | None
    data: str
    expect: str | None = None


def fiscal_year(today: date) -> int:
    """The Japanese fiscal year (April to March) that ``today`` falls in."""
    return today.year if today.month >= 4 else today.year - 1


def _cvs(company: str, prefix: str, serial: int, today: date, amount: int, deadline_days: int = 30) -> str:
    free = f"{prefix}{fiscal_year(today) % 100:02d}{serial:08d}"[:21]
    return encode_cvs(company, free, 0, today + timedelta(days=deadline_days), 0, amount)


def _elqr(payee: Payee, serial: int, today: date, amount: int, number: str = "") -> str:
    assert payee.eltax_tax_code is not None and payee.eltax_institution is not None
    year = fiscal_year(today)
    return encode_elqr(
        institution=payee.eltax_institution,
        tax_code=payee.eltax_tax_code,
        number=number or f"{year}{serial:016d}",
        confirmation=f"{(serial * 7919) % 1_000_000:06d}",
        amount=amount,
        levy_year=year,
        period=1,
        due=today + timedelta(days=14),
        deadline=today + timedelta(days=45),
    )


def _one_bill_both_codes(payee: Payee, serial: int, today: date, amount: int) -> tuple[str, str]:
    """The barcode and the eL-QR code of one bill: the payee's ``bill_number`` spans carry the same number."""
    assert payee.bill_number is not None and payee.company_code is not None
    rule = payee.bill_number
    number = f"{fiscal_year(today)}{serial:016d}"[-len(rule.cvs_free) :].zfill(len(rule.cvs_free))
    free = list(f"{payee.free_prefix}{'0' * 21}"[:21])
    free[rule.cvs_free.first - 1 : rule.cvs_free.last] = number
    elqr_number = list("0" * 20)
    elqr_number[rule.elqr_number.first - 1 : rule.elqr_number.last] = number
    barcode = encode_cvs(payee.company_code, "".join(free), 0, today + timedelta(days=45), 0, amount)
    return barcode, _elqr(payee, serial, today, amount, number="".join(elqr_number))


def sample_slips(settings: RegisterSettings, today: date) -> tuple[SampleSlip, ...]:
    """Good slips (one per payee and code kind) followed by bad ones (the other code of a bill already
    scanned, expired, not accepted, over the limit, bad check digit), as far as the site's payees allow."""
    amounts = cycle(AMOUNTS)
    good: list[SampleSlip] = []
    bad: list[SampleSlip] = []
    for serial, payee in enumerate(settings.payees, start=1):
        if payee.bill_number is not None:  # one bill, both codes: its QR code after its barcode is a duplicate
            barcode, qr = _one_bill_both_codes(payee, serial, today, next(amounts))
            good.append(SampleSlip(payee.id, payee.id, barcode))
            bad.append(SampleSlip(payee.id + "-qr", payee.id, qr, "duplicate"))
            continue
        if payee.company_code is not None:
            data = _cvs(payee.company_code, payee.free_prefix, serial, today, next(amounts))
            good.append(SampleSlip(payee.id, payee.id, data))
        if payee.eltax_tax_code is not None:
            suffix = "-qr" if payee.company_code is not None else ""
            good.append(SampleSlip(payee.id + suffix, payee.id, _elqr(payee, serial, today, next(amounts))))
    cvs_payee = next((p for p in settings.payees if p.company_code is not None), None)
    tax_payee = next((p for p in settings.payees if p.eltax_tax_code is not None), None)
    if cvs_payee is not None:
        company, prefix = cvs_payee.company_code or "", cvs_payee.free_prefix
        expired = _cvs(company, prefix, 901, today, 5_000, deadline_days=-1)
        bad.append(SampleSlip("expired", cvs_payee.id, expired, "expired"))
        stranger = _cvs(_unused_company(settings), "", 902, today, 3_000)
        bad.append(SampleSlip("not-accepted", None, stranger, "not_accepted"))
        fine = _cvs(company, prefix, 903, today, 4_500)
        broken = fine[:-1] + str((int(fine[-1]) + 1) % 10)
        bad.append(SampleSlip("bad-check-digit", cvs_payee.id, broken, "bad_check_digit"))
    over = settings.max_slip_amount + 1
    if cvs_payee is not None and over <= MAX_AMOUNT:
        over_data = _cvs(cvs_payee.company_code or "", cvs_payee.free_prefix, 904, today, over)
        bad.append(SampleSlip("over-limit", cvs_payee.id, over_data, "over_limit"))
    elif tax_payee is not None:
        bad.append(SampleSlip("over-limit", tax_payee.id, _elqr(tax_payee, 904, today, over), "over_limit"))
    return (*good, *bad)


def _unused_company(settings: RegisterSettings) -> str:
    used = {p.company_code for p in settings.payees}
    return next(code for n in range(999_999, 0, -1) if (code := f"{n:06d}") not in used)


# ------------------------------------------------------------------ pictures


_font = pil_font


def render_cvs_image(slip_digits: str, module_px: int = 2, bar_height_px: int = 110) -> Image.Image:
    """The GS1-128 symbol (Start C, FNC1, digit pairs) with the digits printed under it."""
    dpi = 254  # 0.1 mm per pixel: module widths in mm become whole pixels
    bars = Gs1_128(slip_digits, writer=ImageWriter(mode="L", dpi=dpi)).render(
        writer_options={
            "module_width": module_px / 10,
            "module_height": bar_height_px / 10,
            "quiet_zone": module_px,  # mm = 10 modules, the minimum quiet zone
            "write_text": False,
            "margin_top": 0,
            "margin_bottom": 0,
        }
    )
    font = _font(max(12, module_px * 8))
    text_h = font.size + 10
    out = Image.new("L", (bars.width, bars.height + text_h), 255)
    out.paste(bars, (0, 0))
    draw = ImageDraw.Draw(out)
    draw.text((bars.width // 2, bars.height + 4), slip_digits, font=font, fill=0, anchor="mt")
    return out


def render_elqr_image(text: str, box_px: int = 4) -> Image.Image:
    """The QR symbol (error correction M, 4-module quiet zone)."""
    return qr_image(text, box_px)


def render_slip_card(data: str, payee_name: str) -> Image.Image:
    """A small picture of the whole 納付書: payee, amount, dates, number and the code itself."""
    slip = read_slip(data)
    code = render_elqr_image(data) if slip.kind == "elqr" else render_cvs_image(data)
    lines = _card_lines(slip)
    width = max(640, code.width + 40)
    height = 110 + 30 * len(lines) + 20 + code.height + 24
    card = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(card)
    draw.rectangle((4, 4, width - 5, height - 5), outline=0, width=2)
    draw.text((24, 18), "納付書" if slip.kind == "elqr" else "払込票", font=_font(22, bold=True), fill=0)
    draw.text((24, 52), payee_name, font=_font(30, bold=True), fill=0)
    draw.text((width - 24, 52), f"¥{slip.amount:,}", font=_font(34, bold=True), fill=0, anchor="ra")
    y = 110
    for label, value in lines:
        draw.text((24, y), label, font=_font(20), fill=80)
        draw.text((170, y), value, font=_font(20), fill=0)
        y += 30
    card.paste(code, ((width - code.width) // 2, y + 20))
    return card


def _card_lines(slip: Slip) -> list[tuple[str, str]]:
    def day(d: date | None) -> str:
        return "なし" if d is None else f"{d.year}年{d.month}月{d.day}日"

    if slip.kind == "cvs":
        return [("支払期限", day(slip.deadline)), ("番号", slip.reference)]
    return [
        ("年度・期別", f"{slip.fiscal_year}年度 第{slip.period}期"),
        ("納期限", day(slip.due)),
        ("支払期限", day(slip.deadline)),
        ("eL番号", " ".join(slip.reference[i : i + 4] for i in range(0, len(slip.reference), 4))),
    ]
