"""Payment slips: the convenience-store barcode, the eL-QR code, the scanner's decorations, the
register's refusal rules, the site's [register] section and the sample slips (docs/payment-slips.md)."""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devkit.slip_samples import (
    fiscal_year,
    render_cvs_image,
    render_elqr_image,
    render_slip_card,
    sample_slips,
)
from kiosk.config import ConfigError, load_site
from kiosk.config.site import Payee, RegisterSettings
from register.slips.cvs import check_digit, decode_cvs, encode_cvs, parse_cvs
from register.slips.elqr import (
    ElqrFields,
    crc16,
    decode_elqr,
    encode_elqr,
    encode_fields,
    mpn_check_digits,
    parse_elqr,
)
from register.slips.model import Slip, SlipError
from register.slips.policy import SlipRefused, check_slip, find_payee, refusal_params
from register.slips.scan import clean, read_slip
from tests.conftest import EXAMPLE_SITE

FAST = settings(max_examples=40, deadline=None)

# GS1 Japan guideline's worked example and a second one quoted with it (both check digit 3)
WORKED = "91912345012345678901234567890101033101230003"
SECOND = "91942386178953917853935692730103073110312903"

# Two eL-QR codes published as test data of an Android payment terminal's parser
# (github mcapps multi_payment_terminal, EncodingELQRUnitTest): 自動車税種別割, 大分県 44000.
ELQR_A = (
    "000201010212279600051380001833800000000000000000395002138000127000008200000202401010104348778284"
    "044000040000000054110000003950062262024202400202405312024071080850000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000630520201"
)
ELQR_B = (
    "000201010212279600051380001838100000000000000000435002138000127000002900000202401010104347605497"
    "044000040000000054110000004350062262024202400202405312024071080850000000000000000000000000000000"
    "000000000000000000000000000000000000000000000000000000630534977"
)

TODAY = date(2025, 6, 10)


def with_crc(body_without_crc: str) -> str:
    """Re-seal an edited eL-QR text so that only the check under test can fail."""
    body = body_without_crc + "6305"
    return body + f"{crc16(body):05d}"


def error_code(fn, *args) -> str:
    with pytest.raises(SlipError) as err:
        fn(*args)
    return err.value.code


# ------------------------------------------------------------------ convenience-store barcode


def test_worked_examples_check_digit_is_3():
    assert check_digit(WORKED[:-1]) == "3" == WORKED[-1]
    assert check_digit(SECOND[:-1]) == "3" == SECOND[-1]
    assert encode_cvs("912345", "012345678901234567890", 1, date(2001, 3, 31), 0, 123000) == WORKED
    assert encode_cvs("942386", "178953917853935692730", 1, date(2003, 7, 31), 1, 31290) == SECOND


def test_every_field_of_the_worked_example():
    f = decode_cvs(WORKED)
    assert (f.company, f.free, f.reissue, f.deadline, f.stamp, f.amount) == (
        "912345",
        "012345678901234567890",
        1,
        date(2001, 3, 31),
        0,
        123000,
    )
    assert parse_cvs(WORKED) == Slip(
        kind="cvs",
        key="cvs:912345:012345678901234567890",
        amount=123000,
        deadline=date(2001, 3, 31),
        due=None,
        payee_code="912345",
        institution="",
        reference="012345678901234567890",
        fiscal_year=None,
        period=None,
        raw=WORKED,
        number="012345678901234567890",
    )


def test_999999_means_no_deadline():
    digits = encode_cvs("912345", "1", 0, None, 0, 500)
    assert digits[30:36] == "999999"
    assert parse_cvs(digits).deadline is None


def test_free_field_is_padded_with_trailing_zeros():
    assert decode_cvs(encode_cvs("912345", "1012", 0, None, 0, 1)).free == "101200000000000000000"


