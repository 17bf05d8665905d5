"""The broker, step by step (network, TLS, MQTT login), and the queue service's presence on it.

Each step has its own line, so the technician sees where it breaks: no route, connection
refused, TLS verification failed, bad credential, not authorized.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import ssl
import threading
from datetime import UTC

from madoguchi.doctor.config_checks import ROLE_NAMES, _validity, require_broker
from madoguchi.doctor.core import CheckResult, Context, MqttProbe, Skip, check, fail, ok, warn

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _where(ctx: Context) -> str:
    broker = ctx.require_device().broker
    return f"{broker.host}:{broker.port}"


@check("broker network")
def check_broker_tcp(ctx: Context) -> CheckResult:
    device = ctx.require_device()
    what = "broker network"
    host, port = device.broker.host, device.broker.port
    try:
        with socket.create_connection((host, port), timeout=ctx.timeout):
            pass
    except socket.gaierror:
        return fail(
            what,
            f"the broker's name {host!r} is unknown (no DNS or /etc/hosts entry)",
            "check [broker] host in the device file and this appliance's DNS settings",
        )
    except ConnectionRefusedError:
        return fail(
            what,
            f"{host}:{port} refused the connection: the broker is not running there, or listens on another port",
            "on the server, start the broker (systemctl status mosquitto) and check [broker] port in the device file",
        )
    except TimeoutError:
        return fail(
            what,
            f"no answer from {host}:{port} within {ctx.timeout:g} s",
            f"check the network cable and switch, that the server is on, and that no firewall blocks port {port}",
        )
    except OSError as exc:
        if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.ENETDOWN):
            return fail(
                what,
                f"no route to {host}: {exc.strerror}",
                "check the network cable, this appliance's IP address (ip addr) and the router",
            )
        return fail(what, f"cannot connect to {host}:{port}: {exc.strerror or exc}", "check the network")
    ctx.broker_tcp = True
    return ok(what, f"{host}:{port} accepts connections")


_VERIFY_EXPIRED = 10
_VERIFY_NOT_YET_VALID = 9
_VERIFY_UNKNOWN_ISSUER = (2, 18, 19, 20, 21)
_VERIFY_HOSTNAME = 62


def _peer_certificate(host: str, port: int, timeout: float):
    """The broker's certificate without verifying it (to explain why verification failed)."""
    from cryptography import x509

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None
    return x509.load_der_x509_certificate(der) if der else None


