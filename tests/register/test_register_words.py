"""What the register says and prints, without Kivy: dates in the screen's language (not ISO inside a sentence),
how long the done screen stays (never timed out with change in the tray), and receipts without お預かり/お釣り
lines for cashless payments."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from register.app.flow import DONE_SECONDS, done_seconds, local_date
from register.ledger import TxRecord
from register.receipt import cash_lines, render_receipt


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("ja", "2026年12月4日"),
        ("ja-easy", "2026年12月4日"),
        ("zh", "2026年12月4日"),
        ("ko", "2026년 12월 4일"),
        ("en", "4 Dec 2026"),
        ("vi", "4/12/2026"),
        ("pt", "04/12/2026"),
    ],
)
def test_a_deadline_is_written_as_the_language_writes_dates(lang, text):
    assert local_date(date(2026, 12, 4), lang) == text
    assert "2026-12-04" not in local_date(date(2026, 12, 4), lang)


def test_the_done_screen_goes_home_by_itself_only_when_there_is_no_change_to_take():
    assert done_seconds(0) == DONE_SECONDS
    assert done_seconds(1) is None and done_seconds(8200) is None


def _record(paid: dict) -> TxRecord:
    record = TxRecord(id="tx-20261204-1")
    record.slips = [{"payee": "kokuho", "amount": 1800, "kind": "cvs", "reference": "1"}]
    record.total = 1800
    record.paid = paid
    record.paid_at = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    return record


def test_a_cash_receipt_says_what_was_tendered_and_the_change_a_card_receipt_does_not(site):
    cash = {"method": "cash", "tendered": 2000, "change": 200}
    card = {"method": "cashless", "media": "credit", "brand": "VISA", "tendered": 1800, "change": 0}
    assert cash_lines(cash) == [("お預かり Tendered", 2000), ("お釣り Change", 200)]
    assert cash_lines(card) == []
    # the card receipt is shorter by those two rows (the text is drawn, so its height tells)
    with_cash = render_receipt(site, _record(cash))
    with_card = render_receipt(site, _record(card))
    assert with_card.height < with_cash.height
