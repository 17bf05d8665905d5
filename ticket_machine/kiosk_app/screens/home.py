"""Home: pick a life event (転入, 出生, ...) or a single procedure."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton

load_screen_kv(__file__)


class HomeScreen(Screen):
    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        for event in app.site.life_events:
            button = BigButton(key=f"event-{event.id}", font_base=28)
            button.names = event.names
            button.bind(on_release=lambda b, e=event.id: app.choose_event(e))
            self.ids.events.add_widget(button)
        self._label()
        tr.bind(lang=lambda *_: self._label())

    def _label(self) -> None:
        for button in self.ids.events.children:
            button.text = tr.name(button.names)