def test_a_reissued_copy_is_the_same_bill():
    first = parse_cvs(encode_cvs("912345", "10100042", 0, date(2025, 5, 31), 0, 12300))
    reissued = parse_cvs(encode_cvs("912345", "10100042", 1, date(2025, 7, 31), 0, 12450))
    other = parse_cvs(encode_cvs("912345", "10100043", 0, date(2025, 5, 31), 0, 12300))
    assert first.key == reissued.key != other.key


@pytest.mark.parametrize(
    "text",
    ["", WORKED[:-1], WORKED + "0", WORKED[:10] + "A" + WORKED[11:], "９" + WORKED[1:]],
)
def test_wrong_length_or_characters_are_malformed(text):
    assert error_code(parse_cvs, text) == "malformed"


def test_valid_check_digit_but_not_ai_91_or_impossible_date_is_malformed():
    not_91 = "92" + WORKED[2:-1]
    assert error_code(parse_cvs, not_91 + check_digit(not_91)) == "malformed"
    feb_31 = WORKED[:30] + "250231" + WORKED[36:-1]
    assert error_code(parse_cvs, feb_31 + check_digit(feb_31)) == "malformed"


def test_encoder_refuses_what_the_barcode_cannot_carry():
    for args in [
        ("91234", "", 0, None, 0, 1),
        ("912345", "1" * 22, 0, None, 0, 1),
        ("912345", "", 10, None, 0, 1),
        ("912345", "", 0, None, 0, 1_000_000),
        ("912345", "", 0, date(2100, 1, 1), 0, 1),
    ]:
        with pytest.raises(ValueError):
            encode_cvs(*args)


cvs_fields = st.fixed_dictionaries(
    {
        "company": st.from_regex(r"[0-9]{6}", fullmatch=True),
        "free": st.from_regex(r"[0-9]{0,21}", fullmatch=True),
        "reissue": st.integers(0, 9),
        "deadline": st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31)),
        "stamp": st.integers(0, 9),
        "amount": st.integers(0, 999_999),
    }
)


@FAST
@given(cvs_fields)
def test_every_valid_barcode_round_trips(fields):
    digits = encode_cvs(**fields)
    assert len(digits) == 44 and digits.startswith("91")
    f = decode_cvs(digits)
    assert f.free == fields["free"].ljust(21, "0")
    assert (f.company, f.reissue, f.deadline, f.stamp, f.amount) == (
        fields["company"],
        fields["reissue"],
        fields["deadline"],
        fields["stamp"],
        fields["amount"],
    )
    assert read_slip("]C1" + digits + "\r\n") == parse_cvs(digits)


@FAST
@given(cvs_fields)
def test_every_single_digit_substitution_is_caught(fields):
    digits = encode_cvs(**fields)
    for i, old in enumerate(digits):
        for new in "0123456789":
            if new != old:
                assert error_code(parse_cvs, digits[:i] + new + digits[i + 1 :]) == "bad_check_digit"


# ------------------------------------------------------------------ eL-QR


def test_crc_is_ccitt_false():
    assert crc16("123456789") == 0x29B1


def test_mpn_check_digits_match_published_ocr_vectors():
    # vectors quoted in a school-fee system's implementation of the bank-standard 納付書 OCR lines
    assert mpn_check_digits("0000000000000000003600226000033421101") == "61"
    assert mpn_check_digits("100250881102000000061050501000000000000000") == "22"
    with pytest.raises(ValueError):
        mpn_check_digits("123")


def test_published_codes_parse_field_by_field_and_re_encode_exactly():
    f = decode_elqr(ELQR_A)
    assert f == ElqrFields(
        institution="44000",
        tax_code="127",
        number="00000202401010104348",
        confirmation="778284",
        amount=39500,
        levy_year=2024,
        tax_year=2024,
        period=0,
        due=date(2024, 5, 31),
        deadline=date(2024, 7, 10),
        office="040",
    )
    assert encode_fields(f) == ELQR_A
    assert encode_fields(decode_elqr(ELQR_B)) == ELQR_B
    slip = parse_elqr(ELQR_B)
    assert (slip.kind, slip.amount, slip.payee_code, slip.institution) == ("elqr", 43500, "127", "44000")
    assert (slip.deadline, slip.due, slip.fiscal_year, slip.period) == (date(2024, 7, 10), date(2024, 5, 31), 2024, 0)
    assert slip.key == "elqr:44000:00000202401010104347"
    assert slip.reference == "44000" + "00000202401010104347" + "605497" + "127"
    assert slip.raw == ELQR_B


