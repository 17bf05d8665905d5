"""Form spooling: the PDF folder, URIs, and CupsSpool against a REAL private CUPS scheduler.

The cupsd fixture runs Debian's ``cupsd`` in the foreground on a free port with its own configuration in a
temporary folder, and adds a queue whose device is a file (``FileDevice Yes``) with a PPD that passes PDF through
unchanged, so a job's bytes arrive in that file exactly as ``lp`` sent them.
"""

from __future__ import annotations

import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from form_printer.forms.spool import CupsSpool, PdfSpool, SpoolError, open_spool
from kiosk.programs import find_program

PDF = b"%PDF-1.4\n% a stand-in for the forms of one visit: \xe5\xb1\xb1\xe7\x94\xb0\n%%EOF\n"

# A PostScript printer description that accepts PDF and hands it to the device untouched (gziptoany copies
# uncompressed input as is). A raw queue would not do: cupsd writes nothing to a file: device without a filter.
PDF_PASSTHROUGH_PPD = """*PPD-Adobe: "4.3"
*FormatVersion: "4.3"
*FileVersion: "1.0"
*LanguageVersion: English
*LanguageEncoding: ISOLatin1
*PCFileName: "MDGFORMS.PPD"
*Manufacturer: "Madoguchi"
*Product: "(Madoguchi test form printer)"
*ModelName: "Madoguchi test form printer"
*ShortNickName: "Madoguchi forms"
*NickName: "Madoguchi test form printer"
*PSVersion: "(3010.000) 0"
*LanguageLevel: "3"
*ColorDevice: False
*DefaultColorSpace: Gray
*FileSystem: False
*Throughput: "1"
*TTRasterizer: Type42
*cupsVersion: 2.4
*cupsFilter: "application/pdf 0 gziptoany"
*OpenUI *PageSize/Media Size: PickOne
*OrderDependency: 10 AnySetup *PageSize
*DefaultPageSize: A4
*PageSize A4/A4: "<</PageSize[595 842]>>setpagedevice"
*CloseUI: *PageSize
*OpenUI *PageRegion/Media Size: PickOne
*OrderDependency: 10 AnySetup *PageRegion
*DefaultPageRegion: A4
*PageRegion A4/A4: "<</PageSize[595 842]>>setpagedevice"
*CloseUI: *PageRegion
*DefaultImageableArea: A4
*ImageableArea A4/A4: "0 0 595 842"
*DefaultPaperDimension: A4
*PaperDimension A4/A4: "595 842"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str):
    """Poll ``check`` until it returns something truthy (a scheduler and its jobs are asynchronous)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@dataclass
class Cups:
    server: str
    root: Path

    def lpstat(self, *args: str) -> str:
        return subprocess.run(
            ["lpstat", "-h", self.server, *args], capture_output=True, text=True, timeout=10, check=False
        ).stdout

    def add_printer(self, name: str) -> Path:
        """A queue printing into a file; returns the file.

        The file exists before the first job: cups 2.4.2-3+deb12u10 (a Debian security update) opens a
        ``file:`` device with ``O_WRONLY|O_EXCL`` and no ``O_CREAT``, so a missing file fails every job
        ("waiting for the job to reach the printer"); older and newer builds create it. Either way the
        job's bytes are what the test reads back."""
        out = self.root / "out" / f"{name}.pdf"
        out.touch()
        out.chmod(0o666)  # the backend may run as user lp
        subprocess.run(
            [
                find_program("lpadmin") or "lpadmin",
                "-h",
                self.server,
                "-p",
                name,
                "-E",
                "-v",
                f"file://{out}",
                "-P",
                str(self.root / "pdf.ppd"),
            ],
            check=True,
            capture_output=True,
            timeout=10,
        )
        return out


