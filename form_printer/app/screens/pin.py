"""The card's 4-digit PIN: a large keypad, digits masked, tries left always shown."""

from __future__ import annotations

from form_printer.screen_parts import PinEntry
from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class PinScreen(PinEntry):
    pass
