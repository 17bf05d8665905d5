"""A life event's few questions (children under 15? over 65? national insurance?): yes, no or "not sure".

Every question needs one of the three before the list is shown: "not sure" (わからない) keeps the procedures
the question decides, marked for staff to confirm, so nobody loses a procedure by skipping a question
(once, an unanswered question silently meant no).
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from queue_service.guidance import questions_for
from ticket_machine.kiosk_app.screens.steps import VisitSteps  # noqa: F401  (the kv names it)

load_screen_kv(__file__)

INTRO = N_(
    "A few questions, so we can list everything you need. Not sure? Press “Not sure”: "
    "we keep the procedure and staff will check with you."
)
ANSWER_ALL = N_("Please answer every question. If you are not sure, press “Not sure”.")


class QuestionRow(BoxLayout):
    question = ObjectProperty()
    #: True, False, "unsure" or None (not answered yet).
    answer = ObjectProperty(None, allownone=True)
    #: Not answered when the resident pressed Next: outlined until answered.
    missing = BooleanProperty(False)


class QuestionsScreen(Screen):
    message = StringProperty("")

    def on_pre_enter(self, *_a) -> None:
        self.message = ""
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
        if self.message:
            self.message = tr._(ANSWER_ALL)
        for q in questions_for(app.site, app.selection.event):
            row = QuestionRow(question=q, answer=app.selection.answer_of(q.id))
            row.ids.text.text = tr.name(q.text)
            row.ids.yes.text = tr._("Yes")
            row.ids.no.text = tr._("No")
            row.ids.unsure.text = tr._("Not sure")
            rows.add_widget(row)

    def answer(self, row: QuestionRow, yes: bool | None) -> None:
        App.get_running_app().selection.answer(row.question.id, yes)
        row.answer = "unsure" if yes is None else yes
        row.missing = False
        if self.message and not any(r.missing for r in self.ids.rows.children):
            self.message = ""

    def missing(self, unanswered: list[str]) -> bool:
        """Outline the questions still unanswered and say why the list is not shown yet; False if none."""
        rows = list(reversed(self.ids.rows.children))
        for row in rows:
            row.missing = row.question.id in unanswered
        if not unanswered:
            self.message = ""
            return False
        self.message = tr._(ANSWER_ALL)
        first = next(r for r in rows if r.missing)
        self.ids.scroll.scroll_to(first, padding=10, animate=False)
        return True
