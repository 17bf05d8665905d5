"""The counter desk under Xvfb, on the real PC/SC stack (pcscd + vpcd + virtual card), the real broker and queue
service (its counter really serves a move-in: issued, called at 1番), printing to the PDF spool. Four residents:
a card (the resident types the PIN on the resident-facing pad), a pre-entry QR, no card (typed from an ID document),
a foreign resident's 住民票 request (Vietnamese ticket, typed from the residence card, a malformed 在留カード番号
refused before anything is rendered; 1番 serves 住民異動 only, so the ticket is a move-in with a 住民票 request
open). Then the privacy checks: the residents' name, address and birth date nowhere but on the paper.

The scenarios run inside the app's process through tests/ui/driver.py (``python -m tests.system.test_desk_app``
hands the driver this module's scenarios).
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.cards import YAMADA_SECRETS
from tests.harness import BusSpy, secrets_in_files

MOVE_IN = ["tennyu", "inkan_toroku", "kokuho_kanyu", "jidou_teate"]
MOVE_IN_FORMS = ["jumin_ido", "inkan_toroku", "kokuho_shikaku", "jidou_teate"]
SECRETS = [
    *YAMADA_SECRETS,
    "さくら区梅田一丁目",  # the new address the staff typed
    "090-1111-2222",  # the phone number the staff typed
]
TYPED = {
    "field-pre.phone": "090-1111-2222",
    "field-pre.new_address": "東京都さくら区梅田一丁目1番1号",
    "field-pre.move_date": "2026-04-01",
    "field-pre.name_kana": "やまだ たろう",
}
NO_CARD = {
    "field-card.name": "佐藤 花子",
    "field-card.address": "東京都さくら区緑が丘三丁目3番3号",
    "field-card.birth": "1990-05-06",
    "field-pre.phone": "080-3333-4444",
}
#: 1番 serves the 住民異動 group: a foreign resident's 住民票 request comes with the move-in it is called for.
FOREIGN_VISIT = ["tennyu", "juminhyo"]
FOREIGN_FORMS = ["jumin_ido_foreign", "juminhyo_foreign"]
FOREIGN = {
    "field-card.name": "NGUYEN VAN AN",
    "field-card.address": "東京都さくら区緑が丘五丁目5番5号",
    "field-card.birth": "1996-02-03",
    "field-pre.nationality": "ベトナム",
    "field-pre.residence_status": "技術・人文知識・国際業務",
    "field-pre.residence_card_number": "VN4021395QA",  # one digit short, as mistyped
    "field-pre.phone": "070-7777-8888",
}
FOREIGN_SECRETS = [
    "NGUYEN VAN AN",
    "緑が丘五丁目5番5号",
    "1996-02-03",
    "19960203",
    "平成8年2月3日",
    "VN40213957QA",
    "VN4021395QA",
    "070-7777-8888",
]


# ---------------------------------------------------------------- scenarios (run inside the app's process)
def _type(ui, answers: dict[str, str]):
    for key, text in answers.items():
        widget = ui.find(key)
        widget.text = text  # what the keyboard (and the OS input method, for Japanese) leaves in the TextInput
        yield ui.frames(1)


def _open(app, ui, source: str, shot: str | None):
    visit = app.sm.get_screen("visit")
    yield ui.screen("visit")
    yield ui.until(lambda: visit.can_open, "the counter's visit to be offered", timeout=30)
    ui.result["offered"] = app.desk.offered_forms()
    if shot:
        yield ui.shot(shot)
    yield ui.tap(f"source-{source}")


def _print(app, ui, prefix: str):
    from kiosk.ui.lang import tr

    yield ui.tap("fields-preview")
    yield ui.screen("preview")
    ui.result["rendered"] = [[f.form_id, f.second_language] for f in app.desk.issuer.visit.rendered]
    ui.result["preview_lang"] = tr.lang
    yield ui.shot(f"{prefix}-resident-preview")
    yield ui.tap("print")
    yield ui.screen("visit")
    visit = app.sm.get_screen("visit")
    yield ui.until(lambda: visit.notice, "the printed notice")
    yield ui.until(lambda: not app.desk.holds_personal_data, "the visit to be wiped")
    yield ui.shot(f"{prefix}-staff-printed")
    ui.result["wiped"] = not app.desk.holds_personal_data and app.desk.visit is None
    yield ui.until(lambda: not app.pending_counts, "the counts to reach the queue service")


def desk_card(app, ui, params):
    """Yamada moves in: the card on the desk's reader, a wrong PIN and the right one on the resident's pad, the
    remaining fields typed by the staff, the preview turned to the resident, one print job."""
    from tests.ui.scenarios import _card, _pin

    yield from _open(app, ui, "card", "desk-01-staff-visit")
    yield ui.screen("card")
    yield ui.shot("desk-02-staff-card")
    holder = _card(params, "yamada")
    yield ui.screen("pin")
    yield from _pin(ui, "9999")
    pin = app.sm.get_screen("pin")
    yield ui.until(lambda: pin.tries_left == 2 and pin.message, "the wrong PIN to be told")
    yield ui.shot("desk-03-resident-pin-wrong")
    from kiosk.ui.lang import tr

    ui.result["pin_lang"] = tr.lang
    yield from _pin(ui, "1234")
    yield ui.screen("fields")
    ui.result["staff_lang"] = tr.lang
    ui.result["asked"] = [a.source for a in app.desk.asks()]
    yield from _type(ui, TYPED)
    yield ui.tap("choice-pre.join_reason-tennyu")
    yield ui.frames()
    fields = app.sm.get_screen("fields")
    fields.ids.scroll.scroll_y = 1
    yield ui.frames()
    yield ui.shot("desk-04-staff-fields")
    yield from _print(app, ui, "desk-05")
    holder.remove()


def desk_qr(app, ui, params):
    """A resident with a pre-entry QR: its answers are not asked again; the name etc. are typed."""
    from tests.ui.scenarios import _scan

    yield from _open(app, ui, "qr", None)
    yield ui.screen("qr")
    _scan("]Q1" + Path(params["preentry_file"]).read_text().strip())
    qr = app.sm.get_screen("qr")
    yield ui.until(lambda: qr.state == "ok", "the pre-entry QR to be read")
    yield ui.shot("desk-06-staff-qr")
    yield ui.tap("qr-next")
    yield ui.screen("fields")
    ui.result["asked"] = [a.source for a in app.desk.asks()]
    yield from _type(ui, {k: v for k, v in NO_CARD.items() if k != "field-pre.phone"})
    yield ui.tap("choice-card.sex-1")
    yield from _print(app, ui, "desk-07")


def desk_typed(app, ui, params):
    """A resident without a card: the staff type from the ID document; a bad date is refused first."""
    yield from _open(app, ui, "typed", None)
    yield ui.screen("fields")
    ui.result["asked"] = [a.source for a in app.desk.asks()]
    yield from _type(ui, {**NO_CARD, "field-card.birth": "1990-13-45"})
    yield ui.tap("choice-card.sex-2")
    yield ui.tap("fields-preview")
    fields = app.sm.get_screen("fields")
    yield ui.until(lambda: fields.message, "the bad date to be named")
    ui.result["refused"] = fields.message
    yield ui.shot("desk-08-staff-typed-bad-date")
    yield from _type(ui, {"field-card.birth": NO_CARD["field-card.birth"]})
    yield from _print(app, ui, "desk-09")


def desk_foreign(app, ui, params):
    """A foreign resident moves in and asks for a 住民票 (Vietnamese ticket): the staff mark them a foreign resident,
    type from the residence card, mistype the 在留カード番号 (told as typed, refused at the preview), correct it,
    print."""
    from kiosk.ui.lang import tr

    visit = app.sm.get_screen("visit")
    yield ui.screen("visit")
    yield ui.until(lambda: visit.can_open, "the counter's visit to be offered", timeout=30)
    ui.result["kind_before"] = app.desk.resident_kind
    ui.result["forms_before"] = [t.id for t, _p in app.desk.forms()]
    yield ui.tap("resident-foreign")
    yield ui.until(lambda: visit.foreign, "the foreign-resident toggle to be on")
    ui.result["offered"] = [t.id for t, _p in app.desk.forms()]
    yield ui.shot("desk-10-staff-visit-foreign")
    yield ui.tap("source-typed")
    yield ui.screen("fields")
    ui.result["asked"] = [a.source for a in app.desk.asks()]
    ui.result["staff_lang"] = tr.lang
    fields = app.sm.get_screen("fields")
    yield from _type(ui, FOREIGN)
    yield ui.tap("choice-card.sex-1")
    yield ui.until(lambda: fields.warning, "the card number's format to be said as it is typed")
    ui.result["warned"] = fields.warning
    ui.result["marked_bad"] = ui.find("field-pre.residence_card_number").bad
    fields.ids.scroll.scroll_to(ui.find("field-pre.residence_card_number").parent, padding=40, animate=False)
    yield ui.frames()
    yield ui.shot("desk-11-staff-foreign-bad-card-number")
    yield ui.tap("fields-preview")
    yield ui.until(lambda: fields.message, "the malformed card number to be refused")
    ui.result["refused"] = fields.message
    ui.result["rendered_when_refused"] = len(app.desk.issuer.visit.rendered)
    yield from _type(ui, {"field-pre.residence_card_number": "vn4021 3957qa"})
    yield ui.until(lambda: not fields.warning, "the corrected number to be accepted")
    yield from _print(app, ui, "desk-12")


# ---------------------------------------------------------------- the test side


@pytest.fixture
def desk_stack(site, tmp_path, display, pcsc):
    from tests.system.test_forms_app import card_desk_settings
    from tests.system.test_ui_apps import Stack

    running = Stack(site, tmp_path, display)
    pre = {"phone": "090-5555-6666", "move_date": "2026-04-01", "new_address": "東京都さくら区桜台1-1"}
    running.settings = card_desk_settings(site, tmp_path, pre)
    spy = BusSpy(running.broker, site.site.id, "desk-c01")
    kiosk, panel = running.broker.bus("kiosk-1f"), running.broker.bus("panel-c01")
    panel.request("open_counter", {"counter": "c01"})
    running.serve = lambda procedures=MOVE_IN, lang="en": _serve(kiosk, panel, procedures, lang)
    yield running, spy
    spy.stop()
    kiosk.stop()
    panel.stop()
    pcsc.take_away()
    running.stop()


def _serve(kiosk, panel, procedures: list[str], lang: str) -> dict:
    """A ticket (a move-in unless told) issued at the kiosk and called at 1番: the counter now serves it (the desk
    opens it)."""
    ticket = kiosk.request("issue", {"procedures": procedures, "lang": lang})["ticket"]
    called = panel.request("call_next", {"counter": "c01"})["ticket"]
    assert called["id"] == ticket["id"]
    return ticket


def drive(stack, scenario: str, **params) -> dict:
    """The desk app runs this module (its scenarios are added to the UI driver's below)."""
    return stack.drive(
        "desk",
        "desk-c01",
        scenario,
        module="tests.system.test_desk_app",
        settings=stack.settings,
        timeout=180,
        **params,
    )


def _pages(pdf: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))


