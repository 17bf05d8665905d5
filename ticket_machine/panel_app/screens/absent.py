"""Visits set aside as no-show at this panel: bring one back into the queue."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton

load_screen_kv(__file__)


class AbsentScreen(Screen):
    def on_pre_enter(self, *_a) -> None:
        app = App.get_running_app()
        grid = self.ids.tickets
        grid.clear_widgets()
        for ticket in app.absent:
            button = BigButton(key=f"reactivate-{ticket.number}", kind="secondary", font_base=26)
            button.text = tr._("Number {number}: back to the queue").format(number=ticket.number)
            button.bind(on_release=lambda _b, t=ticket.id: app.reactivate(t))
            grid.add_widget(button)
        self.ids.empty.text = "" if app.absent else tr._("Nobody is set aside.")
