"""The queue service's core: commands in, journal, messages out. No MQTT client here.

This is the single writer of the queue. Commands are handled strictly one after the
other, so two call panels pressing "call next" at the same moment are simply two
commands in a row: the second can never get the first one's ticket.

A batch is handled in four steps: validate and apply each command (refusals become
error replies), commit the whole batch to the journal in one durable transaction,
and only then hand back the replies, events and changed retained state to publish.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from kiosk.bus.contract import Topics, Verb, valid_id
from kiosk.bus.payload import PayloadError, parse_payload
from kiosk.bus.schemas import VERB_ARGS, CalledEvent, Command, ErrorBody, Reply, dump, for_revision, short_errors
from kiosk.config.site import Site
from queue_service.engine import CommandError, Context, QueueEngine, ServiceTimes
from queue_service.service.journal import Entry, Journal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    topic: str
    payload: bytes
    #: MQTT v5 Response Topic, used to answer a message too broken to name its device.
    response_topic: str | None = None
    handle: Any = None  # the transport's message, for acknowledging it


@dataclass(frozen=True)
class Outbound:
    topic: str
    payload: bytes
    retain: bool = False


@dataclass
class _Handled:
    reply: Outbound
    entry: Entry | None = None  # None: unreadable or repeated, nothing to journal
    events: list[Outbound] = field(default_factory=list)
    samples: list[tuple[str, float]] = field(default_factory=list)
    crashed: bool = False
    calls: int = 0  # numbers this command called (each goes on the board)


class QueueCore:
    def __init__(
        self,
        site: Site,
        journal: Journal,
        clock: Callable[[], datetime] | None = None,
        new_token: Callable[[], str] = lambda: secrets.token_urlsafe(16),
    ) -> None:
        self.site = site
        self.topics = Topics(site.site.id)
        self.journal = journal
        self.clock = clock or (lambda: datetime.now(site.zone))
        self.new_token = new_token
        self._reply_topic = re.compile(rf"{re.escape(self.topics.root)}/device/([a-z0-9][a-z0-9_\-]{{0,62}})/reply")
        self._published: dict[str, bytes] = {}
        #: How long the last batch's journal commit took (the fsync), for the service's timings.
        self.journal_seconds = 0.0
        self.replay()

    # ------------------------------------------------------------ start-up
    def replay(self) -> None:
        """Rebuild the engine from the journal: yesterday's service times, today's commands."""
        now = self.clock()
        times = ServiceTimes({p.id: p.minutes for p in self.site.procedures}, self.site.queue.service_time_window)
        engine = QueueEngine(self.site, now, times)
        for procedure, minutes in self.journal.samples_before(engine.day, times.memory):
            times.observe(procedure, minutes)
        replayed = 0
        engine.estimating = False
        for entry in self.journal.day_entries(engine.day):
            if not entry.ok:
                continue
            args = VERB_ARGS[Verb(entry.verb)].model_validate_json(entry.args)
            ctx = Context(now=datetime.fromisoformat(entry.at), device=entry.device, token=entry.token)
            engine.apply(entry.verb, args, ctx)
            replayed += 1
        engine.estimating = True
        self.engine = engine
        self.journal.purge_notes_before(engine.day)
        log.info("replayed %d commands of %s: %d tickets", replayed, engine.day, len(engine.state.tickets))

    # ------------------------------------------------------------ commands
    def process(self, batch: list[Inbound]) -> list[Outbound]:
        """Handle a batch of commands; returns what to publish once the journal holds them (all of it: the
        service publishes :meth:`handle`'s part first, then computes and publishes :meth:`state_messages`)."""
        return self.handle(batch) + self.state_messages()

    def handle(self, batch: list[Inbound]) -> list[Outbound]:
        """Handle a batch of commands; returns what people wait for, once the journal holds the batch: the board's
        state, the calls' events, the replies and the counters' state. The rest of the retained state (groups,
        waits, what is coming) is :meth:`state_messages`, computed after these are out."""
        replies: list[Outbound] = []
        entries: list[Entry] = []
        samples: list[tuple[str, str, float]] = []
        events: list[Outbound] = []
        seen: dict[str, Entry] = {}
        rebuild = False
        boards: list[Outbound] = []  # the board's state in the middle of a batch of many calls
        calls = 0
        for msg in batch:
            handled = self._one_safely(msg, seen)
            if handled is None:
                continue
            rebuild |= handled.crashed
            calls += handled.calls
            if calls >= self.site.queue.recent_calls:  # the next call would push one of these off the board
                boards.append(Outbound(self.topics.board_state, dump(self.engine.board_state()), retain=True))
                calls = 0
            if handled.entry is not None:
                entries.append(handled.entry)
                seen[handled.entry.cmd_id] = handled.entry
                samples += [(handled.entry.day, p, m) for p, m in handled.samples]
            replies.append(handled.reply)
            events += handled.events
        if entries:
            started = time.perf_counter()
            self.journal.append(entries, samples)  # durable before anything is published
            self.journal_seconds = time.perf_counter() - started
        if rebuild:
            self.replay()  # undo whatever a crashed command half-did
            boards = []
        return boards + self._changed(self._urgent_state()) + events + replies

    def _one_safely(self, msg: Inbound, seen: dict[str, Entry]) -> _Handled | None:
        """One command, whatever it holds: no input may stop the worker. What the checks below did not
        foresee becomes an ``internal_error`` reply (or, when even that cannot be built, a log line)."""
        try:
            return self._one(msg, seen)
        except Exception:
            log.exception("command on %s could not be handled (%d bytes): refused", msg.topic, len(msg.payload))
            cmd_id, device = _peek_payload(msg.payload)
            return self._reject(msg, cmd_id, device, "internal_error", "the command could not be handled")

    def _one(self, msg: Inbound, seen: dict[str, Entry]) -> _Handled | None:
        verb = self.topics.verb_of(msg.topic)
        try:
            data = parse_payload(msg.payload)
        except PayloadError as exc:
            return self._reject(msg, None, None, exc.code, exc.message)
        try:
            command = Command.model_validate(data)
        except ValidationError as exc:
            cmd_id, device = _peek(data)
            return self._reject(msg, cmd_id, device, "invalid_command", short_errors(exc))
        reply_topic = self.topics.reply(command.device)
        known = seen.get(command.id) or self.journal.find(command.id)
        if known is not None:
            if known.device != command.device or known.verb != verb:  # another device's, or another command
                return self._reject(msg, command.id, command.device, "id_conflict", "command id already used")
            log.info("repeated command %s from %s: same reply, no effect", command.id, command.device)
            return _Handled(Outbound(reply_topic, known.reply.encode()))
        if verb is None or verb not in Verb.__members__.values():
            return self._reject(msg, command.id, command.device, "unknown_verb", f"no verb {verb!r} in contract v1")
        try:
            args = VERB_ARGS[Verb(verb)].model_validate(command.args)
        except ValidationError as exc:
            return self._reject(msg, command.id, command.device, "invalid_args", short_errors(exc))

        now = self.clock()
        token = self.new_token() if verb == Verb.ISSUE else ""
        ctx = Context(now=now, device=command.device, token=token)
        outcome = None
        failed_hard = False
        try:
            outcome = self.engine.apply(verb, args, ctx)
            reply = Reply(id=command.id, ok=True, result=for_revision(outcome.result, command.rev))
        except CommandError as exc:
            reply = Reply(id=command.id, ok=False, error=ErrorBody(code=exc.code, message=exc.message))
        except Exception:
            log.exception("command %s %s failed inside the engine", verb, command.id)
            reply = Reply(id=command.id, ok=False, error=ErrorBody(code="internal_error", message="internal error"))
            failed_hard = True
        entry = Entry(
            cmd_id=command.id,
            day=self.engine.day,
            at=now.isoformat(),
            device=command.device,
            verb=verb,
            args=args.model_dump_json(),
            token=token,
            ok=reply.ok,
            reply=dump(reply).decode(),
        )
        handled = _Handled(Outbound(reply_topic, entry.reply.encode()), entry, crashed=failed_hard)
        if outcome is not None:
            handled.events = [
                out
                for e in outcome.called
                for out in (
                    Outbound(self.topics.called_event, dump(CalledEvent(**e.model_dump(exclude={"lang"})))),
                    Outbound(self.topics.announce_event, dump(e)),
                )
            ]
            handled.samples = outcome.samples
            handled.calls = len(outcome.called)
        return handled

    def _reject(self, msg: Inbound, cmd_id: str | None, device: str | None, code: str, message: str) -> _Handled | None:
        """An error reply for a command that could not even be read. Nothing is journaled.

        The id is echoed only when it is a printable, encodable string; a reply that cannot be built
        (whatever the command held) is a log line, never an exception."""
        log.warning("rejected command on %s: %s: %s", msg.topic, code, message[:500])
        topic = self.topics.reply(device) if device and valid_id(device) else None
        if topic is None and msg.response_topic and self._reply_topic.fullmatch(msg.response_topic):
            topic = msg.response_topic
        if topic is None:
            return None  # nobody to tell; logged above
        try:
            reply = Reply(id=_echo_id(cmd_id), ok=False, error=ErrorBody(code=code, message=message[:500]))
            return _Handled(Outbound(topic, dump(reply)))
        except Exception:
            log.exception("no error reply could be built for the command on %s (%s)", msg.topic, code)
            return None

    # ------------------------------------------------------------ state
    def tick(self) -> list[Outbound]:
        """Time passes: roll over at midnight, refresh time-dependent waits."""
        if self.engine.roll_over(self.clock()):
            log.info("new service day %s: numbers restart, counters closed", self.engine.day)
            self.journal.purge_notes_before(self.engine.day)
        return self.state_messages()

    def state_messages(self, force: bool = False) -> list[Outbound]:
        """Retained state topics whose payload changed since last published (all if ``force``), the board's first."""
        now = self.clock()
        e = self.engine
        current = self._urgent_state()
        with e.reading():  # every group asks the same of every ticket: remembered until the state changes
            for g in self.site.groups:
                current[self.topics.group_state(g.id)] = dump(e.group_state(g.id, now))
                current[self.topics.wait_state(g.id)] = dump(e.wait_state(g.id, now))
                # rev 2: what a group's staff prepare for (v1 devices never subscribe to these)
                current[self.topics.requests_state(g.id)] = dump(e.requests_state(g.id))
                current[self.topics.coming_state(g.id)] = dump(e.coming_state(g.id))
                current[self.topics.pickups_state(g.id)] = dump(e.pickups_state(g.id))
            for c in self.site.counters:
                current[self.topics.serving_state(c.id)] = dump(e.serving_state(c.id))
                if c.group == self.site.booth_group:
                    current[self.topics.booth_state(c.id)] = dump(e.booth_state(c.id))
        return self._changed(current, force)

    def _urgent_state(self) -> dict[str, bytes]:
        """What the floor shows the moment a call is made: the board, then the counters."""
        e = self.engine
        current = {self.topics.board_state: dump(e.board_state())}
        for c in self.site.counters:
            current[self.topics.counter_state(c.id)] = dump(e.counter_state(c.id))
        return current

    def _changed(self, current: dict[str, bytes], force: bool = False) -> list[Outbound]:
        out = []
        for topic, payload in current.items():
            if force or self._published.get(topic) != payload:
                out.append(Outbound(topic, payload, retain=True))
                self._published[topic] = payload
        return out


def _echo_id(cmd_id: str | None) -> str:
    """The id to put in an error reply: the command's own when it is sane text, else empty."""
    if cmd_id is None or not cmd_id.isprintable():
        return ""
    try:
        cmd_id.encode("utf-8")
    except UnicodeEncodeError:
        return ""
    return cmd_id[:64]


def _peek_payload(payload: bytes) -> tuple[str | None, str | None]:
    try:
        return _peek(parse_payload(payload))
    except PayloadError:
        return None, None


def _peek(data: Any) -> tuple[str | None, str | None]:
    """Id and device of a command that failed validation, where they are at least strings (``_reject`` checks
    the device is an id before it names a topic after it, and echoes only a printable id)."""
    if not isinstance(data, dict):
        return None, None
    cmd_id, device = data.get("id"), data.get("device")
    return (cmd_id if isinstance(cmd_id, str) else None), (device if isinstance(device, str) else None)
