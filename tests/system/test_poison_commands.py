"""No single message can stop the queue (issue 15, from an outside audit).

Five kinds of small command once killed the queue service's worker while /healthz kept saying ok, and the
broker redelivered them after every restart. Against the real broker and service: each is answered with an
error reply (where there is anyone to answer) and the next valid command is served; a stuck worker turns
/healthz to 503 within seconds; a command that fails even alone is quarantined and never redelivered.
"""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from kiosk.bus.payload import MAX_BYTES, PayloadError, parse_payload
from kiosk.bus.schemas import Reply
from tests.conftest import EXAMPLE_SITE
from tests.harness import Watcher, free_port, kill9, start_service_process, wait_for_port
from tests.system.test_service_restart import health

pytestmark = pytest.mark.broker

KIOSK = "kiosk-1f"


def _issue(device: str = KIOSK, **extra) -> bytes:
    return json.dumps({"id": str(uuid.uuid4()), "device": device, "args": {"procedures": ["juminhyo"]}, **extra})


#: (what, payload, the error code of the reply: None = no one to answer, the service must just go on)
POISON = [
    ("JSON nested 1,000 levels deep", b"[" * 1000 + b"]" * 1000, "bad_json"),
    ("an object nested 1,000 levels deep", b'{"a":' * 1000 + b"1" + b"}" * 1000, "bad_json"),
    ("an integer of 5,000 digits", f'{{"id":"x","device":"{KIOSK}","args":{{"n":{"9" * 5000}}}}}'.encode(), "bad_json"),
    ("a lone surrogate in the id", f'{{"id":"\\ud800","device":"{KIOSK}","args":{{}}}}'.encode(), "bad_json"),
    ("a device id with a trailing newline", _issue("c01\n").encode(), None),
    ("UTF-16", _issue().encode("utf-16"), "bad_json"),
    ("UTF-32", _issue().encode("utf-32"), "bad_json"),
    ("UTF-8 with a BOM", b"\xef\xbb\xbf" + _issue().encode(), "bad_json"),
    ("NaN", _issue()[:-1].encode() + b', "x": NaN}', "bad_json"),
    ("too large", b'{"pad":"' + b"x" * (MAX_BYTES + 1) + b'"}', "too_large"),
]


