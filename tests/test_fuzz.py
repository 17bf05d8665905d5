"""Fuzzing every parser that takes outside input (issue 15): each may only end in its documented error.

| parser | outside input | documented error |
|---|---|---|
| the queue service's command handling (every verb) | an MQTT payload from any device | none: an error reply |
| ``kiosk.bus.payload.parse_payload`` | an MQTT payload | ``PayloadError`` |
| ``form_printer.preentry.read_payload`` | a scanned QR code | ``PreEntryError`` |
| ``register.slips.scan.read_slip`` | a scanned slip code | ``SlipError`` |
| ``form_printer.card.basic4.parse_basic4`` / ``parse_my_number`` | a card's EF | ``Basic4Error`` |
| ``kiosk.config`` site and device files | a technician's file | ``ConfigError`` |

Hypothesis generates the inputs (random and mutated from valid ones); ``MADOGUCHI_FUZZ=N`` sets the
examples per parser (default 200; the closing note of issue 15 gives a run with many more). Run with
``--hypothesis-show-statistics`` to see the counts.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.mynumber_card import load_residents
from form_printer.card.basic4 import Basic4Error, encode_basic4, parse_basic4, parse_my_number
from form_printer.preentry import PreEntryError, make_payload, read_payload
from kiosk.bus.contract import Verb
from kiosk.bus.payload import PayloadError, parse_payload
from kiosk.config import ConfigError, load_site
from kiosk.config.device import load_device
from queue_service.service.core import Inbound, QueueCore
from queue_service.service.journal import Journal
from register.slips.cvs import encode_cvs
from register.slips.model import SlipError
from register.slips.scan import read_slip
from tests.conftest import EXAMPLE_SITE

EXAMPLES = int(os.environ.get("MADOGUCHI_FUZZ", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=True,  # the same inputs on every run: CI is repeatable, a failure reproduces
)


def mutated(seed: bytes) -> st.SearchStrategy[bytes]:
    """``seed`` with a few bytes replaced, inserted or cut: inputs that are almost right."""

    @st.composite
    def build(draw) -> bytes:
        data = bytearray(seed)
        for _ in range(draw(st.integers(1, 6))):
            if not data:
                break
            at = draw(st.integers(0, len(data) - 1))
            action = draw(st.sampled_from(["replace", "insert", "delete", "duplicate"]))
            if action == "replace":
                data[at] = draw(st.integers(0, 255))
            elif action == "insert":
                data[at:at] = draw(st.binary(min_size=1, max_size=8))
            elif action == "delete":
                del data[at : at + draw(st.integers(1, 8))]
            else:
                data[at:at] = data[at : at + draw(st.integers(1, 32))]
        return bytes(data)

    return build()


def command(verb: str) -> bytes:
    args = {
        "issue": {"procedures": ["juminhyo"], "lang": "ja", "priority": False},
        "call_next": {"counter": "c01"},
        "complete": {"counter": "c01", "note": "メモ"},
        "transfer": {"counter": "c01", "to_group": "kokuho"},
        "reactivate": {"ticket": str(uuid.uuid4())},
    }.get(verb, {"counter": "c01"})
    return json.dumps({"id": str(uuid.uuid4()), "device": "panel-c01", "args": args}).encode()


# ---------------------------------------------------------------- the queue service, every verb
@pytest.fixture(scope="module")
def core(site, tmp_path_factory):
    return QueueCore(site, Journal(tmp_path_factory.mktemp("fuzz") / "q.sqlite"))


@pytest.mark.parametrize("verb", [v.value for v in Verb])
def test_no_command_payload_makes_the_queue_service_raise(core, verb):
    topic = core.topics.command(verb)
    root = core.topics.root

    @FUZZ
    @given(payload=st.one_of(st.binary(max_size=300), mutated(command(verb)), st.text(max_size=200).map(str.encode)))
    def run(payload: bytes) -> None:
        tried.append(len(payload))
        out = core.process([Inbound(topic, payload, response_topic=f"{root}/device/panel-c01/reply")])
        for message in out:  # every reply goes to a well-formed topic
            assert message.topic.startswith(root + "/") and "\n" not in message.topic and "\x00" not in message.topic
            json.loads(message.payload)

    tried: list[int] = []
    run()
    print(f"fuzz {verb}: {len(tried)} payloads, none raised")
    assert len(tried) >= min(EXAMPLES, 50)  # it really ran


@FUZZ
@given(payload=st.one_of(st.binary(max_size=400), mutated(command("issue"))))
def test_parse_payload_raises_only_payload_error(payload):
    with contextlib.suppress(PayloadError):
        parse_payload(payload)


# ---------------------------------------------------------------- pre-entry QR
KEY = bytes(range(32))
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
GOOD_QR = make_payload(
    {"move_date": "2026-11-20", "phone": "090-1234-5678"}, KEY, "sakura-ward", NOW + timedelta(7), NOW
)


@FUZZ
@given(text=st.one_of(st.text(max_size=300), mutated(GOOD_QR.encode()).map(lambda b: b.decode("utf-8", "replace"))))
def test_pre_entry_codes_raise_only_pre_entry_error(text):
    with contextlib.suppress(PreEntryError):
        read_payload(text, KEY, "sakura-ward", NOW)


# ---------------------------------------------------------------- payment slips
GOOD_SLIP = encode_cvs("912345", "7", 0, None, 0, 12300)


@FUZZ
@given(text=st.one_of(st.text(max_size=300), mutated(GOOD_SLIP.encode()).map(lambda b: b.decode("latin-1"))))
def test_scanned_slips_raise_only_slip_error(text):
    with contextlib.suppress(SlipError):
        read_slip(text)


# ---------------------------------------------------------------- card EFs
GOOD_EF = encode_basic4(next(iter(load_residents().values())).items)


@FUZZ
@given(data=st.one_of(st.binary(max_size=600), mutated(GOOD_EF)))
def test_card_efs_raise_only_basic4_error(data):
    for parse in (parse_basic4, parse_my_number):
        with contextlib.suppress(Basic4Error):
            parse(data)


# ---------------------------------------------------------------- site and device files
DEVICE = b'device = "kiosk-1f"\nsite = "site.toml"\nprinter = "tcp://10.0.0.20:9100"\n[broker]\npassword_file = "p"\n'


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), mutated(DEVICE)))
def test_device_files_raise_only_config_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("device") / "device.toml"
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        load_device(path)


@FUZZ
@given(data=mutated(EXAMPLE_SITE.read_bytes()))
def test_site_files_raise_only_config_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("site") / "site.toml"
    path.write_bytes(data)
    with contextlib.suppress(ConfigError):
        load_site(path)
