"""``madoguchi doctor``: every check failing and passing, with the project's real parts.

A real Mosquitto (plain loopback, and a TLS listener with a throwaway CA made here), the ESC/POS
printer simulator, the ccTalk changer and CAT terminal simulators on ptys, pcscd with the vpcd
reader, Xvfb, and the clock with injected times.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest

from madoguchi.doctor import CHECKS, Context, diagnose
from madoguchi.doctor.clock import check_clock, clock_verdict
from madoguchi.doctor.core import check, run_check, run_checks
from madoguchi.doctor.hardware_checks import (
    check_card_reader,
    check_cash_changer,
    check_cashless_terminal,
    check_display,
    check_form_printer,
    check_payments_journal,
    check_receipt_printer,
    check_scanner,
)
from madoguchi.local import ROOT, free_port, wait_for_port
from tests.conftest import EXAMPLE_SITE

NOW = datetime.now(UTC)


# ----------------------------------------------------------------------------------------------- helpers


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def write_device(
    tmp_path: Path,
    device: str = "kiosk-1f",
    *,
    password: str | None = "secret",
    mode=0o600,
    host="127.0.0.1",
    port=1,
    cafile=None,
    site=EXAMPLE_SITE,
    name="device.toml",
    **keys,
) -> Path:
    """A device file (and its password file) in ``tmp_path``."""
    pw = tmp_path / f"{device}.password"
    if password is not None:
        pw.write_text(password + "\n")
        pw.chmod(mode)
    lines = [f"device = {_toml(device)}", f"site = {_toml(site)}"]
    lines += [f"{k} = {_toml(v)}" for k, v in keys.items() if v is not None]
    lines += ["", "[broker]", f"host = {_toml(host)}", f"port = {port}", f"password_file = {_toml(pw)}"]
    if cafile is not None:
        lines.append(f"cafile = {_toml(cafile)}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def results_of(config: Path, *, role=None, timeout=2.0, **kw) -> dict[str, object]:
    """Run every check; ``{check: CheckResult}`` (merged SKIP lines keep their joined names)."""
    ctx = Context(config_path=config, role_hint=role, timeout=timeout, ntp_synchronized=lambda: None, **kw)
    return {r.check: r for r in diagnose(ctx)}


def loaded(config: Path, **kw) -> Context:
    """A context whose device file check has run (for calling one hardware check directly)."""
    ctx = Context(config_path=config, timeout=kw.pop("timeout", 2.0), ntp_synchronized=lambda: None, **kw)
    assert run_check(CHECKS[0], ctx).status == "OK"
    return ctx


def broker_device(broker, tmp_path: Path, device: str = "kiosk-1f", password: str | None = None, **keys) -> Path:
    return write_device(
        tmp_path, device, password=password or broker.password(device), port=broker.port, name=f"{device}.toml", **keys
    )


# ----------------------------------------------------------------------------------------------- device file


def test_device_file_missing(tmp_path):
    r = results_of(tmp_path / "nowhere.toml")
    assert r["device file"].status == "FAIL" and "does not exist" in r["device file"].detail
    assert "--config" in r["device file"].fix
    skipped = next(v for k, v in r.items() if v.status == "SKIP")
    assert "device file must be fixed first" in skipped.detail


def test_device_file_with_an_unknown_key_names_the_line(tmp_path):
    path = write_device(tmp_path, printr="tcp://x:9100")
    r = results_of(path)["device file"]
    assert r.status == "FAIL" and f"{path}:3" in r.detail and "unknown key" in r.detail


def test_device_not_in_the_site_file(tmp_path):
    r = results_of(write_device(tmp_path, "kiosk-9f"))["device file"]
    assert r.status == "FAIL" and "'kiosk-9f' is not listed in the site file" in r.detail and "[[devices]]" in r.fix


def test_invalid_site_file(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text(EXAMPLE_SITE.read_text().replace('timezone = "Asia/Tokyo"', 'timezone = "Mars/Olympus"', 1))
    r = results_of(write_device(tmp_path, site=site))["device file"]
    assert r.status == "FAIL" and "site file is not valid" in r.detail and "check-site" in r.fix


def test_role_differs_from_the_site_file(tmp_path):
    r = results_of(write_device(tmp_path), role="panel")["device file"]
    assert r.status == "FAIL" and "runs as call panel" in r.detail and "is a ticket kiosk" in r.detail


def test_device_file_valid(tmp_path):
    r = results_of(write_device(tmp_path), role="ticket")["device file"]
    assert r.status == "OK" and "kiosk-1f, ticket kiosk of site sakura-ward" in r.detail


# ----------------------------------------------------------------------------------------------- password


@pytest.mark.parametrize(
    ("password", "mode", "status", "words"),
    [
        (None, 0o600, "FAIL", "does not exist"),
        ("", 0o600, "FAIL", "is empty"),
        ("secret", 0o644, "WARN", "mode 0644"),
        ("secret", 0o600, "OK", "mode 0600"),
    ],
)
def test_password_file(tmp_path, password, mode, status, words):
    r = results_of(write_device(tmp_path, password=password, mode=mode))["password file"]
    assert r.status == status and words in r.detail
    if status == "WARN":
        assert r.fix.startswith("chmod 600")
    if status == "FAIL":
        assert "provisioning bundle" in r.fix


# ----------------------------------------------------------------------------------------------- certificates


def make_ca(name: str, not_before: datetime, not_after: datetime):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_server(ca, dns: list[str], ips: list[str], not_after: datetime | None = None):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key, ca_cert = ca
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(not_after or NOW + timedelta(days=365))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns] + [x509.IPAddress(ip_address(i)) for i in ips]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def write_pem(folder: Path, name: str, key, cert) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization

    crt, pem_key = folder / f"{name}.crt", folder / f"{name}.key"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pem_key.chmod(0o600)
    return crt, pem_key


@pytest.mark.parametrize(
    ("start", "end", "status", "words"),
    [
        (-400, -1, "FAIL", "expired on"),
        (-400, 10, "WARN", "expires in 9 day(s)"),
        (5, 400, "FAIL", "not valid before"),
        (-1, 3650, "OK", "days left"),
    ],
)
def test_ca_file_validity(tmp_path, start, end, status, words):
    ca = make_ca("sakura-ward CA", NOW + timedelta(days=start), NOW + timedelta(days=end))
    crt, _ = write_pem(tmp_path, "ca", *ca)
    r = results_of(write_device(tmp_path, cafile=crt))["CA certificate"]
    assert r.status == status and words in r.detail, r
    if words == "expired on":
        assert "re-provisioned" in r.fix
    if words == "not valid before":
        assert "clock" in r.fix


def test_ca_file_missing_or_not_a_certificate(tmp_path):
    r = results_of(write_device(tmp_path, cafile=tmp_path / "ca.crt"))["CA certificate"]
    assert r.status == "FAIL" and "does not exist" in r.detail and "ca.crt" in r.fix
    (tmp_path / "ca.crt").write_text("hello")
    r = results_of(write_device(tmp_path, cafile=tmp_path / "ca.crt"))["CA certificate"]
    assert r.status == "FAIL" and "not a PEM certificate" in r.detail


# ----------------------------------------------------------------------------------------------- broker, plain


def test_broker_refused(tmp_path):
    r = results_of(write_device(tmp_path, port=free_port()))
    assert r["broker network"].status == "FAIL" and "refused the connection" in r["broker network"].detail
    assert "start the broker" in r["broker network"].fix
    assert "broker cannot be reached" in next(v.detail for k, v in r.items() if "broker login" in k)


def test_broker_name_unknown(tmp_path):
    r = results_of(write_device(tmp_path, host="broker.invalid", port=8883))["broker network"]
    assert r.status == "FAIL" and "'broker.invalid' is unknown" in r.detail and "DNS" in r.fix


def test_broker_does_not_answer(tmp_path):
    """192.0.2.1 (TEST-NET-1) is never routed: no answer in time, no route, or a firewall's refusal (sandboxes)."""
    started = time.monotonic()
    r = results_of(write_device(tmp_path, host="192.0.2.1", port=8883), timeout=0.5)["broker network"]
    assert r.status == "FAIL" and "192.0.2.1" in r.detail and r.fix
    assert time.monotonic() - started < 5


