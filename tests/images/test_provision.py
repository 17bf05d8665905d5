"""`madoguchi provision`: the files it writes, their permissions, what add/replace/retire touch (and what not),
the device list's checks, and the ACL and password file as a real Mosquitto enforces them."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from images import pki
from images.provision import appliance_site
from images.provision import main as provision
from kiosk.bus.client import Bus, CommandRefused
from kiosk.bus.schemas import Presence
from kiosk.config.device import load_device
from tests.conftest import EXAMPLE_SITE
from tests.system.test_tls_stack import DEVICES_TOML, connack, eventually, provision_site, start_provisioned_broker

FORMS_DEVICE = """
[[device]]
id = "forms-1f"
role = "forms"
form_printer = "cups:A4"
card_reader = "SCR3310"
preentry_key = "keys/preentry.key"
"""


def snapshot(root: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file under ``root``: its bytes, mode and modification time."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[str(path.relative_to(root))] = (path.read_bytes(), stat.S_IMODE(st.st_mode), st.st_mtime_ns)
    return out


def diff(before: dict, after: dict) -> tuple[set[str], set[str], set[str]]:
    """(added, removed, changed) file names; "changed" means bytes, mode or mtime."""
    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    return after.keys() - before.keys(), before.keys() - after.keys(), changed


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def passwd_lines(p) -> dict[str, str]:
    lines = (p.root / "broker" / "passwd").read_text().splitlines()
    return {line.split(":", 1)[0]: line for line in lines}


def acl_users(p) -> list[str]:
    return [
        line.split()[1] for line in (p.root / "broker" / "acl").read_text().splitlines() if line.startswith("user ")
    ]


@pytest.fixture
def prov(tmp_path, site):
    return provision_site(tmp_path, site)


# ---------------------------------------------------------------- init
def test_init_writes_the_site_folder_with_private_secrets(prov):
    root = prov.root
    assert mode(root / "ca") == mode(root / "secrets") == mode(root / "bundles") == 0o700
    for secret in ["ca/ca.key", "broker/server.key", "broker/passwd"]:
        assert mode(root / secret) == 0o600, secret
    for public in ["ca/ca.crt", "broker/server.crt", "broker/ca.crt", "broker/acl", "broker/mosquitto.conf"]:
        assert mode(root / public) == 0o644, public
    devices = ["queue-service", "kiosk-1f", "panel-c01", "panel-c02", "board-1f", "register-1f"]
    assert sorted(p.stem for p in (root / "secrets").iterdir()) == sorted(devices)
    assert all(mode(p) == 0o600 for p in (root / "secrets").iterdir())
    # one bundle per appliance (the queue service runs on the server, with secrets/queue-service.password)
    assert sorted(p.name for p in (root / "bundles").iterdir()) == sorted(devices[1:])
    for device in devices[1:]:
        bundle = prov.bundle(device)
        assert mode(bundle) == 0o700
        assert sorted(p.name for p in bundle.iterdir()) == sorted(
            ["device.toml", "site.toml", "ca.crt", f"{device}.password"]
        )
        assert mode(bundle / f"{device}.password") == 0o600
        assert (bundle / f"{device}.password").read_text().strip() == prov.password(device)
        assert (bundle / "ca.crt").read_bytes() == (root / "ca" / "ca.crt").read_bytes()
        # the site file as it is, less the staff logins (see the test below)
        assert (bundle / "site.toml").read_text(encoding="utf-8") == appliance_site(EXAMPLE_SITE.read_text("utf-8"))
    # the password file holds hashes only; the CA key is nowhere but ca/
    passwd = (root / "broker" / "passwd").read_text()
    assert sorted(passwd_lines(prov)) == sorted(devices)
    assert all(line.split(":", 1)[1].startswith("$7$") for line in passwd_lines(prov).values())
    assert not any(prov.password(d) in passwd for d in devices)
    ca_key = (root / "ca" / "ca.key").read_bytes()
    assert [p for p in root.rglob("*") if p.is_file() and p.read_bytes() == ca_key] == [root / "ca" / "ca.key"]
    assert acl_users(prov) == [d.id for d in prov.site.devices if d.id in devices]  # in the site's order


def test_bundle_device_files_are_valid_and_relative(prov):
    kiosk = load_device(prov.bundle("kiosk-1f") / "device.toml")
    bundle = prov.bundle("kiosk-1f").resolve()
    assert kiosk.device == "kiosk-1f" and kiosk.printer == "tcp://10.0.0.31:9100"
    assert kiosk.site == bundle / "site.toml"
    assert (kiosk.broker.host, kiosk.broker.port) == ("127.0.0.1", prov.tls_port)
    assert kiosk.broker.password_file == bundle / "kiosk-1f.password"
    assert kiosk.broker.cafile == bundle / "ca.crt"
    text = (prov.bundle("kiosk-1f") / "device.toml").read_text()
    assert 'role = "ticket"' in text and "/" not in text.split("[broker]")[1].replace("ca.crt", "")
    panel = load_device(prov.bundle("panel-c01") / "device.toml")
    assert panel.counter == "c01"
    board = load_device(prov.bundle("board-1f") / "device.toml")
    assert board.floors == (1,)
    register = load_device(prov.bundle("register-1f") / "device.toml")
    assert register.cash_changer == "cctalk:/dev/ttyUSB0" and register.payments_journal == Path("/data/payments.sqlite")


def test_appliance_bundles_carry_no_staff_logins_and_the_server_bundle_does(prov):
    """A public kiosk's disk (and its boot partition after firstboot) must not hold the staff password hashes."""
    from kiosk.config import load_site

    for device in ("kiosk-1f", "panel-c01", "board-1f", "register-1f"):
        text = (prov.bundle(device) / "site.toml").read_text(encoding="utf-8")
        assert "[[staff]]" not in text and "pbkdf2_sha256" not in text
        stripped = load_site(prov.bundle(device) / "site.toml")
        assert stripped.staff == () or list(stripped.staff) == []
        assert len(stripped.procedures) == len(prov.site.procedures)  # the rest is all there


