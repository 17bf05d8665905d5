"""The bus behind TLS, end to end: Mosquitto runs the configuration `madoguchi provision` wrote (TLS listener
plus plain loopback), the queue service is its own process, and devices connect with nothing but their
bundles (device.toml, ca.crt, password) and verify the broker's certificate: chain, name and dates."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from images import pki
from images.provision import main as provision
from kiosk.bus.client import Bus, BusSettings, BusUnavailable, CommandRefused
from kiosk.bus.schemas import CalledEvent
from kiosk.config import Site
from kiosk.config.device import load_device
from madoguchi.local import ROOT, free_port, stop_process, wait_for_port, wait_healthy
from tests.conftest import EXAMPLE_SITE
from tests.harness import Watcher

pytestmark = pytest.mark.broker

DEVICES_TOML = """\
[[device]]
id = "kiosk-1f"
role = "ticket"
printer = "tcp://10.0.0.31:9100"

[[device]]
id = "panel-c01"
role = "panel"
counter = "c01"

[[device]]
id = "panel-c02"
role = "panel"
counter = "c02"

[[device]]
id = "board-1f"
role = "board"
floors = [1]

[[device]]
id = "register-1f"
role = "register"
cash_changer = "cctalk:/dev/ttyUSB0"
payments_journal = "/data/payments.sqlite"
"""


# ---------------------------------------------------------------- helpers (also used by test_provision)
@dataclass
class Provisioned:
    """A site provisioned into ``tmp/provision`` with the broker on free loopback ports."""

    tmp: Path
    site: Site
    devices: Path
    tls_port: int
    plain_port: int
    out: Path = field(init=False)

    def __post_init__(self) -> None:
        self.out = self.tmp / "provision"

    @property
    def root(self) -> Path:
        return self.out / self.site.site.id

    def run(self, *argv: str) -> int:
        common = ["--site", str(EXAMPLE_SITE), "--out", str(self.out)]
        return provision([argv[0], *common, *argv[1:]])

    def bundle(self, device: str) -> Path:
        return self.root / "bundles" / device

    def password(self, device: str) -> str:
        return (self.root / "secrets" / f"{device}.password").read_text().strip()

    def settings(self, device: str, bundle: Path | None = None, **kw) -> BusSettings:
        """The device's bus settings from its bundle alone, as the appliance app builds them."""
        cfg = load_device((bundle or self.bundle(device)) / "device.toml")
        values = dict(
            site=self.site.site.id,
            device=cfg.device,
            role=self.site.device_by_id[device].role,
            password=cfg.broker.password_file.read_text().strip(),
            host=cfg.broker.host,
            port=cfg.broker.port,
            cafile=str(cfg.broker.cafile),
        )
        values.update(kw)
        return BusSettings(**values)


def provision_site(tmp: Path, site: Site, devices_toml: str = DEVICES_TOML, *extra: str) -> Provisioned:
    devices = tmp / "devices.toml"
    devices.write_text(devices_toml, encoding="utf-8")
    p = Provisioned(tmp, site, devices, free_port(), free_port())
    argv = ["init", "--devices", str(devices), "--broker-host", "127.0.0.1"]
    argv += ["--tls-port", str(p.tls_port), "--plain-port", str(p.plain_port), *extra]
    if os.geteuid() == 0:
        argv.append("--run-as-root")  # Mosquitto would drop to its own user, which cannot read tmp_path
    assert p.run(*argv) == 0
    return p


