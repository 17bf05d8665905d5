"""Schema migrations of the hub's database, with Alembic (``madoguchi city migrate`` calls :func:`migrate`).

The revisions live in ``city_hub/store/migrations/versions``; they are installed with the package, so an
appliance migrates without an ``alembic.ini``. An operator may still run Alembic by hand::

    alembic -c city_hub/store/alembic.ini -x url=postgresql+psycopg://hub@db/hub upgrade head
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that points at the packaged migrations (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # "%" is ConfigParser's interpolation character; a password may contain it
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str, revision: str = "head") -> str | None:
    """Upgrade the database at ``url`` to ``revision`` (an empty database gets every table); returns the
    revision it is at afterwards. Safe to run again: an up-to-date database is left as it is."""
    command.upgrade(alembic_config(url), revision)
    return current(url)


def downgrade(url: str, revision: str) -> str | None:
    """Go back to ``revision`` (``"base"``: drop every table of the hub). For a release that is rolled back."""
    command.downgrade(alembic_config(url), revision)
    return current(url)


def current(url: str) -> str | None:
    """The revision the database is at (None: never migrated)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str | None:
    """The newest revision this code knows."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
