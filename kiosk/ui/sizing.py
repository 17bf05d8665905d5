"""Physical sizes on a touch panel: pixels per millimetre from the panel's diagonal and resolution.

A touch target must be large for a finger, not for a pixel grid: 64 px is 16.6 mm on a 15.4-inch
1280×800 panel but 9.6 mm on a 7-inch 800×480 call panel. The device file gives the visible diagonal
(``screen.diagonal_in``); square pixels are assumed (every panel we ship has them). Pure: no Kivy, so
the sizes are unit-tested without a window.
"""

from __future__ import annotations

import math

#: What the device file assumes when it names no diagonal (kiosk/config/device.py).
DEFAULT_DIAGONAL_IN = 15.6
MM_PER_INCH = 25.4
#: The smallest touch target on a resident or staff screen, both ways (the project's rule, docs/architecture.md:
#: older residents and gloved or trembling fingers at a public terminal).
MIN_TARGET_MM = 15.0


def px_per_mm(width_px: int, height_px: int, diagonal_in: float | None) -> float:
    """Pixels per millimetre of a panel ``width_px`` × ``height_px`` with a visible diagonal of
    ``diagonal_in`` inches (``None``: the device file's default, 15.6″)."""
    if width_px <= 0 or height_px <= 0:
        raise ValueError("a panel has a positive resolution")
    diagonal = DEFAULT_DIAGONAL_IN if diagonal_in is None else diagonal_in
    if diagonal <= 0:
        raise ValueError("a panel has a positive diagonal")
    return math.hypot(width_px, height_px) / (diagonal * MM_PER_INCH)


def mm_per_px(width_px: int, height_px: int, diagonal_in: float | None) -> float:
    """Millimetres one pixel covers on that panel (the inverse of :func:`px_per_mm`)."""
    return 1.0 / px_per_mm(width_px, height_px, diagonal_in)


def touch_px(width_px: int, height_px: int, diagonal_in: float | None, min_mm: float = MIN_TARGET_MM) -> int:
    """The touch target size in whole pixels that is at least ``min_mm`` on that panel (rounded up, so a
    target drawn at this size never measures under the minimum)."""
    return math.ceil(min_mm * px_per_mm(width_px, height_px, diagonal_in) - 1e-9)


def px_to_mm(px: float, width_px: int, height_px: int, diagonal_in: float | None) -> float:
    """A length on screen, in millimetres."""
    return px * mm_per_px(width_px, height_px, diagonal_in)
