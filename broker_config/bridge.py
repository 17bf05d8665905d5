"""Mosquitto's own bridge from each office to the city broker, generated: both ends.

The site side is one ``connection`` block in the site's mosquitto.conf: TLS to the city broker with the site's
own client certificate, and ``out`` topics only, exactly :meth:`Topics.bridged_out` (the groups' retained
state, the day summaries, the queue service's presence). There is no ``in`` topic, so the bridge subscribes to
nothing on the city broker and nothing comes back into the site: the city cannot call, issue or cancel.

The city side is its broker's mosquitto.conf (a TLS listener that requires a client certificate and takes the
certificate's CN as the user name) and its ACL: each office's identity (CN = site id) may write only its own
bridged topics and read nothing; the hub reads every office's bridged topics and writes nothing. So one office
cannot publish into another's prefix, whatever its bridge configuration says.

While the link is down the site works as before (its own broker, its own service). Its broker keeps the bridge's
local session (``local_cleansession false``) and queues what it would have sent, QoS 1, up to the site's
``max_queued_messages``; on reconnect Mosquitto sends that queue and every retained message under the ``out``
topics again, so the city ends with the latest retained state whatever was dropped.

Pure text generation: paths and models in, text out (``madoguchi provision city`` writes the files).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from broker_config.generate import HEADER
from broker_config.settings import BrokerSettings, CityBridge, Listener
from kiosk.bus.contract import VERSION, Topics
from kiosk.config.city import City
from kiosk.config.site import Site, load_site

#: The hub's identity on the city broker (the CN of its client certificate): it reads, never writes.
HUB_IDENTITY = "city-hub"
#: Wildcard for "any office" in the hub's ACL (one pattern covers offices added later).
_ANY_SITE_ROOT = f"madoguchi/{VERSION}/+"


def bridge_state_topic(site: str) -> str:
    """Mosquitto's notification of the bridge's link, retained: ``1`` up, ``0`` down (the city broker publishes
    the ``0`` as the bridge's will when the link drops). Published on both brokers: the hub can show an office
    as unreachable, and the site (``madoguchi doctor``) can see whether its link is up."""
    return f"{Topics(site).root}/bridge/state"


def service_of(site: Site) -> str:
    """The queue service's device id: its presence is bridged; a site without one has nothing to bridge."""
    service = site.service_device
    if service is None:
        raise ValueError(f"site {site.site.id!r} has no queue service device: nothing to bridge to a city")
    return service.id


def bridged_topics(site: Site) -> tuple[str, ...]:
    """The topics this site sends to the city: the contract's list plus the bridge's own link notification."""
    site_id = site.site.id
    return (*Topics(site_id).bridged_out(service_of(site)), bridge_state_topic(site_id))


# ---------------------------------------------------------------- the site side
def site_bridge(
    site: Site,
    city: City,
    cafile: Path,
    certfile: Path,
    keyfile: Path,
    *,
    restart_timeout: tuple[int, int] = (5, 60),
) -> CityBridge:
    """The bridge settings of one office of ``city``: put them into :class:`BrokerSettings` ``bridge`` and the
    site's generated mosquitto.conf carries the ``connection`` block (:func:`site_bridge_text`).

    ``cafile`` is the city CA (it signed the city broker's certificate), ``certfile``/``keyfile`` the site's
    client certificate (CN = site id) as installed on the site's broker server."""
    site_id = site.site.id
    if site_id not in city.site_by_id:
        raise ValueError(f"site {site_id!r} is not one of the city {city.city.id!r}'s offices")
    if site_id == HUB_IDENTITY:
        raise ValueError(f"the site id {HUB_IDENTITY!r} is the hub's identity on the city broker")
    return CityBridge(
        site=site_id,
        service=service_of(site),
        host=city.broker.host,
        port=city.broker.port,
        cafile=cafile,
        certfile=certfile,
        keyfile=keyfile,
        restart_timeout=restart_timeout,
    )


def site_bridge_text(bridge: CityBridge) -> str:
    """The ``connection`` block for the site's mosquitto.conf (placed last: every line after ``connection``
    belongs to that bridge)."""
    topics = Topics(bridge.site)
    base, cap = bridge.restart_timeout
    lines = [
        "# The bridge to the city broker: out only, TLS with this office's certificate (docs/city.md).",
        f"connection city-{bridge.site}",
        f"address {bridge.host}:{bridge.port}",
        "bridge_protocol_version mqttv311",
        f"bridge_cafile {bridge.cafile}",
        f"bridge_certfile {bridge.certfile}",
        f"bridge_keyfile {bridge.keyfile}",
        "bridge_tls_version tlsv1.2",  # the minimum; TLS 1.3 when both ends have it
        "bridge_insecure false",  # the city broker's name is checked against its certificate
        # stable: the city broker keeps this office's session under it (it also replaces it by the CN)
        f"remote_clientid {bridge.site}",
        # keep the session on both ends: the site's broker queues what the link could not carry yet
        "cleansession false",
        "local_cleansession false",
        "start_type automatic",
        f"restart_timeout {base} {cap}",
        f"keepalive_interval {bridge.keepalive}",
        "try_private true",
        "notifications true",
        f"notification_topic {bridge_state_topic(bridge.site)}",
        # no `in` topic: the bridge never subscribed on the city broker, so there is nothing to unsubscribe
        "bridge_attempt_unsubscribe false",
        "bridge_outgoing_retain true",
    ]
    lines += [f"topic {pattern} out 1" for pattern in topics.bridged_out(bridge.service)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the city side
@dataclass(frozen=True)
class CityBrokerFiles:
    conf: Path
    acl: Path
    data: Path


def city_acl_text(city: City, sites: Mapping[str, Site], hub: str = HUB_IDENTITY) -> str:
    """The city broker's ACL: each office writes its own bridged topics, the hub reads all, nobody else anything.

    ``sites`` is what :func:`kiosk.config.city.load_city` returns (each office's site, for its service id)."""
    missing = [s.id for s in city.sites if s.id not in sites]
    if missing:
        raise ValueError(f"no site file loaded for {', '.join(missing)}")
    if hub in city.site_by_id:
        raise ValueError(f"the site id {hub!r} is the hub's identity on the city broker")
    blocks = [
        HEADER.rstrip("\n"),
        "# The city broker. User names are the CNs of the client certificates (use_identity_as_username).",
        "# Anything not listed is denied: an office reads nothing and writes only its own bridged topics.",
    ]
    hub_reads: list[str] = []
    for entry in city.sites:
        site = sites[entry.id]
        topics = Topics(entry.id)
        blocks.append(f"\n# {entry.id}: the office's bridge")
        blocks.append(f"user {entry.id}")
        blocks += [f"topic write {pattern}" for pattern in bridged_topics(site)]
        service = service_of(site)
        for pattern in bridged_topics(site):
            if pattern == topics.status(service):
                pattern = topics.all_statuses
            wild = _ANY_SITE_ROOT + pattern.removeprefix(topics.root)
            if wild not in hub_reads:
                hub_reads.append(wild)
    blocks.append(f"\n# {hub}: the city hub reads every office's bridged topics and writes nothing")
    blocks.append(f"user {hub}")
    blocks += [f"topic read {pattern}" for pattern in hub_reads]
    return "\n".join(blocks) + "\n"


def city_conf_text(files: CityBrokerFiles, settings: BrokerSettings) -> str:
    """The city broker's mosquitto.conf: every listener TLS and requires a client certificate from the city CA;
    the certificate's CN is the user name the ACL knows (no passwords, no anonymous clients)."""
    plain = [f"{lst.host}:{lst.port}" for lst in settings.listeners if not lst.tls]
    if plain:
        raise ValueError(f"the city broker takes TLS with client certificates only; plain listener {plain[0]}")
    if settings.bridge is not None:
        raise ValueError("the city broker bridges to nothing")
    lines = [
        HEADER.rstrip("\n"),
        "per_listener_settings false",
        "allow_anonymous false",
        f"acl_file {files.acl}",
        f"persistence {'true' if settings.persistence else 'false'}",
        f"persistence_location {files.data}/",
        "autosave_interval 30",
        "log_dest stderr",
        "log_type error",
        "log_type warning",
        "log_type notice",
        "connection_messages true",
        # one connection per identity: an office cannot take over another's session by its client id
        "use_username_as_clientid true",
        # the sessions of offices taken out of the city do not stay for ever
        "persistent_client_expiration 60d",
        "max_queued_messages 10000",
        "set_tcp_nodelay true",
    ]
    if settings.run_as_root:
        lines.append("user root")
    for listener in settings.listeners:
        lines += [
            "",
            f"listener {listener.port} {listener.host}",
            f"cafile {listener.cafile}",
            f"certfile {listener.certfile}",
            f"keyfile {listener.keyfile}",
            "tls_version tlsv1.2",
            "require_certificate true",
            "use_identity_as_username true",
        ]
    return "\n".join(lines) + "\n"


def generate_city(
    city: City, sites: Mapping[str, Site], out_dir: Path, settings: BrokerSettings, hub: str = HUB_IDENTITY
) -> CityBrokerFiles:
    """Write the city broker's mosquitto.conf and ACL into ``out_dir`` (``data/`` for its persistence)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = CityBrokerFiles(conf=out_dir / "mosquitto.conf", acl=out_dir / "acl", data=out_dir / "data")
    files.data.mkdir(exist_ok=True)
    files.acl.write_text(city_acl_text(city, sites, hub), encoding="utf-8")
    files.conf.write_text(city_conf_text(files, settings), encoding="utf-8")
    return files


# ---------------------------------------------------------------- for `madoguchi provision city`: text out
def site_bridge_conf(site: Site, city: City, service: str | None, cafile: Path, certfile: Path, keyfile: Path) -> str:
    """The site's ``connection`` block as text (appended to the site's mosquitto.conf); ``service`` must be
    the site's queue service when given (it is read from the site anyway)."""
    bridge = site_bridge(site, city, cafile, certfile, keyfile)
    if service is not None and service != bridge.service:
        raise ValueError(f"{service!r} is not the queue service of {site.site.id!r} ({bridge.service!r})")
    return site_bridge_text(bridge)


def city_broker_acl(city: City, hub: str = HUB_IDENTITY, sites: Mapping[str, Site] | None = None) -> str:
    """:func:`city_acl_text`, reading each office's site file from the city (as :func:`load_city` resolved
    them) when ``sites`` is not given."""
    if sites is None:
        sites = {entry.id: load_site(entry.site_file) for entry in city.sites}
    return city_acl_text(city, sites, hub)


def city_broker_conf(
    city: City,
    cafile: Path,
    certfile: Path,
    keyfile: Path,
    port: int | None = None,
    *,
    host: str = "0.0.0.0",
    acl: Path | None = None,
    data: Path | None = None,
    run_as_root: bool = False,
) -> str:
    """The city broker's mosquitto.conf for one TLS listener on ``host:port`` (the city file's port by default);
    the ACL and the persistence folder default to ``acl`` and ``data/`` next to the CA file (the broker's
    bundle folder)."""
    folder = cafile.parent
    listener = Listener(host=host, port=port or city.broker.port, cafile=cafile, certfile=certfile, keyfile=keyfile)
    files = CityBrokerFiles(conf=folder / "mosquitto.conf", acl=acl or folder / "acl", data=data or folder / "data")
    return city_conf_text(files, BrokerSettings(listeners=(listener,), run_as_root=run_as_root))
