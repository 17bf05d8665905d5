"""What a technician flashes, booted: a server and a board image in QEMU, end to end (issue 22).

Opt-in (``MADOGUCHI_IMAGE_BOOT=1``): needs root (mmdebstrap, chroot), genimage, mtools, QEMU with OVMF, ~4 GB of
disk per image and 15–30 minutes on two cores under TCG (KVM is used where it works). Root filesystems already
built with ``python -m images.build`` are reused from ``MADOGUCHI_IMAGE_ROOTFS_DIR/{server,board}``; otherwise
they are built (network to the Debian mirror and PyPI). The disk images are always made fresh from them, with a
debug shell on the second serial port (``systemd.debug_shell=ttyS1``, test images only) through which the test
looks inside.

The two VMs share nothing but loopback forwards: the server answers on 10.0.2.100 (the address provisioning gave
its broker) through a hostfwd; the board's guestfwd for 10.0.2.100:8883 reaches it through the host. The host
itself plays a ticket kiosk and a call panel over TLS. The tests run in file order, on one pair of machines,
and leave in build/test-artifacts/images/: serial logs, screendumps and ``boot-times.md`` (the table of times
to in-service and image sizes).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from devkit.vm import Forward, Machine
from images import build, disk
from madoguchi.local import free_port
from tests.artifacts_dir import TEST_ARTIFACTS
from tests.conftest import EXAMPLE_SITE, ROOT

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("MADOGUCHI_IMAGE_BOOT") != "1",
        reason="slow: set MADOGUCHI_IMAGE_BOOT=1 (builds and boots the server and board images in QEMU, ~20 min)",
    ),
    pytest.mark.timeout(3600),
]

ARTIFACTS = TEST_ARTIFACTS / "images"
SERVER_ADDRESS = "10.0.2.100"
DEBUG_SHELL = "systemd.debug_shell=ttyS1 console=ttyS0,115200n8 systemd.show_status=1"
#: Under TCG a first boot with Python, Kivy, Xwayland on llvmpipe takes minutes: generous, never slept.
BOOT_TIMEOUT = 900
#: The board's light screen (mean grey ~210) and the out-of-service cover darkening it (~40)
LIGHT, DARK = 150, 100


@pytest.fixture(scope="module")
def report():
    """What the test measured, written as a table at the end (and printed with ``-s``)."""
    rows: dict[str, dict[str, str]] = {}
    yield rows
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lines = [
        "| image | file size (apparent / allocated) | root fs | first boot → ready | reboot → ready |",
        "|---|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| {name} | {row.get('size', '')} | {row.get('rootfs', '')} | {row.get('first', '')} "
            f"| {row.get('reboot', '')} |"
        )
    extra = [f"- {k}: {v}" for name, row in rows.items() for k, v in row.items() if k.startswith("note")]
    text = "\n".join(lines + [""] + extra) + "\n"
    (ARTIFACTS / "boot-times.md").write_text(text)
    print("\n" + text)


@pytest.fixture(scope="module")
def rootfs_dir(tmp_path_factory):
    """``{role: root filesystem folder}`` for the server and the board: reused or built."""
    given = os.environ.get("MADOGUCHI_IMAGE_ROOTFS_DIR")
    found = {}
    for role in ("server", "board"):
        if given and (Path(given) / role / "opt/madoguchi/venv/bin/madoguchi").exists():
            found[role] = Path(given) / role
            continue
        out = tmp_path_factory.mktemp("rootfs") / role
        rc = build.build(role, out, "amd64", build.DEFAULT_MIRROR, None, None)
        assert rc == 0, out.with_name(f"{role}.log").read_text()[-5000:]
        found[role] = out
    return found


@pytest.fixture(scope="module")
def provisioned(tmp_path_factory):
    """A site provisioned as a technician would: the server's broker on 10.0.2.100 (and 127.0.0.1, for this
    test's own kiosk and panel through the host's forward), a board, a ticket kiosk, a call panel."""
    where = tmp_path_factory.mktemp("provision")
    devices = where / "devices.toml"
    devices.write_text(
        '[[device]]\nid = "board-1f"\nrole = "board"\nfloors = [1]\n\n'
        '[[device]]\nid = "kiosk-1f"\nrole = "ticket"\n\n'
        '[[device]]\nid = "panel-c01"\nrole = "panel"\ncounter = "c01"\n'
    )
    madoguchi = [sys.executable, "-m", "madoguchi"]
    common = ["--site", str(EXAMPLE_SITE), "--out", str(where / "out")]
    subprocess.run(
        [*madoguchi, "provision", "init", *common, "--devices", str(devices)]
        + ["--broker-host", SERVER_ADDRESS, "--broker-host", "127.0.0.1"],
        check=True,
        cwd=ROOT,
    )
    subprocess.run([*madoguchi, "provision", "server-bundle", *common], check=True, cwd=ROOT)
    return where / "out" / "sakura-ward"


@pytest.fixture(scope="module")
def images(rootfs_dir, provisioned, tmp_path_factory, report):
    """The server's and the board's disk images, each with its bundle on the boot partition."""
    where = tmp_path_factory.mktemp("disks")
    made = {}
    for role, bundle in (("server", "queue-service"), ("board", "board-1f")):
        image = where / f"madoguchi-{role}-amd64.img"
        started = time.monotonic()
        disk.make_disk(rootfs_dir[role], image, "amd64", DEBUG_SHELL)
        seconds = time.monotonic() - started
        written = disk.put_bundle(image, provisioned / "bundles" / bundle)
        assert any(name.endswith(".password") for name in written)
        stat = image.stat()
        rootfs_mb = int(subprocess.run(["du", "-sm", str(rootfs_dir[role].resolve())], capture_output=True, text=True)
                        .stdout.split()[0])  # fmt: skip
        report[role] = {
            "size": f"{stat.st_size / 1e6:,.0f} MB / {stat.st_blocks * 512 / 1e6:,.0f} MB",
            "rootfs": f"{rootfs_mb:,} MB",
            f"note: {role} disk image made in": f"{seconds:.0f} s",
        }
        made[role] = image
    return made


@pytest.fixture(scope="module")
def lab(images, tmp_path_factory):
    """The server VM, then the board VM, powered on; powered off (cut) at the end, logs kept."""
    work = tmp_path_factory.mktemp("vms")
    broker_port = free_port()
    server = Machine(
        "server", images["server"], work, memory_mb=1024, address=SERVER_ADDRESS,
        forwards=[Forward(broker_port, 8883)],
    )  # fmt: skip
    board = Machine(
        "board", images["board"], work, forwards=[Forward(broker_port, 8883, into_guest=False, address=SERVER_ADDRESS)]
    )
    server.start()
    board.start()
    yield {"server": server, "board": board, "broker_port": broker_port}
    for vm in (board, server):
        vm.power_cut()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for log in work.glob(f"{vm.name}-serial*.log"):
            shutil.copy(log, ARTIFACTS / log.name)


def _wait_status(board: Machine, wanted: str, timeout: float = BOOT_TIMEOUT) -> str:
    return board.wait_shell(
        "systemctl show madoguchi-kiosk -p StatusText --value", timeout, ok=lambda rc, out: out.strip() == wanted
    )


HEALTHZ = (
    '/opt/madoguchi/venv/bin/python -c "import json,urllib.request;'
    "h=json.load(urllib.request.urlopen('http://127.0.0.1:8080/healthz',timeout=5));"
    "print(h['status'], h['broker_connected'], h['tickets_today'])\""
)


def _healthy(server: Machine, timeout: float = BOOT_TIMEOUT) -> list[str]:
    out = server.wait_shell(HEALTHZ, timeout, ok=lambda rc, out: rc == 0 and out.startswith("ok True"))
    return out.split()


def _screendump(vm: Machine, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = vm.screendump(ARTIFACTS / f"{name}.png")
    from PIL import Image

    with Image.open(png) as shot:
        assert shot.size == vm.resolution, "the app is not full screen at the display's resolution"
        colours = shot.convert("RGB").getcolors(maxcolors=1 << 16)
        assert colours is None or len(colours) > 50, f"{png}: the screen is (nearly) one colour"
    return png


def _boot_id(vm: Machine) -> str:
    return vm.shell("cat /proc/sys/kernel/random/boot_id")[1].strip()


# ---------------------------------------------------------------- first boot
def test_firstboot_moves_the_bundle_and_its_secrets_off_the_boot_partition(lab):
    for vm, user in ((lab["server"], "madoguchi"), (lab["board"], "kiosk")):
        # done, not only started: firstboot marks the install before it cleans the boot partition
        vm.wait_shell("systemctl is-active madoguchi-firstboot", BOOT_TIMEOUT)
        assert vm.shell("test -e /var/lib/madoguchi/config/.installed")[0] == 0
        rc, modes = vm.shell("stat -c '%a %U %n' /etc/madoguchi/*.password")
        assert rc == 0 and modes.split()[:2] == ["600", user], modes
        rc, left = vm.shell(
            "ls /boot/efi; find /boot/efi -name '*.password' -o -name '*.key' -o -name passwd -o -name '*.pin'"
        )
        assert "madoguchi.installed" in left and "password" not in left and ".key" not in left, left
        assert vm.shell("test -s /var/lib/madoguchi/machine-id")[0] == 0, "firstboot saved no machine id"
    server_files = lab["server"].shell("ls /etc/madoguchi/broker")[1].split()
    assert {"mosquitto.conf", "passwd", "server.key", "server.crt"} <= set(server_files)


def test_the_server_runs_its_broker_and_queue_service(lab, report):
    server = lab["server"]
    status, connected, tickets = _healthy(server)
    report["server"]["first"] = f"{server.since_power_on():.0f} s (/healthz ok)"
    assert server.shell("systemctl is-active madoguchi-broker madoguchi-service")[1].split() == ["active"] * 2
    assert (status, connected, tickets) == ("ok", "True", "0")


def test_the_board_app_is_in_service_full_screen_over_tls(lab, report):
    board = lab["board"]
    _wait_status(board, "in service")
    report["board"]["first"] = f"{board.since_power_on():.0f} s (app: in service)"
    rc, processes = board.shell("ps -eo user,args | grep -E '^kiosk .*(cage|Xwayland|madoguchi kiosk board)'")
    assert "cage -s" in processes and "Xwayland" in processes and "madoguchi kiosk board" in processes
    # the board connected to the server's TLS listener (through the forwards) as itself
    server_log = lab["server"].shell("journalctl -b -u madoguchi-broker --no-pager -o cat")[1]
    assert "port 8883" in server_log and "as board-1f" in server_log, server_log[-2000:]
    # the screen follows the status with the app's next frame (seconds under TCG): until the cover is gone
    _wait_screen(board, "board-in-service", lambda png: _brightness(png) > LIGHT, 180)


def test_a_call_from_a_panel_shows_on_the_booted_board(lab, provisioned):
    """The host plays the ticket kiosk and the call panel, over TLS through the server's forward."""
    kiosk, panel = _bus(lab, provisioned, "kiosk-1f"), _bus(lab, provisioned, "panel-c01")
    try:
        ticket = kiosk.request("issue", {"procedures": ["tennyu"]}, timeout=60)["ticket"]
        panel.request("open_counter", {"counter": "c01"}, timeout=60)
        called = panel.request("call_next", {"counter": "c01"}, timeout=60)["ticket"]
        assert called["number"] == ticket["number"]
    finally:
        kiosk.stop()
        panel.stop()
    # the call reaches the screen: the "now calling" side of the board is no longer the idle one
    board = lab["board"]
    idle = _calling_side(ARTIFACTS / "board-in-service.png")
    _wait_screen(board, "board-calling", lambda png: _calling_side(png) != idle, 180)


