"""Boot a smart madoguchi disk image in QEMU, as a technician's device would start: firmware, GRUB, the kernel.

Used by the boot test (tests/images/test_boot.py) and by a developer trying an image before flashing it
(``python -m devkit.vm IMAGE``). Never installed on an appliance (the dev kit).

One :class:`Machine` is one VM: UEFI firmware (OVMF, or AAVMF for arm64) with its own copy of the variables,
the image as a virtio disk, a virtio GPU at a fixed resolution (the screendump is what the screen shows),
user-mode networking restricted to explicit forwards on the host's loopback (two VMs talk only through them),
the first serial port logged to a file (kernel, systemd, firstboot), QMP for screendumps and power cuts, and,
when the image was made with ``systemd.debug_shell=ttyS1`` (test images only), a root shell on the second serial
port that :meth:`Machine.shell` drives.

KVM when it works, TCG when it does not: on a nested VM /dev/kvm can exist and still fail (this machine kind's
OVMF stops with "KVM internal error ... emulation failure"), so ``accel="auto"`` starts with KVM, asks QMP
whether the guest is running and starts again under TCG if not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

FIRMWARE = {
    "amd64": ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
    "arm64": ("/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"),
}
QEMU = {"amd64": "qemu-system-x86_64", "arm64": "qemu-system-aarch64"}


@dataclass
class Forward:
    """A TCP forward on the host's loopback: ``host`` port → the guest's ``guest`` port (hostfwd), or the
    guest's ``address:port`` → the host's port (guestfwd: how a board reaches a server VM).

    A guestfwd to ``tcp:`` is one connection made when QEMU starts (a board booted beside a server that was
    not listening yet never reached it); ``cmd:`` runs a program per connection: :func:`relay`."""

    host: int
    guest: int
    into_guest: bool = True
    address: str = ""

    def option(self) -> str:
        if self.into_guest:
            return f"hostfwd=tcp:127.0.0.1:{self.host}-:{self.guest}"
        relay = f"{sys.executable} {Path(__file__).resolve()} relay {self.host}"
        return f"guestfwd=tcp:{self.address}:{self.guest}-cmd:{relay}"


@dataclass
class Machine:
    name: str
    disk: Path
    workdir: Path
    arch: str = "amd64"
    memory_mb: int = 2048
    cpus: int = 2
    resolution: tuple[int, int] = (1280, 800)
    forwards: list[Forward] = field(default_factory=list)
    #: the DHCP address the guest gets (slirp's first lease): a server's provisioned --broker-host
    address: str = "10.0.2.15"
    accel: str = "auto"
    process: subprocess.Popen | None = None
    used_accel: str = ""
    started_at: float = 0.0

    @property
    def serial_log(self) -> Path:
        return self.workdir / f"{self.name}-serial.log"

    @property
    def qmp_socket(self) -> Path:
        return self.workdir / f"{self.name}-qmp.sock"

    @property
    def shell_socket(self) -> Path:
        return self.workdir / f"{self.name}-shell.sock"

    def command(self, accel: str) -> list[str]:
        code, vars_template = FIRMWARE[self.arch]
        vars_copy = self.workdir / f"{self.name}-efivars.fd"
        if not vars_copy.exists():
            shutil.copy(vars_template, vars_copy)
        width, height = self.resolution
        if self.arch == "amd64":
            machine, host_cpu, gpu = "q35", "host,-arch-capabilities", f"virtio-vga,xres={width},yres={height}"
        else:
            machine, host_cpu, gpu = "virt", "host", f"virtio-gpu-pci,xres={width},yres={height}"
        cpu = ["-accel", "kvm", "-cpu", host_cpu] if accel == "kvm" else ["-accel", "tcg,thread=multi", "-cpu", "max"]
        forwards = [f.option() for f in self.forwards]
        net = ",".join(["user", "id=net0", "restrict=on", f"dhcpstart={self.address}", *forwards])
        cmd = [
            QEMU[self.arch], "-machine", machine, *cpu, "-smp", str(self.cpus), "-m", str(self.memory_mb),
            "-nodefaults",
            "-drive", f"if=pflash,format=raw,readonly=on,file={code}",
            "-drive", f"if=pflash,format=raw,file={vars_copy}",
            "-drive", f"if=virtio,format=raw,file={self.disk}",
            "-device", gpu, "-display", "none",
            "-netdev", net, "-device", "virtio-net-pci,netdev=net0",
            "-serial", f"file:{self.serial_log}",
            "-serial", f"unix:{self.shell_socket},server=on,wait=off",
            "-qmp", f"unix:{self.qmp_socket},server=on,wait=off",
        ]  # fmt: skip
        if self.arch == "arm64":
            cmd += ["-device", "qemu-xhci", "-device", "usb-kbd", "-device", "usb-tablet"]
        return cmd

    def start(self) -> None:
        """Power on. With ``accel="auto"``: KVM, and TCG if the guest does not run under KVM."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        choices = ["kvm", "tcg"] if self.accel == "auto" else [self.accel]
        if "kvm" in choices and not os.access("/dev/kvm", os.R_OK | os.W_OK):
            choices.remove("kvm")
        for accel in choices:
            self._spawn(accel)
            if accel != "kvm" or self._runs_under_kvm():
                self.used_accel = accel
                return
            self.kill()
        raise RuntimeError(f"{self.name}: QEMU did not start: see {self.workdir}/{self.name}-qemu.log")

    def _spawn(self, accel: str) -> None:
        if self.serial_log.exists() and self.serial_log.stat().st_size:  # keep the log of the boot before
            boots = len(list(self.workdir.glob(f"{self.name}-serial.*.log")))
            self.serial_log.rename(self.workdir / f"{self.name}-serial.{boots + 1}.log")
        for path in (self.serial_log, self.qmp_socket, self.shell_socket):
            path.unlink(missing_ok=True)
        log = (self.workdir / f"{self.name}-qemu.log").open("a")
        self.started_at = time.monotonic()
        command = self.command(accel)
        # in the caller's process group: Ctrl-C on a terminal powers the VMs off too
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not self.qmp_socket.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                said = (self.workdir / f"{self.name}-qemu.log").read_text()[-2000:]
                raise RuntimeError(f"{self.name}: QEMU exited: {said}")
            time.sleep(0.05)

    def _runs_under_kvm(self) -> bool:
        """KVM on a nested VM may fail at the firmware's first instructions: the VM then stops with an
        internal error (QMP status ``internal-error``) instead of running."""
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            status = self.qmp("query-status").get("return", {}).get("status")
            if status == "internal-error":
                return False
            time.sleep(0.5)
        return True

    # ------------------------------------------------------------ QMP
    def qmp(self, command: str, **arguments) -> dict:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(30)
            sock.connect(str(self.qmp_socket))
            stream = sock.makefile("rwb")
            json.loads(stream.readline())
            for name, args in (("qmp_capabilities", {}), (command, arguments)):
                stream.write(json.dumps({"execute": name, "arguments": args}).encode() + b"\n")
                stream.flush()
                while True:
                    reply = json.loads(stream.readline())
                    if "return" in reply or "error" in reply:
                        break
            return reply

    def screendump(self, png: Path) -> Path:
        """What the screen shows now, as a PNG."""
        from PIL import Image

        ppm = png.with_suffix(".ppm")
        reply = self.qmp("screendump", filename=str(ppm))
        if "error" in reply:
            raise RuntimeError(f"screendump: {reply['error']}")
        Image.open(ppm).save(png)
        ppm.unlink()
        return png

    def power_cut(self) -> None:
        """Pull the plug: QEMU quits at once, nothing in the guest is told or flushed."""
        with contextlib.suppress(OSError, ValueError):  # QEMU may close QMP before it answers
            self.qmp("quit")
        self.wait_exit(30)

    def wait_exit(self, timeout: float) -> int | None:
        if self.process is None:
            return None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    # ------------------------------------------------------------ the debug shell (second serial port)
    def shell(self, command: str, timeout: float = 60) -> tuple[int, str]:
        """Run ``command`` in the guest's debug shell (ttyS1, test images only): exit status and output."""
        marker = f"MDG{time.monotonic_ns()}"
        # The markers are split in the line sent ("MDG1""B"), so the terminal's echo of that line never matches,
        # and not anchored: with echo off the output starts right after the shell's prompt.
        line = f'echo "{marker}""B"; ( {command} ) 2>&1; echo "{marker}""E$?"\n'
        done = re.compile(rf"{marker}B\n(.*?){marker}E(\d+)", re.S)
        deadline = time.monotonic() + timeout
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.shell_socket))
            sock.settimeout(0.5)
            # no echo of what is typed, no pager, no colours: plain lines to parse
            sock.sendall(b"stty -echo 2>/dev/null; export SYSTEMD_PAGER=cat PAGER=cat SYSTEMD_COLORS=0 TERM=dumb\n")
            sock.sendall(line.encode())
            seen = b""
            while time.monotonic() < deadline:
                try:
                    chunk = sock.recv(65536)
                except TimeoutError:
                    continue
                if not chunk:  # QEMU closed the port: the VM is gone
                    break
                seen += chunk
                text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", seen.decode(errors="replace")).replace("\r", "")
                found = done.search(text)
                if found:
                    return int(found.group(2)), found.group(1)
        raise TimeoutError(f"{self.name}: no answer from the debug shell to {command!r} in {timeout:.0f} s")

    def wait_shell(self, command: str, timeout: float, ok=lambda rc, out: rc == 0) -> str:
        """Run ``command`` until ``ok(status, output)``: the output then."""
        deadline = time.monotonic() + timeout
        last: tuple[int | None, str] = (None, "")
        while time.monotonic() < deadline:
            try:
                last = self.shell(command, timeout=max(5.0, min(60.0, deadline - time.monotonic())))
            except (TimeoutError, OSError):
                time.sleep(1)
                continue
            if ok(*last):
                return last[1]
            time.sleep(1)
        raise TimeoutError(f"{self.name}: {command!r} still says {last} after {timeout:.0f} s")

    def since_power_on(self) -> float:
        return time.monotonic() - self.started_at


