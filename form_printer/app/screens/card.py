"""Hold the card: waiting for it, reading it, or why it could not be read (with a way back)."""

from __future__ import annotations

from kivy.properties import OptionProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class CardScreen(Screen):
    state = OptionProperty("waiting", options=["waiting", "reading", "error"])
    message = StringProperty("")
