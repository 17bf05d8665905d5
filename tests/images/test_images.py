"""The appliance images (images/, docs/images.md).

Fast, always: roles.toml, every unit through ``systemd-analyze verify`` (in a temp root with stub
commands), the udev rules' syntax, the firstboot script on a temp root, sd_notify (kiosk/watchdog.py)
on a real AF_UNIX datagram socket, and a Kivy app and the queue service sending READY then WATCHDOG.

Slow, opt-in (``MADOGUCHI_IMAGE_BUILD=1``): build the board role's root filesystem with mmdebstrap
(or reuse one: ``MADOGUCHI_IMAGE_ROOTFS=/var/tmp/madoguchi-images/board``), run ``madoguchi --help``
inside it, install a bundle with its firstboot script, and start the board app in it (chroot, as the
kiosk user) under Xvfb against a broker and queue service on the host: it must reach its home screen,
in service. The screenshot goes to build/test-artifacts/images/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from images import build
from kiosk import watchdog
from tests.artifacts_dir import TEST_ARTIFACTS
from tests.conftest import EXAMPLE_SITE, ROOT

ROOTFS = ROOT / "images" / "rootfs"
UNITS = sorted((ROOTFS / "etc/systemd/system").glob("*.service"))
RULES = sorted((ROOTFS / "etc/udev/rules.d").glob("*.rules"))
FIRSTBOOT = ROOTFS / "usr/lib/madoguchi/firstboot"
ARTIFACTS = TEST_ARTIFACTS / "images"


# ---------------------------------------------------------------- roles.toml
def test_roles_file_is_complete():
    data = build.load_roles()
    assert set(data["roles"]) == {"ticket", "panel", "board", "forms", "register", "desk", "exit", "server", "city"}
    own_units = {p.name for p in UNITS}
    for name in data["roles"]:
        for arch in build.ARCHES:
            role = build.resolve_role(name, arch, data)
            assert role.packages and len(role.packages) == len(set(role.packages))
            assert all(re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", p) for p in role.packages), role.packages
            assert "madoguchi-firstboot.service" in role.units
            assert ("madoguchi-kiosk.service" in role.units) == role.screen
            assert ("cage" in role.packages) == role.screen
            for unit in role.units:
                assert not unit.startswith("madoguchi-") or unit in own_units, unit
            for rules in role.udev:
                assert (ROOTFS / "etc/udev/rules.d" / rules).is_file(), rules
    server = build.resolve_role("server")
    assert {"madoguchi-broker.service", "madoguchi-service.service"} <= set(server.units)
    assert "mosquitto" in server.packages and server.user == "madoguchi"
    city = build.resolve_role("city")
    assert {"madoguchi-city-broker.service", "madoguchi-city.service"} <= set(city.units) and not city.screen
    assert "getty@tty1.service" not in server.mask and "getty@tty1.service" in build.resolve_role("board").mask
    assert "raspi-firmware" in build.resolve_role("board", "arm64").packages
    assert "60-madoguchi-printer.rules" in build.resolve_role("ticket").udev
    with pytest.raises(KeyError):
        build.resolve_role("toaster")


def test_mmdebstrap_command_and_role_files(tmp_path):
    role = build.resolve_role("ticket", "arm64")
    cmd = build.mmdebstrap_command(role, tmp_path / "out", "arm64", "http://mirror.example/debian", tmp_path / "w")
    assert cmd[0] == "mmdebstrap" and "--architectures=arm64" in cmd
    assert "--components=main,non-free-firmware" in cmd
    assert any(a.startswith("--include=") and "cage" in a and "raspi-firmware" in a for a in cmd)
    assert any(a.startswith("--customize-hook=") and "--customize" in a for a in cmd)
    assert "deb http://mirror.example/debian-security bookworm-security main non-free-firmware" in cmd
    assert any(r.startswith("Kivy==2.3.1") for r in build.install_requires(role.extra))

    build.copy_rootfs(tmp_path, build.resolve_role("ticket"))
    units = {p.name for p in (tmp_path / "etc/systemd/system").glob("*.service")}
    assert units == {"madoguchi-kiosk.service", "madoguchi-firstboot.service"}
    assert [p.name for p in (tmp_path / "etc/udev/rules.d").iterdir()] == ["60-madoguchi-printer.rules"]
    assert os.access(tmp_path / "usr/lib/madoguchi/firstboot", os.X_OK)
    assert stat.S_IMODE((tmp_path / "etc/sudoers.d/madoguchi").stat().st_mode) == 0o440


def test_each_role_installs_only_what_it_runs():
    """The server image gets no Kivy and no card or printer drivers; a board no web server or card reader;
    no image gets the dev kit's SimPy or barcode writer."""
    extras = {name: build.resolve_role(name).extra for name in build.role_names()}
    assert extras == {
        "ticket": "kiosk",
        "panel": "kiosk",
        "board": "kiosk",
        "forms": "forms",
        "register": "register",
        "desk": "forms",
        "exit": "kiosk",
        "server": "server",
        "city": "city",
    }

    def names(extra):
        return {r.split("==")[0].split("[")[0].lower() for r in build.install_requires(extra)}

    assert {"fastapi", "uvicorn", "matplotlib"} <= names("server")
    assert not names("server") & {"kivy", "pyscard", "python-escpos", "simpy"}
    assert "kivy" in names("kiosk") and not names("kiosk") & {"fastapi", "matplotlib", "pyscard", "simpy"}
    assert "pyscard" in names("forms") and "python-escpos" in names("register")
    assert {"fastapi", "sqlalchemy", "alembic", "psycopg"} <= names("city") and "kivy" not in names("city")
    for extra in set(extras.values()):
        assert not names(extra) & {"simpy", "python-barcode"}


