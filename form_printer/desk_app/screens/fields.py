"""Staff side: every field still empty on the visit's forms, each asked once (typed, or a choice tapped).

Text goes through Kivy's TextInput, so Japanese comes from the OS input method (IBus/fcitx on the desk's PC).
The rows are built from :func:`form_printer.fields.asks_for`: the labels are the forms' own. A
在留カード番号 is checked as it is typed (shown in red with the format until it has one): the staff fix it while the
card is still in their hand, not after the preview.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.textinput import TextInput

from form_printer.fields import Ask
from form_printer.forms.fill import is_residence_card_number
from form_printer.screen_parts import ChoiceAnswers
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton, Caption

load_screen_kv(__file__)


class FieldInput(TextInput):
    key = StringProperty("")
    #: What is typed cannot be printed (a 在留カード番号 without its format): drawn in the danger colour.
    bad = BooleanProperty(False)


class FieldRow(BoxLayout):
    """One question: the form's label (and which forms it goes on), then the input or the choices."""


class FieldsScreen(ChoiceAnswers, Screen):
    message = StringProperty("")
    #: Said while a 在留カード番号 being typed does not have the format yet.
    warning = StringProperty("")

    def show(self, asks: list[Ask], titles: dict[str, str], answers: dict[str, str]) -> None:
        self.message = ""
        self._inputs: dict[str, TextInput] = {}
        self._choices: dict[str, str] = {}
        self._buttons: dict[str, list[BigButton]] = {}
        rows = self.ids.rows
        rows.clear_widgets()
        for ask in asks:
            row = FieldRow()
            where = (
                "・".join(titles.get(f, f) for f in ask.forms) if len(ask.forms) < len(titles) else tr._("all forms")
            )
            row.add_widget(Caption(text=f"{ask.label}\n[size=14]{where}[/size]", markup=True, size_hint_x=0.32))
            if ask.kind == "choice":
                chosen = answers.get(ask.source, "")
                row.add_widget(self._choice_box(ask.source, list(ask.options), "choice", chosen, font_base=20))
            else:
                hint = {"date": tr._("YYYY-MM-DD"), "residence_card": "AB12345678CD"}.get(ask.kind, "")
                field = FieldInput(key=f"field-{ask.source}", text=answers.get(ask.source, ""), hint_text=hint)
                self._inputs[ask.source] = field
                if ask.kind == "residence_card":
                    field.bind(text=self._check_card_number)
                    self._check_card_number(field, field.text)
                row.add_widget(field)
            rows.add_widget(row)
        self._paint()
        self.ids.scroll.scroll_y = 1

    def _check_card_number(self, field: FieldInput, text: str) -> None:
        field.bad = bool(text.strip()) and not is_residence_card_number(text)
        bad = any(getattr(w, "bad", False) for w in self._inputs.values())
        self.warning = (
            tr._("The residence card number is 2 letters, 8 digits, 2 letters (AB12345678CD).") if bad else ""
        )

    def forget(self) -> None:
        """Drop every typed answer from the widgets (the visit ended)."""
        for w in getattr(self, "_inputs", {}).values():
            w.text = ""
        self._inputs, self._choices, self._buttons = {}, {}, {}
        self.ids.rows.clear_widgets()
        self.message = self.warning = ""
