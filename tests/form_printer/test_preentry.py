"""Pre-entry QR payloads: signing, every way a payload can be refused, the key file, the QR and the CLI."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from form_printer.forms.model import load_templates
from form_printer.preentry import (
    PreEntry,
    PreEntryError,
    load_key,
    main,
    make_payload,
    new_key,
    qr_image,
    read_payload,
)

ROOT = Path(__file__).resolve().parents[2]
KEY = bytes(range(32))
SITE = "sakura-ward"
NOW = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=14)
FIELDS = {
    "move_date": "2026-11-20",
    "new_address": "東京都さくら区桜町一丁目2番3号　さくらハイツ201",
    "name_kana": "てしがわら　たかよしざえもんのすけ",
    "household_head": "勅使河原　髙𠮷左衛門之助",
    "phone": "090-1234-5678",
}
#: The characters of the QR code's alphanumeric mode: what a payload may use.
QR_ALPHANUMERIC = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def payload(fields=FIELDS, key=KEY, site=SITE, expires=LATER, now=NOW) -> str:
    return make_payload(fields, key, site, expires, now)


def refused(text: str, **kw) -> PreEntryError:
    args = {"key": KEY, "site": SITE, "now": NOW + timedelta(hours=1)} | kw
    with pytest.raises(PreEntryError) as err:
        read_payload(text, **args)
    return err.value


def test_round_trip_with_japanese_text_and_ascii_only_payload():
    text = payload()
    assert text.startswith("MDG1.")
    assert set(text) <= QR_ALPHANUMERIC, "a keyboard wedge types it; QR alphanumeric mode holds it"
    entry = read_payload(text, KEY, SITE, NOW + timedelta(days=1))
    assert entry == PreEntry(fields=FIELDS, expires=LATER)


def test_scanner_noise_prefix_and_letter_case_do_not_matter():
    text = payload()
    scanned = "]Q1" + text.lower() + "\r\n"  # AIM identifier, Caps Lock on, the Enter key
    assert read_payload(scanned, KEY, SITE, NOW).fields == FIELDS
    assert read_payload("  \t" + text + "\n", KEY, SITE, NOW).fields == FIELDS


def flip(text: str, index: int) -> str:
    ch = text[index]
    return text[:index] + ("B" if ch != "B" else "C") + text[index + 1 :]


def test_tampered_body_is_refused():
    text = payload()
    assert refused(flip(text, 10)).code == "tampered"


def test_tampered_signature_is_refused():
    text = payload()
    assert refused(flip(text, len(text) - 5)).code == "tampered"


def test_another_key_is_refused_as_tampered():
    assert refused(payload(key=bytes(32))).code == "tampered"


def test_expired_payload_is_refused():
    text = payload(expires=NOW + timedelta(minutes=30))
    err = refused(text, now=NOW + timedelta(minutes=30))
    assert err.code == "expired" and "2026-11-01T09:30:00" in str(err)


def test_payload_of_another_site_is_refused():
    err = refused(payload(site="momiji-ward"))
    assert err.code == "wrong_site" and "momiji-ward" in str(err)


def test_payload_issued_in_the_future_is_refused():
    assert refused(payload(now=NOW + timedelta(hours=2)), now=NOW).code == "malformed"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "https://city.example.jp/",
        "MDG1.",
        "MDG1.ABC",
        "MDG1.A.B.C",
        "MDG1..ABC",
        "MDG2.ABC.DEF",
        "MDG1.ABC.!!!",
        "MDG1.ABC.A1",
    ],
)
def test_malformed_payloads_are_refused(text):
    assert refused(text).code == "malformed"


def test_validly_signed_garbage_is_malformed_not_trusted():
    import base64
    import hashlib
    import hmac

    body = base64.b32encode(b"[1, 2, 3]").decode().rstrip("=")
    sig = base64.b32encode(hmac.new(KEY, f"MDG1.{body}".encode(), hashlib.sha256).digest()).decode().rstrip("=")
    assert refused(f"MDG1.{body}.{sig}").code == "malformed"


def _signed(body_json: str) -> str:
    """A payload correctly signed with the site key around any body (what only the key holder can make)."""
    import base64
    import hashlib
    import hmac

    body = base64.b32encode(body_json.encode()).decode().rstrip("=")
    sig = base64.b32encode(hmac.new(KEY, f"MDG1.{body}".encode(), hashlib.sha256).digest()).decode().rstrip("=")
    return f"MDG1.{body}.{sig}"


@pytest.mark.parametrize("body", ["É", "ＡＢＣ", "日本", "ABC\u3000DEF", "ABCß"])
def test_non_ascii_from_a_scanner_in_an_ime_mode_is_malformed_not_a_crash(body):
    signature = payload().rsplit(".", 1)[1]  # a well-formed signature: the body is what gets checked
    # refused, never an exception; the scanner clean-up may turn some into base32 that then does not verify
    assert refused(f"MDG1.{body}.{signature}").code in ("malformed", "tampered")
    assert refused(f"ＭＤＧ１.{body}.{signature}").code == "malformed"


@pytest.mark.parametrize(
    "body",
    [
        '{"v":1,"site":"sakura-ward","iat":1795400000,"exp":100000000000000000000,"fields":{}}',
        '{"v":1,"site":"sakura-ward","iat":1795400000,"exp":-1,"fields":{}}',
        '{"v":1,"site":"sakura-ward","iat":true,"exp":1796600000,"fields":{}}',
        '{"v":1,"site":"sakura-ward","iat":1795400000.5,"exp":1796600000,"fields":{}}',
        '{"v":true,"site":"sakura-ward","iat":1795400000,"exp":1796600000,"fields":{}}',
        '{"v":1.0,"site":"sakura-ward","iat":1795400000,"exp":1796600000,"fields":{}}',
        '{"v":1,"site":"sakura-ward","iat":1796600001,"exp":1796600000,"fields":{}}',
    ],
)
def test_signed_bodies_with_impossible_times_or_versions_are_malformed(body):
    assert refused(_signed(body)).code == "malformed"


def test_a_signature_has_one_spelling():
    """Base32's last character carries unused low bits: flipping them decodes to the same bytes, so a
    non-canonical spelling must not verify."""
    good = payload()
    head, sig = good.rsplit(".", 1)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    last = alphabet.index(sig[-1])
    twin = sig[:-1] + alphabet[last ^ 1]  # a 256-bit HMAC in 52 characters: the last one has 4 unused bits
    assert read_payload(good, KEY, SITE, NOW)  # the canonical one is fine
    assert refused(f"{head}.{twin}").code == "malformed"


def test_unknown_fields_are_refused_when_the_known_names_are_given():
    templates = load_templates(ROOT / "sites" / "example" / "forms")
    known = set().union(*(t.pre_keys() for t in templates.values()))
    assert set(FIELDS) <= known
    assert read_payload(payload(), KEY, SITE, NOW, known=known).fields == FIELDS
    err = refused(payload(fields={**FIELDS, "favourite_colour": "blue"}), known=known)
    assert err.code == "unknown_field" and "favourite_colour" in str(err)


def test_bad_field_names_and_values_are_not_signed():
    with pytest.raises(ValueError):
        payload(fields={"Move Date": "x"})
    with pytest.raises(ValueError):
        payload(fields={"purpose": "x" * 201})
    with pytest.raises(ValueError, match="timezone-aware"):
        make_payload(FIELDS, KEY, SITE, LATER, datetime(2026, 11, 1))


def write_key(path: Path, text: str, mode: int) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_key_file_must_be_private(tmp_path):
    key_hex = new_key()
    assert re.fullmatch(r"[0-9a-f]{64}", key_hex)
    good = write_key(tmp_path / "good.key", key_hex + "\n", 0o600)
    assert load_key(good) == bytes.fromhex(key_hex)
    for mode in (0o644, 0o640, 0o604):
        loose = write_key(tmp_path / f"loose-{mode:o}.key", key_hex, mode)
        with pytest.raises(ValueError, match=r"accessible by group or others .*chmod 600"):
            load_key(loose)
    with pytest.raises(ValueError, match="expected 32 bytes"):
        load_key(write_key(tmp_path / "short.key", "abcd", 0o600))
    with pytest.raises(ValueError, match="not hex"):
        load_key(write_key(tmp_path / "nothex.key", "zz" * 32, 0o600))
    with pytest.raises(ValueError, match="cannot read"):
        load_key(tmp_path / "missing.key")


def test_cli_new_key_make_and_verify(tmp_path, capsys):
    key_file = tmp_path / "site.key"
    assert main(["new-key", "--out", str(key_file)]) == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert main(["new-key", "--out", str(key_file)]) == 1, "an existing key is never overwritten"
    capsys.readouterr()

    png = tmp_path / "qr.png"
    args = ["make", "--key-file", str(key_file), "--site", SITE, "--days", "14", "--png", str(png)]
    args += ["--field", "move_date=2026-11-20", "--field", "new_address=東京都さくら区桜町一丁目2番3号"]
    assert main(args) == 0
    made = capsys.readouterr().out.strip()
    assert made.startswith("MDG1.") and png.exists()

    assert main(["verify", "--key-file", str(key_file), "--site", SITE, made]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["fields"] == {"move_date": "2026-11-20", "new_address": "東京都さくら区桜町一丁目2番3号"}

    assert main(["verify", "--key-file", str(key_file), "--site", "momiji-ward", made]) == 1
    assert "error: wrong_site:" in capsys.readouterr().err
    assert main(["verify", "--key-file", str(key_file), "--site", SITE, flip(made, 12)]) == 1
    assert "error: tampered:" in capsys.readouterr().err

    key_file.chmod(0o644)
    assert main(["verify", "--key-file", str(key_file), "--site", SITE, made]) == 1
    assert "chmod 600" in capsys.readouterr().err


def test_cli_runs_as_a_module(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "form_printer.preentry", "new-key"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    assert re.fullmatch(r"[0-9a-f]{64}\n", done.stdout)


def test_qr_image_decodes_back_to_the_payload(tmp_path):
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg not installed (Debian package zbar-tools)")
    text = payload()
    image = qr_image(text)
    path = tmp_path / "qr.png"
    image.save(path)
    done = subprocess.run(["zbarimg", "-q", "--raw", str(path)], capture_output=True, text=True, timeout=30)
    assert done.stdout.strip() == text
    assert read_payload(done.stdout, KEY, SITE, NOW).fields == FIELDS
