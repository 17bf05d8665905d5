"""The call panel app: one counter's staff call, serve, hand over and complete visits."""

from __future__ import annotations

import logging

from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.bus.client import BusError
from kiosk.bus.contract import Role
from kiosk.bus.schemas import CounterState, GroupState, TicketView, ticket_of
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Counter, Site
from kiosk.ui.lang import tr
from kiosk.ui.shell import KioskShell
from ticket_machine.panel_app.screens.absent import AbsentScreen
from ticket_machine.panel_app.screens.complete import CompleteScreen
from ticket_machine.panel_app.screens.counter import CounterScreen
from ticket_machine.panel_app.screens.pick import PickScreen
from ticket_machine.panel_app.screens.transfer import TransferScreen

log = logging.getLogger(__name__)


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
    busy = BooleanProperty(False)

    def __init__(self, device: DeviceConfig, site: Site, **kw) -> None:
        super().__init__(device, site, **kw)
        self.show_languages = False
        allowed = site.device_by_id[device.device].counters if device.device in site.device_by_id else ()
        self.allowed: list[Counter] = [c for c in site.counters if not allowed or c.id in allowed]
        self.absent: list[TicketView] = []
        #: Latest retained state of every counter and group (switching counters shows them at once).
        self.counter_states: dict[str, CounterState] = {}
        self.group_states: dict[str, GroupState] = {}
        if device.counter:
            self.home_screen = "counter"
            self.counter_id = device.counter
        elif len(self.allowed) == 1:
            self.home_screen = "counter"
            self.counter_id = self.allowed[0].id
        else:
            self.home_screen = "pick"

    def make_screens(self):
        self.bind(counter_id=lambda *_: self._title())
        tr.bind(lang=lambda *_: self._title())
        self._title()
        return [PickScreen(), CounterScreen(), CompleteScreen(), TransferScreen(), AbsentScreen()]

    @property
    def counter(self) -> Counter | None:
        return self.site.counter_by_id.get(self.counter_id)

    def _title(self) -> None:
        c = self.counter
        if c is None:
            self.title_text = tr._("Call panel: choose a counter")
        else:
            group = self.site.group_by_id[c.group]
            self.title_text = f"{tr.name(c.names)} — {tr.name(group.names)} ({c.floor}F)"

    def connect(self) -> None:
        assert self.link is not None
        topics = self.link.topics
        self.link.listen(topics.counter_state("+"), CounterState, self._counter_state)
        self.link.listen(topics.group_state("+"), GroupState, self._group_state)

    def _counter_state(self, _topic: str, state: CounterState) -> None:
        self.counter_states[state.counter] = state
        self._show_states()

    def _group_state(self, _topic: str, state: GroupState) -> None:
        self.group_states[state.group] = state
        self._show_states()

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

    def choose_counter(self, counter_id: str) -> None:
        self.counter_id = counter_id
        self.ticket = None
        self.message = ""
        self._show_states()
        self.goto("counter")

    # ------------------------------------------------------------ commands
    def command(self, verb: str, on_ok=None, **args) -> None:
        if self.busy or self.link is None:
            return
        self.busy = True
        self.message = ""

        def ok(result: dict) -> None:
            self.busy = False
            if on_ok is not None:
                on_ok(result)

        def failed(exc: BusError) -> None:
            self.busy = False
            self.message = f"{tr._('Not done')}: {getattr(exc, 'message', str(exc))} ({exc.code})"

        self.link.request(verb, {"counter": self.counter_id, **args} if "ticket" not in args else args, ok, failed)

    def toggle_open(self) -> None:
        verb = "close_counter" if self.is_open else "open_counter"
        self.command(verb, lambda r: setattr(self, "is_open", r["open"]))

    def call_next(self) -> None:
        def called(result: dict) -> None:
            if result.get("ticket") is None:
                self.ticket = None
                self.message = tr._("Nobody is waiting for this counter.")
            else:
                self.ticket = ticket_of(result)

        self.command("call_next", called)

    def recall(self) -> None:
        self.command("recall", self._show_ticket)

    def _show_ticket(self, result: dict) -> None:
        self.ticket = ticket_of(result)

    def complete(self, add: list[str], note: str | None) -> None:
        def done(result: dict) -> None:
            self.ticket = None
            self.goto("counter")

        args: dict = {"add_procedures": add}
        if note:
            args["note"] = note
        self.command("complete", done, **args)

    def no_show(self) -> None:
        def set_aside(result: dict) -> None:
            view = ticket_of(result)
            self.absent = [t for t in self.absent if t.id != view.id] + [view]
            self.ticket = None

        self.command("no_show", set_aside)

    def transfer(self, group: str, note: str | None) -> None:
        def moved(result: dict) -> None:
            self.ticket = None
            self.goto("counter")

        args: dict = {"to_group": group}
        if note:
            args["note"] = note
        self.command("transfer", moved, **args)

    def reactivate(self, ticket_id: str) -> None:
        def back(result: dict) -> None:
            self.absent = [t for t in self.absent if t.id != ticket_id]
            self.message = tr._("Number {number} is back in the queue.").format(number=result["ticket"]["number"])
            self.goto("counter")

        self.command("reactivate", back, ticket=ticket_id)
