"""The city's KPI by month and office, from stored day summaries (pure: summaries in, rows out).

Counts are summed. Shares are weighted by what they are a share of (within-target by finished visits,
satisfaction by surveys, cashless by payments), so a month is not skewed by a quiet day. The mean wait is
weighted by finished visits; a month's *median* wait cannot be rebuilt from daily medians, so it is the median
of the days' medians (said so on the page).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from kiosk.bus.schemas import SiteDaySummary


@dataclass(frozen=True)
class MonthKpi:
    site: str
    #: "YYYY-MM"
    month: str
    days: int
    #: days still running (not ``final``): the month's figures may still grow
    running_days: int
    tickets: int
    finished: int
    cancelled: int
    one_stop: int
    multi_department: int
    surveys: int
    payments: int
    guide_uses: int
    wait_mean_min: float | None
    wait_median_min: float | None
    stay_median_min: float | None
    within_target_share: float | None
    satisfaction_share: float | None
    cashless_share: float | None


def _weighted(pairs: list[tuple[float | None, int]]) -> float | None:
    present = [(v, w) for v, w in pairs if v is not None and w > 0]
    total = sum(w for _, w in present)
    if not total:
        return None
    return round(sum(v * w for v, w in present) / total, 4)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


def by_month(summaries: Iterable[SiteDaySummary]) -> list[MonthKpi]:
    """One row per office and month, ordered by month then office."""
    groups: dict[tuple[str, str], list[SiteDaySummary]] = defaultdict(list)
    for s in summaries:
        groups[(s.date[:7], s.site)].append(s)
    out = []
    for (month, site), days in sorted(groups.items()):
        out.append(
            MonthKpi(
                site=site,
                month=month,
                days=len(days),
                running_days=sum(1 for d in days if not d.final),
                tickets=sum(d.tickets for d in days),
                finished=sum(d.finished for d in days),
                cancelled=sum(d.cancelled for d in days),
                one_stop=sum(d.one_stop for d in days),
                multi_department=sum(d.multi_department for d in days),
                surveys=sum(d.surveys for d in days),
                payments=sum(d.payments for d in days),
                guide_uses=sum(d.guide_uses for d in days),
                wait_mean_min=_weighted([(d.wait_mean_min, d.finished) for d in days]),
                wait_median_min=_median([d.wait_median_min for d in days]),
                stay_median_min=_median([d.stay_median_min for d in days]),
                within_target_share=_weighted([(d.within_target_share, d.finished) for d in days]),
                satisfaction_share=_weighted([(d.satisfaction_share, d.surveys) for d in days]),
                cashless_share=_weighted([(d.cashless_share, d.payments) for d in days]),
            )
        )
    return out
