"""devkit/vm.py without booting anything: the QEMU command line a Machine runs, and the guestfwd relay.

The command line is what makes two VMs talk only through the host's loopback (restrict=on, the forwards), keeps
a VM's UEFI variables across power cuts (its own copy of the firmware's) and gives the test its serial log, its
debug shell and QMP. The relay is the program QEMU runs for each connection a board opens to the server's
address: run here as QEMU runs it, from the option's own command, against a TCP echo server.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from devkit.vm import FIRMWARE, Forward, Machine


def option(cmd: list[str], flag: str) -> list[str]:
    """Every value of ``flag`` in ``cmd``, in order."""
    return [cmd[i + 1] for i, arg in enumerate(cmd[:-1]) if arg == flag]


def machine(tmp_path: Path, arch: str, **kw) -> Machine:
    """A machine whose UEFI variables copy already exists (the host needs no firmware package for these tests)."""
    vm = Machine("board", tmp_path / "board.img", tmp_path, arch, **kw)
    (tmp_path / "board-efivars.fd").write_bytes(b"this VM's own variables")
    return vm


@pytest.mark.parametrize(
    ("arch", "qemu", "board", "gpu"),
    [
        ("amd64", "qemu-system-x86_64", "q35", "virtio-vga,xres=1280,yres=800"),
        ("arm64", "qemu-system-aarch64", "virt", "virtio-gpu-pci,xres=1280,yres=800"),
    ],
)
def test_command_under_tcg(tmp_path, arch, qemu, board, gpu):
    forwards = [Forward(host=18883, guest=8883), Forward(18884, 8883, into_guest=False, address="10.0.2.100")]
    vm = machine(tmp_path, arch, forwards=forwards, address="10.0.2.100", memory_mb=3072, cpus=2)
    cmd = vm.command("tcg")
    assert cmd[0] == qemu
    assert option(cmd, "-machine") == [board]
    assert option(cmd, "-accel") == ["tcg,thread=multi"] and option(cmd, "-cpu") == ["max"]
    assert option(cmd, "-m") == ["3072"] and option(cmd, "-smp") == ["2"]
    assert "-nodefaults" in cmd and option(cmd, "-display") == ["none"]
    code, _ = FIRMWARE[arch]
    assert option(cmd, "-drive") == [
        f"if=pflash,format=raw,readonly=on,file={code}",  # the firmware, shared and never written
        f"if=pflash,format=raw,file={tmp_path / 'board-efivars.fd'}",  # this VM's variables (boot entries)
        f"if=virtio,format=raw,file={tmp_path / 'board.img'}",
    ]
    assert gpu in option(cmd, "-device")
    # user networking on loopback only: nothing but the explicit forwards, the guest's address from DHCP
    (net,) = option(cmd, "-netdev")
    parts = net.split(",")
    assert parts[:4] == ["user", "id=net0", "restrict=on", "dhcpstart=10.0.2.100"]
    assert parts[4] == "hostfwd=tcp:127.0.0.1:18883-:8883"
    assert parts[5].startswith("guestfwd=tcp:10.0.2.100:8883-cmd:") and parts[5].endswith(" relay 18884")
    assert len(parts) == 6
    assert "virtio-net-pci,netdev=net0" in option(cmd, "-device")
    # serial 0: the log (kernel, systemd, firstboot); serial 1: the debug shell's socket (ttyS1 / ttyAMA1)
    assert option(cmd, "-serial") == [f"file:{vm.serial_log}", f"unix:{vm.shell_socket},server=on,wait=off"]
    assert option(cmd, "-qmp") == [f"unix:{vm.qmp_socket},server=on,wait=off"]
    assert {vm.serial_log.parent, vm.shell_socket.parent, vm.qmp_socket.parent} == {tmp_path}
    has_usb_input = {"qemu-xhci", "usb-kbd", "usb-tablet"} <= set(option(cmd, "-device"))
    assert has_usb_input == (arch == "arm64")  # virt has no PS/2: the firmware's and GRUB's keyboard is USB
    # the variables copy is this VM's: not replaced by the template at the next start
    assert (tmp_path / "board-efivars.fd").read_bytes() == b"this VM's own variables"


def test_command_under_kvm_uses_the_host_cpu(tmp_path):
    cmd = machine(tmp_path, "amd64").command("kvm")
    assert option(cmd, "-accel") == ["kvm"] and option(cmd, "-cpu") == ["host,-arch-capabilities"]
    cmd = machine(tmp_path, "arm64").command("kvm")
    assert option(cmd, "-accel") == ["kvm"] and option(cmd, "-cpu") == ["host"]


def test_first_start_copies_the_firmware_variables(tmp_path):
    template = Path(FIRMWARE["amd64"][1])
    if not template.is_file():
        pytest.skip(f"no {template}: apt-get install ovmf")
    vm = Machine("server", tmp_path / "server.img", tmp_path)
    vm.command("tcg")
    assert (tmp_path / "server-efivars.fd").read_bytes() == template.read_bytes()


# ---------------------------------------------------------------- the guestfwd relay
class EchoServer:
    """Echoes every byte back on each connection; closes its side when the client closes its sending side."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def echo():
    server = EchoServer()
    yield server
    server.close()


def relay_command(port: int) -> list[str]:
    """The program QEMU runs per guest connection: the ``cmd:`` of the guestfwd option, as QEMU splits it."""
    opt = Forward(port, 8883, into_guest=False, address="10.0.2.100").option()
    return shlex.split(opt.split("-cmd:", 1)[1])


def test_relay_carries_bytes_both_ways(echo):
    cmd = relay_command(echo.port)
    assert Path(cmd[1]).name == "vm.py" and cmd[2:] == ["relay", str(echo.port)]
    data = os.urandom(3 * 2**20)  # more than any pipe or socket buffer: both directions at once
    done = subprocess.run(cmd, input=data, capture_output=True, timeout=30, cwd="/")  # not from the checkout
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == data
    assert echo.connections == 1


def test_relay_to_nothing_listening_ends_the_guests_connection():
    with socket.socket() as taken:  # a port bound but not listening: the server VM is not up yet
        taken.bind(("127.0.0.1", 0))
        done = subprocess.run(relay_command(taken.getsockname()[1]), input=b"hello", capture_output=True, timeout=30)
    # the board's connection ends (QEMU closes it when the program exits) instead of hanging; the app retries.
    # (libslirp gives the program one socket as stdin, stdout and stderr: what it says on stderr reaches the guest)
    assert done.returncode != 0 and done.stdout == b""


def test_the_command_line_forwards_read_as_documented():
    """docs/images.md tries a server and a board together with these two options."""
    from devkit.vm import _guestfwd, _hostfwd

    assert _hostfwd("28883:8883").option() == "hostfwd=tcp:127.0.0.1:28883-:8883"
    board = _guestfwd("10.0.2.100:8883=28883")
    assert (board.address, board.guest, board.host, board.into_guest) == ("10.0.2.100", 8883, 28883, False)
    assert board.option().startswith("guestfwd=tcp:10.0.2.100:8883-cmd:") and board.option().endswith("relay 28883")