def test_staff_logins_written_some_other_way_are_refused_not_shipped():
    from images.provision import ProvisionError

    assert "[[staff]]" not in appliance_site('[site]\nid = "x"\n\n[[staff]]\nid = "a"\n\n[queue]\nratio = 2\n')
    with pytest.raises(ProvisionError):
        appliance_site('staff = [{id = "a", name = "A", password = "pbkdf2_sha256$1$00$00"}]\n')


def test_the_certificates(tmp_path, site):
    p = provision_site(tmp_path, site, DEVICES_TOML, "--broker-name", "madoguchi-server.local")
    ca = pki.load_cert(p.root / "ca" / "ca.crt")
    server = pki.load_cert(p.root / "broker" / "server.crt")
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert ca.subject == ca.issuer and pki.signed_by(ca, ca)
    assert pki.signed_by(server, ca) and server.issuer == ca.subject
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH]
    )
    assert pki.cert_info(server).hosts == ("127.0.0.1", "madoguchi-server.local")
    key = pki.load_key(p.root / "broker" / "server.key")
    assert key.public_key().public_numbers() == server.public_key().public_numbers()


def test_the_broker_config_listens_with_tls_on_the_lan_and_plain_on_loopback(tmp_path, site):
    devices = tmp_path / "devices.toml"
    devices.write_text(DEVICES_TOML)
    argv = ["init", "--site", str(EXAMPLE_SITE), "--out", str(tmp_path / "out"), "--devices", str(devices)]
    argv += ["--broker-host", "10.0.0.2", "--broker-name", "madoguchi-server.local"]
    argv += ["--install-dir", "/etc/mosquitto/madoguchi"]
    assert provision(argv) == 0
    broker = tmp_path / "out" / "sakura-ward" / "broker"
    conf = (broker / "mosquitto.conf").read_text()
    d = "/etc/mosquitto/madoguchi"
    assert "allow_anonymous false" in conf and f"password_file {d}/passwd" in conf and f"acl_file {d}/acl" in conf
    assert "listener 1883 127.0.0.1\n" in conf
    assert (
        f"listener 8883 10.0.0.2\ncafile {d}/ca.crt\ncertfile {d}/server.crt\nkeyfile {d}/server.key\n"
        "tls_version tlsv1.2\n"
    ) in conf
    listeners = [line for line in conf.splitlines() if line.startswith("listener ")]
    assert listeners == ["listener 1883 127.0.0.1", "listener 8883 10.0.0.2"]
    assert "user root" not in conf
    device = load_device(tmp_path / "out" / "sakura-ward" / "bundles" / "kiosk-1f" / "device.toml")
    assert (device.broker.host, device.broker.port) == ("10.0.0.2", 8883)