def test_wheel_copy_is_complete(tmp_path):
    """The wheel is built from a clean copy with every code folder a package and the data folders grafted."""
    notes = build.stage_project(tmp_path)
    assert (tmp_path / "setup.cfg").exists() and not (tmp_path / "build").exists()
    for folder in ("kiosk", "ticket_machine", "form_printer", "register", "broker_config"):
        for sub in (tmp_path / folder).rglob("*"):
            if sub.is_dir() and any(sub.glob("*.py")):
                assert (sub / "__init__.py").exists(), sub
    assert "graft kiosk" in (tmp_path / "MANIFEST.in").read_text()
    assert not list(tmp_path.rglob("__pycache__")) and not (tmp_path / "images" / "rootfs").exists()
    assert all("__init__.py" in note for note in notes)
    assert not (tmp_path / "devkit").exists() and (tmp_path / "madoguchi").is_dir()  # appliances get no dev kit


# ---------------------------------------------------------------- units
@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_verifies(unit, tmp_path):
    """``systemd-analyze verify --root``: the host's system units, ours, and stubs for the commands."""
    root = tmp_path / "root"
    shutil.copytree(ROOTFS, root, symlinks=True)
    (root / "usr/lib/systemd").mkdir(parents=True, exist_ok=True)
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    for stub in ("usr/bin/cage", "opt/madoguchi/venv/bin/madoguchi", "bin/kill"):
        (root / stub).parent.mkdir(parents=True, exist_ok=True)
        (root / stub).write_text("#!/bin/sh\n")
        (root / stub).chmod(0o755)
    out = subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "--man=no", f"/etc/systemd/system/{unit.name}"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and not out.stderr.strip() and not out.stdout.strip(), out.stdout + out.stderr


def test_units_say_what_the_issue_asks():
    kiosk = (ROOTFS / "etc/systemd/system/madoguchi-kiosk.service").read_text()
    for line in ("Type=notify", "NotifyAccess=all", "Restart=always", "User=kiosk", "StartLimitIntervalSec=0"):
        assert line in kiosk
    assert re.search(r"^WatchdogSec=\d+", kiosk, re.M)
    assert "ExecStart=/usr/lib/madoguchi/kiosk-start" in kiosk and "LIBSEAT_BACKEND=seatd" in kiosk
    assert "StateDirectory=madoguchi/kiosk" in kiosk and "RequiresMountsFor=/var/lib/madoguchi" in kiosk
    service = (ROOTFS / "etc/systemd/system/madoguchi-service.service").read_text()
    assert "Type=notify" in service and "Restart=always" in service
    # the worker wakes at least every --tick (15 s by default): the watchdog must allow for it
    assert int(re.search(r"^WatchdogSec=(\d+)", service, re.M).group(1)) >= 4 * 15
    # madoguchi broker stays Mosquitto's parent: the READY=1 of Mosquitto (a child) must count
    broker = (ROOTFS / "etc/systemd/system/madoguchi-broker.service").read_text()
    assert "Type=notify" in broker and re.search(r"^NotifyAccess=all$", broker, re.M)
    firstboot = (ROOTFS / "etc/systemd/system/madoguchi-firstboot.service").read_text()
    assert "Type=oneshot" in firstboot and "Before=madoguchi-kiosk.service" in firstboot
    # booted in QEMU, firstboot ran before the `nofail` boot partition was mounted
    assert "RequiresMountsFor=/var/lib/madoguchi /boot/efi /boot/firmware" in firstboot


