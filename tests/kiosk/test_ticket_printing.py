"""Queue tickets: the picture, the escpos driver over real TCP to the ESC/POS simulator, faults, URIs, file capture.

No mocks of escpos: TicketPrinter talks to EscposSimulator over a socket, and the PNGs it saves are decoded with
zbarimg. PNGs land in build/test-artifacts/printing/<test>/ (gitignored) so they can be looked at.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import pytest
from escpos.printer import Dummy, File, Network, Serial, Usb
from PIL import Image, ImageChops

from devkit.printer import EscposParser, EscposSimulator, parse_escpos
from kiosk.printing import (
    PrinterFault,
    PrinterStatus,
    TicketPrinter,
    TicketSlip,
    TicketStep,
    open_printer,
    parse_printer_uri,
    render_ticket_image,
    render_ticket_preview,
)
from kiosk.printing.printer import KioskNetwork, NoStatusReply
from kiosk.printing.ticket import NUMBER_MIN_HEIGHT, _font, wrap_text
from tests.artifacts_dir import TEST_ARTIFACTS
from tests.conftest import artifact_folder

ARTIFACTS = TEST_ARTIFACTS / "printing"
URL = "https://madoguchi.example.jp/t/Xq7fK2pLm9"
LONG_PLACE = "5番窓口 国民健康保険・後期高齢者医療・介護保険・国民年金（保険年金課 資格賦課係、2階東側エレベーター前）"
LONG_PROCEDURE = (
    "国民健康保険の加入手続き（転入・退職・扶養から外れたとき）、マイナンバーカードの健康保険証利用登録のご案内、"
    "高額療養費の限度額適用認定証の申請 https://madoguchi.example.jp/procedures/kokuho/kanyu-tetsuzuki-no-goannai"
)


def slip_ja(number: int = 127, reprint: bool = False, url: str = URL) -> TicketSlip:
    return TicketSlip(
        site_name="さくら区役所",
        number=number,
        number_label="受付番号",
        issued_at="2025-04-01 09:12",
        steps=[
            TicketStep(place="1番窓口 住民異動", floor="1F", procedure="転入届"),
            TicketStep(place=LONG_PLACE, floor="2F", procedure=LONG_PROCEDURE),
        ],
        steps_label="この順番でお進みください",
        wait_text="待ち時間の目安 約15分",
        qr_url=url,
        qr_caption="スマートフォンで呼び出し状況を確認できます",
        footer="番号が呼ばれたら窓口へお越しください",
        reprint=reprint,
    )


def slip_vi() -> TicketSlip:
    return TicketSlip(
        site_name="Văn phòng quận Sakura",
        number=8,
        number_label="Số thứ tự của bạn",
        issued_at="01/04/2025 09:12",
        steps=[
            TicketStep(place="Quầy số 1 — Chuyển đến / chuyển đi", floor="Tầng 1", procedure="Đăng ký chuyển đến"),
            TicketStep(place="Quầy số 12 — Thuế thị dân", floor="Tầng 3", procedure="Giấy chứng nhận thuế"),
        ],
        steps_label="Các quầy của bạn, theo thứ tự này",
        wait_text="Thời gian chờ dự kiến: khoảng 15 phút",
        qr_url=URL,
        qr_caption="Quét mã để xem lượt của bạn trên điện thoại",
        footer="Vui lòng đến quầy khi số của bạn được gọi.",
    )


def slip_ko() -> TicketSlip:
    """A Korean resident: the slip's fixed labels stay Japanese here, the footer is in Korean."""
    return replace(slip_ja(number=42), footer="번호가 호출되면 창구로 와 주십시오. 대기 시간은 약 15분입니다.")


@pytest.fixture
def artifacts(request) -> Path:
    """A fresh folder per test under build/test-artifacts/printing/."""
    return artifact_folder(request, "printing")


@pytest.fixture
def sim(artifacts):
    with EscposSimulator(artifacts) as simulator:
        yield simulator


