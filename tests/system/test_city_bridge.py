"""Mosquitto's own bridge from the offices to the city broker, with real brokers on loopback.

Each office's broker runs the configuration broker_config generates with the bridge block (TLS with the office's
client certificate from the city CA, made by the project's own PKI code); the city broker runs the generated city
configuration and ACL. Between them a TCP proxy the test can cut, like a WAN link going down.

What is shown: a retained group state published at an office arrives at the hub; nothing published on the city
broker reaches the office; an office's identity cannot publish into another office's prefix; a cut link loses
nothing the city needs and the office's own clients notice nothing; and a spy on the city broker, through a whole
scenario of the real queue service, never sees a token, a note, a command, a reply or an event.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import ssl
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broker_config.bridge import HUB_IDENTITY, bridge_state_topic, generate_city, site_bridge
from broker_config.generate import generate
from broker_config.settings import BrokerSettings, Listener
from images import pki
from images.provision.city import new_client_cert
from kiosk.bus.client import Bus, BusSettings
from kiosk.bus.contract import Role, Topics
from kiosk.bus.schemas import GroupState, SiteDaySummary, dump
from kiosk.config.city import City, CityBroker, load_city
from kiosk.config.site import Site
from madoguchi.local import ROOT, LocalBroker, free_port, stop_process
from tests.harness import Watcher
from tests.system.test_tls_stack import RunningBroker

pytestmark = pytest.mark.broker

CITY_FILE = ROOT / "sites" / "example-city" / "city.toml"
A, B = "sakura-ward", "sakura-kita"
#: A test-only identity on the city broker that reads everything (``topic read #``): the spy.
SPY = "spy"
ROOT_USER = os.geteuid() == 0


# ---------------------------------------------------------------- the city's PKI (images/pki + provisioning's code)
@dataclass
class CityPki:
    folder: Path
    ca_key: pki.Key = field(init=False)
    ca_cert: object = field(init=False)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ca_key, self.ca_cert = pki.new_ca("sakura-city")
        self.ca = self._write("ca.crt", pki.cert_pem(self.ca_cert))
        key, cert = pki.new_server_cert(self.ca_key, self.ca_cert, ["127.0.0.1"])
        self.server_key = self._write("server.key", pki.key_pem(key), 0o600)
        self.server_crt = self._write("server.crt", pki.cert_pem(cert))

    def _write(self, name: str, data: bytes, mode: int = 0o644) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        path.chmod(mode)
        return path

    def client(self, cn: str) -> tuple[Path, Path]:
        """``(cert, key)`` of a client certificate whose CN is the user the city broker sees."""
        key, cert = new_client_cert(self.ca_key, self.ca_cert, cn, days=30)  # type: ignore[arg-type]
        return self._write(f"{cn}.crt", pki.cert_pem(cert)), self._write(f"{cn}.key", pki.key_pem(key), 0o600)


# ---------------------------------------------------------------- a WAN link the test can cut
class Link:
    """A TCP proxy on loopback between an office's bridge and the city broker. ``cut()`` drops every connection
    and refuses new ones (the bridge sees the link fail), ``restore()`` lets them through again."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                down, _ = self.server.accept()
            except OSError:
                return
            if not self.up.is_set():
                down.close()
                continue
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                down.close()
                continue
            with self._lock:
                self.accepted += 1
                self._conns += [down, up]
            for src, dst in ((down, up), (up, down)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self.up.clear()
        with self._lock:
            conns, self._conns = self._conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.server.close()


# ---------------------------------------------------------------- MQTT clients on the city broker
class CityClient:
    """A paho client on the city broker with one client certificate (MQTT 5: the broker says when it refuses a
    publish). Collects what it receives, retained flag included."""

    def __init__(self, port: int, ca: Path, cert: Path, key: Path, subscribe: tuple[str, ...] = ()) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.acks: dict[int, mqtt.ReasonCode] = {}
        self.granted: list[mqtt.ReasonCode] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)  # fmt: skip
        self.client.tls_set(ca_certs=str(ca), certfile=str(cert), keyfile=str(key), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_subscribe = self._on_subscribe
        self.subscriptions = subscribe
        connected = threading.Event()
        self.client.on_connect = lambda c, u, f, reason, p: connected.set() if not reason.is_failure else None
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert connected.wait(10), "no CONNACK from the city broker"
        for topic in subscribe:
            self.client.subscribe(topic, qos=1)
        self.wait(lambda: len(self.granted) >= len(subscribe), what="SUBACK")

    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))
            self._cond.notify_all()

    def _on_publish(self, _c, _u, mid, reason, _p) -> None:
        with self._cond:
            self.acks[mid] = reason
            self._cond.notify_all()

    def _on_subscribe(self, _c, _u, _mid, reasons, _p) -> None:
        with self._cond:
            self.granted += list(reasons)
            self._cond.notify_all()

    def wait(self, predicate: Callable[[], object], timeout: float = 15.0, what: str = "condition"):
        with self._cond:
            ok = self._cond.wait_for(predicate, timeout=timeout)
        assert ok, f"{what}: not within {timeout} s; last messages {self.messages[-5:]}"
        return ok

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> mqtt.ReasonCode:
        """Publish QoS 1 and return the broker's PUBACK reason (Success, or Not authorized)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        self.wait(lambda: info.mid in self.acks, what=f"PUBACK for {topic}")
        return self.acks[info.mid]

    def on(self, topic: str) -> list[bytes]:
        with self._cond:
            return [payload for t, payload, _r in self.messages if t == topic]

    def latest(self, topic: str) -> bytes | None:
        got = self.on(topic)
        return got[-1] if got else None

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# ---------------------------------------------------------------- the city: a city broker and bridged offices
@dataclass
class Office:
    site: Site
    broker: LocalBroker
    link: Link
    services: list = field(default_factory=list)

    @property
    def topics(self) -> Topics:
        return Topics(self.site.site.id)

    def raw(self, device: str) -> mqtt.Client:
        """A paho client with a device's credentials and its own client id (it does not kick the device off)."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{uuid.uuid4().hex[:8]}")
        client.username_pw_set(device, self.broker.password(device))
        client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        return client

    def publish_as_service(self, topic: str, payload: bytes, retain: bool = True) -> None:
        client = self.raw(self.site.service_device.id)  # type: ignore[union-attr]
        try:
            client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)
        finally:
            client.disconnect()
            client.loop_stop()

    def start_service(self, tmp: Path, **kw):
        from queue_service.service.app import QueueService

        service = self.site.service_device.id  # type: ignore[union-attr]
        settings = BusSettings(self.site.site.id, service, Role.SERVICE, self.broker.password(service),
                               "127.0.0.1", self.broker.port)  # fmt: skip
        svc = QueueService(self.site, tmp / f"{self.site.site.id}.sqlite", settings, http=None, tick_seconds=3600, **kw)
        svc.start()
        self.services.append(svc)
        return svc


