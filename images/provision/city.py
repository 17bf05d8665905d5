"""``madoguchi provision city``: the city CA, the city broker's certificate, one bridge certificate per office,
the hub's certificate, and the bundles for the city broker, the hub and each office's bridge.

Everything goes into one folder, ``--out DIR``::

    ca/ca.key ca/ca.crt                 the city CA (the key is 0600 and never leaves ca/); or a CA given
    bundles/city-broker/                mosquitto.conf acl ca.crt server.crt server.key (0600) data/
    bundles/hub/                        city.toml sites/<site>/site.toml ca.crt city-hub.crt city-hub.key (0600)
    sites/<site>/bridge/                ca.crt bridge.crt bridge.key (0600) bridge.conf: what the office's
                                        own provisioning puts in its server bundle (``--city-bridge``)

Sites authenticate to the city broker with their client certificate, whose common name is the site id (the
broker takes it as the user name, and its ACL keeps each site to its own prefix); the hub's is ``city-hub``.
Running it again is idempotent: the CA, keys and certificates are kept while they are valid, signed by this
CA, for the same name and good for 30 more days; generated files are rewritten only when their bytes change.
A new office in the city file gets its certificate; an office no longer listed loses its folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from broker_config.bridge import (
    HUB_IDENTITY,
    CityBrokerFiles,
    bridge_state_topic,
    city_acl_text,
    city_conf_text,
    site_bridge,
    site_bridge_text,
)
from broker_config.generate import HEADER
from broker_config.settings import BrokerSettings, CityBridge, Listener
from images import pki
from images.provision.bundles import appliance_site
from images.provision.common import GENERATED, ProvisionError
from images.provision.layout import Layout, private_dir, write_file
from kiosk.config import Site
from kiosk.config.city import City, load_city
from kiosk.config.loading import toml_value

#: The hub's user on the city broker (its certificate's common name).
HUB_USER = HUB_IDENTITY
#: Where a site server keeps its bridge files (the server image's /etc/madoguchi, docs/images.md); the snippet in
#: ``sites/<site>/bridge/bridge.conf`` names its files there, site provisioning rewrites it where its broker runs.
SERVER_BRIDGE_DIR = Path("/etc/madoguchi/broker/bridge")
#: A certificate that runs out within this is issued again on the next run.
RENEW_BEFORE = dt.timedelta(days=30)
#: The files of a site's bridge folder (and of ``broker/bridge/`` in a site's provisioning folder).
BRIDGE_FILES = ("ca.crt", "bridge.crt", "bridge.key", "bridge.conf", "bridge.toml")


# ---------------------------------------------------------------- certificates
def new_client_cert(
    ca_key: pki.Key, ca_cert: x509.Certificate, common_name: str, days: int
) -> tuple[pki.Key, x509.Certificate]:
    """A TLS client certificate (clientAuth) whose common name is the user the city broker sees."""
    key = pki.new_key()
    start = dt.datetime.now(dt.UTC) - pki.CLOCK_SKEW
    city = ca_cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smart madoguchi"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, str(city)),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    cert = pki.leaf_cert(
        key, ca_key, ca_cert, name, start, start + dt.timedelta(days=days), ExtendedKeyUsageOID.CLIENT_AUTH
    )
    return key, cert


def common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def _same_key(cert: x509.Certificate, key: pki.Key) -> bool:
    """Whether ``key`` is the private key of ``cert`` (their public halves, byte for byte)."""
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return cert.public_key().public_bytes(*spki) == key.public_key().public_bytes(*spki)


def _still_good(crt: Path, key: Path, ca: x509.Certificate, cn: str, hosts: tuple[str, ...] | None) -> bool:
    """Keep an existing certificate: signed by this CA, same name (and hosts), its key, 30 more days."""
    if not (crt.is_file() and key.is_file()):
        return False
    try:
        cert, private = pki.load_cert(crt), pki.load_key(key)
    except ValueError:
        return False
    if not pki.signed_by(cert, ca) or common_name(cert) != cn:
        return False
    if not _same_key(cert, private):
        return False
    if hosts is not None and set(pki.cert_info(cert).hosts) != set(hosts):
        return False
    return cert.not_valid_after_utc - dt.datetime.now(dt.UTC) > RENEW_BEFORE


# ---------------------------------------------------------------- the folder
@dataclass(frozen=True)
class CityLayout:
    root: Path

    ca_key = property(lambda self: self.root / "ca" / "ca.key")
    ca_crt = property(lambda self: self.root / "ca" / "ca.crt")
    broker_bundle = property(lambda self: self.root / "bundles" / "city-broker")
    hub_bundle = property(lambda self: self.root / "bundles" / "hub")
    sites = property(lambda self: self.root / "sites")

    def bridge(self, site: str) -> Path:
        return self.sites / site / "bridge"


@dataclass
class CityRun:
    """What one run did: printed line by line (never a secret), kept for tests."""

    out: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.out.append(line)
        print(line)


def _ca(layout: CityLayout, args: argparse.Namespace, city: City, run: CityRun) -> tuple[pki.Key, x509.Certificate]:
    """The city CA: the one already in ``ca/``, or the one given (copied in once), or a new one."""
    private_dir(layout.ca_key.parent)
    given = (args.ca_cert, args.ca_key)
    if any(given) and not all(given):
        raise ProvisionError("--ca-cert and --ca-key go together (the CA's certificate and its key)")
    if all(given):
        cert_bytes, key_bytes = Path(args.ca_cert).read_bytes(), Path(args.ca_key).read_bytes()
        if layout.ca_crt.exists() and layout.ca_crt.read_bytes() != cert_bytes:
            raise ProvisionError(f"{layout.ca_crt} is another CA than --ca-cert: every certificate would change")
        try:
            cert, key = x509.load_pem_x509_certificate(cert_bytes), pki.load_key(Path(args.ca_key))
        except ValueError as exc:
            raise ProvisionError(f"the CA given: {exc}") from exc
        if not _same_key(cert, key):
            raise ProvisionError("--ca-key is not the key of --ca-cert")
        try:
            is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca or not cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME):
            raise ProvisionError("--ca-cert must be a CA certificate (basicConstraints CA) with an OU in its subject")
        write_file(layout.ca_crt, cert_bytes, 0o644)
        write_file(layout.ca_key, key_bytes, 0o600)
        return key, cert
    if layout.ca_key.exists():
        return pki.load_key(layout.ca_key), pki.load_cert(layout.ca_crt)
    key, cert = pki.new_ca(city.city.id, args.ca_days)
    write_file(layout.ca_key, pki.key_pem(key), 0o600)
    write_file(layout.ca_crt, pki.cert_pem(cert), 0o644)
    run.say(f"city CA: new, {layout.ca_crt}")
    return key, cert


def _cert(
    ca: tuple[pki.Key, x509.Certificate], crt: Path, key: Path, cn: str, days: int, hosts: tuple[str, ...] | None
) -> bool:
    """Issue ``cn``'s certificate unless the one there is still good; True when a new one was issued."""
    if _still_good(crt, key, ca[1], cn, hosts):
        return False
    if hosts is not None:
        new_key, cert = pki.new_server_cert(ca[0], ca[1], hosts, days)
    else:
        new_key, cert = new_client_cert(ca[0], ca[1], cn, days)
    write_file(key, pki.key_pem(new_key), 0o600)
    write_file(crt, pki.cert_pem(cert), 0o644)
    return True


