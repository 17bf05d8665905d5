"""The hub's tables (SQLAlchemy 2 declarative models).

Three tables, one office day at a time:

- ``site_day``: one row per office and date, the day's totals as columns (what the KPI pages sum by month);
  ``weekday`` is stored so the forecast selects "the last Tuesdays" with an index, not a date function that
  differs between PostgreSQL and SQLite;
- ``group_day``: the day of each counter group of that office;
- ``group_hour``: each group's hours (arrivals, calls, mean wait): what the forecast averages by weekday × hour.

Children are replaced whole when a newer summary of the same day arrives (see :mod:`city_hub.store.api`).
Changing a table means a new Alembic revision under ``migrations/versions``: the models and the migrations must
agree (a test compares them).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names fixed by convention, so a migration can name what it alters on both PostgreSQL and SQLite.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SiteDay(Base):
    """One office day (``SiteDaySummary`` without its groups)."""

    __tablename__ = "site_day"
    __table_args__ = (
        UniqueConstraint("site", "day"),
        Index("ix_site_day_site_weekday_day", "site", "weekday", "day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(64))
    day: Mapped[dt.date] = mapped_column(Date)
    #: Monday 0 … Sunday 6 (``date.weekday()``), derived from ``day``
    weekday: Mapped[int] = mapped_column(SmallInteger)
    final: Mapped[bool] = mapped_column(Boolean)
    #: when the office published this version (UTC); an older one never replaces a newer one
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    tickets: Mapped[int] = mapped_column(Integer)
    finished: Mapped[int] = mapped_column(Integer)
    cancelled: Mapped[int] = mapped_column(Integer)
    one_stop: Mapped[int] = mapped_column(Integer)
    multi_department: Mapped[int] = mapped_column(Integer)
    wait_median_min: Mapped[float | None] = mapped_column(Float)
    wait_mean_min: Mapped[float | None] = mapped_column(Float)
    stay_median_min: Mapped[float | None] = mapped_column(Float)
    within_target_share: Mapped[float | None] = mapped_column(Float)
    surveys: Mapped[int] = mapped_column(Integer)
    satisfaction_share: Mapped[float | None] = mapped_column(Float)
    payments: Mapped[int] = mapped_column(Integer)
    cashless_share: Mapped[float | None] = mapped_column(Float)
    guide_uses: Mapped[int] = mapped_column(Integer)


class GroupDayRow(Base):
    """One counter group's day at one office."""

    __tablename__ = "group_day"

    day_id: Mapped[int] = mapped_column(ForeignKey("site_day.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the group's place in the published list, so a summary reads back exactly as it came
    position: Mapped[int] = mapped_column(SmallInteger)
    tickets: Mapped[int] = mapped_column(Integer)
    served: Mapped[int] = mapped_column(Integer)
    wait_median_min: Mapped[float | None] = mapped_column(Float)
    wait_mean_min: Mapped[float | None] = mapped_column(Float)


class GroupHourRow(Base):
    """One hour (site-local) of one group's day: the forecast's raw material."""

    __tablename__ = "group_hour"

    day_id: Mapped[int] = mapped_column(ForeignKey("site_day.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    arrivals: Mapped[int] = mapped_column(Integer)
    served: Mapped[int] = mapped_column(Integer)
    mean_wait_min: Mapped[float | None] = mapped_column(Float)
