"""Paying by card, e-money or QR code: follow the terminal; cancel stops it waiting for a card."""

from __future__ import annotations

from kivy.properties import NumericProperty, OptionProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class CashlessScreen(Screen):
    state = OptionProperty("waiting", options=["waiting", "cancelling"])
    total = NumericProperty(0)
