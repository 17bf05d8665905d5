"""Resident side: the PIN pad the resident types on (the staff turn the screen): tries shown, last try confirmed."""

from __future__ import annotations

from kivy.properties import BooleanProperty

from form_printer.screen_parts import PinEntry
from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class PinScreen(PinEntry):
    #: One try left and not yet confirmed: the pad is hidden until the resident says "continue".
    last_try = BooleanProperty(False)
