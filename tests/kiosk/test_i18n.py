"""The gettext catalogs (kiosk/locale): every message of every screen translated in every language.

After ``python -m kiosk.i18n_extract`` finds a new message, ``test_every_message_is_translated``
fails until each catalog has it; see docs/translations.md.
"""

from __future__ import annotations

import gettext
import string
from functools import cache

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from kiosk.i18n import DOMAIN, LANGUAGES, LOCALE_DIR, catalog_path, gettext_for, translations
from kiosk.i18n_extract import extract


@cache
def messages() -> tuple[str, ...]:
    return tuple(sorted(extract()))


@cache
def catalog(lang: str) -> Catalog | None:
    path = catalog_path(lang)
    if not path.exists():
        return None
    with path.open("rb") as f:
        return read_po(f, locale=None, domain=DOMAIN)


def entries(lang: str):
    """The catalog's messages, without the header entry."""
    return [m for m in catalog(lang) if m.id]


def placeholders(text: str) -> set[str]:
    """``{name}`` fields of a str.format string (ValueError if its braces are malformed)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_extraction_finds_messages():
    assert len(messages()) > 50
    assert "Your number" in messages()


def test_every_language_has_a_catalog():
    missing = [str(catalog_path(lang).relative_to(LOCALE_DIR.parent)) for lang in LANGUAGES if catalog(lang) is None]
    assert not missing, f"no catalog for: {', '.join(missing)}"


def test_no_stray_catalog_folders():
    folders = {p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    assert folders <= set(LANGUAGES), f"catalogs for unknown language codes: {sorted(folders - set(LANGUAGES))}"


def test_every_message_is_translated():
    missing = []
    for lang in LANGUAGES:
        cat = catalog(lang)
        for message in messages():
            entry = cat.get(message) if cat is not None else None
            if entry is None or not entry.string:
                missing.append((lang, message))
    assert not missing, f"{len(missing)} untranslated (language, message) pairs:\n" + "\n".join(
        f"  ({lang}, {message!r})" for lang, message in missing
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match(lang):
    if catalog(lang) is None:
        pytest.skip("no catalog (see test_every_language_has_a_catalog)")
    wrong = []
    for entry in entries(lang):
        if not entry.string:
            continue
        try:
            ok = placeholders(entry.string) == placeholders(entry.id)
        except ValueError:  # a stray "{" or "}" in the translation
            ok = False
        if not ok:
            wrong.append(f"  {entry.id!r} → {entry.string!r}")
    assert not wrong, f"{lang}: placeholders differ from the message id:\n" + "\n".join(wrong)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_fuzzy_entries(lang):
    if catalog(lang) is None:
        pytest.skip("no catalog (see test_every_language_has_a_catalog)")
    fuzzy = [entry.id for entry in entries(lang) if entry.fuzzy]
    assert not fuzzy, f"{lang}: fuzzy entries (check the translation, then remove the fuzzy flag): {fuzzy}"


@pytest.mark.parametrize(
    ("lang", "message", "expected"),
    [
        ("ja", "Your number", "受付番号"),
        ("ja", "Call next", "次の方を呼出"),
        ("ja", "No-show", "不在"),
        ("ja", "Recall", "再呼出"),
        ("ja", "Larger text", "文字を大きく"),
        ("ja", "Staff", "職員用"),
        ("ja", "{floor}F", "{floor}階"),
        ("ko", "Your number", "대기 번호"),
        ("ko", "Yes", "예"),
        ("ko", "{floor}F", "{floor}층"),
        ("ja-easy", "Your number", "あなたの ばんごう"),
        ("ja-easy", "Back", "もどる"),
        ("ja-easy", "{floor}F", "{floor}かい"),
        ("en", "Your number", "Your number"),
    ],
)
def test_spot_checks(lang, message, expected):
    assert gettext_for(lang, message) == expected


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_load(lang):
    result = translations(lang)
    assert isinstance(result, gettext.GNUTranslations)
    assert result.gettext("Your number")


def test_formatted_message():
    assert gettext_for("ja", "Estimated wait: about {minutes} min").format(minutes=5) == "待ち時間の目安：約5分"


def test_unknown_language_raises():
    with pytest.raises(ValueError, match="unknown language"):
        translations("xx")
    with pytest.raises(ValueError):
        gettext_for("ja_easy", "Your number")
