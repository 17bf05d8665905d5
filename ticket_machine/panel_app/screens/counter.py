"""The counter: open/close, call next, recall, complete, no-show, transfer; the visit's itinerary."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import Body
from ticket_machine.panel_app.itinerary import itinerary_lines

load_screen_kv(__file__)


class CounterScreen(Screen):
    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        app.bind(ticket=lambda *_: self.show(), counter_id=lambda *_: self.show())
        tr.bind(lang=lambda *_: self.show())

    def show(self) -> None:
        app = App.get_running_app()
        box = self.ids.itinerary
        box.clear_widgets()
        ticket, counter = app.ticket, app.counter
        self.ids.note.text = ""
        if ticket is None or counter is None:
            return
        tones = {"done": "muted", "here": "ok", "later": "fg"}
        marks = {"done": "✓", "here": "▶", "later": "・"}
        for state, text in itinerary_lines(app.site, ticket, counter.group, tr.lang):
            box.add_widget(Body(text=f"{marks[state]} {text}", tone=tones[state], bold=state == "here", font_base=20))
        if ticket.note is not None:
            origin = app.site.counter_by_id.get(ticket.note.counter)
            where = tr.name(origin.names) if origin else ticket.note.counter
            self.ids.note.text = tr._("Note from {counter}:").format(counter=where) + " " + ticket.note.text
