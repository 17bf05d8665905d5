"""Translations for every screen and printout: gettext catalogs (``kiosk/locale``), read with Babel.

Message ids are English; each kiosk language has a ``.po`` catalog, including Japanese
(the default) and やさしい日本語 (``ja-easy``, falling back to Japanese). Catalogs are
compiled in memory when first used, so a translator edits a ``.po`` file and restarts the
app: no build step, no ``.mo`` files to forget. Pure (no Kivy).
"""

from __future__ import annotations

import gettext
import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kiosk.languages import NATIVE_NAMES, Language

DOMAIN = "madoguchi"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

#: The languages (kiosk/languages.py), each in its own words, Japanese first.
LANGUAGES: dict[Language, str] = NATIVE_NAMES


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for extraction where it is defined; translate it where it is shown."""
    return message


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English message ids pass through for ``en``)."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r} (one of {', '.join(LANGUAGES)})")
    path = catalog_path(lang)
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=None, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    result = gettext.GNUTranslations(buf)
    if lang == "ja-easy":
        result.add_fallback(translations("ja"))
    return result


def gettext_for(lang: str, message: str) -> str:
    return translations(lang).gettext(message)
