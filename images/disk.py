"""A role's bootable disk image from its root filesystem: what a technician flashes (docs/images.md).

``madoguchi image build ROLE`` runs images/build.py (the root filesystem) and then this: one raw disk image
file with a GPT and three partitions, found by their labels (never by device names, which differ between a
PC's NVMe, a USB stick and a Pi's SD card):

========  ======  =====================================================================================
MDG-BOOT  FAT32   EFI system partition: ``EFI/BOOT/BOOTX64.EFI`` (or ``BOOTAA64.EFI``), the device bundle
                  (``madoguchi/``, put there by ``madoguchi image bundle``; firstboot moves it away)
MDG-ROOT  ext4    the root filesystem, mounted read-only with a tmpfs over it (overlayroot)
MDG-DATA  ext4    empty: the device's config, journals and state (``/var/lib/madoguchi``); grows on the device
========  ======  =====================================================================================

Made with **genimage** (Debian's package; the tool of Buildroot and PTXdist): it writes each filesystem from a
folder (``mke2fs -d``, ``mkdosfs`` + ``mcopy``) and then the partition table, as files, without loop devices or
mounts, so it runs where the root filesystem was built, in CI and in a container. systemd-repart in bookworm
(252) formats and fills partitions through loop devices and mounts (``--offline`` came in 254), and debos or
vmdb2 need the same. The boot loader is GRUB as one EFI file (``grub-mkstandalone``) with its configuration
inside, at the removable-media path every UEFI firmware looks for without NVRAM entries; it finds the root by
its label and boots the kernel and initramfs from it, so a new root image brings its own kernel. UEFI only:
every PC sold for a decade boots it (BIOS booting needs the boot code written into the disk's gaps).

Everything here is plain text (the genimage config, the GRUB config) or a call to a tool, so the layout is
tested without building anything (tests/images/test_disk.py) and with a tiny root filesystem.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: What each architecture's EFI firmware looks for on a removable disk, and GRUB's platform name.
EFI = {"amd64": ("BOOTX64.EFI", "x86_64-efi"), "arm64": ("BOOTAA64.EFI", "arm64-efi")}
#: The kernel's consoles: the serial port (technicians' cable, QEMU) first, the screen last (= /dev/console,
#: where systemd reports a failed unit during boot).
CONSOLES = {"amd64": "console=ttyS0,115200n8 console=tty0", "arm64": "console=ttyAMA0,115200 console=tty0"}
#: No console blanking (a board runs all day), a quiet boot screen.
KERNEL_ARGS = "quiet loglevel=3 consoleblank=0"
BOOT_MB = 256
DATA_MB = 512
#: the boot partition's folder the device bundle goes in (images/rootfs/usr/lib/madoguchi/firstboot)
BUNDLE_DIR = "madoguchi"
TOOLS = ("genimage", "mkdosfs", "mcopy", "mke2fs", "sfdisk", "grub-mkstandalone")


@dataclass(frozen=True)
class Partition:
    """One partition of a made image: where it is in the file (mtools and debugfs read it there)."""

    label: str
    start: int  # bytes
    size: int  # bytes
    type: str  # GPT type GUID


def grub_config(arch: str, extra_args: str = "") -> str:
    """The configuration inside the GRUB EFI file: find MDG-ROOT, boot its kernel read-only (overlayroot)."""
    args = " ".join(a for a in (KERNEL_ARGS, CONSOLES[arch], extra_args) if a)
    return (
        "# smart madoguchi (images/disk.py): the root partition by its label, its own kernel and initramfs.\n"
        "set timeout=0\n"
        "search --no-floppy --label MDG-ROOT --set=root\n"
        f"linux /vmlinuz root=LABEL=MDG-ROOT ro {args}\n"
        "initrd /initrd.img\n"
        "boot\n"
    )


def root_size_mb(rootfs_bytes: int) -> int:
    """The root partition: the files + 25 % (ext4's metadata, reserved blocks) + 256 MB, in 64 MB steps.

    Free space on a read-only root is only for an update of the same image size; the device writes to the
    data partition. (The board's 1.3 GB root gets a 1.9 GB partition: the whole image fits a 4 GB card.)
    """
    return int(math.ceil((rootfs_bytes * 1.25 / 2**20 + 256) / 64) * 64)


def genimage_config(name: str, rootfs: Path, root_mb: int, boot_files: list[str]) -> str:
    """genimage's configuration for ``name`` (the image file): GPT with the boot, root and data partitions."""
    files = ", ".join(f'"{f}"' for f in boot_files)
    return f"""# smart madoguchi (images/disk.py): {name}
image boot.vfat {{
  vfat {{
    label = "MDG-BOOT"
    extraargs = "-F 32"
    files = {{ {files} }}
  }}
  size = {BOOT_MB}M
  temporary = true
}}
image root.ext4 {{
  ext4 {{
    label = "MDG-ROOT"
    use-mke2fs = true
  }}
  srcpath = "{rootfs}"
  size = {root_mb}M
  temporary = true
}}
image data.ext4 {{
  ext4 {{
    label = "MDG-DATA"
    use-mke2fs = true
  }}
  empty = true
  size = {DATA_MB}M
  temporary = true
}}
image {name} {{
  hdimage {{
    partition-table-type = "gpt"
    align = 1M
  }}
  partition boot {{
    image = "boot.vfat"
    partition-type-uuid = "U"
  }}
  partition root {{
    image = "root.ext4"
    partition-type-uuid = "L"
  }}
  partition data {{
    image = "data.ext4"
    partition-type-uuid = "L"
  }}
}}
"""


def missing_tools(tools: tuple[str, ...] = TOOLS) -> list[str]:
    return [tool for tool in tools if shutil.which(tool, path=with_sbin()) is None]


def with_sbin(path: str | None = None) -> str:
    """``path`` (default: this process's PATH, read per call: tests change it) with /usr/sbin and /sbin: mkdosfs,
    mke2fs and sfdisk live there, and a user's PATH on Debian has neither (root's has), so ``image bundle`` and
    ``image show``, which need no root, said "missing sfdisk"."""
    folders = [*(os.environ.get("PATH", os.defpath) if path is None else path).split(os.pathsep), "/usr/sbin", "/sbin"]
    return os.pathsep.join(dict.fromkeys(folders))


def _env() -> dict[str, str]:
    """The tools' environment: genimage runs mkdosfs and mke2fs itself and searches this PATH."""
    return {**os.environ, "PATH": with_sbin()}


def make_disk(rootfs: Path, out: Path, arch: str = "amd64", kernel_args: str = "", log=None) -> list[Partition]:
    """``out``: the bootable image of ``rootfs`` (a folder images/build.py made). Returns its partitions.

    ``kernel_args`` are added to the kernel command line (tests boot with a debug shell on a second serial
    port; an appliance image gets none).
    """
    missing = missing_tools()
    if missing:
        raise RuntimeError(
            f"missing {', '.join(missing)}: apt-get install genimage dosfstools mtools e2fsprogs fdisk grub-common"
        )
    rootfs, out = rootfs.resolve(), out.resolve()
    modules = rootfs / "usr/lib/grub" / EFI[arch][1]
    if not modules.is_dir():
        raise RuntimeError(f"{rootfs} has no GRUB for {arch} ({modules}): build it with images/build.py")
    for link in ("vmlinuz", "initrd.img"):
        if not (rootfs / link).exists():
            raise RuntimeError(f"{rootfs} has no /{link}: not a built root filesystem")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="madoguchi-disk-", dir=out.parent) as tmp:
        work = Path(tmp)
        stage, empty, gtmp = work / "boot", work / "empty", work / "tmp"
        for folder in (stage / "EFI/BOOT", stage / BUNDLE_DIR, empty):
            folder.mkdir(parents=True)
        (stage / BUNDLE_DIR / "README.txt").write_text(
            "Put the device bundle here (madoguchi image bundle IMAGE BUNDLE, or copy bundles/<device>/*).\n"
            "At its first boot the device moves it to its data partition and renames this folder\n"
            "madoguchi.installed, without the secrets. See docs/images.md.\n"
        )
        grub_cfg = work / "grub.cfg"
        grub_cfg.write_text(grub_config(arch, kernel_args))
        efi_file, platform = EFI[arch]
        _run(
            [
                "grub-mkstandalone",
                "-O",
                platform,
                "-d",
                str(modules),
                "-o",
                str(stage / "EFI/BOOT" / efi_file),
                "--modules=part_gpt part_msdos ext2 fat search search_label linux normal configfile echo test",
                "--locales=",
                "--themes=",
                "--fonts=",
                f"boot/grub/grub.cfg={grub_cfg}",
            ],
            log,
        )
        on_fat = ["EFI", BUNDLE_DIR]
        if arch == "arm64":
            on_fat += raspi_boot_files(rootfs, stage)
        config = work / "genimage.cfg"
        size = _du(rootfs)
        config.write_text(genimage_config(out.name, rootfs, root_size_mb(size), on_fat))
        out.unlink(missing_ok=True)
        _run(
            [
                "genimage",
                "--config",
                str(config),
                "--rootpath",
                str(empty),
                "--tmppath",
                str(gtmp),
                "--inputpath",
                str(stage),
                "--outputpath",
                str(out.parent),
            ],
            log,
        )
    return partitions(out)


def raspi_boot_files(rootfs: Path, stage: Path) -> list[str]:
    """arm64: the Raspberry Pi's boot files next to ``EFI/`` on the FAT partition. Returns their names there.

    The Pi's GPU firmware reads ``start4.elf``/``fixup4.dat``, ``config.txt``, ``cmdline.txt``, the device tree,
    the kernel and the initramfs from the first FAT partition's top folder; Debian's raspi-firmware put them in
    the root filesystem's ``/boot/firmware`` (images/build.py ``raspi_settings``). They stay in the root partition
    too (hidden under the FAT mounted there): excluding them would mean a second staged copy of the whole root.
    """
    firmware = rootfs / "boot/firmware"
    names = []
    for src in sorted(firmware.iterdir()) if firmware.is_dir() else []:
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, stage / src.name)
        names.append(src.name)
    return names


