"""Paid: the total, the change to take, the receipt (or why it was not printed); home after a while."""

from __future__ import annotations

from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.shell import load_screen_kv
from register.checkout import Settlement

load_screen_kv(__file__)


class DoneScreen(Screen):
    total = NumericProperty(0)
    tendered = NumericProperty(0)
    change = NumericProperty(0)
    method = StringProperty("cash")
    brand = StringProperty("")
    receipt_printed = BooleanProperty(True)
    tx = StringProperty("")

    def show(self, settlement: Settlement) -> None:
        record = settlement.record
        paid = record.paid or {}
        self.total = record.total
        self.tendered = paid.get("tendered", record.total)
        self.change = paid.get("change", 0)
        self.method = paid.get("method", "cash")
        self.brand = paid.get("brand") or ""
        self.receipt_printed = settlement.receipt_printed
        self.tx = record.id

    def on_touch_down(self, touch):
        if self.collide_point(*touch.pos) and not super().on_touch_down(touch):
            from kivy.app import App

            App.get_running_app().finish()
            return True
        return True
