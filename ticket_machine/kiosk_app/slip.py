"""What goes on the printed ticket, in the resident's language. Pure."""

from __future__ import annotations

from kiosk.bus.schemas import TicketView
from kiosk.config.site import Site
from kiosk.i18n import gettext_for
from kiosk.printing.ticket import TicketSlip, TicketStep
from queue_service.guidance import guidance


def wait_text(lang: str, minutes: int | None) -> str:
    if minutes is None:
        return gettext_for(lang, "Estimated wait: not known yet")
    if minutes == 0:
        return gettext_for(lang, "Estimated wait: you are next")
    return gettext_for(lang, "Estimated wait: about {minutes} min").format(minutes=minutes)


def floor_text(lang: str, floor: int) -> str:
    return gettext_for(lang, "{floor}F").format(floor=floor)


def slip_for(site: Site, ticket: TicketView, status_url: str, reprint: bool = False) -> TicketSlip:
    lang = ticket.lang
    local = ticket.issued_at.astimezone(site.zone)
    order = [step.procedure for step in ticket.itinerary if step.status != "done"]
    steps = [
        TicketStep(place=item.place(lang), floor=floor_text(lang, item.floor), procedure=item.procedure.names.get(lang))
        for item in guidance(site, order)
    ]
    return TicketSlip(
        site_name=site.site.names.get(lang),
        number=ticket.number,
        number_label=gettext_for(lang, "Your number"),
        issued_at=local.strftime("%Y-%m-%d %H:%M"),
        steps=steps,
        steps_label=gettext_for(lang, "Your counters, in this order"),
        wait_text=wait_text(lang, ticket.est_wait_min),
        qr_url=status_url.format(token=ticket.token or ""),
        qr_caption=gettext_for(lang, "Scan to see your turn on your phone"),
        footer=gettext_for(lang, "Please come to the counter when your number is called."),
        reprint=reprint,
    )