def _wait_screen(vm: Machine, name: str, shows, timeout: float) -> Path:
    """Screendumps until one ``shows`` what is expected (polled: the screen has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while True:
        shot = _screendump(vm, name)
        if shows(shot):
            return shot
        assert time.monotonic() < deadline, f"{name}: not on {vm.name}'s screen after {timeout:.0f} s: see {shot}"


def _brightness(png: Path) -> float:
    from PIL import Image, ImageStat

    with Image.open(png) as shot:
        return ImageStat.Stat(shot.convert("L")).mean[0]


def _calling_side(png: Path) -> bytes:
    """The board's left part (the calls), without the header's clock and the ticker."""
    from PIL import Image

    with Image.open(png) as shot:
        width, height = shot.size
        return shot.convert("L").crop((0, height // 8, width * 6 // 10, height * 9 // 10)).tobytes()


def _bus(lab, provisioned, device: str):
    from kiosk.bus.client import Bus, BusSettings
    from kiosk.bus.contract import Role

    role = {"kiosk-1f": Role.TICKET, "panel-c01": Role.PANEL}[device]
    password = (provisioned / "secrets" / f"{device}.password").read_text().strip()
    settings = BusSettings(
        "sakura-ward", device, role, password, "127.0.0.1", lab["broker_port"], str(provisioned / "ca" / "ca.crt")
    )
    return Bus(settings).start(wait=120)


def test_the_board_says_out_of_service_while_the_server_is_down(lab):
    server, board = lab["server"], lab["board"]
    server.shell("systemctl stop madoguchi-service madoguchi-broker")
    _wait_status(board, "out of service: broker or queue service unreachable", 300)
    # the cover comes with the app's next frame (under TCG and llvmpipe a frame can take seconds)
    _wait_screen(board, "board-out-of-service", lambda png: _brightness(png) < DARK, 180)
    server.shell("systemctl start madoguchi-broker madoguchi-service")
    _healthy(server, 300)
    _wait_status(board, "in service", 300)


# ---------------------------------------------------------------- the watchdog
def test_a_frozen_app_is_restarted_by_the_watchdog(lab):
    board = lab["board"]
    restarts = int(board.shell("systemctl show madoguchi-kiosk -p NRestarts --value")[1])
    rc, _ = board.shell("pkill -STOP -f 'madoguchi kiosk board'")
    assert rc == 0
    board.wait_shell(
        "systemctl show madoguchi-kiosk -p NRestarts --value", 300, ok=lambda rc, out: int(out or 0) == restarts + 1
    )
    journal = board.shell("journalctl -b -u madoguchi-kiosk --no-pager -o cat")[1]
    assert "Watchdog timeout" in journal, journal[-2000:]
    _wait_status(board, "in service", BOOT_TIMEOUT)


# ---------------------------------------------------------------- reboot: a fresh root, the journal kept
def test_after_a_reboot_the_root_is_fresh_and_the_journal_is_kept(lab, report):
    board = lab["board"]
    before = _boot_id(board)
    marker = f"madoguchi-boot-test-{before[:8]}"
    board.shell(f"echo {marker} > /etc/{marker}; logger -t {marker} written-before-the-reboot; journalctl --sync")
    rebooted_at = time.monotonic()
    with contextlib.suppress(TimeoutError, OSError):  # the shell may go away before it answers
        board.shell("systemctl reboot --no-block", timeout=30)
    board.wait_shell(
        "cat /proc/sys/kernel/random/boot_id", BOOT_TIMEOUT, ok=lambda rc, out: out.strip() not in ("", before)
    )
    assert board.shell(f"test -e /etc/{marker}")[0] == 1, "a file written to the root survived the reboot"
    kept = board.wait_shell(f"journalctl -b -1 -t {marker} --no-pager -o cat", 300, ok=lambda rc, out: "written" in out)
    assert "written-before-the-reboot" in kept
    assert len(board.shell("journalctl --list-boots --no-pager")[1].strip().splitlines()) >= 2
    _wait_status(board, "in service")
    report["board"]["reboot"] = f"{time.monotonic() - rebooted_at:.0f} s (`systemctl reboot` → in service)"


# ---------------------------------------------------------------- a power cut mid-day
def test_a_power_cut_on_the_server_loses_no_ticket(lab, provisioned, report):
    server = lab["server"]
    kiosk = _bus(lab, provisioned, "kiosk-1f")
    acknowledged: list[int] = []
    stop = threading.Event()

    def issue_until_cut() -> None:
        while not stop.is_set():
            try:
                acknowledged.append(
                    kiosk.request("issue", {"procedures": ["juminhyo"]}, timeout=10)["ticket"]["number"]
                )
            except Exception:  # the server is gone: the requests fail, nothing more is acknowledged
                return

    issuing = threading.Thread(target=issue_until_cut)
    issuing.start()
    deadline = time.monotonic() + 300
    while len(acknowledged) < 10 and time.monotonic() < deadline and issuing.is_alive():
        time.sleep(0.2)
    assert len(acknowledged) >= 10, "tickets were not being issued before the cut"
    server.power_cut()  # mid-burst: the kiosk is still issuing
    stop.set()
    issuing.join(30)
    kiosk.stop()
    cut_at = len(acknowledged)

    server.start()
    status, connected, tickets = _healthy(server)
    report["server"]["reboot"] = f"{server.since_power_on():.0f} s after a power cut (/healthz ok)"
    assert int(tickets) >= cut_at + 1, f"{tickets} tickets after the cut, {cut_at} (+1 earlier) acknowledged"
    kiosk = _bus(lab, provisioned, "kiosk-1f")
    try:
        after = kiosk.request("issue", {"procedures": ["juminhyo"]}, timeout=60)["ticket"]["number"]
    finally:
        kiosk.stop()
    assert after > max(acknowledged), "a number was given out twice: the journal lost tickets"
    report["server"]["note: power cut"] = (
        f"{cut_at} tickets acknowledged before the cut, {tickets} in the journal after it, next number {after}"
    )
    _wait_status(lab["board"], "in service", 600)
