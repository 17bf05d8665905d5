"""Resident side: the PIN pad the resident types on (the staff turn the screen): tries shown, last try confirmed."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class PinScreen(Screen):
    tries_left = NumericProperty(3)
    message = StringProperty("")
    busy = StringProperty("")
    #: One try left and not yet confirmed: the pad is hidden until the resident says "continue".
    last_try = BooleanProperty(False)

    def on_pre_enter(self, *_a) -> None:
        self.ids.keypad.value = ""

    def entered(self, pin: str) -> None:
        if len(pin) != 4:
            self.message = tr._("The PIN has 4 digits.")
            return
        self.ids.keypad.value = ""
        App.get_running_app().pin_entered(pin)
