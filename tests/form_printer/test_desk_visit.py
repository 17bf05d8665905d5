"""The counter desk's state without a screen: which forms a served visit opens, which fields are asked (each once),
card / QR / typed sources, one print job, and the wipe. In-process virtual card (no pcscd), real rendering, PDF spool.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from devkit.mynumber_card import SimulatedReader, VirtualMyNumberCard, load_residents
from form_printer.card.protocol import CardError
from form_printer.desk_app.visit import Desk, Unprintable
from form_printer.fields import asks_for, form_label
from form_printer.forms.spool import PdfSpool
from form_printer.issuer import FormIssuer, LastTryUnconfirmed
from form_printer.preentry import make_payload
from form_printer.setup import templates_for
from kiosk.bus.schemas import ServingTicket
from kiosk.config.device import DeviceConfig
from tests.conftest import EXAMPLE_SITE

KEY = bytes(range(32))
MOVE_IN = ["tennyu", "inkan_toroku", "kokuho_kanyu", "jidou_teate"]
MOVE_IN_FORMS = ["jumin_ido", "inkan_toroku", "kokuho_shikaku", "jidou_teate"]
YAMADA = load_residents()["yamada"]


def serving(
    ticket: str | None = "20261204-0012", serving=("tennyu",), open_=("inkan_toroku", "kokuho_kanyu", "jidou_teate")
):
    return ServingTicket(
        counter="c01",
        ticket=ticket,
        number=12 if ticket else None,
        lang="en" if ticket else None,
        serving=list(serving) if ticket else [],
        open=list(open_) if ticket else [],
        life_event="moving_in" if ticket else None,
        answers={},
    )


@pytest.fixture
def desk(site, tmp_path):
    device = DeviceConfig(device="desk-c01", site=EXAMPLE_SITE, broker={"password_file": tmp_path / "x"})
    printed: list[list[str]] = []
    reader = SimulatedReader()
    made = Desk(
        FormIssuer(
            site, templates_for(device, site), reader, PdfSpool(tmp_path / "paper"), KEY, on_printed=printed.append
        )
    )
    made.printed = printed  # type: ignore[attr-defined]
    made.reader = reader  # type: ignore[attr-defined]
    yield made
    made.end("test over")


def test_a_served_move_in_offers_its_four_forms_and_nothing_when_the_counter_serves_nobody(desk):
    assert desk.offered_forms() == []
    desk.served(serving())
    assert desk.offered_procedures() == MOVE_IN
    assert desk.offered_forms() == MOVE_IN_FORMS
    desk.served(serving(ticket=None))
    assert desk.offered_forms() == []
    with pytest.raises(ValueError):
        desk.open("typed")


def test_each_field_is_asked_once_for_all_the_forms_with_the_forms_own_labels_and_choices(desk, site):
    templates = [desk.issuer.templates[f] for f in MOVE_IN_FORMS]
    asks = asks_for(templates, with_card=False)
    sources = [a.source for a in asks]
    assert len(sources) == len(set(sources)), "no field twice"
    assert sources[:4] == ["card.name", "card.address", "card.birth", "card.sex"], "the ID document first"
    by = {a.source: a for a in asks}
    assert by["pre.phone"].label == "電話番号" and by["pre.phone"].forms == tuple(MOVE_IN_FORMS)
    assert by["card.sex"].kind == "choice" and by["card.sex"].options == (("1", "男"), ("2", "女"))
    assert by["pre.move_date"].kind == "date"
    assert by["pre.member2_name"].label == "世帯員2 氏名"
    assert "today" not in sources and not any(s.startswith("kiosk.") for s in sources)
    with_card = [a.source for a in asks_for(templates, with_card=True, known={"pre.phone"})]
    assert not any(s.startswith("card.") for s in with_card) and "pre.phone" not in with_card
    jumin = desk.issuer.templates["jumin_ido"]
    assert form_label(jumin, jumin.field_by_id["name"]) == "氏名"


def test_card_visit_uses_the_form_issuers_pin_rules_and_prints_one_job_then_wipes(desk, tmp_path):
    desk.served(serving())
    desk.open("card")
    card = VirtualMyNumberCard(YAMADA)
    desk.reader.hold(card)
    assert desk.issuer.open_card() == 3
    for left in (2, 1):
        with pytest.raises(CardError) as e:
            desk.issuer.enter_pin("0000")
        assert e.value.tries_left == left
    with pytest.raises(LastTryUnconfirmed):
        desk.issuer.enter_pin("1234")
    desk.issuer.enter_pin("1234", confirmed_last_try=True)
    assert not any(a.source.startswith("card.") for a in desk.asks()), "the card answered them"
    desk.answer({"pre.phone": "090-1111-2222", "pre.join_reason": "tennyu", "pre.new_address": "さくら区梅田1-1"})
    forms = desk.prepare()
    assert [f.form_id for f in forms] == MOVE_IN_FORMS
    job = desk.print_forms()
    pdf = (tmp_path / "paper" / job).read_bytes()
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 4
    assert desk.printed == [MOVE_IN_FORMS]
    desk.end("printed")
    assert not desk.holds_personal_data and desk.visit is None


def test_a_locked_card_is_refused(desk):
    desk.served(serving())
    desk.open("card")
    card = VirtualMyNumberCard(YAMADA)
    card.tries = 0
    desk.reader.hold(card)
    with pytest.raises(CardError) as e:
        desk.issuer.open_card()
    assert e.value.code == "locked"


def test_a_pre_entry_qr_answers_its_fields_which_are_then_not_asked(desk, site):
    desk.served(serving())
    desk.open("qr")
    now = datetime.now(site.zone)
    payload = make_payload(
        {"phone": "090-0000-0000", "move_date": "2026-04-01"}, KEY, site.site.id, now + timedelta(1), now
    )
    assert desk.issuer.scan_preentry(payload) == ["move_date", "phone"]
    sources = [a.source for a in desk.asks()]
    assert "pre.phone" not in sources and "pre.move_date" not in sources
    assert sources[0] == "card.name", "no card: the name is asked"


def test_typed_from_an_id_document_needs_a_name_and_a_real_birth_date_and_fills_the_card_fields(desk):
    desk.served(serving(serving=("juminhyo",), open_=()))
    desk.open("typed")
    assert desk.check({"card.name": "", "card.birth": "1990-13-40"}) == ["card.birth", "card.name"]
    with pytest.raises(ValueError):
        desk.answer({"card.sex": "x", "card.name": "A"})
    desk.answer({"card.name": "佐藤 花子", "card.address": "さくら区1-2", "card.birth": "1990-05-06", "card.sex": "2"})
    assert desk.issuer.visit.items is not None and desk.issuer.visit.items.birth == "19900506"
    (form,) = desk.prepare()
    assert form.form_id == "juminhyo"


def test_the_counter_completing_the_visit_wipes_it(desk):
    desk.served(serving())
    desk.open("typed")
    desk.answer({"card.name": "佐藤 花子", "card.birth": "1990-05-06", "pre.phone": "1"})
    desk.prepare()
    assert desk.holds_personal_data
    assert desk.served(serving()) is False, "the same visit still served: kept"
    assert desk.served(serving(ticket=None)) is True
    assert not desk.holds_personal_data and desk.issuer.visit.rendered == []
    assert "佐藤" not in repr(desk.visit) + repr(desk.issuer.visit)


FOREIGN_TYPED = {
    "card.name": "NGUYEN VAN AN",
    "card.address": "東京都さくら区緑が丘三丁目3番3号",
    "card.birth": "1996-02-03",
    "card.sex": "1",
    "pre.nationality": "ベトナム",
    "pre.residence_status": "技術・人文知識・国際業務",
}


def test_a_foreign_resident_gets_the_variant_its_fields_asked_once_a_bad_card_number_refused_and_a_second_language(
    desk, tmp_path
):
    desk.served(serving(serving=("juminhyo",), open_=()))
    assert desk.resident_kind == "japanese", "the staff decide; nothing is assumed"
    desk.mark_foreign(True)
    assert [t.id for t, _p in desk.forms()] == ["juminhyo_foreign"]
    assert desk.offered_forms() == ["juminhyo"], "the procedure still names its base form"
    visit = desk.open("typed")
    assert visit.resident_kind == "foreign" and visit.lang == "en", "the ticket's language"
    asks = {a.source: a for a in desk.asks()}
    assert {"pre.nationality", "pre.residence_status", "pre.residence_card_number"} <= set(asks)
    assert asks["pre.residence_card_number"].kind == "residence_card"
    assert asks["pre.residence_card_number"].label == "在留カード番号"
    assert asks["card.birth"].kind == "date", "a wareki_western date is still a date to type"
    assert "pre.include_domicile" not in asks, "本籍 is the Japanese form's"
    bad = {**FOREIGN_TYPED, "pre.residence_card_number": "AB1234567CD"}
    assert desk.check(bad) == ["pre.residence_card_number"]
    with pytest.raises(ValueError):
        desk.answer(bad)
    assert desk.issuer.visit.rendered == [], "nothing rendered for a malformed number"
    desk.answer({**FOREIGN_TYPED, "pre.residence_card_number": "ａｂ 1234 5678 ｃｄ"})
    assert desk.issuer.visit.pre["residence_card_number"] == "AB12345678CD", "normalised as it is printed"
    (form,) = desk.prepare()
    assert form.form_id == "juminhyo_foreign" and form.second_language == "en" and form.invalid == []
    printed = {k: "".join(f.lines) for k, f in form.fits.items()}
    assert printed["residence_card_number"] == "AB12345678CD" and printed["nationality"] == "ベトナム"
    assert printed["birth"].endswith("(1996-02-03)"), "the Western date beside the era"
    job = desk.print_forms()
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", (tmp_path / "paper" / job).read_bytes())) == 1
    assert desk.printed == [["juminhyo_foreign"]]
    desk.end("printed")
    assert desk.resident_kind == "japanese" and not desk.holds_personal_data


def test_a_malformed_card_number_from_a_pre_entry_qr_is_asked_again_and_never_printed(desk, site):
    desk.served(serving(serving=("juminhyo",), open_=()))
    desk.mark_foreign(True)
    desk.open("qr")
    now = datetime.now(site.zone)
    fields = {"residence_card_number": "XX12", "nationality": "ブラジル", "phone": "090-0000-0000"}
    desk.issuer.scan_preentry(make_payload(fields, KEY, site.site.id, now + timedelta(1), now))
    sources = [a.source for a in desk.asks()]
    assert "pre.residence_card_number" in sources, "a number that cannot be printed is asked again"
    assert "pre.nationality" not in sources and "pre.phone" not in sources
    desk.answer({"card.name": "SILVA ANA", "card.birth": "1988-07-09"})
    with pytest.raises(Unprintable) as e:
        desk.prepare()
    assert e.value.sources == ["pre.residence_card_number"] and desk.issuer.visit.rendered == []


def test_a_new_ticket_starts_as_a_japanese_resident_again(desk):
    desk.served(serving())
    desk.mark_foreign(True)
    assert [t.id for t, _p in desk.forms()][0] == "jumin_ido_foreign"
    desk.served(serving())
    assert desk.resident_kind == "foreign", "the same visit: the staff's choice stays"
    desk.served(serving(ticket="20261204-0013"))
    assert desk.resident_kind == "japanese" and [t.id for t, _p in desk.forms()] == MOVE_IN_FORMS