@dataclass
class CityStack:
    tmp: Path
    city: City
    sites: dict[str, Site]
    pki: CityPki
    broker: RunningBroker
    port: int
    offices: dict[str, Office] = field(default_factory=dict)
    clients: list[CityClient] = field(default_factory=list)
    buses: list[Bus] = field(default_factory=list)

    def connect(self, identity: str, subscribe: tuple[str, ...] = ()) -> CityClient:
        cert, key = self.pki.client(identity)
        client = CityClient(self.port, self.pki.ca, cert, key, subscribe)
        self.clients.append(client)
        return client

    def hub(self) -> CityClient:
        """The hub's identity, subscribed the way the hub would (every office's bridged topics)."""
        root = "madoguchi/v1/+"
        subs = (f"{root}/queue/state/group/#", f"{root}/city/#", f"{root}/device/+/status", f"{root}/bridge/state")
        return self.connect(HUB_IDENTITY, subs)

    def office(self, site_id: str) -> Office:
        """Start an office's broker with the generated bridge to the city broker (through its own Link)."""
        site = self.sites[site_id]
        link = Link(self.port)
        cert, key = self.pki.client(site_id)
        city = self.city.model_copy(update={"broker": CityBroker(host="127.0.0.1", port=link.port)})
        bridge = site_bridge(site, city, self.pki.ca, cert, key, restart_timeout=(1, 2))
        state = self.tmp / site_id
        port = free_port()
        settings = BrokerSettings(listeners=(Listener(port=port),), run_as_root=ROOT_USER, bridge=bridge)
        files = generate(site, state / "broker", state / "secrets", settings)
        running = RunningBroker(files.conf, state / "mosquitto.log", (port,)).start()
        assert running.proc is not None
        office = Office(site, LocalBroker(site, state, port, running.proc), link)
        self.offices[site_id] = office
        return office

    def bus(self, office: Office, device: str) -> Bus:
        bus = office.broker.bus(device)
        self.buses.append(bus)
        return bus

    def stop(self) -> None:
        for bus in self.buses:
            bus.stop()
        for client in self.clients:
            client.stop()
        for office in self.offices.values():
            for svc in office.services:
                svc.stop()
            stop_process(office.broker.proc, timeout=5)
            office.link.close()
        self.broker.stop()


