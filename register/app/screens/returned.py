"""The payment was cancelled: "please take your money" with the amount given back."""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class ReturnedScreen(Screen):
    amount = NumericProperty(0)
    reason = StringProperty("")

    def show(self, amount: int, reason: str) -> None:
        self.amount, self.reason = amount, reason