def partitions(image: Path) -> list[Partition]:
    """The image's partitions from its partition table (``sfdisk --json``), with their filesystem labels."""
    if not image.is_file():
        raise RuntimeError(f"{image}: no such image file")
    try:
        table = json.loads(_out(["sfdisk", "--json", str(image)]))["partitiontable"]
    except (RuntimeError, ValueError, KeyError) as exc:
        raise RuntimeError(f"{image} has no partition table: not a disk image ({exc})") from exc
    sector = int(table.get("sectorsize", 512))
    found = []
    for number, part in enumerate(table["partitions"], 1):
        start, size = part["start"] * sector, part["size"] * sector
        found.append(Partition(_label(image, start, number), start, size, part["type"]))
    return found


def _label(image: Path, start: int, number: int) -> str:
    """A partition's filesystem label, read in place (FAT: bytes 71–81 of a FAT32 boot sector; ext4: 120 of
    the superblock at 1024)."""
    with image.open("rb") as f:
        f.seek(start)
        head = f.read(2048)
    if head[1080:1082] == b"\x53\xef":  # ext2/3/4 superblock magic
        return head[1024 + 120 : 1024 + 136].rstrip(b"\0").decode()
    if head[82:87] == b"FAT32":
        return head[71:82].decode().strip()
    return f"partition {number}"


