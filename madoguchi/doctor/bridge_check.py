"""The office's bridge to its city broker, checked on the site server (``--config`` the queue service's device file).

The site's Mosquitto publishes the bridge's state itself (``notifications true``): a retained ``1`` when the
link to the city broker is up, ``0`` when it is down, on ``madoguchi/v1/<site>/bridge/state``
(:func:`broker_config.bridge.bridge_state_topic`). The doctor logs in as the queue service (its access list may
read that topic when the office is bridged) and reads the retained value. Whether a bridge is configured at all
comes from the broker's mosquitto.conf (a ``connection`` block). When the link is down, the broker's log says
since when and why: Mosquitto logs the bridge's lost connection and each failed attempt at the notice level.

A link that is down is a WARN, not a FAIL: the office serves its residents without the city; only the city's
pages and the hub's figures for this office wait, and they catch up from the retained topics and the bridge's
queue when the link is back.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from madoguchi.doctor.config_checks import require_broker
from madoguchi.doctor.core import CheckResult, Context, Skip, check, fail, ok, warn

WHAT = "city bridge"
#: The server image's broker configuration (docs/images.md), when neither the context nor the environment names one.
SERVER_BROKER_CONF = Path("/etc/madoguchi/broker/mosquitto.conf")
#: The server image's broker unit: its journal holds Mosquitto's log.
BROKER_UNIT = "madoguchi-broker"


@dataclass(frozen=True)
class BridgeConf:
    """What the site's mosquitto.conf says about its bridge (None when it has none)."""

    name: str
    address: str
    clientid: str


def broker_conf_path(ctx: Context) -> Path:
    """The site broker's mosquitto.conf: given, or ``MADOGUCHI_BROKER_CONF`` (server.env), or the server image's."""
    if ctx.broker_conf is not None:
        return ctx.broker_conf
    env = ctx.environ.get("MADOGUCHI_BROKER_CONF")
    return Path(env) if env else SERVER_BROKER_CONF


def read_bridge_conf(text: str, site: str) -> BridgeConf | None:
    """The first ``connection`` block of a mosquitto.conf: its name, address and the client id it uses."""
    name = address = clientid = None
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if len(words) < 2:
            continue
        key, value = words[0], words[1]
        if key == "connection":
            if name is not None:
                break
            name = value
        elif name is not None and key == "address":
            address = value
        elif name is not None and key == "remote_clientid":
            clientid = value
    if name is None:
        return None
    return BridgeConf(name=name, address=address or "?", clientid=clientid or site)


# ----------------------------------------------------------------------------------------------- the broker's log
#: Mosquitto's own words for a failed bridge connection (notice and error levels).
_REASONS = ("Error creating bridge", "OpenSSL Error", "Connection Refused", "Bridge connection error", "Error: ")
_LINE = re.compile(r"(?:^|\s)(\d{9,11}): (.*)$")


