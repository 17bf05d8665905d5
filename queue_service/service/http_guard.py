"""Keep the queue service's web pages answering under connection floods (uvicorn's h11 protocol, guarded).

uvicorn has no timeout for a request head and no cap on connections: ~1,030 idle TCP connections (the
open-file limit of a systemd unit is 1,024 by default) or 300 clients sending one header line every 10 s
made /healthz and every page time out for as long as they stayed. Here each connection must deliver a
complete request head within ``header_timeout`` seconds (again after each response on a kept-alive
connection); a connection beyond ``max_per_address`` from one address is closed at once, and beyond
``max_connections`` in total the one that has waited longest without a request head makes room (so a
flood of idle sockets from many addresses cannot lock out a resident or the monitoring).
The unit raises ``LimitNOFILE`` well above ``max_connections``.
"""

from __future__ import annotations

import asyncio
import resource
from collections import Counter
from dataclasses import dataclass, field

from uvicorn.protocols.http.h11_impl import H11Protocol


def default_max_connections(ceiling: int = 2000, spare: int = 128) -> int:
    """2,000, or fewer when the process may open fewer files (``spare`` left for the journal, the broker
    link, logs): under systemd's default 1,024 a flood must hit this cap, not the descriptor limit."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return ceiling
    return max(16, min(ceiling, soft - spare))


@dataclass(frozen=True)
class ConnectionLimits:
    #: Seconds a connection may take to send a whole request head (slowloris ends here).
    header_timeout: float = 10.0
    #: Open connections in total (live-update streams included); kept under the open-file limit.
    max_connections: int = field(default_factory=default_max_connections)
    #: Open connections from one address: a tablet, a browser or an office proxy stays far below it.
    max_per_address: int = 200


def guarded_protocol(limits: ConnectionLimits) -> type[H11Protocol]:
    """An H11Protocol class (uvicorn's ``http=``) enforcing ``limits`` for one server."""
    per_address: Counter[str] = Counter()

    class GuardedH11Protocol(H11Protocol):
        _head_timer: asyncio.TimerHandle | None = None
        _address = ""
        _since = 0.0

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._address = self.client[0] if self.client else "unknown"
            self._since = self.loop.time()
            per_address[self._address] += 1
            if per_address[self._address] > limits.max_per_address:
                self.logger.warning("refused a connection from %s: too many from that address", self._address)
                transport.abort()
                return
            if len(self.connections) > limits.max_connections and not self._evict_an_idle_one():
                self.logger.warning("refused a connection from %s: too many open connections", self._address)
                transport.abort()
                return
            self._wait_for_head()

        def _evict_an_idle_one(self) -> bool:
            """Full: close the connection that has waited longest without sending a request head (an idle or
            slow one), so that someone with a request (a resident, the monitoring) gets in."""
            idle = [
                c
                for c in self.connections
                if isinstance(c, GuardedH11Protocol) and c is not self and c._head_timer is not None
            ]
            if not idle:
                return False
            oldest = min(idle, key=lambda c: c._since)
            oldest._cancel_head_timer()
            oldest.transport.abort()
            return True

        def _wait_for_head(self) -> None:
            self._cancel_head_timer()
            self._head_timer = self.loop.call_later(limits.header_timeout, self._head_timed_out)

        def _head_timed_out(self) -> None:
            self._head_timer = None
            if self.cycle is None or self.cycle.response_complete:  # no request being answered: no head came
                self.transport.close()

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._wait_for_head()  # a kept-alive connection: the next head has the same deadline

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            per_address[self._address] -= 1
            if per_address[self._address] <= 0:
                del per_address[self._address]
            super().connection_lost(exc)

    return GuardedH11Protocol
