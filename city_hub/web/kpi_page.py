"""The city KPI page (``/kpi``, ``/kpi.csv``): every office side by side, by month, against the city's targets.

The figures are :mod:`city_hub.kpi`'s (counts summed, shares weighted) over the stored day summaries; the
targets are the city file's ``[kpi]``. Like the offices' staff KPI pages the page is in Japanese with English
subtitles (it is read by the city's staff, not by residents); every figure is an anonymous count or share, so
the page needs no login (a city that wants one puts the hub's ``/kpi`` behind its proxy).

A share is judged against its target every month; a per-month count (guide uses, multi-department visits) only
for a finished month: a month still running has not had its chance yet. "Met" and "below" are said with a
mark and words, not by colour alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from city_hub.kpi import MonthKpi, by_month
from city_hub.store import Store
from city_hub.web import pages
from kiosk.config.city import City
from kiosk.config.site import Site
from queue_service.web.csv_out import to_csv

_MONTH = re.compile(r"\d{4}-\d{2}")
#: Months the page and the CSV cover by default, the chosen month included.
DEFAULT_MONTHS = 6


@dataclass(frozen=True)
class Metric:
    key: str
    ja: str
    en: str
    #: "share" (0-1, shown as %) or "count" (a month's total)
    kind: str
    #: the name of the city's target in ``[kpi]`` (None: shown, not judged)
    target: str | None


METRICS = (
    Metric("tickets", "来庁者数", "Visits", "count", None),
    Metric("wait_median_min", "待ち時間 中央値（分）", "Median wait (min)", "minutes", None),
    Metric("within_target_share", "目標時間内の割合", "Within stay target", "share", "within_target_share"),
    Metric("satisfaction_share", "満足度（4〜5点）", "Satisfied (4-5 stars)", "share", "satisfaction_share"),
    Metric("cashless_share", "キャッシュレス比率", "Cashless payments", "share", "cashless_share"),
    Metric("guide_uses", "オンライン案内の利用", "Online guide uses", "count", "guide_uses_per_month"),
    Metric("multi_department", "複数課の手続き", "Multi-department visits", "count", "multi_department_per_month"),
)
METRIC_BY_KEY = {m.key: m for m in METRICS}


@dataclass(frozen=True)
class Cell:
    text: str
    #: "met", "below" or "" (no target, no figure, or a count of a month still running)
    mark: str


def month_bounds(month: str) -> tuple[date, date]:
    first = date.fromisoformat(month + "-01")
    nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)


def months_back(month: str, count: int) -> list[str]:
    """``count`` months ending with ``month``, oldest first: ["2025-07", …, "2025-12"]."""
    y, m = int(month[:4]), int(month[5:7])
    out = []
    for _ in range(count):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return out[::-1]


def cell(row: MonthKpi | None, metric: Metric, targets, finished_month: bool) -> Cell:
    """One figure as text, judged against its target when it can be (module doc)."""
    value = getattr(row, metric.key) if row is not None else None
    if value is None:
        return Cell("—", "")
    if metric.kind == "share":
        text = f"{value * 100:.0f}%"
    elif metric.kind == "minutes":
        text = f"{value:.0f}"
    else:
        text = f"{value:,}"
    target = getattr(targets, metric.target) if metric.target else None
    if target is None or (metric.kind == "count" and not finished_month):
        return Cell(text, "")
    return Cell(text, "met" if value >= target else "below")


def target_text(metric: Metric, targets) -> str:
    target = getattr(targets, metric.target) if metric.target else None
    if target is None:
        return ""
    return f"{target * 100:.0f}%" if metric.kind == "share" else f"{target:,}"


def city_total(summaries) -> dict[str, MonthKpi]:
    """The whole city by month (all offices' days together: counts summed, shares weighted across offices)."""
    return {r.month: r for r in by_month(s.model_copy(update={"site": "city"}) for s in summaries)}


def make_kpi_router(city: City, sites: Mapping[str, Site], store: Store, clock: Callable[[], datetime]) -> APIRouter:
    router = APIRouter()
    zone = ZoneInfo(city.city.timezone)
    names = {s.id: sites[s.id].site.names.get("ja") for s in city.sites}

    def this_month() -> str:
        return clock().astimezone(zone).strftime("%Y-%m")

    def load(months: list[str]):
        since, until = month_bounds(months[0])[0], month_bounds(months[-1])[1]
        days = store.days(list(names), since, until)
        per_office = {(r.site, r.month): r for r in by_month(days)}
        return per_office, city_total(days)

    @router.get("/kpi", response_class=HTMLResponse, include_in_schema=False)
    def kpi_page(request: Request) -> HTMLResponse:
        current = this_month()
        asked = request.query_params.get("month") or current
        month = asked if _is_month(asked) and asked <= current else current
        metric = METRIC_BY_KEY.get(request.query_params.get("metric") or "", METRIC_BY_KEY["within_target_share"])
        months = months_back(month, DEFAULT_MONTHS)
        per_office, total = load(months)
        finished = month < current
        table = [
            (
                site_id,
                name,
                [cell(per_office.get((site_id, month)), m, city.kpi, finished) for m in METRICS],
                per_office.get((site_id, month)),
            )
            for site_id, name in names.items()
        ]
        # the city's row: shares judged like an office's; a per-month count target is per office, not judged here
        city_cells = [
            cell(total.get(month), m if m.kind == "share" else Metric(m.key, m.ja, m.en, m.kind, None), city.kpi, True)
            for m in METRICS
        ]
        trend = [
            (name, [cell(per_office.get((site_id, mo)), metric, city.kpi, mo < current) for mo in months])
            for site_id, name in names.items()
        ]
        ctx = {
            "lang": "ja",
            "show_langs": False,
            "site_name": city.city.names.get("ja"),
            "title": "市の窓口 KPI",
            "month": month,
            "current": current,
            "finished": finished,
            "months": months,
            "metrics": METRICS,
            "metric": metric,
            "targets": {m.key: target_text(m, city.kpi) for m in METRICS},
            "table": table,
            "city_cells": city_cells,
            "trend": trend,
            "prev_month": months_back(month, 2)[0],
            "next_month": _next_month(month) if month < current else None,
        }
        return pages.html(request, "city_kpi.html", ctx)

    @router.get("/kpi.csv", include_in_schema=False)
    def kpi_csv(request: Request) -> Response:
        """One row per office and month (the last 12 months), with the city's targets beside the figures."""
        current = this_month()
        months = months_back(current, 12)
        per_office, _total = load(months)
        header = (
            "month", "site", "name", "days", "running_days", "tickets", "finished", "cancelled", "one_stop",
            "multi_department", "surveys", "payments", "guide_uses", "wait_mean_min", "wait_median_min",
            "stay_median_min", "within_target_share", "satisfaction_share", "cashless_share",
            "target_within_target_share", "target_satisfaction_share", "target_cashless_share",
            "target_guide_uses_per_month", "target_multi_department_per_month",
        )  # fmt: skip
        t = city.kpi
        targets = [
            t.within_target_share, t.satisfaction_share, t.cashless_share, t.guide_uses_per_month,
            t.multi_department_per_month,
        ]  # fmt: skip
        rows = []
        for mo in months:
            for site_id, name in names.items():
                r = per_office.get((site_id, mo))
                if r is None:
                    continue
                rows.append(
                    [mo, site_id, name or ""]
                    + [_blank(getattr(r, col)) for col in header[3:19]]
                    + [_blank(v) for v in targets]
                )
        headers = dict(pages.page_headers()) | {
            "Content-Disposition": f'attachment; filename="madoguchi-city-{city.city.id}-months.csv"',
            "Cache-Control": "no-store",
        }
        return Response(to_csv(header, rows), media_type="text/csv; charset=utf-8", headers=headers)

    return router


def _blank(value: object) -> str:
    return "" if value is None else str(value)


def _is_month(value: str) -> bool:
    return bool(_MONTH.fullmatch(value)) and 1 <= int(value[5:]) <= 12


def _next_month(month: str) -> str:
    return (month_bounds(month)[1] + timedelta(days=1)).strftime("%Y-%m")