# ---------------------------------------------------------------- the files
def hub_city_toml(text: str, sites: dict[str, str]) -> str:
    """The city file for the hub's bundle: each ``site_file`` pointing at the bundle's copy, all else byte for
    byte (comments included). Checked by parsing both; a city file written another way is refused, not guessed."""
    order = iter(sites.values())
    pattern = re.compile(r"^(\s*site_file\s*=\s*)(\"[^\"]*\"|'[^']*')(\s*(#.*)?)$")
    lines = []
    for line in text.splitlines(keepends=True):
        m = pattern.match(line.rstrip("\r\n"))
        if m:
            new = next(order, None)
            if new is None:
                raise ProvisionError("the city file has more site_file lines than sites")
            line = f"{m.group(1)}{toml_value(new)}{m.group(3)}{line[len(line.rstrip(chr(13) + chr(10))) :]}"
        lines.append(line)
    out = "".join(lines)
    full, rewritten = tomllib.loads(text), tomllib.loads(out)
    for entry in full.get("sites", []):
        entry["site_file"] = sites.get(entry.get("id"), entry.get("site_file"))
    if full != rewritten:
        raise ProvisionError("the city file's sites are not [[sites]] tables with one site_file line each")
    return out


def _generated(text: str) -> str:
    return text.replace(HEADER, GENERATED, 1)


