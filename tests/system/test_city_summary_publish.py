"""The site's side of the city link on a real Mosquitto (the project's generated config, passwords and ACL): the
queue service publishes its day summary retained on ``{root}/city/day/{date}``, on its own pass (not after each
command), again after a restart, a final one when the day is over or was missed, and no other device may write
there.

The site's ACL lets nobody read the city topics (the bridge carries them out from inside the broker): the tests
add a reader of their own to the running broker's password file and ACL and make it reload them (SIGHUP)."""

from __future__ import annotations

import secrets
import signal
import threading
import time
import uuid
from datetime import date, datetime, timedelta

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from broker_config.generate import ensure_passwords, write_password_file
from kiosk.bus.client import BusSettings
from kiosk.bus.contract import Role, Topics
from kiosk.bus.schemas import SiteDaySummary
from queue_service.city_summary import day_summary
from queue_service.service.app import QueueService
from queue_service.service.city import CLEARED_KEY, FINAL_KEY, KEEP_RETAINED_DAYS, CityPublisher
from queue_service.service.core import QueueCore
from queue_service.service.direct import DirectClient
from queue_service.service.journal import Journal

pytestmark = pytest.mark.broker

#: The publisher's pass in these tests (a minute in production).
EVERY = 1.0
READER = "city-test-reader"
NOTE = "CITY-SPY-HANDOVER-NOTE"


def wait_until(predicate, timeout: float = 10.0, what: str = "condition"):
    """Poll a condition that has no event to wait on (a thread's progress), in small steps."""
    deadline = time.monotonic() + timeout
    step = threading.Event()
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        step.wait(0.02)
    raise AssertionError(f"{what}: not met within {timeout} s")


class CityReader:
    """Every city summary the broker delivers (retained ones included), parsed, with its raw bytes."""

    def __init__(self, broker, topics: Topics, password: str) -> None:
        self.password = password
        self.messages: list[tuple[str, SiteDaySummary, bytes, bool]] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"city-reader-{uuid.uuid4().hex[:8]}")
        self.client.username_pw_set(READER, password)
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_a: c.subscribe(topics.all_city, qos=1)
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.on_message = self._on
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert subscribed.wait(10), "the test reader could not subscribe to the city topics"

    def _on(self, _client, _userdata, message) -> None:
        if not message.payload:
            return
        summary = SiteDaySummary.model_validate_json(message.payload)
        with self._cond:
            self.messages.append((message.topic, summary, bytes(message.payload), bool(message.retain)))
            self._cond.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0) -> tuple[str, SiteDaySummary, bytes, bool]:
        """The first message (oldest first) that ``predicate(topic, summary)`` accepts."""

        def found():
            return next((m for m in self.messages if predicate(m[0], m[1])), None)

        with self._cond:
            if not self._cond.wait_for(found, timeout=timeout):
                raise AssertionError(f"no such city summary within {timeout} s; saw {self.messages[-3:]}")
            return found()  # type: ignore[return-value]

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _reader_may_connect(broker, password: str) -> bool:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{uuid.uuid4().hex[:8]}")
    client.username_pw_set(READER, password)
    answered = threading.Event()
    result: list[bool] = []
    client.on_connect = lambda _c, _u, _f, reason, _p: (result.append(not reason.is_failure), answered.set())
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    try:
        return answered.wait(5) and result[0]
    finally:
        client.loop_stop()
        client.disconnect()


@pytest.fixture
def reader(broker, site):
    """A client allowed to read ``{root}/city/#`` and nothing else, added to the running broker for the test."""
    topics = Topics(site.site.id)
    secrets_dir = broker.state / "secrets"
    password = secrets.token_urlsafe(18)
    write_password_file(
        broker.state / "broker" / "passwd", ensure_passwords(site, secrets_dir) | {READER: password}, secrets_dir
    )
    acl = broker.state / "broker" / "acl"
    acl.write_text(acl.read_text() + f"\n# the test's reader\nuser {READER}\ntopic read {topics.all_city}\n")
    broker.proc.send_signal(signal.SIGHUP)  # Mosquitto reloads its password file and ACL
    wait_until(lambda: _reader_may_connect(broker, password), what="the broker reloads its passwords")
    running = CityReader(broker, topics, password)
    running.password = password
    yield running
    running.stop()


def start_service(site, broker, path, every: float = EVERY) -> QueueService:
    settings = BusSettings(
        site.site.id, "queue-service", Role.SERVICE, broker.password("queue-service"), "127.0.0.1", broker.port
    )
    service = QueueService(
        site, path, settings, http=None, tick_seconds=3600, city_summary=day_summary, city_every=every
    )
    return service.start()


def today(site) -> str:
    return datetime.now(site.zone).date().isoformat()


