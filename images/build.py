"""Build an appliance's root filesystem: ``python -m images.build --role ticket --out DIR``.

mmdebstrap installs Debian bookworm with the role's packages (``images/roles.toml``) into
``DIR``, then runs this module again as its customize hook (``--customize DIR``, on the host,
with the rootfs as argument) which:

* copies ``images/rootfs/`` (units, udev rules, overlayroot, journald, PAM, polkit, firstboot),
  keeping only the role's udev rules and units, and writes ``/etc/default/madoguchi`` (the role);
* creates the ``kiosk`` user (screen roles) or the ``madoguchi`` system user (server);
* installs the project: a wheel of this checkout (``pip wheel --no-deps``) plus its pinned
  dependencies into ``/opt/madoguchi/venv`` (same architecture: from a wheelhouse built on the
  host; another architecture: pip inside the chroot under qemu-user, building what has no wheel);
* points ``/etc/madoguchi`` at the data partition (``/var/lib/madoguchi/config``), writes the
  fstab (boot, read-only root, data), hostname, time zone, locale;
* enables the role's units and masks what an appliance does not run.

Everything mmdebstrap and the hook print goes to ``DIR.log``, with a summary at the end
(duration, size, package count). See docs/images.md.
"""

from __future__ import annotations

import argparse
import configparser
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
ROLES_FILE = HERE / "roles.toml"
ROOTFS_SRC = HERE / "rootfs"
VENV = "/opt/madoguchi/venv"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
ARCHES = ("amd64", "arm64")
#: Debian's multiarch names for qemu-user-static (a foreign-architecture build needs binfmt).
QEMU = {"amd64": "x86_64", "arm64": "aarch64"}
#: Groups the kiosk user joins when the image has them: screen, input, sound, printers, serial devices.
KIOSK_GROUPS = ("video", "render", "input", "audio", "lp", "plugdev", "dialout")
#: What the foreign-architecture pip install needs to build pyscard (no aarch64 wheel); purged afterwards.
BUILD_DEPS = ("build-essential", "python3-dev", "swig", "libpcsclite-dev")
#: The image does not need manual pages, translations of messages or documentation (copyrights stay).
DPKG_EXCLUDES = (
    "path-exclude=/usr/share/man/*",
    "path-exclude=/usr/share/doc/*",
    "path-include=/usr/share/doc/*/copyright",
    "path-exclude=/usr/share/info/*",
    "path-exclude=/usr/share/locale/*",
    "path-include=/usr/share/locale/locale.alias",
)


# ---------------------------------------------------------------- roles.toml
@dataclass
class Role:
    name: str
    description: str
    screen: bool
    packages: list[str]
    units: list[str]
    udev: list[str]
    #: the setup.cfg extra with the Python packages this role runs (on top of install_requires)
    extra: str
    mask: list[str] = field(default_factory=list)
    components: list[str] = field(default_factory=lambda: ["main"])
    suite: str = "bookworm"
    variant: str = "apt"

    @property
    def user(self) -> str:
        """Who runs the role's app (and owns the bundle's secrets)."""
        return "kiosk" if self.screen else "madoguchi"


def load_roles(path: Path = ROLES_FILE) -> dict:
    with path.open("rb") as f:
        return tomllib.load(f)


def role_names(data: dict | None = None) -> list[str]:
    return sorted((data or load_roles())["roles"])


def resolve_role(name: str, arch: str = "amd64", data: dict | None = None) -> Role:
    """A role's full package list, units and udev rules (base + screen + role, for one architecture)."""
    data = data or load_roles()
    if name not in data["roles"]:
        raise KeyError(f"unknown role {name!r}: one of {', '.join(role_names(data))}")
    if arch not in ARCHES:
        raise KeyError(f"unknown architecture {arch!r}: one of {', '.join(ARCHES)}")
    base, role = data["base"], data["roles"][name]
    per_arch = base.get("arch", {}).get(arch, {})
    packages = [*base["packages"], *per_arch.get("packages", [])]
    units, mask = list(base.get("units", [])), list(base.get("mask", []))
    if role["screen"]:
        packages += data["screen"]["packages"]
        units += data["screen"]["units"]
        mask += data["screen"].get("mask", [])
    packages += role.get("packages", [])
    units += role.get("units", [])
    return Role(
        name=name,
        description=role["description"],
        extra=role["extra"],
        screen=role["screen"],
        packages=list(dict.fromkeys(packages)),
        units=list(dict.fromkeys(units)),
        udev=list(role.get("udev", [])),
        mask=mask,
        components=list(per_arch.get("components", ["main"])),
        suite=base.get("suite", "bookworm"),
        variant=base.get("variant", "apt"),
    )