def test_a_name_only_broker_needs_a_listen_address(tmp_path, capsys):
    devices = tmp_path / "devices.toml"
    devices.write_text(DEVICES_TOML)
    argv = ["init", "--site", str(EXAMPLE_SITE), "--out", str(tmp_path / "out"), "--devices", str(devices)]
    assert provision([*argv, "--broker-host", "madoguchi-server.local"]) == 2
    assert "--listen" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    assert provision([*argv, "--broker-host", "madoguchi-server.local", "--listen", "0.0.0.0"]) == 0


def test_a_forms_bundle_has_the_form_templates_and_the_preentry_key(tmp_path, site):
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "preentry.key").write_text("00" * 32 + "\n")
    p = provision_site(tmp_path, site, DEVICES_TOML + FORMS_DEVICE)
    bundle = p.bundle("forms-1f")
    device = load_device(bundle / "device.toml")
    assert device.preentry_key == bundle.resolve() / "preentry.key" and mode(bundle / "preentry.key") == 0o600
    assert device.form_printer == "cups:A4" and device.card_reader == "SCR3310"
    templates = sorted(f.name for f in (EXAMPLE_SITE.parent / "forms").iterdir())
    assert templates and sorted(f.name for f in (bundle / "forms").iterdir()) == templates


BOARD_WITH_VOICE = """
[[device]]
id = "board-2f"
role = "board"
floor = 2
voice = "voice-cache"
audio = "hdmi:0"
"""


def test_a_board_bundle_carries_the_phrase_cache_and_names_it(tmp_path, site):
    cache = tmp_path / "voice-cache"
    (cache / "ja").mkdir(parents=True)
    (cache / "manifest.json").write_text('{"rate": 24000, "pieces": {}}')
    (cache / "ja" / "0a1b.wav").write_bytes(b"RIFF....WAVE")
    p = provision_site(tmp_path, site, DEVICES_TOML + BOARD_WITH_VOICE)
    bundle = p.bundle("board-2f")
    device = load_device(bundle / "device.toml")
    assert device.voice == bundle.resolve() / "voice" and device.audio == "hdmi:0" and device.floor == 2
    assert (bundle / "voice" / "ja" / "0a1b.wav").read_bytes() == b"RIFF....WAVE"
    assert (bundle / "voice" / "manifest.json").is_file()


# ---------------------------------------------------------------- the device list
BAD_LISTS = [
    ('[[device]]\nid = "kiosk-1f"\nrole = "ticket"\ncolour = "red"\n', "unknown key"),
    ('[[device]]\nid = "kiosk-1f"\nrole = "panel"\n', "the site file says 'ticket'"),
    ('[[device]]\nid = "kiosk-9f"\nrole = "ticket"\n', "not in the site file"),
    ('[[device]]\nid = "panel-c01"\nrole = "panel"\ncash_changer = "cctalk:/dev/ttyUSB0"\n', "has no cash_changer"),
    ('[[device]]\nid = "panel-c01"\nrole = "panel"\ncounter = "c02"\n', "not one of its counters"),
    ('[[device]]\nid = "kiosk-1f"\nrole = "ticket"\nstatus_url = "http://x/"\n', "must contain {token}"),
    ('[[device]]\nid = "kiosk-1f"\nrole = "ticket"\n\n[[device]]\nid = "kiosk-1f"\nrole = "ticket"\n', "duplicate"),
    ('[[device]]\nid = "board-1f"\nrole = "board"\nfloors = [9]\n', "no counter on floor 9"),
    ('[[device]]\nid = "board-1f"\nrole = "board"\nvoice = "nowhere"\n', "is not a phrase cache"),
    ('[[devices]]\nid = "kiosk-1f"\nrole = "ticket"\n', "unknown key"),
]


