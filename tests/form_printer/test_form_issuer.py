"""The form issuer's visit without the screen: real PC/SC card, real rendering, PDF spool, real queue service."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from form_printer.card.pcsc import PcscReader
from form_printer.card.protocol import CardError
from form_printer.forms.spool import PdfSpool
from form_printer.issuer import FormIssuer, LastTryUnconfirmed
from form_printer.preentry import PreEntryError, make_payload
from form_printer.setup import templates_for
from kiosk.config.device import DeviceConfig
from tests.cards import READER
from tests.conftest import EXAMPLE_SITE

KEY = bytes(range(32))


@pytest.fixture
def issuer(site, tmp_path, pcsc):
    device = DeviceConfig(device="forms-1f", site=EXAMPLE_SITE, broker={"password_file": tmp_path / "x"})
    printed: list[list[str]] = []
    made = FormIssuer(
        site,
        templates_for(device, site),
        PcscReader(READER),
        PdfSpool(tmp_path / "paper"),
        preentry_key=KEY,
        on_printed=printed.append,
    )
    made.printed = printed
    yield made
    made.end("test over")


def _verifies(card) -> int:
    return sum(1 for c in card.commands if c[:2] == b"\x00\x20" and len(c) > 4)


def test_a_whole_visit_prints_every_form_in_one_job_and_forgets_the_resident(issuer, card_on_reader, site, tmp_path):
    card_on_reader("long_address")
    assert issuer.open_card() == 3
    items = issuer.enter_pin("1234")
    assert items.address.startswith("北海道札幌市")
    now = datetime.now(site.zone)
    fields = {"new_address": "東京都さくら区緑が丘三丁目3番3号", "phone": "098-000-0000"}
    assert issuer.scan_preentry(make_payload(fields, KEY, site.site.id, now + timedelta(hours=1), now)) == sorted(
        fields
    )
    forms = issuer.prepare(["tennyu", "juminhyo", "kokuho_kanyu"])
    assert [f.form_id for f in forms] == ["jumin_ido", "juminhyo", "kokuho_shikaku"]
    assert all(not f.problems for f in forms)
    job = issuer.print_forms()
    assert (tmp_path / "paper" / job).read_bytes().startswith(b"%PDF")
    assert issuer.printed == [["jumin_ido", "juminhyo", "kokuho_shikaku"]]
    issuer.end("finished")
    assert items.wiped  # the object the screen held is emptied too
    assert issuer.visit.items is None and issuer.visit.pre == {} and issuer.visit.rendered == []


def test_the_last_try_is_never_spent_without_confirmation(issuer, card_on_reader):
    held = card_on_reader("yamada")
    issuer.open_card()
    for left in (2, 1):
        with pytest.raises(CardError) as e:
            issuer.enter_pin("0000")
        assert e.value.tries_left == left
    with pytest.raises(LastTryUnconfirmed):
        issuer.enter_pin("1234")
    assert _verifies(held.card) == 2  # nothing was sent
    issuer.enter_pin("1234", confirmed_last_try=True)
    assert held.card.tries == 3


def test_a_card_with_one_try_left_asks_before_the_first_pin(issuer, pcsc):
    card = pcsc.card("yamada")
    card.tries = 1  # two wrong PINs on another day
    pcsc.hold(card)
    assert issuer.open_card() == 1
    with pytest.raises(LastTryUnconfirmed):
        issuer.enter_pin("1234")
    with pytest.raises(CardError) as e:
        issuer.enter_pin("0000", confirmed_last_try=True)
    assert e.value.code == "locked"
    pcsc.take_away()


def test_a_locked_card_is_refused_before_any_pin(issuer, pcsc):
    card = pcsc.card("yamada")
    card.tries = 0
    pcsc.hold(card)
    with pytest.raises(CardError) as e:
        issuer.open_card()
    assert e.value.code == "locked"
    assert _verifies(card) == 0
    pcsc.take_away()


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ("expired", "expired"),
        ("other_site", "wrong_site"),
        ("other_key", "tampered"),
        ("unknown_field", "unknown_field"),
        ("garbage", "malformed"),
    ],
)
def test_bad_pre_entry_codes_are_refused_and_fill_nothing(issuer, site, change, code):
    now = datetime.now(site.zone)
    fields = {"unknown_thing": "x"} if change == "unknown_field" else {"phone": "03-0000-0000"}
    expires = now - timedelta(seconds=1) if change == "expired" else now + timedelta(hours=1)
    key = bytes(32) if change == "other_key" else KEY
    site_id = "other-ward" if change == "other_site" else site.site.id
    text = "hello" if change == "garbage" else make_payload(fields, key, site_id, expires, now - timedelta(hours=2))
    with pytest.raises(PreEntryError) as e:
        issuer.scan_preentry(text)
    assert e.value.code == code
    assert issuer.visit.pre == {}


def test_record_forms_is_counted_by_the_queue_service(service, devices):
    forms = devices("forms-1f")
    first = forms.request("record_forms", {"forms": ["jumin_ido", "kokuho_shikaku"], "lang": "vi"})
    second = forms.request("record_forms", {"forms": ["juminhyo"], "lang": "ja"})
    assert first == {"recorded": 2, "forms_today": 2} and second == {"recorded": 1, "forms_today": 3}
    assert service.core.engine.state.forms_used == {
        ("jumin_ido", "vi"): 1,
        ("kokuho_shikaku", "vi"): 1,
        ("juminhyo", "ja"): 1,
    }
    kiosk = devices("kiosk-1f")
    with pytest.raises(Exception, match="does not allow kiosk-1f"):  # refused by the ACL already
        kiosk.request("record_forms", {"forms": ["juminhyo"], "lang": "ja"})


# ------------------------------------------------------------ foreign residents (issue 18): no card reader needed
@pytest.fixture
def offline_issuer(site, tmp_path):
    """An issuer whose card was "read" (the 4 items set by hand): the forms part needs no reader."""
    from form_printer.card.basic4 import BasicFour

    device = DeviceConfig(device="forms-1f", site=EXAMPLE_SITE, broker={"password_file": tmp_path / "x"})
    printed: list[list[str]] = []
    made = FormIssuer(
        site,
        templates_for(device, site),
        None,
        PdfSpool(tmp_path / "paper"),
        preentry_key=KEY,
        on_printed=printed.append,
    )
    made.reader = type("NoReader", (), {"close": lambda self: None})()
    made.visit.items = BasicFour(
        name="グエン　ヴァン　アン", address="東京都さくら区桜町一丁目2番3号", birth="19900512", sex="1"
    )
    made.printed = printed
    yield made
    made.end("test over")


def test_a_japanese_resident_gets_the_base_forms_unchanged(offline_issuer):
    forms = offline_issuer.prepare(["juminhyo"])
    assert [f.form_id for f in forms] == ["juminhyo"]
    assert forms[0].second_language is None
    assert offline_issuer.variant_asks(["juminhyo"], "japanese") == []


def test_a_foreign_resident_gets_the_variant_with_the_screen_language_under_the_labels(offline_issuer):
    offline_issuer.answer({"pre.nationality": "ベトナム", "pre.residence_card_number": "ab 1234-5678 cd"})
    assert offline_issuer.visit.pre["residence_card_number"] == "AB12345678CD"  # stored normalised
    forms = offline_issuer.prepare(["tennyu", "juminhyo"], resident_kind="foreign", lang="en")
    assert [f.form_id for f in forms] == ["jumin_ido_foreign", "juminhyo_foreign"]
    assert [f.second_language for f in forms] == ["en", "en"]
    assert all(not f.problems and not f.invalid for f in forms)
    assert offline_issuer.invalid_sources() == []
    offline_issuer.print_forms()
    assert offline_issuer.printed == [["jumin_ido_foreign", "juminhyo_foreign"]]
    japanese = offline_issuer.prepare(["juminhyo"], resident_kind="foreign", lang="ja")
    assert japanese[0].second_language is None  # Japanese needs no second line


def test_the_variant_fields_are_asked_once_unless_the_qr_answered_them_validly(offline_issuer, site):
    asked = [a.source for a in offline_issuer.variant_asks(["tennyu", "juminhyo"], "foreign")]
    assert asked[:4] == [
        "pre.nationality",
        "pre.residence_status",
        "pre.period_of_stay_end",
        "pre.residence_card_number",
    ]
    assert len(asked) == len(set(asked)) and "pre.phone" not in asked and not any(s.startswith("card.") for s in asked)
    kinds = {a.source: a.kind for a in offline_issuer.variant_asks(["juminhyo"], "foreign")}
    assert kinds["pre.residence_card_number"] == "residence_card" and kinds["pre.include_nationality"] == "choice"
    now = datetime.now(site.zone)
    fields = {"nationality": "ブラジル", "residence_card_number": "NOT-A-NUMBER"}
    offline_issuer.scan_preentry(make_payload(fields, KEY, site.site.id, now + timedelta(hours=1), now))
    asked = [a.source for a in offline_issuer.variant_asks(["juminhyo"], "foreign")]
    assert "pre.nationality" not in asked  # answered by the QR
    assert "pre.residence_card_number" in asked  # malformed in the QR: asked again


def test_a_malformed_residence_card_number_is_named_and_never_printed(offline_issuer):
    offline_issuer.answer({"pre.residence_card_number": "AB1234567CD"})  # 7 digits
    forms = offline_issuer.prepare(["juminhyo"], resident_kind="foreign", lang="en")
    assert forms[0].invalid
    assert offline_issuer.invalid_sources() == ["pre.residence_card_number"]
    offline_issuer.answer({"pre.residence_card_number": ""})  # left blank: written by hand
    assert "residence_card_number" not in offline_issuer.visit.pre
    offline_issuer.prepare(["juminhyo"], resident_kind="foreign", lang="en")
    assert offline_issuer.invalid_sources() == []