@pytest.mark.broker
def test_broker_login_and_queue_service_online(broker, service, tmp_path):
    r = results_of(broker_device(broker, tmp_path))
    assert r["broker network"].status == "OK"
    assert r["broker TLS"].status == "OK" and "loopback" in r["broker TLS"].detail
    assert r["broker login"].status == "OK" and "kiosk-1f logged in" in r["broker login"].detail
    assert r["queue service"].status == "OK" and "queue-service is online" in r["queue service"].detail


@pytest.mark.broker
def test_the_doctor_does_not_kick_the_running_app_off_the_broker(broker, service, devices, tmp_path):
    app = devices("kiosk-1f")
    lost = []
    app.on_connection(lambda up: lost.append(up) if not up else None)
    assert results_of(broker_device(broker, tmp_path))["broker login"].status == "OK"
    time.sleep(0.3)
    assert app.connected.is_set() and not lost


@pytest.mark.broker
def test_broker_login_wrong_password(broker, tmp_path):
    r = results_of(broker_device(broker, tmp_path, password="not-the-password"))
    assert r["broker login"].status == "FAIL"
    # MQTT v5 says 0x86 "bad user name or password"; Mosquitto 2 answers 0x87 "not authorized"
    assert "refused the" in r["broker login"].detail and "kiosk-1f" in r["broker login"].detail
    assert (
        "password does not match" in r["broker login"].detail or "bad user name or password" in r["broker login"].detail
    )
    assert "password file" in r["broker login"].fix
    assert "broker login must work first" in r["queue service"].detail


