"""The concierge's PIN: staff-only options (priority ticket, issuing for someone else)."""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class ConciergeScreen(Screen):
    message = StringProperty("")

    def on_pre_enter(self, *_a) -> None:
        self.message = ""
        self.ids.keypad.value = ""

    def entered(self, pin: str) -> None:
        app = App.get_running_app()
        outcome = app.pin_guard.check(pin, Clock.get_boottime()) if app.pin_guard else "locked"
        self.ids.keypad.value = ""
        if outcome == "ok":
            app.concierge = True
            app.goto("home")
        elif outcome == "wrong":
            self.message = tr._("Wrong PIN. Please try again.")
        else:
            self.message = tr._("Too many wrong PINs. Staff mode is locked for a few minutes.")
