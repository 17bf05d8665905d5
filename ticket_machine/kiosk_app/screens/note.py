"""Concierge mode: a short note for the counters (what to prepare), sent with the ticket. Never personal data.

The screen edits a draft; "Keep this note" stores it in the selection once it passes the personal-data check,
"Back" leaves the kept note as it was.
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton
from ticket_machine.kiosk_app.reception import NOTE_MAX, NOTE_PRESETS, clean_note, note_problem, with_preset

load_screen_kv(__file__)


class NoteScreen(Screen):
    message = StringProperty("")
    count = StringProperty("")

    def on_kv_post(self, _base) -> None:
        for n, preset in enumerate(NOTE_PRESETS):
            button = BigButton(key=f"note-preset-{n}", kind="secondary", font_base=20)
            button.preset = preset
            button.bind(on_release=lambda b: self.add_preset(b.preset))
            self.ids.presets.add_widget(button)
        self._label()
        tr.bind(lang=lambda *_: self._label())

    def _label(self) -> None:
        for button in self.ids.presets.children:
            button.text = tr._(button.preset)

    def on_pre_enter(self, *_a) -> None:
        self.message = ""
        self.ids.text.text = App.get_running_app().selection.note

    def changed(self, text: str) -> None:
        if len(text) > NOTE_MAX:  # typed or pasted past the limit: keep the first NOTE_MAX characters
            self.ids.text.text = text[:NOTE_MAX]
            return
        self.count = f"{len(text)}/{NOTE_MAX}"
        if self.message and note_problem(text) is None:
            self.message = ""

    def add_preset(self, preset: str) -> None:
        self.ids.text.text = with_preset(self.ids.text.text, tr._(preset), tr.lang)

    def done(self) -> None:
        text = clean_note(self.ids.text.text)
        problem = note_problem(text)
        if problem is not None:
            self.message = tr._(problem)
            return
        app = App.get_running_app()
        app.selection.set_note(text)
        app.goto("guidance")
