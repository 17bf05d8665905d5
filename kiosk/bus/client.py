"""The one MQTT client every smart madoguchi process uses (paho-mqtt 2.x, MQTT v5).

What it adds to paho:

- the device's credentials, TLS, and automatic reconnection;
- a retained presence message and a will that sets it offline;
- subscriptions that are made again after every reconnect;
- request/reply for queue commands: each command gets a uuid4 id, is re-sent with
  the SAME id after a timeout (safe: the service answers a repeated id with the same
  reply and no second effect), and a publish the broker refuses (MQTT v5 PUBACK
  "not authorized") fails at once instead of timing out;
- schema validation of what comes in: an invalid message is dropped with a logged
  reason, never handed to the app.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ValidationError

from kiosk.bus.contract import REVISION, ROLES_WITH_PRESENCE, Role, Topics, Verb
from kiosk.bus.schemas import Command, Presence, Reply, dump, short_errors

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

__version__ = "0.1.0"


class BusError(Exception):
    """Base of the errors a request can end with; ``code`` is snake_case, for the UI."""

    code = "bus_error"


class BusUnavailable(BusError):
    code = "bus_unavailable"


class BusTimeout(BusError):
    code = "timeout"


class CommandRefused(BusError):
    """The broker refused the publish (the ACL does not allow this device that verb)."""

    code = "not_authorized"


class CommandFailed(BusError):
    """The queue service answered with an error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class BusSettings:
    site: str
    device: str
    role: Role
    password: str
    host: str = "127.0.0.1"
    port: int = 1883
    cafile: str | None = None  # TLS when set
    #: Keep the session (and QoS 1 messages not yet acknowledged) across reconnects.
    persistent_session: bool = False
    #: Acknowledge received messages only when the app calls :meth:`Bus.ack`.
    manual_ack: bool = False
    keepalive: int = 20


@dataclass
class _Waiter:
    """A request waiting for its reply."""

    event: threading.Event = field(default_factory=threading.Event)
    reply: Reply | None = None
    refused: bool = False


@dataclass
class _Ack:
    """A publish waiting for the broker's PUBACK; a refusal also wakes its request."""

    event: threading.Event = field(default_factory=threading.Event)
    reason: mqtt.ReasonCode | None = None
    waiter: _Waiter | None = None


