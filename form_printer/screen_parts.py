"""Kivy pieces the form issuer's and the counter desk's screens share. No kv rules here: each app's screens load
their own, so neither app loads the other's (their screen classes share names)."""

from __future__ import annotations

import logging
from io import BytesIO
from typing import Any

from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.graphics import Color, Line
from kivy.metrics import dp
from kivy.properties import NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen

from form_printer.card.protocol import CardError
from form_printer.forms.spool import SpoolError
from form_printer.messages import CARD_MESSAGES
from kiosk.ui.lang import tr
from kiosk.ui.link import on_main
from kiosk.ui.theme import theme
from kiosk.ui.widgets import BigButton

log = logging.getLogger(__name__)


def show_print_failure(screen, exc: Exception) -> None:
    """A print job that failed: logged (a refused job as a warning, anything else with its trace) and said on
    ``screen`` (its ``state`` and ``message``) in words a resident or staff member can act on."""
    if isinstance(exc, SpoolError):
        log.warning("print job refused: %s", exc)
    else:
        log.exception("printing failed", exc_info=exc)
    screen.state = "failed"
    screen.message = tr._("The printer is not available. Try again, or ask a member of staff.")


def texture_of(picture):
    """A Kivy texture from a Pillow image, through an in-memory PNG (never a file: the page is personal)."""
    buffer = BytesIO()
    picture.convert("L").save(buffer, format="PNG")
    buffer.seek(0)
    texture = CoreImage(buffer, ext="png").texture
    buffer.close()
    return texture


def pin_slots(value: str, length: int = 4) -> list[bool]:
    """Which of the PIN's ``length`` slots are filled: the resident sees before typing how many digits to give,
    and while typing how many are still to come."""
    return [i < len(value) for i in range(length)]


class _Slot(Label):
    """One PIN box: an outline in the text colour, a dot once its digit is typed."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        with self.canvas.after:
            self._colour = Color(*theme.fg)
            self._line = Line(width=dp(1.6))
        self.bind(pos=self._outline, size=self._outline)
        theme.bind(fg=self._recolour)

    def _outline(self, *_a) -> None:
        self._line.rectangle = (self.x, self.y, self.width, self.height)

    def _recolour(self, *_a) -> None:
        self._colour.rgba = theme.fg
        self.color = theme.fg


class PinSlots(BoxLayout):
    """A row of ``length`` outlined boxes above the keypad, a dot in each digit typed (the digits never shown).
    Built in Python (no kv rule): the form issuer and the desk each load their own kv files."""

    value = StringProperty("")
    length = NumericProperty(4)

    def __init__(self, **kw) -> None:
        kw.setdefault("spacing", dp(12))
        kw.setdefault("size_hint_y", None)
        super().__init__(**kw)
        self._boxes: list[_Slot] = []
        self.bind(length=self._build, value=self._fill)
        theme.bind(scale=self._build)
        self._build()

    def _build(self, *_a) -> None:
        self.clear_widgets()
        self._boxes = []
        self.height = dp(64) * theme.scale
        for _ in range(int(self.length)):
            box = _Slot(font_size=dp(34) * theme.scale, color=theme.fg, bold=True)
            self._boxes.append(box)
            self.add_widget(box)
        self._fill()

    def _fill(self, *_a) -> None:
        for box, filled in zip(self._boxes, pin_slots(self.value, int(self.length)), strict=True):
            box.text = "●" if filled else ""


class PinEntry(Screen):
    """The card's 4-digit PIN on a keypad (``ids.keypad``): tries left shown, the PIN handed to the app.

    A screen with ``ids.slots`` (:class:`PinSlots`) shows the digits there, so the keypad's own row of dots (a
    shared widget: it starts empty, with nothing telling how many digits are wanted) is taken out."""

    tries_left = NumericProperty(3)
    message = StringProperty("")
    busy = StringProperty("")

    def on_kv_post(self, _base) -> None:
        if "slots" not in self.ids:
            return
        keypad = self.ids.keypad
        for child in list(keypad.children):
            if isinstance(child, Label):
                keypad.remove_widget(child)

    def on_pre_enter(self, *_a) -> None:
        self.ids.keypad.value = ""

    def entered(self, pin: str) -> None:
        if len(pin) != 4:
            self.message = tr._("The PIN has 4 digits.")
            return
        self.ids.keypad.value = ""
        App.get_running_app().pin_entered(pin)


class BackgroundWork:
    """Mixed into an app with ``_work`` (a one-thread executor): card and printer work off Kivy's thread."""

    _work: Any

    def _run(self, work, done, failed) -> None:
        """``work()`` on the worker thread; ``done(result)`` or ``failed(exception)`` on Kivy's."""

        def job() -> None:
            try:
                result = work()
            except Exception as exc:  # noqa: BLE001 - every failure is shown, none kills the app
                on_main(failed, exc)
            else:
                on_main(done, result)

        self._work.submit(job)


