"""The hub's MQTT ingest: a real Mosquitto over TLS with client certificates (the city broker's setup: the
certificate's CN is the user the ACL knows), the view and a real PostgreSQL store fed from it."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from paho.mqtt.enums import CallbackAPIVersion

from city_hub.ingest import Ingest, IngestSettings, parse_topic
from city_hub.store import Store, migrate
from city_hub.view import CityView
from images import pki
from kiosk.bus.contract import Topics
from kiosk.bus.schemas import GroupState, Presence, dump
from madoguchi.local import free_port, stop_process, wait_for_port
from tests.city_hub.summaries import summary

pytestmark = pytest.mark.broker


# ---------------------------------------------------------------- a TLS city broker
def client_cert(ca_key, ca_cert, name: str, folder: Path) -> tuple[Path, Path]:
    key = pki.new_key()
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / f"{name}.key").write_bytes(pki.key_pem(key))
    (folder / f"{name}.crt").write_bytes(pki.cert_pem(cert))
    return folder / f"{name}.crt", folder / f"{name}.key"


@dataclass
class CityBroker:
    port: int
    folder: Path

    @property
    def ca(self) -> str:
        return str(self.folder / "ca.crt")

    def cert(self, name: str) -> tuple[str, str]:
        return str(self.folder / f"{name}.crt"), str(self.folder / f"{name}.key")

    def client(self, name: str) -> mqtt.Client:
        c = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
        cert, key = self.cert(name)
        c.tls_set(ca_certs=self.ca, certfile=cert, keyfile=key, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        c.connect("127.0.0.1", self.port)
        c.loop_start()
        return c


@pytest.fixture
def city_broker(tmp_path):
    folder = tmp_path / "broker"
    folder.mkdir()
    ca_key, ca_cert = pki.new_ca("city")
    (folder / "ca.crt").write_bytes(pki.cert_pem(ca_cert))
    key, cert = pki.new_server_cert(ca_key, ca_cert, ["127.0.0.1"])
    (folder / "server.key").write_bytes(pki.key_pem(key))
    (folder / "server.crt").write_bytes(pki.cert_pem(cert))
    for name in ("city-hub", "nerima", "sites"):
        client_cert(ca_key, ca_cert, name, folder)
    (folder / "acl").write_text(
        "user city-hub\n"
        "topic read madoguchi/v1/+/queue/state/group/#\n"
        "topic read madoguchi/v1/+/city/#\n"
        "topic read madoguchi/v1/+/device/+/status\n"
        "user nerima\ntopic write madoguchi/v1/nerima/#\n"
        # a test identity that writes as any office (also ones the city file does not list)
        "user sites\ntopic write madoguchi/v1/#\n"
    )
    port = free_port()
    (folder / "mosquitto.conf").write_text(
        "per_listener_settings false\nallow_anonymous false\n"
        f"acl_file {folder / 'acl'}\npersistence false\nlog_dest stderr\nuser root\n"
        f"listener {port} 127.0.0.1\ncafile {folder / 'ca.crt'}\ncertfile {folder / 'server.crt'}\n"
        f"keyfile {folder / 'server.key'}\ntls_version tlsv1.2\nrequire_certificate true\n"
        "use_identity_as_username true\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(folder / "mosquitto.conf")], stderr=subprocess.PIPE)
    try:
        wait_for_port(port, proc=proc)
        yield CityBroker(port, folder)
    finally:
        stop_process(proc)


# ---------------------------------------------------------------- waiting on the view, not on the clock
class Changes:
    def __init__(self, view: CityView) -> None:
        self.cond = threading.Condition()
        view.on_change(self._heard)

    def _heard(self, site, what) -> None:
        with self.cond:
            self.cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout), "the hub never got there"


def publish(client: mqtt.Client, topic: str, payload: bytes, retain: bool = True) -> None:
    info = client.publish(topic, payload, qos=1, retain=retain)
    info.wait_for_publish(10)
    assert info.is_published()


@pytest.fixture
def hub_parts(city, postgres):
    url = postgres.create_database()
    migrate(url)
    store = Store(url)
    view = CityView(*city)
    yield view, store
    store.close()


def test_the_hub_follows_every_office_over_tls(city_broker, hub_parts):
    view, store = hub_parts
    sites = city_broker.client("sites")
    nerima, hika = Topics("nerima"), Topics("hikarigaoka")
    # retained before the hub connects: what it catches up from when it (re)starts
    publish(
        sites,
        nerima.group_state("shomei"),
        dump(GroupState(group="shomei", waiting=9, open_counters=2, est_wait_min=18)),
    )
    publish(sites, nerima.status("queue-service"), dump(Presence(online=True)))
    publish(
        sites,
        Topics("shinjuku").group_state("shomei"),
        dump(GroupState(group="shomei", waiting=0, open_counters=1, est_wait_min=0)),
    )
    publish(sites, hika.group_state("shomei"), b'{"group": "shomei", "waiting": "many"}')  # invalid

    ingest = hub_ingest(city_broker, view, store)
    changes = Changes(view)
    ingest.start()
    try:
        changes.wait(lambda: view.office("nerima").online is True and view.fastest("juminhyo")[0].est_wait_min == 18)
        # the invalid one was dropped, the unknown office ignored, and the hub goes on
        publish(sites, hika.status("queue-service"), dump(Presence(online=True)))
        publish(
            sites,
            hika.group_state("shomei"),
            dump(GroupState(group="shomei", waiting=1, open_counters=1, est_wait_min=3)),
        )
        changes.wait(lambda: [o.site for o in view.fastest("juminhyo")][:2] == ["hikarigaoka", "nerima"])
        assert ingest.counts["dropped"] >= 1 and ingest.counts["ignored"] >= 1
        assert [o.site for o in view.offices()] == ["nerima", "hikarigaoka", "oizumi"]

        # another device's presence does not make an office offline; the service's does
        publish(sites, nerima.status("kiosk-1f"), dump(Presence(online=False)))
        publish(sites, nerima.status("queue-service"), dump(Presence(online=False)))
        changes.wait(lambda: view.office("nerima").online is False)

        # the day summaries: running, final, then a late running one; and one posing as another office
        day = "2026-11-17"
        publish(sites, nerima.city_day(day), dump(summary("nerima", day, at="16:00", tickets=90)))
        publish(sites, nerima.city_day(day), dump(summary("nerima", day, final=True, at="17:30", tickets=95)))
        publish(sites, nerima.city_day(day), dump(summary("nerima", day, at="17:31", tickets=1)), retain=False)
        publish(sites, hika.city_day(day), dump(summary("nerima", day, final=True, at="23:00", tickets=7)))
        publish(sites, hika.city_day("2026-11-16"), json.dumps({"site": "hikarigaoka"}).encode())
        publish(sites, hika.city_day(day), dump(summary("hikarigaoka", day, final=True, tickets=12)))
        changes.wait(lambda: "2026-11-17" in view.summaries("hikarigaoka"))
        assert ingest.flush()
        stored = {s.site: s for s in store.days(None, day, day)}
        assert (stored["nerima"].final, stored["nerima"].tickets) == (True, 95)
        assert stored["hikarigaoka"].tickets == 12
        assert store.days(None, "2026-11-16", "2026-11-16") == []
        assert view.office("nerima").today.tickets == 95
        assert ingest.counts["store_errors"] == 0
    finally:
        ingest.stop()
        sites.loop_stop()
        sites.disconnect()


def test_an_office_cannot_write_into_another_offices_prefix(city_broker, hub_parts):
    """The city broker's ACL (as the bridge helper generates it) keeps an office to its own prefix: what the
    hub then sees of the other office is unchanged."""
    view, store = hub_parts
    ingest = hub_ingest(city_broker, view, store)
    changes = Changes(view)
    ingest.start()
    nerima = city_broker.client("nerima")
    try:
        publish(
            nerima,
            Topics("hikarigaoka").group_state("shomei"),
            dump(GroupState(group="shomei", waiting=0, open_counters=5, est_wait_min=0)),
        )
        publish(
            nerima,
            Topics("nerima").group_state("shomei"),
            dump(GroupState(group="shomei", waiting=2, open_counters=1, est_wait_min=4)),
        )
        changes.wait(lambda: view.office("nerima").waiting == 2)
        assert all(g.state is None for g in view.office("hikarigaoka").groups)
    finally:
        ingest.stop()
        nerima.loop_stop()
        nerima.disconnect()


def test_a_database_that_is_down_loses_no_summary(city, tmp_path):
    """Writes fail while the database is not ready (here: not migrated yet); the summary is retried, not lost,
    and the MQTT side never waits for it."""
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    view = CityView(*city)
    store = Store(url)
    ingest = Ingest(view, store, IngestSettings("127.0.0.1"))
    try:
        topic = Topics("nerima").city_day("2026-11-17")
        assert ingest.handle(topic, dump(summary(final=True))) == "applied"
        assert not ingest.flush(timeout=1.0)
        assert ingest.counts["store_errors"] >= 1
        migrate(url)
        assert ingest.flush(timeout=10.0)
        assert store.day("nerima", "2026-11-17") == summary(final=True)
    finally:
        ingest.stop()
        store.close()


def test_handle_sorts_topics_without_a_broker(city):
    view = CityView(*city)
    ingest = Ingest(view, None, IngestSettings("127.0.0.1"))
    n = Topics("nerima")
    state = dump(GroupState(group="shomei", waiting=1, open_counters=1, est_wait_min=2))
    assert ingest.handle(n.group_state("shomei"), state) == "applied"
    assert ingest.handle(n.group_state("jumin"), state) == "dropped"  # shomei's state on jumin's topic
    assert ingest.handle(n.group_state("shomei"), b"") == "cleared"
    assert ingest.handle(n.group_state("shomei"), b"not json") == "dropped"
    assert ingest.handle(n.status("queue-service"), b"") == "applied"  # a cleared presence: offline
    assert view.office("nerima").online is False
    assert ingest.handle(n.counter_state("c01"), state) == "ignored"  # never bridged; ignored if it came
    assert ingest.handle("elsewhere/x", state) == "ignored"
    assert parse_topic("madoguchi/v1/nerima/city/day/2026-11-17") == ("nerima", "day", "2026-11-17")
    assert parse_topic("madoguchi/v1/nerima/device/queue-service/status") == ("nerima", "status", "queue-service")
    assert parse_topic("madoguchi/v1/nerima/queue/state/group/a/b") is None


def test_an_office_whose_bridge_is_down_is_offline_at_the_hub_though_its_presence_says_online(city):
    """The city broker keeps the office's last retained presence ("online") while the bridge is down; the bridge's
    own state (``bridge/state``, "0" as its will) tells the hub the figures are stale."""
    view = CityView(*city)
    ingest = Ingest(view, None, IngestSettings("127.0.0.1"))
    n = Topics("nerima")
    link = "madoguchi/v1/nerima/bridge/state"
    assert parse_topic(link) == ("nerima", "link", "state")
    assert ingest.handle(n.status("queue-service"), dump(Presence(online=True))) == "applied"
    state = dump(GroupState(group="shomei", waiting=1, open_counters=1, est_wait_min=2))
    ingest.handle(n.group_state("shomei"), state)
    assert view.office("nerima").online is True and view.fastest("juminhyo")[0].est_wait_min is not None
    assert ingest.handle(link, b"0") == "applied"
    assert view.office("nerima").online is False
    assert all(o.site != "nerima" or o.est_wait_min is None for o in view.fastest("juminhyo")), "no stale estimate"
    assert ingest.handle(link, b"maybe") == "dropped"
    assert ingest.handle(link, b"1") == "applied" and view.office("nerima").online is True


def hub_ingest(city_broker, view, store) -> Ingest:
    """The hub's ingest on the test's city broker, with the hub's own certificate."""
    settings = IngestSettings("127.0.0.1", city_broker.port, "city-hub", city_broker.ca, *city_broker.cert("city-hub"))
    return Ingest(view, store, settings)
