"""The payment terminal driver against the simulator on a real pty, and the link framing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from devkit.payment_terminal import CatSimulator, Charge, _command
from register.cashless import protocol as p
from register.cashless.driver import SerialCatTerminal
from register.cashless.terminal import CatError, CatResult, Outcome, PaymentMedia

FAST = {"ack_timeout": 0.1, "keepalive": 0.2, "reply_timeout": 2.0}


@pytest.fixture
def sim() -> Iterator[CatSimulator]:
    with CatSimulator(ack_timeout=0.1) as simulator:
        yield simulator


@pytest.fixture
def connect(sim: CatSimulator) -> Iterator[Callable[[], SerialCatTerminal]]:
    """``connect()`` → an open driver on the simulator's port (a second call = a host restart)."""
    opened: list[SerialCatTerminal] = []

    def make() -> SerialCatTerminal:
        terminal = SerialCatTerminal(sim.path, **FAST)
        terminal.open()
        opened.append(terminal)
        return terminal

    yield make
    for terminal in opened:
        terminal.close()


@pytest.fixture
def term(connect: Callable[[], SerialCatTerminal]) -> SerialCatTerminal:
    return connect()


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=2) as executor:
        yield executor


def start_sale(
    pool: ThreadPoolExecutor, term: SerialCatTerminal, key: str, amount: int, timeout: float = 5.0
) -> Future[CatResult]:
    return pool.submit(term.authorize_sales, key, amount, timeout)


# --- sales ---------------------------------------------------------------------------------------


def test_sale_approved_reports_media_brand_approval_and_slip(sim, term, pool):
    events: list[p.Event] = []
    term.on_event = events.append
    sale = start_sale(pool, term, "R1-0001", 1200)
    assert sim.wait_for_card_wait() == "R1-0001"
    sim.present("emoney", "交通系IC")
    result = sale.result(timeout=3)
    assert result.outcome is Outcome.APPROVED
    assert (result.key, result.amount, result.media, result.brand) == ("R1-0001", 1200, PaymentMedia.EMONEY, "交通系IC")
    assert len(result.approval_code) == 6 and result.approval_code.isdigit()
    assert result.slip_number == "00001"
    assert sim.charges == [Charge("R1-0001", 1200, "交通系IC")]
    assert [e.event for e in events] == [p.EventName.WAITING_FOR_CARD, p.EventName.CARD_READ, p.EventName.PROCESSING]


def test_declined_charges_nothing(sim, term, pool):
    sim.decline_next("残高不足")
    sale = start_sale(pool, term, "R1-0002", 800)
    sim.wait_for_card_wait()
    sim.present("emoney", "nanaco")
    result = sale.result(timeout=3)
    assert (result.outcome, result.reason, result.brand, result.approval_code) == (
        Outcome.DECLINED,
        "残高不足",
        "nanaco",
        "",
    )
    assert sim.charges == []


def test_abort_while_waiting_cancels_and_charges_nothing(sim, term, pool):
    sale = start_sale(pool, term, "R1-0003", 500)
    sim.wait_for_card_wait()
    term.abort()
    assert sale.result(timeout=3).outcome is Outcome.CANCELLED
    assert sim.charges == []
    with pytest.raises(RuntimeError):
        sim.present("qr", "PayPay")  # too late: nothing waits for a card any more


def test_terminal_gives_up_waiting_before_the_register_does(sim, term):
    result = term.authorize_sales("R1-0004", 300, timeout=0.5)
    assert result.outcome is Outcome.CANCELLED  # a known outcome, not a timeout
    assert sim.charges == []


def test_same_key_twice_charges_once_and_answers_the_same(sim, term):
    sim.auto = ("qr", "PayPay")
    first = term.authorize_sales("R1-0005", 2500, timeout=3)
    again = term.authorize_sales("R1-0005", 2500, timeout=3)
    assert first.outcome is Outcome.APPROVED and again == first
    assert sim.charges == [Charge("R1-0005", 2500, "PayPay")]


def test_swallowed_response_times_out_then_check_finds_the_charge(sim, term):
    sim.auto = ("credit", "JCB")
    sim.swallow_next_response()
    started = time.monotonic()
    with pytest.raises(CatError) as err:
        term.authorize_sales("R1-0006", 4000, timeout=0.6)
    assert err.value.code == "timeout" and time.monotonic() - started < 1.5
    found = term.check("R1-0006")
    assert found is not None and (found.outcome, found.amount, found.brand) == (Outcome.APPROVED, 4000, "JCB")
    assert term.authorize_sales("R1-0006", 4000, timeout=3) == found  # a blind retry would not charge again
    assert sim.charged_total == 4000 and len(sim.charges) == 1


def test_check_of_an_unknown_key_is_none(term):
    assert term.check("never-sent") is None


