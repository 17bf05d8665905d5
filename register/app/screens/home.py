"""Home: "scan your payment slips" with a picture of where the code is; scanning starts a cart."""

from __future__ import annotations

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class HomeScreen(Screen):
    #: Why the last scan was refused (an empty cart), in the resident's language.
    message = StringProperty("")