def boot_partition(image: Path) -> Partition:
    for part in partitions(image):
        if part.label == "MDG-BOOT":
            return part
    raise RuntimeError(f"{image} has no MDG-BOOT partition: not a smart madoguchi image")


def put_bundle(image: Path, bundle: Path) -> list[str]:
    """A provisioned device bundle (``bundles/<device>/``) into the image's boot partition as ``madoguchi/``.

    The old ``madoguchi/`` (and a ``madoguchi.installed/`` left by firstboot) is replaced, so a re-flashed or
    re-provisioned device takes exactly this bundle. Returns the files written (relative to the bundle). mtools
    writes the FAT inside the image file: no mount, no root.
    """
    if not (bundle / "device.toml").is_file() and not (bundle / "site.toml").is_file():
        raise RuntimeError(f"{bundle} has neither device.toml nor site.toml: not a device bundle")
    where = f"{image}@@{boot_partition(image).start}"
    for old in (BUNDLE_DIR, BUNDLE_DIR + ".installed"):
        subprocess.run(["mdeltree", "-i", where, f"::/{old}"], capture_output=True, env=_env())  # absent is fine
    _run(["mmd", "-i", where, f"::/{BUNDLE_DIR}"])
    entries = sorted(bundle.iterdir())
    _run(["mcopy", "-i", where, "-s", "-p", *map(str, entries), f"::/{BUNDLE_DIR}/"])
    return sorted(str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file())


def boot_files(image: Path) -> list[str]:
    """Every file path on the image's boot partition (``mdir``), e.g. to check what firstboot left there."""
    where = f"{image}@@{boot_partition(image).start}"
    listing = _out(["mdir", "-i", where, "-/", "-b", "::/"])
    return sorted(line.removeprefix("::/") for line in listing.splitlines() if line and not line.endswith("/"))


def _du(path: Path) -> int:
    return int(_out(["du", "-sb", str(path)]).split()[0])


def _out(cmd: list[str]) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({result.returncode}): {result.stderr.strip()[-1000:]}")
    return result.stdout


def _run(cmd: list[str], log=None) -> None:
    result = subprocess.run(cmd, stdout=log or subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env())
    if result.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({result.returncode}): {(result.stdout or '')[-2000:]}")
