"""Paying by cash: the total, what went in so far (live), what is still to pay; cancel gives it back."""

from __future__ import annotations

from kivy.properties import NumericProperty, OptionProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class CashScreen(Screen):
    state = OptionProperty("starting", options=["starting", "accepting", "settling", "returning"])
    total = NumericProperty(0)
    inserted = NumericProperty(0)
