"""Where the CJK font lives: one place for the Kivy apps and the printers.

Japanese, Chinese, Korean, Vietnamese and Portuguese must all render with one face
(Kivy has no per-glyph fallback), so the font is Noto Sans CJK (Debian
``fonts-noto-cjk``): its first face (JP) covers kana, kanji, hangul and the Latin
letters with Vietnamese diacritics. IPAex Gothic is the fallback (no hangul).
Override with ``MADOGUCHI_FONT`` / ``MADOGUCHI_FONT_BOLD``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

_CANDIDATES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
    ("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf", "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf"),
)


class FontMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class CjkFont:
    regular: Path
    bold: Path


def cjk_font() -> CjkFont:
    """The CJK font files, or :class:`FontMissing` naming the Debian package to install."""
    env = os.environ.get("MADOGUCHI_FONT")
    if env:
        return CjkFont(Path(env), Path(os.environ.get("MADOGUCHI_FONT_BOLD", env)))
    for regular, bold in _CANDIDATES:
        if Path(regular).exists():
            return CjkFont(Path(regular), Path(bold) if Path(bold).exists() else Path(regular))
    raise FontMissing("no CJK font found: install the Debian package fonts-noto-cjk (or set MADOGUCHI_FONT)")


@lru_cache(maxsize=256)
def pil_font(size: float, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The CJK font for Pillow drawings (tickets, receipts, forms, slips). Face 0 of the Noto CJK
    collection is JP: Japanese glyph shapes for the shared kanji, plus hangul and Vietnamese."""
    paths = cjk_font()
    return ImageFont.truetype(str(paths.bold if bold else paths.regular), size, index=0)
