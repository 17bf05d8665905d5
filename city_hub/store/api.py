"""The hub's store: day summaries in, days, months and hours out (PostgreSQL for a city, SQLite when small).

The ingest writes every ``SiteDaySummary`` it receives with :meth:`Store.upsert`; the web pages read with
:meth:`Store.days`, :meth:`Store.months` and :meth:`Store.hourly`. The schema is Alembic's
(:func:`city_hub.store.migrate.migrate`); the store never creates tables itself, so a database is always at a
known revision.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, event, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from city_hub.forecast import HourRow
from city_hub.kpi import MonthKpi, by_month
from city_hub.store.models import GroupDayRow, GroupHourRow, SiteDay
from city_hub.view import supersedes
from kiosk.bus.schemas import GroupDay, GroupHour, SiteDaySummary

_TOTALS = (
    "tickets",
    "finished",
    "cancelled",
    "one_stop",
    "multi_department",
    "wait_median_min",
    "wait_mean_min",
    "stay_median_min",
    "within_target_share",
    "surveys",
    "satisfaction_share",
    "payments",
    "cashless_share",
    "guide_uses",
)


class Upsert(enum.StrEnum):
    """What :meth:`Store.upsert` did with a summary."""

    INSERTED = "inserted"
    UPDATED = "updated"
    #: the stored version wins (it is final and this one is not, or it is newer): nothing written
    KEPT = "kept"


def resolve_url(url: str, base: str | Path) -> str:
    """``sqlite:///hub.sqlite`` in a city file is relative to the city file's folder: make it absolute.

    Any other URL (PostgreSQL, an absolute SQLite path, ``sqlite://`` in memory) is returned unchanged."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return url
    path = Path(parsed.database)
    if path.is_absolute():
        return url
    return parsed.set(database=str((Path(base) / path).resolve())).render_as_string(hide_password=False)


def _utc(value: dt.datetime) -> dt.datetime:
    """Times go in as UTC (SQLite keeps no zone) and come out aware."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def _sqlite_foreign_keys(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _as_dates(value: dt.date | str) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


class Store:
    """The hub's database. Thread-safe (one pooled engine, a session per call)."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, echo=echo, pool_pre_ping=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_foreign_keys)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ write
    def upsert(self, summary: SiteDaySummary) -> Upsert:
        """Store one office day: insert it, replace the stored one, or keep the stored one.

        A ``final`` summary wins over a running one whatever their times; between two of the same kind the
        later ``updated_at`` wins, and an equal one changes nothing (a retained message received again)."""
        try:
            return self._upsert(summary)
        except IntegrityError:  # another writer inserted the same day between our read and our insert
            return self._upsert(summary)

    def _upsert(self, summary: SiteDaySummary) -> Upsert:
        day = dt.date.fromisoformat(summary.date)
        values = {name: getattr(summary, name) for name in _TOTALS}
        values |= {"final": summary.final, "updated_at": _utc(summary.updated_at), "weekday": day.weekday()}
        with Session(self.engine) as session, session.begin():
            row = session.execute(
                select(SiteDay).where(SiteDay.site == summary.site, SiteDay.day == day).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                row = SiteDay(site=summary.site, day=day, **values)
                session.add(row)
                session.flush()
                outcome = Upsert.INSERTED
            elif supersedes(summary, row.final, _utc(row.updated_at)):
                for name, value in values.items():
                    setattr(row, name, value)
                session.execute(delete(GroupHourRow).where(GroupHourRow.day_id == row.id))
                session.execute(delete(GroupDayRow).where(GroupDayRow.day_id == row.id))
                outcome = Upsert.UPDATED
            else:
                return Upsert.KEPT
            groups = [
                {
                    "day_id": row.id,
                    "group_id": g.group,
                    "position": i,
                    "tickets": g.tickets,
                    "served": g.served,
                    "wait_median_min": g.wait_median_min,
                    "wait_mean_min": g.wait_mean_min,
                }
                for i, g in enumerate(summary.groups)
            ]
            hours = [
                {
                    "day_id": row.id,
                    "group_id": g.group,
                    "hour": h.hour,
                    "arrivals": h.arrivals,
                    "served": h.served,
                    "mean_wait_min": h.mean_wait_min,
                }
                for g in summary.groups
                for h in g.hours
            ]
            if groups:
                session.execute(insert(GroupDayRow), groups)
            if hours:
                session.execute(insert(GroupHourRow), hours)
        return outcome

    # ------------------------------------------------------------ read
    def day(self, site: str, day: dt.date | str) -> SiteDaySummary | None:
        """One office day as it was last stored, or None."""
        found = self.days(site, day, day)
        return found[0] if found else None

    def days(
        self, sites: str | Sequence[str] | None, since: dt.date | str, until: dt.date | str
    ) -> list[SiteDaySummary]:
        """The stored days from ``since`` through ``until`` (inclusive) of one office, several, or all (None),
        ordered by date then office, each with its groups and hours."""
        query = select(SiteDay).where(SiteDay.day >= _as_dates(since), SiteDay.day <= _as_dates(until))
        if isinstance(sites, str):
            query = query.where(SiteDay.site == sites)
        elif sites is not None:
            query = query.where(SiteDay.site.in_(list(sites)))
        with Session(self.engine) as session:
            rows = session.execute(query.order_by(SiteDay.day, SiteDay.site)).scalars().all()
            ids = [r.id for r in rows]
            groups: dict[int, list[GroupDayRow]] = {i: [] for i in ids}
            hours: dict[tuple[int, str], list[GroupHourRow]] = {}
            for chunk in _chunks(ids, 500):
                for g in session.execute(
                    select(GroupDayRow).where(GroupDayRow.day_id.in_(chunk)).order_by(GroupDayRow.position)
                ).scalars():
                    groups[g.day_id].append(g)
                for h in session.execute(
                    select(GroupHourRow).where(GroupHourRow.day_id.in_(chunk)).order_by(GroupHourRow.hour)
                ).scalars():
                    hours.setdefault((h.day_id, h.group_id), []).append(h)
            return [_summary(r, groups[r.id], hours) for r in rows]

    def months(self, sites: str | Sequence[str] | None, since: dt.date | str, until: dt.date | str) -> list[MonthKpi]:
        """KPI per office and month over the days from ``since`` through ``until`` (see :mod:`city_hub.kpi`).

        Give whole months (the 1st through the last day) for whole-month figures."""
        return by_month(self.days(sites, since, until))

    def open_days(
        self, site: str, since: dt.date | str, until: dt.date | str, weekdays: Iterable[int] | None = None
    ) -> list[dt.date]:
        """The office's days with at least one ticket (a day it was open), oldest first."""
        query = select(SiteDay.day).where(
            SiteDay.site == site,
            SiteDay.day >= _as_dates(since),
            SiteDay.day <= _as_dates(until),
            SiteDay.tickets > 0,
        )
        if weekdays is not None:
            query = query.where(SiteDay.weekday.in_(list(weekdays)))
        with Session(self.engine) as session:
            return list(session.execute(query.order_by(SiteDay.day)).scalars())

    def hourly(
        self,
        site: str,
        since: dt.date | str,
        until: dt.date | str,
        *,
        groups: Sequence[str] | None = None,
        weekdays: Iterable[int] | None = None,
    ) -> list[HourRow]:
        """The office's stored hours (optionally of some groups and weekdays), for :mod:`city_hub.forecast`."""
        query = (
            select(
                SiteDay.day,
                GroupHourRow.group_id,
                GroupHourRow.hour,
                GroupHourRow.arrivals,
                GroupHourRow.served,
                GroupHourRow.mean_wait_min,
            )
            .join(GroupHourRow, GroupHourRow.day_id == SiteDay.id)
            .where(SiteDay.site == site, SiteDay.day >= _as_dates(since), SiteDay.day <= _as_dates(until))
        )
        if weekdays is not None:
            query = query.where(SiteDay.weekday.in_(list(weekdays)))
        if groups is not None:
            query = query.where(GroupHourRow.group_id.in_(list(groups)))
        query = query.order_by(SiteDay.day, GroupHourRow.group_id, GroupHourRow.hour)
        with Session(self.engine) as session:
            return [HourRow(site, d, g, h, a, s, w) for d, g, h, a, s, w in session.execute(query)]

    def sites(self) -> list[str]:
        """Every office with at least one stored day."""
        with Session(self.engine) as session:
            return list(session.execute(select(SiteDay.site).distinct().order_by(SiteDay.site)).scalars())


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _summary(
    row: SiteDay, groups: list[GroupDayRow], hours: dict[tuple[int, str], list[GroupHourRow]]
) -> SiteDaySummary:
    return SiteDaySummary(
        site=row.site,
        date=row.day.isoformat(),
        final=row.final,
        updated_at=_utc(row.updated_at),
        **{name: getattr(row, name) for name in _TOTALS},
        groups=[
            GroupDay(
                group=g.group_id,
                tickets=g.tickets,
                served=g.served,
                wait_median_min=g.wait_median_min,
                wait_mean_min=g.wait_mean_min,
                hours=[
                    GroupHour(hour=h.hour, arrivals=h.arrivals, served=h.served, mean_wait_min=h.mean_wait_min)
                    for h in hours.get((row.id, g.group_id), [])
                ],
            )
            for g in groups
        ],
    )
