"""The staff PIN (the device's concierge_pin): for the staff screen or to confirm the recovery report."""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class PinScreen(Screen):
    message = StringProperty("")
    #: "staff" (open the staff screen) or "dismiss" (the recovery report was read).
    purpose = StringProperty("staff")
    #: Where Cancel goes.
    back = StringProperty("home")

    def on_pre_enter(self, *_a) -> None:
        self.message = ""
        self.ids.keypad.value = ""

    def entered(self, pin: str) -> None:
        app = App.get_running_app()
        self.ids.keypad.value = ""
        if app.pin_guard is None:
            outcome = "ok" if self.purpose == "dismiss" else "none"
        else:
            outcome = app.pin_guard.check(pin, Clock.get_boottime())
        if outcome == "ok":
            app.pin_ok(self.purpose)
        elif outcome == "wrong":
            self.message = tr._("Wrong PIN. Please try again.")
        elif outcome == "none":
            self.message = tr._("Staff mode is not set up on this register.")
        else:
            self.message = tr._("Too many wrong PINs. Staff mode is locked for a few minutes.")
