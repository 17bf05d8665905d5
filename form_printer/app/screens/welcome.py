"""Welcome: what this machine does, and "hold your card" (a card placed here starts the visit too)."""

from __future__ import annotations

from kivy.properties import StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class WelcomeScreen(Screen):
    #: Why the last visit ended early (card taken away, ...), shown once.
    notice = StringProperty("")
