"""Dates as Japanese documents write them: the era calendar (和暦) and the Western form. Pure."""

from __future__ import annotations

from datetime import date

#: Japanese eras (元号) from the newest: first day, name, and the Gregorian year that is the era's year 1.
#: Meiji is counted from 1873, when Japan adopted the Gregorian calendar; earlier dates are lunar-calendar
#: dates that a Gregorian date cannot express, so they print in the Western form.
ERAS: tuple[tuple[date, str, int], ...] = (
    (date(2019, 5, 1), "令和", 2019),
    (date(1989, 1, 8), "平成", 1989),
    (date(1926, 12, 25), "昭和", 1926),
    (date(1912, 7, 30), "大正", 1912),
    (date(1873, 1, 1), "明治", 1868),
)


def wareki(day: date) -> str:
    """``day`` in the Japanese era calendar: 昭和60年4月12日; the first year of an era is 元年 (平成元年1月8日)."""
    for start, era, first_year in ERAS:
        if day >= start:
            year = day.year - first_year + 1
            return f"{era}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return western_date(day)


def western_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