def test_move_in_by_card_composed_in_one_pass_previewed_printed_and_nothing_personal_kept(desk_stack, pcsc):
    stack, spy = desk_stack
    stack.serve()
    result = drive(stack, "desk_card", vpcd_port=pcsc.port)
    assert result["offered"] == MOVE_IN_FORMS
    assert not any(s.startswith("card.") for s in result["asked"]), "the card gave name, address, birth, sex"
    assert len(result["asked"]) == len(set(result["asked"])), "each field asked once for the four forms"
    assert result["pin_lang"] == "en" and result["staff_lang"] == "ja", (
        "the resident's pad speaks the ticket's language"
    )
    assert result["wiped"]
    (pdf,) = list((stack.state / "paper").glob("*.pdf"))  # one job
    assert _pages(pdf) == 4
    with sqlite3.connect(stack.state / "queue.sqlite") as db:
        rows = db.execute("SELECT args FROM journal WHERE verb = 'record_forms'").fetchall()
    assert [json.loads(r[0]) for r in rows] == [{"forms": MOVE_IN_FORMS, "lang": "en"}]
    # privacy: state folder (journal, broker, the desk's own log), pcscd's log and the bus: none of it
    assert secrets_in_files(stack.state, SECRETS, skip=stack.state / "paper") == []
    assert [s for s in SECRETS if s.encode() in pcsc.daemon.log.read_bytes()] == []
    assert [(t, p) for t, p in spy.payloads if any(s.encode() in p for s in SECRETS)] == []
    assert any(t.endswith("/queue/cmd/record_forms") for t, _ in spy.payloads), "the spy saw nothing"