@pytest.mark.parametrize(
    ("vendor", "driver", "renderer"),
    [("0x1af4", "virtio-pci", "pixman"), ("0x1234", "bochs-drm", "pixman"), ("0x8086", "i915", ""),
     (None, "vc4-drm", ""), (None, "simple-framebuffer", "pixman")],
)  # fmt: skip
def test_kiosk_start_draws_with_pixman_where_there_is_no_3d_driver(tmp_path, vendor, driver, renderer):
    """cage crashed on a VM's virtio-gpu (Mesa's kms_swrast): kiosk-start picks pixman there, the GPU elsewhere."""
    device = tmp_path / "sys/devices/gpu0"
    (tmp_path / f"sys/bus/drivers/{driver}").mkdir(parents=True)
    device.mkdir(parents=True)
    (device / "driver").symlink_to(tmp_path / f"sys/bus/drivers/{driver}")
    if vendor:
        (device / "vendor").write_text(vendor + "\n")
    (tmp_path / "sys/class/drm/card0").mkdir(parents=True)
    (tmp_path / "sys/class/drm/card0/device").symlink_to(device)
    cage = tmp_path / "usr/bin/cage"
    cage.parent.mkdir(parents=True)
    cage.write_text('#!/bin/sh\necho "renderer=${WLR_RENDERER:-} args=$*"\n')
    cage.chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "MADOGUCHI_ROOT": str(tmp_path), "MADOGUCHI_ROLE": "board"}
    start = ROOTFS / "usr/lib/madoguchi/kiosk-start"
    out = subprocess.run([str(start)], env=env, capture_output=True, text=True, check=True).stdout
    assert f"renderer={renderer} args=-s -- /opt/madoguchi/venv/bin/madoguchi kiosk board" in out
    chosen = subprocess.run([str(start)], env={**env, "WLR_RENDERER": "gles2"}, capture_output=True, text=True)
    assert "renderer=gles2 " in chosen.stdout  # the bundle's kiosk.env wins


# ---------------------------------------------------------------- udev
_UDEV_KEY = re.compile(r'\s*([A-Z_]+)(\{[^}]+\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(,|$)')
_UDEV_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "ENV", "ATTR", "ATTRS", "GOTO", "LABEL", "GROUP", "MODE", "SYMLINK",
              "TAG", "OWNER", "DEVPATH", "DRIVERS", "RUN"}  # fmt: skip


def _udev_syntax(path: Path) -> list[tuple]:
    """Every rule line parsed as KEY[{attr}] OP "value" pairs; GOTOs have their LABEL."""
    rules, labels, gotos = [], set(), set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pos, pairs = 0, []
        while pos < len(line):
            m = _UDEV_KEY.match(line, pos)
            assert m, f"{path.name}:{number}: cannot parse at {line[pos:]!r}"
            key, attr, op, value, _ = m.groups()
            assert key in _UDEV_KEYS, f"{path.name}:{number}: unknown key {key}"
            if key == "MODE":
                assert re.fullmatch(r"0[0-7]{3}", value), f"{path.name}:{number}: mode {value}"
            if key == "LABEL":
                labels.add(value)
            if key == "GOTO":
                gotos.add(value)
            pairs.append((key, attr, op, value))
            pos = m.end()
        rules.append(pairs)
    assert gotos <= labels, f"{path.name}: GOTO without LABEL: {gotos - labels}"
    return rules


