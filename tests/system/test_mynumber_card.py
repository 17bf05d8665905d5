"""The My Number card reader: pure APDU/TLV core, then the real pyscard → pcscd → vpcd path."""

from __future__ import annotations

import threading

import pytest

from devkit.mynumber_card import SimulatedReader, VirtualMyNumberCard, VpcdCard, load_residents
from form_printer.card import apdu, tlv
from form_printer.card.apdu import Status, StatusWord
from form_printer.card.basic4 import Basic4Error, BasicFour, encode_basic4, parse_basic4
from form_printer.card.pcsc import PcscReader
from form_printer.card.protocol import CardError, mask_my_number
from tests.cards import READER

RESIDENTS = load_residents()


# ----------------------------------------------------------------- pure core
def test_apdus_are_the_documented_bytes():
    select_ap = "00 A4 04 0C 0A D3 92 10 00 31 00 01 01 04 08"
    assert apdu.select_df(apdu.AID_TEXT_INPUT_SUPPORT).hex(" ").upper() == select_ap
    assert apdu.select_ef(apdu.EF_PIN).hex(" ").upper() == "00 A4 02 0C 02 00 11"
    assert apdu.select_ef(apdu.EF_BASIC4).hex(" ").upper() == "00 A4 02 0C 02 00 02"
    assert apdu.verify(None).hex(" ").upper() == "00 20 00 80"
    assert apdu.verify("1234").hex(" ").upper() == "00 20 00 80 04 31 32 33 34"
    assert apdu.read_binary(0x0107, 255).hex(" ").upper() == "00 B0 01 07 FF"


@pytest.mark.parametrize("pin", ["123", "12345", "12a4", "１２３４", ""])
def test_verify_refuses_anything_but_four_ascii_digits(pin):
    with pytest.raises(ValueError):
        apdu.verify(pin)


@pytest.mark.parametrize(
    ("sw", "status", "tries"),
    [
        ((0x90, 0x00), Status.OK, None),
        ((0x63, 0xC2), Status.WRONG_PIN, 2),
        ((0x63, 0xC0), Status.WRONG_PIN, 0),
        ((0x69, 0x84), Status.LOCKED, None),
        ((0x69, 0x82), Status.NOT_ALLOWED, None),
        ((0x6A, 0x82), Status.NOT_FOUND, None),
        ((0x69, 0x86), Status.NO_EF, None),
        ((0x6F, 0x00), Status.OTHER, None),
    ],
)
def test_status_words(sw, status, tries):
    word = StatusWord(*sw)
    assert word.status is status
    assert word.tries_left == tries


@pytest.mark.parametrize("size", [0, 1, 127, 128, 255, 256, 1000, 65535])
def test_tlv_lengths_round_trip(size):
    encoded = tlv.encode(0xDF23, b"x" * size)
    assert tlv.header_size(encoded) == len(encoded)
    assert list(tlv.iterate(encoded)) == [(0xDF23, b"x" * size)]


def test_tlv_refuses_truncated_data():
    encoded = tlv.encode(0xDF23, b"x" * 300)
    for cut in (1, 2, 3, 4, 200):
        with pytest.raises(tlv.TlvError):
            list(tlv.iterate(encoded[:cut]))
    assert tlv.header_size(encoded[:2]) is None


@pytest.mark.parametrize("resident", sorted(RESIDENTS))
def test_basic4_round_trips_every_test_resident(resident):
    items = RESIDENTS[resident].items
    parsed = parse_basic4(encode_basic4(items))
    assert parsed == items


def test_the_long_address_needs_a_two_byte_length():
    items = RESIDENTS["long_address"].items
    assert len(items.address) > 60
    assert len(items.address.encode()) > 127  # a one-byte-length parser breaks here
    assert parse_basic4(encode_basic4(items)).address == items.address


def _ef(**overrides: bytes) -> bytes:
    fields = {0xDF21: b"\0", 0xDF22: "山田".encode(), 0xDF23: "東京".encode(), 0xDF24: b"19850412", 0xDF25: b"1"}
    fields.update({int(k[1:], 16): v for k, v in overrides.items()})
    return tlv.encode(0xFF20, b"".join(tlv.encode(t, v) for t, v in fields.items() if v is not None))


@pytest.mark.parametrize(
    ("ef", "why"),
    [
        (b"", "container"),
        (tlv.encode(0xFF10, b"123"), "container"),
        (_ef(xDF24=b"1985041"), "YYYYMMDD"),
        (_ef(xDF24=b"19850231"), "not a date"),
        (_ef(xDF25=b"3"), "ISO 5218"),
        (_ef(xDF22=b"\xff\xfe"), "UTF-8"),
        (_ef()[:-3], "runs past"),
    ],
)
def test_basic4_parser_is_strict(ef, why):
    with pytest.raises(Basic4Error, match=why):
        parse_basic4(ef)


