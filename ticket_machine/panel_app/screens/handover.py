"""A booth hands its seated resident over to the sections' counters: say what that does, then confirm."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import Body
from ticket_machine.panel_app.dispatch import hand_over_lines

load_screen_kv(__file__)


class HandOverScreen(Screen):
    def on_pre_enter(self, *_a) -> None:
        app = App.get_running_app()
        app.message = ""
        box = self.ids.lines
        box.clear_widgets()
        if app.counter is None:
            return
        for n, line in enumerate(hand_over_lines(app.site, app.counter, app.booths.get(app.counter_id), tr.lang)):
            box.add_widget(Body(text=line, font_base=24 if n == 0 else 20, bold=n == 0))
