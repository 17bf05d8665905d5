"""Alembic's environment for the hub's database (run by :func:`city_hub.store.migrate`, or by ``alembic``).

The URL comes from the Alembic config (``sqlalchemy.url``, set by :func:`city_hub.store.migrate.alembic_config`)
or a connection handed over in ``config.attributes["connection"]``. SQLite gets batch mode: it cannot ALTER a
column, so Alembic copies the table instead, and a later revision works on both databases unchanged.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from city_hub.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _url() -> str:
    """``-x url=...`` on Alembic's command line, else the config's ``sqlalchemy.url``."""
    return context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url") or ""


def run_offline() -> None:
    """``alembic upgrade head --sql``: print the SQL for a database administrator instead of running it."""
    url = _url()
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
