"""Later deliveries this counter hands over (事後交付), as the queue service lists them: the back office marks one
ready when its document is here, and the resident is then called to this counter."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.metrics import dp
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
        """One row per later delivery the queue service lists: 「準備完了」 on those to mark, none on the ready ones
        (they wait to be called here; a disabled button would only invite taps)."""
        app = App.get_running_app()
        rows = self.ids.rows
        rows.clear_widgets()
        lines = app.pickup_lines()
        if not lines:
            rows.add_widget(Body(text=tr._("No later delivery is waiting to be marked ready."), tone="muted"))
        for line in lines:
            row = Factory.RequestRow() if line.markable else Factory.SideRow(padding=(dp(8), dp(4)))
            row.add_widget(Body(text=line.text, font_base=20, tone="fg" if line.markable else "muted"))
            if line.markable:
                button = BigButton(key=line.key, font_base=20, text=tr._("Mark ready"), size_hint_x=None)
                button.width = button.min_width * 2.6
                button.bind(on_release=lambda _b, t=line.ticket, p=line.procedure: app.mark_ready(t, p))
                row.add_widget(button)
            rows.add_widget(row)
