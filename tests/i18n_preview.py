"""Messages not merged into kiosk/locale yet, read from a helper's ``build/i18n/<name>.json`` (msgid → language →
text) and put behind each catalog as its fallback, so tests and screenshots taken before the lead merges them show
the real languages. Merged messages win (the catalog answers first); once merged the preview changes nothing.

``previewed(path)`` is a context manager for tests in this process (it puts the catalogs back); ``install(path)``
is for a UI scenario's own process, which ends with the app.
"""

from __future__ import annotations

import contextlib
import gettext
import json
from collections.abc import Iterator
from pathlib import Path

from kiosk.i18n import LANGUAGES, translations

ROOT = Path(__file__).resolve().parents[1]
#: The wait-range messages (issue 21).
DISPLAY = ROOT / "build" / "i18n" / "display.json"


class _Preview(gettext.NullTranslations):
    def __init__(self, lang: str, suggestions: dict, then: gettext.NullTranslations | None) -> None:
        super().__init__()
        self.lang, self.suggestions, self.then = lang, suggestions, then

    def gettext(self, message: str) -> str:
        text = self.suggestions.get(message, {}).get(self.lang)
        return text or (self.then.gettext(message) if self.then is not None else message)


def install(path: Path | str) -> dict[str, gettext.NullTranslations | None]:
    """Put the messages of ``path`` behind every catalog (ja-easy: before its fallback to ja); returns what was
    there."""
    suggestions = json.loads(Path(path).read_text(encoding="utf-8")) if Path(path).exists() else {}
    before = {}
    for lang in LANGUAGES:
        catalog = translations(lang)
        before[lang] = catalog._fallback  # type: ignore[attr-defined]
        catalog._fallback = _Preview(lang, suggestions, catalog._fallback)  # type: ignore[attr-defined]
    return before


@contextlib.contextmanager
def previewed(path: Path | str = DISPLAY) -> Iterator[None]:
    before = install(path)
    try:
        yield
    finally:
        for lang, fallback in before.items():
            translations(lang)._fallback = fallback  # type: ignore[attr-defined]
