"""The hub's one MQTT client: every office's bridged topics in, the live view and the store updated.

It connects to the city broker over TLS with the hub's client certificate and subscribes, for all offices at
once, to exactly what a site's bridge carries out (``Topics.bridged_out``):

- ``madoguchi/v1/+/queue/state/group/#`` (retained ``GroupState``) → :meth:`CityView.apply_group`;
- ``madoguchi/v1/+/device/+/status`` (retained ``Presence``; only the site's queue service counts) →
  :meth:`CityView.apply_presence`;
- ``madoguchi/v1/+/city/#``: ``…/city/day/{date}`` (retained ``SiteDaySummary``) → the view, and the store
  (:meth:`Store.upsert`).

Every payload is validated with the bus schemas; an invalid one is dropped and logged, never fatal. A topic of
an office not in the city file is ignored (counted, logged once). A summary whose ``site`` or ``date`` is not
the one in its topic is dropped: an office speaks only for itself (the city broker's ACL says the same).

Database writes happen on a writer thread, newest summary per office day, so a slow or unreachable database never
stalls the MQTT loop; a failed write is retried (the summaries are retained, so nothing is lost meanwhile).
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from pydantic import BaseModel, ValidationError

from city_hub.store.api import Store
from city_hub.view import CityView, supersedes
from kiosk.bus.contract import VERSION, Role, Topics
from kiosk.bus.schemas import GroupState, Presence, SiteDaySummary, short_errors
from kiosk.config.site import Site

log = logging.getLogger(__name__)

ROOT = f"madoguchi/{VERSION}"
_ANY = Topics("any-site")


def _any_site(pattern: str) -> str:
    return f"{ROOT}/+" + pattern.removeprefix(_ANY.root).replace("/device/any-service/", "/device/+/")


#: every office's bridged topics at once (``Topics.bridged_out`` with ``+`` for the office and the service):
#: exactly the filters the city broker's ACL lets the hub read
SUBSCRIPTIONS = (*(_any_site(p) for p in _ANY.bridged_out("any-service")), f"{ROOT}/+/bridge/state")


@dataclass
class IngestSettings:
    """How the hub reaches the city broker. TLS with a client certificate in a city; plain only in tests."""

    host: str
    port: int = 8883
    client_id: str = "city-hub"
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    #: when the city broker also wants a user name (``use_identity_as_username`` makes it the cert's CN)
    username: str | None = None
    password: str | None = None
    keepalive: int = 30


def service_ids(site: Site) -> frozenset[str]:
    """The site's queue service device ids: only their presence says whether the office is online."""
    return frozenset(d.id for d in site.devices if d.role == Role.SERVICE) or frozenset({"queue-service"})


def parse_topic(topic: str) -> tuple[str, str, str] | None:
    """``(site, kind, key)`` for a bridged topic: kind is ``group``, ``status`` or ``day``; None for others."""
    parts = topic.split("/")
    if len(parts) < 5 or f"{parts[0]}/{parts[1]}" != ROOT:
        return None
    site, rest = parts[2], parts[3:]
    if len(rest) == 4 and rest[:3] == ["queue", "state", "group"]:
        return site, "group", rest[3]
    if len(rest) == 3 and rest[0] == "device" and rest[2] == "status":
        return site, "status", rest[1]
    if len(rest) == 3 and rest[:2] == ["city", "day"]:
        return site, "day", rest[2]
    if rest == ["bridge", "state"]:
        return site, "link", "state"
    return None


