"""broker_config: the generated password file and ACL say exactly what the contract says."""

from __future__ import annotations

import stat

import pytest
from pydantic import ValidationError

from broker_config.generate import acl_text, generate
from broker_config.settings import BrokerSettings, Listener


def acl_blocks(site) -> dict[str, list[str]]:
    blocks: dict[str, list[str]] = {}
    user = None
    for line in acl_text(site).splitlines():
        if line.startswith("user "):
            user = line.split()[1]
            blocks[user] = []
        elif line.startswith("topic ") and user:
            blocks[user].append(line)
    return blocks


def test_boards_may_only_read(site):
    rules = acl_blocks(site)["board-1f"]
    assert rules and all(r.startswith("topic read ") for r in rules)


def test_only_the_service_writes_state_events_and_replies(site):
    for user, rules in acl_blocks(site).items():
        writes = [r for r in rules if r.startswith(("topic write", "topic readwrite"))]
        touches_state = [r for r in writes if "/queue/state" in r or "/queue/event" in r or r.endswith("/reply")]
        assert bool(touches_state) == (user == "queue-service"), user


def test_each_device_reads_only_its_own_reply(site):
    for user, rules in acl_blocks(site).items():
        replies = [r for r in rules if r.startswith("topic read") and "/reply" in r]
        if user != "queue-service":
            assert all(r.endswith(f"/device/{user}/reply") for r in replies), user


def test_every_device_reads_the_services_presence_and_no_other(site):
    for user, rules in acl_blocks(site).items():
        statuses = [r for r in rules if r.startswith("topic read") and r.endswith("/status")]
        if user != "queue-service":
            assert statuses == ["topic read madoguchi/v1/sakura-ward/device/queue-service/status"], user


def test_kiosk_verbs(site):
    writes = {r.split()[-1].rsplit("/", 1)[-1] for r in acl_blocks(site)["kiosk-1f"] if r.startswith("topic write")}
    assert writes == {"issue", "reprint", "cancel", "status"}


def test_password_file_is_hashed_and_private(site, tmp_path):
    files = generate(site, tmp_path / "broker", tmp_path / "secrets", BrokerSettings())
    text = files.passwd.read_text()
    password = (tmp_path / "secrets" / "kiosk-1f.password").read_text().strip()
    assert password not in text
    assert "kiosk-1f:$7$" in text or "kiosk-1f:$6$" in text
    assert stat.S_IMODE((tmp_path / "secrets" / "kiosk-1f.password").stat().st_mode) == 0o600
    conf = files.conf.read_text()
    assert "allow_anonymous false" in conf and f"acl_file {files.acl}" in conf
    # running again keeps the passwords (devices are provisioned with them)
    generate(site, tmp_path / "broker", tmp_path / "secrets", BrokerSettings())
    assert (tmp_path / "secrets" / "kiosk-1f.password").read_text().strip() == password


def test_plain_mqtt_only_on_loopback(tmp_path):
    with pytest.raises(ValidationError, match="only loopback may be plain"):
        Listener(host="0.0.0.0", port=1883)
    with pytest.raises(ValidationError, match="needs cafile, certfile and keyfile"):
        Listener(host="0.0.0.0", port=8883, certfile=tmp_path / "c.crt")
    tls = Listener(host="0.0.0.0", port=8883, cafile="ca", certfile="c", keyfile="k")
    assert tls.tls


def test_tls_listener_is_written(site, tmp_path):
    settings = BrokerSettings(
        listeners=(Listener(port=1883), Listener(host="0.0.0.0", port=8883, cafile="ca", certfile="c", keyfile="k"))
    )
    conf = generate(site, tmp_path / "b", tmp_path / "s", settings).conf.read_text()
    assert "listener 1883 127.0.0.1" in conf
    assert "listener 8883 0.0.0.0\ncafile ca\ncertfile c\nkeyfile k\ntls_version tlsv1.2" in conf


def test_broker_command_generates_the_files(tmp_path, capsys):
    from madoguchi.cli import main

    assert main(["broker", "--state", str(tmp_path), "--port", "18999", "--generate-only"]) == 0
    conf = (tmp_path / "broker" / "mosquitto.conf").read_text()
    assert "listener 18999 127.0.0.1" in conf
    assert (tmp_path / "secrets" / "queue-service.password").exists()
