"""Colours and sizes of every screen, with the accessibility mode (larger text, high contrast).

kv rules read ``theme.fg``, ``theme.font(28)`` is not bindable, so sizes are written
``sp(28) * theme.scale``: toggling :attr:`Theme.accessible` re-lays out every screen.
A kv expression re-reads a colour only if it names it (``theme.fg``): a lookup by a variable
(``getattr(theme, self.tone)``) binds to the variable alone and keeps the old colour after a toggle.

Touch targets are at least 15 mm on the panel the device file describes (:meth:`Theme.configure`:
``screen.diagonal_in`` with the resolution, :mod:`kiosk.ui.sizing`), and never less than 64 dp.

Every control has an edge or fill at least 3:1 against the background (WCAG 1.4.11) in both
palettes (``edge``); disabled controls keep text readable (``disabled_fg`` ≥ 4.5:1 on ``disabled``)
while looking inactive (a grey fill and a dashed edge instead of a colour).
"""

from __future__ import annotations

from kivy.event import EventDispatcher
from kivy.metrics import dp, mm
from kivy.properties import BooleanProperty, ColorProperty, NumericProperty

from kiosk.ui.sizing import mm_per_px, touch_px

NORMAL = {
    "bg": "#f4f6f8",
    "fg": "#1b1f24",
    "muted": "#454e58",  # 7.6:1 on bg: small thin text measures well under its nominal ratio
    "card": "#ffffff",
    "primary": "#0b5cad",
    "primary_fg": "#ffffff",
    "secondary": "#dfe6ee",
    "secondary_fg": "#1b1f24",
    "accent": "#e8f1fb",
    "danger": "#b3261e",
    "danger_fg": "#ffffff",
    "ok": "#1e7a3c",
    "bar": "#0b3d6e",
    "bar_fg": "#ffffff",
    "edge": "#56606b",  # 5.9:1 on bg, 6.4:1 on card
    "disabled": "#e7eaee",
    "disabled_fg": "#4a535d",  # 6.5:1 on disabled
    "disabled_edge": "#7a8591",  # 3.5:1 on bg (dashed)
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
    "danger_fg": "#000000",
    "ok": "#6bff8a",
    "bar": "#000000",
    "bar_fg": "#ffd400",
    "edge": "#ffffff",
    "disabled": "#000000",
    "disabled_fg": "#bdbdbd",  # 11:1 on black
    "disabled_edge": "#9e9e9e",  # 7.8:1 on black (dashed)
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
    danger_fg = ColorProperty(NORMAL["danger_fg"])
    ok = ColorProperty(NORMAL["ok"])
    bar = ColorProperty(NORMAL["bar"])
    bar_fg = ColorProperty(NORMAL["bar_fg"])
    edge = ColorProperty(NORMAL["edge"])
    disabled = ColorProperty(NORMAL["disabled"])
    disabled_fg = ColorProperty(NORMAL["disabled_fg"])
    disabled_edge = ColorProperty(NORMAL["disabled_edge"])
    #: Millimetres per pixel of this panel (from the device file; Kivy's own ``mm`` assumes a DPI).
    mm_per_px = NumericProperty(0.0)

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.mm_per_px = 25.4 / 96
        self.touch = max(mm(15), dp(64))

    def configure(self, width_px: int, height_px: int, diagonal_in: float | None) -> None:
        """Size touch targets for the panel the app runs on: ≥ 15 mm whatever its pixel density."""
        self.mm_per_px = mm_per_px(width_px, height_px, diagonal_in)
        self.touch = max(touch_px(width_px, height_px, diagonal_in), dp(64))

    def mm(self, millimetres: float) -> float:
        """A length of ``millimetres`` on this panel, in pixels."""
        return millimetres / self.mm_per_px

    def on_accessible(self, _instance, value: bool) -> None:
        for key, colour in (HIGH_CONTRAST if value else NORMAL).items():
            setattr(self, key, colour)
        self.scale = 1.3 if value else 1.0


theme = Theme()
