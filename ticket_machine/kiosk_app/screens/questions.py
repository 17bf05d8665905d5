"""A life event's few yes/no questions (children under 15? over 65? national insurance?)."""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from queue_service.guidance import questions_for

load_screen_kv(__file__)


class QuestionRow(BoxLayout):
    question = ObjectProperty()
    answer = ObjectProperty(None, allownone=True)
    yes_first = BooleanProperty(True)


class QuestionsScreen(Screen):
    def on_pre_enter(self, *_a) -> None:
        self.rebuild()

    def on_kv_post(self, _base) -> None:
        tr.bind(lang=lambda *_: self.rebuild() if self.manager and self.manager.current == self.name else None)

    def rebuild(self) -> None:
        app = App.get_running_app()
        rows = self.ids.rows
        rows.clear_widgets()
        if app.selection.event is None:
            return
        self.ids.event_name.text = tr.name(app.site.life_event_by_id[app.selection.event].names)
        for q in questions_for(app.site, app.selection.event):
            row = QuestionRow(question=q, answer=app.selection.answers.get(q.id))
            row.ids.text.text = tr.name(q.text)
            row.ids.yes.text = tr._("Yes")
            row.ids.no.text = tr._("No")
            rows.add_widget(row)

    def answer(self, row: QuestionRow, yes: bool) -> None:
        App.get_running_app().selection.answer(row.question.id, yes)
        row.answer = yes
