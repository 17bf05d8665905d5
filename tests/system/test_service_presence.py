"""The queue service keeps taking commands however many presence messages the devices send.

The service receives with manual acknowledgement (a command is acknowledged once journaled). Presence messages
arrive on the same session: left unacknowledged, the broker's in-flight window (20 messages) filled with them
and no command reached the service any more, which a site of 26 devices did on its first morning (found by
bench/call_path.py with 50 devices).
"""

from __future__ import annotations

import time

from kiosk.bus.contract import ROLES_WITH_PRESENCE, Role


def test_commands_still_arrive_after_more_presence_messages_than_the_in_flight_window(site, service, devices):
    others = [d.id for d in site.devices if d.role in ROLES_WITH_PRESENCE and d.role is not Role.SERVICE]
    connected = [devices(device) for device in others]  # every device announces itself (retained, QoS 1)
    for round_ in range(3):  # and its faults come and go
        for bus in connected[:8]:
            bus.set_faults(["paper_near_end"] if round_ % 2 == 0 else [])
    sent = len(connected) + 3 * 8
    assert sent > 40, "more presence messages than Mosquitto's in-flight window of 20"
    deadline = time.monotonic() + 10
    while len(service.devices) < len(connected) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(service.devices) == set(others), set(others) - set(service.devices)
    kiosk = next(b for b in connected if b.settings.role is Role.TICKET)
    ticket = kiosk.request("issue", {"procedures": ["juminhyo"]}, timeout=5)["ticket"]
    assert ticket["number"] == 1
    # the worker records a batch once its messages are out (the reply may arrive first); state passes ran since the
    # connection (the retained state is republished)
    deadline = time.monotonic() + 5
    while service.health()["timings"]["batches"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    timings = service.health()["timings"]
    assert timings["batches"] >= 1 and timings["journal_p50_ms"] is not None and timings["state_passes"] >= 1, timings
