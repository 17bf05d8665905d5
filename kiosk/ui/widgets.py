"""Widgets every appliance screen is made of (rules in ``widgets.kv``).

Buttons carry a ``key``: a stable name the UI tests (and logs) use to find them,
whatever language their label is in. Every label and button here wraps Japanese and
Chinese between phrases (:class:`PhraseWrap`), never inside a word.
"""

from __future__ import annotations

import math
from pathlib import Path

from kivy.app import App
from kivy.core.text import Label as CoreLabel
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.label import Label
from kivy.uix.textinput import TextInput
from kivy.utils import get_hex_from_color

from kiosk.i18n import LANGUAGES
from kiosk.ui.lang import tr
from kiosk.ui.linebreak import fit_lines, needs_phrase_wrap
from kiosk.ui.theme import theme

Colour = tuple[float, float, float, float]


class PhraseWrap:
    """Mixin for a Label: lines end between phrases (BudouX), measured in the label's own font.

    Kivy wraps at spaces only and cuts Japanese anywhere ("次の方を呼 / 出"); here the text handed to
    the renderer already has its line ends (:func:`kiosk.ui.linebreak.fit_lines`), so Kivy never cuts.
    ``text`` itself is left as set (tests and screens read it back unchanged).
    """

    def _phrase_text(self) -> str:
        text: str = self.text  # type: ignore[attr-defined]
        width = self.text_size[0]  # type: ignore[attr-defined]
        if width is None or self.shorten or not needs_phrase_wrap(text):  # type: ignore[attr-defined]
            return text
        core = self._label  # type: ignore[attr-defined]
        return fit_lines(text, tr.lang, width - 1, lambda s: core.get_extents(s)[0], markup=self.markup)  # type: ignore[attr-defined]

    def texture_update(self, *largs) -> None:
        wrapped = self._phrase_text()
        if not self.markup:  # type: ignore[attr-defined]
            # always reset: the core label may still hold the lines of a narrower width
            self._label.text = wrapped  # type: ignore[attr-defined]
            super().texture_update(*largs)  # type: ignore[misc]
        elif wrapped == self.text:  # type: ignore[attr-defined]
            super().texture_update(*largs)  # type: ignore[misc]
        else:
            self._markup_texture(wrapped)

    def _markup_texture(self, text: str) -> None:
        """Kivy's Label.texture_update for markup, on ``text`` instead of ``self.text``."""
        self.texture = None  # type: ignore[attr-defined]
        colour = self.disabled_color if self.disabled else self.color  # type: ignore[attr-defined]
        self._label.text = f"[color={get_hex_from_color(colour)}]{text}[/color]"  # type: ignore[attr-defined]
        self._label.refresh()  # type: ignore[attr-defined]
        if self._label.texture:  # type: ignore[attr-defined]
            self._label.texture.bind()  # type: ignore[attr-defined]
        self.refs = self._label.refs  # type: ignore[attr-defined]
        self.anchors = self._label.anchors  # type: ignore[attr-defined]
        if self._label.texture is not None:  # type: ignore[attr-defined]
            self.texture = self._label.texture  # type: ignore[attr-defined]
            self.texture_size = list(self.texture.size)  # type: ignore[attr-defined]
        self.is_shortened = self._label.is_shortened  # type: ignore[attr-defined]


#: Button kinds. ``quiet``: a plain control on the screen's background; ``bar``: a control on the bars.
KINDS = ["primary", "secondary", "danger", "toggle_on", "toggle_off", "quiet", "bar"]


class BigButton(PhraseWrap, Button):
    """A touch target at least ``theme.touch`` (≥ 15 mm) high, with an edge ≥ 3:1 against its background.

    ``fit``: the label stays on one line and its font shrinks to the button's width (language names,
    short bar controls) instead of wrapping and growing the button.
    """

    key = StringProperty("")
    kind = OptionProperty("primary", options=KINDS)
    font_base = NumericProperty(24)
    fit = BooleanProperty(False)

    @staticmethod
    def fill(
        kind: str, state: str, disabled: bool, primary, danger, secondary, card=None, disabled_fill=None
    ) -> Colour:
        """Background colour: by kind, lighter while pressed; a disabled button is grey whatever its kind
        (a disabled 完了 must not look like the active one)."""
        if disabled:
            r, g, b, a = disabled_fill if disabled_fill is not None else secondary
            return r, g, b, a
        if kind == "bar":
            r, g, b, a = 1.0, 1.0, 1.0, 0.14
        elif kind == "quiet":
            r, g, b, a = card if card is not None else secondary
        else:
            r, g, b, a = {"primary": primary, "toggle_on": primary, "danger": danger}.get(kind, secondary)
        return r, g, b, a * (0.55 if state == "down" else 1.0)

    @staticmethod
    def edge_colour(kind: str, disabled: bool, accessible: bool, edge, bar_fg, fg) -> Colour:
        """The outline: the theme's edge colour around the pale kinds, which alone are ~1.2:1 against
        the background; solid kinds (primary, danger) contrast by their fill and get a white outline
        only in high contrast. Disabled buttons have a dashed edge instead (see widgets.kv)."""
        if disabled:
            return 0, 0, 0, 0
        if kind == "bar":
            return tuple(bar_fg)  # type: ignore[return-value]
        if kind in ("secondary", "toggle_off", "quiet"):
            return tuple(edge)  # type: ignore[return-value]
        if kind == "toggle_on":  # also on the bar, where the primary fill alone is ~1.5:1
            return tuple(fg if accessible else bar_fg)  # type: ignore[return-value]
        return tuple(fg) if accessible else (0, 0, 0, 0)  # type: ignore[return-value]

    @staticmethod
    def text_colour(kind: str, primary_fg, secondary_fg, fg, bar_fg, danger_fg) -> Colour:
        colour = {
            "primary": primary_fg,
            "toggle_on": primary_fg,
            "danger": danger_fg,
            "bar": bar_fg,
            "quiet": fg,
        }.get(kind, secondary_fg)
        return tuple(colour)  # type: ignore[return-value]

    @staticmethod
    def fitted_font(text: str, width: float, size: float, bold: bool) -> float:
        """The font size (≤ ``size``) at which ``text`` fits ``width`` on one line. Measured at ``size``
        (not at the button's current font size), so it never feeds back into itself."""
        longest = max((line for line in text.split("\n")), key=len, default="")
        if not longest or width <= 0:
            return size
        core = CoreLabel(text=longest, font_size=size, bold=bold)
        measured = core.get_extents(longest)[0]
        return size if measured <= width else max(size * width / measured, size * 0.5)


