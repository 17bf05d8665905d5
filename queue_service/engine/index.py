"""Who is in which queue, for one moment of the queue's state.

The retained state asks, for every group, questions about every ticket ("can it be called here?"). With 300
tickets and a dozen groups that is thousands of questions per batch, most about tickets that have nothing to do
with the group. The index sorts the active tickets by the groups of their open steps once, so each group looks
only at its own. It is only valid while nothing changes (:meth:`QueueEngine.reading`).
"""

from __future__ import annotations

from collections.abc import Iterable

from queue_service.engine.model import ACTIVE, Ticket, TicketStatus


class QueueIndex:
    def __init__(self, tickets: Iterable[Ticket]) -> None:
        #: Active tickets with an open step at the group (any mode, pickups too), in issue order.
        self.at_group: dict[str, list[Ticket]] = {}
        #: Active tickets with a step still to be served at a booth, in issue order.
        self.needs_booth: list[Ticket] = []
        #: Waiting tickets seated at a booth, in issue order.
        self.seated: list[Ticket] = []
        for ticket in tickets:
            if ticket.status not in ACTIVE:
                continue
            for group in {s.group for s in ticket.steps if s.open}:
                self.at_group.setdefault(group, []).append(ticket)
            if ticket.needs_booth:
                self.needs_booth.append(ticket)
            if ticket.booth is not None and ticket.status is TicketStatus.WAITING:
                self.seated.append(ticket)

    def at(self, groups: tuple[str, ...]) -> list[Ticket]:
        """Active tickets with an open step at any of ``groups``, in issue order, each once."""
        if len(groups) == 1:
            return self.at_group.get(groups[0], [])
        found = {t.id: t for g in groups for t in self.at_group.get(g, ())}
        return sorted(found.values(), key=lambda t: t.seq)
