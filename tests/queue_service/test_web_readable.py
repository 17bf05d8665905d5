"""Issue 19, the web pages read by everyone: Japanese broken between phrases only (the ``phrases`` filter), the
congestion level in words and shapes with the legend first, office hours next to "Not open now", and a date asked
with its era (元号) on Japanese pages.

The real service core and the public router, served by FastAPI's TestClient (tests/queue_service/test_web_public.py's
``Office``); the browser side (screenshots at 360 px and on a desktop) is tests/system/test_browser_readable.py.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from form_printer.preentry import read_payload
from kiosk.config.site import load_site
from queue_service.web.pages import STATIC_DIR, office_hours_text, phrase_markup, templates
from queue_service.web.preentry_fields import date_from_parts, date_parts_of, field_spec, read_answers
from tests.queue_service.test_web_public import FORMS, JST, Office, key_file  # noqa: F401 - key_file: a fixture

ROOT = Path(__file__).resolve().parents[2]
EVIL = "住民異動<script>alert(1)</script>"


def words(page: str) -> str:
    """A page's HTML without its phrase break points, to look for whole words in it."""
    return page.replace("<wbr>", "")


# ================================================================ phrase-aware line breaks
def test_the_phrases_filter_breaks_between_phrases_and_escapes_every_piece():
    out = str(phrase_markup("オンラインで申請する", "ja"))
    assert out.startswith('<span class="phr">') and out.endswith("</span>")
    words = out.removeprefix('<span class="phr">').removesuffix("</span>").split("<wbr>")
    assert "".join(words) == "オンラインで申請する" and len(words) >= 2
    assert all("オンラ" not in w or "オンライン" in w for w in words)  # the word itself stays whole
    assert "2番窓口" in str(phrase_markup("2番窓口へお越しください", "ja")).replace("<wbr>", "|").split("|")[0]

    evil = str(phrase_markup(EVIL + " & more", "ja"))
    assert "<script>" not in evil and "&lt;script&gt;" in evil and "&amp; more" in evil
    assert str(phrase_markup("Apply online", "en")) == '<span class="phr">Apply online</span>'
    assert "<wbr>" not in str(phrase_markup("온라인으로 신청", "ko"))  # spaces are break points already
    assert str(phrase_markup(None, "ja")) == ""

    page = templates.env.from_string("{{ name|phrases }}|{{ name|phrases('en') }}").render(
        name="<b>窓口</b>", lang="ja"
    )
    assert "<b>" not in page and page.count("&lt;b&gt;") == 2


def test_no_page_breaks_anywhere_and_japanese_names_come_as_phrases(site, tmp_path):
    css = (STATIC_DIR / "madoguchi.css").read_text()
    assert "overflow-wrap: anywhere" not in css and ".phr { word-break: keep-all; }" in css

    office = Office(site, tmp_path, datetime(2026, 11, 24, 10, 0, tzinfo=JST))
    try:
        guide = office.http.get("/guide/moving_in/result?lang=ja&children=yes").text
        assert (
            '<h3><span class="phr">転入届</span></h3>' in guide
            or '<h3><span class="phr">転入<wbr>届</span></h3>' in guide
        )
        online = re.search(r'target="_blank"><span class="phr">([^<]*(?:<wbr>[^<]*)*)</span>', guide)
        assert online and online.group(1).replace("<wbr>", "") == "オンラインで申請する"
        bring = re.findall(r'<ul class="bring"><li><span class="phr">', guide)
        assert bring, "the things to bring come as phrases"
    finally:
        office.close()


def test_a_name_with_markup_in_the_site_file_stays_text(tmp_path):
    toml = (ROOT / "sites" / "example" / "site.toml").read_text()
    assert toml.count('ja = "住民異動"') == 1
    (tmp_path / "site.toml").write_text(toml.replace('ja = "住民異動"', f'ja = "{EVIL}"'))
    site = load_site(tmp_path / "site.toml")
    office = Office(site, tmp_path, datetime(2026, 11, 24, 10, 0, tzinfo=JST))
    try:
        page = office.http.get("/congestion?lang=ja").text
        assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in words(page)
    finally:
        office.close()


