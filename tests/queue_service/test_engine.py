"""The queue engine's rules, verb by verb, on the example ward office."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from kiosk.bus.schemas import CounterArgs
from queue_service.engine import CommandError, Context
from queue_service.engine.ordering import order_by_precedence
from tests.desk import JST, KIOSK, PANEL, Desk

# c01,c02 = 住民異動 (jumin); c21,c22 = 国民健康保険 (kokuho); c24 = 児童手当 (kodomo)


@pytest.fixture
def desk(site):
    return Desk(site)


def test_issue_joins_every_group_in_precedence_order(desk):
    t = desk.issue("kodomo_iryo", "kokuho_kanyu", "tennyu", "jidou_teate")
    assert [s.procedure for s in t.itinerary] == ["tennyu", "kokuho_kanyu", "kodomo_iryo", "jidou_teate"]
    assert {s.group for s in t.itinerary} == {"jumin", "kokuho", "kodomo"}
    assert t.number == 1 and t.id.endswith("-0001") and t.token == "tok" + "1".zfill(19)
    assert t.status == "waiting"
    # counted only where it can be called now: 国保 and 子ども wait for 転入届 first
    waiting = {g: desk.engine.group_state(g, desk.now).waiting for g in ("jumin", "kokuho", "kodomo")}
    assert waiting == {"jumin": 1, "kokuho": 0, "kodomo": 0}


def test_prerequisites_gate_calls(desk):
    t = desk.issue("tennyu", "kokuho_kanyu")
    desk.open("c01", "c21")
    assert desk.call("c21") is None, "国保 before 転入届 is done must not be callable"
    assert desk.call("c01").id == t.id
    desk.complete("c01")
    called = desk.call("c21")
    assert called.id == t.id
    assert [s.status for s in called.itinerary] == ["done", "serving"]


def test_prerequisite_absent_from_the_visit_does_not_block(desk):
    t = desk.issue("kokuho_kanyu")  # requires tennyu only when tennyu is part of the visit
    desk.open("c21")
    assert desk.call("c21").id == t.id


def test_busy_elsewhere_is_skipped_but_keeps_its_place(desk):
    a = desk.issue("juminhyo", "shotoku_shomei")  # 証明発行 and 税証明, no precedence between them
    b = desk.issue("shotoku_shomei")
    desk.open("c07", "c32")
    assert desk.call("c07").id == a.id
    assert desk.call("c32").id == b.id, "a is busy at c07: c32 skips it"
    desk.complete("c32")
    desk.complete("c07")
    c = desk.issue("shotoku_shomei")
    assert desk.call("c32").id == a.id, "a kept its place ahead of c"
    desk.complete("c32")
    assert desk.call("c32").id == c.id


def test_two_counters_of_a_group_never_get_the_same_ticket(desk):
    tickets = [desk.issue("tennyu") for _ in range(3)]
    desk.open("c01", "c02", "c03")
    called = [desk.call(c).id for c in ("c01", "c02", "c03")]
    assert called == [t.id for t in tickets]
    assert desk.engine.state.counters["c01"].serving != desk.engine.state.counters["c02"].serving


def test_priority_is_fair_not_absolute(desk):
    normals = [desk.issue("juminhyo") for _ in range(6)]
    prios = [desk.issue("juminhyo", priority=True) for _ in range(3)]
    desk.open("c07")
    order = []
    for _ in range(9):
        t = desk.call("c07")
        order.append("P" if t.priority else "N")
        desk.complete("c07")
    # ratio normal:priority = 2:1 — priority first, then two normal calls are owed
    assert "".join(order) == "PNNPNNPNN"
    assert {t.id for t in normals} | {t.id for t in prios} == set(desk.engine.state.tickets)


def test_priority_alone_goes_straight_through(desk):
    desk.issue("juminhyo", priority=True)
    desk.issue("juminhyo", priority=True)
    desk.open("c07")
    assert desk.call("c07").priority
    desk.complete("c07")
    assert desk.call("c07").priority


def test_complete_adds_procedures_and_hands_over_a_note(desk):
    t = desk.issue("tennyu")
    desk.open("c01", "c21")
    desk.call("c01")
    done = desk.complete("c01", add_procedures=["kokuho_kanyu"], note="保険証の切替をお願いします")
    assert done.status == "waiting"
    assert [(s.procedure, s.status) for s in done.itinerary] == [("tennyu", "done"), ("kokuho_kanyu", "pending")]
    nxt = desk.call("c21")
    assert nxt.id == t.id
    assert nxt.note.text == "保険証の切替をお願いします" and nxt.note.counter == "c01"
    final = desk.complete("c21")
    assert final.status == "done"


def test_complete_records_service_times(desk):
    desk.issue("tennyu")
    desk.open("c01")
    desk.call("c01")
    desk.tick(12)
    outcome = desk.do("complete", counter="c01")
    [(procedure, minutes)] = outcome.samples
    assert procedure == "tennyu" and minutes == pytest.approx(12.5)


def test_no_show_sets_aside_and_reactivate_restores_the_place(desk):
    a = desk.issue("tennyu")
    b = desk.issue("tennyu")
    desk.open("c01")
    desk.call("c01")
    absent = desk.do("no_show", counter="c01").result.ticket
    assert absent.status == "absent" and absent.itinerary[0].status == "pending"
    c = desk.issue("tennyu")
    assert desk.call("c01").id == b.id
    desk.complete("c01")
    desk.do("reactivate", ticket=a.id)
    assert desk.call("c01").id == a.id, "a reactivated visit keeps its place by issue order"
    desk.complete("c01")
    assert desk.call("c01").id == c.id
    with pytest.raises(CommandError) as err:
        desk.do("reactivate", ticket=c.id)
    assert err.value.code == "ticket_not_absent"


def test_transfer_moves_the_visit_to_another_group(desk):
    t = desk.issue("juminhyo")
    desk.open("c07", "c05")
    desk.call("c07")
    moved = desk.do("transfer", counter="c07", to_group="koseki", note="戸籍の確認が必要").result.ticket
    assert moved.itinerary[0].group == "koseki" and moved.status == "waiting"
    assert desk.engine.counter_state("c07").serving is None
    again = desk.call("c05")
    assert again.id == t.id and again.note.text == "戸籍の確認が必要"
    with pytest.raises(CommandError) as err:
        desk.do("transfer", counter="c05", to_group="koseki")
    assert err.value.code == "same_group"


def test_recall_announces_again(desk):
    desk.issue("tennyu")
    desk.open("c01")
    desk.call("c01")
    outcome = desk.do("recall", counter="c01")
    assert [e.recall for e in outcome.called] == [True]
    assert len(desk.engine.board_state().recent) == 1, "a recall moves the call to the top, not twice"


def test_open_close_and_counter_rules(desk):
    desk.issue("tennyu")
    with pytest.raises(CommandError) as err:
        desk.call("c01")
    assert err.value.code == "counter_closed"
    desk.open("c01")
    assert desk.engine.counter_state("c01").open
    desk.call("c01")
    for verb, code in (("call_next", "counter_busy"), ("close_counter", "still_serving")):
        with pytest.raises(CommandError) as err:
            desk.do(verb, counter="c01")
        assert err.value.code == code
    desk.complete("c01")
    desk.do("close_counter", counter="c01")
    assert not desk.engine.counter_state("c01").open
    with pytest.raises(CommandError) as err:
        desk.do("complete", counter="c01")
    assert err.value.code == "not_serving"


def test_cancel(desk):
    a = desk.issue("tennyu")
    b = desk.issue("tennyu")
    desk.open("c01")
    desk.call("c01")
    with pytest.raises(CommandError) as err:
        desk.do("cancel", KIOSK, ticket=a.id)
    assert err.value.code == "ticket_in_service"
    desk.do("cancel", KIOSK, ticket=b.id)
    assert desk.status(b.id) == "cancelled"
    desk.complete("c01")
    assert desk.call("c01") is None
    with pytest.raises(CommandError) as err:
        desk.do("cancel", KIOSK, ticket=b.id)
    assert err.value.code == "ticket_closed"


def test_reprint_returns_the_same_ticket_with_its_token(desk):
    t = desk.issue("tennyu", "juminhyo")
    again = desk.do("reprint", KIOSK, ticket=t.id).result.ticket
    assert (again.id, again.number, again.token) == (t.id, t.number, t.token)
    with pytest.raises(CommandError) as err:
        desk.do("reprint", KIOSK, ticket="20261124-0999")
    assert err.value.code == "unknown_ticket"


def test_roles_and_counters_are_enforced(desk):
    with pytest.raises(CommandError) as err:
        desk.do("call_next", KIOSK, counter="c01")
    assert err.value.code == "forbidden"
    with pytest.raises(CommandError) as err:
        desk.do("open_counter", "panel-c01", counter="c02")
    assert err.value.code == "forbidden"
    with pytest.raises(CommandError) as err:
        desk.do("issue", "stranger", procedures=["tennyu"])
    assert err.value.code == "unknown_device"
    with pytest.raises(CommandError) as err:
        desk.issue("tennyu", "no_such_thing")
    assert err.value.code == "unknown_procedure"
    assert desk.engine.state.tickets == {}, "a refused issue takes no number"


def test_numbers_wrap_skip_held_numbers_and_ids_never_repeat(site):
    small = site.model_copy(update={"queue": site.queue.model_copy(update={"number_first": 1, "number_last": 3})})
    desk = Desk(small)
    first = [desk.issue("juminhyo") for _ in range(3)]
    assert [t.number for t in first] == [1, 2, 3]
    with pytest.raises(CommandError) as err:
        desk.issue("juminhyo")
    assert err.value.code == "numbers_exhausted"
    desk.open("c07")
    desk.call("c07")
    desk.complete("c07")  # number 1 is free again
    fourth = desk.issue("juminhyo")
    assert fourth.number == 1 and fourth.id not in {t.id for t in first}


def test_daily_reset_restarts_numbers_and_closes_counters(desk):
    desk.issue("tennyu")
    desk.issue("tennyu")
    desk.open("c01")
    desk.call("c01")
    desk.tick(60 * 20)  # past midnight in Tokyo
    t = desk.issue("tennyu")
    assert t.number == 1 and t.id.startswith("20261125-")
    assert len(desk.engine.state.tickets) == 1
    assert not desk.engine.counter_state("c01").open
    assert desk.engine.board_state().recent == []


def test_day_boundary_is_site_local(site):
    # 23:30 UTC is 08:30 the next day in Tokyo
    from datetime import UTC

    desk = Desk(site, start=datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    assert desk.engine.day == "2026-11-24"


def test_estimated_wait_uses_open_counters_and_observed_times(desk):
    for _ in range(4):
        desk.issue("tennyu")  # typical 15 min
    assert desk.engine.group_state("jumin", desk.now).est_wait_min is None, "no counter open: unknown"
    desk.open("c01")
    assert desk.engine.group_state("jumin", desk.now).est_wait_min == 60
    desk.open("c02")
    assert desk.engine.group_state("jumin", desk.now).est_wait_min == 30
    # three quick services teach the engine that 転入届 takes about 5 minutes here
    for _ in range(3):
        desk.call("c01")
        desk.tick(4.5)
        desk.complete("c01")
    desk.issue("tennyu")
    state = desk.engine.group_state("jumin", desk.now)
    assert state.waiting == 2 and state.est_wait_min == 5
    wait = desk.engine.waits.at_group("jumin", desk.now)  # the range around it (issue 21)
    assert wait is not None and wait.low <= 5 <= wait.high and wait.high - wait.low <= 10


def test_ticket_wait_counts_only_tickets_ahead(desk):
    desk.open("c01")
    a = desk.issue("tennyu")
    b = desk.issue("tennyu")
    assert a.est_wait_min == 0 and b.est_wait_min == 15
    p = desk.issue("tennyu", priority=True)
    assert p.est_wait_min == 0, "a priority ticket waits only for priority tickets ahead"


def test_state_views(desk):
    desk.issue("tennyu")
    desk.open("c01")
    desk.call("c01")
    c = desk.engine.counter_state("c01")
    assert c.open and c.serving.number == 1
    board = desk.engine.board_state()
    assert [(r.number, r.counter) for r in board.recent] == [(1, "c01")]


def test_naive_times_are_refused(desk):
    with pytest.raises(ValueError):
        desk.engine.apply("open_counter", CounterArgs(counter="c01"), Context(now=datetime(2026, 1, 1), device=PANEL))


def test_order_by_precedence_is_stable():
    requires = {"b": ("a",), "c": ("a",), "d": ()}
    assert order_by_precedence(["d", "c", "b", "a"], requires) == ["d", "a", "c", "b"]
    assert order_by_precedence(["b"], requires) == ["b"]


def test_time_runs_forward_only(desk):
    desk.issue("tennyu")
    desk.now -= timedelta(days=2)  # a clock that jumped back does not reopen yesterday
    desk.issue("tennyu")
    assert len(desk.engine.state.tickets) == 2
    assert desk.now.astimezone(JST).date().isoformat() < desk.engine.day


def test_a_prerequisite_and_what_needs_it_at_the_same_counter_are_served_in_one_sitting(site):
    desk = Desk(site)
    desk.open("c01")
    ticket = desk.issue("tennyu", "inkan_toroku")
    called = desk.call("c01")
    assert called.id == ticket.id
    assert [(s.procedure, s.status) for s in called.itinerary] == [("tennyu", "serving"), ("inkan_toroku", "serving")]
    assert desk.complete("c01").status == "done"
