from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from kiosk.config import load_site
from tests.artifacts_dir import TEST_ARTIFACTS as ARTIFACTS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SITE = ROOT / "sites" / "example" / "site.toml"

#: Fixtures that start real parts (Mosquitto, the queue service, Xvfb, pcscd): a test using one is a system test.
SYSTEM_FIXTURES = {"broker", "devices", "service", "display", "pcsc", "card_on_reader"}


def pytest_collection_modifyitems(config, items) -> None:
    """Mark system tests (``-m "not system"`` runs the unit tests alone, in seconds): everything under
    tests/system/, and any test that uses a fixture starting a broker, a display or pcscd, or is marked broker."""
    system = pytest.mark.system
    for item in items:
        in_system = "system" in Path(str(item.fspath)).relative_to(ROOT / "tests").parts[:1]
        uses = SYSTEM_FIXTURES & set(getattr(item, "fixturenames", ()))
        if in_system or uses or item.get_closest_marker("broker"):
            item.add_marker(system)


def artifact_folder(request, kind: str) -> Path:
    """A fresh folder for this test's artifacts under build/test-artifacts/<kind>/ (kept after the run, to look at)."""
    folder = ARTIFACTS / kind / re.sub(r"[^\w.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def site():
    return load_site(EXAMPLE_SITE)


@pytest.fixture
def broker(site, tmp_path):
    from tests.harness import start_broker

    running = start_broker(site, tmp_path)
    yield running
    running.stop()


@pytest.fixture
def devices(broker):
    """``devices("kiosk-1f")`` → a connected Bus for that device; all stopped at teardown."""
    started = []

    def connect(device: str, **kw):
        bus = broker.bus(device, **kw)
        started.append(bus)
        return bus

    yield connect
    for bus in started:
        bus.stop()


@pytest.fixture
def service(site, broker, tmp_path):
    """The queue service in this process, on the real broker, journaling to tmp_path."""
    from kiosk.bus.client import BusSettings
    from kiosk.bus.contract import Role
    from queue_service.service.app import QueueService

    settings = BusSettings(
        site.site.id, "queue-service", Role.SERVICE, broker.password("queue-service"), "127.0.0.1", broker.port
    )
    svc = QueueService(site, tmp_path / "queue.sqlite", settings, http=None, tick_seconds=3600)
    svc.start()
    yield svc
    svc.stop()


def _screen(width: int = 1280, height: int = 800):
    from madoguchi.local import start_xvfb

    proc, name = start_xvfb(width, height)
    yield name
    proc.kill()
    proc.wait()


@pytest.fixture(scope="session")
def display():
    """One Xvfb screen for every UI test of the run."""
    yield from _screen()


@pytest.fixture(scope="session")
def big_display():
    """A second virtual screen, for 1920×1080 windows (the large call board, a 15.6-inch kiosk)."""
    yield from _screen(1920, 1080)


@pytest.fixture(scope="session")
def pcsc(tmp_path_factory):
    """pcscd + vpcd for the whole run (one pcscd per machine); cards are held per test."""
    from devkit.pcscd import PcscdUnavailable
    from tests.cards import start_pcsc_stack

    try:
        stack = start_pcsc_stack(tmp_path_factory.mktemp("pcscd"))
    except PcscdUnavailable as exc:
        if os.geteuid() == 0:
            raise  # CI and technicians run as root: there, a pcscd that cannot start is a failure
        pytest.skip(f"the PC/SC tests start their own pcscd, which needs root ({exc}); CI runs them as root")
    yield stack
    stack.take_away()
    stack.daemon.stop()


@pytest.fixture
def card_on_reader(pcsc):
    """``card_on_reader("yamada")`` holds that resident's fresh card; taken away after the test."""
    yield lambda resident, **kw: pcsc.hold(pcsc.card(resident), **kw)
    pcsc.take_away()
