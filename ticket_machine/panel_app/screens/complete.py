"""Complete the visit here: add procedures the staff found, hand a note to the next counter."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton
from ticket_machine.panel_app.counter_view import hidden_below, more_below_text
from ticket_machine.panel_app.notes import PRESET_NOTES

load_screen_kv(__file__)


class CompleteScreen(Screen):
    #: "▼ 6 more below: scroll the list" while procedures are out of sight under the grid
    cue = StringProperty("")

    def update_cue(self, *_a) -> None:
        scroller, grid = self.ids.scroller, self.ids.procedures
        hidden = hidden_below([(b.y, b.top) for b in grid.children], grid.height, scroller.height, scroller.scroll_y)
        self.cue = more_below_text(hidden, tr.lang)

    def on_enter(self, *_a) -> None:
        self.ids.scroller.scroll_y = 1
        self.update_cue()

    def on_pre_enter(self, *_a) -> None:
        app = App.get_running_app()
        self.adding: list[str] = []
        self.ids.note.text = ""
        have = {s.procedure for s in app.ticket.itinerary} if app.ticket else set()
        grid = self.ids.procedures
        grid.clear_widgets()
        for proc in app.site.procedures:
            if proc.id in have:
                continue
            button = BigButton(key=f"add-{proc.id}", kind="toggle_off", font_base=18, text=tr.name(proc.names))
            button.procedure = proc.id
            button.bind(on_release=self.toggle)
            grid.add_widget(button)
        presets = self.ids.presets
        presets.clear_widgets()
        for n, note in enumerate(PRESET_NOTES):
            button = BigButton(key=f"preset-{n}", kind="secondary", font_base=16, text=tr._(note))
            button.bind(on_release=lambda b: setattr(self.ids.note, "text", b.text))
            presets.add_widget(button)

    def toggle(self, button: BigButton) -> None:
        if button.procedure in self.adding:
            self.adding.remove(button.procedure)
            button.kind = "toggle_off"
        else:
            self.adding.append(button.procedure)
            button.kind = "toggle_on"

    def confirm(self) -> None:
        App.get_running_app().complete(list(self.adding), self.ids.note.text.strip() or None)