def zbar(path: Path) -> str:
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg not installed (Debian package zbar-tools)")
    done = subprocess.run(["zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True, timeout=20)
    return done.stdout.rstrip("\n")


def ink_rows(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Height of the black pixels inside ``box``."""
    region = image.convert("L").crop(box).point(lambda v: 255 if v < 128 else 0)
    bbox = region.getbbox()
    return 0 if bbox is None else bbox[3] - bbox[1]


# ------------------------------------------------------------------------------------------------ picture


@pytest.mark.parametrize("width", [576, 384])
@pytest.mark.parametrize("make", [slip_ja, slip_vi, slip_ko], ids=["ja", "vi", "ko"])
def test_ticket_image_fits_the_paper_and_the_number_is_big(make, width, artifacts):
    slip = make()
    image = render_ticket_image(slip, width)
    image.save(artifacts / f"ticket-{width}.png")

    assert image.width == width
    assert image.mode in ("1", "L")
    # Nothing reaches the outer 6 dots on either side: wrapped text never runs into (or past) the paper edge.
    gray = image.convert("L")
    for x0, x1 in ((0, 6), (width - 6, width)):
        assert gray.crop((x0, 0, x1, image.height)).getextrema() == (255, 255)
    # The number's digits are drawn at least NUMBER_MIN_HEIGHT dots tall.
    box = image.info["number_box"]
    assert ink_rows(image, box) >= NUMBER_MIN_HEIGHT
    assert box[2] - box[0] <= width


def test_long_step_text_is_wrapped_not_clipped():
    short = replace(slip_ja(), steps=[TicketStep("1番窓口 住民異動", "1F", "転入届")])
    long_ = slip_ja()
    assert render_ticket_image(long_).height > render_ticket_image(short).height + 150

    font = _font(26)
    lines = wrap_text(LONG_PROCEDURE, font, 400)
    assert len(lines) >= 5
    assert all(font.getlength(line) <= 400 for line in lines)
    assert "".join(lines).replace(" ", "") == LONG_PROCEDURE.replace(" ", "")  # not a character lost
    assert not any(line[0] in "、。）" for line in lines[1:])  # kinsoku: no line starts with a closing mark


def test_number_stays_tall_when_squeezed_on_narrow_paper():
    slip = replace(slip_ja(), number=123456)
    image = render_ticket_image(slip, 384)
    box = image.info["number_box"]
    assert image.width == 384
    assert box[2] <= 384 and box[0] >= 0
    assert ink_rows(image, box) >= NUMBER_MIN_HEIGHT


def test_reprint_mark_changes_the_ticket():
    plain = render_ticket_image(slip_ja()).convert("L")
    marked = render_ticket_image(slip_ja(reprint=True)).convert("L")
    assert marked.height > plain.height
    top_band = marked.crop((20, 17, marked.width - 20, 24))  # the black REPRINT band at the top
    assert sum(top_band.histogram()[:128]) > 0.8 * top_band.width * top_band.height


def test_preview_has_a_readable_qr(artifacts):
    preview = render_ticket_preview(slip_ja(reprint=True))
    path = ARTIFACTS / "preview.png"
    preview.save(path)
    preview.save(artifacts / "preview.png")
    assert preview.width == 576
    assert zbar(path) == URL


# ------------------------------------------------------------------------------------------- printing (TCP)


def test_ticket_prints_on_the_simulator_and_the_qr_scans(sim, artifacts):
    printer = TicketPrinter(f"tcp://127.0.0.1:{sim.port}")
    slip = slip_ja()
    started = time.monotonic()
    printer.print_ticket(slip)
    assert time.monotonic() - started < 2.0

    assert len(sim.tickets) == 1
    png = sim.tickets[0]
    assert png.parent == artifacts and png.exists()
    assert zbar(png) == URL
    receipt = sim.receipts[0]
    assert receipt.qr_data == URL
    assert receipt.warnings == []
    assert printer.last_status == PrinterStatus(True, frozenset())
    # The raster image went through escpos and the wire bit for bit: the top of the receipt is the ticket image.
    ticket = render_ticket_image(slip).convert("L")
    printed = Image.open(png).convert("L")
    assert printed.width == 576
    assert ImageChops.difference(printed.crop((0, 0, 576, ticket.height)), ticket).getbbox() is None


def test_paper_near_end_prints_and_is_reported(sim):
    sim.set_paper("near_end")
    printer = TicketPrinter(f"tcp://127.0.0.1:{sim.port}")
    printer.print_ticket(slip_ja())
    assert len(sim.tickets) == 1
    assert printer.last_status is not None and "paper_near_end" in printer.last_status.faults
    status = printer.status()
    assert status.online and status.ready
    assert status.faults == {"paper_near_end"}


def test_paper_out_before_the_job(sim):
    sim.set_paper("out")
    printer = TicketPrinter(f"tcp://127.0.0.1:{sim.port}")
    with pytest.raises(PrinterFault) as fault:
        printer.print_ticket(slip_ja())
    assert fault.value.kind == "paper_out"
    assert sim.tickets == [] and list(sim.out_dir.glob("*.png")) == []
    assert sim.cuts_received == 0  # checked first: the job was never sent
    assert printer.status() == PrinterStatus(False, frozenset({"paper_out"}))


def test_paper_runs_out_mid_job_then_the_reprint_prints_once(sim):
    printer = TicketPrinter(f"tcp://127.0.0.1:{sim.port}")
    slip = slip_ja(reprint=True)
    sim.paper_runs_out_after(20_000)  # the ticket image alone is ~80 kB
    with pytest.raises(PrinterFault) as fault:
        printer.print_ticket(slip)
    assert fault.value.kind == "paper_out"
    assert sim.cuts_received == 1  # the whole job had been sent: the fault came from the check after it
    assert sim.tickets == [] and list(sim.out_dir.glob("*.png")) == []
    assert printer.status() == PrinterStatus(False, frozenset({"paper_out"}))

    sim.set_paper("ok")
    printer.print_ticket(slip)
    assert len(sim.tickets) == 1 and len(list(sim.out_dir.glob("*.png"))) == 1
    assert zbar(sim.tickets[0]) == URL


def test_cover_open(sim):
    sim.set_cover_open(True)
    printer = TicketPrinter(f"tcp://127.0.0.1:{sim.port}")
    with pytest.raises(PrinterFault) as fault:
        printer.print_ticket(slip_ja())
    assert fault.value.kind == "cover_open"
    assert sim.tickets == []
    status = printer.status()
    assert not status.online and status.faults == {"cover_open"}
    sim.set_cover_open(False)
    printer.print_ticket(slip_ja())
    assert len(sim.tickets) == 1


def test_cutter_error_is_an_error(sim):
    sim.set_cutter_error(True)
    printer = TicketPrinter(f"tcp://127.0.0.1:{sim.port}")
    with pytest.raises(PrinterFault) as fault:
        printer.print_ticket(slip_ja())
    assert fault.value.kind == "error"
    assert sim.tickets == []


def test_simulator_stopped_is_offline_fast(sim):
    printer = TicketPrinter(f"tcp://127.0.0.1:{sim.port}")
    sim.stop()
    started = time.monotonic()
    with pytest.raises(PrinterFault) as fault:
        printer.print_ticket(slip_ja())
    assert fault.value.kind == "offline"
    assert time.monotonic() - started < 3.0
    assert printer.status() == PrinterStatus(False, frozenset({"offline"}))


def test_set_online_false_refuses_then_recovers(sim):
    printer = TicketPrinter(f"tcp://127.0.0.1:{sim.port}")
    sim.set_online(False)
    started = time.monotonic()
    with pytest.raises(PrinterFault) as fault:
        printer.print_ticket(slip_ja())
    assert fault.value.kind == "offline"
    assert time.monotonic() - started < 3.0
    sim.set_online(True)  # switched back on between two tickets: a new connection per job just works
    printer.print_ticket(slip_ja())
    assert len(sim.tickets) == 1


def test_serial_printer_over_a_pty(sim):
    """KioskSerial through pyserial to the simulator on a pseudo-terminal: print, fault mid-job, reprint."""
    printer = TicketPrinter(f"serial://{sim.serve_pty()}?baudrate=38400")
    printer.print_ticket(slip_ja())
    assert len(sim.tickets) == 1 and sim.receipts[0].qr_data == URL
    sim.paper_runs_out_after(10_000)
    with pytest.raises(PrinterFault) as fault:
        printer.print_ticket(slip_ja())
    assert fault.value.kind == "paper_out"
    assert len(sim.tickets) == 1
    sim.set_paper("ok")
    printer.print_ticket(slip_ja())  # same line, no reconnect: ESC @ starts the new job cleanly
    assert len(sim.tickets) == 2
    assert zbar(sim.tickets[1]) == URL


def test_missing_serial_device_is_offline():
    with pytest.raises(PrinterFault) as fault:
        TicketPrinter("serial:///dev/ttyUSB-does-not-exist").print_ticket(slip_ja())
    assert fault.value.kind == "offline"


def test_printer_that_never_answers_does_not_hang_the_kiosk():
    """A port that accepts but never replies (wrong device, hung firmware): bounded by the timeout."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)  # never accept()ed: the kernel completes the handshake, nothing ever answers
        uri = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(PrinterFault) as fault:
            TicketPrinter(uri, timeout=0.5).print_ticket(slip_ja())
        assert fault.value.kind == "offline"
        assert time.monotonic() - started < 2.5

        # escpos's own Network.paper_status() would report "paper adequate" (2) on no reply; ours raises.
        printer = open_printer(uri, timeout=0.3)
        assert isinstance(printer, KioskNetwork)
        printer.open()
        try:
            with pytest.raises(NoStatusReply):
                printer.paper_status()
        finally:
            printer.close()


def test_status_bytes_follow_the_epson_reference(sim):
    """DLE EOT 1-4 and GS r 1 replies, byte for byte, in each injected state."""

    def ask(*queries: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", sim.port), timeout=2) as conn:
            replies = b""
            for query in queries:
                conn.sendall(query)
                replies += conn.recv(1)
            return replies

    eot = [b"\x10\x04" + bytes([n]) for n in (1, 2, 3, 4)]
    gs_r = b"\x1dr\x01"
    assert ask(*eot, gs_r) == bytes([0x16, 0x12, 0x12, 0x12, 0x00])
    sim.set_paper("near_end")
    assert ask(*eot, gs_r) == bytes([0x16, 0x12, 0x12, 0x1E, 0x03])
    sim.set_paper("out")
    assert ask(*eot) == bytes([0x1E, 0x32, 0x12, 0x7E])
    sim.set_paper("ok")
    sim.set_cover_open(True)
    assert ask(*eot) == bytes([0x1E, 0x16, 0x12, 0x12])
    sim.set_cover_open(False)
    sim.set_cutter_error(True)
    assert ask(*eot) == bytes([0x1E, 0x52, 0x1A, 0x12])


# ------------------------------------------------------------------------------------------------ URIs


def test_open_printer_schemes():
    tcp = open_printer("tcp://192.0.2.10")  # TEST-NET: never contacted, escpos connects lazily
    assert isinstance(tcp, Network) and (tcp.host, tcp.port) == ("192.0.2.10", 9100)
    assert 0 < tcp.timeout <= 5
    assert open_printer("tcp://printer.local:9101").port == 9101
    assert open_printer("tcp://[::1]:9100").host == "::1"

    usb = open_printer("usb://04b8:0e28")
    assert isinstance(usb, Usb)
    assert usb.usb_args == {"idVendor": 0x04B8, "idProduct": 0x0E28}
    assert 0 < usb.timeout <= 5000  # pyusb milliseconds; escpos's default 0 would mean "wait forever"

    serial = open_printer("serial:///dev/ttyUSB0?baudrate=38400")
    assert isinstance(serial, Serial) and (serial.devfile, serial.baudrate) == ("/dev/ttyUSB0", 38400)
    assert open_printer("serial:///dev/ttyS1").baudrate == 9600

    lp = open_printer("file:///dev/usb/lp0")
    assert isinstance(lp, File) and lp.devfile == "/dev/usb/lp0"
    assert not parse_printer_uri("file:///dev/usb/lp0").can_read
    assert parse_printer_uri("tcp://h").can_read


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "printer",
        "http://192.0.2.10:9100",
        "lpt://1",
        "tcp://",
        "tcp://:9100",
        "tcp://host:99999",
        "tcp://host:port",
        "tcp://host:0",
        "tcp://host:9100/queue",
        "tcp://host:9100?timeout=3",
        "usb://",
        "usb://04b8",
        "usb://xyz:0202",
        "usb://04b8:0e28:1",
        "usb://12345:0202",
        "usb://0000:0000",
        "usb://04b8:0e28?in_ep=zz",
        "serial://",
        "serial:///dev/ttyUSB0?baudrate=fast",
        "serial:///dev/ttyUSB0?baud=9600",
        "file://",
        "file://relative/lp0",
        "file:///",
    ],
)
def test_bad_uris_are_refused_with_a_clear_message(uri):
    with pytest.raises(ValueError) as error:
        open_printer(uri)
    assert repr(uri) in str(error.value)
    with pytest.raises(ValueError):
        TicketPrinter(uri)


# ------------------------------------------------------------------------------- file:// and the parser


def test_file_printer_capture_parses_back_to_the_same_receipt(tmp_path, artifacts):
    capture = tmp_path / "lp0.bin"
    printer = TicketPrinter(f"file://{capture}")
    assert printer.status().online  # a writable path: the only check a write-only device allows
    printer.print_ticket(slip_vi())
    data = capture.read_bytes()
    assert data.startswith(b"\x1b@")
    assert b"\x1d(k" in data and b"\x1dV" in data  # native QR and a cut, not images of them

    receipts = parse_escpos(data)
    assert len(receipts) == 1
    receipt = receipts[0]
    assert receipt.cut and receipt.qr_data == URL
    assert receipt.image is not None and receipt.image.width == 576
    receipt.image.save(artifacts / "from-file.png")
    assert zbar(artifacts / "from-file.png") == URL
    assert not TicketPrinter("file:///nonexistent-dir/lp0").status().online


def test_parser_reads_escpos_text_images_and_skips_what_it_does_not_draw():
    """Bytes made by escpos itself (Dummy printer): text styles, barcodes, three image encodings, native QR."""
    p = Dummy(profile="TM-T20II")
    p.hw("INIT")
    p.set(align="center", bold=True, double_height=True, double_width=True)
    p.textln("SAKURA WARD")
    p.set_with_default()
    p.barcode("4901234567894", "EAN13")  # GS h / GS w / GS H / GS k: not drawn, but must be skipped exactly
    p._raw(b"\x1bp\x00\x0a\x0a")  # drawer pulse whose parameters look like line feeds
    p._raw(b"\x1bD\x08\x10\x00")  # tab stops, NUL-terminated
    p._raw(b"\x1b\x7f")  # a command no printer knows: skipped by its prefix
    p.textln("Window 3")
    square = Image.new("1", (64, 40), 1)
    square.paste(0, (8, 8, 56, 32))
    for impl in ("bitImageRaster", "graphics", "bitImageColumn"):
        p.image(square, impl=impl)
    p.qr("HELLO-123", native=True, size=4)
    p.cut()
    p.textln("after the cut")
    data = p.output

    receipts = parse_escpos(data)
    assert [r.cut for r in receipts] == [True, False]
    first = receipts[0]
    assert first.text.splitlines() == ["SAKURA WARD", "Window 3"]
    assert first.qr_data == "HELLO-123"
    assert receipts[1].text == "after the cut"
    assert any("7f" in w for w in first.warnings)
    # Every image encoding draws the same black square: count black dots in the receipt.
    black = first.image.convert("L").point(lambda v: 255 if v < 128 else 0)
    assert black.getbbox() is not None

    # Fed a byte at a time (TCP can split anywhere), the parser yields the same commands.
    whole = EscposParser()
    expected = whole.feed(data) + whole.finish()
    piecewise = EscposParser()
    got = [cmd for i in range(len(data)) for cmd in piecewise.feed(data[i : i + 1])] + piecewise.finish()
    assert got == expected


def test_image_encodings_print_identically():
    """GS v 0, GS ( L and ESC * of one picture give the same pixels (the simulator must honour all three)."""
    picture = Image.new("1", (96, 48), 1)
    picture.paste(0, (10, 5, 80, 30))
    picture.paste(0, (30, 35, 90, 47))
    drawn = []
    for impl in ("bitImageRaster", "graphics", "bitImageColumn"):
        p = Dummy(profile="TM-T20II")
        p.image(picture, impl=impl)
        p.cut(feed=False)
        [receipt] = parse_escpos(p.output)
        drawn.append(receipt.image.convert("L").point(lambda v: 255 if v < 128 else 0).getbbox())
    assert drawn == [(10, 5, 90, 47)] * 3