# ---------------------------------------------------------------- the command
def add_parser(sub: argparse._SubParsersAction) -> None:
    sp = sub.add_parser("city", help="a city: city CA, city broker, one bridge certificate per office, the hub")
    sp.add_argument("--city", type=Path, required=True, help="the city file (city.toml)")
    sp.add_argument("--out", type=Path, default=Path("provision-city"), help="the city's folder")
    sp.add_argument("--ca-cert", type=Path, help="use this CA (with --ca-key) instead of making one")
    sp.add_argument("--ca-key", type=Path, help="the key of --ca-cert")
    sp.add_argument("--broker-name", action="append", default=[], metavar="NAME",
                    help="another name or address of the city broker for its certificate")  # fmt: skip
    sp.add_argument(
        "--listen", metavar="ADDRESS", help="address the city broker binds (default: [broker] host if an IP, else all)"
    )
    sp.add_argument(
        "--install-dir", type=Path, help="where the city broker's bundle lives on its server (default: in place)"
    )
    sp.add_argument("--ca-days", type=int, default=3650)
    sp.add_argument("--cert-days", type=int, default=825)
    sp.add_argument("--run-as-root", action="store_true", help="mosquitto.conf says `user root` (tests, containers)")


def cmd_city(args: argparse.Namespace) -> list[str]:
    """Write or bring up to date the city's folder (see the module's docstring); returns the lines printed."""
    city_path: Path = args.city
    city, sites = load_city(city_path)
    layout = CityLayout(args.out.absolute())
    run = CityRun()
    for entry in city.sites:
        if sites[entry.id].service_device is None:
            raise ProvisionError(f"{entry.id}: the site file has no device of role 'service' (nothing to bridge)")
    if HUB_USER in city.site_by_id:
        raise ProvisionError(f"a site may not be called {HUB_USER!r}: it is the hub's name on the city broker")
    layout.root.mkdir(parents=True, exist_ok=True)
    ca = _ca(layout, args, city, run)
    ca_pem = layout.ca_crt.read_bytes()

    # the city broker
    folder = private_dir(layout.broker_bundle)
    hosts = tuple(dict.fromkeys([city.broker.host, *args.broker_name]))
    if _cert(ca, folder / "server.crt", folder / "server.key", hosts[0], args.cert_days, hosts):
        run.say(f"city broker certificate: new, for {', '.join(hosts)}")
    write_file(folder / "ca.crt", ca_pem, 0o644)
    where = (args.install_dir or folder).absolute()
    listen = args.listen or (city.broker.host if pki.is_ip(city.broker.host) else "0.0.0.0")  # noqa: S104
    listener = Listener(
        host=listen,
        port=city.broker.port,
        cafile=where / "ca.crt",
        certfile=where / "server.crt",
        keyfile=where / "server.key",
    )
    settings = BrokerSettings(listeners=(listener,), persistence=True, run_as_root=args.run_as_root)
    files = CityBrokerFiles(conf=where / "mosquitto.conf", acl=where / "acl", data=where / "data")
    write_file(folder / "mosquitto.conf", _generated(city_conf_text(files, settings)).encode(), 0o644)
    write_file(folder / "acl", _generated(city_acl_text(city, sites, HUB_USER)).encode(), 0o644)
    (folder / "data").mkdir(exist_ok=True)

    # one bridge per office
    for entry in city.sites:
        out = private_dir(layout.bridge(entry.id))
        if _cert(ca, out / "bridge.crt", out / "bridge.key", entry.id, args.cert_days, None):
            run.say(f"{entry.id}: new bridge certificate")
        write_file(out / "ca.crt", ca_pem, 0o644)
        d = SERVER_BRIDGE_DIR
        link = site_bridge(sites[entry.id], city, d / "ca.crt", d / "bridge.crt", d / "bridge.key")
        write_file(out / "bridge.conf", site_bridge_text(link).encode(), 0o644)
        write_file(out / "bridge.toml", _bridge_toml(link).encode(), 0o644)
    listed = {s.id for s in city.sites}
    for stale in sorted(layout.sites.iterdir()) if layout.sites.is_dir() else ():
        if stale.is_dir() and stale.name not in listed:
            shutil.rmtree(stale)
            run.say(f"{stale.name}: no longer in the city file, its bridge folder removed")

    # the hub
    hub = private_dir(layout.hub_bundle)
    if _cert(ca, hub / f"{HUB_USER}.crt", hub / f"{HUB_USER}.key", HUB_USER, args.cert_days, None):
        run.say(f"hub certificate: new ({HUB_USER})")
    write_file(hub / "ca.crt", ca_pem, 0o644)
    copies = {s.id: f"sites/{s.id}/site.toml" for s in city.sites}
    for entry in city.sites:  # without the [[staff]] logins: no password hash reaches the hub
        text = appliance_site(entry.site_file.read_text(encoding="utf-8"))
        write_file(hub / copies[entry.id], text.encode(), 0o644)
    write_file(hub / "city.toml", hub_city_toml(city_path.read_text(encoding="utf-8"), copies).encode(), 0o644)
    for stale in (hub / "sites").iterdir():
        if stale.name not in listed:
            shutil.rmtree(stale)

    run.say(f"city {city.city.id}: {len(city.sites)} offices, folder {layout.root}")
    run.say(f"city broker: {layout.broker_bundle}/ (TLS {hosts[0]}:{city.broker.port}, client certificates)")
    run.say(f"hub: {layout.hub_bundle}/")
    run.say(
        f"each office: madoguchi provision bundle --site SITE --devices D --city-bridge {layout.sites}/<site>/bridge, "
        "then server-bundle"
    )
    return run.out