@pytest.mark.parametrize(("text", "message"), BAD_LISTS)
def test_the_device_list_is_checked_before_anything_is_written(tmp_path, capsys, text, message):
    devices = tmp_path / "devices.toml"
    devices.write_text(text)
    argv = ["init", "--site", str(EXAMPLE_SITE), "--out", str(tmp_path / "out"), "--devices", str(devices)]
    assert provision([*argv, "--broker-host", "10.0.0.2"]) == 2
    err = capsys.readouterr().err
    assert message in err and str(devices) in err
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- add, replace, retire
def test_replace_touches_only_that_devices_credential(prov):
    before = snapshot(prov.root)
    old_passwd = passwd_lines(prov)
    old = prov.password("kiosk-1f")
    assert prov.run("replace", "--devices", str(prov.devices), "kiosk-1f") == 0
    added, removed, changed = diff(before, snapshot(prov.root))
    assert not added and not removed
    assert changed == {"secrets/kiosk-1f.password", "bundles/kiosk-1f/kiosk-1f.password", "broker/passwd"}
    new = prov.password("kiosk-1f")
    assert new != old and (prov.bundle("kiosk-1f") / "kiosk-1f.password").read_text().strip() == new
    lines = passwd_lines(prov)
    assert lines["kiosk-1f"] != old_passwd["kiosk-1f"]
    assert {k: v for k, v in lines.items() if k != "kiosk-1f"} == {
        k: v for k, v in old_passwd.items() if k != "kiosk-1f"
    }, "the other devices' hashes are kept byte for byte"
    assert list(lines) == list(old_passwd), "and in place"


def test_add_touches_only_the_new_device_the_passwd_and_the_acl(prov):
    before = snapshot(prov.root)
    old_passwd = passwd_lines(prov)
    prov.devices.write_text(DEVICES_TOML + '\n[[device]]\nid = "panel-c03"\nrole = "panel"\ncounter = "c03"\n')
    assert prov.run("add", "--devices", str(prov.devices), "panel-c03") == 0
    added, removed, changed = diff(before, snapshot(prov.root))
    assert not removed and changed == {"broker/passwd", "broker/acl"}
    bundle = {f"bundles/panel-c03/{f}" for f in ("device.toml", "site.toml", "ca.crt", "panel-c03.password")}
    assert added == {"secrets/panel-c03.password"} | bundle
    assert mode(prov.root / "secrets" / "panel-c03.password") == 0o600
    lines = passwd_lines(prov)
    assert {k: v for k, v in lines.items() if k != "panel-c03"} == old_passwd
    assert "panel-c03" in acl_users(prov)
    assert load_device(prov.bundle("panel-c03") / "device.toml").counter == "c03"


def test_retire_removes_the_credential_the_acl_entry_and_the_bundle(prov):
    before = snapshot(prov.root)
    old_passwd = passwd_lines(prov)
    assert prov.run("retire", "panel-c02") == 0
    added, removed, changed = diff(before, snapshot(prov.root))
    assert not added and changed == {"broker/passwd", "broker/acl"}
    assert removed == {"secrets/panel-c02.password"} | {k for k in before if k.startswith("bundles/panel-c02/")}
    assert not prov.bundle("panel-c02").exists()
    assert passwd_lines(prov) == {k: v for k, v in old_passwd.items() if k != "panel-c02"}
    assert "panel-c02" not in acl_users(prov)
    assert "panel-c02" not in (prov.root / "broker" / "acl").read_text()


