"""The ticket's number on a big keypad (the number printed on the ticket), then "Send"."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton

load_screen_kv(__file__)

KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "back")


class NumberScreen(Screen):
    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        for key in KEYS:
            button = BigButton(key=f"num-{key}", kind="secondary", font_base=36 if key.isdigit() else 24)
            button.pad_key = key
            button.bind(on_release=lambda b: app.press(b.pad_key))
            self.ids.pad.add_widget(button)
        app.bind(form_version=lambda *_: self.show(), sending=lambda *_: self.show())
        tr.bind(lang=lambda *_: self.show())
        self.show()

    def show(self) -> None:
        app = App.get_running_app()
        labels = {"clear": tr._("Clear"), "back": "←"}
        for button in self.ids.pad.children:
            button.text = labels.get(button.pad_key, button.pad_key)
        self.ids.number.text = app.form.number or " "
        self.ids.send.disabled = app.sending or not app.form.can_send
