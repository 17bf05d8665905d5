"""How a call panel words a ticket's itinerary: done / here / still to come, and where each step is. Pure."""

from __future__ import annotations

from kiosk.bus.schemas import StepView, TicketView
from kiosk.config.site import Site
from kiosk.i18n import N_, gettext_for


def itinerary_lines(site: Site, ticket: TicketView, lang: str) -> list[tuple[str, str]]:
    """``(state, text)`` per step, state one of ``done``, ``here`` (served now), ``later``."""
    out = []
    for step in ticket.itinerary:
        if step.status == "done":
            state = "done"
        elif step.status == "serving":
            state = "here"
        else:
            state = "later"
        # "Still to do", not "Still to come": its short Japanese 「未」 was cryptic; the longer words are clear
        label = {"done": N_("Done"), "here": N_("Here"), "later": N_("Still to do")}[state]
        out.append(
            (state, f"{gettext_for(lang, label)}: {_what(site, step, lang)} — {_where(site, ticket, step, lang)}")
        )
    return out


def _what(site: Site, step: StepView, lang: str) -> str:
    name = site.procedure_by_id[step.procedure].names.get(lang)
    if step.kind != "pickup":
        return name
    text = gettext_for(lang, "Pickup: {procedure}").format(procedure=name)
    if not step.ready and step.status != "done":
        text += " " + gettext_for(lang, "(being prepared)")
    return text


def _where(site: Site, ticket: TicketView, step: StepView, lang: str) -> str:
    """The counter group and floor; for one-stop steps the booth (staff come to the resident there)."""
    group = site.group_by_id[step.group]
    here = f"{group.names.get(lang)} {group.floor}F"
    if step.mode == "register":
        return gettext_for(lang, "Self register")
    if step.mode in ("booth", "front") and ticket.booth is not None:
        booth = site.counter_by_id.get(ticket.booth)
        where = booth.names.get(lang) if booth is not None else ticket.booth
        return (
            where
            if step.mode == "front"
            else gettext_for(lang, "{group}, at {booth}").format(group=group.names.get(lang), booth=where)
        )
    return here


def serving_now(site: Site, ticket: TicketView, lang: str) -> str:
    """What this panel is doing for the visit right now, in one line above everything else ("▶ 受取: …")."""
    steps = [s for s in ticket.itinerary if s.status == "serving"]
    if not steps:
        return ""
    return "▶ " + ("、" if lang.startswith("ja") else ", ").join(_what(site, s, lang) for s in steps)