@pytest.mark.parametrize("rules", RULES, ids=lambda p: p.name)
def test_udev_rules_parse(rules):
    parsed = _udev_syntax(rules)
    links = {v for pairs in parsed for k, _a, _o, v in pairs if k == "SYMLINK"}
    assert links and all(link.startswith("madoguchi-") for link in links)
    udevadm = shutil.which("udevadm")
    if udevadm and subprocess.run([udevadm, "verify", "--help"], capture_output=True).returncode == 0:
        out = subprocess.run([udevadm, "verify", "--no-style", str(rules)], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr


def test_udev_rules_name_every_device():
    text = "".join(p.read_text() for p in RULES)
    for link in ("madoguchi-printer", "madoguchi-changer", "madoguchi-terminal", "madoguchi-scanner"):
        assert f'SYMLINK+="{link}"' in text
    assert 'GROUP="lp"' in text and 'GROUP="dialout"' in text


# ---------------------------------------------------------------- firstboot
def _bundle(boot: Path) -> None:
    (boot / "forms").mkdir(parents=True)
    (boot / "device.toml").write_text('device = "board-1f"\nsite = "site.toml"\n')
    (boot / "site.toml").write_text("# the site\n")
    (boot / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (boot / "board-1f.password").write_text("s3cret\n")
    (boot / "forms" / "a.toml").write_text("# form\n")
    for p in boot.rglob("*"):
        p.chmod(0o777)


def _firstboot(root: Path, user: str = "4242") -> subprocess.CompletedProcess:
    env = dict(os.environ, MADOGUCHI_ROOT=str(root), MADOGUCHI_USER=user)
    return subprocess.run([str(FIRSTBOOT)], env=env, capture_output=True, text=True)


def test_firstboot_installs_the_bundle(tmp_path):
    assert _firstboot(tmp_path).returncode == 1  # nothing installed, nothing on the boot partition
    boot = tmp_path / "boot/firmware/madoguchi"
    _bundle(boot)
    out = _firstboot(tmp_path)
    assert out.returncode == 0, out.stderr
    config = tmp_path / "var/lib/madoguchi/config"
    modes = {str(p.relative_to(config)): stat.S_IMODE(p.stat().st_mode) for p in config.rglob("*")}
    assert modes == {
        "device.toml": 0o644,
        "site.toml": 0o644,
        "ca.crt": 0o644,
        "board-1f.password": 0o600,
        "forms": 0o755,
        "forms/a.toml": 0o644,
        ".installed": 0o644,
    }
    assert (config / "board-1f.password").read_text() == "s3cret\n"
    if os.geteuid() == 0:
        assert (config / "board-1f.password").stat().st_uid == 4242
        assert (config / "device.toml").stat().st_uid == 0
    assert "from /boot/firmware/madoguchi" in (config / ".installed").read_text()
    # the boot partition keeps no secrets and the bundle is not installed again
    assert not boot.exists()
    retired = tmp_path / "boot/firmware/madoguchi.installed"
    assert (retired / "device.toml").exists() and not (retired / "board-1f.password").exists()
    again = _firstboot(tmp_path)
    assert again.returncode == 0 and "no new bundle" in again.stdout

    # re-provisioning: a new bundle replaces the old one completely
    new = tmp_path / "boot/efi/madoguchi"
    new.mkdir(parents=True)
    (new / "device.toml").write_text('device = "board-2f"\n')
    (new / "board-2f.password").write_text("other\n")
    assert _firstboot(tmp_path).returncode == 0
    assert sorted(p.name for p in config.iterdir()) == [".installed", "board-2f.password", "device.toml"]


def test_firstboot_refuses_what_is_not_a_bundle(tmp_path):
    (tmp_path / "boot/madoguchi").mkdir(parents=True)
    (tmp_path / "boot/madoguchi/readme.txt").write_text("hello")
    out = _firstboot(tmp_path)
    assert out.returncode == 1 and "not a bundle" in out.stderr


# ---------------------------------------------------------------- sd_notify
class NotifySocket:
    """What systemd listens on: an AF_UNIX datagram socket; ``env`` points a process at it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.env = {"NOTIFY_SOCKET": str(path)}

    def receive(self, timeout: float = 5.0) -> str:
        self.sock.settimeout(timeout)
        return self.sock.recv(4096).decode()

    def wait_for(self, field: str, timeout: float = 60.0) -> list[str]:
        """Messages until one has ``field`` (all of them, in order)."""
        seen, deadline = [], time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                seen.append(self.receive(max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            if field in seen[-1].split("\n"):
                return seen
        raise AssertionError(f"no {field} within {timeout} s; got {seen}")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    sock = NotifySocket(tmp_path / "notify")
    yield sock
    sock.close()


def test_watchdog_speaks_sd_notify(notify_socket, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert watchdog.ready() is False and watchdog.ping() is False  # no systemd: no-ops
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))
    assert watchdog.ready("home screen")
    assert notify_socket.receive() == "READY=1\nSTATUS=home screen"
    assert watchdog.ping()
    assert notify_socket.receive() == "WATCHDOG=1"
    assert watchdog.status("out of service")
    assert notify_socket.receive() == "STATUS=out of service"
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path.with_name("gone")))
    assert watchdog.ping() is False  # systemd went away: never an exception
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert watchdog.interval() == 10.0
    monkeypatch.setenv("WATCHDOG_USEC", "junk")
    assert watchdog.interval() == watchdog.DEFAULT_INTERVAL


def test_watchdog_abstract_socket(monkeypatch):
    name = f"madoguchi-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert watchdog.ping()
        sock.settimeout(5)
        assert sock.recv(100) == b"WATCHDOG=1"


def _device_file(folder: Path, device: str, port: int, password: str = "x") -> Path:
    (folder / f"{device}.password").write_text(password + "\n")
    path = folder / "device.toml"
    path.write_text(
        f'device = "{device}"\nsite = "{EXAMPLE_SITE}"\n\n[broker]\nhost = "127.0.0.1"\nport = {port}\n'
        f'password_file = "{device}.password"\n\n[screen]\nfullscreen = false\nwidth = 800\nheight = 480\n'
    )
    return path


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb")
def test_kivy_app_sends_ready_then_watchdog(notify_socket, display, tmp_path):
    """The board app (broker away: out of service, but up) tells systemd READY, then keeps pinging."""
    from tests.harness import free_port

    config = _device_file(tmp_path, "board-1f", free_port())
    env = dict(os.environ, DISPLAY=display, SDL_AUDIODRIVER="dummy", WATCHDOG_USEC="1500000", **notify_socket.env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "madoguchi", "kiosk", "board", "--config", str(config), "--windowed"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        seen = notify_socket.wait_for("READY=1", timeout=60)
        assert "WATCHDOG=1" not in seen  # nothing pings before the app is up
        assert "STATUS=board-1f: home screen" in seen[-1]
        after = notify_socket.wait_for("WATCHDOG=1", timeout=5)
        assert after[-1] == "WATCHDOG=1"
        notify_socket.wait_for("WATCHDOG=1", timeout=5)  # and again (every WATCHDOG_USEC/3)
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode is not None


def test_queue_service_sends_ready_and_watchdog(notify_socket, broker, site, tmp_path, monkeypatch):
    from kiosk.bus.client import BusSettings
    from kiosk.bus.contract import Role
    from queue_service.service.app import QueueService

    monkeypatch.setenv("NOTIFY_SOCKET", str(notify_socket.path))
    monkeypatch.setenv("WATCHDOG_USEC", "1500000")  # WatchdogSec=1.5: a ping every 0.5 s
    settings = BusSettings(
        site.site.id, "queue-service", Role.SERVICE, broker.password("queue-service"), "127.0.0.1", broker.port
    )
    svc = QueueService(site, tmp_path / "queue.sqlite", settings, http=None, tick_seconds=0.2)
    svc.start()
    try:
        messages = notify_socket.wait_for("READY=1", timeout=10)
        assert "STATUS=queue service for" in messages[-1]
        notify_socket.wait_for("WATCHDOG=1", timeout=5)  # from the watchdog thread, every WatchdogSec/3
        notify_socket.wait_for("WATCHDOG=1", timeout=5)
    finally:
        svc.stop()


# ---------------------------------------------------------------- slow: the real root filesystem
slow = pytest.mark.skipif(
    not os.environ.get("MADOGUCHI_IMAGE_BUILD"),
    reason="slow: set MADOGUCHI_IMAGE_BUILD=1 (builds a rootfs, ~5 min, 1.4 GB)",
)


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    """The board role's root filesystem: MADOGUCHI_IMAGE_ROOTFS (built before) or built now."""
    if os.geteuid() != 0 or shutil.which("mmdebstrap") is None:
        pytest.skip("building a rootfs needs root and mmdebstrap")
    given = os.environ.get("MADOGUCHI_IMAGE_ROOTFS")
    if given:
        root = Path(given)
        assert (root / "opt/madoguchi/venv/bin/madoguchi").exists(), f"{root} is not a built image"
        return root
    root = tmp_path_factory.mktemp("image") / "board"
    started = time.monotonic()
    rc = subprocess.run([sys.executable, "-m", "images.build", "--role", "board", "--out", str(root)], cwd=ROOT)
    log = root.with_name("board.log").read_text()
    assert rc.returncode == 0, log[-5000:]
    print(f"rootfs built in {time.monotonic() - started:.0f} s: {log.splitlines()[-1]}")
    return root


@slow
def test_rootfs_has_the_project_and_units(rootfs):
    out = subprocess.run(["chroot", str(rootfs), "/opt/madoguchi/venv/bin/madoguchi", "--help"], capture_output=True)
    assert out.returncode == 0 and b"usage: madoguchi" in out.stdout and b"kiosk" in out.stdout, out.stderr
    wants = rootfs / "etc/systemd/system/graphical.target.wants/madoguchi-kiosk.service"
    assert wants.is_symlink()
    assert (rootfs / "etc/systemd/system/mosquitto.service").resolve() == Path("/dev/null")
    assert os.readlink(rootfs / "etc/madoguchi") == "/var/lib/madoguchi/config"
    assert "MADOGUCHI_ROLE=board" in (rootfs / "etc/default/madoguchi").read_text()
    assert "kiosk:" in (rootfs / "etc/passwd").read_text()
    assert any((rootfs / "boot").glob("initrd.img-*")), "no initramfs (overlayroot needs it)"
    initrd = f"/boot/{next((rootfs / 'boot').glob('initrd.img-*')).name}"
    listing = subprocess.run(["chroot", str(rootfs), "lsinitramfs", initrd], capture_output=True, text=True).stdout
    assert "scripts/init-bottom/overlayroot" in listing
    for unit in ("madoguchi-kiosk.service", "madoguchi-firstboot.service"):
        out = subprocess.run(
            ["systemd-analyze", "verify", f"--root={rootfs}", "--man=no", f"/etc/systemd/system/{unit}"],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 0, out.stdout + out.stderr


@pytest.fixture
def chroot_mounts(rootfs):
    mounted = []
    for path in ("proc", "sys", "dev", "tmp/.X11-unix"):
        target = rootfs / path
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "--rbind" if path == "dev" else "--bind", f"/{path}", str(target)], check=True)
        mounted.append(target)
    yield rootfs
    for target in reversed(mounted):
        subprocess.run(["umount", "-l", str(target)], check=False)


@slow
@pytest.mark.timeout(300)
def test_board_app_starts_inside_the_rootfs(chroot_mounts, site, display, tmp_path):
    """firstboot installs a bundle, then the board app (the image's venv, Python, Mesa, fonts) runs in the
    rootfs as the kiosk user on the host's Xvfb, talks to the host's broker and service, and is in service."""
    from madoguchi.local import start_broker, start_service_process, stop_process, wait_healthy
    from tests.harness import free_port

    rootfs = chroot_mounts
    broker = start_broker(site, tmp_path / "stack")
    http = free_port()
    service = start_service_process(broker, EXAMPLE_SITE, http)
    run_dir = rootfs / "run/madoguchi-test"
    try:
        wait_healthy(http, [service])
        # the bundle on the "boot partition", installed by the image's own firstboot script
        boot = rootfs / "boot/efi/madoguchi"
        shutil.rmtree(boot, ignore_errors=True)
        shutil.rmtree(rootfs / "boot/efi/madoguchi.installed", ignore_errors=True)
        boot.mkdir(parents=True)
        shutil.copy(EXAMPLE_SITE, boot / "site.toml")
        shutil.copytree(EXAMPLE_SITE.parent / "forms", boot / "forms")
        (boot / "board-1f.password").write_text(broker.password("board-1f") + "\n")
        (boot / "device.toml").write_text(
            'device = "board-1f"\nsite = "site.toml"\n\n[broker]\nhost = "127.0.0.1"\n'
            f'port = {broker.port}\npassword_file = "board-1f.password"\n\n'
            "[screen]\nfullscreen = true\nwidth = 1280\nheight = 800\n"
        )
        env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "MADOGUCHI_USER=kiosk"]
        out = subprocess.run(["chroot", str(rootfs), *env, "/usr/lib/madoguchi/firstboot"], capture_output=True)
        assert out.returncode == 0, out.stderr
        password = rootfs / "var/lib/madoguchi/config/board-1f.password"
        kiosk = next(
            line.split(":") for line in (rootfs / "etc/passwd").read_text().splitlines() if line[:6] == "kiosk:"
        )
        uid, gid = int(kiosk[2]), int(kiosk[3])
        assert password.stat().st_uid == uid and stat.S_IMODE(password.stat().st_mode) == 0o600

        run_dir.mkdir(parents=True, exist_ok=True)
        notify = NotifySocket(run_dir / "notify")
        os.chown(run_dir, uid, gid)
        os.chown(notify.path, uid, gid)
        home = rootfs / "home/kiosk"
        app_env = [
            "env", "-i", "HOME=/home/kiosk", "USER=kiosk", "PATH=/usr/bin:/bin", f"DISPLAY={display}",
            "SDL_AUDIODRIVER=dummy", "NOTIFY_SOCKET=/run/madoguchi-test/notify", "WATCHDOG_USEC=3000000",
        ]  # fmt: skip
        cmd = ["chroot", f"--userspec={uid}:{gid}", str(rootfs), *app_env]
        cmd += ["/opt/madoguchi/venv/bin/madoguchi", "kiosk", "board", "--config", "/etc/madoguchi/device.toml"]
        log = tmp_path / "board-in-rootfs.log"
        with log.open("wb") as err:
            app = subprocess.Popen(cmd, stdout=err, stderr=subprocess.STDOUT, cwd=home)
        try:
            seen = notify.wait_for("READY=1", timeout=120)
            seen += notify.wait_for("STATUS=in service", timeout=30)
            notify.wait_for("WATCHDOG=1", timeout=10)
            time.sleep(1)
            shot = _screenshot(display, ARTIFACTS / "board-in-rootfs.png")
            assert len(shot.getcolors(1 << 16) or range(1000)) > 8, "the screen is blank"
            # the queue service goes away: the board stays up, covered by its out-of-service overlay
            stop_process(service)
            seen += notify.wait_for("STATUS=out of service: broker or queue service unreachable", timeout=60)
            time.sleep(1)
            _screenshot(display, ARTIFACTS / "board-in-rootfs-out-of-service.png")
            assert app.poll() is None
        finally:
            app.terminate()
            try:
                app.wait(timeout=15)
            except subprocess.TimeoutExpired:
                app.kill()
            notify.close()
        text = log.read_text(errors="replace")
        assert "Traceback" not in text, text[-3000:]
        print(f"in-rootfs board: {seen}; log tail:\n{text[-1500:]}")
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        stop_process(service)
        broker.stop()


