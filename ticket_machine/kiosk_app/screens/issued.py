"""The ticket: the number, the counters in order, and whether it printed.

If the printer failed the ticket is NOT lost: the queue already holds it; the screen
shows the number, says what is wrong, and offers to print it again once fixed. A ticket the
engine routed to a one-stop booth says so: the resident is called once, to a booth, and stays.
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from ticket_machine.kiosk_app.slip import (
    ONE_STOP_NOTICE,
    STOPS_LABEL,
    STOPS_LABEL_ONE_STOP,
    at_booth,
    joined,
    ticket_stops,
    wait_text,
)

load_screen_kv(__file__)

TAKE_TICKET = N_("Please take your ticket. You will be called at each counter in turn.")
TAKE_TICKET_ONE_STOP = N_("Please take your ticket.")


class IssuedScreen(Screen):
    number = StringProperty("")
    steps = StringProperty("")
    wait = StringProperty("")
    print_state = StringProperty("printing")  # printing | printed | failed
    print_message = StringProperty("")
    can_reprint = BooleanProperty(False)
    notice = StringProperty("")
    take_text = StringProperty("")
    steps_label = StringProperty("")

    def on_kv_post(self, _base) -> None:
        tr.bind(lang=lambda *_: self.show())

    def show(self) -> None:
        app = App.get_running_app()
        ticket = app.last_ticket
        if ticket is None:
            return
        self.number = str(ticket.number)
        lines = [
            f"{n}. {stop.floor}  {stop.place} — {joined(tr.lang, stop.procedure.splitlines())}"
            for n, stop in enumerate(ticket_stops(app.site, ticket, tr.lang), 1)
        ]
        self.steps = "\n".join(lines)
        one_stop = at_booth(ticket)
        self.notice = tr._(ONE_STOP_NOTICE) if one_stop else ""
        self.take_text = tr._(TAKE_TICKET_ONE_STOP if one_stop else TAKE_TICKET)
        self.steps_label = tr._(STOPS_LABEL_ONE_STOP if one_stop else STOPS_LABEL)
        self.wait = wait_text(tr.lang, ticket.est_wait_min)
