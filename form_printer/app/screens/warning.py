"""One PIN try left: a wrong PIN now locks the card, so the resident decides before we send one."""

from __future__ import annotations

from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class WarningScreen(Screen):
    pass
