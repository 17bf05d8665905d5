"""The command journal: every command the queue service decided on, in SQLite.

The queue state is never stored as such: it is what replaying the day's accepted
commands through the engine gives. Each batch of commands is committed in ONE
transaction (WAL, ``synchronous=FULL``: on disk before anything is published), so
a service killed at any moment restarts with every ticket it ever confirmed.

The journal also keeps each command's reply, so a command re-sent with the same id
(after a timeout, or redelivered by the broker after a crash) gets the same answer
and has no second effect.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    cmd_id  TEXT NOT NULL UNIQUE,
    day     TEXT NOT NULL,
    at      TEXT NOT NULL,
    device  TEXT NOT NULL,
    verb    TEXT NOT NULL,
    args    TEXT NOT NULL,
    token   TEXT NOT NULL DEFAULT '',
    ok      INTEGER NOT NULL,
    reply   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS journal_day ON journal (day, seq);
CREATE TABLE IF NOT EXISTS service_samples (
    day       TEXT NOT NULL,
    procedure TEXT NOT NULL,
    minutes   REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_procedure ON service_samples (procedure, day);
-- Commands that made the worker fail even when handled alone: acknowledged (never redelivered) and kept
-- here by their digest, not their bytes (an unreadable payload may hold anything).
CREATE TABLE IF NOT EXISTS quarantine (
    at      TEXT NOT NULL,
    topic   TEXT NOT NULL,
    sha256  TEXT NOT NULL,
    size    INTEGER NOT NULL,
    reason  TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Entry:
    cmd_id: str
    day: str
    at: str
    device: str
    verb: str
    args: str
    token: str
    ok: bool
    reply: str


def _entry(row: tuple[Any, ...]) -> Entry:
    """An ``Entry`` from a row of ``SELECT cmd_id, day, at, device, verb, args, token, ok, reply``."""
    cmd_id, day, at, device, verb, args, token, ok, reply = row
    return Entry(cmd_id, day, at, device, verb, args, token, bool(ok), reply)


_SYNCHRONOUS = {0: "off", 1: "normal", 2: "full", 3: "extra"}


def _private(path: Path) -> None:
    """0600: the journal holds ticket tokens (they open a resident's status page) and handover notes."""
    with contextlib.suppress(FileNotFoundError):
        path.chmod(0o600)


class Journal:
    def __init__(self, path: str | Path, *, durable: bool = True) -> None:
        """``durable=False`` (synchronous=OFF) is for the simulated office day writing weeks of history
        in seconds; the service always runs durable."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        _private(self.path)
        mode = self.db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        self.db.execute(f"PRAGMA synchronous={'FULL' if durable else 'OFF'}")
        self.db.execute("PRAGMA busy_timeout=5000")
        #: What SQLite actually granted (a filesystem without shared memory refuses WAL);
        #: reported by /healthz so a technician sees it, and checked by the tests.
        self.durability = {
            "journal_mode": mode,
            "synchronous": _SYNCHRONOUS[self.db.execute("PRAGMA synchronous").fetchone()[0]],
        }
        self.db.executescript(SCHEMA)
        for suffix in ("-wal", "-shm"):  # a journal written before it was private, or under a loose umask
            _private(self.path.with_name(self.path.name + suffix))
        version = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if version is None:
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(version[0]) != SCHEMA_VERSION:
            raise RuntimeError(f"{self.path}: journal schema {version[0]}, this service knows {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    def append(self, entries: Iterable[Entry], samples: Iterable[tuple[str, str, float]] = ()) -> None:
        """Write a batch in one durable transaction (all or nothing)."""
        with self._transaction():
            self.db.executemany(
                "INSERT INTO journal (cmd_id, day, at, device, verb, args, token, ok, reply)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(e.cmd_id, e.day, e.at, e.device, e.verb, e.args, e.token, int(e.ok), e.reply) for e in entries],
            )
            self.db.executemany("INSERT INTO service_samples (day, procedure, minutes) VALUES (?, ?, ?)", samples)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def find(self, cmd_id: str) -> Entry | None:
        row = self.db.execute(
            "SELECT cmd_id, day, at, device, verb, args, token, ok, reply FROM journal WHERE cmd_id = ?", (cmd_id,)
        ).fetchone()
        return _entry(row) if row else None

    def day_entries(self, day: str) -> Iterator[Entry]:
        """The day's commands in the order they were decided."""
        cur = self.db.execute(
            "SELECT cmd_id, day, at, device, verb, args, token, ok, reply FROM journal WHERE day = ? ORDER BY seq",
            (day,),
        )
        for row in cur:
            yield _entry(row)

    def days(self) -> list[str]:
        """Every service day in the journal, oldest first (YYYY-MM-DD, site-local)."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT day FROM journal ORDER BY day")]

    def samples_before(self, day: str, per_procedure: int) -> list[tuple[str, float]]:
        """The latest ``per_procedure`` service times of each procedure before ``day``, oldest first."""
        rows = self.db.execute(
            """SELECT procedure, minutes FROM (
                   SELECT procedure, minutes, rowid AS r,
                          ROW_NUMBER() OVER (PARTITION BY procedure ORDER BY rowid DESC) AS n
                   FROM service_samples WHERE day < ?)
               WHERE n <= ? ORDER BY r""",
            (day, per_procedure),
        ).fetchall()
        return [(p, m) for p, m in rows]

    def purge_notes_before(self, day: str) -> int:
        """Staff notes are kept only for their day: strip them from older commands and replies (the handover
        note of ``complete``/``transfer``, the concierge's note of ``issue`` and the reception a panel got)."""
        with self._transaction():
            cur = self.db.execute(
                """UPDATE journal
                   SET args = json_remove(args, '$.note'),
                       reply = json_remove(reply, '$.result.ticket.note', '$.result.ticket.reception.note')
                   WHERE day < ? AND (args LIKE '%"note":"%' OR reply LIKE '%"note":{%' OR reply LIKE '%"note":"%')""",
                (day,),
            )
        return cur.rowcount

    def meta(self, key: str) -> str | None:
        """A value the service keeps beside its commands (e.g. the last day whose final city summary the broker
        took: ``city_final``), or None."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._transaction():
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def quarantine(self, at: str, topic: str, sha256: str, size: int, reason: str) -> None:
        with self._transaction():
            self.db.execute("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?)", (at, topic, sha256, size, reason[:500]))

    def quarantined(self) -> list[tuple[str, str, str, int, str]]:
        """``(at, topic, sha256, size, reason)`` of every quarantined command, oldest first."""
        return self.db.execute("SELECT at, topic, sha256, size, reason FROM quarantine ORDER BY rowid").fetchall()

    def count(self, day: str | None = None) -> int:
        if day is None:
            return self.db.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
        return self.db.execute("SELECT COUNT(*) FROM journal WHERE day = ?", (day,)).fetchone()[0]
