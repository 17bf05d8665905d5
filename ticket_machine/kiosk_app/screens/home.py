"""Home: pick a life event (転入, 出生, ...) or a single procedure; on a concierge-only kiosk, where reception is."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

from kiosk.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton
from ticket_machine.kiosk_app.screens.steps import VisitSteps  # noqa: F401  (the kv names it)

load_screen_kv(__file__)

GO_TO_RECEPTION = N_("Please go to {reception}.")
AT_RECEPTION = N_("Staff there will ask what you need and give you one ticket for all your procedures.")


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
        app = App.get_running_app()
        for button in self.ids.events.children:
            button.text = tr.name(button.names)
        where = app.policy.reception_name(tr.lang)
        self.ids.reception_where.text = tr._(GO_TO_RECEPTION).format(reception=where) if where else ""
        self.ids.reception_how.text = tr._(AT_RECEPTION)
