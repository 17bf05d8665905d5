"""Widgets every appliance screen is made of (rules in ``widgets.kv``).

Buttons carry a ``key``: a stable name the UI tests (and logs) use to find them,
whatever language their label is in.
"""

from __future__ import annotations

from pathlib import Path

from kivy.app import App
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.label import Label
from kivy.uix.textinput import TextInput

from kiosk.i18n import LANGUAGES
from kiosk.ui.lang import tr


class BigButton(Button):
    key = StringProperty("")
    kind = OptionProperty("primary", options=["primary", "secondary", "danger", "toggle_on", "toggle_off", "quiet"])
    font_base = NumericProperty(24)

    @staticmethod
    def fill(kind: str, state: str, disabled: bool, primary, danger, secondary) -> tuple[float, float, float, float]:
        """Background colour: by kind, dimmed while pressed or disabled."""
        if kind == "quiet":
            r, g, b, a = 1.0, 1.0, 1.0, 0.14
        else:
            r, g, b, a = {"primary": primary, "toggle_on": primary, "danger": danger}.get(kind, secondary)
        return r, g, b, a * (0.55 if state == "down" else 0.4 if disabled else 1.0)


class ThemedLabel(Label):
    """Text in the theme's size (``font_base`` scaled by the larger-text switch) and colour (``tone``)."""

    font_base = NumericProperty(22)
    tone = OptionProperty("fg", options=["fg", "muted", "danger", "ok", "bar_fg", "primary_fg"])


class Body(ThemedLabel):
    """Text that wraps to its width and is as tall as its text (give it no height of its own)."""


class Caption(ThemedLabel):
    """Text in a box that its layout sizes (a title bar, a count or an amount beside buttons): it wraps
    inside the box and never resizes it. A Body given a fixed height would loop every frame (its rule
    sizes it to its text while ``text_size: self.size`` sizes the text to it) and flood the log with
    Kivy's "too much iteration" warning."""


class NoteInput(TextInput):
    """A staff note (handover to the next counter)."""

    key = StringProperty("")


class Surface(BoxLayout):
    colour = ListProperty([1, 1, 1, 1])


class Collapsible(BoxLayout):
    """A row that is really gone when hidden: its children leave the tree.

    Zero height and zero opacity are not enough: the children still stick out of a
    zero-height box, and a disabled widget swallows touches, so a hidden row would eat
    the taps meant for whatever it overlaps.
    """

    shown = BooleanProperty(True)

    def __init__(self, **kw) -> None:
        self._kept: list = []
        super().__init__(**kw)
        self.fbind("shown", self._apply)

    def on_kv_post(self, _base) -> None:
        self._apply()

    def _apply(self, *_a) -> None:
        if self.shown and self._kept:
            for child in self._kept:
                self.add_widget(child)
            self._kept = []
        elif not self.shown and self.children:
            self._kept = list(reversed(self.children))
            self.clear_widgets()


class LanguageBar(Collapsible):
    """One button per language, each written in its own language; tapping switches at once."""

    def on_kv_post(self, _base) -> None:
        for code, name in LANGUAGES.items():
            button = BigButton(text=name, key=f"lang-{code}", kind="quiet", font_base=18)
            button.lang_code = code
            button.bind(on_release=lambda b: App.get_running_app().set_language(b.lang_code))
            self.add_widget(button)
        super().on_kv_post(_base)


class OutOfService(FloatLayout):
    """Covers the screen and swallows touches while the broker or the queue service is away."""

    active = BooleanProperty(False)

    def on_touch_down(self, touch):
        return self.active or super().on_touch_down(touch)

    def on_touch_up(self, touch):
        return self.active or super().on_touch_up(touch)


class Keypad(BoxLayout):
    """A PIN pad: digits shown as dots; ``on_enter`` fires with the digits."""

    value = StringProperty("")
    max_length = NumericProperty(8)
    __events__ = ("on_enter",)

    def on_kv_post(self, _base) -> None:
        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "clear", "0", "enter"):
            button = BigButton(key=f"pin-{key}", kind="primary" if key == "enter" else "secondary", font_base=32)
            button.pad_key = key
            button.bind(on_release=lambda b: self.press(b.pad_key))
            self.ids.grid.add_widget(button)
        self._label_keys()
        tr.bind(lang=lambda *_: self._label_keys())

    def _label_keys(self) -> None:
        labels = {"clear": tr._("Clear"), "enter": tr._("OK")}
        for button in self.ids.grid.children:
            button.text = labels.get(button.pad_key, button.pad_key)

    def press(self, key: str) -> None:
        if key == "clear":
            self.value = ""
        elif key == "enter":
            self.dispatch("on_enter", self.value)
        elif len(self.value) < self.max_length:
            self.value += key

    def on_enter(self, value: str) -> None:
        pass


Builder.load_file(str(Path(__file__).with_suffix(".kv")))
