"""The anonymous form counts (``record_forms``: form ids and a language) the form issuer and the counter desk send
for the KPIs, kept in order until the queue service has them: a count refused for good is dropped, one that
could not be sent waits for the service to come back."""

from __future__ import annotations

import logging
from typing import Any

from kiosk.bus.client import BusError, CommandFailed, CommandRefused

log = logging.getLogger(__name__)


class FormCountsOutbox:
    """Mixed into an app that has ``link`` (its bus link, or None), ``pending_counts`` (a list) and ``reader_ok``."""

    link: Any
    pending_counts: list[dict]
    reader_ok: bool
    in_service: bool

    def _update_service(self, *_a) -> None:
        """In service = able to read cards and print (the queue service is not needed for that); the counts waiting
        go out whenever the broker and the queue service are there."""
        self.in_service = self.reader_ok
        if self.link is not None and self.link.broker_up and self.link.service_up:
            self._send_counts()

    def _queue_count(self, args: dict) -> None:
        self.pending_counts.append(args)
        self._send_counts()

    def _send_counts(self) -> None:
        if self.link is None or not self.pending_counts:
            return
        args = self.pending_counts[0]

        def ok(_result) -> None:
            if self.pending_counts and self.pending_counts[0] is args:
                self.pending_counts.pop(0)
                self._send_counts()

        def failed(exc: BusError) -> None:
            if isinstance(exc, CommandFailed | CommandRefused):  # refused for good: sending again cannot help
                log.warning("form counts dropped: %s %s", exc.code, exc)
                if self.pending_counts and self.pending_counts[0] is args:
                    self.pending_counts.pop(0)
                    self._send_counts()
            else:
                log.info("form counts kept for later (%s)", exc.code)

        self.link.request("record_forms", args, ok, failed)