def test_check_and_a_second_sale_while_waiting_are_busy(sim, term, pool):
    sale = start_sale(pool, term, "R1-0007", 700)
    sim.wait_for_card_wait()
    with pytest.raises(CatError) as err:
        term.check("R1-0007")
    assert err.value.code == "busy"
    with pytest.raises(CatError) as err:
        term.authorize_sales("R1-0008", 100, timeout=2)
    assert err.value.code == "busy"
    assert term.status().busy
    term.abort()
    assert sale.result(timeout=3).outcome is Outcome.CANCELLED
    assert not term.status().busy


def test_invalid_amount_is_refused_before_sending(term):
    with pytest.raises(CatError) as err:
        term.authorize_sales("R1-0009", 0, timeout=1)
    assert err.value.code == "protocol"


# --- the line ------------------------------------------------------------------------------------


def test_damaged_frame_from_the_terminal_is_nakked_and_resent(sim, term):
    sim.auto = ("credit", "VISA")
    sim.corrupt_next_frame()
    assert term.authorize_sales("R1-0010", 1000, timeout=3).outcome is Outcome.APPROVED
    assert term.link is not None and term.link.naks_sent == 1
    assert sim.link.naks_received == 1 and sim.link.retransmits == 1


def test_damaged_frame_from_the_driver_is_nakked_and_resent(sim, term):
    sim.corrupt_next_frame(incoming=True)
    assert term.check("R1-0011") is None
    assert sim.link.naks_sent == 1
    assert term.link is not None and term.link.naks_received == 1 and term.link.retransmits == 1


def test_pulled_cable_while_waiting_is_disconnected_then_check_recovers(sim, term, pool):
    sale = start_sale(pool, term, "R1-0012", 900, timeout=5)
    sim.wait_for_card_wait()
    started = time.monotonic()
    sim.disconnect()
    with pytest.raises(CatError) as err:
        sale.result(timeout=4)
    assert err.value.code == "disconnected" and time.monotonic() - started < 2
    assert not term.status().connected
    sim.present("emoney", "WAON")  # the resident paid while the cable was out
    sim.reconnect()
    found = term.check("R1-0012")
    assert found is not None and found.outcome is Outcome.APPROVED and found.brand == "WAON"


def test_open_with_no_terminal_answering_is_disconnected(sim):
    sim.disconnect()
    terminal = SerialCatTerminal(sim.path, **FAST)
    with pytest.raises(CatError) as err:
        terminal.open()
    assert err.value.code == "disconnected"
    with pytest.raises(CatError) as err:
        terminal.check("R1-0013")
    assert err.value.code == "disconnected"


def test_a_stable_symlink_reaches_the_terminal(tmp_path):
    link = tmp_path / "cat"
    with CatSimulator(symlink=link, auto=("qr", "楽天ペイ")) as simulator:
        terminal = SerialCatTerminal(str(link), **FAST)
        terminal.open()
        try:
            assert terminal.authorize_sales("R1-0019", 100, timeout=3).brand == "楽天ペイ"
        finally:
            terminal.close()
        assert simulator.charged_total == 100
    assert not link.exists()


def test_open_of_a_missing_port_is_disconnected(tmp_path):
    with pytest.raises(CatError) as err:
        SerialCatTerminal(str(tmp_path / "no-such-tty"), **FAST).open()
    assert err.value.code == "disconnected"


def test_a_restarted_host_checks_a_sale_its_predecessor_started(sim, connect, pool):
    before = connect()
    sale = start_sale(pool, before, "R1-0014", 6000, timeout=5)
    sim.wait_for_card_wait()
    before.close()  # the register process dies while the resident pays
    with pytest.raises(CatError):
        sale.result(timeout=3)
    sim.present("qr", "d払い")
    after = connect()
    found = after.check("R1-0014")
    assert found is not None and (found.outcome, found.amount, found.brand) == (Outcome.APPROVED, 6000, "d払い")
    assert after.authorize_sales("R1-0014", 6000, timeout=3) == found
    assert sim.charged_total == 6000


# --- void and refund -----------------------------------------------------------------------------


def test_void_cancels_a_sale_once(sim, term):
    sim.auto = ("credit", "Mastercard")
    sale = term.authorize_sales("R1-0015", 3000, timeout=3)
    void = term.authorize_void("R1-0015-void", "R1-0015", timeout=3)
    assert (void.outcome, void.amount, void.brand) == (Outcome.APPROVED, 3000, "Mastercard")
    assert void.slip_number != sale.slip_number
    assert term.authorize_void("R1-0015-void", "R1-0015", timeout=3) == void
    again = term.authorize_void("R1-0015-void2", "R1-0015", timeout=3)
    assert again.outcome is Outcome.DECLINED
    assert sim.charges == []


