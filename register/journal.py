"""The register's journal: every step of every payment, on disk BEFORE the device is asked to act.

Append-only SQLite (WAL, ``synchronous=FULL``): a row is on disk when :meth:`Journal.append`
returns, so after a crash or a power cut the register knows the last thing it decided to do,
and asks the device how far it got. The state of a transaction is never stored, only derived
by replaying its steps (:func:`register.ledger.replay`), so it cannot disagree with the steps.

Fault injection for the ``kill -9`` tests: ``MADOGUCHI_CRASH_AT`` names journal points, e.g.
``after:sale_intent`` (die right after the step is on disk, before the device acts) or
``before:sale_result`` (die after the device acted, before its result is on disk); an optional
``#n`` picks the n-th occurrence. The process kills itself with SIGKILL: no cleanup, no flush,
exactly like a power cut as far as the process is concerned.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from register.ledger import Step

SCHEMA = """
CREATE TABLE IF NOT EXISTS step (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    tx   TEXT NOT NULL,
    step TEXT NOT NULL,
    data TEXT NOT NULL,
    at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS step_tx ON step (tx, seq);
"""

CRASH_ENV = "MADOGUCHI_CRASH_AT"


class CrashPoints:
    """Parses ``MADOGUCHI_CRASH_AT`` (comma-separated ``after:step[#n]`` / ``before:step[#n]``)."""

    def __init__(self, spec: str | None) -> None:
        self.points: dict[tuple[str, str], int] = {}
        self.seen: dict[tuple[str, str], int] = {}
        for item in (spec or "").split(","):
            item = item.strip()
            if not item:
                continue
            when, _, rest = item.partition(":")
            name, _, nth = rest.partition("#")
            if when not in ("after", "before") or not name:
                raise ValueError(f"{CRASH_ENV}: cannot read {item!r} (expected after:step or before:step#n)")
            self.points[(when, name)] = int(nth or 1)

    def reach(self, when: str, step: str) -> None:
        key = (when, step)
        if key not in self.points:
            return
        self.seen[key] = self.seen.get(key, 0) + 1
        if self.seen[key] == self.points[key]:
            os.kill(os.getpid(), signal.SIGKILL)


class Journal:
    """One SQLite file per register. Thread-safe: the app's worker thread and the bus outbox share it."""

    def __init__(self, path: str | Path, *, crash: CrashPoints | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self.crash = crash if crash is not None else CrashPoints(os.environ.get(CRASH_ENV))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append(self, tx: str, step: str, data: dict[str, Any] | None = None, *, at: datetime) -> Step:
        """Write one step durably (one committed transaction) and return it."""
        self.crash.reach("before", step)
        payload = json.dumps(data or {}, ensure_ascii=False, sort_keys=True)
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO step (tx, step, data, at) VALUES (?, ?, ?, ?)", (tx, step, payload, at.isoformat())
            )
            seq = cur.lastrowid
        assert seq is not None  # sqlite3 sets it after every INSERT
        self.crash.reach("after", step)
        return Step(seq, tx, step, data or {}, at)

    def steps(self, tx: str | None = None) -> list[Step]:
        with self._lock:
            if tx is None:
                rows = self._db.execute("SELECT seq, tx, step, data, at FROM step ORDER BY seq").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT seq, tx, step, data, at FROM step WHERE tx = ? ORDER BY seq", (tx,)
                ).fetchall()
        return [Step(seq, t, s, json.loads(d), datetime.fromisoformat(a)) for seq, t, s, d, a in rows]

    def transactions(self) -> Iterator[list[Step]]:
        """Every transaction's steps, oldest transaction first."""
        by_tx: dict[str, list[Step]] = {}
        for step in self.steps():
            by_tx.setdefault(step.tx, []).append(step)
        yield from by_tx.values()

    def open_transactions(self) -> list[str]:
        """Ids of transactions with no ``closed`` step: the ones recovery must look at."""
        return self._transactions_having("SUM(step = 'closed') = 0")

    def closed_as(self, result: str) -> list[str]:
        """Ids of transactions closed as ``result`` (paid, cancelled, aborted), oldest first."""
        return self._transactions_having(f"SUM({_CLOSED_AS}) > 0", (result,))

    def unpublished(self) -> list[str]:
        """Transactions closed as paid that the queue service has not acknowledged yet (the bus outbox)."""
        return self._transactions_having(f"SUM({_CLOSED_AS}) > 0 AND SUM(step = 'published') = 0", ("paid",))

    def tickets_unsent(self) -> list[str]:
        """Paid transactions for a scanned ticket whose ``ticket_paid`` the queue service has not answered yet."""
        return self._transactions_having(
            f"SUM({_CLOSED_AS}) > 0 AND SUM(step = 'ticket') > 0 AND SUM(step = 'ticket_done') = 0", ("paid",)
        )

    def ticket_answers(self, limit: int = 50) -> list[Step]:
        """The latest ``ticket_done`` steps (how the service answered ``ticket_paid``), newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, tx, step, data, at FROM step WHERE step = 'ticket_done' ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [Step(seq, t, s, json.loads(d), datetime.fromisoformat(a)) for seq, t, s, d, a in rows]

    def paid_slip_keys(self) -> set[str]:
        """The keys of every slip (not fee) of a transaction that took the money (a ``paid`` step), whether
        or not it was closed since: the same bill scanned again is refused, today or any later day.
        Both the code's own key and the bill's (``bill_key``), so the bill's other code is refused too."""
        with self._lock:
            rows = self._db.execute(
                """SELECT json_extract(line.value, '$.key'), json_extract(line.value, '$.bill')
                   FROM step AS o, json_each(o.data, '$.slips') AS line
                   WHERE o.step = 'open' AND json_extract(line.value, '$.kind') != 'fee'
                     AND o.tx IN (SELECT tx FROM step WHERE step = 'paid')"""
            ).fetchall()
        return {key for row in rows for key in row if key}

    def transaction_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(DISTINCT tx) FROM step").fetchone()[0]

    def _transactions_having(self, condition: str, params: tuple = ()) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT tx FROM step GROUP BY tx HAVING {condition} ORDER BY MIN(seq)", params
            ).fetchall()
        return [r[0] for r in rows]


#: A ``closed`` step whose result is the bound parameter.
_CLOSED_AS = "step = 'closed' AND json_extract(data, '$.result') = ?"