# ---------------------------------------------------------------- the host side
def install_requires(extra: str | None = None) -> list[str]:
    """The pinned dependencies from setup.cfg every role runs, plus those of one ``extra`` (a role's)."""
    cfg = configparser.ConfigParser()
    cfg.read(PROJECT / "setup.cfg")
    lines = cfg["options"]["install_requires"].splitlines()
    if extra is not None:
        lines += cfg["options.extras_require"][extra].splitlines()
    return list(dict.fromkeys(line.strip() for line in lines if line.strip()))  # configparser drops comments


def host_arch() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()


def build_wheelhouse(wheels: Path, arch: str, project_wheel: Path | None, log, extra: str | None = None) -> None:
    """The project's wheel (``pip wheel --no-deps`` of this checkout) and, for the host's own architecture,
    wheels of the role's pinned dependencies (pyscard builds here: the host has swig and libpcsclite-dev)."""
    wheels.mkdir(parents=True, exist_ok=True)
    for old in wheels.glob("smart_madoguchi-*.whl"):
        old.unlink()
    if project_wheel is not None:
        shutil.copy2(project_wheel, wheels)
    else:
        with tempfile.TemporaryDirectory(prefix="madoguchi-wheel-") as tmp:
            for note in stage_project(Path(tmp)):
                _say(log, f"== wheel: {note}")
            _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(wheels), tmp], log)
    if arch == host_arch():
        cmd = [sys.executable, "-m", "pip", "wheel", "--wheel-dir", str(wheels), "--find-links", str(wheels)]
        _run([*cmd, *install_requires(extra)], log)


def stage_project(dest: Path) -> list[str]:
    """A clean copy of the checkout to build the wheel from: no stale ``build/`` or egg-info, and complete.

    setup.cfg's ``packages = find:`` only finds folders with an ``__init__.py``, and data files come from
    MANIFEST.in. The first image build found ``kiosk/bus`` without one and the locale, templates and static
    files missing; the repository now has both, and this check stays as a guard: a code folder without
    ``__init__.py`` gets one in the copy and is reported, and the package trees are grafted again.
    """
    notes = []
    for name in ("setup.cfg", "pyproject.toml", "README.md", "MANIFEST.in"):
        if (PROJECT / name).exists():
            shutil.copy2(PROJECT / name, dest / name)
    cfg = configparser.ConfigParser()
    cfg.read(PROJECT / "setup.cfg")
    patterns = cfg["options.packages.find"]["include"].split()
    # the dev kit (simulators, samples, demo windows) is never installed on an appliance
    tops = sorted({p.rstrip("*") for p in patterns if (PROJECT / p.rstrip("*")).is_dir()} - {"devkit"})
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "rootfs")
    for top in tops:
        shutil.copytree(PROJECT / top, dest / top, ignore=ignore)
        for folder in sorted(p for p in (dest / top).rglob("*") if p.is_dir()):
            if any(folder.glob("*.py")) and not (folder / "__init__.py").exists():
                (folder / "__init__.py").write_text("")
                notes.append(f"{folder.relative_to(dest)} has no __init__.py: added one in the wheel's copy")
    with (dest / "MANIFEST.in").open("a") as f:
        f.write("".join(f"\ngraft {top}" for top in tops) + "\nglobal-exclude *.py[co] __pycache__\n")
    return notes


