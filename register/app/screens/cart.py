"""The slips to pay: payee, reference, deadline, amount, remove; the total; pay by cash or cashless."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from register.app.texts import day, yen

load_screen_kv(__file__)


class CartScreen(Screen):
    #: Why the last scan was refused, or why the last payment did not go through.
    message = StringProperty("")
    total = NumericProperty(0)
    count = NumericProperty(0)

    def on_kv_post(self, _base) -> None:
        tr.bind(lang=lambda *_: self.refresh())

    def refresh(self) -> None:
        """Rebuild the rows from the app's cart (after a scan, a removal, a language switch)."""
        app = App.get_running_app()
        lines = app.cart.lines if app.cart is not None else []
        rows = self.ids.rows
        rows.clear_widgets()
        for index, line in enumerate(lines):
            row = Factory.CartRow()
            row.payee = tr.name(line.payee.names)
            detail = []
            if line.slip.kind == "fee":
                detail.append(tr._("Fee entered by staff"))
            if line.slip.reference:
                detail.append(tr._("No. {reference}").format(reference=line.slip.reference))
            if line.slip.deadline:
                detail.append(tr._("Pay by {date}").format(date=day(line.slip.deadline)))
            row.detail = "   ".join(detail)
            row.amount = yen(line.slip.amount)
            row.index = index
            row.ids.remove_button.key = f"remove-{index}"
            rows.add_widget(row)
        self.total = sum(line.slip.amount for line in lines)
        self.count = len(lines)
