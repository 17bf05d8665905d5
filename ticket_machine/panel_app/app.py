"""The call panel app: one counter's staff call, serve, hand over and complete visits.

At a section's counter the panel also shows the booths' requests for the groups the counter serves (its staff
take one and serve the resident at the booth) and who the groups call next; at a booth it shows who sits there
and whom the booth waits for; at a pickup counter, the later deliveries to mark ready. The words and rows come
from Kivy-free view state (dispatch, reception, pickups, itinerary); this class keeps the bus state and sends
the commands.
"""

from __future__ import annotations

import logging
from datetime import datetime

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.bus.client import BusError
from kiosk.bus.contract import Role
from kiosk.bus.schemas import (
    BoothState,
    ComingState,
    CounterState,
    GroupState,
    PickupsState,
    RequestsState,
    TicketView,
    ticket_of,
)
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Counter, Site
from kiosk.ui.lang import tr
from kiosk.ui.shell import KioskShell
from ticket_machine.panel_app.counter_view import queue_view, wait_minutes_text, waiting_count_text
from ticket_machine.panel_app.dispatch import (
    booth_line,
    can_recall,
    counter_name,
    error_text,
    is_booth,
    serving_place,
)
from ticket_machine.panel_app.pickups import PickupLine, hands_over, pickup_lines, to_mark
from ticket_machine.panel_app.screens.absent import AbsentScreen
from ticket_machine.panel_app.screens.complete import CompleteScreen
from ticket_machine.panel_app.screens.counter import CounterScreen
from ticket_machine.panel_app.screens.handover import HandOverScreen
from ticket_machine.panel_app.screens.pick import PickScreen
from ticket_machine.panel_app.screens.pickup import PickupScreen
from ticket_machine.panel_app.screens.transfer import TransferScreen

log = logging.getLogger(__name__)
#: How often the minutes shown ("4分待ち", "着席 12分") are brought up to date.
REFRESH_SECONDS = 30