def test_existing_files_keep_their_mode(prov):
    broker = prov.root / "broker"
    (broker / "passwd").chmod(0o640)  # e.g. group mosquitto on the server
    (broker / "acl").chmod(0o600)
    (prov.root / "secrets" / "kiosk-1f.password").chmod(0o400)
    prov.devices.write_text(DEVICES_TOML + '\n[[device]]\nid = "panel-c03"\nrole = "panel"\n')
    assert prov.run("replace", "--devices", str(prov.devices), "kiosk-1f") == 0
    assert prov.run("add", "--devices", str(prov.devices), "panel-c03") == 0
    assert prov.run("renew-broker-cert") == 0
    assert mode(broker / "passwd") == 0o640 and mode(broker / "acl") == 0o600
    assert mode(prov.root / "secrets" / "kiosk-1f.password") == 0o400
    assert mode(prov.root / "secrets" / "panel-c03.password") == 0o600
    assert mode(broker / "server.key") == 0o600


def test_bundle_rebuilds_bundles_with_the_same_password(prov):
    password = prov.password("kiosk-1f")
    prov.devices.write_text(DEVICES_TOML.replace("tcp://10.0.0.31:9100", "usb://0x0519:0x0003"))
    before = snapshot(prov.root)
    assert prov.run("bundle", "--devices", str(prov.devices), "kiosk-1f") == 0
    added, removed, changed = diff(before, snapshot(prov.root))
    assert (added, removed, changed) == (set(), set(), {"bundles/kiosk-1f/device.toml"})
    assert load_device(prov.bundle("kiosk-1f") / "device.toml").printer == "usb://0x0519:0x0003"
    assert prov.password("kiosk-1f") == password


def test_renew_broker_cert_keeps_the_ca_and_the_devices(prov):
    before = snapshot(prov.root)
    assert prov.run("renew-broker-cert", "--broker-name", "madoguchi-server.local") == 0
    added, removed, changed = diff(before, snapshot(prov.root))
    assert not added and not removed
    assert changed == {"broker/server.crt", "broker/server.key", "broker/provision.toml"}
    server = pki.load_cert(prov.root / "broker" / "server.crt")
    assert pki.signed_by(server, pki.load_cert(prov.root / "ca" / "ca.crt"))
    assert pki.cert_info(server).hosts == ("127.0.0.1", "madoguchi-server.local")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "--devices", "{devices}", "kiosk-1f"], "already provisioned"),
        (["add", "--devices", "{devices}", "panel-c03"], "not in"),
        (["replace", "--devices", "{devices}", "panel-c03"], "not provisioned"),
        (["retire", "panel-c03"], "not provisioned"),
        (["retire", "queue-service"], "cannot be retired"),
        (["init", "--devices", "{devices}", "--broker-host", "10.0.0.2"], "already has a CA"),
    ],
)
def test_refusals(prov, capsys, argv, message):
    before = snapshot(prov.root)
    capsys.readouterr()
    assert prov.run(*[a.replace("{devices}", str(prov.devices)) for a in argv]) == 2
    assert message in capsys.readouterr().err
    assert snapshot(prov.root) == before


def test_nothing_works_before_init(tmp_path, capsys):
    assert provision(["list", "--site", str(EXAMPLE_SITE), "--out", str(tmp_path)]) == 2
    assert "not initialised" in capsys.readouterr().err


def test_list_and_the_madoguchi_command(prov, capsys):
    from madoguchi.cli import main

    capsys.readouterr()
    argv = ["provision", "list", "--site", str(EXAMPLE_SITE), "--out", str(prov.out), "--devices", str(prov.devices)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "broker certificate: 127.0.0.1; valid until" in out and "CA: valid until" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[3:]}
    assert rows["kiosk-1f"] == ["ticket", "yes", "yes", "yes"]
    assert rows["queue-service"] == ["service", "yes", "yes", "-"]