def _screenshot(display: str, path: Path):
    """The whole Xvfb screen (xwd from x11-apps), saved as PNG."""

    xwd = shutil.which("xwd")
    if xwd is None:
        pytest.skip("needs xwd (x11-apps) for the screenshot")
    raw = subprocess.run([xwd, "-root", "-silent", "-display", display], capture_output=True, check=True).stdout
    image = _read_xwd(raw)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return image


def _read_xwd(data: bytes):
    """An X window dump (ZPixmap, 24/32 bits, as Xvfb's default visual) to a PIL image."""
    import struct

    from PIL import Image

    header = struct.unpack(">25I", data[:100])
    header_size, width, height = header[0], header[4], header[5]
    bits_per_pixel, bytes_per_line, ncolors = header[11], header[12], header[19]
    assert bits_per_pixel == 32, f"xwd with {bits_per_pixel} bits per pixel"
    offset = header_size + ncolors * 12
    byte_order = header[7]  # 0 LSBFirst
    raw = data[offset : offset + bytes_per_line * height]
    mode = "BGRX" if byte_order == 0 else "XRGB"
    return Image.frombuffer("RGB", (width, height), raw, "raw", mode, bytes_per_line, 1)


def test_roles_toml_is_plain_toml():
    with build.ROLES_FILE.open("rb") as f:
        assert tomllib.load(f)["base"]["suite"] == "bookworm"


def test_a_build_in_a_fresh_checkout_makes_its_output_folder(tmp_path, monkeypatch, capsys):
    """`madoguchi image build` in a fresh clone failed opening its log: build/images/ did not exist yet."""
    monkeypatch.setattr(build.shutil, "which", lambda tool: f"/usr/bin/{tool}")

    def no_wheels(*_args, **_kw):
        raise subprocess.CalledProcessError(1, ["pip", "wheel"])

    monkeypatch.setattr(build, "build_wheelhouse", no_wheels)
    out = tmp_path / "build" / "images" / "board-amd64.rootfs"
    assert build.build("board", out, "amd64", build.DEFAULT_MIRROR, None, tmp_path / "wheels") == 1
    assert "FAILED" in out.with_name("board-amd64.rootfs.log").read_text()
    assert "the build failed" in capsys.readouterr().err
