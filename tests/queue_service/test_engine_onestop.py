"""The one-stop counter in the engine: skills, booths, dispatch, routing, pickup, payment and the reception.

The example site has four booths (b1..b4, group "onestop"); its one-stop life events (moving_in, ...) route
resident-registration steps to the booth's own staff ("front") and the sections' steps to "booth" (their staff
come). c06 (koseki) also serves certificates and c25 (kodomo) also serves 国保: skills.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from queue_service.engine import CommandError, StepStatus, TicketStatus
from queue_service.engine.model import StepMode
from queue_service.service.core import QueueCore
from queue_service.service.direct import DirectClient
from queue_service.service.journal import Journal
from tests.desk import JST, KIOSK, Desk

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=JST)

MOVE_IN = ["tennyu", "kokuho_kanyu", "jidou_teate", "kaigo_shikaku"]
ANSWERS = {"kokuho": True, "children": True, "over_65": True, "seal": False}


@pytest.fixture
def desk(site):
    d = Desk(site)
    d.open("b1", "b2", "b3", "c01", "c06", "c07", "c21", "c24", "c25", "c31")
    return d


def move_in(desk: Desk, **extra):
    args = {"procedures": MOVE_IN, "life_event": "moving_in", "answers": ANSWERS, **extra}
    return desk.do("issue", KIOSK, **args).result.ticket


def steps(desk: Desk, ticket_id: str) -> dict[str, tuple[str, str, str]]:
    return {
        f"{s.kind.value}:{s.procedure}": (s.group, s.mode.value, s.status.value)
        for s in desk.engine.state.tickets[ticket_id].steps
    }


def test_a_one_stop_visit_is_routed_by_the_site_and_a_plain_one_is_not(desk):
    t = move_in(desk)
    assert steps(desk, t.id) == {
        "procedure:tennyu": ("onestop", "front", "pending"),
        "procedure:kokuho_kanyu": ("kokuho", "booth", "pending"),
        "procedure:jidou_teate": ("kodomo", "booth", "pending"),
        "procedure:kaigo_shikaku": ("kaigo", "booth", "pending"),
    }
    plain = desk.issue(*MOVE_IN)  # by procedures, no one-stop life event: the classic counters
    assert {s.mode for s in plain.itinerary} == {"counter"}
    assert [s.group for s in plain.itinerary] == ["jumin", "kokuho", "kodomo", "kaigo"]
    errand = desk.do("issue", KIOSK, procedures=["juminhyo"], life_event="moving_in").result.ticket
    assert errand.itinerary[0].mode == "counter", "nothing of it is routed to the booth"


def test_called_once_to_a_booth_and_the_sections_come(desk):
    t = move_in(desk)
    assert desk.call("c21") is None, "a one-stop visit is not called to a section's counter"
    called = desk.do("call_next", counter="b3")
    assert called.result.ticket.id == t.id and called.result.ticket.booth == "b3"
    assert [(e.number, e.counter) for e in called.called] == [(t.number, "b3")]
    assert [s.status for s in called.result.ticket.itinerary][0] == "serving"  # the booth does 転入届 itself
    assert desk.engine.requests_state("kokuho").requests == [], "no request while the booth serves"
    desk.complete("b3")
    assert desk.status(t.id) == "waiting" and desk.engine.state.tickets[t.id].booth == "b3"
    for counter, group in (("c21", "kokuho"), ("c24", "kodomo"), ("c31", "kaigo")):
        requests = desk.engine.requests_state(group).requests
        assert [(r.booth, r.ticket, r.number) for r in requests] == [("b3", t.id, t.number)]
        assert desk.call(counter) is None, "the seated resident is never called to a counter"
        taken = desk.do("take_request", counter=counter, ticket=t.id)
        assert taken.called == [], "staff walk to the booth: nothing on the board"
        assert desk.engine.state.counters[counter].away_at == "b3"
        assert desk.engine.booth_state("b3").served_by == counter
        assert group not in desk.engine.booth_state("b3").waiting_for, "they are here"
        with pytest.raises(CommandError) as recall:
            desk.do("recall", counter=counter)
        assert recall.value.code == "at_booth", "a recall would call the seated resident to the section's counter"
        desk.complete(counter)
    # kaigo_shikaku is delivered later: the booth is free, the ticket waits for its pickup
    assert desk.engine.state.counters["b3"].seated is None
    assert desk.status(t.id) == "waiting"
    assert desk.engine.state.recent[0].counter == "b3" and len(desk.engine.state.recent) == 1


def test_the_booth_is_held_and_other_booths_call_the_next(desk):
    first, second = move_in(desk), move_in(desk)
    assert desk.call("b1").id == first.id
    desk.complete("b1")
    with pytest.raises(CommandError) as exc:
        desk.call("b1")
    assert exc.value.code == "booth_occupied" and "kokuho" in exc.value.message
    assert desk.call("b2").id == second.id
    with pytest.raises(CommandError) as closing:
        desk.do("close_counter", counter="b1")
    assert closing.value.code == "still_serving"


def test_take_request_rules(desk):
    t = move_in(desk)
    with pytest.raises(CommandError, match="no open booth request") as exc:
        desk.do("take_request", counter="c21", ticket=t.id)  # not seated yet
    desk.call("b1")
    with pytest.raises(CommandError, match="being served at b1"):
        desk.do("take_request", counter="c21", ticket=t.id)  # the booth is still serving
    desk.complete("b1")
    for counter, code in (("c07", "no_request"), ("b2", "booth_counter"), ("c32", "counter_closed")):
        with pytest.raises(CommandError) as exc:
            desk.do("take_request", counter=counter, ticket=t.id)
        assert exc.value.code == code
    desk.do("take_request", counter="c21", ticket=t.id)
    with pytest.raises(CommandError, match="being served at c21"):
        desk.do("take_request", counter="c24", ticket=t.id)  # one section at a time


def test_a_skilled_counter_takes_what_it_is_trained_for(desk):
    t = move_in(desk)
    desk.call("b1")
    desk.complete("b1")
    taken = desk.do("take_request", counter="c25", ticket=t.id).result.ticket  # kodomo, also serves kokuho
    assert {s.procedure for s in taken.itinerary if s.status == "serving"} == {"kokuho_kanyu", "jidou_teate"}
    desk.complete("c25")
    assert [r.procedures for r in desk.engine.requests_state("kaigo").requests] == [["kaigo_shikaku"]]
    assert desk.engine.requests_state("kokuho").requests == [], "served by the skilled counter"
    cert = desk.issue("juminhyo")
    assert desk.call("c06").id == cert.id, "a koseki counter that also serves certificates calls one"


def test_hand_over_frees_the_booth_and_sends_the_rest_to_the_counters(desk):
    t = move_in(desk)
    desk.call("b2")
    desk.complete("b2")
    handed = desk.do("hand_over", counter="b2").result.ticket
    assert handed.booth is None and desk.engine.state.counters["b2"].seated is None
    assert {s.mode for s in handed.itinerary if s.status == "pending"} == {"counter"}
    assert desk.call("c21").id == t.id, "now the resident goes to the section's counter"
    with pytest.raises(CommandError) as exc:
        desk.do("hand_over", counter="b2")
    assert exc.value.code == "not_seated"


def test_no_show_at_a_booth_frees_it_and_reactivate_waits_for_a_booth_again(desk):
    t = move_in(desk)
    desk.call("b1")
    desk.do("no_show", counter="b1")
    assert desk.status(t.id) == "absent" and desk.engine.state.counters["b1"].seated is None
    desk.do("reactivate", ticket=t.id)
    assert desk.call("b2").id == t.id
    desk.complete("b2")
    desk.do("take_request", counter="c21", ticket=t.id)
    desk.do("no_show", counter="c21")  # the section's staff found the booth empty
    assert desk.status(t.id) == "absent" and desk.engine.state.counters["b2"].seated is None


def test_transfer_at_a_booth_keeps_the_resident_seated(desk):
    t = move_in(desk)
    desk.call("b1")
    desk.complete("b1")
    desk.do("take_request", counter="c21", ticket=t.id)
    desk.do("transfer", counter="c21", to_group="nenkin")
    assert desk.engine.state.tickets[t.id].booth == "b1"
    assert [r.procedures for r in desk.engine.requests_state("nenkin").requests] == [["kokuho_kanyu"]]
    with pytest.raises(CommandError) as exc:
        desk.do("take_request", counter="c21", ticket=t.id)
    assert exc.value.code == "no_request", "国保 handed it to 年金: nothing left for 国保"
    desk.do("take_request", counter="c24", ticket=t.id)
    with pytest.raises(CommandError) as to_booth:
        desk.do("transfer", counter="c24", to_group="onestop")
    assert to_booth.value.code == "booth_group"


def test_priority_is_fair_at_the_booths_too(desk):
    normal = [move_in(desk) for _ in range(3)]
    urgent = move_in(desk, priority=True)
    order = []
    for booth in ("b1", "b2", "b3"):
        order.append(desk.call(booth).id)
    assert order == [urgent.id, normal[0].id, normal[1].id]


def test_a_later_delivery_is_called_again_when_ready(desk):
    t = desk.do("issue", KIOSK, procedures=["kaigo_shikaku"]).result.ticket
    desk.call("c31")
    after = desk.complete("c31")
    assert [(s.kind, s.group, s.ready) for s in after.itinerary if s.status == "pending"] == [
        ("pickup", "shomei", False)
    ]
    assert after.status == "waiting"
    assert desk.call("c07") is None, "not before the back office marks it ready"
    assert [(p.ticket, p.procedure, p.ready) for p in desk.engine.pickups_state("shomei").pickups] == [
        (t.id, "kaigo_shikaku", False)
    ]
    with pytest.raises(CommandError) as exc:
        desk.do("mark_ready", ticket=t.id, procedure="juminhyo")
    assert exc.value.code == "no_pickup"
    desk.do("mark_ready", ticket=t.id, procedure="kaigo_shikaku")
    assert desk.engine.pickups_state("shomei").pickups[0].ready
    called = desk.do("call_next", counter="c07")
    assert called.result.ticket.id == t.id and called.called[0].counter == "c07"
    desk.tick(2)
    handed = desk.do("complete", counter="c07")
    assert handed.result.ticket.status == "done"
    assert desk.engine.pickups_state("shomei").pickups == []
    assert handed.samples == [], "handing the delivery over is no sample of the procedure's service time"


def test_the_register_closes_the_payment_step(desk):
    t = desk.issue("juminhyo", "nofu")
    token = desk.engine.state.tickets[t.id].token
    assert next(s for s in t.itinerary if s.procedure == "nofu").mode == "register"
    desk.call("c07")
    assert desk.complete("c07").status == "done", "finished but for the payment the resident may skip"
    desk.open("c09")
    assert desk.call("c09") is None, "payment is not a staffed queue step any more"
    paid = desk.do("ticket_paid", "register-1f", token=token).result.ticket
    assert [s.status for s in paid.itinerary] == ["done", "done"]
    with pytest.raises(CommandError) as again:
        desk.do("ticket_paid", "register-1f", token=token)
    assert again.value.code == "nothing_to_pay"
    with pytest.raises(CommandError) as unknown:
        desk.do("ticket_paid", "register-1f", token="x" * 22)
    assert unknown.value.code == "unknown_ticket"
    with pytest.raises(CommandError) as forbidden:
        desk.do("ticket_paid", KIOSK, token=token)
    assert forbidden.value.code == "forbidden"


def test_the_reception_travels_with_the_ticket_to_the_panels_only(desk):
    t = move_in(desk, note="車椅子でお越しです")
    assert t.reception is None, "the kiosk's reply carries no note"
    called = desk.call("b1")
    assert called.reception.life_event == "moving_in"
    assert called.reception.answers == ANSWERS and called.reception.note == "車椅子でお越しです"
    for bad, code in ((dict(life_event="nope"), "unknown_life_event"), (dict(answers={"x": True}), "unknown_question")):
        with pytest.raises(CommandError) as exc:
            desk.do("issue", KIOSK, procedures=["tennyu"], **bad)
        assert exc.value.code == code


def test_coming_next_lists_who_a_group_calls_with_what_reception_learned(desk):
    a = desk.do("issue", KIOSK, procedures=["koseki_shomei"], life_event="marriage", answers={"kokuho": False})
    b = desk.issue("juminhyo", lang="en")
    busy = desk.issue("shotoku_shomei", "inkan_shomei")
    desk.open("c32")
    desk.call("c32")  # busy is at the tax counter now
    coming = desk.engine.coming_state("shomei").coming
    assert [(c.number, c.at) for c in coming][:3] == [
        (a.result.ticket.number, "waiting"),
        (b.number, "waiting"),
        (busy.number, "c32"),
    ]
    assert coming[0].life_event == "marriage" and coming[0].answers == {"kokuho": False}
    assert coming[1].lang == "en" and coming[1].procedures == ["juminhyo"]
    booths = desk.engine.coming_state("onestop").coming
    assert booths == [], "nothing waits for a booth"
    m = move_in(desk)
    assert [c.ticket for c in desk.engine.coming_state("onestop").coming] == [m.id]
    desk.issue("juminhyo", priority=True)
    before = desk.engine.state.groups["shomei"].normal_owed
    assert desk.engine.coming_state("shomei").coming[0].priority
    assert desk.engine.state.groups["shomei"].normal_owed == before, "looking ahead changes no fairness"


def test_group_state_counts_booth_waiters_at_the_booths_only(desk):
    first = move_in(desk)
    now = desk.now
    assert desk.engine.group_state("onestop", now).waiting == 1
    assert desk.engine.group_state("kokuho", now).waiting == 0
    assert desk.engine.group_state("onestop", now).est_wait_min is not None
    for booth in ("b2", "b3"):
        desk.do("close_counter", counter=booth)
    desk.call("b1")
    desk.complete("b1")  # b1 stays held while the sections come: the next one-stop resident waits for it
    later = move_in(desk)
    engine, ticket = desk.engine, desk.engine.state.tickets[later.id]
    assert later.est_wait_min and later.est_wait_min >= 30, "the sections' work at b1 is still to go"
    step = ticket.steps[0]
    assert engine.standing(ticket, step, desk.now) == (0, later.est_wait_min)
    seated = engine.state.tickets[first.id]
    assert engine.standing(seated, seated.steps[1], desk.now) is None, "seated: the staff come, no queue"


def test_a_v1_device_never_receives_a_rev_2_field(site, tmp_path):
    """A v1 device's strict models forbid unknown keys: through the real core, a command without ``rev`` gets
    a reply with the v1 field set only (tests/kiosk/contract_v1_fields.json, frozen before rev 2)."""
    v1 = json.loads((Path(__file__).parents[1] / "kiosk" / "contract_v1_fields.json").read_text())
    core = QueueCore(site, Journal(tmp_path / "journal.db"), clock=lambda: NOW)
    old, new = DirectClient(core, rev=1), DirectClient(core)
    for counter in ("b1", "b2"):
        new.request("panel-demo", "open_counter", {"counter": counter})
    issue = {"procedures": MOVE_IN, "life_event": "moving_in", "answers": ANSWERS, "note": "n"}
    assert set(old.request(KIOSK, "issue", issue)["ticket"]) <= set(v1["TicketView"])
    new.request(KIOSK, "issue", issue)
    ticket = old.request("panel-demo", "call_next", {"counter": "b1"})["ticket"]
    assert set(ticket) <= set(v1["TicketView"])
    assert all(set(step) <= set(v1["StepView"]) for step in ticket["itinerary"])
    ticket = new.request("panel-demo", "call_next", {"counter": "b2"})["ticket"]
    assert ticket["booth"] == "b2" and ticket["itinerary"][0]["mode"] == "front"
    assert ticket["reception"]["note"] == "n"


def test_replay_rebuilds_booths_requests_and_pickups(site, tmp_path):
    """After a restart the journal's replay gives the same seats, requests and pickups."""
    journal = Journal(tmp_path / "journal.db")
    core = QueueCore(site, journal, clock=lambda: NOW)
    bus = DirectClient(core)
    for counter in ("b1", "b2", "c21", "c31"):
        bus.request("panel-demo", "open_counter", {"counter": counter})
    issue = {"procedures": MOVE_IN, "life_event": "moving_in", "answers": ANSWERS}
    first = bus.request(KIOSK, "issue", issue)["ticket"]["id"]
    bus.request(KIOSK, "issue", issue)
    for booth in ("b1", "b2"):
        bus.request("panel-demo", "call_next", {"counter": booth})
        bus.request("panel-demo", "complete", {"counter": booth})
    bus.request("panel-demo", "take_request", {"counter": "c31", "ticket": first})
    bus.request("panel-demo", "complete", {"counter": "c31"})
    bus.request("panel-demo", "take_request", {"counter": "c21", "ticket": first})
    again = QueueCore(site, Journal(tmp_path / "journal.db"), clock=lambda: NOW)
    for group in ("kokuho", "kodomo", "kaigo", "onestop"):
        assert again.engine.requests_state(group) == core.engine.requests_state(group)
        assert again.engine.coming_state(group) == core.engine.coming_state(group)
    for booth in ("b1", "b2"):
        assert again.engine.booth_state(booth) == core.engine.booth_state(booth)
    ticket = again.engine.state.tickets[first]
    assert [(s.kind.value, s.ready) for s in ticket.steps if s.status is StepStatus.PENDING] == [
        ("procedure", True),
        ("pickup", False),
    ]
    assert ticket.status is TicketStatus.SERVING and ticket.counter == "c21" and ticket.booth == "b1"