def test_encode_elqr_builds_a_255_digit_code():
    text = encode_elqr(
        institution="13199",
        tax_code="010",
        number="20250000000000000042",
        confirmation="123456",
        amount=87_600,
        levy_year=2025,
        period=2,
        due=date(2025, 7, 31),
        deadline=date(2025, 8, 31),
    )
    assert len(text) == 255 and text.startswith("000201010212") and text[-9:-5] == "6305"
    f = decode_elqr(text)
    assert (f.amount, f.period, f.tax_year, f.due, f.deadline) == (
        87_600,
        2,
        2025,
        date(2025, 7, 31),
        date(2025, 8, 31),
    )


elqr_fields = st.builds(
    ElqrFields,
    institution=st.from_regex(r"[0-9]{5}", fullmatch=True),
    tax_code=st.from_regex(r"[0-9]{3}", fullmatch=True),
    number=st.from_regex(r"[0-9]{20}", fullmatch=True),
    confirmation=st.from_regex(r"[0-9]{6}", fullmatch=True),
    amount=st.integers(0, 10**11 - 1),
    levy_year=st.integers(1000, 9999),
    tax_year=st.integers(1000, 9999),
    period=st.integers(0, 99),
    due=st.none() | st.dates(date(1000, 1, 1)),
    deadline=st.none() | st.dates(date(1000, 1, 1)),
    office=st.from_regex(r"[0-9]{3}", fullmatch=True),
    account=st.from_regex(r"[0-9]{11}", fullmatch=True),
    reserved2=st.from_regex(r"[0-9]{7}", fullmatch=True),
    extra=st.none() | st.from_regex(r"[0-9]{0,99}", fullmatch=True),
)


@FAST
@given(elqr_fields)
def test_every_valid_elqr_round_trips(fields):
    text = encode_fields(fields)
    assert decode_elqr(text) == fields
    assert read_slip("]Q3" + text + "\n") == parse_elqr(text)


@pytest.mark.parametrize("text", [ELQR_A, encode_fields(replace(decode_elqr(ELQR_A), extra=None))])
def test_every_single_character_substitution_is_caught(text):
    """Any changed character fails the CRC, except in the CRC's own tag or a non-digit in its value."""
    n = len(text)
    for i, old in enumerate(text):
        for new in "0123456789A":
            if new != old:
                code = error_code(decode_elqr, text[:i] + new + text[i + 1 :])
                unreadable_tail = n - 9 <= i < n - 5 or (i >= n - 5 and not new.isdigit())
                assert code == ("malformed" if unreadable_tail else "bad_crc"), (i, new)


def test_inner_check_digits_are_checked_even_under_a_good_crc():
    i = ELQR_A.index("0183") + 4  # start of the MPN block
    for pos in (i + 20, i + 60):  # a digit of each OCR line
        body = ELQR_A[:-9]
        edited = body[:pos] + str((int(body[pos]) + 1) % 10) + body[pos + 1 :]
        assert error_code(decode_elqr, with_crc(edited)) == "bad_check_digit"


def test_structure_errors_under_a_good_crc():
    body = ELQR_A[:-9]
    assert error_code(decode_elqr, with_crc(body.replace("54110000003950", "54110000003951"))) == "malformed"
    assert error_code(decode_elqr, with_crc(body.replace("000201", "000202", 1))) == "malformed"
    assert error_code(decode_elqr, with_crc(body[:-10])) == "malformed"  # tag 80 runs past the end
    assert error_code(decode_elqr, with_crc(body.replace("202405312024", "202402312024"))) == "malformed"
    assert error_code(decode_elqr, with_crc(body.replace("000513800", "000513801", 1))) == "unknown_format"


