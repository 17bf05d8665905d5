"""The contract end to end: devices, the queue service and a real Mosquitto started
from the project's own generated configuration, password file and ACL."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import uuid

import pytest

from kiosk.bus.client import CommandFailed, CommandRefused
from kiosk.bus.schemas import (
    Announcement,
    BoardState,
    CalledEvent,
    CounterState,
    GroupState,
    Presence,
    Reply,
    ServingTicket,
)
from tests.conftest import EXAMPLE_SITE
from tests.harness import ROOT, Watcher, kill9

pytestmark = pytest.mark.broker


def test_a_ticket_is_called_at_two_counters_in_turn(service, devices):
    kiosk, panel1, panel2, board = (devices(d) for d in ("kiosk-1f", "panel-c01", "panel-c21", "board-1f"))
    calls = Watcher(board, board.topics.called_event, CalledEvent)
    spoken = Watcher(board, board.topics.announce_event, Announcement)
    boards = Watcher(board, board.topics.board_state, BoardState)

    ticket = kiosk.request("issue", {"procedures": ["kokuho_kanyu", "tennyu"], "lang": "en"})["ticket"]
    assert ticket["number"] == 1 and len(ticket["token"]) >= 16
    assert [s["procedure"] for s in ticket["itinerary"]] == ["tennyu", "kokuho_kanyu"]

    panel1.request("open_counter", {"counter": "c01"})
    panel2.request("open_counter", {"counter": "c21"})
    assert panel2.request("call_next", {"counter": "c21"})["ticket"] is None, "国保 waits for 転入届"
    first = panel1.request("call_next", {"counter": "c01"})["ticket"]
    assert first["id"] == ticket["id"] and first["token"] is None, "panels never see the status-page token"
    panel1.request("complete", {"counter": "c01", "note": "保険証の切替をお願いします"})
    second = panel2.request("call_next", {"counter": "c21"})["ticket"]
    assert second["id"] == ticket["id"] and second["note"]["text"] == "保険証の切替をお願いします"
    done = panel2.request("complete", {"counter": "c21"})["ticket"]
    assert done["status"] == "done"

    calls.wait_for(lambda w: len(w.messages) == 2)
    assert [(e.number, e.counter) for _, e in calls.messages] == [(1, "c01"), (1, "c21")]
    spoken.wait_for(lambda w: len(w.messages) == 2)  # rev 2: the same calls, with the ticket's language
    assert [(e.number, e.counter, e.lang) for _, e in spoken.messages] == [(1, "c01", "en"), (1, "c21", "en")]
    boards.wait_for(lambda w: w.messages and [c.counter for c in w.messages[-1][1].recent] == ["c21"])


def test_retained_state_shows_counters_groups_and_presence(service, devices):
    kiosk, panel = devices("kiosk-1f"), devices("panel-c01")
    kiosk.request("issue", {"procedures": ["tennyu"]})
    panel.request("open_counter", {"counter": "c01"})
    viewer = devices("board-1f")
    counters = Watcher(viewer, viewer.topics.counter_state("c01"), CounterState)
    groups = Watcher(viewer, viewer.topics.group_state("jumin"), GroupState)
    counters.wait_for(lambda w: w.messages and w.messages[-1][1].open)
    groups.wait_for(lambda w: w.messages and w.messages[-1][1].waiting == 1 and w.messages[-1][1].open_counters == 1)
    assert groups.messages[-1][1].est_wait_min == 15


def test_a_kiosk_may_not_use_a_call_panels_verb(service, devices):
    kiosk, panel = devices("kiosk-1f"), devices("panel-c01")
    kiosk.request("issue", {"procedures": ["tennyu"]})
    panel.request("open_counter", {"counter": "c01"})
    with pytest.raises(CommandRefused):
        kiosk.request("call_next", {"counter": "c01"}, timeout=3, attempts=1)
    # the refused command had no effect: the ticket is still first in line
    assert panel.request("call_next", {"counter": "c01"})["ticket"]["number"] == 1


def test_a_board_publishes_nothing(service, devices):
    board, kiosk = devices("board-1f"), devices("kiosk-1f")
    kiosk.request("issue", {"procedures": ["tennyu"]})
    fake = BoardState(recent=[])
    assert board.publish_confirmed(board.topics.board_state, fake) is False
    assert board.publish_confirmed(board.topics.command("issue"), b"{}") is False
    assert board.publish_confirmed(board.topics.status("board-1f"), Presence(online=True)) is False
    with pytest.raises(CommandRefused):
        board.request("open_counter", {"counter": "c01"}, timeout=3, attempts=1)


def test_a_device_cannot_read_another_devices_replies(service, devices):
    spy, kiosk = devices("panel-c02"), devices("kiosk-1f")
    seen = []
    spy.subscribe(spy.topics.reply("kiosk-1f"), lambda m: seen.append(m))
    ticket = kiosk.request("issue", {"procedures": ["tennyu"]})["ticket"]
    # a round trip on the spy's own topic proves the broker had time to deliver
    spy.request("open_counter", {"counter": "c02"})
    assert ticket["token"] and seen == []


def test_a_repeated_command_id_has_one_effect_and_the_same_reply(service, devices):
    kiosk = devices("kiosk-1f")
    watcher = Watcher(kiosk, kiosk.topics.reply("kiosk-1f"), Reply)
    command = {"id": str(uuid.uuid4()), "device": "kiosk-1f", "args": {"procedures": ["juminhyo"]}}
    for _ in range(3):
        assert kiosk.publish_confirmed(kiosk.topics.command("issue"), json.dumps(command).encode())
    watcher.wait_for(lambda w: len(w.messages) == 3)
    replies = [reply for _, reply in watcher.messages]
    assert replies[0] == replies[1] == replies[2]
    assert replies[0].ok and replies[0].result["ticket"]["number"] == 1
    # one effect: the next ticket is number 2, and the journal holds one issue
    assert kiosk.request("issue", {"procedures": ["juminhyo"]})["ticket"]["number"] == 2
    assert service.journal.count() == 2


def test_malformed_and_invalid_commands_get_error_replies_and_change_nothing(service, devices):
    kiosk = devices("kiosk-1f")
    watcher = Watcher(kiosk, kiosk.topics.reply("kiosk-1f"), Reply)
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = kiosk.topics.reply("kiosk-1f")
    good_id = str(uuid.uuid4())
    bad = [
        b"{not json",
        b"\xff\xfe",
        json.dumps({"id": "not-a-uuid", "device": "kiosk-1f", "args": {}}).encode(),
        json.dumps({"id": good_id, "device": "kiosk-1f", "args": {"procedures": "tennyu"}}).encode(),
        json.dumps(
            {"id": str(uuid.uuid4()), "device": "kiosk-1f", "args": {"procedures": ["x"], "lang": "fr"}}
        ).encode(),
        json.dumps(
            {"id": str(uuid.uuid4()), "device": "kiosk-1f", "args": {"procedures": ["tennyu"], "extra": 1}}
        ).encode(),
        json.dumps([1, 2, 3]).encode(),
    ]
    for payload in bad:
        kiosk.publish_confirmed(kiosk.topics.command("issue"), payload, properties=props)
    watcher.wait_for(lambda w: len(w.messages) == len(bad))
    replies = [reply for _, reply in watcher.messages]
    codes = [r.error.code for r in replies]
    assert not any(r.ok for r in replies)
    assert codes == [
        "bad_json",
        "bad_json",
        "invalid_command",
        "invalid_args",
        "invalid_args",
        "invalid_args",
        "invalid_command",
    ]
    assert "procedures" in replies[3].error.message
    assert service.journal.count() == 0 and service.core.engine.state.tickets == {}
    # the service is still fine
    assert kiosk.request("issue", {"procedures": ["tennyu"]})["ticket"]["number"] == 1


def test_refusals_are_error_replies_with_the_contracts_codes(service, devices):
    kiosk, panel = devices("kiosk-1f"), devices("panel-c01")
    with pytest.raises(CommandFailed) as err:
        kiosk.request("issue", {"procedures": ["no_such_procedure"]})
    assert err.value.code == "unknown_procedure"
    with pytest.raises(CommandFailed) as err:
        panel.request("call_next", {"counter": "c01"})
    assert err.value.code == "counter_closed"
    with pytest.raises(CommandFailed) as err:
        panel.request("open_counter", {"counter": "c02"})  # panel-c01 operates c01 only
    assert err.value.code == "forbidden"


def test_two_panels_calling_at_once_never_get_the_same_ticket(service, devices):
    kiosk = devices("kiosk-1f")
    panels = {c: devices(f"panel-{c}") for c in ("c01", "c02", "c03")}
    for _ in range(30):
        kiosk.request("issue", {"procedures": ["tennyu"]})
    for c, p in panels.items():
        p.request("open_counter", {"counter": c})
    served: dict[str, list[str]] = {c: [] for c in panels}
    start = threading.Barrier(len(panels))

    def work(counter, panel):
        start.wait()
        while True:
            t = panel.request("call_next", {"counter": counter})["ticket"]
            if t is None:
                return
            served[counter].append(t["id"])
            panel.request("complete", {"counter": counter})

    threads = [threading.Thread(target=work, args=item) for item in panels.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    everyone = [tid for ids in served.values() for tid in ids]
    assert len(everyone) == 30 and len(set(everyone)) == 30
    assert all(served.values()), f"every counter called someone: {[len(v) for v in served.values()]}"


def test_devices_announce_presence_and_the_will_marks_them_offline(service, devices, broker):
    statuses = Watcher(service.bus, service.bus.topics.status("kiosk-1f"), Presence)
    kiosk = devices("kiosk-1f")
    kiosk.set_faults(["paper_near_end"])
    statuses.wait_for(lambda w: w.messages and w.messages[-1][1].faults == ["paper_near_end"])
    assert statuses.messages[-1][1].online and statuses.messages[-1][1].role == "ticket"
    kiosk.stop()
    statuses.wait_for(lambda w: not w.messages[-1][1].online)


def test_a_killed_device_is_marked_offline_by_its_will(service, broker):
    statuses = Watcher(service.bus, service.bus.topics.status("kiosk-1f"), Presence)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.device_process", str(EXAMPLE_SITE), str(broker.state), str(broker.port),
         "kiosk-1f"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout.readline().strip() == b"ready"
        statuses.wait_for(lambda w: w.messages and w.messages[-1][1].online)
        kill9(proc)
        statuses.wait_for(lambda w: not w.messages[-1][1].online)
        assert statuses.messages[-1][1].role == "ticket"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_after_a_broker_restart_devices_reconnect_and_resubscribe(site, service, devices, broker):
    from tests.harness import start_broker

    kiosk, board = devices("kiosk-1f"), devices("board-1f")
    groups = Watcher(board, board.topics.group_state("jumin"), GroupState)
    kiosk.request("issue", {"procedures": ["tennyu"]})
    groups.wait_for(lambda w: w.messages and w.messages[-1][1].waiting == 1)
    seen = len(groups.messages)

    lost = {bus.device: threading.Event() for bus in (kiosk, board, service.bus)}
    for bus in (kiosk, board, service.bus):
        bus.on_connection(lambda up, d=bus.device: None if up else lost[d].set())
    broker.stop()
    for device, event in lost.items():
        assert event.wait(30), f"{device} never noticed the broker was gone"
    restarted = start_broker(site, broker.state, port=broker.port)
    broker.proc = restarted.proc  # the fixture stops the new process at teardown
    for bus in (kiosk, board, service.bus):
        assert bus.connected.wait(30), f"{bus.device} did not reconnect"
    # the kiosk's reply subscription came back, and the board's state subscription too
    assert kiosk.request("issue", {"procedures": ["tennyu"]}, timeout=5)["ticket"]["number"] == 2
    groups.wait_for(lambda w: len(w.messages) > seen and w.messages[-1][1].waiting == 2)


def test_bus_sockets_send_small_packets_without_delay(devices, broker):
    """Nagle's algorithm on the request/reply path cost ~40 ms a round trip (bench/README.md)."""
    import socket

    kiosk = devices("kiosk-1f")
    assert kiosk.client.socket().getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    assert "set_tcp_nodelay true" in (broker.state / "broker" / "mosquitto.conf").read_text()


