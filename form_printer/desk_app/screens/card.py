"""Staff side: the resident's My Number Card on the desk's reader (waiting, reading, or why not)."""

from __future__ import annotations

from kivy.properties import OptionProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class CardScreen(Screen):
    state = OptionProperty("waiting", options=["waiting", "reading", "error"])
    message = StringProperty("")
