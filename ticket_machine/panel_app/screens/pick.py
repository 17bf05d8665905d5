"""Which counter is this panel at today (a panel allowed to operate several)."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton

load_screen_kv(__file__)


class PickScreen(Screen):
    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        for counter in app.allowed:
            group = app.site.group_by_id[counter.group]
            button = BigButton(key=f"counter-{counter.id}", kind="secondary", font_base=20)
            button.names = (counter.names, group.names, counter.floor)
            button.bind(on_release=lambda _b, c=counter.id: app.choose_counter(c))
            self.ids.grid.add_widget(button)
        self._label()
        tr.bind(lang=lambda *_: self._label())

    def _label(self) -> None:
        for b in self.ids.grid.children:
            counter, group, floor = b.names
            b.text = f"{tr.name(counter)}\n{tr.name(group)} {floor}F"
