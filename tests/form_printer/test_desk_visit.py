"""The counter desk's state without a screen: which forms a served visit opens, which fields are asked (each once),
card / QR / typed sources, one print job, and the wipe. In-process virtual card (no pcscd), real rendering, PDF spool.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from devkit.mynumber_card import SimulatedReader, VirtualMyNumberCard, load_residents
from form_printer.card.protocol import CardError
from form_printer.desk_app.fields import asks_for, form_label
from form_printer.desk_app.visit import Desk
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