class ChoiceAnswers:
    """Mixed into a screen of asked fields: ``_inputs`` (source → TextInput), ``_choices`` (source → the tapped
    value), ``_buttons`` (source → the choice buttons, each with ``choice = (source, value)``). A second tap on a
    chosen value clears it."""

    _inputs: dict[str, Any]
    _choices: dict[str, str]
    _buttons: dict[str, list[Any]]
    #: the button kind of an option not chosen
    off_kind = "secondary"

    def choose(self, source: str, value: str) -> None:
        self._choices[source] = "" if self._choices.get(source) == value else value
        self._paint()

    def _choice_box(self, source: str, options: list[tuple[str, str]], key: str, chosen: str = "", **style):
        """A row of tap buttons for a choice field (``options``: value, text; ``key``: the buttons' key prefix)."""
        box = BoxLayout(spacing=6)
        self._choices[source] = chosen
        buttons = []
        for value, text in options:
            b = BigButton(key=f"{key}-{source}-{value}", text=text, **style)
            b.choice = (source, value)
            b.bind(on_release=lambda btn: self.choose(*btn.choice))
            buttons.append(b)
            box.add_widget(b)
        self._buttons[source] = buttons
        return box

    def _paint(self) -> None:
        for source, buttons in self._buttons.items():
            for b in buttons:
                b.kind = "toggle_on" if b.choice[1] == self._choices.get(source) else self.off_kind

    def answers(self) -> dict[str, str]:
        out = {s: w.text for s, w in self._inputs.items()}
        out.update(self._choices)
        return out


class CardReading:
    """Mixed into an app that reads My Number cards through ``issuer`` (a :class:`FormIssuer`) on its ``card`` and
    ``pin`` screens: open the card off Kivy's thread, or say on the card screen why it cannot be read (and end the
    resident's session: nothing of a card that failed is kept). The app decides what follows an opened card
    (``_card_opened``)."""

    issuer: Any
    reader_ok: bool
    confirmed_last_try: bool

    def _open_card(self, quiet: bool) -> None:
        card = self.screen("card")  # type: ignore[attr-defined]
        card.state = "reading"
        self.confirmed_last_try = False

        def failed(exc: Exception) -> None:
            if quiet and isinstance(exc, CardError) and exc.code == "card_removed":
                card.state = "waiting"  # nothing there yet: wait for the card event
                return
            self._card_problem(exc)

        self._run(self.issuer.open_card, self._card_opened, failed)  # type: ignore[attr-defined]

    def _card_problem(self, exc: Exception) -> None:
        if isinstance(exc, CardError):
            code = exc.code
        else:
            log.exception("card: unexpected failure", exc_info=exc)
            code = "card_error"
        self.reader_ok = code != "reader_missing"
        self._update_service()  # type: ignore[attr-defined]
        self.issuer.end(f"card {code}")
        card = self.screen("card")  # type: ignore[attr-defined]
        card.state = "error"
        card.message = tr._(CARD_MESSAGES[code])
        self.goto("card")  # type: ignore[attr-defined]