def relay(port: int) -> None:
    """Standard input/output ↔ ``127.0.0.1:port``, for one guest connection (a guestfwd ``cmd:``)."""
    import threading

    # QEMU gives the program one socket as stdin, stdout and stderr: a traceback must not go into the stream
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)

    with socket.create_connection(("127.0.0.1", port)) as sock:

        def to_host() -> None:
            while data := os.read(0, 65536):
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)

        threading.Thread(target=to_host, daemon=True).start()
        while data := sock.recv(65536):
            os.write(1, data)


def _interrupt(_signum, _frame) -> None:
    raise KeyboardInterrupt


def _hostfwd(text: str) -> Forward:
    host, guest = text.split(":")
    return Forward(int(host), int(guest))


def _guestfwd(text: str) -> Forward:
    where, host = text.split("=")
    address, port = where.rsplit(":", 1)
    return Forward(int(host), int(port), into_guest=False, address=address)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["relay"]:
        relay(int(argv[1]))
        return 0
    p = argparse.ArgumentParser(prog="python -m devkit.vm", description="boot a disk image in QEMU")
    p.add_argument("image", type=Path)
    p.add_argument("--arch", default="amd64", choices=sorted(QEMU))
    p.add_argument("--workdir", type=Path, default=Path("build/vm"))
    p.add_argument("--accel", default="auto", choices=["auto", "kvm", "tcg"])
    p.add_argument("--address", default="10.0.2.15", help="the guest's address (a server: its --broker-host)")
    p.add_argument(
        "--hostfwd", action="append", default=[], type=_hostfwd, metavar="HOSTPORT:GUESTPORT",
        help="the host's 127.0.0.1:HOSTPORT reaches the guest's GUESTPORT (a server: --hostfwd 28883:8883)",
    )  # fmt: skip
    p.add_argument(
        "--guestfwd", action="append", default=[], type=_guestfwd, metavar="ADDRESS:PORT=HOSTPORT",
        help="the guest's ADDRESS:PORT reaches the host's 127.0.0.1:HOSTPORT (a board: 10.0.2.100:8883=28883)",
    )  # fmt: skip
    p.add_argument("--screendump", type=Path, help="after --seconds, save the screen here and power off")
    p.add_argument("--seconds", type=float, default=120)
    args = p.parse_args(argv)
    vm = Machine(
        args.image.stem, args.image, args.workdir, args.arch, accel=args.accel, address=args.address,
        forwards=[*args.hostfwd, *args.guestfwd],
    )  # fmt: skip
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` powers it off like Ctrl-C: no QEMU left running
    vm.start()
    print(f"{vm.name}: running under {vm.used_accel}; serial log {vm.serial_log}; Ctrl-C powers it off")
    try:
        if args.screendump:
            time.sleep(args.seconds)
            vm.screendump(args.screendump)
            print(f"screen: {args.screendump}")
        else:
            vm.wait_exit(None)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pass
    finally:
        vm.power_cut()
    return 0


if __name__ == "__main__":
    sys.exit(main())
