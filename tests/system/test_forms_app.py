"""The form issuer app under Xvfb, on the real PC/SC stack (pcscd + vpcd + virtual card), the real
broker and queue service, printing to the PDF spool. Then the privacy check of the whole session:
the resident's name, address and birth date must be nowhere but on the printed paper.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from devkit.mynumber_card import load_residents
from form_printer.preentry import make_payload, new_key
from tests.cards import READER, YAMADA_SECRETS
from tests.harness import BusSpy, secrets_in_files
from tests.system.test_ui_apps import Stack

#: What must never leave the session: the card's data, and the pre-entered new address.
SECRETS = [*YAMADA_SECRETS, "さくら区梅田一丁目"]
PRE_FIELDS = {"new_address": "東京都さくら区梅田一丁目1番1号", "phone": "090-1111-2222"}


def card_desk_settings(site, tmp_path: Path, pre_fields: dict[str, str]) -> dict[str, str]:
    """A form-printing station's device settings for the tests (the form issuer, the counter desk): PDFs into
    ``tmp_path/paper``, the vpcd reader, a fresh pre-entry key (0600) under ``tmp_path/secrets``; a pre-entry QR
    payload of ``pre_fields``, signed with it and valid for three days, is left in ``tmp_path/preentry.txt``."""
    key = tmp_path / "secrets" / "preentry.key"
    key.touch(mode=0o600)
    key.write_text(new_key() + "\n")
    now = datetime.now(site.zone)
    payload = make_payload(
        pre_fields, bytes.fromhex(key.read_text().strip()), site.site.id, now + timedelta(days=3), now
    )
    (tmp_path / "preentry.txt").write_text(payload)
    return {"form_printer": f"pdf:{tmp_path / 'paper'}", "card_reader": READER, "preentry_key": str(key)}


@pytest.fixture
def forms_stack(site, tmp_path, display, pcsc):
    running = Stack(site, tmp_path, display)
    running.forms_settings = card_desk_settings(site, tmp_path, PRE_FIELDS)
    spy = BusSpy(running.broker, site.site.id, "forms-1f")
    yield running, spy
    spy.stop()
    pcsc.take_away()
    running.stop()


def test_move_in_forms_printed_from_the_card_and_nothing_personal_kept(site, forms_stack, pcsc):
    stack, spy = forms_stack
    result = stack.drive(
        "forms",
        "forms-1f",
        "forms_move_in",
        vpcd_port=pcsc.port,
        preentry_file=stack.state / "preentry.txt",
        settings=stack.forms_settings,
    )
    assert result["print_state"] == "done" and result["wiped"]
    assert result["chosen"] == [
        "tennyu",
        "inkan_toroku",
        "kokuho_kanyu",
        "jidou_teate",
    ]  # move-in procedures with forms
    # one job, all the forms: 住民異動届, 印鑑登録申請書, 国保 資格取得届, 児童手当 認定請求書 as one 4-page A4 PDF
    pdfs = list((stack.state / "paper").glob("*.pdf"))
    assert len(pdfs) == 1
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdfs[0].read_bytes())) == 4
    # the counts reached the queue service's journal: form ids and the language, nothing else
    with sqlite3.connect(stack.state / "queue.sqlite") as db:
        rows = db.execute("SELECT args FROM journal WHERE verb = 'record_forms'").fetchall()
    assert [json.loads(r[0]) for r in rows] == [
        {"forms": ["jumin_ido", "inkan_toroku", "kokuho_shikaku", "jidou_teate"], "lang": "en"}
    ]
    # privacy: the state folder (journal, logs, broker data), the pcscd log and the bus carry none of it
    assert secrets_in_files(stack.state, SECRETS, skip=stack.state / "paper") == []
    assert [s for s in SECRETS if s.encode() in pcsc.daemon.log.read_bytes()] == []
    published = [(t, p) for t, p in spy.payloads if any(s.encode() in p for s in SECRETS)]
    assert published == []
    assert any(t.endswith("/queue/cmd/record_forms") for t, _ in spy.payloads), "the spy saw nothing"


def test_card_problems_last_try_locked_other_card_and_card_taken_away(forms_stack, pcsc):
    stack, _spy = forms_stack
    result = stack.drive("forms", "forms-1f", "forms_card_problems", vpcd_port=pcsc.port, settings=stack.forms_settings)
    assert result["verifies_before_warning"] == 2  # the third PIN waited for the resident's confirmation
    assert "locked" in result["locked_message"] or "ロック" in result["locked_message"]
    assert result["other_card_message"] and result["other_card_message"] != result["locked_message"]
    assert result["read"] is True
    assert result["notice"]


def test_a_foreign_resident_in_english_prints_the_foreign_resident_juminhyo_request(site, forms_stack, pcsc):
    """Issue 18: the resident's own toggle, her residence card's fields (a malformed number refused on screen),
    the 住民票 request's foreign-resident variant with English under the labels, one job, nothing kept."""
    stack, spy = forms_stack
    garcia = load_residents()["foreign"].items
    result = stack.drive(
        "forms", "forms-1f", "forms_foreign_resident", vpcd_port=pcsc.port, settings=stack.forms_settings
    )
    assert result["foreign_at_start"] is False and result["foreign_after"] is False
    assert result["asked"] == [
        "pre.include_nationality",
        "pre.include_residence_status",
        "pre.nationality",
        "pre.residence_card_number",
        "pre.residence_status",
    ]
    assert result["bad_shown"] is True
    assert result["after_bad"]["screen"] == "details" and result["after_bad"]["rendered"] == 0
    assert "8 digits" in result["after_bad"]["message"]
    assert result["good_message"] == ""
    assert result["forms"] == [["juminhyo_foreign", "en", []]]  # English under the labels
    assert result["card_number_normalised"] is True
    assert result["print_state"] == "done" and result["wiped"]
    pdfs = list((stack.state / "paper").glob("*.pdf"))
    assert len(pdfs) == 1 and len(re.findall(rb"/Type\s*/Page\b(?!s)", pdfs[0].read_bytes())) == 1
    with sqlite3.connect(stack.state / "queue.sqlite") as db:
        rows = db.execute("SELECT args FROM journal WHERE verb = 'record_forms'").fetchall()
    assert [json.loads(r[0]) for r in rows] == [{"forms": ["juminhyo_foreign"], "lang": "en"}]
    secrets = [garcia.name, garcia.address, garcia.birth, "XY98765432ZW", "9876-5432", "VIET NAM"]
    assert [s for s in secrets if any(s.encode() in p for _t, p in spy.payloads)] == []
    assert [s for s in secrets if s.encode() in pcsc.daemon.log.read_bytes()] == []
    assert secrets_in_files(stack.state, secrets, skip=stack.state / "paper") == []
