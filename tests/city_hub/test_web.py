"""The city hub's pages (FastAPI TestClient) over a real view and a real SQLite store filled with day summaries,
for the example city (sites/example-city: the ward office and two branches)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from fastapi.testclient import TestClient

from city_hub.store import Store, migrate
from city_hub.view import CityView
from city_hub.web.app import ViewSource, make_app
from kiosk.bus.schemas import GroupState, Presence
from kiosk.config.city import load_city
from kiosk.i18n import LANGUAGES
from tests.city_hub.summaries import JST, summary
from tests.conftest import ROOT

CITY_FILE = ROOT / "sites" / "example-city" / "city.toml"
#: a Tuesday morning
NOW = dt.datetime(2026, 12, 8, 10, 30, tzinfo=JST)


def shomei_wait(site: str, weekday: int, hour: int) -> float:
    """The history's mean wait for certificates: the branches are quick; Thursday 14:00 at 北 is the quietest."""
    if site == "sakura-kita" and (weekday, hour) == (3, 14):
        return 1.0
    base = 20.0 if site == "sakura-ward" else 6.0
    return base + (hour * 7 + weekday * 3) % 9


def fill(store: Store, sites) -> None:
    """Six past weeks of weekdays at every office (final summaries), and today's running one."""
    for weeks in range(1, 7):
        monday = (NOW - dt.timedelta(weeks=weeks, days=NOW.weekday())).date()
        for wd in range(5):
            day = monday + dt.timedelta(days=wd)
            for s in sites:
                store.upsert(
                    summary(
                        s,
                        day.isoformat(),
                        final=True,
                        at="18:00",
                        groups={
                            "shomei": [(h, 5, 5, shomei_wait(s, wd, h)) for h in range(9, 17)],
                            "jumin": [(h, 3, 3, 12.0) for h in range(9, 17)],
                        },
                        within_target_share=0.7 if s == "sakura-ward" else 0.9,
                        guide_uses=100 if s == "sakura-ward" else 10,
                    )
                )


@pytest.fixture(scope="module")
def example_city():
    return load_city(CITY_FILE)


@pytest.fixture
def hub(example_city, tmp_path):
    city, sites = example_city
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    migrate(url)
    store = Store(url)
    fill(store, sites)
    view = CityView(city, sites)
    # the ward office: certificates busy; 北: certificates quick, the family register closed; 南: offline
    view.apply_presence("sakura-ward", Presence(online=True))
    view.apply_group("sakura-ward", GroupState(group="shomei", waiting=12, open_counters=2, est_wait_min=25), NOW)
    view.apply_group("sakura-ward", GroupState(group="jumin", waiting=3, open_counters=3, est_wait_min=5), NOW)
    view.apply_presence("sakura-kita", Presence(online=True))
    view.apply_group("sakura-kita", GroupState(group="shomei", waiting=1, open_counters=1, est_wait_min=4), NOW)
    view.apply_group("sakura-kita", GroupState(group="koseki", waiting=0, open_counters=0, est_wait_min=None), NOW)
    view.apply_group("sakura-minami", GroupState(group="shomei", waiting=0, open_counters=1, est_wait_min=0), NOW)
    view.apply_presence("sakura-minami", Presence(online=False))
    client = TestClient(make_app(city, sites, ViewSource(view), store, clock=lambda: NOW))
    yield client, view, sites
    store.close()


def plain(html: str) -> str:
    """The page without the phrase markup (``<wbr>``, ``span.phr``) the ``phrases`` filter puts into text."""
    return re.sub(r'<wbr>|<span class="phr">|</span>', "", html)


def office_order(html: str) -> list[str]:
    return re.findall(r'<li class="card office[^"]*" id="office-([a-z0-9-]+)"', html)


def test_the_congestion_page_speaks_every_language(hub) -> None:
    client, _view, sites = hub
    for lang in LANGUAGES:
        r = client.get(f"/?lang={lang}")
        assert r.status_code == 200, lang
        html = plain(r.text)
        assert f'<html lang="{"ja" if lang == "ja-easy" else lang}">' in html
        for site in sites.values():
            name = site.site.names.get(lang)
            assert name.split()[0] in html, (lang, name)
        assert sites["sakura-kita"].group_by_id["shomei"].names.get(lang) in html
        assert "Content-Security-Policy" in r.headers
    # the office pages' words, already translated: a closed group, a level
    assert "ただいま受付していません" in plain(client.get("/office/sakura-kita?lang=ja").text)
    vi = plain(client.get("/?lang=vi&proc=juminhyo").text)
    assert "Vắng" in vi and "Hơi đông" in vi


def test_the_procedure_filter_ranks_offices_by_wait(hub) -> None:
    client, _view, _sites = hub
    html = client.get("/?lang=en&proc=juminhyo").text
    # 北 (4 min) before the ward office (25 min); 南 is offline: last, whatever its figures said
    assert office_order(html) == ["sakura-kita", "sakura-ward", "sakura-minami"]
    assert 'value="juminhyo" selected' in html
    api = client.get("/api/v1/offices?proc=juminhyo&lang=en").json()
    assert [o["site"] for o in api] == ["sakura-kita", "sakura-ward", "sakura-minami"]
    assert api[0]["match"] == {
        "group": "shomei",
        "name": "Certificates",
        "floor": 1,
        "waiting": 1,
        "open_counters": 1,
        "est_wait_min": 4,
        "state": "open",
    }
    # a procedure only the ward office does: the branches are named as not doing it
    html = client.get("/?lang=en&proc=kokuho_kanyu").text
    assert office_order(html) == ["sakura-ward"]
    assert "Sakura Ward North Branch" in html.split('id="missing"')[1]


