"""The city's day picker (pure) and the KPI by month (pure)."""

from __future__ import annotations

import datetime as dt

import pytest

from city_hub.forecast import HourRow, forecast_days, quietest, weekday_table
from city_hub.kpi import by_month
from queue_service.web.forecast import level
from tests.city_hub.summaries import summary

TODAY = dt.date(2026, 11, 18)  # a Wednesday
TUESDAYS = [dt.date(2026, 11, 17) - dt.timedelta(weeks=w) for w in range(4)][::-1]  # 10-27 … 11-17


def rows_for(day: dt.date, group: str, hours: dict[int, tuple[int, int, float | None]]) -> list[HourRow]:
    return [HourRow("nerima", day, group, h, a, s, w) for h, (a, s, w) in hours.items()]


def test_a_weekday_is_the_mean_of_its_last_days():
    rows = []
    rows += rows_for(TUESDAYS[-1], "jumin", {9: (10, 9, 20.0), 10: (4, 4, 6.0)})
    rows += rows_for(TUESDAYS[-2], "jumin", {9: (6, 6, 10.0)})  # nobody at 10: counts as 0 arrivals
    used, hours, table = weekday_table(TUESDAYS[-2:], rows, weekday=1, today=TODAY, groups=["jumin", "shomei"])
    assert used == tuple(TUESDAYS[-2:]) and hours == (9, 10)
    nine, ten = table["jumin"]
    assert (nine.hour, nine.arrivals, nine.wait_min) == (9, 8.0, 15.0)
    assert nine.waiting == round(8.0 * 15.0 / 60, 1)  # Little's law: 2.0 people waiting on average
    assert (ten.arrivals, ten.wait_min) == (2.0, 6.0)  # the day without a call counts for nothing in the wait
    assert nine.level == level(15.0) == "medium" and ten.level == "low"
    assert [(h.arrivals, h.wait_min, h.level) for h in table["shomei"]] == [(0.0, None, "unknown")] * 2


def test_a_day_with_arrivals_but_no_call_has_no_wait():
    rows = rows_for(TUESDAYS[-1], "jumin", {16: (3, 0, None)})
    _, hours, table = weekday_table(TUESDAYS[-1:], rows, 1, TODAY)
    assert hours == (16,)
    assert (table["jumin"][0].arrivals, table["jumin"][0].wait_min, table["jumin"][0].waiting) == (3.0, None, 0.0)


def test_only_the_lookback_and_the_past_count():
    old = dt.date(2026, 8, 4)  # a Tuesday 15 weeks back
    rows = rows_for(old, "jumin", {9: (100, 100, 90.0)}) + rows_for(TUESDAYS[-1], "jumin", {9: (2, 2, 4.0)})
    future = dt.date(2026, 11, 24)
    rows += rows_for(future, "jumin", {9: (50, 50, 50.0)})
    used, _, table = weekday_table([old, TUESDAYS[-1], future], rows, 1, TODAY, lookback_weeks=8)
    assert used == (TUESDAYS[-1],)
    assert table["jumin"][0].wait_min == 4.0
    used, _, _ = weekday_table(TUESDAYS, [], 1, TODAY, max_days=2)
    assert used == tuple(TUESDAYS[-2:])


def test_coming_weeks_skip_weekdays_without_history_or_closed():
    mondays = [d - dt.timedelta(days=1) for d in TUESDAYS]
    rows = [r for d in TUESDAYS for r in rows_for(d, "jumin", {9: (4, 4, 8.0)})]
    rows += [r for d in mondays for r in rows_for(d, "jumin", {9: (8, 8, 40.0)})]
    outlooks = forecast_days("nerima", TUESDAYS + mondays, rows, TODAY, weeks=2)
    assert [o.day for o in outlooks] == [
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 24),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 1),
    ]
    assert outlooks[0].group("jumin")[0].level == "high" and outlooks[1].group("jumin")[0].level == "low"
    assert outlooks[1].days_used == tuple(TUESDAYS)
    # the site file says Mondays are closed now: no Monday offered, whatever the history
    only_tue = forecast_days("nerima", TUESDAYS + mondays, rows, TODAY, weeks=2, open_weekdays=[1, 2, 3])
    assert [o.day.weekday() for o in only_tue] == [1, 1]
    # the quietest slots: the Tuesdays at 9, earliest first
    best = quietest(outlooks, "jumin", limit=3)
    assert [(d, h.hour, h.wait_min) for d, h in best] == [
        (dt.date(2026, 11, 24), 9, 8.0),
        (dt.date(2026, 12, 1), 9, 8.0),
        (dt.date(2026, 11, 23), 9, 40.0),
    ]
    assert forecast_days("nerima", [], [], TODAY) == []


def test_kpi_by_month_sums_counts_and_weights_shares():
    days = [
        summary(date="2026-11-02", final=True, finished=10, within_target_share=1.0, surveys=1, satisfaction_share=0.0),
        summary(date="2026-11-03", final=True, finished=30, within_target_share=0.5, surveys=3, satisfaction_share=1.0),
        summary(date="2026-11-04", finished=0, within_target_share=None, wait_median_min=None, surveys=0),
        summary(site="oizumi", date="2026-11-02", final=True),
        summary(date="2026-12-01", final=True),
    ]
    months = by_month(days)
    assert [(m.month, m.site) for m in months] == [("2026-11", "nerima"), ("2026-11", "oizumi"), ("2026-12", "nerima")]
    nov = months[0]
    assert (nov.days, nov.running_days, nov.tickets, nov.finished) == (3, 1, 120, 40)
    assert nov.within_target_share == pytest.approx((10 * 1.0 + 30 * 0.5) / 40)
    assert nov.satisfaction_share == pytest.approx(0.75)
    assert nov.wait_median_min == 11.0  # the median of the days' medians (the day without one left out)
    assert by_month([]) == []
