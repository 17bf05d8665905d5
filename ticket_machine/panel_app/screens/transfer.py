"""Transfer the visit to another counter group (it joins that queue), with a note."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton

load_screen_kv(__file__)


class TransferScreen(Screen):
    target = StringProperty("")

    def on_pre_enter(self, *_a) -> None:
        app = App.get_running_app()
        self.target = ""
        self.ids.note.text = ""
        grid = self.ids.groups
        grid.clear_widgets()
        here = app.counter.group if app.counter else None
        for group in app.site.groups:
            if group.id == here:
                continue
            button = BigButton(key=f"to-{group.id}", kind="toggle_off", font_base=18)
            button.text = f"{tr.name(group.names)} {group.floor}F"
            button.group = group.id
            button.bind(on_release=self.choose)
            grid.add_widget(button)

    def choose(self, button: BigButton) -> None:
        self.target = button.group
        for b in self.ids.groups.children:
            b.kind = "toggle_on" if b is button else "toggle_off"

    def confirm(self) -> None:
        if self.target:
            App.get_running_app().transfer(self.target, self.ids.note.text.strip() or None)