def test_a_shop_payment_qr_is_not_an_elqr():
    jpqr = "00020101021126270012jp.example01091234567895204000053033925802JP5906SAKURA6005TOKYO6304A1B2"
    assert error_code(decode_elqr, jpqr) == "unknown_format"
    assert error_code(read_slip, jpqr) == "unknown_format"


def test_zero_dates_read_as_no_date():
    text = encode_fields(replace(decode_elqr(ELQR_A), due=None, deadline=None))
    assert "2024202400" + "0" * 16 in text
    assert parse_elqr(text).deadline is None and parse_elqr(text).due is None


# ------------------------------------------------------------------ scanner decorations


@pytest.mark.parametrize("prefix", ["", "]C1", "]E0", "]Q3", "]d2", "\x1d", "]C1\x1d", " \t", "\x1d]C1"])
@pytest.mark.parametrize("suffix", ["", "\r", "\n", "\r\n", "  "])
def test_scanner_prefixes_and_terminators_are_stripped(prefix, suffix):
    assert clean(prefix + WORKED + suffix) == WORKED
    assert read_slip(prefix + WORKED + suffix).raw == WORKED


@pytest.mark.parametrize(
    "scanned",
    ["", "\r\n", "4901234567894", "]E04901234567894", "hello", WORKED[:-1], "81" + WORKED[2:], "０００２０１"],
)
def test_anything_else_is_an_unknown_format(scanned):
    assert error_code(read_slip, scanned) == "unknown_format"


# ------------------------------------------------------------------ register rules

PAYEES = RegisterSettings(
    max_slip_amount=300_000,
    max_total=400_000,
    max_slips=3,
    payees=(
        Payee(id="agent-any", names={"ja": "代行", "en": "Agent"}, company_code="929999"),
        Payee(id="kokuho", names={"ja": "国保", "en": "NHI"}, company_code="929999", free_prefix="101"),
        Payee(id="hoiku", names={"ja": "保育料", "en": "Nursery"}, company_code="912345"),
        Payee(
            id="kotei",
            names={"ja": "固定資産税", "en": "Fixed asset tax"},
            eltax_tax_code="010",
            eltax_institution="13199",
        ),
    ),
)


def cvs(company="912345", free="7", amount=1000, deadline=TODAY) -> Slip:
    return parse_cvs(encode_cvs(company, free, 0, deadline, 0, amount))


def tax(institution="13199", code="010", amount=1000, number="1") -> Slip:
    return parse_elqr(
        encode_elqr(
            institution=institution,
            tax_code=code,
            number=number.zfill(20),
            confirmation="000001",
            amount=amount,
            levy_year=2025,
            due=TODAY,
            deadline=TODAY,
        )
    )


def refused(slip: Slip, cart=(), today=TODAY) -> SlipRefused:
    with pytest.raises(SlipRefused) as err:
        check_slip(slip, PAYEES, today, list(cart))
    return err.value


def test_payees_match_by_company_code_longest_free_prefix_and_eltax_codes():
    assert check_slip(cvs("929999", "10100012"), PAYEES, TODAY, []).id == "kokuho"
    assert check_slip(cvs("929999", "20200012"), PAYEES, TODAY, []).id == "agent-any"
    assert check_slip(cvs(), PAYEES, TODAY, []).id == "hoiku"
    assert check_slip(tax(), PAYEES, TODAY, []).id == "kotei"
    assert find_payee(tax(institution="13101"), PAYEES) is None  # another city's tax