# ================================================================ congestion: levels and hours
def test_levels_are_said_in_words_and_shapes_and_the_legend_comes_first(office):
    office.cmd("panel-demo", "open_counter", counter="c01")
    for _ in range(8):
        office.issue("tennyu")
    page = words(office.http.get("/congestion?lang=ja").text)
    legend = page.index('id="legend"')
    assert legend < page.index('id="now"') and legend < page.index('id="forecast"')
    for shape, word in (("○", "空いています"), ("△", "やや"), ("✕", "混雑")):
        assert f'<span class="shape" aria-hidden="true">{shape}</span>' in page[legend:] and word in page[legend:]
    jumin = page[page.index('id="now-jumin"') :]
    jumin = jumin[: jumin.index("</li>")]
    assert '<span class="lv lv-' in jumin  # its level in words, not only the colour of the minutes


def test_closed_counters_show_the_office_hours(site, tmp_path):
    office = Office(site, tmp_path, datetime(2026, 11, 24, 20, 0, tzinfo=JST))  # a Tuesday evening
    try:
        en = office.http.get("/congestion?lang=en").text
        zei = en[en.index('id="now-zei"') :]
        zei = zei[: zei.index("</li>")]
        assert "Not open now" in zei and "Office hours: Mon–Fri 8:30–17:15" in zei
        ja = words(office.http.get("/congestion?lang=ja").text)
        assert "ただいま受付していません" in ja and "月〜金 8:30–17:15" in ja
    finally:
        office.close()
    (tmp_path / "day").mkdir()
    office = Office(site, tmp_path / "day", datetime(2026, 11, 24, 10, 0, tzinfo=JST))  # within office hours
    try:
        en = office.http.get("/congestion?lang=en").text
        zei = en[en.index('id="now-zei"') :]
        zei = zei[: zei.index("</li>")]
        assert "Not open now" in zei and "Office hours" not in zei  # unstaffed now, not "come at 8:30"
        assert 'id="hours"' in en and "Mon–Fri 8:30–17:15" in en  # the hours once, at the top
    finally:
        office.close()
    hours = site.site.hours
    assert hours is not None and hours.on(5) is None and hours.on(0) == ("08:30", "17:15")
    assert office_hours_text(None, "ja") == ""


def test_hours_in_the_site_file_must_open_before_they_close(tmp_path):
    from kiosk.config.loading import ConfigError

    toml = (ROOT / "sites" / "example" / "site.toml").read_text()
    (tmp_path / "site.toml").write_text(toml.replace('mon = ["08:30", "17:15"]', 'mon = ["17:15", "08:30"]', 1))
    with pytest.raises(ConfigError, match="mon: opens at 17:15"):
        load_site(tmp_path / "site.toml")