def test_the_concierge_note_leaves_the_journal_with_its_day(site, tmp_path):
    """Notes live for their day: after the day turns, no command or reply in the journal holds one."""
    clock = [NOW]
    core = QueueCore(site, Journal(tmp_path / "journal.db"), clock=lambda: clock[0])
    bus = DirectClient(core)
    bus.request("panel-demo", "open_counter", {"counter": "b1"})
    issue = {"procedures": MOVE_IN, "life_event": "moving_in", "answers": ANSWERS, "note": "通訳が必要"}
    bus.request(KIOSK, "issue", issue)
    assert bus.request("panel-demo", "call_next", {"counter": "b1"})["ticket"]["reception"]["note"] == "通訳が必要"
    rows = lambda: core.journal.db.execute("SELECT args || reply FROM journal").fetchall()  # noqa: E731
    assert any("通訳" in r[0] for r in rows())
    clock[0] = NOW.replace(day=NOW.day + 1)
    QueueCore(site, core.journal, clock=lambda: clock[0])  # a restart on the next day purges
    assert not any("通訳" in r[0] for r in rows())
    assert any("moving_in" in r[0] for r in rows()), "the life event (an id, for the KPIs) stays"


def test_once_the_booths_close_a_one_stop_visit_goes_to_the_counters(site):
    """Late in the day, with the booths closed, nobody is left waiting for a seat that will not come; before
    they open in the morning, an early one-stop resident waits for one."""
    desk = Desk(site)
    early = move_in(desk)
    assert early.itinerary[0].mode == "front", "the booths have not opened yet: wait for one"
    desk.open("b1", "c01", "c21")
    assert desk.call("b1").id == early.id
    desk.do("hand_over", counter="b1")
    waiting = move_in(desk)
    desk.do("close_counter", counter="b1")  # the last booth closes: its queue goes to the sections' counters
    assert {s.mode for s in desk.engine.state.tickets[waiting.id].steps} == {StepMode.COUNTER}
    assert desk.call("c01").id == early.id
    desk.complete("c01")
    assert desk.call("c01").id == waiting.id
    later = move_in(desk)
    assert [s.mode for s in later.itinerary] == ["counter"] * 4, "issued with every booth closed: classic"
    assert [s.group for s in later.itinerary][0] == "jumin"