def test_each_refusal_code_with_its_parameters():
    r = refused(cvs(deadline=TODAY - timedelta(days=1)))
    assert (r.code, refusal_params(r)) == ("expired", {"deadline": "2025-06-09"})
    assert check_slip(cvs(deadline=TODAY), PAYEES, TODAY, [])  # the deadline day itself is fine
    assert check_slip(cvs(deadline=None), PAYEES, TODAY, [])
    r = refused(cvs(amount=300_001))
    assert (r.code, refusal_params(r)) == ("over_limit", {"amount": "300,001", "limit": "300,000"})
    r = refused(cvs(free="2", amount=200_000), cart=[cvs(free="1", amount=200_001)])
    assert (r.code, refusal_params(r)) == ("total_over_limit", {"total": "400,001", "limit": "400,000"})
    assert check_slip(cvs(free="2", amount=200_000), PAYEES, TODAY, [cvs(free="1", amount=200_000)])
    r = refused(cvs(free="7"), cart=[parse_cvs(encode_cvs("912345", "7", 1, None, 0, 999))])
    assert (r.code, refusal_params(r)) == ("duplicate", {"reference": "7".ljust(21, "0")})
    r = refused(cvs(company="900001"))
    assert (r.code, refusal_params(r)) == ("not_accepted", {"payee_code": "900001"})
    assert refused(tax(code="011")).code == "not_accepted"
    r = refused(cvs(free="4"), cart=[cvs(free=str(i)) for i in range(1, 4)])
    assert (r.code, refusal_params(r)) == ("too_many", {"limit": "3"})
    assert r.slip.reference.startswith("4")


def test_a_zero_yen_slip_is_refused_at_scan_whichever_its_code():
    """0 yen is nothing to pay, and a 0-yen line could never be reported (it once stopped every report)."""
    for slip in (cvs(amount=0), tax(amount=0)):
        assert slip.amount == 0
        r = refused(slip)
        assert (r.code, refusal_params(r)) == ("no_amount", {"amount": "0"})
    assert check_slip(cvs(amount=1), PAYEES, TODAY, [])


def test_a_bill_paid_in_an_earlier_transaction_is_refused():
    paid = {cvs().key}
    r = None
    with pytest.raises(SlipRefused) as err:
        check_slip(cvs(), PAYEES, TODAY, [], paid)
    r = err.value
    assert r.code == "already_paid" and refusal_params(r) == {"reference": cvs().reference}
    assert check_slip(cvs(free="8"), PAYEES, TODAY, [], paid)  # another bill is fine


def test_the_most_specific_reason_comes_first():
    full = [cvs(free=str(i)) for i in range(1, 4)]
    assert refused(full[0], cart=full).code == "duplicate"
    assert refused(cvs(company="900001"), cart=full).code == "not_accepted"
    assert refused(tax(number="2"), cart=[tax(number="2", amount=5)]).code == "duplicate"


# ------------------------------------------------------------------ the site's [register] section


def test_the_example_site_has_a_register_section(site):
    reg = site.register
    assert reg is not None and (reg.max_slip_amount, reg.max_total, reg.max_slips) == (300_000, 1_000_000, 20)
    assert {p.id for p in reg.payees} >= {"kokuho", "kaigo", "hoiku", "kotei", "keijidosha"}
    for p in reg.payees:
        assert p.names.get("en") and p.names.zh and p.names.ko and p.names.vi and p.names.pt and p.names.ja_easy


def site_with(tmp_path, register_toml: str):
    text = EXAMPLE_SITE.read_text(encoding="utf-8")
    text = text[: text.index("[register]")] + register_toml
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


PAYEE_A = (
    '[[register.payees]]\nid = "a"\n'
    'names = { ja = "あ", en = "A", zh = "A", ko = "A", vi = "A", pt = "A", ja-easy = "あ" }\n'
    'company_code = "912345"\n'
)