@pytest.mark.broker
def test_queue_service_never_connected(broker, tmp_path):
    r = results_of(broker_device(broker, tmp_path))["queue service"]
    assert r.status == "FAIL" and "queue-service: it has never connected" in r.detail and "systemctl" in r.fix
    board = results_of(broker_device(broker, tmp_path, "board-1f"))["queue service"]
    assert board.status == "WARN", "a board keeps showing the last state: a warning, not a failure"


@pytest.mark.broker
def test_queue_service_offline(broker, service, tmp_path):
    service.stop()
    r = results_of(broker_device(broker, tmp_path))["queue service"]
    assert r.status == "FAIL" and "queue-service is offline" in r.detail


@pytest.mark.broker
def test_broker_access_list_out_of_date(broker, service, tmp_path):
    """The broker knows the device but its ACL no longer lets it read the service's status.

    Mosquitto 2.0 grants such a subscription and just delivers nothing, so the line says both possible causes."""
    acl = broker.state / "broker" / "acl"
    status = "madoguchi/v1/sakura-ward/device/queue-service/status"
    kept = [line for line in acl.read_text().splitlines() if not line.endswith("read " + status)]
    acl.write_text("\n".join(kept) + "\n")
    broker.proc.send_signal(signal.SIGHUP)  # Mosquitto reloads its ACL
    time.sleep(0.5)
    r = results_of(broker_device(broker, tmp_path))
    assert r["broker login"].status == "OK"
    assert r["queue service"].status == "FAIL" and "access list" in r["queue service"].detail
    assert "not authorized" in r["queue service"].detail and "madoguchi broker" in r["queue service"].fix


# ----------------------------------------------------------------------------------------------- broker, TLS


