"""Every procedure of the site, by counter group and floor: tick what the visit needs, then "Next".

A tap ticks or unticks (the list stays, so a resident can pick two certificates); the primary button goes on
to the guidance list, where the ticket is issued. "Back" returns where the resident came from.
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import StringProperty
from kivy.uix.gridlayout import GridLayout
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton, Body
from ticket_machine.kiosk_app.screens.steps import VisitSteps  # noqa: F401  (the kv names it)
from ticket_machine.kiosk_app.slip import floor_text

load_screen_kv(__file__)


class CatalogScreen(Screen):
    #: Where "Back" goes: ``home`` (came for one procedure) or ``guidance`` (adding to a life event's list).
    back_to = StringProperty("guidance")

    def on_kv_post(self, _base) -> None:
        tr.bind(lang=lambda *_: self.rebuild() if self.manager and self.manager.current == self.name else None)

    def on_pre_enter(self, *_a) -> None:
        self.rebuild()

    def rebuild(self) -> None:
        app = App.get_running_app()
        box = self.ids.groups
        box.clear_widgets()
        chosen = set(app.selection.chosen(app.site))
        for group in app.site.groups:
            procs = [p for p in app.site.procedures if p.group == group.id]
            if not procs:
                continue
            box.add_widget(Body(text=f"{floor_text(tr.lang, group.floor)}  {tr.name(group.names)}", bold=True))
            grid = GridLayout(cols=3, spacing=8, size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            for proc in procs:
                button = BigButton(
                    key=f"pick-{proc.id}",
                    text=("✓ " if proc.id in chosen else "") + tr.name(proc.names),
                    kind="toggle_on" if proc.id in chosen else "secondary",
                    font_base=21,
                )
                button.bind(on_release=lambda _b, p=proc.id: self.pick(p))
                grid.add_widget(button)
            box.add_widget(grid)
        self.ids.next.disabled = not chosen

    def pick(self, procedure: str) -> None:
        app = App.get_running_app()
        app.selection.pick(app.site, procedure)
        scroll = self.ids.scroll.scroll_y
        self.rebuild()
        self.ids.scroll.scroll_y = scroll