# ================================================================ dates with the era
def test_a_date_in_parts_with_the_era_or_western():
    assert date_from_parts({"era": "S", "year": "25", "month": "4", "day": "1"}) == "1950-04-01"
    assert date_from_parts({"era": "S", "year": "２５", "month": "４", "day": "１"}) == "1950-04-01"  # full-width
    assert date_from_parts({"era": "H", "year": "元", "month": "1", "day": "8"}) == "1989-01-08"
    assert date_from_parts({"era": "R", "year": "8", "month": "11", "day": "20"}) == "2026-11-20"
    assert date_from_parts({"year": "1950", "month": "4", "day": "1"}) == "1950-04-01"
    assert date_from_parts({}) == ""
    for wrong in (
        {"era": "S", "year": "64", "month": "1", "day": "8"},  # that day is 平成元年
        {"era": "H", "year": "元", "month": "1", "day": "7"},  # still 昭和
        {"era": "S", "year": "25", "month": "2", "day": "30"},
        {"year": "25", "month": "4", "day": "1"},  # no era: 25 is no year
        {"era": "X", "year": "25", "month": "4", "day": "1"},
        {"era": "S", "year": "25", "month": "", "day": "1"},
        {"era": "S", "year": "二十五", "month": "4", "day": "1"},
    ):
        assert date_from_parts(wrong) is None, wrong
    assert date_parts_of("1950-04-01", "ja") == {"era": "S", "year": "25", "month": "4", "day": "1"}
    assert date_parts_of("1950-04-01", "en") == {"era": "", "year": "1950", "month": "4", "day": "1"}
    values, errors, shown = read_answers(
        {
            "pre_child1_birth_era": "S",
            "pre_child1_birth_year": "64",
            "pre_child1_birth_month": "1",
            "pre_child1_birth_day": "8",
            "pre_move_date": "2026-11-20",
        },
        {"child1_birth": field_spec("child1_birth"), "move_date": field_spec("move_date")},
        "ja",
    )
    assert values == {"move_date": "2026-11-20"} and errors == {"child1_birth"}
    assert shown["child1_birth"]["year"] == "64"  # shown again as typed, to correct


def test_the_pre_entry_form_asks_the_era_and_the_qr_carries_the_iso_date(site, tmp_path, key_file):  # noqa: F811
    office = Office(site, tmp_path, datetime(2026, 11, 24, 20, 0, tzinfo=JST), preentry_key=key_file, forms_dir=FORMS)
    try:
        ja = office.http.get("/guide/moving_in/result?lang=ja&children=yes").text
        assert 'name="pre_child1_birth_era"' in ja and "昭和（1926〜1989）" in ja and 'type="date"' not in ja
        en = office.http.get("/guide/moving_in/result?lang=en&children=yes").text
        assert 'name="pre_child1_birth_era"' not in en and 'name="pre_child1_birth_year"' in en
        assert 'type="date"' not in en

        form = {"lang": "ja", "children": "yes", "pre_new_address": "東京都さくら区桜町1-2-3"}
        birth = {"pre_child1_birth_era": "S", "pre_child1_birth_year": "25", "pre_child1_birth_month": "4"}
        bad = office.http.post("/guide/moving_in/preentry", data=form | birth | {"pre_child1_birth_day": "31"})
        assert bad.status_code == 422 and 'id="pre-error"' in bad.text
        assert 'value="25"' in bad.text and '<option value="S" selected>' in bad.text  # kept for the correction
        assert bad.text.count('aria-invalid="true"') == 4  # era, year, month, day of that one date

        ok = office.http.post("/guide/moving_in/preentry", data=form | birth | {"pre_child1_birth_day": "1"})
        assert ok.status_code == 200, ok.text
        western = office.http.post(
            "/guide/moving_in/preentry",
            data=form
            | {
                "lang": "en",
                "pre_child1_birth_year": "1950",
                "pre_child1_birth_month": "04",
                "pre_child1_birth_day": "01",
            },
        )
        assert western.status_code == 200
        if shutil.which("zbarimg") is None:
            pytest.skip("zbarimg not installed: the QR codes were not decoded")
        key = bytes.fromhex(key_file.read_text().strip())
        for answer in (ok, western):
            png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', answer.text).group(1))
            (tmp_path / "qr.png").write_bytes(png)
            done = subprocess.run(["zbarimg", "-q", "--raw", str(tmp_path / "qr.png")], capture_output=True, text=True)
            entry = read_payload(done.stdout, key, site.site.id, office.clock())
            assert entry.fields["child1_birth"] == "1950-04-01"  # 昭和25年4月1日 and 1950/04/01 alike
    finally:
        office.close()


@pytest.fixture
def office(site, tmp_path):
    o = Office(site, tmp_path, datetime(2026, 11, 24, 10, 0, tzinfo=JST))
    yield o
    o.close()
