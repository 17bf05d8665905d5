"""The hub's store against a real PostgreSQL and SQLite: migrations, round trips, the upsert rules, queries."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, pool

from city_hub.store import Store, Upsert, current, downgrade, head, migrate, resolve_url
from city_hub.store.models import Base
from tests.city_hub.summaries import summary

TABLES = {"site_day", "group_day", "group_hour"}


def tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


@pytest.fixture
def store(db_url):
    migrate(db_url)
    with Store(db_url) as s:
        yield s


def test_migrate_an_empty_database_to_head(db_url):
    assert current(db_url) is None
    assert tables(db_url) == set()
    assert migrate(db_url) == head() == "0001"
    assert tables(db_url) == TABLES
    assert migrate(db_url) == head()  # again: nothing to do, no error


def test_the_migrations_build_exactly_the_models(db_url):
    """A model changed without a revision (or a revision that differs from the models) shows up here."""
    migrate(db_url)
    engine = create_engine(db_url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_and_upgrade_round_trip(db_url):
    migrate(db_url)
    with Store(db_url) as s:
        s.upsert(summary())
    assert downgrade(db_url, "base") is None
    assert tables(db_url) == set()
    assert migrate(db_url) == head()
    with Store(db_url) as s:
        assert s.days(None, "2000-01-01", "2100-01-01") == []  # a fresh schema: the old rows went with the tables
        assert s.upsert(summary()) is Upsert.INSERTED
        assert s.day("nerima", "2026-11-17") == summary()


def test_store_and_read_back_exactly(store):
    sent = summary(wait_mean_min=None, cashless_share=0.123456789)
    assert store.upsert(sent) is Upsert.INSERTED
    back = store.day("nerima", "2026-11-17")
    assert back == sent  # every total, group (in the order sent) and hour, the time as the same instant
    assert [g.group for g in back.groups] == ["jumin", "shomei"]
    assert back.updated_at.tzinfo is not None
    assert back.updated_at == dt.datetime(2026, 11, 17, 3, 0, tzinfo=dt.UTC)
    assert store.day("nerima", "2026-11-18") is None
    assert store.day("oizumi", "2026-11-17") is None


def test_a_newer_running_summary_replaces_an_older_one_and_its_groups(store):
    store.upsert(summary(at="10:00"))
    later = summary(at="10:01", tickets=41, groups={"jumin": [(9, 7, 5, 12.0)]})
    assert store.upsert(later) is Upsert.UPDATED
    back = store.day("nerima", "2026-11-17")
    assert back.tickets == 41
    assert [g.group for g in back.groups] == ["jumin"]  # the group that went away is gone, not left behind
    assert store.hourly("nerima", "2026-11-17", "2026-11-17")[0].arrivals == 7
    assert len(store.hourly("nerima", "2026-11-17", "2026-11-17")) == 1


def test_an_older_or_repeated_summary_never_overwrites(store):
    store.upsert(summary(at="10:05", tickets=50))
    assert store.upsert(summary(at="10:04", tickets=49)) is Upsert.KEPT  # a late delivery of an older one
    assert store.upsert(summary(at="10:05", tickets=50)) is Upsert.KEPT  # the retained one again
    assert store.day("nerima", "2026-11-17").tickets == 50


def test_final_wins_over_running(store):
    store.upsert(summary(at="16:00", tickets=90))
    # the final one, even stamped earlier than a running one (a clock set back), replaces it
    assert store.upsert(summary(final=True, at="15:59", tickets=95)) is Upsert.UPDATED
    # and a running one that arrives after it (queued in a bridge) never replaces it, however new
    assert store.upsert(summary(at="23:59", tickets=10)) is Upsert.KEPT
    back = store.day("nerima", "2026-11-17")
    assert (back.final, back.tickets) == (True, 95)
    # a corrected final one (later) replaces the final one
    assert store.upsert(summary(final=True, at="18:00", tickets=96)) is Upsert.UPDATED
    assert store.upsert(summary(final=True, at="17:00", tickets=1)) is Upsert.KEPT
    assert store.day("nerima", "2026-11-17").tickets == 96


def test_days_months_and_hours_queries(store):
    # three weeks of Tuesdays and Wednesdays at two offices, plus a December day
    for week in range(3):
        tue = dt.date(2026, 11, 10) + dt.timedelta(weeks=week)
        for d in (tue, tue + dt.timedelta(days=1)):
            store.upsert(summary("nerima", d.isoformat(), final=True, tickets=10 + week))
            store.upsert(summary("oizumi", d.isoformat(), final=True, tickets=0, groups={}))
    store.upsert(summary("nerima", "2026-12-01", tickets=5))

    days = store.days("nerima", "2026-11-01", "2026-11-30")
    assert [d.date for d in days] == [
        "2026-11-10",
        "2026-11-11",
        "2026-11-17",
        "2026-11-18",
        "2026-11-24",
        "2026-11-25",
    ]
    assert {d.site for d in store.days(None, "2026-11-10", "2026-11-10")} == {"nerima", "oizumi"}
    assert {d.site for d in store.days(["oizumi"], "2026-11-10", "2026-11-30")} == {"oizumi"}
    assert store.sites() == ["nerima", "oizumi"]

    months = store.months(None, "2026-11-01", "2026-12-31")
    assert [(m.month, m.site, m.days, m.tickets) for m in months] == [
        ("2026-11", "nerima", 6, 2 * (10 + 11 + 12)),
        ("2026-11", "oizumi", 6, 0),
        ("2026-12", "nerima", 1, 5),
    ]
    assert months[2].running_days == 1

    # the office was open on the days with tickets; oizumi's zero-ticket days do not count as open
    assert store.open_days("oizumi", "2026-11-01", "2026-11-30") == []
    assert store.open_days("nerima", "2026-11-01", "2026-11-30", weekdays=[1]) == [
        dt.date(2026, 11, 10),
        dt.date(2026, 11, 17),
        dt.date(2026, 11, 24),
    ]
    rows = store.hourly("nerima", "2026-11-01", "2026-11-30", groups=["jumin"], weekdays=[2])
    assert {r.day.weekday() for r in rows} == {2}
    assert {r.group for r in rows} == {"jumin"}
    assert [(r.hour, r.arrivals, r.served, r.mean_wait_min) for r in rows[:2]] == [(9, 6, 5, 12.5), (10, 4, 4, None)]
    assert len(rows) == 3 * 2


def test_sqlite_path_in_a_city_file_is_relative_to_it(tmp_path):
    assert resolve_url("sqlite:///hub.sqlite", tmp_path) == f"sqlite:///{tmp_path.resolve() / 'hub.sqlite'}"
    assert resolve_url("sqlite:////var/lib/hub.sqlite", tmp_path) == "sqlite:////var/lib/hub.sqlite"
    assert resolve_url("sqlite://", tmp_path) == "sqlite://"
    url = "postgresql+psycopg://hub:p%40ss@db.example:5432/hub"
    assert resolve_url(url, tmp_path) == url


def test_a_store_on_an_unmigrated_database_fails_loudly(db_url):
    """The store never creates tables behind Alembic's back: an unmigrated database is an error, not a guess."""
    with Store(db_url) as s, pytest.raises(Exception, match="(?i)site_day"):
        s.upsert(summary())
