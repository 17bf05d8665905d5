"""From what a scanner typed to a :class:`Slip`: strip the scanner's decorations, pick the format.

Keyboard-wedge and serial scanners add things around the data depending on how they are set
up: an AIM symbology identifier (``]C1`` for GS1-128, ``]Q3`` for QR, …), the FNC1 of a GS1
symbol sent as GS (0x1D), a CR/LF terminator. None of these are part of the slip.
"""

from __future__ import annotations

import re

from register.slips.cvs import parse_cvs
from register.slips.elqr import parse_elqr
from register.slips.model import Slip, SlipError

_DECORATION = re.compile(r"^(?:\s+|\][A-Za-z][0-9A-Za-z]|\x1d)+|\s+$")
_CVS = re.compile(r"91[0-9]{42}")


def clean(scanned: str) -> str:
    """The data without AIM identifier, leading FNC1/GS and surrounding whitespace."""
    return _DECORATION.sub("", scanned)


def read_slip(scanned: str) -> Slip:
    """The slip a scan stands for, or :class:`SlipError` (``unknown_format`` for any other code)."""
    text = clean(scanned)
    if _CVS.fullmatch(text):
        return parse_cvs(text)
    if text.startswith("0002"):
        return parse_elqr(text)
    raise SlipError("unknown_format", f"not a payment slip code: {text[:20]!r}…")
