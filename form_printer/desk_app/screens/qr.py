"""Staff side: the resident's pre-entry QR code (the city's web form), read by the desk's scanner."""

from __future__ import annotations

from kivy.properties import OptionProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class QrScreen(Screen):
    state = OptionProperty("waiting", options=["waiting", "ok", "bad"])
    message = StringProperty("")
