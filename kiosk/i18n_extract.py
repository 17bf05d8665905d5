"""Collect every translatable message of the apps into ``kiosk/locale/madoguchi.pot``.

Messages are English literals in ``tr._("...")`` (kv and Python), ``gettext_for(lang, "...")``
and ``N_("...")``. Run ``python -m kiosk.i18n_extract`` after changing a screen, then merge the new messages into
each catalog as docs/translations.md says (``pybabel update`` per language with ``-l``;
``ja-easy`` by the Babel snippet there, pybabel rejects its name); a test fails until every
message is translated.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from kiosk.i18n import DOMAIN, LOCALE_DIR

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("kiosk", "queue_service", "ticket_machine", "form_printer", "register", "city_hub")
_CALL = re.compile(r"""(?:\btr\._|\bN_|\bgettext_for\(\s*[\w.]+\s*,)\s*\(?\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")


def extract(root: Path = ROOT) -> dict[str, list[tuple[str, int]]]:
    """``{message: [(file, line), ...]}`` over the apps' .py and .kv files."""
    found: dict[str, list[tuple[str, int]]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*")):
            if path.suffix not in (".py", ".kv") or path.name == "i18n_extract.py":
                continue
            for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                for match in _CALL.finditer(line):
                    message = ast.literal_eval(match.group(1))
                    found.setdefault(message, []).append((str(path.relative_to(root)), lineno))
    return found


def write_template(path: Path = LOCALE_DIR / f"{DOMAIN}.pot") -> int:
    catalog = Catalog(project="smart madoguchi", domain=DOMAIN)
    for message, locations in sorted(extract().items()):
        catalog.add(message, locations=locations)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=120, sort_output=True)
    return len(catalog)


if __name__ == "__main__":
    print(f"{write_template()} messages → {LOCALE_DIR / (DOMAIN + '.pot')}")
