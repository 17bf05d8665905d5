"""Observed service times per procedure, which the wait estimates are built on.

A site's typical minutes are a guess; what counters actually take is measured at
every completion. The mean of the last ``window`` completions replaces the guess
once there are at least ``MIN_SAMPLES`` of them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

MIN_SAMPLES = 3


class ServiceTimes:
    def __init__(self, typical_minutes: Mapping[str, float], window: int) -> None:
        self._typical = dict(typical_minutes)
        self._window = window
        self._samples: dict[str, deque[float]] = {}

    def observe(self, procedure: str, minutes: float) -> None:
        if procedure not in self._typical or minutes < 0:
            return
        self._samples.setdefault(procedure, deque(maxlen=self._window)).append(minutes)

    def minutes(self, procedure: str) -> float:
        samples = self._samples.get(procedure)
        if samples and len(samples) >= MIN_SAMPLES:
            return sum(samples) / len(samples)
        return self._typical.get(procedure, 10.0)

    def observed(self, procedure: str) -> int:
        return len(self._samples.get(procedure, ()))