def mmdebstrap_command(role: Role, out: Path, arch: str, mirror: str, wheels: Path) -> list[str]:
    hook = (
        f"cd {shlex.quote(str(PROJECT))} && {shlex.quote(sys.executable)} -m images.build"
        f' --role {role.name} --arch {arch} --wheels {shlex.quote(str(wheels))} --customize "$1"'
    )
    cmd = [
        "mmdebstrap",
        f"--variant={role.variant}",
        f"--architectures={arch}",
        f"--components={','.join(role.components)}",
        f"--include={','.join(role.packages)}",
        '--aptopt=APT::Install-Recommends "false"',
        *(f"--dpkgopt={opt}" for opt in DPKG_EXCLUDES),
        f"--customize-hook={hook}",
        role.suite,
        str(out),
    ]
    security = mirror.rstrip("/").removesuffix("/debian") + "/debian-security"
    comps = " ".join(role.components)
    cmd += [
        f"deb {mirror} {role.suite} {comps}",
        f"deb {mirror} {role.suite}-updates {comps}",
        f"deb {security} {role.suite}-security {comps}",
    ]
    return cmd


def build(role_name: str, out: Path, arch: str, mirror: str, project_wheel: Path | None, wheels: Path | None) -> int:
    role = resolve_role(role_name, arch)
    out = out.resolve()
    log_path = out.with_name(out.name + ".log")
    # `madoguchi image build` in a fresh checkout: build/images/ did not exist and the log could not be opened
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists() and any(out.iterdir()):
        print(f"{out} exists and is not empty: remove it first", file=sys.stderr)
        return 2
    if shutil.which("mmdebstrap") is None:
        print("mmdebstrap is not installed: apt-get install -y mmdebstrap", file=sys.stderr)
        return 2
    if arch != host_arch() and not Path(f"/proc/sys/fs/binfmt_misc/qemu-{QEMU[arch]}").exists():
        print(f"building {arch} on {host_arch()} needs qemu-user-static and binfmt-support", file=sys.stderr)
        return 2
    wheels = (wheels or Path(f"/var/cache/madoguchi-images/wheels-{arch}")).resolve()
    started = time.monotonic()
    with log_path.open("w") as log:
        _say(log, f"== smart madoguchi image: role {role.name} ({role.description}), {arch}, into {out}")
        _say(log, f"== {len(role.packages)} packages requested: {' '.join(role.packages)}")
        _say(log, f"== units: {' '.join(role.units)}; udev: {' '.join(role.udev) or '-'}")
        try:
            _say(log, f"== wheelhouse {wheels}")
            build_wheelhouse(wheels, arch, project_wheel, log, role.extra)
            cmd = mmdebstrap_command(role, out, arch, mirror, wheels)
            _say(log, "== " + shlex.join(cmd))
            _run(cmd, log)
        except subprocess.CalledProcessError as exc:
            _say(log, f"== FAILED after {time.monotonic() - started:.0f} s: {shlex.join(map(str, exc.cmd))}")
            print(f"the build failed: see {log_path}", file=sys.stderr)
            return 1
        _say(log, summary(out, time.monotonic() - started))
    return 0


def summary(root: Path, seconds: float) -> str:
    size = int(subprocess.run(["du", "-sb", str(root)], capture_output=True, text=True).stdout.split()[0])
    packages = subprocess.run(
        ["dpkg-query", f"--admindir={root}/var/lib/dpkg", "-W", "-f", "${db:Status-Abbrev}\\n"],
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    installed = sum(1 for line in packages if line.startswith("ii"))
    venv = subprocess.run(["du", "-sb", f"{root}{VENV}"], capture_output=True, text=True).stdout.split()
    return (
        f"== done in {seconds / 60:.1f} min: {size / 1e6:.0f} MB, {installed} Debian packages, "
        f"venv {int(venv[0]) / 1e6 if venv else 0:.0f} MB"
    )


def _say(log, text: str) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {text}"
    print(line, flush=True)
    log.write(line + "\n")
    log.flush()


def _run(cmd: list[str], log, **kw) -> None:
    log.flush()
    subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True, **kw)


