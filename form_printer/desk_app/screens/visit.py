"""The staff's home: the visit the counter serves now, its forms, and where the resident's data comes from."""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)


class VisitScreen(Screen):
    #: "No. 12 — 転入届, 印鑑登録 ..." or the line saying nobody is served.
    serving_text = StringProperty("")
    forms_text = StringProperty("")
    can_open = BooleanProperty(False)
    #: The staff marked the resident a foreign resident (their call, never the card's): the variants are used.
    foreign = BooleanProperty(False)
    #: What happened last (printed, wiped): no personal data, only counts.
    notice = StringProperty("")