def test_no_secret_is_ever_printed(tmp_path, site, capsys):
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "preentry.key").write_text("ab" * 32 + "\n")
    p = provision_site(tmp_path, site, DEVICES_TOML + FORMS_DEVICE)
    seen: set[str] = set()

    def collect() -> None:
        seen.update(f.read_text().strip() for f in (p.root / "secrets").glob("*.password"))
        for key in ("ca/ca.key", "broker/server.key"):
            body = (p.root / key).read_text().splitlines()[1:-1]
            seen.update(line for line in body if len(line) > 16)

    collect()
    p.devices.write_text(DEVICES_TOML + FORMS_DEVICE + '\n[[device]]\nid = "panel-c03"\nrole = "panel"\n')
    for argv in [
        ["add", "--devices", str(p.devices), "panel-c03"],
        ["replace", "--devices", str(p.devices), "kiosk-1f", "queue-service"],
        ["bundle", "--devices", str(p.devices)],
        ["renew-broker-cert"],
        ["list", "--devices", str(p.devices)],
        ["retire", "panel-c02"],
        ["add", "--devices", str(p.devices), "kiosk-1f"],  # an error path
    ]:
        p.run(*argv)
        collect()
    printed = capsys.readouterr()
    text = printed.out + printed.err
    assert "kiosk-1f" in text and "already provisioned" in text  # it did talk
    assert len(seen) > 10
    leaked = [s for s in seen if s in text]
    assert not leaked
    assert "ab" * 32 not in text


# ---------------------------------------------------------------- enforced by a real Mosquitto
@pytest.mark.broker
def test_the_provisioned_passwd_and_acl_are_enforced_by_mosquitto(prov):
    broker = start_provisioned_broker(prov)
    started: list[Bus] = []
    try:

        def bus(device: str) -> Bus:
            b = Bus(prov.settings(device)).start(wait=10)
            started.append(b)
            return b

        kiosk, board = bus("kiosk-1f"), bus("board-1f")
        assert kiosk.publish_confirmed(kiosk.topics.command("issue"), b"{}") is True
        with pytest.raises(CommandRefused):
            kiosk.request("call_next", {"counter": "c01"}, timeout=3, attempts=1)
        assert board.publish_confirmed(board.topics.command("issue"), b"{}") is False
        assert board.publish_confirmed(board.topics.status("board-1f"), Presence(online=True)) is False
        assert kiosk.publish_confirmed(kiosk.topics.status("board-1f"), Presence(online=True)) is False

        # a device added later: refused until it is provisioned and the broker reloads, then it works
        prov.devices.write_text(DEVICES_TOML + '\n[[device]]\nid = "panel-c03"\nrole = "panel"\n')
        assert prov.run("add", "--devices", str(prov.devices), "panel-c03") == 0
        settings = prov.settings("panel-c03")
        assert connack(settings).is_failure
        broker.reload()
        eventually(lambda: not connack(settings).is_failure, what="the added device accepted")
        panel = bus("panel-c03")
        assert panel.publish_confirmed(panel.topics.command("open_counter"), b"{}") is True
        assert panel.publish_confirmed(panel.topics.command("issue"), b"{}") is False
        assert kiosk.connected.is_set() and board.connected.is_set(), "the others were not disturbed"
    finally:
        for b in started:
            b.stop()
        broker.stop()


def test_server_bundle_has_the_broker_files_for_the_image_and_the_services_credential(prov):
    """What the server image's firstboot installs in /etc/madoguchi: its broker unit runs Mosquitto on it."""
    assert prov.run("server-bundle") == 0
    folder = prov.bundle("queue-service")
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "broker/acl",
        "broker/ca.crt",
        "broker/mosquitto.conf",
        "broker/passwd",
        "broker/server.crt",
        "broker/server.key",
        "device.toml",  # the queue service's device file: madoguchi doctor on the server
        "queue-service.password",
        "server.env",
        "site.toml",
    ]
    assert mode(folder / "broker" / "server.key") == mode(folder / "queue-service.password") == 0o600
    assert (folder / "queue-service.password").read_text().strip() == prov.password("queue-service")
    assert (folder / "broker" / "passwd").read_bytes() == (prov.root / "broker" / "passwd").read_bytes()
    conf = (folder / "broker" / "mosquitto.conf").read_text()
    assert "password_file /etc/madoguchi/broker/passwd" in conf and "keyfile /etc/madoguchi/broker/server.key" in conf
    assert "persistence_location /var/lib/madoguchi/state/broker/" in conf and "user root" not in conf
    env = (folder / "server.env").read_text()
    assert "--password-file /etc/madoguchi/queue-service.password --broker 127.0.0.1:" in env
    assert "MADOGUCHI_BROKER_CONF=/etc/madoguchi/broker/mosquitto.conf" in env
