"""The live city view: what every office shows right now, and where a procedure is quickest.

Fed by :mod:`city_hub.ingest` from the bridged retained topics (each group's ``GroupState``, the queue service's
``Presence``, the day summaries); read by the hub's pages. Pure: no I/O and no clock (the adapter passes the
time it received a message); a lock makes it safe to feed from the MQTT thread while pages read it.

The ranking answers "where can I get procedure P fastest right now?": every office whose site file has P, in
the group that handles it there, by estimated wait (shortest first). An office that cannot say (closed now, no
counter open, no state received, or offline) has no estimate and goes to the bottom: it is listed, so the
resident still sees it exists, but never above one that is open.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from kiosk.bus.schemas import GroupState, Presence, SiteDaySummary
from kiosk.config.city import City
from kiosk.config.site import Names, Site

Change = Literal["group", "presence", "summary"]


def supersedes(new: SiteDaySummary, old_final: bool, old_updated_at: datetime) -> bool:
    """Whether ``new`` replaces a stored version of the same office day.

    A final summary (the day is over) wins over a running one whatever the clocks say; between two of the same
    kind the later ``updated_at`` wins; an equal one is the same message again and changes nothing."""
    if new.final != old_final:
        return new.final
    return new.updated_at > old_updated_at


@dataclass(frozen=True)
class GroupNow:
    group: str
    names: Names | None
    state: GroupState | None
    #: when the hub received the state (its own clock)
    received_at: datetime | None


@dataclass(frozen=True)
class OfficeNow:
    site: str
    names: Names
    lat: float | None
    lon: float | None
    #: the queue service's presence: True/False, None while nothing was received
    online: bool | None
    groups: tuple[GroupNow, ...]
    #: the newest summary of the newest day received (today's, while the day runs)
    today: SiteDaySummary | None

    @property
    def waiting(self) -> int:
        return sum(g.state.waiting for g in self.groups if g.state is not None)


@dataclass(frozen=True)
class Option:
    """One office where a procedure can be done, with its group's state now."""

    site: str
    names: Names
    group: str
    procedure: str
    online: bool | None
    waiting: int | None
    open_counters: int
    #: the group's wait estimate; None: not open now (or no news), ranked last
    est_wait_min: int | None


@dataclass
class _Office:
    groups: dict[str, tuple[GroupState, datetime]] = field(default_factory=dict)
    online: bool | None = None
    #: the office's bridge to the city broker (None: not heard): while it is down, the retained presence the
    #: city broker still holds says "online", and the figures are stale
    link: bool | None = None
    summaries: dict[str, SiteDaySummary] = field(default_factory=dict)

    @property
    def reachable(self) -> bool | None:
        """Online as far as the city can tell: the queue service says so and the bridge is not down."""
        return False if self.link is False else self.online


