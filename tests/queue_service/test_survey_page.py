"""The satisfaction survey on the ticket status page (/t/{token}, issue 18): offered once the visit is done,
recorded once per ticket through the service's command path, bad stars refused without losing the others.

The real service core (QueueCore + journal) runs in process as in test_web_public.py; the service's in-process
``submit`` is the core's command path as the site's service device (validation, engine, journal), without the
worker thread (tests/system/test_browser_public.py runs the real QueueService.submit).
"""

from __future__ import annotations

import html
import re
from datetime import datetime

import pytest

from kiosk.bus.contract import Verb
from queue_service.service.direct import CommandRejected
from tests.queue_service.test_web_public import JST, PANEL, Office

ORIGIN = "http://testserver"


class SurveyOffice(Office):
    """The Office of the public page tests, with the service's ``submit`` (answers recorded by the real core)."""

    def __init__(self, site, tmp_path, start) -> None:
        super().__init__(site, tmp_path, start)
        self.submitted: list[tuple[Verb, dict]] = []
        self.service.submit = self.submit

    def submit(self, verb: Verb, args: dict, timeout: float = 5.0) -> dict:
        self.submitted.append((verb, args))
        device = self.site.service_device.id
        with self.service.lock:
            try:
                return {"ok": True, "result": self.bus.request(device, verb.value, args), "error": None}
            except CommandRejected as exc:
                return {"ok": False, "result": None, "error": {"code": exc.code, "message": str(exc)}}

    def finish(self, ticket: dict) -> None:
        """Call and complete the ticket at counter 1 (its only step is 住民異動)."""
        self.cmd(PANEL, "open_counter", counter="c01")
        called = self.cmd(PANEL, "call_next", counter="c01")["ticket"]
        assert called["number"] == ticket["number"]
        self.cmd(PANEL, "complete", counter="c01")


@pytest.fixture
def office(site, tmp_path):
    o = SurveyOffice(site, tmp_path, datetime(2026, 11, 24, 10, 0, tzinfo=JST))
    yield o
    o.close()


def answers(**stars: int) -> dict[str, str]:
    return {f"q_{q}": str(n) for q, n in stars.items()}


def post(office, token: str, form: dict[str, str], **headers: str):
    return office.http.post(
        f"/t/{token}/survey", data=form, headers={"origin": ORIGIN} | headers, follow_redirects=False
    )


def test_survey_is_offered_only_once_the_visit_is_done(office, site):
    ticket = office.issue("tennyu", lang="en")
    waiting = office.http.get(f"/t/{ticket['token']}").text
    assert 'id="survey"' not in waiting and "How was your visit?" not in waiting
    refused = post(office, ticket["token"], answers(overall=5, waiting=4, no_repeat=5) | {"lang": "en"})
    assert refused.status_code == 409 and "The survey opens when your visit is finished." in refused.text
    assert office.core.engine.state.surveys == {}

    office.finish(ticket)
    done = office.http.get(f"/t/{ticket['token']}").text
    assert 'id="survey"' in done and 'action="/t/' + ticket["token"] + '/survey"' in done
    for q in site.survey:  # every question, in the page's language, with five stars each
        assert html.escape(q.text.en).replace("&#x27;", "&#39;") in done
        assert len(re.findall(rf'name="q_{q.id}" id="q_{q.id}_\d"', done)) == 5
    ja = office.http.get(f"/t/{ticket['token']}?lang=ja").text
    assert "本日の手続きの満足度" in ja and "待ち時間について" in ja
    easy = office.http.get(f"/t/{ticket['token']}?lang=ja-easy").text
    assert "きょうの てつづきは どうでしたか" in easy


def test_answers_are_recorded_once_and_a_second_answer_is_told_it_was_already_answered(office, site):
    ticket = office.issue("tennyu", lang="ja")
    office.finish(ticket)
    sent = post(office, ticket["token"], answers(overall=4, waiting=2, no_repeat=5) | {"lang": "ja"})
    assert sent.status_code == 303 and sent.headers["location"] == f"/t/{ticket['token']}?lang=ja#survey"
    assert office.submitted == [(Verb.RECORD_SURVEY, {"ticket": ticket["id"], "answers": {
        "overall": 4, "waiting": 2, "no_repeat": 5}})]  # fmt: skip
    assert list(office.core.engine.state.surveys.values()) == [{"overall": 4, "waiting": 2, "no_repeat": 5}]
    thanks = office.http.get(sent.headers["location"]).text
    assert 'id="survey-thanks"' in thanks and "<form" not in thanks.split('id="live"')[1]

    again = post(office, ticket["token"], answers(overall=1, waiting=1, no_repeat=1) | {"lang": "en"})
    assert again.status_code == 409
    assert "This ticket has already answered the survey. Thank you." in again.text
    assert list(office.core.engine.state.surveys.values()) == [{"overall": 4, "waiting": 2, "no_repeat": 5}]
    # a second answer that slips past the page's own check is refused by the engine, and said the same way
    office.core.engine.state.surveys.clear()
    office.core.engine.state.surveys["someone-else"] = {"overall": 3}
    office.submit(Verb.RECORD_SURVEY, {"ticket": ticket["id"], "answers": {"overall": 3}})
    raced = post(office, ticket["token"], answers(overall=2, waiting=2, no_repeat=2) | {"lang": "en"})
    assert raced.status_code == 409 and "already answered" in raced.text


def test_bad_or_missing_stars_are_refused_and_keep_the_other_choices(office):
    ticket = office.issue("tennyu", lang="en")
    office.finish(ticket)
    for bad in ("0", "6", "five", "", "3.5"):
        page = post(office, ticket["token"], {"q_overall": "5", "q_waiting": bad, "q_no_repeat": "2", "lang": "en"})
        assert page.status_code == 422
        assert "Please choose 1 to 5 stars for every question." in page.text
        assert 'id="q_overall_5" value="5" checked' in page.text  # nothing chosen is lost
        assert 'id="q_no_repeat_2" value="2" checked' in page.text
        assert 'class="stars-q missing" id="q-waiting"' in page.text  # the question to fix is marked
    assert office.submitted == [] and office.core.engine.state.surveys == {}
    # a question the site does not ask is not sent on
    post(office, ticket["token"], answers(overall=5, waiting=5, no_repeat=5, other=1))
    assert office.submitted[0][1]["answers"] == {"overall": 5, "waiting": 5, "no_repeat": 5}


def test_a_post_from_another_site_or_an_unknown_ticket_is_refused(office):
    ticket = office.issue("tennyu")
    office.finish(ticket)
    form = answers(overall=5, waiting=5, no_repeat=5)
    assert post(office, ticket["token"], form, origin="https://evil.example").status_code == 403
    assert post(office, ticket["token"], form, **{"sec-fetch-site": "cross-site"}).status_code == 403
    assert post(office, "AAAAAAAAAAAAAAAAAAAAAA", form).status_code == 404
    assert office.core.engine.state.surveys == {}


def test_no_survey_when_the_site_has_none(site, tmp_path):
    bare = site.model_copy(update={"survey": ()})
    office = SurveyOffice(bare, tmp_path, datetime(2026, 11, 24, 10, 0, tzinfo=JST))
    try:
        ticket = office.issue("tennyu", lang="en")
        office.finish(ticket)
        page = office.http.get(f"/t/{ticket['token']}").text
        assert "All done. Thank you for coming." in page
        assert 'id="survey"' not in page and 'data-has-survey="0"' in page
        refused = post(office, ticket["token"], answers(overall=5))
        assert refused.status_code == 409 and office.submitted == []
    finally:
        office.close()
