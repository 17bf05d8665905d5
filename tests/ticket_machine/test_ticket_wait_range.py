"""The printed ticket and the kiosk's issued screen say the wait as a range (issue 21): tickets issued by the real
engine (rev 2 replies carry ``est_wait_range``), the slip rendered in all seven languages and saved under
build/test-artifacts/printing/<test>/ to be looked at; the wait line stays one line on 80 mm paper."""

from __future__ import annotations

import json

import pytest

from kiosk.bus.schemas import TicketView, WaitRange, for_revision
from kiosk.i18n import LANGUAGES, gettext_for
from kiosk.printing import render_ticket_image, render_ticket_preview
from kiosk.printing.ticket import _font, wrap_text
from tests.conftest import artifact_folder
from tests.desk import Desk
from tests.i18n_preview import previewed
from ticket_machine.kiosk_app.slip import slip_for, wait_text

URL = "https://sakura.example.jp/t/{token}"


@pytest.fixture(autouse=True)
def preview():
    with previewed():
        yield


def busy_ticket(site, lang: str) -> TicketView:
    """A 住民票 ticket behind six others at one open counter: a wait of several minutes, with its range."""
    desk = Desk(site)
    desk.open("c07")
    for _ in range(6):
        desk.issue("juminhyo")
    return desk.issue("juminhyo", lang=lang)


def test_the_slip_prints_the_range_the_queue_service_sent(site):
    ticket = busy_ticket(site, "ja")
    span = ticket.est_wait_range
    assert span is not None and span.low < ticket.est_wait_min < span.high, "the engine's range around its figure"
    slip = slip_for(site, ticket, URL)
    assert slip.wait_text == f"待ち時間の目安：{span.low}〜{span.high}分"
    assert wait_text("en", ticket) == f"Estimated wait: {span.low}–{span.high} min"


def test_a_rev_1_reply_without_a_range_prints_about_n_as_before(site):
    ticket = busy_ticket(site, "ja")
    v1 = TicketView.model_validate_json(json.dumps(for_revision(ticket, 1)))  # as a rev-1 kiosk reads it
    assert v1.est_wait_range is None and v1.est_wait_min == ticket.est_wait_min
    assert wait_text("ja", v1) == gettext_for("ja", "Estimated wait: about {minutes} min").format(
        minutes=ticket.est_wait_min
    )


def test_no_counter_open_and_next_in_line_keep_their_words(site):
    desk = Desk(site)
    closed = desk.issue("juminhyo")
    assert wait_text("ja", closed) == gettext_for("ja", "Estimated wait: not known yet")
    desk.open("c07")
    first = desk.issue("juminhyo", lang="en")
    assert first.est_wait_min is not None
    zero = first.model_copy(update={"est_wait_min": 0, "est_wait_range": None})
    assert wait_text("en", zero) == "Estimated wait: you are next"


@pytest.mark.parametrize("width", [576, 384])
def test_the_wait_line_fits_the_paper_in_every_language(site, width):
    """The range is printed bold at 30 dots (scaled on 58 mm paper): one line on 80 mm, at most two on 58 mm."""
    scale = min(1.0, width / 576)
    font = _font(round(30 * scale), bold=True)
    inner = width - 2 * max(8, width // 36)
    for lang in LANGUAGES:
        widest = {"est_wait_min": 57, "est_wait_range": WaitRange(low=45, high=120)}
        text = wait_text(lang, busy_ticket(site, lang).model_copy(update=widest))
        assert "45" in text and "120" in text
        lines = wrap_text(text, font, inner, lang)
        assert len(lines) <= (1 if width == 576 else 2), (lang, lines)


def test_the_slip_in_seven_languages_is_saved_to_look_at(site, request):
    folder = artifact_folder(request, "printing")
    for lang in LANGUAGES:
        slip = slip_for(site, busy_ticket(site, lang), URL)
        image = render_ticket_image(slip)
        assert image.width == 576
        render_ticket_preview(slip).save(folder / f"ticket-wait-range-{lang}.png")
    assert len(list(folder.glob("*.png"))) == len(LANGUAGES)