def test_basic4_never_shows_itself_and_wipes():
    items = BasicFour("山田　太郎", "東京都", "19850412", "1")
    assert "山田" not in repr(items) and "東京" not in str(items) and "1985" not in f"{items}"
    items.wipe()
    assert items.wiped and items.name == "" and "wiped" in repr(items)


def test_my_number_is_masked():
    assert mask_my_number("123456789018") == "••••••••9018"


# ----------------------------------------------------------------- the read sequence, in process
def _reader_with(resident: str | None) -> tuple[SimulatedReader, VirtualMyNumberCard]:
    reader = SimulatedReader()
    card = VirtualMyNumberCard(RESIDENTS[resident] if resident else None)
    reader.hold(card)
    return reader, card


def test_in_process_read_uses_seven_apdus_and_sends_the_pin_once():
    reader, card = _reader_with("yamada")
    ap = reader.open()
    assert ap.pin_tries() == 3
    ap.verify("1234")
    items = ap.read_basic4()
    assert items.name == "山田　太郎" and items.birth_date.isoformat() == "1985-04-12"
    assert ap.apdus == 7  # select AP, select PIN EF, tries, verify, select EF, read header, read rest
    assert sum(1 for c in card.commands if c[:2] == b"\x00\x20" and len(c) > 4) == 1
    assert b"\x00\x01" not in [c[5:7] for c in card.commands if c[:4] == b"\x00\xa4\x02\x0c"]  # My Number EF untouched


def test_the_my_number_is_read_only_when_asked_and_shown_masked():
    reader, card = _reader_with("yamada")
    ap = reader.open()
    ap.verify("1234")
    number = ap.read_my_number()
    assert number == RESIDENTS["yamada"].my_number
    assert mask_my_number(number).endswith(number[-4:]) and number[:8] not in mask_my_number(number)


def test_wrong_pins_count_down_then_lock_for_good():
    reader, card = _reader_with("yamada")
    ap = reader.open()
    for left in (2, 1):
        with pytest.raises(CardError) as e:
            ap.verify("9999")
        assert (e.value.code, e.value.tries_left) == ("wrong_pin", left)
        assert ap.pin_tries() == left
    with pytest.raises(CardError) as e:
        ap.verify("9999")
    assert e.value.code == "locked"
    with pytest.raises(CardError) as e:
        ap.verify("1234")  # even the right PIN: only the city office can unlock
    assert e.value.code == "locked"
    reader.take_away()
    reader.hold(card)
    assert reader.open().pin_tries() == 0


def test_reading_before_the_pin_is_refused_by_the_card():
    reader, _ = _reader_with("yamada")
    with pytest.raises(CardError, match="before the PIN"):
        reader.open().read_basic4()


def test_card_lost_in_the_middle_of_a_command():
    reader, _ = _reader_with("yamada")
    reader.remove_after = 5  # answers select, select, tries, verify, select EF; gone during READ BINARY
    ap = reader.open()
    ap.pin_tries()
    ap.verify("1234")
    with pytest.raises(CardError) as e:
        ap.read_basic4()
    assert e.value.code == "card_removed"
    assert reader.card is None


def test_an_ef_claiming_more_than_a_card_holds_is_a_card_error_not_130_reads():
    """A card that claims a 40 KB basic-4 EF and keeps answering once ran READ BINARY past the 15-bit
    offset and ended in a ValueError; it is a card error before the second read."""
    from form_printer.card import apdu, tlv

    reader, card = _reader_with("yamada")
    huge = tlv.encode(0xFF20, b"\x00" * 40_000)
    card._files = lambda: {apdu.EF_BASIC4: huge}  # type: ignore[method-assign]
    ap = reader.open()
    ap.verify("1234")
    with pytest.raises(CardError) as e:
        ap.read_basic4()
    assert e.value.code == "card_error" and "40" in str(e.value)
    reads = [c for c in card.commands if c[:2] == b"\x00\xb0"]
    assert len(reads) == 1  # the header only


def test_simulated_reader_serves_a_card_holder_over_the_vpcd_protocol():
    """The demo without pcscd: the card window's VpcdCard talks to the in-process reader."""
    reader = SimulatedReader(port=0)
    arrived, left = threading.Event(), threading.Event()
    reader.start(arrived.set, left.set)
    holder = VpcdCard(VirtualMyNumberCard(RESIDENTS["foreign"]), port=reader.port)
    try:
        holder.insert()
        assert arrived.wait(5)
        ap = reader.open()
        ap.verify("1234")
        assert ap.read_basic4().name == "GARCIA LOPEZ MARIA FERNANDA"
        holder.remove()
        assert left.wait(5)
        with pytest.raises(CardError):
            reader.open()
    finally:
        holder.remove()
        reader.stop()


