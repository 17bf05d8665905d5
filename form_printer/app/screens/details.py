"""A foreign resident's own fields (国籍・地域, 在留資格, 在留カード番号...), asked once before the forms are shown.

The rows come from :meth:`form_printer.issuer.FormIssuer.variant_asks`: only what the foreign-resident variants add
to the ordinary forms, the label as the form prints it (Japanese first, the screen's language under it, taken from
the bilingual form itself). A 在留カード番号 is checked as it is typed (red, and the format said until it has one)
and "Next" refuses a malformed one: a wrong number is never printed. A field left empty is left blank on the form,
to write by hand, as on the ordinary forms.
"""

from __future__ import annotations

from kivy.metrics import dp, sp
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen
from kivy.uix.textinput import TextInput

from form_printer.fields import Ask
from form_printer.forms.fill import is_residence_card_number, parse_date
from form_printer.screen_parts import ChoiceAnswers
from kiosk.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.theme import theme
from kiosk.ui.widgets import BigButton, Body

load_screen_kv(__file__)

CARD_NUMBER_FORMAT = N_("The residence card number is 2 letters, 8 digits, 2 letters (AB12345678CD).")
NOT_A_DATE = N_("Please write the date as YYYY-MM-DD (2027-03-31).")
#: 記載事項 rows (what the certificate shows) would otherwise read like the resident's own 国籍・地域.
ON_CERTIFICATE = N_("On the certificate")


class DetailInput(TextInput):
    key = StringProperty("")
    #: What is typed cannot be printed: drawn in the danger colour.
    bad = BooleanProperty(False)


class DetailRow(BoxLayout):
    """One question: the form's label (Japanese, then the screen's language), then the input or the choices."""


class DetailsScreen(ChoiceAnswers, Screen):
    off_kind = "toggle_off"
    message = StringProperty("")

    def show(self, asks: list[Ask], lang_of) -> None:
        """``lang_of(ask)`` → (label, {value: label}) in the screen's language (the issuer's ask_in_language)."""
        self.message = ""
        self._asks = {a.source: a for a in asks}
        self._inputs: dict[str, DetailInput] = {}
        self._choices: dict[str, str] = {}
        self._buttons: dict[str, list[BigButton]] = {}
        rows = self.ids.rows
        rows.clear_widgets()
        for ask in asks:
            label, options = lang_of(ask)
            japanese = ask.label
            if ask.source.startswith("pre.include_"):
                japanese = f"記載事項: {japanese}"
                label = f"{tr._(ON_CERTIFICATE)}: {label}" if label else ""
            row = DetailRow()
            small = int(sp(16) * theme.scale)
            text = japanese + (f"\n[size={small}]{label}[/size]" if label else "")
            title = Body(text=text, markup=True, size_hint_x=0.36, pos_hint={"center_y": 0.5})
            # a long label (在留資格・在留期間・在留カード番号等) wraps: the row grows with it rather than clip it
            base = row.height  # the kv rule's: a touch target, two lines of a choice
            title.bind(height=lambda _w, h, r=row, b=base: setattr(r, "height", max(b, h + dp(8))))
            row.add_widget(title)
            if ask.kind == "choice":
                both = [(v, jp + (f"\n{options[v]}" if options.get(v) else "")) for v, jp in ask.options]
                row.add_widget(self._choice_box(ask.source, both, "detail", font_base=18, halign="center"))
            else:
                hint = {"date": "YYYY-MM-DD", "residence_card": "AB12345678CD"}.get(ask.kind, "")
                field = DetailInput(key=f"detail-{ask.source}", hint_text=hint)
                field.bind(text=lambda w, _t: self._check(w))
                self._inputs[ask.source] = field
                row.add_widget(field)
            rows.add_widget(row)
        self._paint()
        self.ids.scroll.scroll_y = 1

    def _kind(self, field: DetailInput) -> str:
        return self._asks[field.key.removeprefix("detail-")].kind

    def _check(self, field: DetailInput) -> None:
        text = field.text.strip()
        kind = self._kind(field)
        field.bad = bool(text) and (
            kind == "residence_card"
            and not is_residence_card_number(text)
            or kind == "date"
            and parse_date(text) is None
        )
        self.message = self.problem()

    def problem(self) -> str:
        """What stops "Next" (translated), "" if nothing."""
        kinds = {self._kind(w) for w in self._inputs.values() if w.bad}
        if "residence_card" in kinds:
            return tr._(CARD_NUMBER_FORMAT)
        if "date" in kinds:
            return tr._(NOT_A_DATE)
        return ""

    def refuse(self, sources: list[str]) -> None:
        """The forms said these values are malformed (the last guard): mark them and say why."""
        for source in sources:
            if source in self._inputs:
                self._inputs[source].bad = True
        self.message = self.problem() or tr._(CARD_NUMBER_FORMAT)

    def forget(self) -> None:
        """Drop every typed answer from the widgets (the visit ended)."""
        for w in getattr(self, "_inputs", {}).values():
            w.text = ""
        self._inputs, self._choices, self._buttons, self._asks = {}, {}, {}, {}
        self.ids.rows.clear_widgets()
        self.message = ""
