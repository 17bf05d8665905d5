"""Before the first resident: recovery of what a crash left open, and what it did (staff, PIN)."""

from __future__ import annotations

from kivy.properties import ListProperty, OptionProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import Body
from register.app.texts import RESULTS, recovery_event, yen

load_screen_kv(__file__)


def report_text(row: dict) -> str:
    """One recovered transaction in a line or two for staff."""
    parts = [f"[b]{row['tx']}[/b]", tr._(RESULTS.get(row["result"], row["result"])), yen(row["total"])]
    if row["given_back"]:
        parts.append(tr._("given back: {amount}").format(amount=yen(row["given_back"])))
    if row["change"]:
        parts.append(tr._("change: {amount}").format(amount=yen(row["change"])))
    if row["owed"]:
        owed = tr._("staff must hand over: {amount}").format(amount=yen(row["owed"]))
        parts.append(f"[color=b3261e]{owed}[/color]")
    events = ", ".join(recovery_event(e) for e in row["events"])
    return " · ".join(parts) + (f"\n    {events}" if events else "")


class StartScreen(Screen):
    state = OptionProperty("checking", options=["checking", "report", "blocked"])
    message = StringProperty("")
    rows = ListProperty([])

    def on_kv_post(self, _base) -> None:
        tr.bind(lang=lambda *_: self._fill())
        self.bind(rows=lambda *_: self._fill())

    def show(self, rows: list[dict]) -> None:
        self.rows = list(rows)

    def _fill(self) -> None:
        box = self.ids.reports
        box.clear_widgets()
        for row in self.rows:
            box.add_widget(Body(text=report_text(row), markup=True, font_base=20))
