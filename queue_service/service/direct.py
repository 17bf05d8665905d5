"""Commands to a :class:`QueueCore` in the same process, without a broker.

The simulated office day and the history tests drive the real service core this way: the
same validation, engine, journal and replies as over MQTT, with a clock they control, and no
network in between. Not used by the appliances.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from kiosk.bus.contract import REVISION, Topics
from queue_service.service.core import Inbound, QueueCore


class CommandRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class DirectClient:
    def __init__(self, core: QueueCore, rev: int = REVISION) -> None:
        """``rev``: the contract revision this client speaks (the replies hold only its fields)."""
        self.core = core
        self.rev = rev
        self.topics = Topics(core.site.site.id)

    def request(self, device: str, verb: str, args: dict[str, Any]) -> dict[str, Any]:
        """Send one command as ``device``; returns the reply's result or raises CommandRejected."""
        cmd_id = str(uuid.uuid4())
        payload = json.dumps({"id": cmd_id, "device": device, "args": args, "rev": self.rev}).encode()
        out = self.core.process([Inbound(self.topics.command(verb), payload)])
        reply_topic = self.topics.reply(device)
        for message in out:
            if message.topic == reply_topic:
                reply = json.loads(message.payload)
                if reply.get("id") == cmd_id:
                    if not reply["ok"]:
                        raise CommandRejected(reply["error"]["code"], reply["error"]["message"])
                    return reply["result"]
        raise CommandRejected("no_reply", f"{verb}: the core sent no reply")
