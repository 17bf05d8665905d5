"""The worker's timings on /healthz: what a technician reads to tell a slow disk from a long queue."""

from __future__ import annotations

from queue_service.service.timings import KEPT, Timings


def test_timings_summarise_the_kept_batches_and_state_passes():
    timings = Timings()
    assert timings.summary()["batch_p50_ms"] is None, "nothing measured yet: no number"
    for i in range(100):
        timings.batch(1 + i % 3, (i + 1) / 1000, 0.0002)
    timings.state(0.004)
    s = timings.summary()
    assert s["batches"] == 100 and s["commands_per_batch"] == 1.99
    assert s["batch_p50_ms"] == 51.0 and s["batch_p99_ms"] == 100.0
    assert s["journal_p50_ms"] == 0.2 and s["state_passes"] == 1 and s["state_p99_ms"] == 4.0


def test_only_the_recent_samples_are_kept():
    timings = Timings()
    for _ in range(KEPT + 10):
        timings.batch(1, 0.001, 0.0)
    assert timings.summary()["batches"] == KEPT