def test_the_services_own_pages_submit_through_the_worker_and_the_journal(service, devices):
    """A resident's survey answers from the phone page go in-process (QueueService.submit) through the same
    validation, engine and journal as a device's command; the exit screen sends the same verb over MQTT, by
    the ticket's printed number. One answer per ticket."""
    from kiosk.bus.contract import Verb

    kiosk, panel, exit_screen = devices("kiosk-1f"), devices("panel-c07"), devices("exit-1f")
    first = kiosk.request("issue", {"procedures": ["juminhyo"]})["ticket"]
    second = kiosk.request("issue", {"procedures": ["juminhyo"]})["ticket"]
    panel.request("open_counter", {"counter": "c07"})
    serving = Watcher(panel, panel.topics.serving_state("c07"), ServingTicket)
    called = panel.request("call_next", {"counter": "c07"})["ticket"]
    serving.wait_for(lambda w: w.messages and w.messages[-1][1].ticket == called["id"])
    assert serving.messages[-1][1].serving == ["juminhyo"], "the desk learns what the counter serves now"
    panel.request("complete", {"counter": "c07"})
    panel.request("call_next", {"counter": "c07"})
    panel.request("complete", {"counter": "c07"})  # both visits ended: the survey is asked at the end

    reply = service.submit(Verb.RECORD_SURVEY, {"ticket": first["id"], "answers": {"overall": 5, "waiting": 4}})
    assert reply["ok"] and reply["result"] == {"recorded": True, "surveys_today": 1}
    again = service.submit(Verb.RECORD_SURVEY, {"ticket": first["id"], "answers": {"overall": 1}})
    assert not again["ok"] and again["error"]["code"] == "already_answered"
    bad = service.submit(Verb.RECORD_SURVEY, {"ticket": first["id"], "answers": {"overall": 6}})
    assert not bad["ok"] and bad["error"]["code"] == "invalid_args"
    assert exit_screen.request("record_survey", {"number": second["number"], "answers": {"no_repeat": 3}}) == {
        "recorded": True,
        "surveys_today": 2,
    }
    rows = service.journal.db.execute("SELECT verb, ok FROM journal WHERE verb = 'record_survey'").fetchall()
    assert rows == [("record_survey", 1), ("record_survey", 0), ("record_survey", 1)], "journaled like any command"


