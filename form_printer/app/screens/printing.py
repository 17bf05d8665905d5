"""Printing, then "take your card and your forms" (or what went wrong, and how to try again)."""

from __future__ import annotations

from kivy.properties import OptionProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class PrintingScreen(Screen):
    state = OptionProperty("printing", options=["printing", "done", "failed"])
    message = StringProperty("")