def test_a_register_section_is_optional(tmp_path):
    without = site_with(tmp_path, "")
    with pytest.raises(ConfigError, match="routing 'register' needs a \\[register\\] section"):
        load_site(without)  # the example site pays 納付 at the register: that needs one
    text = without.read_text(encoding="utf-8")
    without.write_text(text.replace('routing = "register"', 'routing = "counter"'), encoding="utf-8")
    site = load_site(without)
    assert site.register is None
    assert load_site(site_with(tmp_path, "[register]\n" + PAYEE_A)).register.max_slips == 20


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[register]\ncolour = 1\n" + PAYEE_A, "unknown key"),
        ("[register]\nmax_slip_amount = 1000000\n" + PAYEE_A, "max_slip_amount"),
        ("[register]\nmax_total = 1000\n" + PAYEE_A, "max_total must be at least"),
        ("[register]\n", "payees"),
        (PAYEE_A.replace('"912345"', '"91234"'), "company_code"),
        (PAYEE_A.replace('"912345"', "912345"), "company_code"),
        (PAYEE_A.replace('company_code = "912345"', 'free_prefix = "1"\neltax_tax_code = "010"'), "free_prefix"),
        (PAYEE_A.replace('company_code = "912345"', ""), "needs company_code or eltax_tax_code"),
        (PAYEE_A.replace('company_code = "912345"', 'eltax_tax_code = "010"'), "go together"),
        (PAYEE_A + PAYEE_A, "duplicate id"),
        (PAYEE_A + PAYEE_A.replace('id = "a"', 'id = "b"'), "same codes as payee 'a'"),
    ],
)
def test_register_config_errors_name_the_problem(tmp_path, toml, needle):
    path = site_with(tmp_path, toml)
    with pytest.raises(ConfigError) as err:
        load_site(path)
    assert needle in str(err.value)
    assert all(p.startswith(str(path)) for p in err.value.problems)


# ------------------------------------------------------------------ sample slips and pictures


@settings(max_examples=25, deadline=None)
@given(st.dates(date(2024, 1, 1), date(2098, 12, 1)))
def test_samples_are_never_stale_and_bad_ones_fail_as_announced(site, today):
    reg = site.register
    samples = sample_slips(reg, today)
    expected = {None, "duplicate", "expired", "not_accepted", "over_limit", "bad_check_digit"}
    assert {s.expect for s in samples} == expected
    cart: list[Slip] = []
    for s in samples:
        if s.expect is None:
            slip = read_slip(s.data)
            assert check_slip(slip, reg, today, cart).id == s.payee_id
            assert slip.deadline is None or slip.deadline >= today
            if slip.kind == "elqr":
                assert slip.fiscal_year == fiscal_year(today)
            cart.append(slip)
            continue
        with pytest.raises((SlipError, SlipRefused)) as err:
            check_slip(read_slip(s.data), reg, today, cart if s.expect == "duplicate" else [])
        assert err.value.code == s.expect, s.id
    assert {s.kind for s in cart} == {"cvs", "elqr"} and len(cart) >= 5


def test_fiscal_year_starts_in_april():
    assert fiscal_year(date(2025, 3, 31)) == 2024 and fiscal_year(date(2025, 4, 1)) == 2025


def zbar(path) -> tuple[str, str, str]:
    """(type, modifiers, data) of the one symbol zbarimg finds in an image."""
    xml = subprocess.run(["zbarimg", "--xml", "-q", str(path)], capture_output=True, text=True, check=True).stdout
    ns = "{http://zbar.sourceforge.net/2008/barcode}"
    [symbol] = ET.fromstring(xml).iter(ns + "symbol")
    return symbol.get("type", ""), symbol.get("modifiers", ""), symbol.findtext(ns + "data") or ""


needs_zbar = pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (zbar-tools) not installed")


@needs_zbar
def test_barcode_picture_decodes_to_the_exact_digits_with_fnc1(tmp_path, site):
    data = sample_slips(site.register, TODAY)[0].data
    render_cvs_image(data).save(tmp_path / "cvs.png")
    assert zbar(tmp_path / "cvs.png") == ("CODE-128", "GS1", data)


@needs_zbar
def test_qr_picture_and_slip_card_decode_to_the_exact_text(tmp_path, site):
    data = next(s.data for s in sample_slips(site.register, TODAY) if s.data.startswith("0002"))
    render_elqr_image(data).save(tmp_path / "qr.png")
    assert zbar(tmp_path / "qr.png")[::2] == ("QR-Code", data)
    card = render_slip_card(data, "固定資産税・都市計画税")
    card.save(tmp_path / "card.png")
    assert card.width >= 640 and zbar(tmp_path / "card.png")[2] == data


