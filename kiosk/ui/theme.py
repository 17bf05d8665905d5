"""Colours and sizes of every screen, with the accessibility mode (larger text, high contrast).

kv rules read ``theme.fg``, ``theme.font(28)`` is not bindable, so sizes are written
``sp(28) * theme.scale``: toggling :attr:`Theme.accessible` re-lays out every screen.
Touch targets are at least 15 mm (:attr:`Theme.touch`), and never less than 64 dp.
"""

from __future__ import annotations

from kivy.event import EventDispatcher
from kivy.metrics import dp, mm
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty

NORMAL = {
    "bg": "#f4f6f8",
    "fg": "#1b1f24",
    "muted": "#56606b",
    "card": "#ffffff",
    "primary": "#0b5cad",
    "primary_fg": "#ffffff",
    "secondary": "#dfe6ee",
    "secondary_fg": "#1b1f24",
    "accent": "#e8f1fb",
    "danger": "#b3261e",
    "ok": "#1e7a3c",
    "bar": "#0b3d6e",
    "bar_fg": "#ffffff",
}
HIGH_CONTRAST = {
    "bg": "#000000",
    "fg": "#ffffff",
    "muted": "#ffffff",
    "card": "#000000",
    "primary": "#ffd400",
    "primary_fg": "#000000",
    "secondary": "#ffffff",
    "secondary_fg": "#000000",
    "accent": "#1a1a1a",
    "danger": "#ff6b6b",
    "ok": "#6bff8a",
    "bar": "#000000",
    "bar_fg": "#ffd400",
}


class Theme(EventDispatcher):
    accessible = BooleanProperty(False)
    scale = NumericProperty(1.0)
    touch = NumericProperty(0)
    bg = ColorProperty(NORMAL["bg"])
    fg = ColorProperty(NORMAL["fg"])
    muted = ColorProperty(NORMAL["muted"])
    card = ColorProperty(NORMAL["card"])
    primary = ColorProperty(NORMAL["primary"])
    primary_fg = ColorProperty(NORMAL["primary_fg"])
    secondary = ColorProperty(NORMAL["secondary"])
    secondary_fg = ColorProperty(NORMAL["secondary_fg"])
    accent = ColorProperty(NORMAL["accent"])
    danger = ColorProperty(NORMAL["danger"])
    ok = ColorProperty(NORMAL["ok"])
    bar = ColorProperty(NORMAL["bar"])
    bar_fg = ColorProperty(NORMAL["bar_fg"])

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.touch = max(mm(15), dp(64))

    def on_accessible(self, _instance, value: bool) -> None:
        for key, colour in (HIGH_CONTRAST if value else NORMAL).items():
            setattr(self, key, colour)
        self.scale = 1.3 if value else 1.0


theme = Theme()
