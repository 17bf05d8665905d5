"""The queue service process: :class:`QueueCore` on the bus, plus an HTTP health endpoint.

One worker thread owns the core. The MQTT network thread only queues what arrives;
the worker takes everything waiting (a batch), lets the core decide and journal it,
publishes the outcome, and only then acknowledges the commands to the broker
(MQTT v5, manual acks, persistent session): a command the service was killed in the
middle of is delivered again when it comes back, and its id makes that harmless.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paho.mqtt.client as mqtt

from kiosk import watchdog
from kiosk.bus.client import Bus, BusSettings
from kiosk.bus.contract import REVISION, Role, Verb
from kiosk.bus.schemas import Command, Presence, dump
from kiosk.config.site import Site
from queue_service.service.city import CityPublisher, SummaryBuilder
from queue_service.service.core import Inbound, Outbound, QueueCore
from queue_service.service.http_guard import ConnectionLimits, guarded_protocol
from queue_service.service.journal import Journal
from queue_service.service.timings import Timings

if TYPE_CHECKING:
    import uvicorn

log = logging.getLogger(__name__)

_REPUBLISH = object()  # inbox marker: (re)connected, publish every retained state topic
_STOP = object()


@dataclass
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    #: Reverse proxies whose X-Forwarded-For is believed (docs/web.md). None by default: uvicorn would trust
    #: 127.0.0.1, and anyone on the box could then pick the address the login lockout counts.
    trusted_proxies: tuple[str, ...] = ()
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)


@dataclass
class LocalCommand:
    """The handle of a command submitted in-process (:meth:`QueueService.submit`): its waiter, not a broker's
    message to acknowledge."""

    cmd_id: str
    done: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] = field(default_factory=dict)


class QueueService:
    def __init__(
        self,
        site: Site,
        journal_path: Path,
        bus_settings: BusSettings,
        http: HttpSettings | None = None,
        tick_seconds: float = 15.0,
        max_batch: int = 500,
        max_state_delay: float = 0.1,
        preentry_key: Path | None = None,
        forms_dir: Path | None = None,
        web: Callable[[QueueService], Any] | None = None,
        city_summary: SummaryBuilder | None = None,
        city_every: float = 60.0,
    ) -> None:
        """``web``: builds the ASGI app ``http`` serves (``queue_service.web.app.make_app``; the composition root
        passes it, so the service does not build its own web pages). ``city_summary``: builds the day summaries
        published for the city hub (``queue_service.city_summary.day_summary``, from the root too; None: none),
        at most every ``city_every`` seconds (:mod:`queue_service.service.city`)."""
        if bus_settings.role is not Role.SERVICE:
            raise ValueError("the queue service connects with a device of role 'service'")
        self.site = site
        #: The web guide signs pre-entry QR codes with the site's key for the form templates' fields.
        self.preentry_key = preentry_key
        self.forms_dir = forms_dir
        self.journal = Journal(journal_path)
        self.core = QueueCore(site, self.journal)
        bus_settings.manual_ack = True
        bus_settings.persistent_session = True
        self.bus = Bus(bus_settings)
        self.http = http
        if http is not None and web is None:
            raise ValueError("an HTTP listener needs the web app: pass web=queue_service.web.app.make_app")
        self.web = web
        self.city_summary = city_summary
        self.city_every = city_every
        self.city: CityPublisher | None = None
        self.tick_seconds = tick_seconds
        self.max_batch = max_batch
        #: The group topics of a batch wait while more commands are queued, at most this long (s).
        self.max_state_delay = max_state_delay
        self._state_owed = False
        self._state_at = time.monotonic()
        self.timings = Timings()
        self.inbox: queue.Queue = queue.Queue()
        self.started_at = time.monotonic()
        self.processed = 0
        #: When the worker took the batch it is on (None while it waits): a batch takes milliseconds, so one
        #: older than ``stuck_after`` seconds means a stuck worker, and /healthz says so (503).
        self.busy_since: float | None = None
        self.stuck_after = 10.0
        self.last_command_at: float | None = None
        self.quarantined = 0
        self._worker = threading.Thread(target=self._work, name="queue-worker", daemon=True)
        self._watcher = threading.Thread(target=self._watch, name="queue-watchdog", daemon=True)
        self._stopped = threading.Event()
        self._http_server: uvicorn.Server | None = None
        #: Held by the worker while the core changes; HTTP handlers hold it to read a consistent state.
        self.lock = threading.RLock()
        #: Called (from the worker thread, lock released) after every batch and tick: live pages wake up.
        self.change_listeners: list = []
        #: Every appliance's retained presence (online, faults such as ``assistance_requested``: a resident
        #: pressed "call staff"), by device id, for the staff pages. Written by the MQTT thread.
        self.devices: dict[str, Presence] = {}

    # ------------------------------------------------------------ lifecycle
    def start(self, wait: float | None = 10.0) -> QueueService:
        self.bus.subscribe(self.bus.topics.all_commands, self._receive)
        self.bus.subscribe_model(self.bus.topics.all_statuses, Presence, self._presence)
        # acknowledged at once (manual acks are for commands): 20 unacknowledged presences fill the broker's
        # in-flight window and no command gets through (tests/system/test_service_presence.py)
        self.bus.subscribe(self.bus.topics.all_statuses, self.bus.ack)
        self.bus.on_connection(lambda up: self.inbox.put(_REPUBLISH) if up else None)
        self._worker.start()
        if self.http is not None:
            self._start_http()
        if self.city_summary is not None:  # its own thread and journal connection: off the command path
            city = CityPublisher(
                self.site,
                self.journal.path,
                self.bus,
                self.city_summary,
                lambda: self.core.engine.day,
                self.core.clock,
                every=self.city_every,
            )
            self.bus.on_connection(lambda up: city.republish() if up else None)
            self.city = city.start()
        self.bus.start(wait=wait)
        watchdog.ready(f"queue service for {self.site.site.id}")  # systemd Type=notify
        self._watcher.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self.inbox.put(_STOP)
        self._worker.join(timeout=10)
        if self.city is not None:
            self.city.stop()
        self.bus.stop()
        if self._http_server is not None:
            self._http_server.should_exit = True
        self.journal.close()

    def _start_http(self) -> None:
        import uvicorn

        assert self.http is not None and self.web is not None
        trusted = self.http.trusted_proxies
        config = uvicorn.Config(
            self.web(self),
            host=self.http.host,
            port=self.http.port,
            log_level="warning",
            access_log=False,
            http=guarded_protocol(self.http.limits),
            proxy_headers=bool(trusted),
            forwarded_allow_ips=",".join(trusted) if trusted else None,
            # uvicorn's own cap (503) counts connections too: above ours, so a request on a connection that
            # made room for itself is served
            limit_concurrency=self.http.limits.max_connections + 16,
        )
        self._http_server = uvicorn.Server(config)
        threading.Thread(target=self._http_server.run, name="queue-http", daemon=True).start()

    # ------------------------------------------------------------ the worker
    def _presence(self, topic: str, presence: Presence) -> None:
        device = topic.split("/")[-2]
        if device != self.bus.device:  # the service's own presence is /healthz's business
            self.devices[device] = presence

    def _receive(self, msg: mqtt.MQTTMessage) -> None:
        response_topic = getattr(msg.properties, "ResponseTopic", None) if msg.properties else None
        # paho types a payload bytes | bytearray; a received one is bytes (bytes() of bytes is the same object)
        self.inbox.put(Inbound(msg.topic, bytes(msg.payload), response_topic, handle=msg))

    def _work(self) -> None:
        while True:
            try:
                first = self.inbox.get(timeout=self.tick_seconds)
            except queue.Empty:
                first = None
            self.busy_since = time.monotonic()  # from here to the next wait: /healthz watches how long
            try:
                if self._handle(first):
                    return
            except Exception:  # a failed tick or publish must not end the worker: the next pass tries again
                log.exception("the queue worker's pass failed; going on")
            finally:
                self.busy_since = None

    def _handle(self, first: object) -> bool:
        """One pass of the worker: a tick (``first`` None) or everything waiting. True: stop."""
        if first is None:
            self._publish_state(tick=True)
            return False
        markers = [first]
        while len(markers) < self.max_batch:
            try:
                markers.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        batch = [m for m in markers if isinstance(m, Inbound)]
        if batch:
            # what people wait for (the board, the calls, the replies) goes out before the slower group topics
            started = time.perf_counter()
            self.core.journal_seconds = 0.0
            out = self._answer_local(batch, self._process(batch))
            self._publish(out)
            self.bus.flush()  # on the wire before the worker computes anything else
            self.timings.batch(len(batch), time.perf_counter() - started, self.core.journal_seconds)
            for msg in batch:
                if not isinstance(msg.handle, LocalCommand):
                    self.bus.ack(msg.handle)
            self.processed += len(batch)
            self.last_command_at = time.monotonic()
            self._state_owed = True
        republish = any(m is _REPUBLISH for m in markers)  # everything, which includes what is owed
        if republish or (
            self._state_owed and (self.inbox.empty() or time.monotonic() - self._state_at >= self.max_state_delay)
        ):
            self._publish_state(force=republish)
        return any(m is _STOP for m in markers)

    def _publish_state(self, force: bool = False, tick: bool = False) -> None:
        """The retained state that changed (groups, waits, what is coming), after the batch's urgent part. While
        more commands wait it is owed rather than computed (the next batch's calls reach the board first), but
        never for longer than ``max_state_delay`` seconds. ``tick``: time passed (a new day, waits that moved)."""
        started = time.perf_counter()
        with self.lock:
            out = self.core.tick() if tick else self.core.state_messages(force=force)
        self._publish(out)
        self.timings.state(time.perf_counter() - started)
        self._state_owed = False
        self._state_at = time.monotonic()
        self._changed()

    def submit(self, verb: Verb, args: dict[str, Any], timeout: float = 5.0) -> dict[str, Any]:
        """A command from the service's own web pages (a resident's survey answers on the phone page), as the
        site's service device: the same worker, validation, engine and journal as a device's command, answered
        in-process (the reply is not published). Returns the reply (``ok``, ``result``, ``error``)."""
        device = self.site.service_device
        if device is None:
            raise RuntimeError("the site file has no device of role 'service'")
        local = LocalCommand(str(uuid.uuid4()))
        payload = dump(Command(id=local.cmd_id, device=device.id, args=args, rev=REVISION))
        self.inbox.put(Inbound(self.core.topics.command(verb), payload, handle=local))
        if not local.done.wait(timeout):
            raise TimeoutError(f"{verb}: no answer from the queue worker in {timeout} s")
        return local.reply

    def _answer_local(self, batch: list[Inbound], out: list[Outbound]) -> list[Outbound]:
        """Hand the replies of in-process commands to their waiters; the rest is published."""
        local = {m.handle.cmd_id: m.handle for m in batch if isinstance(m.handle, LocalCommand)}
        if not local:
            return out
        device = self.site.service_device
        reply_topic = self.core.topics.reply(device.id) if device else None
        kept = []
        for message in out:
            if message.topic == reply_topic:
                reply = json.loads(message.payload)
                waiter = local.get(reply.get("id"))
                if waiter is not None:
                    waiter.reply = reply
                    waiter.done.set()
                    continue
            kept.append(message)
        return kept

    def _process(self, batch: list[Inbound]) -> list[Outbound]:
        """The core's outcome for a batch. Should the batch fail as a whole (the core answers every bad
        command itself, so this is a bug or the disk), each command is tried alone, and one that fails
        alone as well is quarantined: journaled by digest and acknowledged, so the broker never delivers
        it again, to this process or to the next one after a restart."""
        try:
            with self.lock:
                return self.core.handle(batch)
        except Exception:
            log.exception("a batch of %d commands failed; trying them one by one", len(batch))
        out: list[Outbound] = []
        for msg in batch:
            try:
                with self.lock:
                    out += self.core.handle([msg])
            except Exception as exc:
                log.exception("command on %s failed twice: quarantined", msg.topic)
                self._quarantine(msg, f"{type(exc).__name__}: {exc}")
        return out

    def _quarantine(self, msg: Inbound, reason: str) -> None:
        self.quarantined += 1
        digest = hashlib.sha256(msg.payload).hexdigest()
        try:
            self.journal.quarantine(self.core.clock().isoformat(), msg.topic, digest, len(msg.payload), reason)
        except Exception:  # the journal itself may be what fails: the log line above still tells
            log.exception("could not journal the quarantined command %s", digest)

    def _changed(self) -> None:
        for listener in list(self.change_listeners):
            try:
                listener()
            except Exception:  # a broken page must not stop the queue
                log.exception("change listener failed")

    def _publish(self, messages: list[Outbound]) -> None:
        for m in messages:
            self.bus.publish(m.topic, m.payload, retain=m.retain)

    # ------------------------------------------------------------ health
    def _watch(self) -> None:
        """systemd's watchdog follows what /healthz says: pinged only while the worker takes commands and, when
        the service has web pages, its own web server answers (a flooded or hung server gets the unit
        restarted, not only a stuck worker). A lost broker is not a reason: the bus reconnects by itself."""
        while not self._stopped.wait(watchdog.interval()):
            if self.worker_state() == "ok" and self._web_answers():
                watchdog.ping()

    def _web_answers(self) -> bool:
        if self.http is None:
            return True
        host = "127.0.0.1" if self.http.host in ("0.0.0.0", "::", "") else self.http.host
        try:
            with urllib.request.urlopen(f"http://{host}:{self.http.port}/healthz", timeout=5) as answer:
                return answer.status == 200
        except urllib.error.HTTPError as answer:  # 503: it answers, and says why (e.g. the broker is away)
            return answer.code == 503
        except OSError:
            return False

    def worker_state(self) -> str:
        """``ok``, ``stuck`` (on one batch for over ``stuck_after`` s) or ``dead`` (the thread ended)."""
        if not self._worker.is_alive():
            return "dead"
        busy = self.busy_since
        if busy is not None and time.monotonic() - busy > self.stuck_after:
            return "stuck"
        return "ok"

    def health(self) -> dict:
        engine = self.core.engine
        worker = self.worker_state()
        now = time.monotonic()
        status = "ok" if self.bus.connected.is_set() else "degraded"
        if worker != "ok":  # a worker that no longer takes commands is worse than a lost broker
            status = f"worker_{worker}"
        return {
            "status": status,
            "worker": worker,
            "busy_s": None if self.busy_since is None else round(now - self.busy_since, 1),
            "last_command_s_ago": None if self.last_command_at is None else round(now - self.last_command_at, 1),
            "quarantined": self.quarantined,
            "site": self.site.site.id,
            "day": engine.day,
            "broker_connected": self.bus.connected.is_set(),
            "tickets_today": len(engine.state.tickets),
            "open_counters": sum(1 for c in engine.state.counters.values() if c.open),
            "commands_processed": self.processed,
            "backlog": self.inbox.qsize(),
            "journal": self.journal.durability,
            "timings": self.timings.summary(),
            "uptime_s": round(time.monotonic() - self.started_at, 1),
        }
