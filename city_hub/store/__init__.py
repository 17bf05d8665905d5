"""The hub's database: SQLAlchemy models, Alembic migrations, and the :class:`Store` the hub reads and writes.

``Store(url)`` for PostgreSQL (``postgresql+psycopg://…``) or SQLite (``sqlite:///…``); :func:`migrate` brings
a database to the newest schema (``madoguchi city migrate``). docs/city.md, "The hub's data".
"""

from city_hub.store.api import Store, Upsert, resolve_url
from city_hub.store.migrate import current, downgrade, head, migrate

__all__ = ["Store", "Upsert", "current", "downgrade", "head", "migrate", "resolve_url"]
