"""What the city's congestion pages read from the hub's live picture, as a small protocol.

The stored summaries come from :class:`city_hub.store.Store` itself (KPI by month, forecast rows); the live
picture is read through :class:`HubSource` so the pages depend on two fields per office, not on how the
view (:mod:`city_hub.view`) keeps them; :func:`city_hub.web.app.view_source` adapts the view to it.
Everything here is anonymous counts: the hub never receives a ticket, a token or a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from kiosk.bus.schemas import GroupState


@dataclass(frozen=True)
class OfficeNow:
    """One office as the hub sees it now."""

    site: str
    #: the office's queue service is on the bus (its retained presence); None: the hub has not heard of it yet
    online: bool | None
    #: each counter group's retained state (waiting, open counters, estimated wait), by group id
    groups: Mapping[str, GroupState] = field(default_factory=dict)
    #: when the hub last received anything from the office (None: never)
    updated_at: datetime | None = None


class HubSource(Protocol):
    """The live picture the pages need from the hub's view."""

    def offices_now(self) -> Mapping[str, OfficeNow]:
        """Every office the hub has heard of, by site id (an office never heard of may be missing)."""
        ...