def test_the_service_sees_a_resident_asking_for_help_at_a_kiosk(service, devices):
    """A kiosk's "call staff" button raises ``assistance_requested`` in its presence; the service keeps every
    device's presence for the staff dashboard, and sees the flag cleared again."""
    from queue_service.web.staff import device_alerts

    kiosk = devices("kiosk-1f")
    kiosk.set_faults(["assistance_requested"])
    changed = threading.Event()
    for _ in range(200):
        if "assistance_requested" in getattr(service.devices.get("kiosk-1f"), "faults", []):
            break
        changed.wait(0.05)
    alerts = device_alerts(service.devices)
    assert alerts[0]["device"] == "kiosk-1f" and alerts[0]["help"] is True
    assert "お客様が職員を呼んでいます" in alerts[0]["faults"][0]
    kiosk.set_faults([])
    for _ in range(200):
        if not service.devices["kiosk-1f"].faults:
            break
        changed.wait(0.05)
    assert not [a for a in device_alerts(service.devices) if a["device"] == "kiosk-1f"]


def test_flush_returns_once_what_was_published_is_on_the_wire(broker, devices):
    """``Bus.flush``: the queue service publishes a call, then flushes before the slower state pass."""
    kiosk = devices("kiosk-1f")
    for i in range(50):
        kiosk.publish(kiosk.topics.status("kiosk-1f"), f'{{"online": true, "n": {i}}}'.encode())
    assert kiosk.flush(timeout=5.0) is True
    assert not kiosk.client.want_write(), "nothing left to write"