def test_pre_entry_qr_then_a_resident_without_a_card(desk_stack):
    stack, _spy = desk_stack
    stack.serve()
    qr = drive(stack, "desk_qr", preentry_file=stack.state / "preentry.txt")
    assert "pre.phone" not in qr["asked"] and "pre.move_date" not in qr["asked"], "the QR answered them"
    assert qr["asked"][:4] == ["card.name", "card.address", "card.birth", "card.sex"]
    assert qr["wiped"]
    typed = drive(stack, "desk_typed")
    assert typed["asked"][:4] == ["card.name", "card.address", "card.birth", "card.sex"]
    assert "生年月日" in typed["refused"]
    assert typed["wiped"]
    pdfs = sorted((stack.state / "paper").glob("*.pdf"))
    assert [_pages(p) for p in pdfs] == [4, 4], "two visits, one job each"


def test_foreign_resident_juminhyo_typed_from_a_residence_card_in_the_tickets_language(desk_stack, pcsc):
    stack, spy = desk_stack
    stack.serve(FOREIGN_VISIT, "vi")
    result = drive(stack, "desk_foreign")
    assert result["kind_before"] == "japanese" and result["forms_before"] == ["jumin_ido", "juminhyo"], "staff decide"
    assert result["offered"] == FOREIGN_FORMS
    asked = result["asked"]
    assert asked[:4] == ["card.name", "card.address", "card.birth", "card.sex"], "typed from the residence card"
    assert {"pre.nationality", "pre.residence_status", "pre.residence_card_number"} <= set(asked)
    assert len(asked) == len(set(asked))
    assert result["staff_lang"] == "ja" and result["preview_lang"] == "vi", "the resident's side speaks Vietnamese"
    assert result["warned"] and result["marked_bad"], "the malformed number is said as it is typed"
    assert "在留カード番号" in result["refused"] and result["rendered_when_refused"] == 0, "refused before rendering"
    assert result["rendered"] == [[f, "vi"] for f in FOREIGN_FORMS], "the variants, Vietnamese under the labels"
    assert result["wiped"]
    (pdf,) = list((stack.state / "paper").glob("*.pdf"))  # one job
    assert _pages(pdf) == 2
    with sqlite3.connect(stack.state / "queue.sqlite") as db:
        rows = db.execute("SELECT args FROM journal WHERE verb = 'record_forms'").fetchall()
    assert [json.loads(r[0]) for r in rows] == [{"forms": FOREIGN_FORMS, "lang": "vi"}]
    # privacy: name, address, birth date, card number and phone nowhere but on the paper
    assert secrets_in_files(stack.state, FOREIGN_SECRETS, skip=stack.state / "paper") == []
    assert [s for s in FOREIGN_SECRETS if s.encode() in pcsc.daemon.log.read_bytes()] == []
    assert [(t, p) for t, p in spy.payloads if any(s.encode() in p for s in FOREIGN_SECRETS)] == []
    assert any(t.endswith("/queue/cmd/record_forms") for t, _ in spy.payloads), "the spy saw nothing"


if __name__ == "__main__":
    from tests.ui import driver, scenarios

    for name in ("desk_card", "desk_qr", "desk_typed", "desk_foreign"):
        setattr(scenarios, name, globals()[name])
    role, config, scenario, result, *rest = sys.argv[1:]
    sys.exit(driver.run(role, config, scenario, result, dict(kv.split("=", 1) for kv in rest)))
