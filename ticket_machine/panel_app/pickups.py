"""Later deliveries (事後交付) a pickup counter hands over: which to mark ready. Pure (no Kivy).

The queue service publishes no list of pickups that are not ready yet, so the panel derives one from what it
sees: the open requests and coming lists of the groups whose procedures this counter hands over later (a ticket
with 介護保険 資格取得 waiting there will need its card picked up here), the counters serving them, and ticket
views in this panel's own replies. While the procedure is still waiting or being served, the row says so and
cannot be marked; once it left those lists it is done, and the staff mark it ready when the document arrives.
The queue service still decides: marking one that is not done is refused (``no_pickup``).

What this cannot see: pickups of tickets whose procedure was done before the panel started (retained state
shows the present only), and a ticket that fell out of a coming list (five long) without being served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kiosk.bus.schemas import BoothState, ComingState, CounterState, RequestsState, TicketView
from kiosk.config.site import Counter, Site
from kiosk.i18n import gettext_for
from ticket_machine.panel_app.dispatch import counter_name


@dataclass(frozen=True)
class PickupLine:
    ticket: str
    number: int
    procedure: str
    text: str
    #: the procedure is done (as far as this panel can tell): 「準備完了」 may be tapped
    markable: bool

    @property
    def key(self) -> str:
        return f"ready-{self.number}-{self.procedure}"


@dataclass
class _Known:
    number: int
    #: a ticket view showed the pickup step itself: the procedure is certainly done
    confirmed: bool = False


class PickupBook:
    """The later deliveries handed over at one counter, as far as its panel has seen them today."""

    def __init__(self, site: Site, counter: Counter) -> None:
        self.site = site
        self.counter = counter
        #: procedure id -> the group that does it, for the later deliveries this counter hands over
        self.procedures = {
            p.id: p.group
            for p in site.procedures
            if p.delivery == "later" and (p.pickup_group or p.group) in counter.groups
        }
        self.known: dict[tuple[str, str], _Known] = {}

    @property
    def hands_over(self) -> bool:
        """Whether this counter hands over later deliveries at all (the panel shows the pickups button)."""
        return bool(self.procedures)

    @property
    def watched_groups(self) -> set[str]:
        return set(self.procedures.values())

    # ------------------------------------------------------------ what the panel sees
    def see_requests(self, state: RequestsState) -> bool:
        """Record later deliveries among a group's booth requests; True if something new was learned."""
        return self._see(state.group, ((r.ticket, r.number, r.procedures) for r in state.requests))

    def see_coming(self, state: ComingState) -> bool:
        return self._see(state.group, ((c.ticket, c.number, c.procedures) for c in state.coming))

    def _see(self, group: str, items) -> bool:
        if group not in self.watched_groups:
            return False
        new = False
        for ticket, number, procedures in items:
            for procedure in procedures:
                if self.procedures.get(procedure) == group and (ticket, procedure) not in self.known:
                    self.known[(ticket, procedure)] = _Known(number)
                    new = True
        return new

    def see_ticket(self, ticket: TicketView) -> None:
        """A ticket view in one of this panel's replies: its pickup steps say exactly what is left to mark."""
        for step in ticket.itinerary:
            if step.procedure not in self.procedures:
                continue
            key = (ticket.id, step.procedure)
            if step.kind == "pickup":
                if step.ready or step.status == "done" or ticket.status in ("done", "cancelled"):
                    self.known.pop(key, None)
                else:
                    self.known[key] = _Known(ticket.number, confirmed=True)
            elif step.status != "done" and key not in self.known:
                self.known[key] = _Known(ticket.number)

    def forget(self, ticket: str, procedure: str) -> None:
        """Marked ready (or the queue service no longer knows it): off the list."""
        self.known.pop((ticket, procedure), None)

    def new_day(self, day: str) -> None:
        """Drop yesterday's tickets (ticket ids start with the service day, ``YYYYMMDD-``)."""
        prefix = day.replace("-", "") + "-"
        self.known = {k: v for k, v in self.known.items() if k[0].startswith(prefix)}

    # ------------------------------------------------------------ what the screen shows
    def lines(
        self,
        requests: Mapping[str, RequestsState],
        coming: Mapping[str, ComingState],
        counters: Mapping[str, CounterState],
        booths: Mapping[str, BoothState],
        lang: str,
    ) -> list[PickupLine]:
        out = []
        for (ticket, procedure), known in sorted(self.known.items(), key=lambda kv: (kv[1].number, kv[0][1])):
            group = self.procedures[procedure]
            names = self.site.procedure_by_id[procedure].names.get(lang)
            head = gettext_for(lang, "Number {number}: {procedure}").format(number=known.number, procedure=names)
            where = (
                None
                if known.confirmed
                else self._where(ticket, procedure, group, known.number, requests, coming, counters, booths)
            )
            if where is None:
                state = gettext_for(lang, "Done: mark it ready when the document is here.")
            elif where == "waiting":
                state = gettext_for(lang, "Not done yet: waiting at {group}").format(
                    group=self.site.group_by_id[group].names.get(lang)
                )
            else:
                state = gettext_for(lang, "Not done yet: being served by {counter}").format(
                    counter=counter_name(self.site, where, lang)
                )
            out.append(PickupLine(ticket, known.number, procedure, f"{head}\n{state}", markable=where is None))
        return out

    def _where(
        self,
        ticket: str,
        procedure: str,
        group: str,
        number: int,
        requests: Mapping[str, RequestsState],
        coming: Mapping[str, ComingState],
        counters: Mapping[str, CounterState],
        booths: Mapping[str, BoothState],
    ) -> str | None:
        """``"waiting"``, the counter serving it, or None when the procedure has left every list (done).

        A resident seated at a booth is in no list while another section serves them: the booth's state still
        names the groups it waits for."""
        listed = requests.get(group)
        if listed is not None and any(r.ticket == ticket and procedure in r.procedures for r in listed.requests):
            return "waiting"
        serves = {c.id for c in self.site.counters if group in c.groups}
        for booth in booths.values():
            if booth.number == number and group in booth.waiting_for:
                return booth.served_by if booth.served_by in serves else "waiting"
        queued = coming.get(group)
        if queued is not None and any(c.ticket == ticket and procedure in c.procedures for c in queued.coming):
            return "waiting"
        for counter_id in sorted(serves):
            state = counters.get(counter_id)
            if state is not None and state.serving is not None and state.serving.number == number:
                return counter_id
        return None