#: The city broker's ACL in a test: the generated one, or one that lets every office read and write its whole
#: prefix (as if the ACL were wrong: then the bridge's own topic lines alone must keep things in and out).
GENERATED_ACL, OPEN_ACL = "generated ACL", "open ACL"


@pytest.fixture
def city(tmp_path, request) -> Iterator[CityStack]:
    loaded, sites = load_city(CITY_FILE)
    port = free_port()
    ca = CityPki(tmp_path / "city-pki")
    settings = BrokerSettings(
        listeners=(Listener(port=port, cafile=ca.ca, certfile=ca.server_crt, keyfile=ca.server_key),),
        run_as_root=ROOT_USER,
    )
    files = generate_city(loaded, sites, tmp_path / "city-broker", settings)
    with files.acl.open("a") as acl:  # the test's spy (and a stand-in for a compromised city account)
        acl.write(f"\n# test only\nuser {SPY}\ntopic readwrite #\n")
        if getattr(request, "param", GENERATED_ACL) == OPEN_ACL:
            acl.writelines(f"user {s.id}\ntopic readwrite {Topics(s.id).root}/#\n" for s in loaded.sites)
    broker = RunningBroker(files.conf, tmp_path / "city-mosquitto.log", (port,)).start()
    stack = CityStack(tmp_path, loaded, sites, ca, broker, port)
    try:
        yield stack
    finally:
        stack.stop()


def group_state(waiting: int, group: str = "g-juminhyo") -> bytes:
    return dump(GroupState(group=group, waiting=waiting, open_counters=1, est_wait_min=waiting * 3))


def link_up(client: CityClient, site: str) -> bool:
    return client.latest(bridge_state_topic(site)) == b"1"


# ---------------------------------------------------------------- (1) out: retained group state reaches the hub
def test_a_retained_group_state_at_an_office_reaches_the_hub(city):
    office = city.office(A)
    hub = city.hub()
    hub.wait(lambda: link_up(hub, A), what="the bridge's link notification")
    topic = office.topics.group_state("g-juminhyo")
    office.publish_as_service(topic, group_state(4))
    hub.wait(lambda: hub.latest(topic) == group_state(4), what="the group state at the hub")
    # retained on the city broker: a hub that connects later (or restarts) gets it at once
    late = city.hub()
    late.wait(lambda: late.latest(topic) == group_state(4), what="the retained copy")
    assert [r for t, _p, r in late.messages if t == topic] == [True]


# ---------------------------------------------------------------- (2) in: nothing from the city reaches an office
@pytest.mark.parametrize("city", [GENERATED_ACL, OPEN_ACL], indirect=True)
def test_nothing_published_on_the_city_broker_reaches_the_office(city):
    office = city.office(A)
    spy = city.connect(SPY, ("#",))
    spy.wait(lambda: link_up(spy, A), what="the bridge up")
    t = office.topics
    seen: list[tuple[str, bytes]] = []
    watchers = []  # everything a device at the office can read: the service's commands, the board's state
    for device, subs in (
        ("queue-service", (t.all_commands, t.all_statuses)),
        ("board-1f", (t.all_state, t.all_events)),
    ):
        watcher = office.raw(device)
        watcher.on_message = lambda _c, _u, m: seen.append((m.topic, m.payload))
        subscribed = threading.Event()
        watcher.on_subscribe = lambda *_a, ev=subscribed: ev.set()
        watcher.subscribe([(sub, 1) for sub in subs])
        assert subscribed.wait(10)
        watchers.append(watcher)
    forged = [
        (t.command("call_next"), b'{"id": "00000000-0000-4000-8000-000000000000", "args": {"counter": "c01"}}'),
        (t.group_state("g-juminhyo"), group_state(99)),  # a bridged topic, the other way round
        (t.city_day("2024-04-01"), b"{}"),
        (t.status("queue-service"), b'{"online": false}'),
    ]
    for topic, payload in forged:
        assert not spy.publish(topic, payload, retain=True).is_failure  # the spy account may: the bridge must not
        spy.wait(lambda topic=topic: spy.on(topic), what=f"{topic} on the city broker")
    # a round trip through the same link after the forged messages: the bridge carried traffic, and still
    marker = t.group_state("g-marker")
    office.publish_as_service(marker, group_state(1, "g-marker"))
    spy.wait(lambda: spy.latest(marker) == group_state(1, "g-marker"), what="the office's own state at the city")
    for watcher in watchers:
        watcher.disconnect()
        watcher.loop_stop()
    assert [topic for topic, _ in seen if topic.startswith(t.root)] == [marker], "only the office's own publish"


