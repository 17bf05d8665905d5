"""Observed service times per procedure, which the wait estimates are built on.

A site's typical minutes are a guess; what counters actually take is measured at
every completion. The mean of the last ``window`` completions replaces the guess
once there are at least ``MIN_SAMPLES`` of them.

The spread of those samples is kept too (:meth:`ServiceTimes.variance`): the wait estimator's range
(docs/wait-estimate.md) widens with it. A handful of samples says little about a spread, so the observed
variance is blended with a prior one (``PRIOR_CV`` of the mean) weighted as ``PRIOR_WEIGHT`` samples.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

MIN_SAMPLES = 3
#: Coefficient of variation assumed before the day has shown one (counter work is skewed: a few long cases).
PRIOR_CV = 0.6
#: How many samples the prior spread counts as when blended with the observed one.
PRIOR_WEIGHT = 5
#: The forecast's memory (:meth:`ServiceTimes.expected`): this many times the site's window, per procedure.
MEMORY_FACTOR = 10


class ServiceTimes:
    def __init__(self, typical_minutes: Mapping[str, float], window: int) -> None:
        self._typical = dict(typical_minutes)
        self._window = window
        #: samples per procedure kept for :meth:`expected` (the service's replay can feed this many from the
        #: journal: ``journal.samples_before(day, times.memory)``)
        self.memory = window * MEMORY_FACTOR
        self._samples: dict[str, deque[float]] = {}
        self._memory: dict[str, deque[float]] = {}
        self._expected: dict[str, float] = {}

    def observe(self, procedure: str, minutes: float) -> None:
        if procedure not in self._typical or minutes < 0:
            return
        self._samples.setdefault(procedure, deque(maxlen=self._window)).append(minutes)
        self._memory.setdefault(procedure, deque(maxlen=self.memory)).append(minutes)
        self._expected.pop(procedure, None)

    def expected(self, procedure: str) -> float:
        """The mean over the longer memory (``memory`` samples), which the wait forecast plays the queue with.

        Twenty samples of a service with a CV of 0.5 move their mean by ±11 % (one standard error) and a few long
        cases by much more (転入届's moved between −13 % and +44 % of its true mean through a simulated day):
        every service ahead in the forecast shares that error. The memory's mean is steadier; the recent
        :meth:`minutes` stay what other users (the old estimate, the staff's views) read."""
        known = self._expected.get(procedure)
        if known is None:
            memory = self._memory.get(procedure, ())
            enough = len(memory) >= MIN_SAMPLES
            known = self._expected[procedure] = sum(memory) / len(memory) if enough else self.minutes(procedure)
        return known

    def minutes(self, procedure: str) -> float:
        samples = self._samples.get(procedure)
        if samples and len(samples) >= MIN_SAMPLES:
            return sum(samples) / len(samples)
        return self._typical.get(procedure, 10.0)

    def variance(self, procedure: str) -> float:
        """The variance of one service of ``procedure`` (minutes²): the observed one shrunk towards the prior."""
        mean = self.minutes(procedure)
        prior = (PRIOR_CV * mean) ** 2
        samples = self._samples.get(procedure)
        if not samples or len(samples) < MIN_SAMPLES:
            return prior
        n = len(samples)
        observed = sum((x - mean) ** 2 for x in samples) / (n - 1)
        return (observed * (n - 1) + prior * PRIOR_WEIGHT) / (n - 1 + PRIOR_WEIGHT)

    def observed(self, procedure: str) -> int:
        return len(self._samples.get(procedure, ()))
