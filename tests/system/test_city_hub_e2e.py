"""The whole city path with real parts: a call at an office shows on the city hub's page, and the office's day
lands in PostgreSQL.

Two branch offices each run their own Mosquitto and queue service (with the day summary publisher), bridged over
TLS into one city broker (`tests/system/test_city_17_sites.bridged_city`); the hub's real ingest reads it into the
city view and a store on a real PostgreSQL server (started by the tests from Debian's binaries), and the hub's web
app (FastAPI's TestClient) renders "where is 住民票 fastest". Three residents take tickets at office 1: the page
says 3 waiting there; one is called: the page says 2; office 2, with nobody waiting, ranks first. The office's
running day summary is stored with its three tickets, and no ticket token ever reaches the database.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from city_hub.store import Store, migrate
from city_hub.web.app import ViewSource, make_app
from queue_service.city_summary import day_summary
from tests.city_hub.conftest import postgres  # noqa: F401  (the session's PostgreSQL server)
from tests.system.test_city_17_sites import PROCEDURE, bridged_city

pytestmark = pytest.mark.broker


def _office_card(page: str, site: str) -> str:
    """The ranked list's card of one office (the first list on the page is the ranking)."""
    start = page.index(f'id="office-{site}"')
    return page[start : page.index("</li>", start)]


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_a_call_at_an_office_shows_on_the_hubs_page_and_its_day_lands_in_postgresql(tmp_path, postgres):  # noqa: F811
    url = postgres.create_database()
    migrate(url)
    store = Store(url)
    waited = threading.Event()
    try:
        with bridged_city(tmp_path, 2, store=store, city_summary=day_summary) as running:
            offices, hub, _ingest, city, sites, view = running
            with hub.cond:
                assert hub.cond.wait_for(lambda: len(hub.online) == 2, 30), "both offices online at the hub"
            first, second = offices
            one, two = first.site.site.id, second.site.site.id
            for office in offices:
                office.panel.request("open_counter", {"counter": office.counter})
            client = TestClient(make_app(city, sites, ViewSource(view), store))

            tokens = [first.kiosk.request("issue", {"procedures": [PROCEDURE]})["ticket"]["token"] for _ in range(3)]
            hub.wait_waiting(one, 3, 0.0)
            page = client.get(f"/?proc={PROCEDURE}&lang=en").text
            assert "Waiting: 3" in _text(_office_card(page, one))

            first.panel.request("call_next", {"counter": first.counter})
            hub.wait_waiting(one, 2, 0.0)
            page = client.get(f"/?proc={PROCEDURE}&lang=en").text
            assert "Waiting: 2" in _text(_office_card(page, one))
            assert page.index(f'id="office-{two}"') < page.index(f'id="office-{one}"'), "nobody waits at office 2"

            today = datetime.now(first.site.zone).date().isoformat()
            for _ in range(200):  # the summary pass runs every 0.5 s here; the ingest writes on its own thread
                stored = store.day(one, today)
                if stored is not None and stored.tickets == 3:
                    break
                waited.wait(0.05)
            assert stored is not None and stored.tickets == 3 and stored.final is False
            dump = stored.model_dump_json()
            assert not any(token in dump for token in tokens), "no ticket token reaches the city's database"
    finally:
        store.close()