# ---------------------------------------------------------------- the customize hook (host side, rootfs as $1)
def customize(root: Path, role: Role, arch: str, wheels: Path) -> None:
    print(f"== customize {root} for {role.name}", flush=True)
    copy_rootfs(root, role)
    write_settings(root, role)
    if arch == "arm64":
        raspi_settings(root)
    # the initramfs again, with the machine-id script (etc/initramfs-tools/scripts/init-bottom)
    subprocess.run(["chroot", str(root), "update-initramfs", "-u", "-k", "all"], check=True)
    make_users(root, role)
    install_venv(root, arch, wheels, role.extra)
    systemctl = ["systemctl", f"--root={root}"]
    subprocess.run([*systemctl, "mask", *role.mask], check=True)
    subprocess.run([*systemctl, "enable", *role.units], check=True)
    subprocess.run([*systemctl, "set-default", "graphical.target" if role.screen else "multi-user.target"], check=True)
    print(f"== customized: {role.name}", flush=True)


def copy_rootfs(root: Path, role: Role) -> None:
    """``images/rootfs`` into the image: every file, except the udev rules and units of other roles."""
    all_udev = {p.name for p in (ROOTFS_SRC / "etc/udev/rules.d").glob("*.rules")}
    all_units = {p.name for p in (ROOTFS_SRC / "etc/systemd/system").glob("madoguchi-*.service")}
    skip = (all_udev - set(role.udev)) | (all_units - set(role.units))
    for src in sorted(ROOTFS_SRC.rglob("*")):
        rel = src.relative_to(ROOTFS_SRC)
        if src.is_dir() or src.name in skip or src.name.endswith("~"):
            continue
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
        if rel.parts[:2] == ("etc", "sudoers.d"):
            dest.chmod(0o440)
        elif os.access(src, os.X_OK):
            dest.chmod(0o755)
        else:
            dest.chmod(0o644)