def test_a_served_call_reaches_the_retained_summary_and_a_restart_sends_it_again(
    site, broker, devices, reader, tmp_path
):
    service = start_service(site, broker, tmp_path / "queue.sqlite")
    try:
        kiosk, panel = devices("kiosk-1f"), devices("panel-c01")
        hour = datetime.now(site.zone).hour
        ticket = kiosk.request("issue", {"procedures": ["tennyu"], "lang": "vi"})["ticket"]
        panel.request("open_counter", {"counter": "c01"})
        assert panel.request("call_next", {"counter": "c01"})["ticket"]["id"] == ticket["id"]
        panel.request("complete", {"counter": "c01", "note": NOTE})
        served_at = time.monotonic()
        day = today(site)
        topic = service.bus.topics.city_day(day)

        def served(t: str, s: SiteDaySummary) -> bool:
            return t == topic and s.finished == 1

        _, summary, raw, _ = reader.wait_for(served, timeout=EVERY + 5)
        took = time.monotonic() - served_at
        assert took < EVERY + 2, f"the summary came {took:.1f} s after the call, the pass is {EVERY} s"
        assert (summary.date, summary.final, summary.tickets, summary.finished) == (day, False, 1, 1)
        jumin = next(g for g in summary.groups if g.group == "jumin")
        assert (jumin.tickets, jumin.served) == (1, 1)
        assert [(h.arrivals, h.served) for h in jumin.hours] in ([(1, 1)], [(1, 0), (0, 1)])  # the hour may turn
        assert jumin.hours[0].hour in (hour, (hour - 1) % 24)
        for secret in (ticket["id"], ticket["token"], NOTE):
            assert secret.encode() not in raw

        # the counter closes: the journal grows, the figures do not, and the next passes send nothing
        city = service.city
        assert city is not None
        entries = service.journal.count(day)
        wait_until(lambda: city.published_count == entries, what="the broker confirmed the summary")
        sent = city.sent
        panel.request("close_counter", {"counter": "c01"})
        wait_until(lambda: city.published_count == entries + 1, timeout=EVERY * 6, what="a pass over the close")
        passes = city.passes
        wait_until(lambda: city.passes >= passes + 1, timeout=EVERY * 6, what="one more pass")
        assert city.sent == sent
    finally:
        service.stop()
    before = summary.updated_at

    # a restarted service sends the running day's summary again at once (its pass here is an hour), same figures
    restarted = start_service(site, broker, tmp_path / "queue.sqlite", every=3600)
    try:
        _, again, _, _ = reader.wait_for(lambda t, s: t == topic and s.updated_at > before, timeout=5)
        assert (again.tickets, again.finished, again.final) == (1, 1, False)
        assert again.model_dump(exclude={"updated_at"}) == summary.model_dump(exclude={"updated_at"})
    finally:
        restarted.stop()


def _write_day(site, path, day: date, served: int) -> None:
    """A past office day in the journal, through the real core with its own clock: ``served`` residents served."""
    clock_now = [datetime.combine(day, datetime.min.time(), site.zone).replace(hour=9)]
    journal = Journal(path, durable=False)
    client = DirectClient(QueueCore(site, journal, clock=lambda: clock_now[0]))
    client.request("panel-demo", "open_counter", {"counter": "c01"})
    for _ in range(served):
        client.request("kiosk-1f", "issue", {"procedures": ["tennyu"]})
        clock_now[0] += timedelta(minutes=7)
        assert client.request("panel-demo", "call_next", {"counter": "c01"})["ticket"] is not None
        clock_now[0] += timedelta(minutes=5)
        client.request("panel-demo", "complete", {"counter": "c01"})
    journal.close()


def _final_noted(path) -> str | None:
    journal = Journal(path)
    try:
        return journal.meta(FINAL_KEY)
    finally:
        journal.close()


def test_a_past_day_without_its_final_gets_it_at_start_up(site, broker, reader, tmp_path):
    path = tmp_path / "queue.sqlite"
    yesterday = (date.fromisoformat(today(site)) - timedelta(days=1)).isoformat()
    _write_day(site, path, date.fromisoformat(yesterday), served=3)
    service = start_service(site, broker, path)
    try:
        topic = service.bus.topics.city_day(yesterday)
        _, final, _, _ = reader.wait_for(lambda t, s: t == topic and s.final, timeout=EVERY + 5)
        assert (final.date, final.tickets, final.finished) == (yesterday, 3, 3)
        assert final.wait_mean_min == 7.0 and final.groups[0].group == "jumin" and final.groups[0].served == 3
        wait_until(lambda: _final_noted(path) == yesterday, what="the final is noted in the journal")
    finally:
        service.stop()
    restarted = start_service(site, broker, path)
    try:  # noted: a restart does not send it again (nor anything for today, which has no record yet)
        city = restarted.city
        assert city is not None
        wait_until(lambda: restarted.bus.connected.is_set() and city.passes >= 2, what="a pass on the broker")
        assert city.pending == [] and city.sent == 0
    finally:
        restarted.stop()


