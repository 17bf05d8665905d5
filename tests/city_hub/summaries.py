"""Day summaries for the hub's tests, built the way the queue service publishes them."""

from __future__ import annotations

import datetime as dt

from kiosk.bus.schemas import GroupDay, GroupHour, SiteDaySummary

JST = dt.timezone(dt.timedelta(hours=9))


def summary(
    site: str = "nerima",
    date: str = "2026-11-17",
    *,
    final: bool = False,
    at: str = "12:00",
    tickets: int = 40,
    groups: dict[str, list[tuple[int, int, int, float | None]]] | None = None,
    **totals,
) -> SiteDaySummary:
    """``groups``: group → [(hour, arrivals, served, mean wait)]; ``at`` is the local time it was published."""
    groups = {"jumin": [(9, 6, 5, 12.5), (10, 4, 4, None)], "shomei": [(9, 2, 2, 3.0)]} if groups is None else groups
    hh, mm = map(int, at.split(":"))
    updated = dt.datetime.fromisoformat(date).replace(hour=hh, minute=mm, tzinfo=JST)
    values = {
        "finished": 30,
        "cancelled": 2,
        "one_stop": 3,
        "multi_department": 5,
        "wait_median_min": 11.0,
        "wait_mean_min": 13.25,
        "stay_median_min": 25.5,
        "within_target_share": 0.8,
        "surveys": 10,
        "satisfaction_share": 0.9,
        "payments": 4,
        "cashless_share": 0.5,
        "guide_uses": 7,
    } | totals
    return SiteDaySummary(
        site=site,
        date=date,
        final=final,
        updated_at=updated,
        tickets=tickets,
        groups=[
            GroupDay(
                group=g,
                tickets=sum(h[1] for h in hours),
                served=sum(h[2] for h in hours),
                wait_median_min=10.0 if hours else None,
                wait_mean_min=11.5 if hours else None,
                hours=[GroupHour(hour=h, arrivals=a, served=s, mean_wait_min=w) for h, a, s, w in hours],
            )
            for g, hours in groups.items()
        ],
        **values,
    )