@pytest.fixture(scope="module")
def cups() -> Iterator[Cups]:
    cupsd, lpadmin = find_program("cupsd"), find_program("lpadmin")  # in /usr/sbin: off a user's PATH
    if not (cupsd and lpadmin and shutil.which("lp")):
        pytest.skip("CUPS not installed (Debian packages cups, cups-client)")
    # Not under pytest's 0700 tmp: the filters run as user lp and must reach the spool folder.
    root = Path(tempfile.mkdtemp(prefix="madoguchi-cups-"))
    root.chmod(0o755)
    for sub in ("etc", "spool", "cache", "state", "log", "tmp", "out"):
        (root / sub).mkdir()
    port = free_port()
    (root / "cupsd.conf").write_text(
        f"Listen 127.0.0.1:{port}\nLogLevel info\nBrowsing No\nWebInterface No\nDefaultAuthType None\n"
        "<Location />\n  Order allow,deny\n  Allow all\n</Location>\n"
        "<Policy default>\n  <Limit All>\n    Order deny,allow\n  </Limit>\n</Policy>\n"
    )
    (root / "cups-files.conf").write_text(
        f"ServerRoot {root}/etc\nRequestRoot {root}/spool\nCacheDir {root}/cache\nStateDir {root}/state\n"
        f"TempDir {root}/tmp\nAccessLog {root}/log/access_log\nErrorLog {root}/log/error_log\n"
        f"PageLog {root}/log/page_log\nPrintcap {root}/printcap\nFileDevice Yes\n"
    )
    (root / "pdf.ppd").write_text(PDF_PASSTHROUGH_PPD)
    proc = subprocess.Popen(
        [cupsd, "-f", "-c", str(root / "cupsd.conf"), "-s", str(root / "cups-files.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    running = Cups(server=f"127.0.0.1:{port}", root=root)
    try:
        wait_for(lambda: proc.poll() is not None or "scheduler is running" in running.lpstat("-r"), 15, "cupsd")
        if proc.poll() is not None:
            raise AssertionError(f"cupsd exited: {proc.stderr.read().decode(errors='replace')}")
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """Where CupsSpool's temporary folders go during a test, to check they are gone afterwards."""
    folder = tmp_path / "spooltmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def spy_lp(tmp_path: Path) -> tuple[str, Path]:
    """A wrapper around the real lp that records the mode of the file and of its folder, then runs lp."""
    record = tmp_path / "lp-saw.txt"
    script = tmp_path / "bin" / "lp"
    script.parent.mkdir()
    real = shutil.which("lp")
    script.write_text(
        f'#!/bin/sh\nfor last; do :; done\nstat -c "%a" "$last" "$(dirname "$last")" > "{record}"\nexec "{real}" "$@"\n'
    )
    script.chmod(0o755)
    return str(script), record


def test_cups_spool_prints_through_a_real_scheduler_and_deletes_its_file(cups, private_tmp, tmp_path):
    out = cups.add_printer("forms")
    lp, record = spy_lp(tmp_path)
    spool = CupsSpool("forms", server=cups.server, lp=lp)
    job = spool.submit(PDF, "住民異動届 ほか")
    assert job.startswith("forms-") and job.removeprefix("forms-").isdigit()
    assert record.read_text().split() == ["600", "700"], "the PDF was private while lp read it"
    assert list(private_tmp.iterdir()) == [], "the temporary PDF is deleted when lp returns"
    wait_for(lambda: out.exists() and out.read_bytes() == PDF, 20, "the job to reach the printer")
    wait_for(lambda: job in cups.lpstat("-W", "completed", "-o"), 10, "the job to complete")


def test_open_spool_cups_uri_reaches_the_server(cups, private_tmp):
    out = cups.add_printer("forms2")
    spool = open_spool(f"cups://{cups.server}/forms2")
    assert isinstance(spool, CupsSpool) and spool.server == cups.server
    job = spool.submit(PDF, "印鑑登録申請書")
    assert job.startswith("forms2-")
    wait_for(lambda: out.exists() and out.read_bytes() == PDF, 20, "the job to reach the printer")


def test_unknown_printer_is_a_clear_error_and_the_file_is_still_deleted(cups, private_tmp):
    with pytest.raises(SpoolError) as err:
        CupsSpool("no-such-printer", server=cups.server).submit(PDF, "t")
    assert err.value.kind == "unknown_printer"
    assert "'no-such-printer' is unknown to CUPS at 127.0.0.1:" in str(err.value)
    assert list(private_tmp.iterdir()) == []


def test_cups_not_running_is_told_apart_from_an_unknown_printer(private_tmp):
    if not shutil.which("lp"):
        pytest.skip("lp not installed (Debian package cups-client)")
    with pytest.raises(SpoolError) as err:
        CupsSpool("forms", server=f"127.0.0.1:{free_port()}").submit(PDF, "t")
    assert err.value.kind == "cups_down", str(err.value)
    assert "CUPS is not running" in str(err.value)
    assert list(private_tmp.iterdir()) == []


def test_missing_lp_is_a_clear_error(private_tmp):
    with pytest.raises(SpoolError, match="install the Debian package cups-client") as err:
        CupsSpool("forms", lp="/nonexistent/lp").submit(PDF, "t")
    assert err.value.kind == "no_lp"
    assert list(private_tmp.iterdir()) == []


def test_pdf_spool_writes_private_files(tmp_path):
    spool = open_spool(f"pdf:{tmp_path / 'paper'}")
    assert isinstance(spool, PdfSpool)
    first = spool.submit(PDF, "住民異動届 ほか")
    second = spool.submit(PDF + b"2", "住民異動届 ほか")
    assert first != second and first.endswith("住民異動届_ほか.pdf")
    path = tmp_path / "paper" / first
    assert path.read_bytes() == PDF
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / "paper" / second).read_bytes() == PDF + b"2"
    sneaky = PdfSpool(tmp_path).submit(PDF, "../../etc/passwd")
    assert "/" not in sneaky and (tmp_path / sneaky).read_bytes() == PDF, "a title cannot lead out of the folder"


def test_pdf_spool_folder_not_writable(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(SpoolError, match="cannot create the PDF folder") as err:
        PdfSpool(blocker / "paper").submit(PDF, "t")
    assert err.value.kind == "not_writable"


@pytest.mark.parametrize(
    ("uri", "printer", "server"),
    [
        ("cups:forms", "forms", None),
        ("cups://print.city.example.jp:631/forms-2f", "forms-2f", "print.city.example.jp:631"),
        ("cups://10.0.0.5/A4_counter", "A4_counter", "10.0.0.5"),
    ],
)
def test_open_spool_cups_uris(uri, printer, server):
    spool = open_spool(uri)
    assert isinstance(spool, CupsSpool)
    assert (spool.printer, spool.server) == (printer, server)


@pytest.mark.parametrize(
    "uri",
    ["cups:", "cups://host:631/", "cups:///forms", "pdf:relative/folder", "lpr:forms", "cups:two words", "usb://x"],
)
def test_open_spool_rejects_bad_uris(uri):
    with pytest.raises(ValueError):
        open_spool(uri)
