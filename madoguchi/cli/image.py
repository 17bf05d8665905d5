"""``madoguchi image``: a role's bootable disk image, the device bundle in it, and what an image holds.

    madoguchi image build ROLE [--arch amd64|arm64] [--out DIR] [--rootfs DIR] [--kernel-args ".."] [--mirror URL]
    madoguchi image bundle IMAGE BUNDLE_DIR
    madoguchi image show IMAGE

``build`` makes the root filesystem (images/build.py: mmdebstrap, needs root) and then the disk image file
(images/disk.py: genimage, no root) a technician flashes; ``--rootfs`` reuses a root filesystem built before,
so a changed kernel command line or boot loader costs seconds, not a Debian install. ``bundle`` puts a
provisioned device bundle (``bundles/<device>/`` of ``madoguchi provision``) on the image's boot partition,
where firstboot takes it; ``show`` is the check before flashing: the partitions and the boot partition's files.
Every precondition (root, tools, an existing root filesystem, a file that is not an image) is a message and
exit status 2, never a traceback. See docs/images.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from madoguchi.cli.common import run_command

if TYPE_CHECKING:
    from images.disk import Partition

NAME = "image"
HELP = "a role's bootable disk image: build ROLE, bundle IMAGE BUNDLE_DIR, show IMAGE"

#: sizes are printed in MiB, the unit of the partitions' sizes (images/disk.py's BOOT_MB, DATA_MB)
MB = 2**20
#: the EFI system partition's GPT type (sfdisk prints GUIDs in upper case)
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
DEFAULT_OUT = Path("build/images")
APT_TOOLS = "apt-get install mmdebstrap genimage mtools dosfstools e2fsprogs fdisk grub-common"


class Refused(Exception):
    """A precondition the user can fix (root, a tool, a folder in the way): its message, exit status 2."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True, metavar="{build,bundle,show}")
    b = sub.add_parser("build", help="the root filesystem (as root) and the disk image of a role")
    b.add_argument("role", help="a role of images/roles.toml (ticket, board, server, ...)")
    b.add_argument("--arch", default="amd64", choices=["amd64", "arm64"])
    b.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: ./{DEFAULT_OUT})")
    b.add_argument("--rootfs", type=Path, help="reuse this root filesystem folder (built before) instead of building")
    b.add_argument("--kernel-args", default="", help="added to the kernel command line (tests: a debug shell)")
    b.add_argument("--mirror", help="Debian mirror (default: deb.debian.org)")
    u = sub.add_parser("bundle", help="put a device bundle on the image's boot partition (no root needed)")
    u.add_argument("image", type=Path)
    u.add_argument("bundle", type=Path, metavar="BUNDLE_DIR", help="a provisioned bundles/<device>/ folder")
    s = sub.add_parser("show", help="the image's partitions and the files on its boot partition")
    s.add_argument("image", type=Path)


def main(argv: list[str]) -> int:
    description = "a role's bootable disk image (build), a device bundle into it (bundle), what it holds (show)"
    return run_command(NAME, description, add_arguments, run, argv)


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "build":
            return build(args)
        if args.action == "bundle":
            return bundle(args.image, args.bundle)
        return show(args.image)
    except Refused as exc:
        print(f"madoguchi image {args.action}: {exc}", file=sys.stderr)
        return 2


# ---------------------------------------------------------------- build
def build(args: argparse.Namespace) -> int:
    from images import build as rootfs_build
    from images import disk

    try:
        rootfs_build.resolve_role(args.role, args.arch)
    except KeyError as exc:
        raise Refused(exc.args[0]) from None
    out: Path = args.out
    name = f"{args.role}-{args.arch}"
    image = out / f"madoguchi-{name}.img"
    rootfs = args.rootfs or out / f"{name}.rootfs"
    if args.rootfs is not None:
        if not rootfs.is_dir():
            raise Refused(f"--rootfs {rootfs}: no such folder")
    else:
        # never deleted here: it is a whole Debian install's work (and may be the one the devices run)
        if rootfs.exists() and (not rootfs.is_dir() or any(rootfs.iterdir())):
            raise Refused(
                f"{rootfs} already exists and is not empty: make the disk image from it with --rootfs {rootfs}, "
                f"or remove it (rm -rf {rootfs}) to build a new one"
            )
        if os.geteuid() != 0:
            raise Refused(
                "building a root filesystem needs root (mmdebstrap installs Debian and chroot runs its scripts "
                "as root): run it with sudo, or make the disk image of a root filesystem built before with --rootfs"
            )
    missing = disk.missing_tools() + ([] if args.rootfs or shutil.which("mmdebstrap") else ["mmdebstrap"])
    if missing:
        raise Refused(f"missing {', '.join(missing)}: {APT_TOOLS}")
    steps: list[tuple[str, float, str]] = []
    if args.rootfs is not None:
        steps.append(("root filesystem", 0.0, f"reused {rootfs}"))
    else:
        started = time.monotonic()
        mirror = args.mirror or rootfs_build.DEFAULT_MIRROR
        rc = rootfs_build.build(args.role, rootfs, args.arch, mirror, None, None)
        if rc != 0:
            return rc  # images/build.py said why (and where its log is)
        steps.append(("root filesystem", time.monotonic() - started, f"built {rootfs} (log: {rootfs}.log)"))
    started = time.monotonic()
    try:
        parts = disk.make_disk(rootfs, image, args.arch, args.kernel_args)
    except RuntimeError as exc:
        print(f"madoguchi image build: the disk image failed: {exc}", file=sys.stderr)
        if os.geteuid() != 0:  # mke2fs copies every file: a built root filesystem has some only root may read
            print("(not root: a root filesystem built by root has files only root can read; try sudo)", file=sys.stderr)
        return 1
    steps.append(("disk image", time.monotonic() - started, "genimage, GRUB EFI"))
    print(report(image, parts, steps))
    return 0


