from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load_site

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SITE = ROOT / "sites" / "example" / "site.toml"


@pytest.fixture(scope="session")
def site():
    return load_site(EXAMPLE_SITE)
