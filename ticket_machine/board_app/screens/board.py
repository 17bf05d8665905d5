"""The board: latest calls (newest highlighted), waiting per group, a notice in every language."""

from __future__ import annotations

from kivy.animation import Animation
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.screenmanager import Screen

from kiosk.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import Body
from ticket_machine.board_app.view import call_lines, group_lines, ticker_text

load_screen_kv(__file__)

NOTICE = N_("Please come to the counter when your number is called.")
CALLS_SHOWN = 6


class BoardScreen(Screen):
    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        app.bind(recent=lambda *_: self.show_calls(), group_version=lambda *_: self.show_groups())
        self.ids.ticker.text = ticker_text(NOTICE)
        Clock.schedule_once(lambda _dt: self.scroll_ticker(), 0.5)
        self.show_calls()
        self.show_groups()

    def show_calls(self) -> None:
        app = App.get_running_app()
        lines = call_lines(app.site, app.recent, tr.lang, app.device.floors)[:CALLS_SHOWN]
        text = [f"[b]{line.number}[/b]　→　{line.counter}（{line.floor}F）" for line in lines]
        self.ids.newest_text.text = text[0] if text else ""
        box = self.ids.calls
        box.clear_widgets()
        for older in text[1:]:
            box.add_widget(Body(text=older, markup=True, font_base=40))
        self.ids.empty.text = "" if lines else tr._("No numbers called yet.")

    def show_groups(self) -> None:
        app = App.get_running_app()
        box = self.ids.groups
        box.clear_widgets()
        for name, floor, waiting, est in group_lines(app.site, app.group_states, tr.lang, app.device.floors):
            wait = (
                "—" if est is None else tr._("No wait") if est == 0 else tr._("about {minutes} min").format(minutes=est)
            )
            box.add_widget(
                Body(text=f"{floor}F {name}\n   {tr._('Waiting: {count}').format(count=waiting)}　{wait}", font_base=20)
            )

    def scroll_ticker(self) -> None:
        label = self.ids.ticker
        label.texture_update()
        width = label.texture_size[0]
        label.x = self.width
        anim = Animation(x=-width, duration=max(10.0, width / 120.0))
        anim.bind(on_complete=lambda *_: self.scroll_ticker())
        anim.start(label)
