"""Where the queue worker's time goes, for /healthz and the benchmarks: the last batches and state passes.

A call reaches the board after the batch that holds it is handled (validation, the engine, the journal's
commit) and published; the group topics follow in a state pass. Both are kept here as recent samples, so a
technician (or bench/call_path.py) can tell a slow disk (the journal) from a long queue (the state pass).
"""

from __future__ import annotations

import statistics
import threading
from collections import deque
from collections.abc import Iterable

#: Samples kept: a busy morning's last few minutes.
KEPT = 2000


class Timings:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # written by the worker, read by the HTTP thread
        self._batches: deque[tuple[int, float, float]] = deque(maxlen=KEPT)
        self._states: deque[float] = deque(maxlen=KEPT)

    def batch(self, commands: int, seconds: float, journal_seconds: float) -> None:
        """A batch of ``commands`` handled and its urgent part published in ``seconds``, ``journal_seconds`` of
        them committing the journal."""
        with self._lock:
            self._batches.append((commands, seconds, journal_seconds))

    def state(self, seconds: float) -> None:
        with self._lock:
            self._states.append(seconds)

    def summary(self) -> dict[str, float | int | None]:
        """Counts and milliseconds (p50, p99) over the samples kept."""
        with self._lock:
            batches, states = list(self._batches), list(self._states)
        return {
            "batches": len(batches),
            "commands_per_batch": round(statistics.fmean(b[0] for b in batches), 2) if batches else None,
            "batch_p50_ms": _ms((b[1] for b in batches), 0.5),
            "batch_p99_ms": _ms((b[1] for b in batches), 0.99),
            "journal_p50_ms": _ms((b[2] for b in batches), 0.5),
            "journal_p99_ms": _ms((b[2] for b in batches), 0.99),
            "state_passes": len(states),
            "state_p50_ms": _ms(states, 0.5),
            "state_p99_ms": _ms(states, 0.99),
        }


def _ms(values: Iterable[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)