def test_the_day_that_ends_gets_its_final_and_the_next_day_starts(site, broker, reader, tmp_path):
    """The engine's day moves on (midnight): the day over gets ``final: true``, retained, and the new day its running
    summary; a publisher started later owes only the days after the last confirmed final."""
    path = tmp_path / "queue.sqlite"
    _write_day(site, path, date(2026, 11, 24), served=2)
    _write_day(site, path, date(2026, 11, 25), served=1)
    service_day = ["2026-11-24"]
    bus = broker.bus("queue-service")
    publisher = CityPublisher(site, path, bus, day_summary, lambda: service_day[0], lambda: datetime.now(site.zone))
    try:
        publisher.catch_up()
        assert publisher.pending == []
        publisher.step()
        topics = bus.topics
        reader.wait_for(lambda t, s: t == topics.city_day("2026-11-24") and not s.final and s.tickets == 2)
        service_day[0] = "2026-11-25"
        publisher.step()
        _, final, _, _ = reader.wait_for(lambda t, s: t == topics.city_day("2026-11-24") and s.final)
        assert (final.tickets, final.finished) == (2, 2)
        reader.wait_for(lambda t, s: t == topics.city_day("2026-11-25") and not s.final and s.tickets == 1)
        assert publisher.journal.meta(FINAL_KEY) == "2026-11-24" and publisher.sent == 3
        publisher.step()  # nothing changed: nothing sent
        assert publisher.sent == 3
    finally:
        publisher.stop()
    later = CityPublisher(site, path, bus, day_summary, lambda: "2026-11-27", lambda: datetime.now(site.zone))
    try:
        later.catch_up()
        assert later.pending == ["2026-11-25"]  # the 24th's final was confirmed; the 25th's never sent
        later.step()
        _, final25, _, _ = reader.wait_for(lambda t, s: t == topics.city_day("2026-11-25") and s.final)
        assert final25.tickets == 1 and later.journal.meta(FINAL_KEY) == "2026-11-25"
    finally:
        later.stop()
        bus.stop()
    # what a bridge (or the hub) connecting now finds: each day's final, retained
    fresh = CityReader(broker, topics, reader.password)
    try:
        for day in ("2026-11-24", "2026-11-25"):
            _, kept, _, retained = fresh.wait_for(lambda t, s, d=day: t == topics.city_day(d))
            assert kept.final and retained
    finally:
        fresh.stop()


def test_no_other_device_may_write_the_city_topics(site, service, devices):
    topic = Topics(site.site.id).city_day(today(site))
    fake = b'{"site":"%s","date":"%s"}' % (site.site.id.encode(), today(site).encode())
    for device in ("kiosk-1f", "panel-c01", "register-1f", "exit-1f", "forms-1f"):
        assert devices(device).publish_confirmed(topic, fake, retain=True) is False, device
    assert service.bus.publish_confirmed(topic, b"", retain=True) is True  # the service may (here: clears it)


def test_retained_summaries_older_than_a_month_of_office_days_are_cleared(site, broker, reader, tmp_path):
    """Every retained message crosses the bridge again after each reconnect: once a day's final is confirmed and
    it is older than the last KEEP_RETAINED_DAYS office days, its retained summary is cleared (the hub stored it)."""
    path = tmp_path / "queue.sqlite"
    first = date.fromisoformat(today(site)) - timedelta(days=KEEP_RETAINED_DAYS + 3)
    days = [(first + timedelta(days=i)).isoformat() for i in range(KEEP_RETAINED_DAYS + 2)]
    for day in days:
        _write_day(site, path, date.fromisoformat(day), served=1)
    service = start_service(site, broker, path)
    try:
        wait_until(lambda: _meta(path, CLEARED_KEY) == days[1], timeout=60, what="the two oldest days cleared")
    finally:
        service.stop()
    later = CityReader(broker, Topics(site.site.id), reader.password)  # what a fresh subscriber finds retained
    try:
        # Mosquitto sends a subscription's retained messages in one burst: once the 31 kept days are in, any
        # cleared day would have come with them
        wait_until(
            lambda: set(days[2:]) <= {s.date for _, s, _, kept in list(later.messages) if kept},
            what="the kept days, retained",
        )
        retained = {s.date for _, s, _, kept in later.messages if kept}
        assert days[0] not in retained and days[1] not in retained
    finally:
        later.stop()


def _meta(path, key: str) -> str | None:
    journal = Journal(path)
    try:
        return journal.meta(key)
    finally:
        journal.close()
