"""The ticket: the number, the counters in order, and whether it printed.

If the printer failed the ticket is NOT lost: the queue already holds it; the screen
shows the number, says what is wrong, and offers to print it again once fixed.
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from queue_service.guidance import guidance
from ticket_machine.kiosk_app.slip import floor_text, wait_text

load_screen_kv(__file__)


class IssuedScreen(Screen):
    number = StringProperty("")
    steps = StringProperty("")
    wait = StringProperty("")
    print_state = StringProperty("printing")  # printing | printed | failed
    print_message = StringProperty("")
    can_reprint = BooleanProperty(False)

    def on_kv_post(self, _base) -> None:
        tr.bind(lang=lambda *_: self.show())

    def show(self) -> None:
        app = App.get_running_app()
        ticket = app.last_ticket
        if ticket is None:
            return
        self.number = str(ticket.number)
        order = [s.procedure for s in ticket.itinerary if s.status != "done"]
        lines = [
            f"{n}. {floor_text(tr.lang, item.floor)}  {item.place(tr.lang)} — {item.procedure.names.get(tr.lang)}"
            for n, item in enumerate(guidance(app.site, order), 1)
        ]
        self.steps = "\n".join(lines)
        self.wait = wait_text(tr.lang, ticket.est_wait_min)
