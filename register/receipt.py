"""The receipt (領収書) as a picture for the thermal printer. Pure: Pillow only.

A receipt is an official record the city hands out, so it is in Japanese (with short English
labels for residents who read no Japanese), whatever language the screen was in. Drawn with the
CJK font on the shared ticket canvas: the printer's own fonts have no kanji.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from PIL import Image

from kiosk.config.site import Site
from kiosk.printing.ticket import REPRINT_MARK, Canvas, to_thermal
from kiosk.wareki import wareki
from register.ledger import TxRecord

KIND_LABEL = {"cvs": "納付書", "elqr": "地方税統一QR", "fee": "手数料"}
MEDIA_LABEL = {
    "credit": "クレジットカード / Credit card",
    "emoney": "電子マネー / E-money",
    "qr": "コード決済 / QR code payment",
}


def yen(amount: int) -> str:
    return f"¥{amount:,}"


def method_text(paid: dict) -> str:
    if paid["method"] == "cash":
        return "現金 / Cash"
    label = MEDIA_LABEL.get(paid.get("media") or "", "キャッシュレス / Cashless")
    brand = paid.get("brand") or ""
    return f"{label} ({brand})" if brand else label


def cash_lines(paid: dict) -> list[tuple[str, int]]:
    """お預かり and お釣り, for cash only: a card or QR payment has nothing tendered and no change, and
    "お釣り ¥0" on its receipt reads as change that was not given."""
    if paid["method"] != "cash":
        return []
    return [("お預かり Tendered", paid["tendered"]), ("お釣り Change", paid["change"])]


def render_receipt(site: Site, record: TxRecord, copy: int = 1, width: int = 576) -> Image.Image:
    """The receipt of a paid transaction, mode "1", ``width`` dots wide. ``copy`` > 1 prints 再発行."""
    if record.paid is None or record.paid_at is None:
        raise ValueError(f"transaction {record.id} is not paid: no receipt")
    zone = ZoneInfo(site.site.timezone)
    payees = {p.id: p for p in (site.register.payees if site.register else ())}
    scale = min(1.0, width / 576)

    def px(size: int) -> int:
        return round(size * scale)

    c = Canvas(width)
    if copy > 1:
        c.banner(REPRINT_MARK, px(30))
        c.gap(10)
    c.text("領収書", px(48), bold=True, align="center")
    c.text("RECEIPT", px(24), align="center")
    c.gap(8)
    c.text(site.site.names.ja, px(30), bold=True, align="center")
    c.text(_when(record.paid_at, zone), px(24), align="center")
    c.rule()
    for slip in record.slips:
        payee = payees.get(slip["payee"])
        name = payee.names.ja if payee else slip["payee"]
        c.row(name, yen(slip["amount"]), px(28), bold=True)
        detail = KIND_LABEL.get(slip["kind"], slip["kind"])
        if slip.get("reference"):
            detail += f"  {slip['reference']}"
        c.text(detail, px(20), indent=px(16))
        c.gap(px(6))
    c.rule()
    paid = record.paid
    c.row("合計 Total", yen(record.total), px(34), bold=True)
    for label, amount in cash_lines(paid):
        c.row(label, yen(amount), px(26))
    c.gap(px(8))
    c.text(f"お支払い方法 Payment: {method_text(paid)}", px(24))
    if paid.get("approval_code"):
        c.text(f"承認番号 Approval: {paid['approval_code']}", px(22))
    if paid.get("slip_number"):
        c.text(f"伝票番号 Slip no.: {paid['slip_number']}", px(22))
    if record.owed:
        c.text(
            f"お渡しできなかった金額 Not paid out: {yen(record.owed)} (係員がお渡しします / staff will hand it over)",
            px(24),
            bold=True,
        )
    c.rule(dashed=True)
    c.text("上記の金額を領収しました。", px(24))
    c.text("We have received the amount above.", px(20))
    c.gap(px(6))
    c.text(f"取引番号 Transaction: {record.id}", px(20))
    return to_thermal(c.finish())


def _when(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{wareki(local.date())} {local:%H:%M}  ({local:%Y-%m-%d})"
