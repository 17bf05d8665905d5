"""How a call panel words a ticket's itinerary: done / here / still to come. Pure."""

from __future__ import annotations

from kiosk.bus.schemas import TicketView
from kiosk.config.site import Site
from kiosk.i18n import N_, gettext_for


def itinerary_lines(site: Site, ticket: TicketView, here_group: str, lang: str) -> list[tuple[str, str]]:
    """``(state, text)`` per step, state one of ``done``, ``here``, ``later``."""
    out = []
    for step in ticket.itinerary:
        proc = site.procedure_by_id[step.procedure].names.get(lang)
        group = site.group_by_id[step.group]
        if step.status == "done":
            state = "done"
        elif step.group == here_group:
            state = "here"
        else:
            state = "later"
        label = {"done": N_("Done"), "here": N_("Here"), "later": N_("Still to come")}[state]
        out.append((state, f"{gettext_for(lang, label)}: {proc} — {group.names.get(lang)} {group.floor}F"))
    return out
