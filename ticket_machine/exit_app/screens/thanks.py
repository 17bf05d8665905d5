"""Thanks (or: this ticket had already answered); back to the start by itself after a few seconds."""

from __future__ import annotations

from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class ThanksScreen(Screen):
    """Its words are the app's ``message`` (bound in the kv rule)."""