def test_some_other_card_is_not_a_my_number_card():
    reader, _ = _reader_with(None)
    with pytest.raises(CardError) as e:
        reader.open()
    assert e.value.code == "not_mynumber"


# ----------------------------------------------------------------- the real PC/SC stack
def test_pcsc_right_pin_reads_the_four_items(card_on_reader):
    card_on_reader("long_address")
    reader = PcscReader(READER)
    try:
        ap = reader.open()
        assert ap.pin_tries() == 3
        ap.verify("1234")
        items = ap.read_basic4()
    finally:
        reader.close()
    expected = RESIDENTS["long_address"].items
    assert (items.name, items.address, items.birth, items.sex) == (
        expected.name,
        expected.address,
        expected.birth,
        expected.sex,
    )
    assert ap.apdus == 7


def test_pcsc_rare_kanji_outside_the_bmp_survive(card_on_reader):
    card_on_reader("long_name")
    reader = PcscReader(READER)
    try:
        ap = reader.open()
        ap.verify("1234")
        assert ap.read_basic4().name == RESIDENTS["long_name"].items.name
    finally:
        reader.close()
    assert "\U00020bb7" in RESIDENTS["long_name"].items.name


def test_pcsc_wrong_pin_then_lock(card_on_reader):
    held = card_on_reader("yamada")
    reader = PcscReader(READER)
    try:
        ap = reader.open()
        with pytest.raises(CardError) as e:
            ap.verify("0000")
        assert (e.value.code, e.value.tries_left) == ("wrong_pin", 2)
        assert ap.pin_tries() == 2
        ap.verify("1234")  # right: the counter goes back to 3
        assert ap.pin_tries() == 3
        for _ in range(2):
            with pytest.raises(CardError, match="wrong PIN"):
                ap.verify("0000")
        with pytest.raises(CardError) as e:
            ap.verify("0000")
        assert e.value.code == "locked"
    finally:
        reader.close()
    assert held.card.tries == 0


def test_pcsc_card_removed_mid_read_then_read_again(pcsc, card_on_reader):
    card_on_reader("yamada")
    reader = PcscReader(READER)
    try:
        ap = reader.open()
        ap.pin_tries()
        ap.verify("1234")
        pcsc.take_away()  # after the PIN, before the 4 items: pcscd has seen it go
        with pytest.raises(CardError) as e:
            ap.read_basic4()
        assert e.value.code == "card_removed"
    finally:
        reader.close()
    card_on_reader("yamada")  # held again: a fresh session reads normally
    try:
        ap = reader.open()
        ap.verify("1234")
        assert ap.read_basic4().name == "山田　太郎"
    finally:
        reader.close()


def test_pcsc_not_a_my_number_card(card_on_reader):
    card_on_reader(None)
    reader = PcscReader(READER)
    try:
        with pytest.raises(CardError) as e:
            reader.open()
        assert e.value.code == "not_mynumber"
    finally:
        reader.close()


def test_pcsc_missing_reader_is_named(pcsc):
    with pytest.raises(CardError) as e:
        PcscReader("RC-S300").open()
    assert e.value.code == "reader_missing" and "RC-S300" in str(e.value)


def test_pcsc_no_card_on_the_reader(pcsc):
    pcsc.take_away()
    with pytest.raises(CardError) as e:
        PcscReader(READER).open()
    assert e.value.code == "card_removed"


def test_card_monitoring_sees_the_card_come_and_go(pcsc):
    pcsc.take_away()
    arrived, left = threading.Event(), threading.Event()
    reader = PcscReader(READER)
    reader.start(arrived.set, left.set)
    try:
        pcsc.hold(pcsc.card("yamada"), wait=False)
        assert arrived.wait(10), "no insertion event"
        pcsc.take_away()
        assert left.wait(10), "no removal event"
    finally:
        reader.stop()


def test_card_events_survive_a_pcscd_restart(pcsc, tmp_path):
    """systemd restarts pcscd (or it crashed): the kiosk must see cards again without a restart of its own."""
    from devkit.pcscd import start_pcscd

    pcsc.take_away()
    arrived, down, up = threading.Event(), threading.Event(), threading.Event()
    reader = PcscReader(READER)
    reader.start(arrived.set, lambda: None, lambda ok: (up if ok else down).set())
    try:
        assert up.wait(10)
        up.clear()
        pcsc.daemon.stop()
        assert down.wait(10), "the reader was not reported missing"
        pcsc.daemon = start_pcscd(tmp_path, pcsc.port)
        assert up.wait(10), "the reader was not reported back"
        pcsc.hold(pcsc.card("yamada"), wait=False)
        assert arrived.wait(10), "no insertion event after the restart"
    finally:
        reader.stop()
        pcsc.take_away()  # the stack is shared by the whole run: the next test starts with an empty reader