class ThemedLabel(PhraseWrap, Label):
    """Text in the theme's size (``font_base`` scaled by the larger-text switch) and colour (``tone``),
    wrapped between phrases."""

    font_base = NumericProperty(22)
    tone = OptionProperty("fg", options=["fg", "muted", "danger", "ok", "bar_fg", "primary_fg", "disabled_fg"])


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
    """One button per language, each written in its own language; tapping switches at once.

    The names stay on one line whatever the text size (their font shrinks to fit, ``BigButton.fit``),
    and the buttons flow into a second row when the bar is too narrow for all of them at the touch size:
    the bar never grows because a name got longer. The current language is marked (``toggle_on``).
    """

    def on_kv_post(self, _base) -> None:
        grid = GridLayout(rows=1, spacing=self.spacing, size_hint_y=None)
        self.grid = grid
        site = getattr(App.get_running_app(), "site", None)  # only the languages the site lists (site.toml)
        for code, name in ((c, LANGUAGES[c]) for c in (site.site.languages if site is not None else LANGUAGES)):
            button = BigButton(text=name, key=f"lang-{code}", kind="bar", font_base=18, fit=True)
            button.lang_code = code
            button.bind(on_release=lambda b: App.get_running_app().set_language(b.lang_code))
            grid.add_widget(button)
        self.add_widget(grid)
        self.fbind("width", self._flow)
        theme.fbind("touch", self._flow)
        tr.fbind("lang", self._mark)
        self._flow()
        self._mark()
        super().on_kv_post(_base)

    def _flow(self, *_a) -> None:
        count = len(self.grid.children)
        least = theme.touch * 1.25 + self.grid.spacing[0]
        cols = max(1, min(count, int((self.width + self.grid.spacing[0]) // least))) if self.width > 1 else count
        rows = math.ceil(count / cols)
        self.grid.rows, self.grid.cols = None, cols
        self.grid.height = rows * theme.touch + (rows - 1) * self.grid.spacing[1]

    def _mark(self, *_a) -> None:
        for button in self.grid.children:
            button.kind = "toggle_on" if button.lang_code == tr.lang else "bar"


class StaffButton(BigButton):
    """The way into a staff-only mode: says "staff only" (職員専用, not "かかりの ひと", which residents
    read as "help") and looks quiet; the resident's help is the shell's Call staff button."""


class StepIndicator(BoxLayout):
    """Where a resident is in a flow: "1 えらぶ → 2 かくにん → 3 発券", the current step filled.

    ``steps``: the step names, already translated (the screen re-sets them on ``tr.lang``);
    ``current``: the index of the step shown now (0-based). Not a control: it takes no touches.
    """

    steps = ListProperty([])
    current = NumericProperty(0)
    font_base = NumericProperty(20)

    def on_kv_post(self, _base) -> None:
        for name in ("steps", "current", "font_base"):
            self.fbind(name, self._build)
        theme.fbind("scale", self._build)
        self._build()

    def _build(self, *_a) -> None:
        self.clear_widgets()
        for index, name in enumerate(self.steps):
            if index:
                self.add_widget(StepArrow(font_base=self.font_base))
            self.add_widget(
                StepLabel(
                    text=f"{index + 1}  {name}",
                    font_base=self.font_base,
                    now=index == self.current,
                    done=index < self.current,
                )
            )


class StepLabel(ThemedLabel):
    """One step of a :class:`StepIndicator`."""

    now = BooleanProperty(False)
    done = BooleanProperty(False)


class StepArrow(ThemedLabel):
    """The arrow between two steps."""


class Overlay(FloatLayout):
    """A cover over the whole app while ``active``: it takes every touch (its own buttons get theirs);
    while inactive it is invisible and lets every touch through, buttons included."""

    active = BooleanProperty(False)

    def on_touch_down(self, touch):
        return super().on_touch_down(touch) or True if self.active else False

    def on_touch_move(self, touch):
        return super().on_touch_move(touch) or True if self.active else False

    def on_touch_up(self, touch):
        return super().on_touch_up(touch) or True if self.active else False


class IdleWarning(Overlay):
    """ "Are you still there?" with the seconds left before the idle reset and a big Continue button
    (the shell shows it and counts down, ``KioskShell.idle_left``)."""


class StaffComing(Overlay):
    """ "Staff are coming": shown after the resident pressed Call staff (the shell raised the
    ``assistance_requested`` flag in the device's presence, for the staff's devices page)."""


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
