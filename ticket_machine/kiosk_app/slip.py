"""What goes on the printed ticket (and the issued screen), in the resident's language. Pure.

A one-stop visit is not a walk across floors: its booth steps are one stop, the booth, where the resident
stays while each section's staff come (the ticket says so instead of "come to the counter").
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk import wait_text as waits
from kiosk.bus.schemas import TicketView
from kiosk.config.site import Site
from kiosk.i18n import N_, gettext_for
from kiosk.printing.ticket import TicketSlip, TicketStep
from queue_service.guidance import GuidanceItem, guidance

#: Steps served at the resident's booth (StepView.mode): by the section's staff who come, or the booth's own.
AT_BOOTH = ("booth", "front")
ONE_STOP_NOTICE = N_("We will call you to a one-stop booth. Please stay there: the staff come to you.")
COUNTER_FOOTER = N_("Please come to the counter when your number is called.")
STOPS_LABEL = N_("Your counters, in this order")
STOPS_LABEL_ONE_STOP = N_("Where you will be served")

#: What the resident reads when a ticket could not be printed, by printer fault kind.
FAULT_MESSAGES = {
    "paper_out": N_("The printer is out of paper."),
    "offline": N_("The printer is not responding."),
    "cover_open": N_("The printer cover is open."),
    "error": N_("The printer has a problem."),
}
NO_PRINTER = N_("This kiosk has no printer. Please note your number.")
KEPT = N_("Your number is kept in the queue. Staff have been told; you can print it again once fixed.")
NOTE_OR_SCAN = N_("Please note your number, or scan the code with your phone to follow your turn.")
NOTED = N_("I have noted my number")
FINISH = N_("Finish")


def wait_text(lang: str, ticket: TicketView) -> str:
    """The ticket's estimated wait, as a range when the queue service gives one (rev 2: "10–15 min"), else about
    its most likely minutes (a rev-1 service). One wording for the slip, the screen and the phone page."""
    return waits.wait_text(lang, ticket.est_wait_min, ticket.est_wait_range, waits.ESTIMATED)


def floor_text(lang: str, floor: int) -> str:
    return gettext_for(lang, "{floor}F").format(floor=floor)


def at_booth(ticket: TicketView) -> bool:
    """Whether the engine routed this ticket to a one-stop booth (its steps say where they are served)."""
    return any(step.mode in AT_BOOTH for step in ticket.itinerary)


def joined(lang: str, names: list[str]) -> str:
    """Names on one line (the screen's list of stops)."""
    return ("・" if lang.startswith("ja") else "、" if lang == "zh" else " / ").join(names)  # ・ is Japanese only


def booth_place(site: Site, lang: str, booth: str | None = None) -> tuple[str, str]:
    """(place, floor) of the one-stop booths, or of the very booth once the resident is seated there."""
    group = site.group_by_id[site.booth_group] if site.booth_group else None
    if booth is not None and booth in site.counter_by_id:
        counter = site.counter_by_id[booth]
        return counter.names.get(lang), floor_text(lang, counter.floor)
    if group is None:
        return "", ""
    return group.names.get(lang), floor_text(lang, group.floor)


def stops(
    site: Site, procedures: list[str], booth_steps: set[str], lang: str, booth: str | None = None
) -> list[TicketStep]:
    """Where the resident goes, in serving order. The procedures in ``booth_steps`` are ONE stop, the booth,
    listed where the first of them comes, one procedure a line; every other procedure is its counter group
    and floor."""
    out: list[TicketStep] = []
    at_booth: list[str] = []
    slot = -1
    for item in guidance(site, procedures):
        name = item.procedure.names.get(lang)
        if item.procedure.id in booth_steps:
            if slot < 0:
                slot = len(out)
                out.append(TicketStep(place="", floor="", procedure=""))
            at_booth.append(name)
        else:
            out.append(TicketStep(place=item.place(lang), floor=floor_text(lang, item.floor), procedure=name))
    if slot >= 0:
        place, floor = booth_place(site, lang, booth)
        out[slot] = TicketStep(place=place, floor=floor, procedure="\n".join(at_booth))
    return out


def ticket_stops(site: Site, ticket: TicketView, lang: str) -> list[TicketStep]:
    """The stops still ahead of an issued ticket (done steps dropped), as the engine routed it."""
    pending = [step for step in ticket.itinerary if step.status != "done"]
    booth_steps = {step.procedure for step in pending if step.mode in AT_BOOTH}
    return stops(site, [step.procedure for step in pending], booth_steps, lang, ticket.booth)


def where_served(site: Site, item: GuidanceItem, one_stop: bool, lang: str) -> str:
    """The guidance list's "where" of one procedure: its counter group, or the booth for a one-stop visit."""
    if one_stop and item.procedure.routing in AT_BOOTH:
        place, floor = booth_place(site, lang)
        return f"{floor}  {place}"
    return f"{floor_text(lang, item.floor)}  {item.place(lang)}"


@dataclass(frozen=True)
class PrintOutcome:
    """What the issued screen says about the printout. The ticket is issued whatever the printer did (the
    queue holds it), so a failed print never throws the number away: the screen keeps the number large,
    shows the phone QR the slip would have carried, and its primary button only confirms the resident
    has the number; it says where to get help."""

    state: str  # printing | printed | failed
    message: str
    #: The status page's address for the on-screen QR, when the ticket did not print ("" otherwise).
    qr_url: str
    #: The primary button's label (message id).
    finish: str
    #: Where to get help, when the ticket did not print ("" otherwise).
    help: str


def print_outcome(
    ticket: TicketView, state: str, fault: str | None, lang: str, status_url: str, help_text: str = ""
) -> PrintOutcome:
    """The issued screen's printout state: ``state`` is ``printing``, ``printed`` or ``failed``; ``fault`` a
    :data:`FAULT_MESSAGES` kind, or None with ``failed`` for a kiosk without a printer."""
    if state != "failed":
        return PrintOutcome(state, "", "", FINISH, "")
    sep = "" if lang.startswith("ja") or lang == "zh" else " "  # no space after 。
    first = NO_PRINTER if fault is None else FAULT_MESSAGES.get(fault, FAULT_MESSAGES["error"])
    message = sep.join((gettext_for(lang, first), gettext_for(lang, NOTE_OR_SCAN if fault is None else KEPT)))
    qr = status_url.format(token=ticket.token) if ticket.token and status_url else ""
    return PrintOutcome(state, message, qr, NOTED, help_text)


def slip_for(site: Site, ticket: TicketView, status_url: str, reprint: bool = False) -> TicketSlip:
    lang = ticket.lang
    local = ticket.issued_at.astimezone(site.zone)
    steps = ticket_stops(site, ticket, lang)
    one_stop = at_booth(ticket)
    return TicketSlip(
        site_name=site.site.names.get(lang),
        number=ticket.number,
        number_label=gettext_for(lang, "Your number"),
        issued_at=local.strftime("%Y-%m-%d %H:%M"),
        steps=steps,
        steps_label=gettext_for(lang, STOPS_LABEL_ONE_STOP if one_stop else STOPS_LABEL),
        wait_text=wait_text(lang, ticket),
        qr_url=status_url.format(token=ticket.token or ""),
        qr_caption=gettext_for(lang, "Scan to see your turn on your phone"),
        footer=gettext_for(lang, ONE_STOP_NOTICE if one_stop else COUNTER_FOOTER),
        reprint=reprint,
        lang=lang,
    )