class CallPanelApp(KioskShell):
    role = Role.PANEL
    counter_id = StringProperty("")
    is_open = BooleanProperty(False)
    waiting = NumericProperty(0)
    est_wait = ObjectProperty(None, allownone=True)
    #: The visit being served here now (None when idle).
    ticket = ObjectProperty(None, allownone=True)
    serving_number = ObjectProperty(None, allownone=True)
    message = StringProperty("")
    #: ``danger`` for a refusal, ``ok`` for a done thing worth saying ("handed over", "ready to pick up").
    message_tone = StringProperty("danger")
    busy = BooleanProperty(False)
    #: Bumped when anything the side lists show changed (requests, coming, booth, pickups): screens rebuild.
    desk_rev = NumericProperty(0)
    #: The groups this counter serves, each with its queue ("担当：国民健康保険　待ち：3人　約12分").
    queue_text = StringProperty("")
    queue_lines = NumericProperty(1)
    #: The big count on the main screen: everyone waiting for this counter's groups ("3人"), and the estimate.
    waiting_label = StringProperty("—")
    wait_label = StringProperty("")
    #: A booth: the resident seated there (number from the booth's state; the view as last called, for the
    #: reception), and whether 「窓口へ引き継ぐ」 can be tapped.
    seated_number = ObjectProperty(None, allownone=True)
    seated = ObjectProperty(None, allownone=True)
    can_hand_over = BooleanProperty(False)
    #: A section serving at a booth: "ワンストップ B3で対応中"; recall is then off (it would call them here).
    place_text = StringProperty("")
    recall_ok = BooleanProperty(True)
    #: A pickup counter: whether it hands over later deliveries, and how many wait to be marked ready.
    hands_over = BooleanProperty(False)
    pickup_count = NumericProperty(0)

    def __init__(self, device: DeviceConfig, site: Site, **kw) -> None:
        super().__init__(device, site, **kw)
        self.show_languages = False
        allowed = site.device_by_id[device.device].counters if device.device in site.device_by_id else ()
        self.allowed: list[Counter] = [c for c in site.counters if not allowed or c.id in allowed]
        self.absent: list[TicketView] = []
        #: Latest retained state of every counter, group, booth and list (switching counters shows them at once).
        self.counter_states: dict[str, CounterState] = {}
        self.group_states: dict[str, GroupState] = {}
        self.requests: dict[str, RequestsState] = {}
        self.coming: dict[str, ComingState] = {}
        self.booths: dict[str, BoothState] = {}
        #: the queue service's list of later deliveries per group (retained: the same after a restart)
        self.pickups: dict[str, PickupsState] = {}
        self._changed = Clock.create_trigger(self._refresh, 0.05)
        #: the code of the last refusal shown in ``message`` (a booth clears a stale "occupied" by itself)
        self._refusal = ""
        if device.counter:
            self.home_screen = "counter"
            self.counter_id = device.counter
        elif len(self.allowed) == 1:
            self.home_screen = "counter"
            self.counter_id = self.allowed[0].id
        else:
            self.home_screen = "pick"
        self._new_counter()

    def make_screens(self):
        self.bind(counter_id=lambda *_: self._title(), ticket=lambda *_: self._changed())
        tr.bind(lang=lambda *_: (self._title(), self._changed()))
        self._title()
        Clock.schedule_interval(lambda _dt: self._changed(), REFRESH_SECONDS)
        return [
            PickScreen(),
            CounterScreen(),
            CompleteScreen(),
            TransferScreen(),
            AbsentScreen(),
            HandOverScreen(),
            PickupScreen(),
        ]

    @property
    def counter(self) -> Counter | None:
        return self.site.counter_by_id.get(self.counter_id)

    @property
    def at_booth(self) -> bool:
        """This panel's counter is a one-stop booth (it seats residents)."""
        return self.counter is not None and is_booth(self.site, self.counter)

    def now(self) -> datetime:
        return datetime.now(self.site.zone)

    def _title(self) -> None:
        c = self.counter
        if c is None:
            self.title_text = tr._("Call panel: choose a counter")
        else:
            group = self.site.group_by_id[c.group]
            self.title_text = f"{tr.name(c.names)} — {tr.name(group.names)} ({c.floor}F)"

    def _new_counter(self) -> None:
        c = self.counter
        self.hands_over = c is not None and hands_over(self.site, c)
        self.seated = None

    # ------------------------------------------------------------ retained state
    def connect(self) -> None:
        assert self.link is not None
        topics = self.link.topics
        self.link.listen(topics.counter_state("+"), CounterState, self._counter_state)
        self.link.listen(topics.group_state("+"), GroupState, self._group_state)
        self.link.listen(topics.requests_state("+"), RequestsState, self._requests_state)
        self.link.listen(topics.coming_state("+"), ComingState, self._coming_state)
        self.link.listen(topics.booth_state("+"), BoothState, self._booth_state)
        self.link.listen(topics.pickups_state("+"), PickupsState, self._pickups_state)

    def _counter_state(self, _topic: str, state: CounterState) -> None:
        self.counter_states[state.counter] = state
        self._show_states()
        self._changed()

    def _group_state(self, _topic: str, state: GroupState) -> None:
        self.group_states[state.group] = state
        self._show_states()

    def _requests_state(self, _topic: str, state: RequestsState) -> None:
        self.requests[state.group] = state
        self._changed()

    def _coming_state(self, _topic: str, state: ComingState) -> None:
        self.coming[state.group] = state
        self._changed()

    def _pickups_state(self, _topic: str, state: PickupsState) -> None:
        self.pickups[state.group] = state
        self._changed()

    def _booth_state(self, _topic: str, state: BoothState) -> None:
        if (
            state.booth == self.counter_id
            and self._refusal == "booth_occupied"
            and self.booths.get(state.booth) != state
        ):
            self.message = ""  # the refusal described a seat that has changed since
        self.booths[state.booth] = state
        self._changed()

    def _show_states(self) -> None:
        c = self.counter
        if c is None:
            return
        counter = self.counter_states.get(c.id)
        if counter is not None:
            self.is_open = counter.open
            self.serving_number = counter.serving.number if counter.serving else None
            if counter.serving is None:
                self.ticket = None
        group = self.group_states.get(c.group)
        if group is not None:
            self.waiting = group.waiting
            self.est_wait = group.est_wait_min
        view = queue_view(self.site, c, self.group_states, tr.lang)
        self.waiting_label = waiting_count_text(view, tr.lang)
        self.wait_label = wait_minutes_text(view, tr.lang)
        self.queue_lines = len(view.lines)
        self.queue_text = "\n".join(view.lines)

    def _refresh(self, *_a) -> None:
        """Recompute what the side lists and the booth show, then let the screens rebuild (once per burst)."""
        c = self.counter
        if c is None:
            return
        self._show_states()
        if self.at_booth:
            state = self.booths.get(c.id)
            line = booth_line(self.site, c, state, self.now(), tr.lang)
            self.seated_number = line.number
            self.can_hand_over = line.can_hand_over
            if line.number is None or (self.seated is not None and self.seated.number != line.number):
                self.seated = None
        else:
            self.seated_number = None
            self.can_hand_over = False
        self.place_text = serving_place(self.site, c, self.ticket, tr.lang)
        self.recall_ok = can_recall(c, self.ticket) and self._away_at() is None
        self.pickup_count = to_mark(self.pickup_lines())
        self.desk_rev += 1

    def pickup_lines(self) -> list[PickupLine]:
        c = self.counter
        return [] if c is None else pickup_lines(self.site, c, self.pickups, tr.lang)

    def _away_at(self) -> str | None:
        """The booth where this counter's staff serve now, from the booths' retained state (a restarted panel
        has no ticket view of the visit it serves, but the booth still names who serves there)."""
        for booth in self.booths.values():
            if booth.served_by == self.counter_id and booth.booth != self.counter_id:
                return booth.booth
        return None

    def choose_counter(self, counter_id: str) -> None:
        self.counter_id = counter_id
        self.ticket = None
        self.message = ""
        self._new_counter()
        self._show_states()
        self._changed()
        self.goto("counter")

    # ------------------------------------------------------------ commands
    def command(self, verb: str, on_ok=None, with_counter: bool = True, **args) -> None:
        if self.busy or self.link is None:
            return
        self.busy = True
        self.message = ""
        self._refusal = ""

        def ok(result: dict) -> None:
            self.busy = False
            if on_ok is not None:
                on_ok(result)

        def failed(exc: BusError) -> None:
            self.busy = False
            self._refusal = exc.code
            self.message_tone = "danger"
            said = self._at_booth_text() if exc.code == "at_booth" else None
            self.message = said or error_text(
                self.site,
                exc.code,
                getattr(exc, "message", str(exc)),
                tr.lang,
                counter=self.counter,
                booth=self.booths.get(self.counter_id),
            )

        self.link.request(verb, {"counter": self.counter_id, **args} if with_counter else args, ok, failed)

    def _at_booth_text(self) -> str | None:
        """A recall refused because this counter's staff serve the resident at a booth: the board would send
        them away from their seat. Said with the booth's name and the number (None when neither is known)."""
        booth = self.ticket.booth if self.ticket is not None and self.ticket.booth else self._away_at()
        number = self.ticket.number if self.ticket is not None else self.serving_number
        if booth is None or number is None:
            return None
        said = tr._("Not recalled: number {number} is seated at {booth}; serve them there, not at this counter.")
        return said.format(number=number, booth=counter_name(self.site, booth, tr.lang))

    def say(self, text: str, tone: str = "ok") -> None:
        """Something worth telling the staff that is not a refusal ("handed over"; ``fg``: "nobody is waiting")."""
        self.message, self.message_tone = text, tone

    def toggle_open(self) -> None:
        verb = "close_counter" if self.is_open else "open_counter"
        self.command(verb, lambda r: setattr(self, "is_open", r["open"]))

    def _serve(self, view: TicketView) -> None:
        """A visit now served here (called, recalled, or a booth request taken)."""
        self.ticket = view
        if self.at_booth and view.booth == self.counter_id:
            self.seated = view
        self._changed()

    def call_next(self) -> None:
        def called(result: dict) -> None:
            if result.get("ticket") is None:
                self.ticket = None
                self.say(tr._("Nobody is waiting for this counter."), tone="fg")
            else:
                self._serve(ticket_of(result))

        self.command("call_next", called)

    def recall(self) -> None:
        self.command("recall", lambda result: self._serve(ticket_of(result)))

    def take_request(self, ticket_id: str) -> None:
        """「行きます」: this counter's staff go to the booth and serve the resident's steps there."""
        self.command("take_request", lambda result: self._serve(ticket_of(result)), ticket=ticket_id)

    def _finished(self, view: TicketView) -> None:
        """The visit left this counter (completed, transferred, no-show): a booth keeps its seated resident."""
        if self.at_booth and view.booth == self.counter_id and self.seated is not None:
            # the reply carries no reception (panels get it when they call): keep the one from the call
            self.seated = view.model_copy(update={"reception": self.seated.reception, "note": self.seated.note})
        self.ticket = None
        self._changed()

    def complete(self, add: list[str], note: str | None) -> None:
        def done(result: dict) -> None:
            self._finished(ticket_of(result))
            self.goto("counter")

        args: dict = {"add_procedures": add}
        if note:
            args["note"] = note
        self.command("complete", done, **args)

    def no_show(self) -> None:
        def set_aside(result: dict) -> None:
            view = ticket_of(result)
            self.absent = [t for t in self.absent if t.id != view.id] + [view]
            self._finished(view)

        self.command("no_show", set_aside)

    def transfer(self, group: str, note: str | None) -> None:
        def moved(result: dict) -> None:
            self._finished(ticket_of(result))
            self.goto("counter")

        args: dict = {"to_group": group}
        if note:
            args["note"] = note
        self.command("transfer", moved, **args)

    def hand_over(self) -> None:
        """「窓口へ引き継ぐ」: the booth's resident goes to the sections' counters; the booth is free."""

        def handed(result: dict) -> None:
            number = result["ticket"]["number"]
            self.seated = None
            self.ticket = None
            self.say(tr._("Number {number} was handed over to the counters.").format(number=number))
            self._changed()
            self.goto("counter")

        self.command("hand_over", handed)

    def mark_ready(self, ticket_id: str, procedure: str) -> None:
        """The document of a later delivery is here: the ticket is called again to pick it up."""

        def ready(result: dict) -> None:
            number = result["ticket"]["number"]
            self.say(tr._("Number {number} is ready to pick up: call it with “Call next”.").format(number=number))
            self._changed()

        self.command("mark_ready", ready, with_counter=False, ticket=ticket_id, procedure=procedure)

    def reactivate(self, ticket_id: str) -> None:
        def back(result: dict) -> None:
            self.absent = [t for t in self.absent if t.id != ticket_id]
            self.say(tr._("Number {number} is back in the queue.").format(number=result["ticket"]["number"]))
            self.goto("counter")

        self.command("reactivate", back, with_counter=False, ticket=ticket_id)