def test_refunds_up_to_the_sale_amount(sim, term):
    sim.auto = ("emoney", "iD")
    term.authorize_sales("R1-0016", 5000, timeout=3)
    assert term.authorize_refund("R1-0016-r1", "R1-0016", 2000, timeout=3).outcome is Outcome.APPROVED
    too_much = term.authorize_refund("R1-0016-r2", "R1-0016", 3500, timeout=3)
    assert too_much.outcome is Outcome.DECLINED and "3000" in too_much.reason
    assert sim.charges == [Charge("R1-0016", 3000, "iD")]


def test_void_of_an_unknown_sale_is_refused(term):
    with pytest.raises(CatError) as err:
        term.authorize_void("R1-0017-void", "R1-0017", timeout=3)
    assert err.value.code == "unknown_key"


def test_simulator_cli_commands(sim, term, pool):
    sale = start_sale(pool, term, "R1-0018", 150)
    sim.wait_for_card_wait()
    assert _command(sim, "present emoney 楽天Edy") == "ok"
    assert sale.result(timeout=3).brand == "楽天Edy"
    assert _command(sim, "auto qr au PAY") == "ok" and sim.auto == (PaymentMedia.QR, "au PAY")
    assert "total\t150" in (_command(sim, "charges") or "")
    assert "present MEDIA BRAND" in (_command(sim, "help") or "")


# --- protocol ------------------------------------------------------------------------------------


def frame_of(message: p.Request | p.Reply | p.Event) -> bytes:
    return p.encode_message(message)


SALE = p.SaleRequest(seq=7, key="R1-0001", amount=1200, wait=54.0)


def test_frame_layout_and_round_trip():
    frame = frame_of(SALE)
    assert frame[0] == p.STX and frame[-5] == p.ETX
    assert frame[-4:] == b"%04X" % p.crc16(frame[1:-4])
    (item,) = p.FrameParser().feed(frame)
    assert isinstance(item, p.Frame) and p.decode_message(item.body) == SALE


def test_crc_is_ccitt_false():
    assert p.crc16(b"123456789") == 0x29B1


def test_parser_resynchronises_after_garbage_and_split_reads():
    event = p.Event(seq=3, key="k", event=p.EventName.CARD_READ, media=PaymentMedia.EMONEY, brand="交通系IC")
    stream = b"\xff\x00noise" + frame_of(SALE) + bytes([p.Control.ACK]) + b"\x02trunc" + frame_of(event)
    parser = p.FrameParser()
    items = [item for i in range(len(stream)) for item in parser.feed(stream[i : i + 1])]
    assert [type(i) for i in items] == [p.Frame, p.Control, p.Frame]
    assert p.decode_message(items[2].body) == event  # the truncated frame was dropped at the next STX
    assert parser.discarded > 0


def test_parser_reports_damage_and_keeps_the_control_byte_that_broke_a_frame():
    good = frame_of(SALE)
    damaged = bytearray(good)
    damaged[5] ^= 0x01
    cut = good[:10] + bytes([p.Control.NAK])
    items = p.FrameParser().feed(bytes(damaged) + cut + good)
    assert items[0] == p.BadFrame("check mismatch")
    assert items[1] == p.BadFrame("control byte inside a frame") and items[2] is p.Control.NAK
    assert isinstance(items[3], p.Frame)


def test_parser_drops_an_overlong_frame():
    items = p.FrameParser().feed(b"\x02" + b"x" * (p.MAX_BODY + 10) + frame_of(SALE))
    assert items[0] == p.BadFrame("frame too long") and isinstance(items[-1], p.Frame)


def test_encode_refuses_undelimitable_bodies():
    with pytest.raises(ValueError):
        p.encode_frame(b'{"a":"\x03"}')
    with pytest.raises(ValueError):
        p.encode_frame(b"x" * (p.MAX_BODY + 1))


def test_messages_have_no_room_for_a_card_number():
    body = b'{"type":"event","seq":1,"key":"k","event":"card_read","pan":"4111111111111111"}'
    assert "4111" not in repr(p.decode_message(body))
    with pytest.raises(p.MessageError):
        p.decode_message(b'{"type":"sale","seq":1,"key":"k","amount":-5,"wait":1}')
    with pytest.raises(p.MessageError):
        p.decode_message(b"not json")


def test_brand_table_covers_the_three_media():
    by_media = {m: {b for b, bm in p.BRANDS.items() if bm is m} for m in PaymentMedia}
    assert {"VISA", "Mastercard", "JCB", "American Express", "Diners Club"} == by_media[PaymentMedia.CREDIT]
    assert {"交通系IC", "nanaco", "WAON", "楽天Edy", "iD", "QUICPay"} == by_media[PaymentMedia.EMONEY]
    assert {"PayPay", "d払い", "楽天ペイ", "au PAY"} == by_media[PaymentMedia.QR]