# ------------------------------------------------------------------ one bill, two codes

#: A payee whose slips carry both codes; its layout (invented): free field "104" + the 12-digit
#: 通知書番号 + 6 more digits; 納付番号 = 8 digits + the 通知書番号.
DUAL = RegisterSettings(
    payees=(
        Payee(
            id="juminzei",
            names={"ja": "市民税・県民税", "en": "Resident tax"},
            company_code="912345",
            free_prefix="104",
            eltax_tax_code="001",
            eltax_institution="13199",
            bill_number={"cvs_free": {"first": 4, "last": 15}, "elqr_number": {"first": 9, "last": 20}},
        ),
        Payee(id="hoiku", names={"ja": "保育料", "en": "Nursery"}, company_code="912345", free_prefix="103"),
    )
)
NOTICE = "202500004512"


def dual_cvs(notice=NOTICE, amount=45_000) -> Slip:
    return cvs(free=f"104{notice}000001", amount=amount)


def dual_qr(notice=NOTICE, amount=45_000) -> Slip:
    return tax(code="001", number=f"20250001{notice}", amount=amount)


def test_one_bill_scanned_by_its_barcode_and_its_qr_code_is_one_bill_in_the_cart():
    """45,000 yen once, not 90,000: whichever code comes second is the duplicate."""
    for first, second in ((dual_cvs(), dual_qr()), (dual_qr(), dual_cvs())):
        assert first.key != second.key  # the codes' own keys differ ...
        assert check_slip(first, DUAL, TODAY, []).id == "juminzei"
        with pytest.raises(SlipRefused) as err:
            check_slip(second, DUAL, TODAY, [first])
        assert err.value.code == "duplicate"  # ... the bill is the same
    # another bill of the same payee, by either code, is fine
    assert check_slip(dual_qr(notice="202500004513"), DUAL, TODAY, [dual_cvs()])
    assert check_slip(dual_cvs(notice="202500004513"), DUAL, TODAY, [dual_qr()])


def test_a_bill_paid_by_one_code_is_already_paid_by_the_other_in_a_later_transaction(tmp_path):
    from datetime import datetime

    from register.cart import Cart
    from register.journal import Journal

    journal = Journal(tmp_path / "register.sqlite")
    cart = Cart(DUAL, TODAY)
    cart.scan(dual_cvs().raw)
    now = datetime(2025, 6, 10, 10, 0)
    journal.append("tx-1", "open", {"slips": [line.journal() for line in cart.lines]}, at=now)
    journal.append("tx-1", "paid", {"method": "cash"}, at=now)
    journal.close()
    later = Cart(DUAL, TODAY, Journal(tmp_path / "register.sqlite").paid_slip_keys())
    with pytest.raises(SlipRefused) as err:
        later.scan(dual_qr().raw)
    assert err.value.code == "already_paid"
    assert later.scan(dual_qr(notice="202500004513").raw).payee.id == "juminzei"


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"cvs_free": {"first": 4, "last": 15}, "elqr_number": {"first": 9, "last": 19}}, "cvs_free has 12 digits"),
        ({"cvs_free": {"first": 4, "last": 22}, "elqr_number": {"first": 1, "last": 19}}, "ends by digit 21"),
        ({"cvs_free": {"first": 5, "last": 4}, "elqr_number": {"first": 1, "last": 1}}, "comes before first"),
    ],
)
def test_bill_number_rules_must_fit_both_codes(rule, says):
    with pytest.raises(ValueError, match=says):
        Payee(
            id="x",
            names={"ja": "x", "en": "x"},
            company_code="912345",
            eltax_tax_code="001",
            eltax_institution="13199",
            bill_number=rule,
        )
    with pytest.raises(ValueError, match="needs both company_code and eltax_tax_code"):
        Payee(
            id="x",
            names={"ja": "x", "en": "x"},
            company_code="912345",
            bill_number={"cvs_free": {"first": 1, "last": 2}, "elqr_number": {"first": 1, "last": 2}},
        )
