"""images/disk.py and ``madoguchi image``: the disk image's layout, made for real from a tiny root filesystem.

Fast (a second or two for the whole file): the root filesystem is a handful of files with fake kernel and
initramfs files and the host's GRUB modules, so genimage, mke2fs, mkdosfs, grub-mkstandalone and mtools all run
for real on a small image (sparse: ~1.1 GB apparent, a few MB on the disk). One image per module; the bundle
tests write into its boot partition in file order. What a booted image does is tests/images/test_boot.py's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from images import disk
from madoguchi.cli import main as madoguchi
from tests.system.test_tls_stack import provision_site

HOST_GRUB = Path("/usr/lib/grub/x86_64-efi")
#: the tools disk.py runs plus what these tests read the image with
NEEDED = (*disk.TOOLS, "mdir", "mtype", "mmd", "mren", "mdeltree", "debugfs")
ESP = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"  # GPT: EFI system partition
LINUX = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"  # GPT: Linux filesystem data
MiB = 2**20
KERNEL_ARGS = "systemd.debug_shell=ttyS1"


def why_not_here() -> str | None:
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        return f"missing {', '.join(missing)}: apt-get install genimage mtools dosfstools fdisk e2fsprogs grub-common"
    if not HOST_GRUB.is_dir():
        return f"no {HOST_GRUB}: apt-get install grub-efi-amd64-bin"
    return None


def fake_rootfs(root: Path) -> Path:
    """What make_disk needs of a built root filesystem: the kernel links (relative, as Debian's kernel package
    makes them), GRUB's EFI modules, and a few files to find again on the root partition."""
    (root / "boot").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "boot/vmlinuz-6.1.0-test-amd64").write_bytes(b"MZ not a kernel" + bytes(4096))
    (root / "boot/initrd.img-6.1.0-test-amd64").write_bytes(b"not an initramfs")
    (root / "vmlinuz").symlink_to("boot/vmlinuz-6.1.0-test-amd64")
    (root / "initrd.img").symlink_to("boot/initrd.img-6.1.0-test-amd64")
    (root / "etc/hostname").write_text("madoguchi-test\n")
    (root / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (root / "etc/shadow").chmod(0o640)
    shutil.copytree(HOST_GRUB, root / "usr/lib/grub/x86_64-efi")
    return root


@pytest.fixture(scope="module", autouse=True)
def sbin_on_path():
    """mkdosfs, mke2fs, sfdisk and debugfs are in /usr/sbin, not on a user's PATH on Debian: tests run as a user
    find them as root does (``madoguchi image`` does the same for itself)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", disk.with_sbin())
        yield


@dataclass
class Made:
    rootfs: Path
    image: Path
    parts: list[disk.Partition]


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Made:
    reason = why_not_here()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("disk")
    rootfs = fake_rootfs(tmp / "rootfs")
    image = tmp / "out" / "madoguchi-test-amd64.img"
    parts = disk.make_disk(rootfs, image, "amd64", KERNEL_ARGS)
    return Made(rootfs, image, parts)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory, site) -> Path:
    """A provisioned site's bundles/: appliances' (device.toml, ca.crt, site.toml, the password) and the
    server's (``server-bundle``: with a ``broker/`` subfolder)."""
    prov = provision_site(tmp_path_factory.mktemp("provision"), site)
    assert prov.run("server-bundle") == 0
    return prov.root / "bundles"


def part(made: Made, label: str) -> disk.Partition:
    return next(p for p in made.parts if p.label == label)


def debugfs(made: Made, label: str, request: str) -> str:
    """debugfs reads the ext4 filesystem in place, at the partition's offset in the image file."""
    where = f"{made.image}?offset={part(made, label).start}"
    result = subprocess.run(["debugfs", "-R", request, where], capture_output=True, text=True, check=True)
    return result.stdout


def boot_file(image: Path, name: str) -> bytes:
    where = f"{image}@@{disk.boot_partition(image).start}"
    return subprocess.run(["mtype", "-i", where, f"::/{name}"], capture_output=True, check=True).stdout


def files_of(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------- the text: GRUB's and genimage's configs
@pytest.mark.parametrize(("arch", "efi", "platform", "console"), [
    ("amd64", "BOOTX64.EFI", "x86_64-efi", "console=ttyS0,115200n8"),
    ("arm64", "BOOTAA64.EFI", "arm64-efi", "console=ttyAMA0,115200"),
])  # fmt: skip
def test_grub_config_boots_the_kernel_of_the_partition_labelled_root(arch, efi, platform, console):
    assert disk.EFI[arch] == (efi, platform)  # the removable-media path every UEFI firmware looks for
    text = disk.grub_config(arch)
    lines = text.splitlines()
    assert "set timeout=0" in lines
    assert "search --no-floppy --label MDG-ROOT --set=root" in lines
    assert "initrd /initrd.img" in lines and lines[-1] == "boot"
    (linux,) = [line for line in lines if line.startswith("linux ")]
    args = linux.split()
    assert args[:4] == ["linux", "/vmlinuz", "root=LABEL=MDG-ROOT", "ro"]
    # the serial console first, the screen last: /dev/console (where systemd reports failures) is the screen
    consoles = [a for a in args if a.startswith("console=")]
    assert consoles == [console, "console=tty0"]
    assert {"quiet", "consoleblank=0"} <= set(args)
    assert linux == linux.strip() and "  " not in linux
    # extra arguments come last, so a test image's may override the appliance's
    extra = disk.grub_config(arch, "systemd.debug_shell=ttyS1 quiet=0")
    (linux_extra,) = [line for line in extra.splitlines() if line.startswith("linux ")]
    assert linux_extra == f"{linux} systemd.debug_shell=ttyS1 quiet=0"


def blocks(config: str) -> dict[str, str]:
    """genimage's top-level ``image NAME { ... }`` blocks by name (braces nest)."""
    found: dict[str, str] = {}
    depth, name, body = 0, "", list[str]()
    for line in config.splitlines():
        if depth == 0 and (m := re.match(r"image (\S+) \{$", line)):
            name, body = m.group(1), []
        elif depth == 1 and line == "}":
            found[name] = "\n".join(body)
        else:
            body.append(line)
        depth += line.count("{") - line.count("}")
    return found


def test_genimage_config_is_a_gpt_with_boot_root_and_data_partitions(tmp_path):
    text = disk.genimage_config("madoguchi-board-amd64.img", tmp_path / "board.rootfs", 1856, ["EFI", "madoguchi"])
    images = blocks(text)
    assert list(images) == ["boot.vfat", "root.ext4", "data.ext4", "madoguchi-board-amd64.img"]
    boot, root, data, whole = images.values()
    assert 'label = "MDG-BOOT"' in boot and 'extraargs = "-F 32"' in boot  # FAT32: what UEFI reads everywhere
    assert 'files = { "EFI", "madoguchi" }' in boot and "size = 256M" in boot
    assert 'label = "MDG-ROOT"' in root and f'srcpath = "{tmp_path / "board.rootfs"}"' in root
    assert "size = 1856M" in root and "use-mke2fs = true" in root
    assert 'label = "MDG-DATA"' in data and "empty = true" in data and "size = 512M" in data
    assert all("temporary = true" in body for body in (boot, root, data))  # only the disk image is left
    assert 'partition-table-type = "gpt"' in whole and "align = 1M" in whole
    table = re.findall(r'partition (\w+) \{\s+image = "([^"]+)"\s+partition-type-uuid = "(\w)"', whole)
    assert table == [("boot", "boot.vfat", "U"), ("root", "root.ext4", "L"), ("data", "data.ext4", "L")]


def test_root_partition_leaves_room_in_64_mb_steps():
    assert disk.root_size_mb(0) == 256
    assert disk.root_size_mb(1) == 320  # one byte more than nothing: the next step
    assert disk.root_size_mb(int(1.3e9)) == 1856  # the board's root filesystem: 1.9 GB, the image fits 4 GB
    for size in range(0, 4 * 10**9, 97 * 10**6 + 12345):
        mb = disk.root_size_mb(size)
        assert mb % 64 == 0
        assert mb >= size * 1.25 / MiB + 256 > mb - 64


# ---------------------------------------------------------------- make_disk on a tiny root filesystem
def test_made_image_has_boot_root_and_data_partitions_by_label(made):
    assert [p.label for p in made.parts] == ["MDG-BOOT", "MDG-ROOT", "MDG-DATA"]
    assert [p.type for p in made.parts] == [ESP, LINUX, LINUX]
    du = int(subprocess.run(["du", "-sb", str(made.rootfs)], capture_output=True, text=True).stdout.split()[0])
    assert [p.size // MiB for p in made.parts] == [disk.BOOT_MB, disk.root_size_mb(du), disk.DATA_MB]
    ends = 0
    for p in made.parts:  # aligned, in order, not overlapping, inside the file
        assert p.start % MiB == 0 and p.start >= ends
        ends = p.start + p.size
    assert made.image.stat().st_size >= ends
    assert disk.partitions(made.image) == made.parts  # read again from the file: the same table
    assert disk.boot_partition(made.image) == made.parts[0]
    # genimage writes it sparse: far less on the disk than the 1.1 GB a technician flashes
    assert made.image.stat().st_blocks * 512 < made.image.stat().st_size / 4


def test_boot_partition_has_the_efi_loader_with_its_config_and_the_bundle_folder(made):
    assert disk.boot_files(made.image) == ["EFI/BOOT/BOOTX64.EFI", "madoguchi/README.txt"]
    loader = boot_file(made.image, "EFI/BOOT/BOOTX64.EFI")
    assert loader[:2] == b"MZ"  # a PE executable, what the firmware runs
    # grub-mkstandalone puts grub.cfg into the loader's memdisk as it is: the command line the kernel gets
    assert disk.grub_config("amd64", KERNEL_ARGS).encode() in loader
    assert b"madoguchi image bundle" in boot_file(made.image, "madoguchi/README.txt")


def test_root_partition_holds_the_root_filesystem(made):
    assert debugfs(made, "MDG-ROOT", "cat /etc/hostname") == "madoguchi-test\n"
    assert re.search(r"Mode:\s+0640\b", debugfs(made, "MDG-ROOT", "stat /etc/shadow"))
    kernel = debugfs(made, "MDG-ROOT", "stat /vmlinuz")
    assert "Type: symlink" in kernel and "boot/vmlinuz-6.1.0-test-amd64" in kernel  # the link, as GRUB reads it
    assert (
        debugfs(made, "MDG-ROOT", "cat /boot/vmlinuz-6.1.0-test-amd64").encode()
        == (made.rootfs / "boot/vmlinuz-6.1.0-test-amd64").read_bytes()
    )


def test_data_partition_is_an_empty_ext4(made):
    names = {line.split("/")[5] for line in debugfs(made, "MDG-DATA", "ls -p /").splitlines() if line.count("/") > 5}
    assert names == {".", "..", "lost+found"}


def test_make_disk_refuses_what_is_not_a_built_root_filesystem(made, tmp_path):
    out = tmp_path / "x.img"
    with pytest.raises(RuntimeError, match="no GRUB for arm64"):
        disk.make_disk(made.rootfs, out, "arm64")  # amd64's modules only
    half = tmp_path / "half"
    shutil.copytree(made.rootfs / "usr", half / "usr", symlinks=True)
    with pytest.raises(RuntimeError, match="no /vmlinuz"):
        disk.make_disk(half, out)
    assert not out.exists()


# ---------------------------------------------------------------- the device bundle in the boot partition
def test_put_bundle_writes_the_bundle_with_its_subfolders(made, bundles):
    server = bundles / "queue-service"
    assert (server / "broker/acl").is_file()  # the server's bundle has a subfolder
    written = disk.put_bundle(made.image, server)
    assert written == files_of(server)
    on_boot = disk.boot_files(made.image)
    assert on_boot == sorted(["EFI/BOOT/BOOTX64.EFI", *(f"madoguchi/{f}" for f in written)])  # README replaced
    for name in ("device.toml", "broker/acl", "broker/server.key", "queue-service.password"):
        assert boot_file(made.image, f"madoguchi/{name}") == (server / name).read_bytes(), name


def test_put_bundle_again_replaces_the_old_bundle_and_what_firstboot_left(made, bundles):
    where = f"{made.image}@@{disk.boot_partition(made.image).start}"
    disk.put_bundle(made.image, bundles / "queue-service")
    # firstboot's end: the bundle renamed madoguchi.installed (its secrets deleted)
    subprocess.run(["mren", "-i", where, "::/madoguchi", "::/madoguchi.installed"], check=True)
    assert any(f.startswith("madoguchi.installed/broker/") for f in disk.boot_files(made.image))
    board = bundles / "board-1f"
    written = disk.put_bundle(made.image, board)
    assert disk.boot_files(made.image) == ["EFI/BOOT/BOOTX64.EFI", *(f"madoguchi/{f}" for f in written)]
    # and over a bundle not yet installed: the server's broker/ folder is gone, only the board's files are there
    disk.put_bundle(made.image, bundles / "queue-service")
    disk.put_bundle(made.image, board)
    assert disk.boot_files(made.image) == ["EFI/BOOT/BOOTX64.EFI", *(f"madoguchi/{f}" for f in files_of(board))]
    assert boot_file(made.image, "madoguchi/board-1f.password") == (board / "board-1f.password").read_bytes()


def test_put_bundle_refuses_a_folder_that_is_not_a_bundle_and_leaves_the_image(made, bundles, tmp_path):
    disk.put_bundle(made.image, bundles / "board-1f")
    before = (disk.boot_files(made.image), made.image.stat().st_mtime_ns)
    (tmp_path / "ca.crt").write_text("not a bundle without its device file")
    with pytest.raises(RuntimeError, match="neither device.toml nor site.toml"):
        disk.put_bundle(made.image, tmp_path)
    assert (disk.boot_files(made.image), made.image.stat().st_mtime_ns) == before


# ---------------------------------------------------------------- madoguchi image
def test_cli_show_lists_partitions_bundle_and_boot_files(made, bundles, capsys):
    disk.put_bundle(made.image, bundles / "board-1f")
    assert madoguchi(["image", "show", str(made.image)]) == 0
    out = capsys.readouterr().out
    for label, mb in (("MDG-BOOT", 256), ("MDG-DATA", 512)):
        assert re.search(rf"^  {label}\s+{mb} MB", out, re.M), out
    assert "EFI system partition" in out
    assert re.search(r"^bundle .*holds a device bundle", out, re.M)
    assert re.search(r"^  madoguchi/device.toml$", out, re.M) and re.search(r"^  EFI/BOOT/BOOTX64.EFI$", out, re.M)


def test_cli_bundle_puts_the_bundle_and_lists_the_boot_partition(made, bundles, capsys):
    server = bundles / "queue-service"
    assert madoguchi(["image", "bundle", str(made.image), str(server)]) == 0
    out = capsys.readouterr().out
    assert f"{len(files_of(server))} files of {server}" in out
    assert re.search(r"^  madoguchi/broker/acl$", out, re.M)
    assert "madoguchi/board-1f.password" not in out  # the board's bundle before it is gone
    assert disk.boot_files(made.image) == ["EFI/BOOT/BOOTX64.EFI", *(f"madoguchi/{f}" for f in files_of(server))]


def test_cli_finds_the_tools_in_sbin_without_them_on_the_path(made, monkeypatch, capsys):
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")  # a user's PATH on Debian (sfdisk is in /usr/sbin)
    assert madoguchi(["image", "show", str(made.image)]) == 0
    assert "MDG-ROOT" in capsys.readouterr().out


def test_cli_bundle_and_show_refuse_with_a_message(made, tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not a disk image\n" * 100)
    blank = tmp_path / "blank.img"
    with blank.open("wb") as f:
        f.truncate(8 * MiB)
    folder = tmp_path / "not-a-bundle"
    folder.mkdir()
    (folder / "ca.crt").write_text("x")
    cases = [
        (["show", str(tmp_path / "missing.img")], "missing.img: no such image file"),
        (["show", str(text)], "is not a disk image"),
        (["show", str(blank)], "is not a disk image"),
        (["bundle", str(tmp_path / "missing.img"), str(folder)], "no such image file"),
        (["bundle", str(text), str(folder)], "is not a disk image"),
        (["bundle", str(made.image), str(folder)], "neither device.toml nor site.toml: not a device bundle"),
        (["bundle", str(made.image), str(tmp_path / "nowhere")], "nowhere: no such folder"),
    ]
    before = made.image.stat().st_mtime_ns
    for argv, message in cases:
        assert madoguchi(["image", *argv]) == 2, argv
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (argv, err)
    assert made.image.stat().st_mtime_ns == before


@pytest.fixture
def no_rootfs_build(monkeypatch):
    """The fast tests never build a root filesystem: a precondition that failed to stop one fails the test."""
    import images.build

    def refuse(*args, **kwargs):
        raise AssertionError(f"images.build.build{args} called: a precondition did not stop the build")

    monkeypatch.setattr(images.build, "build", refuse)


def test_cli_build_refuses_an_unknown_role_and_lists_the_roles(tmp_path, capsys, no_rootfs_build):
    assert madoguchi(["image", "build", "kiosk", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown role 'kiosk': one of board, city, desk, exit, forms, panel, register, server, ticket" in err


def test_cli_build_needs_root_to_build_a_root_filesystem(tmp_path, monkeypatch, capsys, no_rootfs_build):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert madoguchi(["image", "build", "board"]) == 2
    err = capsys.readouterr().err
    assert "needs root" in err and "--rootfs" in err
    assert not (tmp_path / "build").exists()  # nothing made in the default ./build/images


def test_cli_build_keeps_a_root_filesystem_already_there(tmp_path, capsys, no_rootfs_build):
    old = tmp_path / "board-amd64.rootfs"
    (old / "etc").mkdir(parents=True)
    (old / "etc/hostname").write_text("built yesterday\n")
    assert madoguchi(["image", "build", "board", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{old} already exists and is not empty" in err and f"--rootfs {old}" in err and "rm -rf" in err
    assert files_of(old) == ["etc/hostname"]


def test_cli_build_says_which_tools_are_missing(made, tmp_path, monkeypatch, capsys, no_rootfs_build):
    monkeypatch.setenv("PATH", str(tmp_path))  # no tools at all
    assert madoguchi(["image", "build", "board", "--rootfs", str(made.rootfs), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    # (mkdosfs, mke2fs and sfdisk are found all the same: the command looks in /usr/sbin and /sbin too)
    assert "missing genimage, mcopy, grub-mkstandalone: apt-get install" in err
    assert madoguchi(["image", "build", "board", "--rootfs", str(tmp_path / "nowhere")]) == 2
    assert "--rootfs" in capsys.readouterr().err


def test_cli_build_makes_the_image_of_a_root_filesystem_built_before(made, tmp_path, capsys, no_rootfs_build):
    out = tmp_path / "images"
    argv = ["image", "build", "board", "--rootfs", str(made.rootfs), "--out", str(out), "--kernel-args", "x=1"]
    assert madoguchi(argv) == 0
    image = out / "madoguchi-board-amd64.img"
    report = capsys.readouterr().out
    assert report.startswith(f"image       {image}\n")
    assert re.search(r"^size +\d+ MB apparent, \d+ MB allocated$", report, re.M)
    for label in ("MDG-BOOT", "MDG-ROOT", "MDG-DATA"):
        assert re.search(rf"^  {label} +\d+ MB", report, re.M)
    assert re.search(rf"^  root filesystem +0\.0 s +reused {re.escape(str(made.rootfs))}$", report, re.M)
    assert re.search(r"^  disk image +\d+\.\d s ", report, re.M)
    assert [p.label for p in disk.partitions(image)] == ["MDG-BOOT", "MDG-ROOT", "MDG-DATA"]
    assert disk.grub_config("amd64", "x=1").encode() in boot_file(image, "EFI/BOOT/BOOTX64.EFI")
    assert sorted(p.name for p in out.iterdir()) == [image.name]  # genimage's work folders are gone
