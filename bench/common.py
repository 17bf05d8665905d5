"""What the queue benchmarks share: the local stack they run on, the workload they issue, percentiles.

``bench.queue_service`` (throughput and round trips) and ``bench.call_path`` (what a person sees on the board)
drive the same real parts the same way, so their numbers can be read side by side.
"""

from __future__ import annotations

import random
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from kiosk.bus.contract import Role
from kiosk.config import load_site
from kiosk.config.site import Site
from madoguchi.local import (
    ROOT,
    LocalBroker,
    free_port,
    start_broker,
    start_service_process,
    stop_process,
    wait_healthy,
)

EXAMPLE_SITE = ROOT / "sites" / "example" / "site.toml"


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0-1) of ``values``: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def panel_counters(site: Site) -> dict[str, str]:
    """Counters that have a call panel of their own → that panel's device id."""
    return {d.counters[0]: d.id for d in site.devices if d.role is Role.PANEL and len(d.counters) == 1}


def workload(site: Site, counters: list[str], tickets: int, seed: int) -> list[list[str]]:
    """Random visits of one to three procedures, all servable at the open counters and nothing else: no payment
    the self register closes, no later delivery waiting for the back office."""
    served_groups = {g for c in counters for g in site.counter_by_id[c].groups}
    candidates = [
        p.id for p in site.procedures if p.group in served_groups and p.routing != "register" and p.delivery != "later"
    ]
    rng = random.Random(seed)
    return [rng.sample(candidates, min(len(candidates), rng.choice((1, 1, 2, 3)))) for _ in range(tickets)]


@dataclass
class Stack:
    """Mosquitto from the site's generated config, then (when asked) the queue service as its own process."""

    site: Site
    site_path: Path
    broker: LocalBroker
    http_port: int
    service: subprocess.Popen | None = None

    def start_service(self) -> dict:
        """Start the queue service exactly as ``madoguchi service`` runs it; returns its first /healthz."""
        self.service = start_service_process(self.broker, self.site_path, self.http_port)
        return self.health()

    def health(self) -> dict:
        assert self.service is not None
        return wait_healthy(self.http_port, [self.broker.proc, self.service])


@contextmanager
def local_stack(site_path: Path, state: Path, service: bool = True) -> Iterator[Stack]:
    """The broker (and the service unless ``service=False``: the caller starts it later, e.g. after measuring the
    broker alone); both are stopped whatever ends the run."""
    site = load_site(site_path)
    broker = start_broker(site, state)
    stack = Stack(site, site_path, broker, free_port())
    try:
        if service:
            stack.start_service()
        yield stack
    finally:
        if stack.service is not None:
            stop_process(stack.service)
        broker.stop()
