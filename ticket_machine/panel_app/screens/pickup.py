"""Later deliveries this counter hands over (事後交付): the back office marks one ready when its document is here."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton, Body

load_screen_kv(__file__)


class PickupScreen(Screen):
    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        app.bind(desk_rev=lambda *_: self.show() if app.sm.current == self.name else None)

    def on_pre_enter(self, *_a) -> None:
        App.get_running_app().message = ""
        self.show()

    def show(self) -> None:
        app = App.get_running_app()
        rows = self.ids.rows
        rows.clear_widgets()
        lines = app.pickup_lines()
        if not lines:
            rows.add_widget(Body(text=tr._("No later delivery is waiting to be marked ready."), tone="muted"))
        for line in lines:
            row = Factory.RequestRow() if line.markable else Factory.SideRow()
            row.add_widget(Body(text=line.text, font_base=20, tone="fg" if line.markable else "muted"))
            button = BigButton(key=line.key, font_base=20, text=tr._("Mark ready"), size_hint_x=None)
            button.width = button.min_width * 2.6
            button.disabled = not line.markable
            button.bind(on_release=lambda _b, t=line.ticket, p=line.procedure: app.mark_ready(t, p))
            row.add_widget(button)
            rows.add_widget(row)
