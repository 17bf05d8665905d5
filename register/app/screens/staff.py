"""Staff (PIN): key in fees for the resident to pay (semi-self), then hand over; the outbox, the last
recovery report, reprint the last receipt, resume after a stop."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton, Body
from register.app.screens.start import report_text
from register.app.texts import yen

load_screen_kv(__file__)

MAX_DIGITS = 7


def fee_payees(settings) -> list:
    """The site's payees staff may key in (``fee = true``)."""
    return [p for p in settings.payees if p.fee]


class StaffScreen(Screen):
    payee = StringProperty("")
    amount = StringProperty("")
    message = StringProperty("")
    lines = ListProperty([])
    has_fees = BooleanProperty(False)

    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        for payee in fee_payees(app.settings):
            button = BigButton(key=f"fee-{payee.id}", kind="toggle_off", font_base=20)
            button.payee = payee
            button.bind(on_release=lambda b: self.pick(b.payee.id))
            self.ids.payees.add_widget(button)
            self.has_fees = True
        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "00"):
            button = BigButton(key=f"amount-{key}", kind="secondary", font_base=28)
            button.pad_key = key
            button.bind(on_release=lambda b: self.press(b.pad_key))
            self.ids.pad.add_widget(button)
        tr.bind(lang=lambda *_: self.refresh())
        self.bind(payee=lambda *_: self._label())
        self.refresh()

    def _label(self) -> None:
        for button in self.ids.payees.children:
            button.kind = "toggle_on" if button.payee.id == self.payee else "toggle_off"
            button.text = tr.name(button.payee.names)
        for button in self.ids.pad.children:
            button.text = tr._("Clear") if button.pad_key == "clear" else button.pad_key

    def refresh(self) -> None:
        app = App.get_running_app()
        self._label()
        lines = app.cart.lines if app.cart is not None else []
        self.lines = [f"{tr.name(line.payee.names)}  {yen(line.slip.amount)}" for line in lines]
        box = self.ids.reports
        box.clear_widgets()
        for row in app.reports:
            box.add_widget(Body(text=report_text(row), markup=True, font_base=18))
        if not app.reports:
            none = tr._("No unfinished payments were found at start-up.")
            box.add_widget(Body(text=none, font_base=18, tone="muted"))

    def pick(self, payee_id: str) -> None:
        self.payee = payee_id
        self.message = ""

    def press(self, key: str) -> None:
        self.message = ""
        if key == "clear":
            self.amount = ""
        elif len(self.amount + key) <= MAX_DIGITS and (self.amount or key not in ("0", "00")):
            self.amount += key

    def add(self) -> None:
        if not self.payee or not self.amount:
            self.message = tr._("Choose the fee and key in the amount.")
            return
        problem = App.get_running_app().add_fee(self.payee, int(self.amount))
        if problem:
            self.message = problem
            return
        self.amount = ""
        self.message = ""
        self.refresh()
