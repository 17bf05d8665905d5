"""Staff must come: a payment whose outcome is unknown, or money the machine could not give.

The register stays closed here until a member of staff enters the PIN and resumes (recovery).
"""

from __future__ import annotations

from kivy.properties import NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class HelpScreen(Screen):
    why = StringProperty("unknown")
    tx = StringProperty("")
    amount = NumericProperty(0)

    def show(self, why: str, tx: str, amount: int) -> None:
        self.why, self.tx, self.amount = why, tx, amount
