"""The site's side of the city link: the day summaries the queue service publishes for the city hub.

``{root}/city/day/{date}`` (retained, ``SiteDaySummary``) is one office day in anonymous figures; the site's
Mosquitto bridges it out to the city broker. It is published

* while the day runs: at most once every ``every`` seconds (a minute), and only when the day's journal grew
  since the last one (a quiet office sends nothing);
* once more with ``final: true`` when the service day is over (the engine rolled over to the next day), and at
  start-up for each past journal day whose final the broker never confirmed (the service was down over
  midnight, or the broker was): the journal's ``city_final`` meta value is the last day confirmed;
* again after a reconnect and after a restart (the current day's, at once), so a broker that lost its retained
  messages has it back.

Why a thread of its own, with its own SQLite connection: the worker thread is the command path (a board's call
waits on it, issue 21). Replaying a day and computing its figures takes milliseconds to tens of milliseconds;
here it never sits between two commands, and in WAL mode this reader neither waits for the worker's writes nor
holds them up. It reads only what the journal has committed, so a summary never shows a command that was not
durable.

The figures themselves come from ``build`` (``queue_service.city_summary.day_summary``, handed over by the
composition root: this package does not import ``queue_service.web``, whose KPI module the builder uses).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

from kiosk.bus.client import Bus, BusError
from kiosk.bus.schemas import SiteDaySummary, dump
from kiosk.config.site import Site
from queue_service.history import Day, read_day
from queue_service.service.journal import Journal

log = logging.getLogger(__name__)

#: The journal's meta key holding the last day whose final summary the broker confirmed.
FINAL_KEY = "city_final"
#: At most this many past days get a late final at start-up (a journal of years, first run with a city link).
BACKFILL_DAYS = 400
#: A day's retained summary is cleared from the broker once it is this many journal days old: the hub has stored
#: it long before, and every retained message goes over the bridge again after each reconnect.
KEEP_RETAINED_DAYS = 31
#: The journal's meta key holding the last day whose retained summary was cleared.
CLEARED_KEY = "city_cleared"


class SummaryBuilder(Protocol):
    def __call__(self, site: Site, day: Day, date: str, final: bool, now: datetime) -> SiteDaySummary: ...


class CityPublisher:
    def __init__(
        self,
        site: Site,
        journal_path: Path,
        bus: Bus,
        build: SummaryBuilder,
        service_day: Callable[[], str],
        clock: Callable[[], datetime],
        every: float = 60.0,
        confirm_timeout: float = 5.0,
    ) -> None:
        """``service_day``: the engine's current day (it moves when the engine rolls over); ``clock``: the core's."""
        self.site = site
        self.bus = bus
        self.build = build
        self.service_day = service_day
        self.clock = clock
        self.every = every
        self.confirm_timeout = confirm_timeout
        self.journal = Journal(journal_path)  # its own connection (see the module's docstring)
        self.groups = {c.id: c.group for c in site.counters}
        #: the day being published while it runs, and its journal count at the last summary the broker took
        self.current: str | None = None
        self.published_count: int | None = None
        #: the figures of the last running-day summary sent (its ``updated_at`` aside): a counter opened or a
        #: refused command grows the journal, not the figures, and sends nothing
        self._figures: dict | None = None
        #: past days (oldest first) whose final summary is still to be confirmed
        self.pending: list[str] = []
        #: passes made and summaries the broker confirmed (for the tests and a technician's look)
        self.passes = 0
        self.sent = 0
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="city-summary", daemon=True)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> CityPublisher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.journal.close()

    def republish(self) -> None:
        """The broker connection came (back): send the current day's summary again at the next pass, at once."""
        self.published_count = None
        self._figures = None
        self._wake.set()

    def _run(self) -> None:
        try:
            self.catch_up()
        except Exception:
            log.exception("could not list the journal's days without a final city summary")
        while not self._stopped.is_set():
            try:
                self.step()
            except Exception:  # a broken day must not end the thread: the next pass tries again
                log.exception("the city summary pass failed; going on")
            self._wake.wait(self.every)
            self._wake.clear()

    # ------------------------------------------------------------ what to publish
    def catch_up(self) -> None:
        """At start-up: every past journal day after the last confirmed final gets its final (oldest first)."""
        done = self.journal.meta(FINAL_KEY) or ""
        today = self.service_day()
        self.pending = [d for d in self.journal.days() if done < d < today][-BACKFILL_DAYS:]
        if self.pending:
            log.info("%d past days to send the city their final summary: %s…", len(self.pending), self.pending[0])

    def step(self) -> None:
        """One pass: finals owed (the day that just ended first in line after older ones), then the running day's
        summary if its journal grew since the last one the broker took."""
        self.passes += 1
        today = self.service_day()
        if self.current is not None and self.current != today:
            if self.current not in self.pending and self.journal.count(self.current):
                self.pending.append(self.current)
            self.published_count = None
            self._figures = None
        self.current = today
        while self.pending:
            if not self.publish(self.pending[0], final=True):
                break  # the broker is away or refused: the next pass tries again, in order
            self.journal.set_meta(FINAL_KEY, max(self.pending.pop(0), self.journal.meta(FINAL_KEY) or ""))
        self.clear_old()
        count = self.journal.count(today)
        if not count or count == self.published_count:
            return
        summary = self.summary(today, final=False)
        figures = summary.model_dump(exclude={"updated_at"})
        if figures == self._figures or self.publish(today, final=False, summary=summary):
            self.published_count, self._figures = count, figures

    def clear_old(self) -> None:
        """Clear the retained summaries of journal days older than the last :data:`KEEP_RETAINED_DAYS` that already
        had their final confirmed (an empty retained message deletes it at the site and, through the bridge, at
        the city broker; the hub keeps what it stored)."""
        final = self.journal.meta(FINAL_KEY) or ""
        done = self.journal.meta(CLEARED_KEY) or ""
        days = [d for d in self.journal.days() if d <= final]
        for date in days[:-KEEP_RETAINED_DAYS] if len(days) > KEEP_RETAINED_DAYS else []:
            if date <= done:
                continue
            if not self.bus.connected.is_set():
                return
            try:
                if not self.bus.publish_confirmed(
                    self.bus.topics.city_day(date), b"", timeout=self.confirm_timeout, retain=True
                ):
                    return
            except BusError as exc:
                log.warning("could not clear the city summary of %s: %s", date, exc)
                return
            self.journal.set_meta(CLEARED_KEY, date)

    def summary(self, date: str, final: bool) -> SiteDaySummary:
        day = read_day(self.journal.day_entries(date), self.groups)
        return self.build(self.site, day, date, final, self.clock())

    def publish(self, date: str, final: bool, summary: SiteDaySummary | None = None) -> bool:
        """Publish one day's summary (``summary``, or made now), retained; True once the broker confirmed it."""
        if not self.bus.connected.is_set():
            return False
        payload = dump(summary or self.summary(date, final))
        topic = self.bus.topics.city_day(date)
        try:
            taken = self.bus.publish_confirmed(topic, payload, timeout=self.confirm_timeout, retain=True)
        except BusError as exc:
            log.warning("city summary %s not confirmed: %s", topic, exc)
            return False
        if not taken:
            log.warning("the broker refused %s: regenerate its ACL (`madoguchi broker`)", topic)
            return False
        self.sent += 1
        return True