def write_settings(root: Path, role: Role) -> None:
    (root / "etc/default/madoguchi").write_text(
        "# Written by images/build.py: the role this image runs (madoguchi-*.service read it).\n"
        f"MADOGUCHI_ROLE={role.name}\nMADOGUCHI_USER={role.user}\n"
        "# Extra arguments of the server's units (override in /etc/madoguchi/server.env from the bundle).\n"
        "MADOGUCHI_BROKER_ARGS=\nMADOGUCHI_SERVICE_ARGS=\n"
    )
    # The device's configuration lives on the data partition: the root is read-only.
    _link(root / "etc/madoguchi", "/var/lib/madoguchi/config")
    # The data partition's folders are made by the units (StateDirectory=) and firstboot once it is mounted: a
    # tmpfiles line made them on the root before the `nofail` mount hid them (booted in QEMU: the app's unit
    # looped on 200/CHDIR).
    (root / "var/lib/madoguchi").mkdir(parents=True, exist_ok=True)
    # the journal lives on the data partition too (journald.conf.d/madoguchi.conf)
    _link(root / "var/log/journal", "/var/lib/madoguchi/journal")
    boot = "/boot/firmware" if role_arch(root) == "arm64" else "/boot/efi"
    # the data partition may take a while to appear (booted in QEMU without KVM, udev named it after 23 s): a 10 s
    # timeout failed its mount for good, and with it firstboot and the app, which never retried
    (root / "etc/fstab").write_text(
        "# boot (FAT: firmware or EFI, and the device bundle in madoguchi/), read-only root (overlayroot puts a\n"
        "# tmpfs over it), data (ext4: device config, journals, payments); see docs/images.md\n"
        "LABEL=MDG-ROOT  /                   ext4  ro,noatime,errors=remount-ro  0 1\n"
        f"LABEL=MDG-BOOT  {boot:<19} vfat  umask=0077,noatime,nofail  0 2\n"
        "LABEL=MDG-DATA  /var/lib/madoguchi  ext4  noatime,nofail,x-systemd.device-timeout=90s,commit=30  0 2\n"
    )
    (root / boot.lstrip("/")).mkdir(parents=True, exist_ok=True)
    hostname = f"madoguchi-{role.name}"
    (root / "etc/hostname").write_text(hostname + "\n")
    (root / "etc/hosts").write_text(f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\t\tlocalhost ip6-localhost\n")
    localtime = root / "etc/localtime"
    localtime.unlink(missing_ok=True)
    localtime.symlink_to("/usr/share/zoneinfo/Asia/Tokyo")
    (root / "etc/timezone").write_text("Asia/Tokyo\n")
    (root / "etc/locale.gen").write_text("C.UTF-8 UTF-8\nja_JP.UTF-8 UTF-8\n")
    (root / "etc/default/locale").write_text("LANG=C.UTF-8\n")
    subprocess.run(["chroot", str(root), "locale-gen"], check=True)


#: The Raspberry Pi's kernel command line (raspi-firmware writes cmdline.txt from these at every kernel or initramfs
#: update): the root by its label, the Pi's mini-UART (GPIO 14/15, ``enable_uart=1``) then the screen (the last
#: console is /dev/console). Debian's hook hard-codes ``rw``; the ``ro`` after it wins (the kernel and the
#: initramfs both take the last one): overlayroot wants the lower root read-only.
RASPI_FIRMWARE = 'ROOTPART="LABEL=MDG-ROOT"\nCONSOLES="ttyS1,115200 tty0"\n'
RASPI_EXTRA_CMDLINE = "ro quiet loglevel=3 consoleblank=0\n"
#: config.txt lines after Debian's (arm_64bit=1, enable_uart=1, upstream_kernel=1, kernel=, initramfs): the mainline
#: kernel's own device trees already have the vc4/v3d GPU (no ``dtoverlay=vc4-kms-v3d``: that overlay is for the
#: Raspberry Pi kernel's trees, and Debian ships no overlays); the whole HDMI picture, no black border.
RASPI_FIRMWARE_CUSTOM = "disable_overscan=1\n"


def raspi_settings(root: Path) -> None:
    """arm64: what Debian's raspi-firmware needs to write the Pi's boot files for this image's disk layout.

    Its hooks copy the GPU firmware, the device trees, the kernel and the initramfs into ``/boot/firmware`` and
    write ``config.txt`` and ``cmdline.txt`` there; images/disk.py copies that folder onto the FAT partition. The
    ``update-initramfs -u -k all`` that ``customize`` runs next calls them again with these settings.
    """
    header = "# Written by images/build.py (raspi_settings): the Raspberry Pi's boot files; see docs/images.md.\n"
    (root / "etc/default/raspi-firmware").write_text(header + RASPI_FIRMWARE)
    (root / "etc/default/raspi-extra-cmdline").write_text(RASPI_EXTRA_CMDLINE)  # one line, no comments (the hook)
    (root / "etc/default/raspi-firmware-custom").write_text(RASPI_FIRMWARE_CUSTOM)


def _link(path: Path, target: str) -> None:
    """``path`` (a folder or file the packages made, or a link) becomes a link to ``target``."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    path.unlink(missing_ok=True)
    path.symlink_to(target)


def role_arch(root: Path) -> str:
    return subprocess.run(
        ["chroot", str(root), "dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def make_users(root: Path, role: Role) -> None:
    groups = {line.split(":")[0] for line in (root / "etc/group").read_text().splitlines() if line}
    if role.screen:
        member = ",".join(g for g in KIOSK_GROUPS if g in groups)
        cmd = ["useradd", "--create-home", "--user-group", "--shell", "/usr/sbin/nologin", "--groups", member]
        subprocess.run(["chroot", str(root), *cmd, "--comment", "smart madoguchi kiosk", "kiosk"], check=True)
    else:
        cmd = ["useradd", "--system", "--user-group", "--home-dir", "/var/lib/madoguchi", "--no-create-home"]
        subprocess.run(["chroot", str(root), *cmd, "--shell", "/usr/sbin/nologin", "madoguchi"], check=True)


def install_venv(root: Path, arch: str, wheels: Path, extra: str) -> None:
    """``/opt/madoguchi/venv``: the project's wheel with its role's ``extra``: only what the role runs."""
    # the host's pip settings (PIP_FIND_LINKS, an index, ...) are not the image's business
    chroot = ["chroot", str(root), "env", *(f"-u{k}" for k in os.environ if k.startswith("PIP_"))]
    subprocess.run([*chroot, "python3", "-m", "venv", VENV], check=True)
    inside = root / "tmp/madoguchi-wheels"
    shutil.copytree(wheels, inside, dirs_exist_ok=True)
    project = sorted(inside.glob("smart_madoguchi-*.whl"))[-1]
    pip = [*chroot, f"{VENV}/bin/pip", "install", "--no-cache-dir", "--disable-pip-version-check"]
    native = arch == host_arch()
    try:
        if native:
            local = ["--no-index", "--find-links", "/tmp/madoguchi-wheels"]
            subprocess.run([*pip, *local, f"/tmp/madoguchi-wheels/{project.name}[{extra}]"], check=True)
        else:  # under qemu: from PyPI, building what has no wheel for this architecture
            # systemd-resolved's package made /etc/resolv.conf a link to its stub in /run, empty in the chroot:
            # apt and pip resolved nothing (the first arm64 build). The host's resolver meanwhile, the link after.
            resolv = root / "etc/resolv.conf"
            stub = os.readlink(resolv) if resolv.is_symlink() else None
            if stub is not None:
                resolv.unlink()
                shutil.copy2("/etc/resolv.conf", resolv)
            try:
                apt = [*chroot, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]
                subprocess.run([*apt, "update", "--error-on=any"], check=True)  # not only warnings
                before = _packages(chroot)
                subprocess.run([*apt, "install", "-y", "--no-install-recommends", *BUILD_DEPS], check=True)
                # the host's trust store: a build host behind a TLS-inspecting proxy (its CA there, not in pip's
                # certifi) got "self-signed certificate in certificate chain" from PyPI in the chroot. By variables,
                # not --cert: the host's REQUESTS_CA_BUNDLE (a path that means the chroot's own bundle there) beats it
                shutil.copy2("/etc/ssl/certs/ca-certificates.crt", inside / "host-ca.crt")
                ca = [
                    f"{k}=/tmp/madoguchi-wheels/host-ca.crt"
                    for k in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
                ]
                subprocess.run(
                    [*chroot, *ca, *pip[len(chroot) :], f"/tmp/madoguchi-wheels/{project.name}[{extra}]"], check=True
                )
                # exactly what BUILD_DEPS brought: `purge --autoremove BUILD_DEPS` left gcc, make and dpkg-dev (they
                # recommend each other, and autoremove keeps what an installed package recommends)
                subprocess.run([*apt, "purge", "-y", *sorted(_packages(chroot) - before)], check=True)
                subprocess.run([*apt, "clean"], check=True)
            finally:
                if stub is not None:
                    resolv.unlink(missing_ok=True)
                    resolv.symlink_to(stub)
    finally:
        shutil.rmtree(inside, ignore_errors=True)
    link = root / "usr/local/bin/madoguchi"
    link.unlink(missing_ok=True)
    link.symlink_to(f"{VENV}/bin/madoguchi")
    subprocess.run([*chroot, f"{VENV}/bin/madoguchi", "--help"], check=True, stdout=subprocess.DEVNULL)


def _packages(chroot: list[str]) -> set[str]:
    """The packages installed in the chroot (``chroot`` is the command prefix that enters it)."""
    query = [*chroot, "dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Package}\\n"]
    out = subprocess.run(query, capture_output=True, text=True, check=True).stdout
    return {line.split()[1] for line in out.splitlines() if line.startswith("ii")}


# ---------------------------------------------------------------- command line
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m images.build", description="build an appliance root filesystem")
    p.add_argument("--role", required=True, choices=role_names())
    p.add_argument("--out", type=Path, help="the root filesystem folder (created; must not exist or be empty)")
    p.add_argument("--arch", default="amd64", choices=ARCHES)
    p.add_argument("--mirror", default=DEFAULT_MIRROR, help=f"Debian mirror (default {DEFAULT_MIRROR})")
    p.add_argument("--project-wheel", type=Path, help="install this wheel instead of building one of the checkout")
    p.add_argument("--wheels", type=Path, help="wheelhouse (default /var/cache/madoguchi-images/wheels-ARCH)")
    p.add_argument("--customize", type=Path, metavar="ROOTFS", help=argparse.SUPPRESS)  # mmdebstrap's hook
    args = p.parse_args(argv)
    if args.customize is not None:
        customize(args.customize, resolve_role(args.role, args.arch), args.arch, args.wheels)
        return 0
    if args.out is None:
        p.error("--out is required")
    return build(args.role, args.out, args.arch, args.mirror, args.project_wheel, args.wheels)


if __name__ == "__main__":
    sys.exit(main())
