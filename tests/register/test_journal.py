"""The journal: replay rebuilds the same queue; notes do not outlive their day."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta

import pytest

from kiosk.bus.schemas import Command
from queue_service.service.core import Inbound, QueueCore
from queue_service.service.journal import Journal
from tests.desk import JST


class Clock:
    """Moves 30 s each time it is read, unless stopped."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=JST)
        self.step = timedelta(seconds=30)

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def send(core: QueueCore, verb: str, device: str, **args) -> dict:
    cmd = Command(id=str(uuid.uuid4()), device=device, args=args)
    out = core.process([Inbound(core.topics.command(verb), cmd.model_dump_json().encode())])
    reply = json.loads(next(o for o in out if o.topic == core.topics.reply(device)).payload)
    return reply


def test_replay_rebuilds_the_same_state_and_replies(site, tmp_path):
    clock = Clock()
    core = QueueCore(site, Journal(tmp_path / "q.sqlite"), clock=clock)
    send(core, "open_counter", "panel-demo", counter="c01")
    for _ in range(3):
        send(core, "issue", "kiosk-1f", procedures=["tennyu", "kokuho_kanyu"])
    send(core, "call_next", "panel-demo", counter="c01")
    send(core, "complete", "panel-demo", counter="c01", note="二通")
    send(core, "call_next", "panel-demo", counter="c01")
    clock.step = timedelta(0)  # waits depend on the time: compare at one instant
    before = core.state_messages(force=True)
    core.journal.close()

    again = QueueCore(site, Journal(tmp_path / "q.sqlite"), clock=clock)
    assert [(m.topic, m.payload) for m in again.state_messages(force=True)] == [(m.topic, m.payload) for m in before]
    # each journaled reply is what the replayed engine would answer
    tokens = {t.token for t in again.engine.state.tickets.values()}
    assert len(tokens) == 3 and all(len(t) >= 16 for t in tokens)
    # the replay skipped the estimates of the replies it threw away; the replayed engine estimates again
    assert send(again, "issue", "kiosk-1f", procedures=["tennyu"])["result"]["ticket"]["est_wait_min"] is not None


def test_notes_are_purged_when_the_day_ends(site, tmp_path):
    clock = Clock()
    journal = Journal(tmp_path / "q.sqlite")
    core = QueueCore(site, journal, clock=clock)
    send(core, "open_counter", "panel-demo", counter="c01")
    send(core, "issue", "kiosk-1f", procedures=["tennyu", "kokuho_kanyu"])
    send(core, "call_next", "panel-demo", counter="c01")
    send(core, "complete", "panel-demo", counter="c01", note="お子さん2人")
    send(core, "open_counter", "panel-demo", counter="c21")
    assert send(core, "call_next", "panel-demo", counter="c21")["result"]["ticket"]["note"]["text"] == "お子さん2人"
    dump = lambda: "\n".join(r[0] + r[1] for r in journal.db.execute("SELECT args, reply FROM journal"))  # noqa: E731
    assert "お子さん2人" in dump()

    clock.now += timedelta(days=1)
    core.tick()
    assert "お子さん2人" not in dump()
    assert core.engine.state.tickets == {}
    assert journal.count() == 6, "the history stays, only the notes go"


def test_service_times_carry_over_to_the_next_day(site, tmp_path):
    clock = Clock()
    journal = Journal(tmp_path / "q.sqlite")
    core = QueueCore(site, journal, clock=clock)
    send(core, "open_counter", "panel-demo", counter="c01")
    for _ in range(3):
        send(core, "issue", "kiosk-1f", procedures=["tennyu"])
        send(core, "call_next", "panel-demo", counter="c01")
        clock.now += timedelta(minutes=4)
        send(core, "complete", "panel-demo", counter="c01")
    journal.close()
    clock.now += timedelta(days=1)
    tomorrow = QueueCore(site, Journal(tmp_path / "q.sqlite"), clock=clock)
    assert tomorrow.engine.times.observed("tennyu") == 3
    assert tomorrow.engine.times.minutes("tennyu") == pytest.approx(5.0)  # 4 min + the clock's ticks


def test_a_crash_inside_the_engine_changes_nothing(site, tmp_path, monkeypatch):
    core = QueueCore(site, Journal(tmp_path / "q.sqlite"), clock=Clock())
    send(core, "issue", "kiosk-1f", procedures=["tennyu"])
    real = core.engine._do_issue

    def half_then_crash(args, ctx, role):
        real(args, ctx, role)  # mutates the state ...
        raise RuntimeError("bug")  # ... then fails

    monkeypatch.setattr(core.engine, "_do_issue", half_then_crash)
    reply = send(core, "issue", "kiosk-1f", procedures=["tennyu"])
    assert reply["ok"] is False and reply["error"]["code"] == "internal_error"
    assert len(core.engine.state.tickets) == 1, "the half-applied issue was rolled back by a replay"
    assert send(core, "issue", "kiosk-1f", procedures=["tennyu"])["result"]["ticket"]["number"] == 2


def test_journal_is_durable(tmp_path):
    journal = Journal(tmp_path / "q.sqlite")
    assert journal.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert journal.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_the_journal_and_its_wal_files_are_private_whatever_the_umask(tmp_path):
    """Ticket tokens open a resident's status page and notes are about people: 0600 at rest (was 0644)."""
    import os
    import stat as stat_mod

    from queue_service.service.journal import Journal as QueueJournal

    old = os.umask(0o022)
    try:
        journal = QueueJournal(tmp_path / "queue.sqlite")
        journal.db.execute("INSERT INTO meta VALUES ('probe', 'x')")  # the -wal file exists from here
        files = sorted(tmp_path.glob("queue.sqlite*"))
        assert {f.name for f in files} >= {"queue.sqlite", "queue.sqlite-wal", "queue.sqlite-shm"}
        assert {f.name: stat_mod.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}
        journal.close()
    finally:
        os.umask(old)