def journal_lines(ctx: Context) -> list[str]:
    """The broker unit's recent journal, Mosquitto's own lines (``<unix time>: message``); [] when unreadable."""
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        return []
    try:
        done = subprocess.run(
            [journalctl, "-u", BROKER_UNIT, "-o", "cat", "--no-pager", "-n", "5000"],
            capture_output=True, text=True, timeout=ctx.timeout, check=False, env={**os.environ, "LC_ALL": "C"},
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return []
    return done.stdout.splitlines() if done.returncode == 0 else []


def down_since(lines: list[str], bridge: BridgeConf) -> tuple[datetime | None, bool, str | None]:
    """From the broker's log: when the link went down, whether it has been down since the broker started (it
    never came up), and the last reason Mosquitto gave. Only the broker's current run counts."""
    entries = []
    for line in lines:
        m = _LINE.search(line)
        if m:
            entries.append((datetime.fromtimestamp(int(m.group(1)), UTC), m.group(2)))
    start = max((i for i, (_, text) in enumerate(entries) if re.match(r"mosquitto version \S+ starting", text)),
                default=0)  # fmt: skip
    entries = entries[start:]
    local = f"local.{bridge.clientid}"
    lost = [when for when, text in entries
            if text.startswith((f"Client {local} ", f"Socket error on client {local},"))]  # fmt: skip
    reason = next((text for _, text in reversed(entries) if text.startswith(_REASONS)), None)
    if lost:
        return lost[-1], False, reason
    if entries:
        return entries[0][0], True, reason
    return None, False, reason


# ----------------------------------------------------------------------------------------------- the check
def _retained(ctx: Context, topic: str) -> tuple[bool, bool, bytes | None]:
    """Log in as this device, subscribe to ``topic``: (connected, refused, retained payload or None)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    device = ctx.require_device()
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"{device.device}-doctor-bridge-{os.getpid()}",
        protocol=mqtt.MQTTv5,
    )
    client.username_pw_set(device.device, ctx.password)
    if device.broker.cafile is not None:
        client.tls_set(ca_certs=str(device.broker.cafile), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    connack, subacked, got = threading.Event(), threading.Event(), threading.Event()
    state: dict[str, object] = {"connected": False, "refused": False, "payload": None}

    def on_connect(client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            state["connected"] = True
            client.subscribe(topic, qos=1)
        connack.set()

    def on_subscribe(client, userdata, mid, reason_codes, properties) -> None:
        state["refused"] = any(rc.is_failure for rc in reason_codes)
        subacked.set()

    def on_message(client, userdata, msg) -> None:
        if msg.topic == topic:
            state["payload"] = msg.payload
            got.set()

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    try:
        client.connect(device.broker.host, device.broker.port, keepalive=30)
    except (OSError, ssl.SSLError):
        return False, False, None
    client.loop_start()
    try:
        # Mosquitto sends a retained message right after the SUBACK: a short wait after it is enough.
        if connack.wait(ctx.timeout) and state["connected"] and subacked.wait(ctx.timeout) and not state["refused"]:
            got.wait(min(1.0, ctx.timeout))
    finally:
        with contextlib.suppress(Exception):
            client.disconnect()
        client.loop_stop()
    payload = state["payload"]
    return bool(state["connected"]), bool(state["refused"]), payload if isinstance(payload, bytes) else None


def _when(moment: datetime, now: datetime) -> str:
    minutes = int((now - moment).total_seconds() // 60)
    ago = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{max(minutes, 0)} min"
    return f"{moment.astimezone().strftime('%Y-%m-%d %H:%M:%S')} ({ago} ago)"


@check("city bridge", limit=3.0)
def check_city_bridge(ctx: Context) -> CheckResult | None:
    from broker_config.bridge import bridge_state_topic
    from kiosk.bus.contract import Role

    ctx.require_device()
    if ctx.role is not Role.SERVICE:
        return None  # the bridge runs on the site server's broker only
    assert ctx.site is not None
    site = ctx.site.site.id
    conf_path = broker_conf_path(ctx)
    try:
        bridge = read_bridge_conf(conf_path.read_text(encoding="utf-8"), site)
        conf_known = True
    except OSError:
        bridge, conf_known = None, False
    if conf_known and bridge is None:
        return ok(WHAT, f"no bridge configured in {conf_path}: this office is not linked to a city broker")
    require_broker(ctx)
    if ctx.mqtt is None or not ctx.mqtt.connected or ctx.password is None:
        raise Skip("not checked: the broker login must work first")
    topic = bridge_state_topic(site)
    connected, refused, payload = _retained(ctx, topic)
    if not connected:
        raise Skip("not checked: the broker login must work first")
    if bridge is None:  # no mosquitto.conf to read: the broker's own word decides
        if refused or payload is None:
            return ok(WHAT, f"no bridge configured (no bridge state on the broker; {conf_path} not readable)")
        bridge = BridgeConf(name=f"city-{site}", address="the city broker", clientid=site)
    redo = "run `madoguchi provision bundle --city-bridge ...` and `server-bundle` again, install the bundle"
    if refused or payload is None:  # Mosquitto 2 grants a subscription its ACL will not deliver: both look alike
        who = ctx.require_device().device
        return fail(
            WHAT,
            f"bridge {bridge.name} to {bridge.address} is configured, but {who} sees no state for it on {topic}: the "
            f"broker's access list does not let {who} read it, or the bridge has not started",
            f"{redo}; then restart the broker (systemctl restart {BROKER_UNIT})",
        )
    if payload.strip() == b"1":
        return ok(WHAT, f"the link to the city broker {bridge.address} is up ({bridge.name})")
    reader = ctx.broker_log or journal_lines
    since, never, reason = down_since(reader(ctx), bridge)
    if since is None:
        when = ""
    elif never:
        when = f": it has not come up since the broker started at {_when(since, ctx.now())}"
    else:
        when = f" since {_when(since, ctx.now())}"
    why = f"; the broker says: {reason}" if reason else ""
    return warn(
        WHAT,
        f"the link to the city broker {bridge.address} is down{when}{why}. The office works on; the city's pages "
        "show its figures again when the link is back",
        f"check the network to {bridge.address} and that the city broker runs; journalctl -u {BROKER_UNIT}",
    )


__all__ = ["BridgeConf", "check_city_bridge", "down_since", "read_bridge_conf"]