def test_the_ranking_follows_the_view(hub) -> None:
    client, view, _sites = hub
    view.apply_group("sakura-kita", GroupState(group="shomei", waiting=30, open_counters=1, est_wait_min=45), NOW)
    assert office_order(client.get("/?lang=en&proc=juminhyo").text)[:2] == ["sakura-ward", "sakura-kita"]
    view.apply_presence("sakura-minami", Presence(online=True))
    assert office_order(client.get("/?lang=en&proc=juminhyo").text)[0] == "sakura-minami"


def test_an_offline_office_says_so(hub) -> None:
    client, _view, _sites = hub
    html = client.get("/?lang=en").text
    card = html.split('id="office-sakura-minami"')[1].split("</li>\n\n")[0]
    assert "Offline" in card
    assert "Office offline: figures may be out of date" in card
    assert "last heard at 10:30" in card
    assert 'class="card office state-offline"' in html
    assert 'class="mk mk-offline" id="mk-sakura-minami"' in html  # the map's dashed marker
    ward = html.split('id="office-sakura-ward"')[1].split('id="office-sakura-kita"')[0]
    assert "Offline" not in ward and "Open now" in ward


def test_levels_are_words_and_shapes(hub) -> None:
    client, _view, _sites = hub
    html = client.get("/?lang=en&proc=juminhyo").text
    kita = html.split('id="office-sakura-kita"')[1].split("</li>")[0]
    assert "○" in kita and "Quiet" in kita and "about 4 min" in kita
    ward = html.split('id="office-sakura-ward"')[1].split("</li>")[0]
    assert "△" in ward and "Busy" in ward and "about 25 min" in ward
    office = client.get("/office/sakura-kita?lang=en").text
    assert "Not open now" in office.split('id="now-koseki"')[1].split("</li>")[0]
    assert client.get("/office/nowhere").status_code == 404


def test_the_day_picker_marks_the_quietest_times(hub) -> None:
    client, _view, _sites = hub
    html = client.get("/forecast?office=sakura-kita&group=shomei&lang=en").text
    assert "learned from 6 past days" in html
    # weekdays Monday-Friday (the branch's office hours), hours 9-16 of the history
    assert re.findall(r'<tr id="wd-(\d)">', html) == ["0", "1", "2", "3", "4"]
    thursday = html.split('<tr id="wd-3">')[1].split("</tr>")[0]
    cells = re.findall(r'<td class="cell ([^"]*)"', thursday)
    assert len(cells) == 8 and "quiet" in cells[14 - 9]
    assert sum("quiet" in c for c in re.findall(r'<td class="cell ([^"]*)"', html)) == 3
    quiet = html.split('id="quiet"')[1]
    assert quiet.index("Thursday 14:00") < quiet.index("★", quiet.index("Thursday 14:00") + 1)
    assert "Dec 10" in quiet.split("Thursday 14:00")[1].split("</li>")[0]  # the coming Thursday
    # a procedure picks its group; no history at all says so
    assert "wd-3" in client.get("/forecast?office=sakura-kita&proc=juminhyo&lang=ja").text
    empty = client.get("/forecast?office=sakura-kita&group=koseki&lang=en").text
    assert 'id="daygrid"' not in empty and 'id="no-history"' in empty


def test_the_kpi_page_compares_offices_with_the_targets(hub) -> None:
    client, _view, _sites = hub
    html = client.get("/kpi?month=2026-11&metric=guide_uses").text
    ward = html.split('id="kpi-sakura-ward"')[1].split("</tr>")[0]
    kita = html.split('id="kpi-sakura-kita"')[1].split("</tr>")[0]
    # within the stay target: ward 70 % (below 80 %), 北 90 % (met)
    assert '<td class="below">70%' in ward and '<td class="met">90%' in kita
    # guide uses per month against 400: the ward office's 100 a day over November's days meets it
    assert re.search(r'<td class="met">[\d,]+ <span class="mk-met"', ward)
    assert "市の目標" in html and "80%" in html
    running = client.get("/kpi").text  # December is still running: counts not judged yet
    assert "（月途中）" in running


def test_the_kpi_csv(hub) -> None:
    client, _view, _sites = hub
    r = client.get("/kpi.csv")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    nov = {row["site"]: row for row in rows if row["month"] == "2026-11"}
    assert set(nov) == {"sakura-ward", "sakura-kita", "sakura-minami"}
    assert nov["sakura-kita"]["name"] == "さくら区 北出張所"
    assert float(nov["sakura-ward"]["within_target_share"]) == 0.7
    assert nov["sakura-ward"]["target_within_target_share"] == "0.8"
    assert int(nov["sakura-ward"]["days"]) == sum(1 for d in range(1, 31) if dt.date(2026, 11, d).weekday() < 5)


def test_every_template_message_is_marked_for_translation() -> None:
    """The extractor reads .py files: each ``_("...")`` of the city's templates is marked with ``N_`` somewhere."""
    from city_hub.web.pages import TEMPLATE_DIR
    from kiosk.i18n_extract import extract

    marked = set(extract())
    used = {
        m
        for path in TEMPLATE_DIR.glob("*.html")
        for m in re.findall(r"""_\(\s*["']([^"']+)["']\s*\)""", path.read_text(encoding="utf-8"))
    }
    assert used and not used - marked, sorted(used - marked)
