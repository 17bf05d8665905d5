"""The languages of smart madoguchi, defined once: every schema, selector and catalog takes them from here.

Japanese first, then the ones a ward office meets most; ``ja-easy`` is やさしい日本語 (easy
Japanese). Adding a language: add it here, give it a catalog (docs/translations.md) and names in
the site file; the schemas, the kiosks' selector and the web pages follow.
"""

from __future__ import annotations

from typing import Literal, get_args

Language = Literal["ja", "en", "zh", "ko", "vi", "pt", "ja-easy"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "ja"

#: Each language in its own words, as the language selector shows it.
NATIVE_NAMES: dict[Language, str] = {
    "ja": "日本語",
    "en": "English",
    "zh": "中文",
    "ko": "한국어",
    "vi": "Tiếng Việt",
    "pt": "Português",
    "ja-easy": "やさしい にほんご",
}
assert tuple(NATIVE_NAMES) == LANGUAGES