def _names(cert) -> list[str]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [a.value for a in cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    return [str(v) for v in san.get_values_for_type(x509.DNSName) + san.get_values_for_type(x509.IPAddress)]


@check("broker TLS")
def check_broker_tls(ctx: Context) -> CheckResult:
    require_broker(ctx)
    device = ctx.require_device()
    what = "broker TLS"
    host, port, cafile = device.broker.host, device.broker.port, device.broker.cafile
    if cafile is None:
        ctx.broker_tls = True  # nothing to verify: plain MQTT
        if host in LOOPBACK:
            return ok(what, "plain MQTT on this machine (loopback): no TLS needed")
        return warn(
            what,
            f"no TLS to {host}: the device's password goes over the network unencrypted",
            "set [broker] cafile to the site's CA (ca.crt from the provisioning bundle) and the TLS port (8883)",
        )
    try:
        context = ssl.create_default_context(cafile=str(cafile))
    except (OSError, ssl.SSLError):
        raise Skip("not checked: the CA certificate must be fixed first") from None
    try:
        with (
            socket.create_connection((host, port), timeout=ctx.timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError as exc:
        return _verification_failed(ctx, exc)
    except TimeoutError:
        return fail(
            what,
            f"{host}:{port} accepted the connection but did not answer the TLS handshake within {ctx.timeout:g} s",
            "check [broker] port (the broker's TLS port, usually 8883) and restart the broker",
        )
    except (ssl.SSLError, ConnectionResetError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        return fail(
            what,
            f"{host}:{port} does not speak TLS ({reason}): is it the broker's plain MQTT port?",
            "set [broker] port to the broker's TLS port (usually 8883)",
        )
    from cryptography import x509

    if not der:  # a handshake that verified always gives the peer's certificate
        return fail(what, f"{host}:{port} completed TLS without a certificate", "check the broker's TLS listener")
    cert = x509.load_der_x509_certificate(der)
    ctx.broker_not_before = cert.not_valid_before_utc
    ctx.broker_tls = True
    result = _validity(
        what, f"the broker's certificate for {host}", cert.not_valid_before_utc, cert.not_valid_after_utc, ctx.now(),
        ca=False,
    )  # fmt: skip
    if result.status == "OK":
        return ok(what, f"verified with {cafile.name}; {result.detail}")
    return result


def _verification_failed(ctx: Context, exc: ssl.SSLCertVerificationError) -> CheckResult:
    device = ctx.require_device()
    what = "broker TLS"
    host, port, cafile = device.broker.host, device.broker.port, device.broker.cafile
    code = exc.verify_code
    peer = _peer_certificate(host, port, ctx.timeout)
    if peer is not None:
        ctx.broker_not_before = peer.not_valid_before_utc
    prefix = "TLS verification failed: "
    if code == _VERIFY_HOSTNAME:
        names = ", ".join(_names(peer)) if peer is not None else "other names"
        return fail(
            what,
            f"{prefix}the broker's certificate is for {names}, not for {host}",
            f"set [broker] host to one of: {names} (or re-issue the broker certificate with {host})",
        )
    if code == _VERIFY_EXPIRED:
        return fail(
            what,
            f"{prefix}a certificate has expired (the broker's or the CA's)",
            "check the clock line below; if the date is right, renew the certificates (madoguchi provision)",
        )
    if code == _VERIFY_NOT_YET_VALID:
        return fail(
            what,
            f"{prefix}the broker's certificate is not valid yet: this appliance's clock is probably behind",
            "fix the clock (see the clock line below), then run the doctor again",
        )
    if code in _VERIFY_UNKNOWN_ISSUER:
        return fail(
            what,
            f"{prefix}the broker's certificate is not signed by the CA in {cafile} (another site's broker, "
            "or an old CA file)",
            f"copy the site's ca.crt from the provisioning bundle to {cafile}, and check [broker] host",
        )
    return fail(
        what,
        f"{prefix}{exc.verify_message or exc}",
        "renew the certificates (madoguchi provision) or call the support desk",
    )


#: MQTT v5 CONNACK reason codes (and v3.1.1 return codes) and what to tell the technician.
_BAD_CREDENTIAL = {0x86, 0x04}
_NOT_AUTHORIZED = {0x87, 0x05}


@check("broker login", limit=3.0)
def check_broker_login(ctx: Context) -> CheckResult:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from kiosk.bus.contract import Role, Topics

    require_broker(ctx)
    device = ctx.require_device()
    if not ctx.broker_tls:
        raise Skip("not checked: TLS to the broker must work first")
    if ctx.password is None:
        raise Skip("not checked: the password file must be fixed first")
    assert ctx.site is not None
    what = "broker login"
    name = device.device
    # Never the appliance's own client id: the broker would disconnect the running app to let the doctor in.
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{name}-doctor-{os.getpid()}",
        protocol=mqtt.MQTTv5,
    )
    client.username_pw_set(name, ctx.password)
    if device.broker.cafile is not None:
        client.tls_set(ca_certs=str(device.broker.cafile), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.connect_timeout = ctx.timeout
    connack = threading.Event()
    subacked = threading.Event()
    retained = threading.Event()
    probe = MqttProbe()
    reason: list = []
    service = ctx.site.service_device
    topic = Topics(ctx.site.site.id).status(service.id) if service is not None else None

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        reason.append(reason_code)
        if not reason_code.is_failure:
            probe.connected = True
            if topic is not None and ctx.role is not Role.SERVICE:
                client.subscribe(topic, qos=1)
        connack.set()

    def on_subscribe(client, userdata, mid, reason_codes, properties) -> None:
        probe.presence_refused = any(rc.is_failure for rc in reason_codes)
        subacked.set()

    def on_message(client, userdata, msg) -> None:
        if msg.topic == topic:
            probe.presence = msg.payload
            retained.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.on_message = on_message
    try:
        client.connect(device.broker.host, device.broker.port, keepalive=30)
    except (OSError, ssl.SSLError) as exc:
        return fail(what, f"could not open the MQTT connection: {exc}", "run the doctor again; restart the broker")
    client.loop_start()
    try:
        if not connack.wait(ctx.timeout):
            return fail(
                what,
                f"the broker did not answer the login within {ctx.timeout:g} s",
                "restart the broker on the server and look at its log (journalctl -u mosquitto)",
            )
        subscribed = probe.connected and topic is not None and ctx.role is not Role.SERVICE
        # Mosquitto sends the retained message right after the SUBACK.
        if subscribed and subacked.wait(ctx.timeout) and not probe.presence_refused:
            retained.wait(min(1.0, ctx.timeout))
        ctx.mqtt = probe
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()
        client.loop_stop()
    code = reason[0]
    value = code.value
    if probe.connected:
        return ok(what, f"{name} logged in to the broker")
    fix = (
        f"copy {name}'s password file from the provisioning bundle to {device.broker.password_file} again; if {name} "
        "was added to the site recently, regenerate the broker config on the server (madoguchi broker) and restart it"
    )
    if value in _BAD_CREDENTIAL:
        return fail(what, f"the broker refused the password of {name} (bad user name or password)", fix)
    if value in _NOT_AUTHORIZED:
        # Mosquitto 2 answers every refused login so: a wrong password as well as an unknown device.
        return fail(
            what,
            f"the broker refused the login of {name} (not authorized): the password does not match, or the broker "
            f"does not know {name}",
            fix,
        )
    return fail(what, f"the broker refused the login: {code}", "look at the broker's log on the server")


#: Roles that cannot serve anybody without the queue service; the others keep working and catch up.
NEEDS_SERVICE = {"ticket", "panel"}


@check("queue service")
def check_queue_service(ctx: Context) -> CheckResult | None:
    from pydantic import ValidationError

    from kiosk.bus.contract import Role
    from kiosk.bus.schemas import Presence

    device = ctx.require_device()
    assert ctx.site is not None and ctx.role is not None
    if ctx.role is Role.SERVICE:
        return None
    what = "queue service"
    service = ctx.site.service_device
    if service is None:
        return fail(
            what,
            "the site file has no device with role 'service'",
            "add the queue service to [[devices]] of the site file",
        )
    probe = ctx.mqtt
    if probe is None or not probe.connected:
        raise Skip("not checked: the broker login must work first")
    bad = fail if ctx.role in NEEDS_SERVICE else warn
    who = ROLE_NAMES[ctx.role]
    start = f"on the server, start the queue service (systemctl status madoguchi-service); the {who} " + (
        "cannot serve residents until it runs" if ctx.role in NEEDS_SERVICE else "catches up when it is back"
    )
    if probe.presence_refused:
        return fail(
            what,
            f"the broker does not let {device.device} read the queue service's status (not authorized): "
            "its access list is out of date",
            "regenerate the broker config on the server (madoguchi broker) and restart the broker",
        )
    if not probe.presence:
        return bad(
            what,
            f"no status from {service.id}: it has never connected to this broker, or the broker's access list "
            f"does not let {device.device} read it (not authorized)",
            start + "; if the service runs, regenerate the broker config (madoguchi broker) and restart the broker",
        )
    try:
        presence = Presence.model_validate_json(probe.presence)
    except ValidationError:
        return bad(what, f"{service.id} published a status this version does not understand", "update the software")
    if not presence.online:
        return bad(what, f"{service.id} is offline (it stopped, or lost its connection)", start)
    version = f" (version {presence.version})" if presence.version else ""
    if presence.faults:
        return warn(
            what,
            f"{service.id} is online{version} but reports: {', '.join(presence.faults)}",
            "look at the queue service's /healthz page and log on the server",
        )
    return ok(what, f"{service.id} is online{version}")


def healthz_url(ctx: Context) -> str | None:
    """The queue service's /healthz, on the host of the device's status page URL."""
    from urllib.parse import urlsplit

    device = ctx.device
    if device is None:
        return None
    parts = urlsplit(device.status_url.replace("{token}", "x"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/healthz"


def service_date(ctx: Context):
    """The HTTP ``Date`` of the queue service's /healthz: a reference for the clock, or None."""
    import urllib.error
    import urllib.request
    from email.utils import parsedate_to_datetime

    url = healthz_url(ctx)
    if url is None:
        return None
    try:
        with urllib.request.urlopen(url, timeout=ctx.timeout) as response:  # noqa: S310 - http(s) only, above
            header = response.headers.get("Date")
    except urllib.error.HTTPError as exc:  # 503 while degraded still carries a Date
        header = exc.headers.get("Date") if exc.headers else None
    except (OSError, ValueError):
        return None
    if not header:
        return None
    try:
        return parsedate_to_datetime(header).astimezone(UTC), f"the queue service ({url})"
    except (TypeError, ValueError):
        return None


__all__ = [
    "check_broker_login",
    "check_broker_tcp",
    "check_broker_tls",
    "check_queue_service",
    "healthz_url",
    "service_date",
]