@pytest.fixture
def kiosk_raw(service, devices):
    """The kiosk's bus client, publishing raw payloads with its reply topic as MQTT v5 Response Topic."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    kiosk = devices(KIOSK)
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = kiosk.topics.reply(KIOSK)
    watcher = Watcher(kiosk, kiosk.topics.reply(KIOSK), Reply)

    def send(payload: bytes) -> None:
        kiosk.publish_confirmed(kiosk.topics.command("issue"), payload, properties=props)

    return kiosk, send, watcher


@pytest.mark.parametrize(("what", "payload", "code"), POISON, ids=[p[0] for p in POISON])
def test_a_poison_command_is_refused_and_the_next_one_is_served(service, kiosk_raw, what, payload, code):
    kiosk, send, watcher = kiosk_raw
    send(payload)
    if code is not None:
        watcher.wait_for(lambda w: len(w.messages) == 1)
        reply = watcher.messages[0][1]
        assert not reply.ok and reply.error.code == code, reply
    # whatever it was, the worker goes on: the next valid command is served, and it changed nothing before
    ticket = kiosk.request("issue", {"procedures": ["juminhyo"]})["ticket"]
    assert ticket["number"] == 1
    assert service.journal.count() == 1
    health = service.health()
    assert health["worker"] == "ok" and health["status"] == "ok", health


def test_a_batch_that_fails_as_a_whole_is_retried_alone_and_the_poison_is_quarantined(service, kiosk_raw):
    """Defence behind the core's own checks: should the core itself raise (a bug, a full disk) on one
    command, that command is quarantined by digest and acknowledged; the others are served."""
    kiosk, send, watcher = kiosk_raw
    real = service.core.handle
    marker = b"quarantine-me"

    def process(batch):
        if any(marker in m.payload for m in batch):
            raise RuntimeError("the core failed on this command")
        return real(batch)

    service.core.handle = process
    send(_issue(pad=marker.decode()).encode())
    assert kiosk.request("issue", {"procedures": ["juminhyo"]})["ticket"]["number"] == 1
    deadline = time.monotonic() + 10
    while not service.journal.quarantined() and time.monotonic() < deadline:
        time.sleep(0.05)
    [(_at, topic, digest, size, reason)] = service.journal.quarantined()
    assert topic.endswith("/queue/cmd/issue") and len(digest) == 64 and size > 0
    assert "the core failed on this command" in reason
    assert service.health()["quarantined"] == 1 and service.health()["worker"] == "ok"


def test_healthz_fails_within_seconds_when_the_worker_is_stuck(service, kiosk_raw):
    kiosk, send, _watcher = kiosk_raw
    service.stuck_after = 1.0
    release = threading.Event()
    real = service.core.handle

    def stuck(batch):
        release.wait(30)  # a worker that never comes back (until the test lets it)
        return real(batch)

    service.core.handle = stuck
    try:
        send(_issue().encode())
        started = time.monotonic()
        while service.health()["status"] == "ok" and time.monotonic() - started < 10:
            time.sleep(0.05)
        health = service.health()
        assert health["status"] == "worker_stuck" and health["worker"] == "stuck", health
        assert time.monotonic() - started < 5
    finally:
        release.set()
    deadline = time.monotonic() + 10
    while service.health()["worker"] != "ok" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.health()["worker"] == "ok"


# ---------------------------------------------------------------- the parser itself (pure)
@pytest.mark.parametrize(
    ("payload", "code"),
    [(p, c) for _, p, c in POISON if c is not None]
    + [
        (b"Infinity", "bad_json"),
        (b"-Infinity", "bad_json"),
        (b"1e999", "bad_json"),
        (b'"\\udfff"', "bad_json"),
        (b'{"\\ud800": 1}', "bad_json"),
        (b"\xff", "bad_json"),
    ],
)
def test_parse_payload_refuses_with_the_contracts_code(payload, code):
    with pytest.raises(PayloadError) as err:
        parse_payload(payload)
    assert err.value.code == code


def test_parse_payload_reads_what_the_contract_sends():
    cmd = {"id": str(uuid.uuid4()), "device": KIOSK, "args": {"procedures": ["tennyu"], "note": '住民票 [{"]'}}
    assert parse_payload(json.dumps(cmd, ensure_ascii=False).encode()) == cmd
    assert parse_payload(b'{"n": -123456789012345678, "x": 1.5}') == {"n": -123456789012345678, "x": 1.5}
    assert parse_payload(b"[" * 16 + b"]" * 16) is not None  # the depth limit itself is allowed


def test_poison_commands_redelivered_after_kill_9_do_not_kill_the_restarted_service(broker, devices):
    """The broker keeps what arrives for the service's persistent session while it is dead and delivers it
    again at restart: every poison command, then a valid one, must be answered by the new process."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    http_port = free_port()
    proc = start_service_process(broker, EXAMPLE_SITE, http_port)
    wait_for_port(http_port, proc=proc)
    try:
        kiosk = devices(KIOSK)
        assert kiosk.request("issue", {"procedures": ["juminhyo"]})["ticket"]["number"] == 1
        kill9(proc)
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = kiosk.topics.reply(KIOSK)
        watcher = Watcher(kiosk, kiosk.topics.reply(KIOSK), Reply)
        for _what, payload, _code in POISON:
            kiosk.publish_confirmed(kiosk.topics.command("issue"), payload, properties=props)
        valid = json.loads(_issue())
        kiosk.publish_confirmed(kiosk.topics.command("issue"), json.dumps(valid).encode(), properties=props)

        proc = start_service_process(broker, EXAMPLE_SITE, http_port)
        wait_for_port(http_port, proc=proc)
        watcher.wait_for(lambda w: any(reply.id == valid["id"] for _, reply in w.messages), timeout=20)
        served = [reply for _, reply in watcher.messages if reply.id == valid["id"]]
        assert served[0].ok and served[0].result["ticket"]["number"] == 2
        assert proc.poll() is None and health(http_port)["worker"] == "ok"
        assert kiosk.request("issue", {"procedures": ["juminhyo"]})["ticket"]["number"] == 3
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)


def test_the_same_id_on_another_verb_is_an_id_conflict(service, devices):
    panel = devices("panel-c01")
    watcher = Watcher(panel, panel.topics.reply("panel-c01"), Reply)
    cmd_id = str(uuid.uuid4())
    for verb in ("open_counter", "close_counter"):
        body = {"id": cmd_id, "device": "panel-c01", "args": {"counter": "c01"}}
        panel.publish_confirmed(panel.topics.command(verb), json.dumps(body).encode())
    watcher.wait_for(lambda w: len(w.messages) == 2)
    first, second = (reply for _, reply in watcher.messages)
    assert first.ok and first.result["open"] is True
    assert not second.ok and second.error.code == "id_conflict"
    assert service.core.engine.state.counters["c01"].open  # the second had no effect
