"""Live updates of a ticket's page: who is listening, and how many streams may be open at once."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable


class StreamLimits:
    """Caps on open live-update streams: per ticket (a family's phones), per client address and in total.
    ~1,011 streams on one ticket once took every file descriptor of the service."""

    def __init__(self, per_ticket: int = 8, per_address: int = 64, total: int = 500) -> None:
        self.per_ticket, self.per_address, self.total = per_ticket, per_address, total
        self._lock = threading.Lock()
        self._tickets: Counter[str] = Counter()
        self._addresses: Counter[str] = Counter()
        self._open = 0

    def open(self, token: str, address: str) -> Callable[[], None] | None:
        """A release function for a new stream, or None when a cap is reached (the caller answers 429)."""
        with self._lock:
            if (
                self._open >= self.total
                or self._tickets[token] >= self.per_ticket
                or self._addresses[address] >= self.per_address
            ):
                return None
            self._open += 1
            self._tickets[token] += 1
            self._addresses[address] += 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                self._open -= 1
                for counts, key in ((self._tickets, token), (self._addresses, address)):
                    counts[key] -= 1
                    if counts[key] <= 0:
                        del counts[key]

        return release

    def __len__(self) -> int:
        with self._lock:
            return self._open


class LiveHub:
    """Wakes every open event stream when the queue changed. ``notify`` runs on the service's worker thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop is closed: the stream is gone
                self.unsubscribe((loop, event))

    def subscribe(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(waiter)
        return waiter

    def unsubscribe(self, waiter: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters.discard(waiter)

    def __len__(self) -> int:
        with self._lock:
            return len(self._waiters)