class CityView:
    """The offices of one city (the city file's order), what each shows now, and the day summaries."""

    def __init__(self, city: City, sites: Mapping[str, Site]) -> None:
        self.city = city
        self.sites = dict(sites)
        self.order = [s.id for s in city.sites]
        self._offices = {site_id: _Office() for site_id in self.order}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[str, Change], None]] = []

    # ------------------------------------------------------------ feeding
    def knows(self, site: str) -> bool:
        return site in self._offices

    def on_change(self, listener: Callable[[str, Change], None]) -> None:
        """Call ``listener(site, what)`` after every change (a page pushing updates, a test waiting for one)."""
        self._listeners.append(listener)

    def _changed(self, site: str, what: Change) -> None:
        for listener in list(self._listeners):
            listener(site, what)

    def apply_group(self, site: str, state: GroupState, received_at: datetime) -> bool:
        """A group's retained state arrived; False (ignored) for an office not in the city file."""
        if site not in self._offices:
            return False
        with self._lock:
            self._offices[site].groups[state.group] = (state, received_at)
        self._changed(site, "group")
        return True

    def clear_group(self, site: str, group: str) -> bool:
        """The retained state was cleared (an empty payload): the group is gone from the site."""
        if site not in self._offices:
            return False
        with self._lock:
            found = self._offices[site].groups.pop(group, None) is not None
        if found:
            self._changed(site, "group")
        return found

    def apply_link(self, site: str, up: bool) -> bool:
        """The office's bridge went up or down (its ``bridge/state``); False for an office not in the city file."""
        if site not in self._offices:
            return False
        with self._lock:
            self._offices[site].link = up
        self._changed(site, "presence")
        return True

    def apply_presence(self, site: str, presence: Presence) -> bool:
        if site not in self._offices:
            return False
        with self._lock:
            self._offices[site].online = presence.online
        self._changed(site, "presence")
        return True

    def apply_summary(self, summary: SiteDaySummary) -> bool:
        """Keep the summary if it supersedes the one held for its day (same rule as the store); True if kept."""
        office = self._offices.get(summary.site)
        if office is None:
            return False
        with self._lock:
            held = office.summaries.get(summary.date)
            if held is not None and not supersedes(summary, held.final, held.updated_at):
                return False
            office.summaries[summary.date] = summary
            for old in sorted(office.summaries)[:-7]:  # a week is plenty in memory; the store has the rest
                del office.summaries[old]
        self._changed(summary.site, "summary")
        return True

    # ------------------------------------------------------------ reading
    def office(self, site: str) -> OfficeNow:
        entry = next(s for s in self.city.sites if s.id == site)
        config = self.sites.get(site)
        with self._lock:
            office = self._offices[site]
            states = dict(office.groups)
            online = office.reachable
            today = office.summaries[max(office.summaries)] if office.summaries else None
        names_of = {g.id: g.names for g in config.groups} if config else {}
        order = list(names_of) + sorted(g for g in states if g not in names_of)
        groups = tuple(GroupNow(g, names_of.get(g), *states.get(g, (None, None))) for g in order)
        names = config.site.names if config else self.city.city.names
        return OfficeNow(site, names, entry.lat, entry.lon, online, groups, today)

    def offices(self) -> list[OfficeNow]:
        return [self.office(s) for s in self.order]

    def summaries(self, site: str) -> dict[str, SiteDaySummary]:
        """The day summaries held for an office (date → newest), at most the last seven days."""
        with self._lock:
            return dict(self._offices[site].summaries) if site in self._offices else {}

    def procedures(self) -> dict[str, Names]:
        """Every procedure any office offers (id → names, from the first office that has it), for a filter."""
        out: dict[str, Names] = {}
        for site_id in self.order:
            config = self.sites.get(site_id)
            for p in config.procedures if config else ():
                out.setdefault(p.id, p.names)
        return out

    def fastest(self, procedure: str) -> list[Option]:
        """Offices that have ``procedure``, quickest first (see the module doc). Ties: fewer waiting, then the
        city file's order; the offices without an estimate last, in the city file's order."""
        options = []
        for rank, site_id in enumerate(self.order):
            config = self.sites.get(site_id)
            proc = next((p for p in config.procedures if p.id == procedure), None) if config else None
            if proc is None or config is None:
                continue
            with self._lock:
                office = self._offices[site_id]
                held = office.groups.get(proc.group)
                online = office.reachable
            state = held[0] if held else None
            usable = state is not None and online is not False
            est = state.est_wait_min if usable and state is not None else None
            option = Option(
                site=site_id,
                names=config.site.names,
                group=proc.group,
                procedure=procedure,
                online=online,
                waiting=state.waiting if state is not None else None,
                open_counters=state.open_counters if usable and state is not None else 0,
                est_wait_min=est,
            )
            # without an estimate, the city file's order (a queue length says nothing about a closed office)
            by_wait = (False, est, option.waiting or 0) if est is not None else (True, 0, 0)
            options.append((*by_wait, rank, option))
        options.sort(key=lambda o: o[:4])
        return [o[-1] for o in options]
