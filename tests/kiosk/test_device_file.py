"""A device file means the same wherever the process starts: every relative path in it (the hardware URIs'
local paths included) is relative to the file's own folder; what the demo writes loads from any folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config.device import load_device
from madoguchi.local import LocalBroker

DEVICE_FILE = """\
device = "register-1f"
site = "../site.toml"
form_printer = "pdf:forms-printed"
cash_changer = "cctalk:dev/changer"
cashless_terminal = "cat:/dev/ttyACM0"
scanner = "serial:dev/scanner"
payments_journal = "data/payments.db"
preentry_key = "secrets/preentry.key"

[broker]
password_file = "secrets/register-1f.password"
cafile = "ca.crt"
"""


@pytest.mark.parametrize("start_in", ["root", "elsewhere"])
def test_relative_paths_are_relative_to_the_device_file(tmp_path, monkeypatch, start_in):
    folder = tmp_path / "etc" / "madoguchi"
    folder.mkdir(parents=True)
    (folder / "device.toml").write_text(DEVICE_FILE)
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(tmp_path if start_in == "root" else elsewhere)
    path = "etc/madoguchi/device.toml" if start_in == "root" else "../../etc/madoguchi/device.toml"

    device = load_device(path)

    real = folder.resolve()
    assert device.site == real / ".." / "site.toml"
    assert device.broker.password_file == real / "secrets" / "register-1f.password"
    assert device.broker.cafile == real / "ca.crt"
    assert device.payments_journal == real / "data" / "payments.db"
    assert device.preentry_key == real / "secrets" / "preentry.key"
    assert device.form_printer == f"pdf:{real / 'forms-printed'}"
    assert device.cash_changer == f"cctalk:{real / 'dev' / 'changer'}"
    assert device.scanner == f"serial:{real / 'dev' / 'scanner'}"
    assert device.cashless_terminal == "cat:/dev/ttyACM0"  # absolute: as written


def test_uris_without_a_local_path_are_untouched(tmp_path):
    (tmp_path / "device.toml").write_text(
        'device = "forms-1f"\nsite = "/etc/madoguchi/site.toml"\nform_printer = "cups://10.0.0.5:631/forms"\n'
        'printer = "tcp://10.0.0.20:9100"\n[broker]\npassword_file = "/etc/madoguchi/forms-1f.password"\n'
    )
    device = load_device(tmp_path / "device.toml")
    assert device.form_printer == "cups://10.0.0.5:631/forms"
    assert device.printer == "tcp://10.0.0.20:9100"


def test_the_demos_device_file_with_a_relative_state_loads_from_any_folder(site, tmp_path, monkeypatch):
    """The newcomer's case: ``--state var`` (relative) once made ``var/demo/devices/var/demo/secrets/...``."""
    monkeypatch.chdir(tmp_path)
    broker = LocalBroker(site, Path("var") / "demo", 18830, proc=None)  # type: ignore[arg-type]
    written = broker.device_file(
        "register-1f",
        Path("sites/example/site.toml"),
        payments_journal=Path("var") / "demo" / "payments.db",
    )
    monkeypatch.chdir("/")
    device = load_device(tmp_path / written)
    assert device.broker.password_file == tmp_path / "var" / "demo" / "secrets" / "register-1f.password"
    assert device.site == tmp_path / "sites" / "example" / "site.toml"
    assert device.payments_journal == tmp_path / "var" / "demo" / "payments.db"


def test_a_concierge_pin_must_be_a_hash(tmp_path):
    """A plain PIN in the file would be a staff secret in clear, and a PIN that never matches."""
    from kiosk.config import ConfigError
    from kiosk.pin import hash_pin

    base = 'device = "kiosk-1f"\nsite = "site.toml"\n[broker]\npassword_file = "p"\n'
    for bad in ("1234", "pbkdf2_sha256$99999999999999999999$00$00"):
        (tmp_path / "device.toml").write_text(f'concierge_pin = "{bad}"\n' + base)
        with pytest.raises(ConfigError, match="concierge_pin"):
            load_device(tmp_path / "device.toml")
    (tmp_path / "device.toml").write_text(f'concierge_pin = "{hash_pin("2468")}"\n' + base)
    assert load_device(tmp_path / "device.toml").concierge_pin.startswith("pbkdf2_sha256$200000$")