@dataclass
class RunningBroker:
    conf: Path
    log: Path
    ports: tuple[int, ...]
    proc: subprocess.Popen | None = None

    def start(self) -> RunningBroker:
        mosquitto = "/usr/sbin/mosquitto"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([mosquitto, "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT)
        for port in self.ports:
            wait_for_port(port, proc=self.proc)
        return self

    def reload(self) -> None:
        """SIGHUP: Mosquitto reads the password file and the ACL again (what `systemctl reload` does).

        It logs nothing at our log levels; callers wait for the effect they expect (:func:`eventually`).
        """
        assert self.proc is not None
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=5)
            self.proc = None


def start_provisioned_broker(p: Provisioned) -> RunningBroker:
    conf = p.root / "broker" / "mosquitto.conf"
    return RunningBroker(conf, p.tmp / "mosquitto.log", (p.tls_port, p.plain_port)).start()


def eventually(predicate, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``predicate`` until it holds (bounded): for effects that have no event to wait on."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


def connack(settings: BusSettings, timeout: float = 5.0) -> mqtt.ReasonCode:
    """Connect once with exactly the client a device uses (TLS, credentials) and return the CONNACK's reason."""
    client = Bus(settings).client
    got: list[mqtt.ReasonCode] = []
    client.on_connect = lambda c, u, f, reason, p: got.append(reason)
    client.connect(settings.host, settings.port)
    try:
        deadline = time.monotonic() + timeout
        while not got and time.monotonic() < deadline:
            client.loop(timeout=0.1)
    finally:
        client.disconnect()
    assert got, "no CONNACK"
    return got[0]


# ---------------------------------------------------------------- fixtures
@pytest.fixture
def stack(tmp_path, site):
    p = provision_site(tmp_path, site)
    broker = start_provisioned_broker(p)
    yield p, broker
    broker.stop()


@pytest.fixture
def service(stack, tmp_path):
    """The queue service as its own process, on the broker's loopback listener, with its provisioned password."""
    p, _broker = stack
    http = free_port()
    cmd = [
        sys.executable, "-m", "madoguchi", "service",
        "--site", str(EXAMPLE_SITE), "--state", str(tmp_path / "state"),
        "--broker", f"127.0.0.1:{p.plain_port}", "--http", f"127.0.0.1:{http}",
        "--password-file", str(p.root / "secrets" / "queue-service.password"),
    ]  # fmt: skip
    (tmp_path / "state").mkdir()
    with open(tmp_path / "service.log", "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_healthy(http, [proc])
        yield proc
    finally:
        stop_process(proc)


@pytest.fixture
def devices(stack):
    """``devices("kiosk-1f")`` → a Bus connected over TLS with that device's bundle; stopped at teardown."""
    p, _broker = stack
    started: list[Bus] = []

    def connect(device: str, **kw) -> Bus:
        bus = Bus(p.settings(device, **kw)).start(wait=10)
        started.append(bus)
        return bus

    yield connect
    for bus in started:
        bus.stop()


# ---------------------------------------------------------------- tests
def test_bundles_point_at_the_tls_listener(stack):
    p, _broker = stack
    s = p.settings("kiosk-1f")
    assert (s.host, s.port) == ("127.0.0.1", p.tls_port) and s.cafile.endswith("ca.crt")
    conf = (p.root / "broker" / "mosquitto.conf").read_text()
    assert f"listener {p.plain_port} 127.0.0.1\n\n" in conf, "the plain listener is loopback only"
    assert f"listener {p.tls_port} 127.0.0.1\ncafile " in conf


def test_a_ticket_is_issued_and_called_over_tls(stack, service, devices):
    kiosk, panel, board = devices("kiosk-1f"), devices("panel-c01"), devices("board-1f")
    for bus in (kiosk, panel, board):
        assert isinstance(bus.client.socket(), ssl.SSLSocket), "the device talks TLS"
        assert bus.client.socket().version() in ("TLSv1.2", "TLSv1.3")
    calls = Watcher(board, board.topics.called_event, CalledEvent)
    ticket = kiosk.request("issue", {"procedures": ["tennyu"], "lang": "ja"})["ticket"]
    panel.request("open_counter", {"counter": "c01"})
    called = panel.request("call_next", {"counter": "c01"})["ticket"]
    assert called["id"] == ticket["id"]
    calls.wait_for(lambda w: [(e.number, e.counter) for _, e in w.messages] == [(ticket["number"], "c01")])
    # the ACL the provisioning wrote holds over TLS too: a kiosk cannot call
    with pytest.raises(CommandRefused):
        kiosk.request("call_next", {"counter": "c01"}, timeout=3, attempts=1)


def test_wrong_passwords_are_refused_on_both_listeners(stack):
    p, _broker = stack
    bad = p.settings("kiosk-1f", password="not-the-password")
    assert connack(bad).is_failure
    plain = p.settings("kiosk-1f", port=p.plain_port, cafile=None, password="")
    assert connack(plain).is_failure


def test_a_retired_device_is_refused(stack, devices):
    p, broker = stack
    partition = shutil.copytree(p.bundle("panel-c02"), p.tmp / "boot-partition")  # stays on the retired device
    settings = p.settings("panel-c02", bundle=partition)
    assert not connack(settings).is_failure
    live = devices("panel-c02")
    dropped = threading.Event()
    live.on_connection(lambda up: None if up else dropped.set())

    assert p.run("retire", "panel-c02") == 0
    broker.reload()
    eventually(lambda: connack(settings).is_failure, what="the retired password refused")
    reason = connack(settings)
    assert reason.is_failure and reason.getName() in ("Not authorized", "Bad user name or password")
    assert dropped.wait(10), "Mosquitto dropped the retired device's open connection on reload"
    assert not live.connected.wait(2), "and does not let it back in"
    assert not connack(p.settings("panel-c01")).is_failure, "the other devices are not affected"


def test_a_replaced_devices_old_password_is_refused(stack, service, devices):
    p, broker = stack
    old = p.settings("kiosk-1f")
    assert p.run("replace", "--devices", str(p.devices), "kiosk-1f") == 0
    broker.reload()
    eventually(lambda: connack(old).is_failure, what="the old password refused")
    new = p.settings("kiosk-1f")
    assert new.password != old.password
    assert connack(old).getName() in ("Not authorized", "Bad user name or password")
    kiosk = devices("kiosk-1f")
    assert kiosk.request("issue", {"procedures": ["tennyu"]})["ticket"]["number"] == 1


def _swap_broker_cert(p: Provisioned, broker: RunningBroker, key, cert) -> None:
    broker.stop()
    (p.root / "broker" / "server.key").write_bytes(pki.key_pem(key))
    (p.root / "broker" / "server.crt").write_bytes(pki.cert_pem(cert))
    broker.start()


def test_an_expired_broker_certificate_is_refused(stack):
    p, broker = stack
    ca_key, ca_cert = pki.load_key(p.root / "ca" / "ca.key"), pki.load_cert(p.root / "ca" / "ca.crt")
    now = dt.datetime.now(dt.UTC)
    key, cert = pki.new_server_cert(
        ca_key, ca_cert, ["127.0.0.1"], not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=1)
    )
    _swap_broker_cert(p, broker, key, cert)
    settings = p.settings("kiosk-1f")
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate has expired"):
        connack(settings)
    with pytest.raises(BusUnavailable):
        Bus(settings).start(wait=2).stop()


def test_a_broker_certificate_from_another_ca_is_refused(stack, tmp_path, site):
    p, broker = stack
    other_key, other_ca = pki.new_ca(site.site.id)  # same site name, not this site's CA
    key, cert = pki.new_server_cert(other_key, other_ca, ["127.0.0.1"])
    _swap_broker_cert(p, broker, key, cert)
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer certificate"):
        connack(p.settings("kiosk-1f"))


def test_the_brokers_name_is_verified(stack):
    """The certificate names 127.0.0.1 only: the same broker reached as "localhost" is not trusted."""
    p, _broker = stack
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        connack(p.settings("kiosk-1f", host="localhost"))


def test_a_device_without_the_ca_cannot_reach_the_tls_listener(stack):
    p, _broker = stack
    system_cas = p.settings("kiosk-1f", cafile=None)
    client = Bus(system_cas).client
    client.tls_set(tls_version=ssl.PROTOCOL_TLS_CLIENT)  # the system's CAs, not the site's
    with pytest.raises(ssl.SSLCertVerificationError):
        client.connect(system_cas.host, system_cas.port)


def test_a_panel_cannot_use_another_devices_reply_topic(stack, service, devices):
    p, _broker = stack
    spy, kiosk = devices("panel-c01"), devices("kiosk-1f")
    seen = []
    spy.subscribe(spy.topics.reply("kiosk-1f"), seen.append)
    ticket = kiosk.request("issue", {"procedures": ["tennyu"]})["ticket"]
    spy.request("open_counter", {"counter": "c01"})  # a round trip on its own topic: delivery had its chance
    assert ticket["token"] and seen == []
    forged = b'{"id": "00000000-0000-4000-8000-000000000000", "ok": true, "result": {}}'
    assert spy.publish_confirmed(spy.topics.reply("kiosk-1f"), forged) is False
    assert spy.publish_confirmed(spy.topics.reply("panel-c01"), forged) is False, "nor its own: only the service"