# ---------------------------------------------------------------- (3) the ACL: each office keeps to its prefix
def test_an_office_cannot_publish_into_another_offices_prefix(city):
    city.office(A)
    hub = city.hub()
    hub.wait(lambda: link_up(hub, A), what="A's bridge up")
    # A's certificate as a plain client (MQTT 5: the broker says why it refuses)
    a = city.connect(A, ("madoguchi/#",))
    b_topics, a_topics = Topics(B), Topics(A)
    for topic in (b_topics.group_state("g-juminhyo"), b_topics.city_day("2024-04-01"), b_topics.status("queue-service"),
                  b_topics.command("call_next"), bridge_state_topic(B)):  # fmt: skip
        assert a.publish(topic, group_state(7), retain=True).getName() == "Not authorized", topic
    for topic in (a_topics.command("call_next"), a_topics.all_events.replace("#", "called")):
        assert a.publish(topic, b"{}").getName() == "Not authorized", "only the bridged topics, even its own"
    # its own bridged prefix is allowed (positive control): the hub sees that, and nothing of B
    own = a_topics.group_state("g-a-control")
    assert not a.publish(own, group_state(2), retain=True).is_failure
    hub.wait(lambda: hub.latest(own) == group_state(2), what="A's own publish at the hub")
    assert not [t for t, *_ in hub.messages if t.startswith(b_topics.root + "/")], "nothing landed in B's prefix"
    assert a.messages == [], "and an office reads nothing on the city broker, not even its own"
    # the hub writes nothing
    assert hub.publish(a_topics.group_state("g-juminhyo"), group_state(0)).getName() == "Not authorized"


# ---------------------------------------------------------------- (4) the link down and back
def test_a_cut_link_loses_nothing_the_city_needs_and_the_office_notices_nothing(city, tmp_path):
    office = city.office(A)
    hub = city.hub()
    hub.wait(lambda: link_up(hub, A), what="the bridge up")
    service = office.start_service(tmp_path)
    kiosk, panel = city.bus(office, "kiosk-1f"), city.bus(office, "panel-c07")
    drops: list[bool] = []
    for bus in (kiosk, panel):
        bus.on_connection(lambda up: drops.append(up))
    group = office.topics.group_state(office.site.counter_by_id["c07"].group)
    local = Watcher(kiosk, group, GroupState)
    first = kiosk.request("issue", {"procedures": ["juminhyo"]})["ticket"]
    local.wait_for(lambda w: w.messages and w.messages[-1][1].waiting == 1)
    hub.wait(lambda: states(hub, group)[-1:] == [local.latest[group]], what="the group state at the hub, before")
    before = len(hub.on(group))

    office.link.cut()
    hub.wait(lambda: hub.latest(bridge_state_topic(A)) == b"0", what="the city broker publishing the bridge's will")
    # the office works as before: tickets, a call, a completion, while the city is unreachable
    seen_locally = len(local.messages)
    for _ in range(3):
        kiosk.request("issue", {"procedures": ["juminhyo"]})
    panel.request("open_counter", {"counter": "c07"})
    called = panel.request("call_next", {"counter": "c07"})["ticket"]
    assert called["id"] == first["id"]
    panel.request("complete", {"counter": "c07"})
    local.wait_for(lambda w: w.latest[group].waiting == 3 and w.latest[group].open_counters == 1)
    during = [v for _t, v in local.messages[seen_locally:]]
    # the day summaries of the outage (retained, one topic per day), as the queue service publishes them
    summaries = {d: day_summary(A, d, tickets=n) for d, n in (("2024-04-01", 120), ("2024-04-02", 95))}
    for date, summary in summaries.items():
        office.publish_as_service(office.topics.city_day(date), summary)
    assert len(hub.on(group)) == before, "nothing crossed while the link was down"

    office.link.restore()
    hub.wait(lambda: link_up(hub, A), timeout=20, what="the bridge back")
    for date, summary in summaries.items():
        hub.wait(lambda d=date, s=summary: hub.latest(office.topics.city_day(d)) == s, what=f"the summary of {date}")
    latest = local.latest[group]
    hub.wait(lambda: states(hub, group)[-1] == latest, what="the latest retained group state")
    after = iter(states(hub, group)[before:])
    assert during and all(state in after for state in during), "every state of the outage, in order (queued)"
    assert drops == [], "the office's own clients never lost their broker"
    assert service.bus.connected.is_set()
    # a fresh hub (the city view rebuilt) gets the same from the retained copies
    fresh = city.hub()
    fresh.wait(lambda: states(fresh, group) == [latest] and fresh.latest(office.topics.city_day("2024-04-02")))