def report(image: Path, parts: list[Partition], steps: list[tuple[str, float, str]]) -> str:
    """What was made: the file (apparent size and what it takes on the disk: genimage writes it sparse), its
    partitions and how long each step took."""
    lines = [f"image       {image}", f"size        {sizes(image)}", "partitions"]
    lines += [partition_line(p) for p in parts]
    lines.append("steps")
    lines += [f"  {step:<16} {duration(seconds):>9}  {what}" for step, seconds, what in steps]
    return "\n".join(lines)


def duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def sizes(image: Path) -> str:
    st = image.stat()
    return f"{st.st_size / MB:.0f} MB apparent, {st.st_blocks * 512 / MB:.0f} MB allocated"


def partition_line(part: Partition) -> str:
    kind = "EFI system partition" if part.type.upper() == ESP_TYPE else "Linux filesystem"
    return f"  {part.label:<16} {part.size / MB:>6.0f} MB  at {part.start / MB:.0f} MB  {kind}"


# ---------------------------------------------------------------- bundle, show
def checked_image(image: Path) -> list[Partition]:
    """The image's partitions, or :class:`Refused` saying why ``image`` is not a smart madoguchi image."""
    from images import disk

    if not image.is_file():
        raise Refused(f"{image}: no such image file")
    missing = disk.missing_tools(("sfdisk", "mdir", "mcopy"))
    if missing:
        raise Refused(f"missing {', '.join(missing)}: apt-get install fdisk mtools")
    try:
        parts = disk.partitions(image)
    except RuntimeError:
        raise Refused(f"{image} is not a disk image (no partition table)") from None
    if not any(p.label == "MDG-BOOT" for p in parts):
        raise Refused(f"{image} has no MDG-BOOT partition: not a smart madoguchi image")
    return parts


def bundle(image: Path, folder: Path) -> int:
    from images import disk

    checked_image(image)
    if not folder.is_dir():
        raise Refused(f"{folder}: no such folder (a provisioned bundle is bundles/<device>/)")
    try:
        written = disk.put_bundle(image, folder)
    except RuntimeError as exc:
        raise Refused(str(exc)) from None
    print(f"{image}: {len(written)} files of {folder} in {disk.BUNDLE_DIR}/ on the boot partition")
    print("boot partition:")
    print("\n".join(f"  {name}" for name in disk.boot_files(image)))
    return 0


def show(image: Path) -> int:
    from images import disk

    parts = checked_image(image)
    files = disk.boot_files(image)
    print(f"image       {image}")
    print(f"size        {sizes(image)}")
    print("partitions")
    print("\n".join(partition_line(p) for p in parts))
    print(f"bundle      {bundle_state(files, disk.BUNDLE_DIR)}")
    print("boot partition")
    print("\n".join(f"  {name}" for name in files))
    return 0


def bundle_state(files: list[str], folder: str) -> str:
    """What firstboot will find: a bundle to install, none yet, or one it installed (secrets deleted)."""
    inside = {f.removeprefix(folder + "/") for f in files if f.startswith(folder + "/")}
    if {"device.toml", "site.toml"} & inside:
        return f"{folder}/ holds a device bundle: firstboot installs it"
    if any(f.startswith(folder + ".installed/") for f in files):
        return f"installed at a first boot ({folder}.installed/); put a new one with madoguchi image bundle"
    return "none yet: madoguchi image bundle IMAGE BUNDLE_DIR (the device stops at firstboot without one)"
