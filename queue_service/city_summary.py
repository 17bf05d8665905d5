"""One office day in anonymous figures for the city hub (``SiteDaySummary``, rev 2). Pure: a replayed day in,
a message out (no I/O, no clock: ``now`` is given).

The figures are the staff KPI pages' own (:func:`queue_service.web.kpi.compute`), so an office's day reads the
same on its KPI page and at the city hub; only the per-hour breakdown by counter group is added here. What
leaves the site is counts, shares and minutes: :class:`~kiosk.bus.schemas.SiteDaySummary` has no field that
could hold a ticket id, a token, a number, a note or an answer, and nothing here copies one into it.

The queue service does not import this module (it does not import ``queue_service.web``): the composition root
hands :func:`day_summary` to the service (``QueueService(city_summary=...)``), like its web app.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, tzinfo

from kiosk.bus.schemas import GroupDay, GroupHour, SiteDaySummary
from kiosk.config.site import Site
from queue_service.history import Day, summarise
from queue_service.web import kpi

#: Minutes travel with one decimal, shares with four: enough for the hub, and a figure that did not really
#: change does not make a new message look different.
MINUTE_DIGITS = 1
SHARE_DIGITS = 4


def _min(value: float | None) -> float | None:
    return None if value is None else round(value, MINUTE_DIGITS)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, SHARE_DIGITS)


def _hour(moment: datetime, zone: tzinfo) -> int:
    """The site-local hour (journal times carry the site's offset already; a naive one is taken as local)."""
    return (moment.astimezone(zone) if moment.tzinfo is not None else moment).hour


def group_hours(day: Day, group: str, zone: tzinfo) -> list[GroupHour]:
    """One group's day by local hour: arrivals (tickets with a step at the group, at the hour they were issued:
    the same tickets as the KPI page's group count), calls at the group and their mean wait (the hour of the
    call). Hours without an arrival or a call are left out: the hub reads a missing hour as zero."""
    arrivals: dict[int, int] = defaultdict(int)
    waits: dict[int, list[float]] = defaultdict(list)
    for visit in day.visits.values():
        if group in visit.groups:
            arrivals[_hour(visit.issued_at, zone)] += 1
    for service in day.services():
        if service.group == group:
            waits[_hour(service.called_at, zone)].append(service.wait_min)
    return [
        GroupHour(
            hour=h,
            arrivals=arrivals.get(h, 0),
            served=len(waits.get(h, [])),
            mean_wait_min=_min(summarise(waits.get(h, [])).mean),
        )
        for h in sorted(set(arrivals) | set(waits))
    ]


def day_summary(site: Site, day: Day, date: str, final: bool, now: datetime) -> SiteDaySummary:
    """The city's view of one service day (``day`` from :func:`queue_service.history.read_day` of ``date``'s
    journal). ``final``: the day is over and this is its last word; ``now``: when it was made."""
    k = kpi.compute(date, day, site)
    groups = [
        GroupDay(
            group=g.group,
            tickets=g.tickets,
            served=g.calls,
            wait_median_min=_min(g.wait.median),
            wait_mean_min=_min(g.wait.mean),
            hours=group_hours(day, g.group, site.zone),
        )
        for g in k.groups
    ]
    return SiteDaySummary(
        site=site.site.id,
        date=date,
        final=final,
        updated_at=now,
        tickets=k.tickets,
        finished=k.finished,
        cancelled=k.cancelled,
        one_stop=k.reception.one_stop.tickets,
        multi_department=k.multi_department,
        wait_median_min=_min(k.wait.median),
        wait_mean_min=_min(k.wait.mean),
        stay_median_min=_min(k.stay.median),
        within_target_share=_share(k.within_target_share),
        surveys=k.survey.answers,
        satisfaction_share=_share(k.survey.satisfied_share),
        payments=k.register.payments,
        cashless_share=_share(k.register.cashless_share),
        guide_uses=k.guide.visits,
        groups=groups,
    )