def states(client: CityClient, topic: str) -> list[GroupState]:
    return [GroupState.model_validate_json(p) for p in client.on(topic)]


def day_summary(site: str, date: str, tickets: int) -> bytes:
    now = dt.datetime.now(dt.UTC)
    counts = dict(tickets=tickets, finished=tickets, cancelled=0, one_stop=0, multi_department=0, surveys=0)
    return dump(SiteDaySummary(site=site, date=date, final=True, updated_at=now, payments=0, guide_uses=0, **counts))


# ---------------------------------------------------------------- (5) the spy on the city broker
@pytest.mark.parametrize("city", [GENERATED_ACL, OPEN_ACL], indirect=True)
def test_a_spy_on_the_city_broker_never_sees_a_token_a_note_or_a_command(city, tmp_path):
    from kiosk.bus.contract import Verb
    from queue_service.city_summary import day_summary as build_summary

    office = city.office(A)
    spy = city.connect(SPY, ("#",))
    spy.wait(lambda: link_up(spy, A), what="the bridge up")
    service = office.start_service(tmp_path, city_summary=build_summary, city_every=0.2)
    kiosk, panel, exit_screen = (city.bus(office, d) for d in ("kiosk-1f", "panel-c07", "exit-1f"))
    note = "保険証の切替をお願いします 090-1234-5678"
    tickets = [kiosk.request("issue", {"procedures": ["juminhyo"], "lang": "en"})["ticket"] for _ in range(2)]
    panel.request("open_counter", {"counter": "c07"})
    for _ in tickets:
        panel.request("call_next", {"counter": "c07"})
        panel.request("complete", {"counter": "c07", "note": note})
    assert exit_screen.request("record_survey", {"number": tickets[1]["number"], "answers": {"no_repeat": 3}})
    reply = service.submit(Verb.RECORD_SURVEY, {"ticket": tickets[0]["id"], "answers": {"overall": 5}})
    assert reply["ok"]
    t = office.topics
    # what the city needs arrived: the final group state (nobody waiting) and today's summary with the 2 tickets
    group = t.group_state(office.site.counter_by_id["c07"].group)
    spy.wait(lambda: states(spy, group)[-1:] and states(spy, group)[-1].waiting == 0, what="the group state")

    def summary_of_today() -> bool:
        days = [json.loads(p) for tp, p, _ in spy.messages if tp.startswith(f"{t.root}/city/day/")]
        return any(d["tickets"] == 2 and d["surveys"] == 2 for d in days)

    spy.wait(summary_of_today, what="the day summary with both tickets and both surveys")

    allowed = Topics(A).bridged_out(office.site.service_device.id) + (bridge_state_topic(A),)  # type: ignore[union-attr]
    topics = {tp for tp, _p, _r in spy.messages}
    assert all(any(mqtt.topic_matches_sub(sub, tp) for sub in allowed) for tp in topics), sorted(topics)
    for tp in topics:
        assert "/cmd/" not in tp and "/reply" not in tp and "/event/" not in tp, tp
    blob = b"\n".join(p for _t, p, _r in spy.messages)
    for ticket in tickets:
        assert ticket["token"] and ticket["token"].encode() not in blob, "no status-page token"
        assert ticket["id"].encode() not in blob, "no ticket id"
    assert note.encode() not in blob and b"090-1234-5678" not in blob, "no note"
    assert b'"number"' not in blob and b'"note"' not in blob and b'"token"' not in blob
