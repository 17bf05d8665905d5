"""Choose the procedures (a life event ticks its procedures); a pre-entry QR may be scanned here.

A large toggle says "I am a foreign resident (在留カードをお持ちの方)": the resident's own choice, off for every new
visit; on, the forms are the foreign-resident variants, after their own fields (the details screen).
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton

load_screen_kv(__file__)


class ChooseScreen(Screen):
    chosen = ListProperty([])
    #: What the scanned pre-entry QR gave (or why it was refused).
    preentry = StringProperty("")
    preentry_ok = StringProperty("")
    message = StringProperty("")
    #: The resident's own choice (never from the card, which holds no nationality): the foreign-resident forms.
    foreign = BooleanProperty(False)

    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        for event, procedures in app.issuer.life_events_with_forms().items():
            button = BigButton(key=f"event-{event}", kind="secondary", font_base=22)
            button.names = app.site.life_event_by_id[event].names
            button.bind(on_release=lambda _b, p=procedures: self.pick_event(p))
            self.ids.events.add_widget(button)
        for pid in app.issuer.procedures_with_forms():
            button = BigButton(key=f"proc-{pid}", font_base=22)
            button.names = app.site.procedure_by_id[pid].names
            button.procedure = pid
            button.bind(on_release=lambda b: self.toggle(b.procedure))
            self.ids.procedures.add_widget(button)
        self._label()
        tr.bind(lang=lambda *_: self._label())
        self.bind(chosen=lambda *_: self._label())

    def _label(self) -> None:
        for button in self.ids.events.children:
            button.text = tr.name(button.names)
        for button in self.ids.procedures.children:
            ticked = button.procedure in self.chosen
            button.kind = "toggle_on" if ticked else "toggle_off"
            button.text = ("✓ " if ticked else "") + tr.name(button.names)

    def pick_event(self, procedures: list[str]) -> None:
        self.chosen = list(procedures)

    def toggle(self, procedure: str) -> None:
        self.chosen = (
            [p for p in self.chosen if p != procedure] if procedure in self.chosen else [*self.chosen, procedure]
        )

    def clear(self) -> None:
        self.chosen = []
        self.preentry = self.preentry_ok = self.message = ""
        self.foreign = False