def _start_tls_broker(site, state: Path, ca_crt: Path, crt: Path, key: Path):
    import shutil

    from broker_config.generate import generate
    from broker_config.settings import BrokerSettings, Listener
    from madoguchi.local import LocalBroker

    port = free_port()
    settings = BrokerSettings(
        listeners=(Listener(host="127.0.0.1", port=port, cafile=ca_crt, certfile=crt, keyfile=key),),
        run_as_root=os.geteuid() == 0,
    )
    files = generate(site, state / "broker", state / "secrets", settings)
    log = open(state / "mosquitto.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([shutil.which("mosquitto") or "/usr/sbin/mosquitto", "-c", str(files.conf)],
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    wait_for_port(port, proc=proc)
    return LocalBroker(site, state, port, proc)


@pytest.fixture(scope="module")
def tls_broker(site, tmp_path_factory):
    """Mosquitto with a TLS listener; its certificate (for broker.sakura.example and 127.0.0.1) from a fresh CA."""
    folder = tmp_path_factory.mktemp("tls")
    ca = make_ca("sakura-ward test CA", NOW - timedelta(days=1), NOW + timedelta(days=3650))
    ca_crt, _ = write_pem(folder, "ca", *ca)
    crt, key = write_pem(folder, "broker", *make_server(ca, ["broker.sakura.example"], ["127.0.0.1"]))
    running = _start_tls_broker(site, folder, ca_crt, crt, key)
    running.cafile = ca_crt
    yield running
    running.stop()


@pytest.mark.broker
def test_tls_verified_and_login(tls_broker, tmp_path):
    config = broker_device(tls_broker, tmp_path, cafile=tls_broker.cafile)
    r = results_of(config)
    assert r["CA certificate"].status == "OK"
    assert r["broker TLS"].status == "OK" and "verified with ca.crt" in r["broker TLS"].detail
    assert r["broker login"].status == "OK"
    assert r["queue service"].status == "FAIL"  # no service on this broker
    # the broker certificate's notBefore is a lower bound for the clock
    ctx = Context(config_path=config, timeout=2, ntp_synchronized=lambda: None, now=lambda: NOW - timedelta(days=3))
    clock = {x.check: x for x in diagnose(ctx)}["clock"]
    assert clock.status == "FAIL" and "broker's certificate was made on" in clock.detail


@pytest.mark.broker
def test_tls_wrong_password(tls_broker, tmp_path):
    r = results_of(broker_device(tls_broker, tmp_path, password="wrong", cafile=tls_broker.cafile))
    assert r["broker TLS"].status == "OK"
    assert r["broker login"].status == "FAIL" and "password does not match" in r["broker login"].detail


@pytest.mark.broker
def test_tls_host_name_not_in_the_certificate(tls_broker, tmp_path):
    config = write_device(tmp_path, host="localhost", port=tls_broker.port, cafile=tls_broker.cafile,
                          password=tls_broker.password("kiosk-1f"))  # fmt: skip
    r = results_of(config)["broker TLS"]
    assert r.status == "FAIL" and "TLS verification failed" in r.detail
    assert "broker.sakura.example" in r.detail and "not for localhost" in r.detail


@pytest.mark.broker
def test_tls_certificate_of_another_ca(tls_broker, tmp_path):
    other, _ = write_pem(tmp_path, "ca", *make_ca("another city CA", NOW - timedelta(days=1), NOW + timedelta(days=99)))
    r = results_of(broker_device(tls_broker, tmp_path, cafile=other))
    assert r["CA certificate"].status == "OK"
    assert r["broker TLS"].status == "FAIL" and "not signed by the CA" in r["broker TLS"].detail
    assert "broker login" in next(k for k, v in r.items() if v.status == "SKIP")


@pytest.mark.broker
def test_tls_to_a_plain_port(broker, tmp_path, tls_broker):
    r = results_of(broker_device(broker, tmp_path, cafile=tls_broker.cafile))["broker TLS"]
    assert r.status == "FAIL" and "does not speak TLS" in r.detail and "8883" in r.fix


@pytest.mark.broker
def test_tls_expired_broker_certificate(site, tmp_path):
    ca = make_ca("sakura-ward test CA", NOW - timedelta(days=800), NOW + timedelta(days=3650))
    ca_crt, _ = write_pem(tmp_path, "ca", *ca)
    crt, key = write_pem(tmp_path, "broker", *make_server(ca, ["localhost"], ["127.0.0.1"], NOW - timedelta(hours=1)))
    running = _start_tls_broker(site, tmp_path, ca_crt, crt, key)
    try:
        r = results_of(broker_device(running, tmp_path, cafile=ca_crt))["broker TLS"]
    finally:
        running.stop()
    assert r.status == "FAIL" and "has expired" in r.detail and "clock" in r.fix


def test_no_tls_to_another_host_is_a_warning(tmp_path):
    """Plain MQTT is only for loopback: over the LAN the password would travel in clear."""
    from madoguchi.doctor.broker_checks import check_broker_tls

    ctx = loaded(write_device(tmp_path, host="10.0.0.5"))
    ctx.broker_tcp = True
    r = check_broker_tls(ctx)
    assert r.status == "WARN" and "unencrypted" in r.detail and "cafile" in r.fix


# ----------------------------------------------------------------------------------------------- receipt printer


@pytest.fixture
def printer(tmp_path):
    from devkit.printer import EscposSimulator

    with EscposSimulator(tmp_path / "receipts") as simulator:
        yield simulator


@pytest.mark.parametrize(
    ("paper", "status", "words"),
    [("ok", "OK", "online, paper loaded"), ("near_end", "WARN", "nearly used up"), ("out", "FAIL", "out of paper")],
)
def test_ticket_printer_paper(printer, tmp_path, paper, status, words):
    printer.set_paper(paper)
    r = check_receipt_printer(loaded(write_device(tmp_path, printer=f"tcp://127.0.0.1:{printer.port}")))
    assert r.status == status and words in r.detail
    if status == "FAIL":
        assert "new paper roll" in r.fix


def test_ticket_printer_cover_open_and_switched_off(printer, tmp_path):
    printer.set_cover_open(True)
    r = check_receipt_printer(loaded(write_device(tmp_path, printer=f"tcp://127.0.0.1:{printer.port}")))
    assert r.status == "FAIL" and "cover is open" in r.detail
    r = check_receipt_printer(loaded(write_device(tmp_path, printer=f"tcp://127.0.0.1:{free_port()}")))
    assert r.status == "FAIL" and "does not answer" in r.detail and "cable" in r.fix


def test_ticket_printer_not_configured_and_not_for_boards(tmp_path):
    assert check_receipt_printer(loaded(write_device(tmp_path))).status == "WARN"
    assert check_receipt_printer(loaded(write_device(tmp_path, "board-1f"))) is None


# ----------------------------------------------------------------------------------------------- form issuer


@pytest.fixture
def forms_device(tmp_path):
    return lambda **keys: loaded(write_device(tmp_path, "forms-1f", **keys))


def test_card_reader_present_and_missing(pcsc, forms_device):
    r = check_card_reader(forms_device(card_reader="Virtual PCD"))
    assert r.status == "OK" and "Virtual PCD 00 00" in r.detail
    r = check_card_reader(forms_device(card_reader="RC-S300"))
    assert r.status == "FAIL" and "no reader named like 'RC-S300'" in r.detail and "Virtual PCD" in r.detail
    assert "plug the card reader in" in r.fix
    assert check_card_reader(forms_device(card_reader="simulated")).status == "WARN"


def test_card_reader_when_pcscd_is_not_running(tmp_path):
    """pcsc-lite's client finds pcscd by its socket: point it at one that does not exist."""
    config = write_device(tmp_path, "forms-1f", form_printer=f"pdf:{tmp_path / 'pdf'}")
    code = (
        "import json, sys; from pathlib import Path; from madoguchi.doctor import Context; "
        "from madoguchi.doctor.core import run_check; from madoguchi.doctor import CHECKS; "
        "from madoguchi.doctor.hardware_checks import check_card_reader; "
        f"ctx = Context(config_path=Path({str(config)!r})); run_check(CHECKS[0], ctx); "
        "r = check_card_reader(ctx); print(json.dumps([r.status, r.detail, r.fix]))"
    )
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    status, detail, fix = json.loads(done.stdout.strip().splitlines()[-1])
    assert status == "FAIL" and "pcscd is not running" in detail and "systemctl restart pcscd" in fix


def test_form_printer_pdf_folder(forms_device, tmp_path):
    r = check_form_printer(forms_device(form_printer=f"pdf:{tmp_path / 'out'}"))
    assert r.status == "OK" and "writable" in r.detail
    (tmp_path / "afile").write_text("x")
    r = check_form_printer(forms_device(form_printer=f"pdf:{tmp_path / 'afile' / 'out'}"))
    assert r.status == "FAIL" and "part of its path is a file" in r.detail
    r = check_form_printer(forms_device())
    assert r.status == "FAIL" and "no form_printer" in r.detail


def test_form_printer_cups_not_running_or_no_lpstat(forms_device, tmp_path):
    """A print server nobody runs; then a machine without the CUPS client."""
    ctx = forms_device(form_printer=f"cups://127.0.0.1:{free_port()}/A4")
    r = check_form_printer(ctx)
    assert r.status == "FAIL" and "is not running or does not answer" in r.detail
    ctx.lpstat = str(tmp_path / "no-lpstat")
    r = check_form_printer(ctx)
    assert r.status == "FAIL" and "lpstat not found" in r.detail and "cups-client" in r.fix


# ----------------------------------------------------------------------------------------------- self register


@pytest.fixture
def register_device(tmp_path):
    def make(**keys):
        keys.setdefault("payments_journal", str(tmp_path / "data" / "payments.sqlite"))
        return loaded(write_device(tmp_path, "register-1f", **keys))

    return make


@pytest.fixture
def silent_pty():
    """A serial port with nobody on the other end (a device switched off)."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(master)
    os.close(slave)


def test_cash_changer_answers_and_refill(register_device):
    from devkit.cash_changer import CcTalkSimulator
    from register.cash.cctalk_changer import DEFAULT_HOPPERS

    with CcTalkSimulator(counts=dict.fromkeys(DEFAULT_HOPPERS, 20)) as changer:
        r = check_cash_changer(register_device(cash_changer=f"cctalk:{changer.path}"))
    assert r.status == "OK" and "answers" in r.detail
    with CcTalkSimulator(counts={**dict.fromkeys(DEFAULT_HOPPERS, 20), 100: 0}) as changer:
        r = check_cash_changer(register_device(cash_changer=f"cctalk:{changer.path}"))
    assert r.status == "WARN" and "empty: 100 yen" in r.detail and "refill" in r.fix


def test_cash_changer_missing_or_silent(register_device, silent_pty, tmp_path):
    r = check_cash_changer(register_device(cash_changer=f"cctalk:{tmp_path / 'ttyUSB9'}"))
    assert r.status == "FAIL" and "no device at" in r.detail and "USB cable" in r.fix
    r = check_cash_changer(register_device(cash_changer=f"cctalk:{silent_pty}"))
    assert r.status == "FAIL" and "does not answer" in r.detail and "turn the cash changer on" in r.fix


def test_cashless_terminal_answers_missing_or_silent(register_device, silent_pty, tmp_path):
    from devkit.payment_terminal import CatSimulator

    with CatSimulator() as terminal:
        r = check_cashless_terminal(register_device(cashless_terminal=f"cat:{terminal.path}"))
    assert r.status == "OK" and "answers" in r.detail
    r = check_cashless_terminal(register_device(cashless_terminal=f"cat:{tmp_path / 'ttyACM9'}"))
    assert r.status == "FAIL" and "no device at" in r.detail
    r = check_cashless_terminal(register_device(cashless_terminal=f"cat:{silent_pty}"))
    assert r.status == "FAIL" and "does not answer" in r.detail and "payment terminal" in r.fix


def test_scanner_opens_or_is_missing(register_device, silent_pty, tmp_path):
    assert check_scanner(register_device(scanner=f"serial:{silent_pty}")).status == "OK"
    r = check_scanner(register_device(scanner=f"serial:{tmp_path / 'ttyACM7'}"))
    assert r.status == "FAIL" and "no device at" in r.detail and "scanner's USB cable" in r.fix
    assert "keyboard" in check_scanner(register_device()).detail


def test_payments_journal_folder(register_device, tmp_path):
    assert check_payments_journal(register_device()).status == "OK"
    (tmp_path / "mnt").write_text("not mounted")
    r = check_payments_journal(register_device(payments_journal=str(tmp_path / "mnt" / "payments.sqlite")))
    assert r.status == "FAIL" and "data partition" in r.fix


def test_a_register_without_payment_devices(register_device):
    r = check_cash_changer(register_device())
    assert r.status == "FAIL" and "neither cash_changer nor cashless_terminal" in r.detail


# ----------------------------------------------------------------------------------------------- display


def test_display_present(display, tmp_path):
    r = check_display(loaded(write_device(tmp_path, "board-1f"), environ={"DISPLAY": display}))
    assert r.status == "OK" and display in r.detail


def test_display_missing(tmp_path):
    empty = tmp_path / "x11"
    empty.mkdir()
    config = write_device(tmp_path, "panel-c01")
    r = check_display(loaded(config, environ={}, x11_dir=empty))
    assert r.status == "FAIL" and "no screen" in r.detail and "DISPLAY=:0" in r.fix
    r = check_display(loaded(config, environ={"DISPLAY": ":57"}, x11_dir=empty))
    assert r.status == "FAIL" and "no X server answers" in r.detail
    r = check_display(loaded(config, environ={"WAYLAND_DISPLAY": "wayland-0", "XDG_RUNTIME_DIR": str(empty)}))
    assert r.status == "FAIL" and "wayland-0" in r.detail


# ----------------------------------------------------------------------------------------------- clock


@pytest.mark.parametrize(
    ("now", "synced", "reference", "status", "words"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), None, None, "FAIL", "1970-01-01"),
        (datetime(1970, 1, 1, tzinfo=UTC), True, None, "FAIL", "cannot be right"),
        (NOW + timedelta(minutes=10), None, (NOW, "the queue service"), "WARN", "10 minutes ahead of the queue"),
        (NOW - timedelta(seconds=90), False, (NOW, "the queue service"), "WARN", "90 s behind"),
        (NOW + timedelta(seconds=3), None, (NOW, "the queue service"), "OK", "within 3 s"),
        (NOW, True, None, "OK", "synchronised with network time"),
        (NOW, False, None, "WARN", "not synchronised"),
        (NOW, None, None, "WARN", "cannot tell"),
    ],
)
def test_clock_verdict(now, synced, reference, status, words):
    r = clock_verdict(now, synced, reference)
    assert r.status == status and words in r.detail, r
    if status != "OK":
        assert "timedatectl" in r.fix


def test_clock_against_the_queue_services_http_date(site, broker, tmp_path):
    """The reference time is the real service's HTTP Date; the appliance's clock is injected 10 minutes fast."""
    from kiosk.bus.client import BusSettings
    from kiosk.bus.contract import Role
    from madoguchi.local import wait_healthy
    from queue_service.service.app import HttpSettings, QueueService
    from queue_service.web.app import make_app

    http = free_port()
    settings = BusSettings(site.site.id, "queue-service", Role.SERVICE, broker.password("queue-service"),
                           "127.0.0.1", broker.port)  # fmt: skip
    svc = QueueService(
        site, tmp_path / "q.sqlite", settings, HttpSettings("127.0.0.1", http), tick_seconds=3600, web=make_app
    )
    svc.start()
    try:
        wait_healthy(http, [])
        config = broker_device(broker, tmp_path, status_url=f"http://127.0.0.1:{http}/t/{{token}}")
        fast = loaded(config, now=lambda: datetime.now(UTC) + timedelta(minutes=10))
        r = check_clock(fast)
        assert r.status == "WARN" and "10 minutes ahead of the queue service" in r.detail
        right = loaded(config)
        r = check_clock(right)
        assert r.status == "OK" and f"127.0.0.1:{http}/healthz" in r.detail
    finally:
        svc.stop()


def test_clock_reference_injected(tmp_path):
    ctx = loaded(write_device(tmp_path), now=lambda: NOW, reference_time=lambda ctx: (NOW - timedelta(hours=3), "x"))
    assert "3.0 hours ahead of x" in check_clock(ctx).detail


# ----------------------------------------------------------------------------------------------- runner and output


def test_a_hung_check_times_out_and_the_doctor_goes_on(tmp_path):
    @check("stuck device")
    def hangs(ctx):
        time.sleep(30)

    @check("broken check")
    def crashes(ctx):
        raise RuntimeError("boom")

    ctx = Context(config_path=tmp_path / "x.toml", timeout=0.2)
    started = time.monotonic()
    results = run_checks([hangs, crashes], ctx)
    assert time.monotonic() - started < 5
    assert results[0].status == "FAIL" and "no answer within" in results[0].detail
    assert results[1].status == "FAIL" and "RuntimeError: boom" in results[1].detail


@pytest.mark.broker
def test_madoguchi_doctor_command(broker, service, printer, display, tmp_path):
    """`madoguchi doctor` as a technician runs it: one line per check, exit status 0, then 1 when paper is out."""
    config = broker_device(broker, tmp_path, printer=f"tcp://127.0.0.1:{printer.port}")
    env = {**os.environ, "DISPLAY": display}
    command = [sys.executable, "-m", "madoguchi", "doctor", "--config", str(config), "--timeout", "3"]

    def run(*extra):
        return subprocess.run([*command, *extra], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)

    done = run("--role", "ticket")
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "\033[" not in done.stdout, "no colours when the output is not a terminal"
    by_check = {line.split(":", 1)[0][6:]: line[:4].strip() for line in lines[:-1]}
    assert by_check == {
        "device file": "OK", "password file": "OK", "broker network": "OK", "broker TLS": "OK",
        "broker login": "OK", "queue service": "OK", "ticket printer": "OK", "display": "OK",
        "clock": by_check["clock"],
    }  # fmt: skip
    assert by_check["clock"] in ("OK", "WARN") and lines[-1].startswith("all 9 checks passed")

    printer.set_paper("out")
    done = run("--color")
    assert done.returncode == 1
    assert "\033[31mFAIL\033[0m  ticket printer: tcp://127.0.0.1:" in done.stdout
    assert "it is out of paper → put in a new paper roll" in done.stdout
    assert "\033[32mOK  \033[0m  broker login" in done.stdout

    done = run("--json")
    body = json.loads(done.stdout)
    assert done.returncode == 1 and body["ok"] is False and body["device"] == "kiosk-1f" and body["role"] == "ticket"
    assert {"status": "FAIL", "check": "ticket printer"}.items() <= body["checks"][6].items()
