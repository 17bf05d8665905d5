"""What the core publishes for a batch: the board's state first, and every call of the batch on a board.

The board keeps the last ``recent_calls`` calls. Thirty panels pressing "call next" together make one batch of
thirty calls; one board state at the end of it shows only the last eight, and the others would chime without
ever being shown (found by bench/call_path.py). The core publishes the board's state again each time the batch's
calls would push one of its own off.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

from kiosk.bus.schemas import BoardState
from kiosk.config import load_site
from queue_service.service.core import Inbound, QueueCore
from queue_service.service.journal import Journal
from tests.conftest import EXAMPLE_SITE
from tests.desk import JST, KIOSK, PANEL

SITE = load_site(EXAMPLE_SITE)


def command(core: QueueCore, verb: str, device: str, **args) -> Inbound:
    payload = {"id": str(uuid.uuid4()), "device": device, "args": args, "rev": 2}
    return Inbound(core.topics.command(verb), json.dumps(payload).encode())


def test_a_batch_of_more_calls_than_the_board_holds_shows_every_call(tmp_path):
    core = QueueCore(SITE, Journal(tmp_path / "q.sqlite"), clock=lambda: datetime(2026, 12, 4, 9, tzinfo=JST))
    core.process([command(core, "issue", KIOSK, procedures=["juminhyo"]) for _ in range(30)])
    counters = [c.id for c in SITE.counters if "shomei" in c.groups and c.group != SITE.booth_group]
    core.process([command(core, "open_counter", PANEL, counter=c) for c in counters])
    assert len(counters) >= 2
    rounds = 6
    # a counter calls the next only after completing: one batch of call_next, complete, call_next...
    batch = []
    for _ in range(rounds):
        for c in counters[:2]:
            batch += [command(core, "call_next", PANEL, counter=c), command(core, "complete", PANEL, counter=c)]
    out = core.handle(batch)
    called = [json.loads(m.payload)["number"] for m in out if m.topic == core.topics.called_event]
    assert len(called) == 2 * rounds > SITE.queue.recent_calls
    boards = [BoardState.model_validate_json(m.payload) for m in out if m.topic == core.topics.board_state]
    assert len(boards) >= 2 and all(m.retain for m in out if m.topic == core.topics.board_state)
    shown = {call.number for board in boards for call in board.recent}
    assert set(called) <= shown, f"called but never on a board: {set(called) - shown}"
    first = next(i for i, m in enumerate(out) if m.topic == core.topics.board_state)
    assert first == 0, "the board's state goes out first"


def test_a_batch_of_few_calls_publishes_one_board_state(tmp_path):
    core = QueueCore(SITE, Journal(tmp_path / "q.sqlite"), clock=lambda: datetime(2026, 12, 4, 9, tzinfo=JST))
    core.process([command(core, "issue", KIOSK, procedures=["juminhyo"]) for _ in range(3)])
    core.process([command(core, "open_counter", PANEL, counter="c07")])
    out = core.handle([command(core, "call_next", PANEL, counter="c07")])
    assert [m.topic for m in out].count(core.topics.board_state) == 1


def test_only_the_replies_a_resident_reads_carry_the_estimate(tmp_path):
    """The printed ticket's estimate is made for ``issue`` and ``reprint``; a panel's reply on the way to the board
    makes no forecast (its ticket's estimate is null; staff read the groups' retained waits)."""
    core = QueueCore(SITE, Journal(tmp_path / "q.sqlite"), clock=lambda: datetime(2026, 12, 4, 9, tzinfo=JST))
    core.process([command(core, "open_counter", PANEL, counter="c01")])
    issued = [reply(core, command(core, "issue", KIOSK, procedures=["tennyu", "kokuho_kanyu"])) for _ in range(2)]
    assert all(r["result"]["ticket"]["est_wait_min"] is not None for r in issued)
    assert issued[1]["result"]["ticket"]["est_wait_range"] is not None
    reprinted = reply(core, command(core, "reprint", KIOSK, ticket=issued[1]["result"]["ticket"]["id"]))
    assert reprinted["result"]["ticket"]["est_wait_min"] is not None
    reply(core, command(core, "call_next", PANEL, counter="c01"))
    completed = reply(core, command(core, "complete", PANEL, counter="c01"))
    assert completed["result"]["ticket"]["status"] == "waiting", "kokuho is still to come"
    assert completed["result"]["ticket"]["est_wait_min"] is None


def reply(core: QueueCore, inbound: Inbound) -> dict:
    device = json.loads(inbound.payload)["device"]
    out = core.process([inbound])
    return json.loads(next(m.payload for m in out if m.topic == core.topics.reply(device)))