class Ingest:
    """Feeds ``view`` (and ``store``, when given) from the city broker. ``start()``, ``stop()``."""

    def __init__(
        self,
        view: CityView,
        store: Store | None,
        settings: IngestSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.view = view
        self.store = store
        self.settings = settings
        self.clock = clock
        self.services = {site_id: service_ids(site) for site_id, site in view.sites.items()}
        self.connected = threading.Event()
        #: received / dropped (invalid) / ignored (unknown office or topic) / stored / store_errors
        self.counts: Counter[str] = Counter()
        self._unknown_logged: set[str] = set()
        self._pending: dict[tuple[str, str], SiteDaySummary] = {}
        self._busy = False
        self._cond = threading.Condition()
        self._stopping = False
        self._writer = threading.Thread(target=self._write_loop, name="city-hub-store", daemon=True)

        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2, client_id=settings.client_id, protocol=mqtt.MQTTv5
        )
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        if settings.cafile:
            client.tls_set(
                ca_certs=settings.cafile,
                certfile=settings.certfile,
                keyfile=settings.keyfile,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    # ------------------------------------------------------------ lifecycle
    def start(self, wait: float | None = 10.0) -> Ingest:
        """Connect in the background (reconnecting forever); optionally wait for the first connect."""
        self.client.connect_async(self.settings.host, self.settings.port, keepalive=self.settings.keepalive)
        self.client.loop_start()
        if wait is not None and not self.connected.wait(wait):
            raise TimeoutError(f"no city broker at {self.settings.host}:{self.settings.port} after {wait:.0f} s")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.connected.clear()
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._writer.is_alive():
            self._writer.join(10)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every summary received so far is written (or ``timeout``); True when all are."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending and not self._busy, timeout)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("the city broker refused the hub: %s", reason_code)
            return
        for topic in SUBSCRIPTIONS:
            client.subscribe(topic, qos=1)
        self.connected.set()
        log.info("hub connected to the city broker %s:%s", self.settings.host, self.settings.port)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.connected.is_set():
            log.warning("hub lost the city broker: %s", reason_code)
        self.connected.clear()

    # ------------------------------------------------------------ messages
    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        try:
            self.handle(msg.topic, bytes(msg.payload))
        except Exception:  # never let one message stop the loop
            self.counts["dropped"] += 1
            log.exception("message on %s could not be handled", msg.topic)

    def handle(self, topic: str, payload: bytes) -> str:
        """Apply one message; returns what happened (``applied``, ``ignored``, ``dropped``, ``cleared``)."""
        self.counts["received"] += 1
        parsed = parse_topic(topic)
        if parsed is None:
            return self._ignore(topic, "not a bridged topic")
        site, kind, key = parsed
        if not self.view.knows(site):
            return self._ignore(site, "an office not in the city file")
        if kind == "group":
            if not payload:
                self.view.clear_group(site, key)
                return "cleared"
            state = self._validate(GroupState, topic, payload)
            if state is None:
                return "dropped"
            if state.group != key:
                return self._drop(topic, f"group {state.group!r} on the topic of {key!r}")
            self.view.apply_group(site, state, self.clock())
            return "applied"
        if kind == "link":  # the office's bridge, as Mosquitto says (the city broker publishes "0" as its will)
            if payload not in (b"0", b"1"):
                return self._drop(topic, "a bridge state is 0 or 1")
            self.view.apply_link(site, payload == b"1")
            return "applied"
        if kind == "status":
            if key not in self.services.get(site, ()):
                return "ignored"  # another device's presence: the city only follows the queue service
            presence = Presence(online=False) if not payload else self._validate(Presence, topic, payload)
            if presence is None:
                return "dropped"
            self.view.apply_presence(site, presence)
            return "applied"
        if not payload:
            return "cleared"  # a retained summary cleared at the site: the stored day stays
        summary = self._validate(SiteDaySummary, topic, payload)
        if summary is None:
            return "dropped"
        if summary.site != site or summary.date != key:
            return self._drop(topic, f"summary of {summary.site}/{summary.date} on another office's or day's topic")
        self.view.apply_summary(summary)
        if self.store is not None:
            self._queue_write(summary)
        return "applied"

    def _validate(self, model: type[BaseModel], topic: str, payload: bytes):
        try:
            return model.model_validate_json(payload)
        except ValidationError as exc:
            self._drop(topic, f"invalid {model.__name__}: {short_errors(exc)}")
            return None

    def _drop(self, topic: str, reason: str) -> str:
        self.counts["dropped"] += 1
        log.warning("dropped %s: %s", topic, reason)
        return "dropped"

    def _ignore(self, what: str, reason: str) -> str:
        self.counts["ignored"] += 1
        if what not in self._unknown_logged:
            self._unknown_logged.add(what)
            log.warning("ignoring %s: %s", what, reason)
        return "ignored"

    # ------------------------------------------------------------ the store, off the MQTT thread
    def _queue_write(self, summary: SiteDaySummary) -> None:
        key = (summary.site, summary.date)
        with self._cond:
            if not self._writer.is_alive() and not self._stopping and self._writer.ident is None:
                self._writer.start()  # on the first summary: no thread for a hub without summaries yet
            held = self._pending.get(key)
            if held is None or supersedes(summary, held.final, held.updated_at):
                self._pending[key] = summary
                self._cond.notify_all()

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._stopping)
                if not self._pending:
                    return
                key = next(iter(self._pending))
                summary = self._pending.pop(key)
                self._busy = True
            ok = False
            try:
                if self.store is not None:
                    self.store.upsert(summary)
                    self.counts["stored"] += 1
                ok = True
            except Exception as exc:
                self.counts["store_errors"] += 1
                log.error("could not store %s/%s (will retry): %s", summary.site, summary.date, exc)
            with self._cond:
                self._busy = False
                if not ok:
                    held = self._pending.get(key)  # a newer one may have come in meanwhile: it goes first
                    if held is None or supersedes(summary, held.final, held.updated_at):
                        self._pending[key] = summary
                    if self._stopping:
                        return
                    self._cond.wait(2.0)  # back off before the database is tried again
                self._cond.notify_all()
