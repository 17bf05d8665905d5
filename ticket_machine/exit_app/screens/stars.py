"""The start: each of the site's questions with five big stars; "Next" once every question has its stars."""

from __future__ import annotations

from kivy.app import App
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton, Body
from ticket_machine.exit_app.survey import STARS

load_screen_kv(__file__)


class StarsScreen(Screen):
    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        self.rows: list[tuple[str, Body, list[BigButton]]] = []
        for question in app.form.questions:
            text = Body(font_base=28, bold=True)
            text.names = question.text
            row = BoxLayout(spacing="12dp", size_hint_y=None)
            buttons = []
            for n in STARS:
                button = BigButton(key=f"star-{question.id}-{n}", font_base=36)
                button.bind(on_release=lambda _b, q=question.id, n=n: app.choose(q, n))
                row.add_widget(button)
                buttons.append(button)
            row.bind(minimum_height=row.setter("height"))
            row.height = buttons[0].height
            buttons[0].bind(height=lambda b, h, r=row: setattr(r, "height", h))
            self.ids.questions.add_widget(text)
            self.ids.questions.add_widget(row)
            self.rows.append((question.id, text, buttons))
        app.bind(form_version=lambda *_: self.show())
        tr.bind(lang=lambda *_: self.show())
        self.show()

    def show(self) -> None:
        app = App.get_running_app()
        for qid, text, buttons in self.rows:
            text.text = tr.name(text.names)
            chosen = app.form.stars.get(qid, 0)
            for n, button in enumerate(buttons, 1):
                button.kind = "toggle_on" if n <= chosen else "secondary"
                button.text = f"★ [size={int(button.font_size * 0.6)}]{n}[/size]"
                button.markup = True
        self.ids.next.disabled = not app.form.complete