#: The bridge settings a site's provisioning needs besides the three files (``bridge.toml``).
_LINK_KEYS = ("site", "service", "host", "port", "restart_timeout", "keepalive")


def _bridge_toml(link: CityBridge) -> str:
    values = link.model_dump(mode="json")
    lines = [GENERATED.rstrip("\n"), "# the office's bridge to the city broker; its files are next to this one"]
    return "\n".join([*lines, *(f"{k} = {toml_value(values[k])}" for k in _LINK_KEYS)]) + "\n"


# ---------------------------------------------------------------- an office's side (`init/bundle --city-bridge`)
def site_bridge_dir(layout: Layout) -> Path:
    """``OUT/<site>/broker/bridge/``: the office's copy of its bridge folder, kept for every later command."""
    return layout.broker / "bridge"


def take_site_bridge(layout: Layout, site: Site, src: Path) -> bool:
    """Copy the office's bridge folder (from ``provision city``) into its provisioning folder, after checking
    it is this office's: every file there, the certificate's common name is the site id, signed by the city CA
    in the folder, with its key. Returns whether anything changed."""
    missing = [name for name in BRIDGE_FILES if not (src / name).is_file()]
    if missing:
        raise ProvisionError(f"{src}: not a bridge folder from `madoguchi provision city` (no {', '.join(missing)})")
    try:
        cert, ca = pki.load_cert(src / "bridge.crt"), pki.load_cert(src / "ca.crt")
        key = pki.load_key(src / "bridge.key")
    except ValueError as exc:
        raise ProvisionError(f"{src}: {exc}") from exc
    if common_name(cert) != site.site.id:
        raise ProvisionError(f"{src} is the bridge of {common_name(cert)!r}, not of this site {site.site.id!r}")
    if not pki.signed_by(cert, ca) or not _same_key(cert, key):
        raise ProvisionError(f"{src}: bridge.crt is not signed by its ca.crt, or bridge.key is not its key")
    folder = private_dir(site_bridge_dir(layout))
    changed = False
    for name in BRIDGE_FILES:
        changed |= write_file(folder / name, (src / name).read_bytes(), 0o600 if name.endswith(".key") else 0o644)
    return changed


def site_bridge_settings(layout: Layout, folder: Path) -> CityBridge | None:
    """The office's bridge for its mosquitto.conf (``BrokerSettings.bridge``) with its files in ``folder`` (where
    the broker's ``bridge/`` is installed), or None when the office is not bridged to a city."""
    toml = site_bridge_dir(layout) / "bridge.toml"
    if not toml.is_file():
        return None
    values = tomllib.loads(toml.read_text(encoding="utf-8"))
    files = {"cafile": folder / "ca.crt", "certfile": folder / "bridge.crt", "keyfile": folder / "bridge.key"}
    return CityBridge.model_validate({**{k: values[k] for k in _LINK_KEYS if k in values}, **files})


def site_bridge_acl(layout: Layout, site: Site) -> str:
    """With a bridge, the queue service's user may read the bridge's state (retained "1"/"0", published by the
    site's Mosquitto) so that ``madoguchi doctor`` on the server, logged in as the service, sees the link."""
    if not (site_bridge_dir(layout) / "bridge.toml").is_file() or site.service_device is None:
        return ""
    return (
        f"\n# the city bridge's state, for madoguchi doctor on the server\nuser {site.service_device.id}\n"
        f"topic read {bridge_state_topic(site.site.id)}\n"
    )