def _no_delay(client, userdata, sock) -> None:
    """Send small MQTT packets at once: with Nagle's algorithm every request/reply round trip
    waited on delayed ACKs (issue p50 48 ms → 11 ms, bench/README.md)."""
    with contextlib.suppress(OSError, AttributeError):  # not a plain TCP socket: leave it
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class Bus:
    def __init__(self, settings: BusSettings) -> None:
        self.settings = settings
        self.topics = Topics(settings.site)
        self.device = settings.device
        self.connected = threading.Event()
        self.faults: list[str] = []
        self._stopping = False
        self._subs: dict[str, tuple[int, list[Callable[[mqtt.MQTTMessage], None]]]] = {}
        self._waiters: dict[str, _Waiter] = {}
        self._acks: OrderedDict[int, _Ack] = OrderedDict()
        #: Every publish is tracked right after ``publish`` returns; a PUBACK that beats
        #: the tracking waits here for it. Both maps are bounded (acks lost to a dropped
        #: connection are never answered).
        self._early_acks: OrderedDict[int, mqtt.ReasonCode] = OrderedDict()
        self._lock = threading.Lock()  # never held while calling into paho
        self._connection_listeners: list[Callable[[bool], None]] = []

        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=settings.device,
            protocol=mqtt.MQTTv5,
            manual_ack=settings.manual_ack,
        )
        client.username_pw_set(settings.device, settings.password)
        if settings.cafile:
            client.tls_set(ca_certs=settings.cafile, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if self.has_presence:
            client.will_set(self.topics.status(self.device), self._presence(False), qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        client.on_socket_open = _no_delay
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        self.client = client
        if settings.role is not Role.BOARD and settings.role is not Role.SERVICE:
            self.subscribe_model(self.topics.reply(self.device), Reply, self._on_reply)

    @property
    def has_presence(self) -> bool:
        return self.settings.role in ROLES_WITH_PRESENCE

    # ------------------------------------------------------------ connection
    def start(self, wait: float | None = 10.0) -> Bus:
        """Connect in the background (reconnecting forever); optionally wait for the first connect."""
        props = None
        if self.settings.persistent_session:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 24 * 3600
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=self.settings.keepalive,
            clean_start=not self.settings.persistent_session,
            properties=props,
        )
        self.client.loop_start()
        if wait is not None and not self.connected.wait(wait):
            raise BusUnavailable(f"no broker at {self.settings.host}:{self.settings.port} after {wait:.0f} s")
        return self

    def stop(self) -> None:
        """Say goodbye (presence offline), disconnect, stop the network thread."""
        self._stopping = True
        if self.connected.is_set() and self.has_presence:
            self._publish_presence(online=False).event.wait(2)
        self.client.disconnect()
        self.client.loop_stop()
        self.connected.clear()

    def on_connection(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(True/False)`` whenever the broker connection comes up or goes down."""
        self._connection_listeners.append(listener)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.error("broker refused %s: %s", self.device, reason_code)
            return
        for topic, (qos, _handler) in self._subs.items():
            client.subscribe(topic, qos=qos)
        if self.has_presence:
            self._publish_presence(online=True)
        self.connected.set()
        log.info("%s connected to %s:%s", self.device, self.settings.host, self.settings.port)
        for listener in self._connection_listeners:
            listener(True)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was = self.connected.is_set()
        self.connected.clear()
        if was:
            if self._stopping:
                log.info("%s disconnected", self.device)
            else:
                log.warning("%s lost the broker: %s", self.device, reason_code)
            for listener in self._connection_listeners:
                listener(False)

    # ------------------------------------------------------------ presence
    def _presence(self, online: bool) -> bytes:
        return dump(Presence(online=online, role=self.settings.role, version=__version__, faults=list(self.faults)))

    def _publish_presence(self, online: bool) -> _Ack:
        return self.publish(self.topics.status(self.device), self._presence(online), retain=True)

    def set_faults(self, faults: list[str]) -> None:
        """Report device faults (e.g. ``paper_out``) in the retained presence message."""
        self.faults = sorted(set(faults))
        if self.has_presence and self.connected.is_set():
            self._publish_presence(online=True)

    # ------------------------------------------------------------ publish / subscribe
    def subscribe(self, topic: str, handler: Callable[[mqtt.MQTTMessage], None], qos: int = 1) -> None:
        """Subscribe now (if connected) and again after every reconnect. A topic may have several handlers."""
        self._subs.setdefault(topic, (qos, []))[1].append(handler)
        if self.connected.is_set():
            self.client.subscribe(topic, qos=qos)

    def subscribe_model(self, topic: str, model: type[M], handler: Callable[[str, M], None]) -> None:
        """Subscribe to messages of one schema; invalid ones are logged and dropped."""

        def validated(msg: mqtt.MQTTMessage) -> None:
            if not msg.payload:  # a cleared retained message
                return
            try:
                value = model.model_validate_json(msg.payload)
            except ValidationError as exc:
                log.warning("dropped invalid %s on %s: %s", model.__name__, msg.topic, short_errors(exc))
                return
            handler(msg.topic, value)

        self.subscribe(topic, validated)

    def publish(self, topic: str, payload: BaseModel | bytes, retain: bool = False, qos: int = 1, **kw) -> _Ack:
        """Publish; the returned ack's ``event`` is set when the broker has answered."""
        return self._publish(topic, payload, retain, qos, None, **kw)

    def _publish(self, topic, payload, retain=False, qos=1, waiter: _Waiter | None = None, **kw) -> _Ack:
        data = dump(payload) if isinstance(payload, BaseModel) else payload
        info = self.client.publish(topic, data, qos=qos, retain=retain, **kw)
        if info.rc == mqtt.MQTT_ERR_NO_CONN:
            log.debug("%s queued while offline", topic)
        return self._track(info.mid, waiter)

    def flush(self, timeout: float = 0.005) -> bool:
        """Give the network thread the CPU until what was published is written to the socket (at most ``timeout``
        seconds); True when nothing is left to write. A thread that goes on computing right after publishing
        holds Python's GIL for up to its switch interval (5 ms) while the network thread waits to send: the queue
        service publishes a call, flushes, and only then starts on the slower state (bench/README.md, call path)."""
        deadline = time.monotonic() + timeout
        while self.client.want_write():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.0001)  # releases the GIL: the network thread writes
        return True

    def ack(self, msg: mqtt.MQTTMessage) -> None:
        """Acknowledge a message received with ``manual_ack`` (after it is safely stored)."""
        if msg.qos > 0:
            self.client.ack(msg.mid, msg.qos)

    def _on_message(self, client, userdata, msg: mqtt.MQTTMessage) -> None:
        for topic, (_qos, handlers) in list(self._subs.items()):
            if mqtt.topic_matches_sub(topic, msg.topic):
                for handler in list(handlers):
                    try:
                        handler(msg)
                    except Exception:
                        log.exception("handler for %s failed", msg.topic)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            ack = self._acks.pop(mid, None)
            if ack is None:
                self._early_acks[mid] = reason_code
                if len(self._early_acks) > 1024:
                    self._early_acks.popitem(last=False)
                return
        self._settle(ack, reason_code)

    @staticmethod
    def _settle(ack: _Ack, reason: mqtt.ReasonCode) -> None:
        ack.reason = reason
        ack.event.set()
        if ack.waiter is not None and reason.is_failure:
            ack.waiter.refused = True
            ack.waiter.event.set()

    def _track(self, mid: int, waiter: _Waiter | None = None) -> _Ack:
        """Follow a publish's PUBACK (paho may deliver it before ``publish`` returns)."""
        ack = _Ack(waiter=waiter)
        with self._lock:
            early = self._early_acks.pop(mid, None)
            if early is None:
                self._acks[mid] = ack
                if len(self._acks) > 4096:
                    self._acks.popitem(last=False)
        if early is not None:
            self._settle(ack, early)
        return ack

    def publish_confirmed(self, topic: str, payload: BaseModel | bytes, timeout: float = 5.0, **kw) -> bool:
        """Publish at QoS 1 and wait for the broker's answer: False if it refused (ACL)."""
        ack = self.publish(topic, payload, qos=1, **kw)
        if not ack.event.wait(timeout):
            raise BusTimeout(f"no PUBACK for {topic} after {timeout} s")
        return not (ack.reason is not None and ack.reason.is_failure)

    # ------------------------------------------------------------ request / reply
    def request(
        self, verb: Verb | str, args: dict[str, Any] | BaseModel, timeout: float = 5.0, attempts: int = 3
    ) -> dict[str, Any]:
        """Send a queue command and wait for its reply; returns the reply's ``result``.

        Raises :class:`CommandFailed` (the service said no, with its error code),
        :class:`CommandRefused` (the broker's ACL said no), :class:`BusTimeout` or
        :class:`BusUnavailable`.
        """
        if isinstance(args, BaseModel):
            args = args.model_dump(mode="json", exclude_none=True)
        cmd_id = str(uuid.uuid4())
        payload = dump(Command(id=cmd_id, device=self.device, args=args, rev=REVISION))
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = self.topics.reply(self.device)
        props.CorrelationData = cmd_id.encode()
        waiter = _Waiter()
        with self._lock:
            self._waiters[cmd_id] = waiter
        try:
            for attempt in range(attempts):
                if not self.connected.wait(timeout):
                    raise BusUnavailable("not connected to the broker")
                self._publish(self.topics.command(verb), payload, waiter=waiter, properties=props)
                if waiter.event.wait(timeout):
                    break
                log.warning("no reply to %s %s (attempt %d/%d), re-sending", verb, cmd_id, attempt + 1, attempts)
            else:
                raise BusTimeout(f"no reply to {verb} after {attempts} attempts")
        finally:
            with self._lock:
                self._waiters.pop(cmd_id, None)
        if waiter.refused:
            raise CommandRefused(f"the broker does not allow {self.device} to send {verb}")
        assert waiter.reply is not None
        if waiter.reply.ok:
            return waiter.reply.result or {}
        assert waiter.reply.error is not None
        raise CommandFailed(waiter.reply.error.code, waiter.reply.error.message)

    def _on_reply(self, topic: str, reply: Reply) -> None:
        with self._lock:
            waiter = self._waiters.get(reply.id)
        if waiter is None:
            log.debug("reply %s matches no waiting request (late duplicate?)", reply.id)
            return
        waiter.reply = reply
        waiter.event.set()
