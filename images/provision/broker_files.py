"""The broker's files: password file (hashed by broker_config.passwd), ACL, mosquitto.conf, TLS certificate."""

from __future__ import annotations

from broker_config.generate import HEADER, BrokerFiles, acl_text, conf_text
from broker_config.passwd import PasswordHashError, read_passwd
from broker_config.passwd import hash_passwords as mosquitto_hash
from broker_config.settings import BrokerSettings, CityBridge, Listener
from images import pki
from images.provision.city import site_bridge_acl, site_bridge_settings
from images.provision.common import GENERATED, ProvisionError
from images.provision.layout import BrokerPlan, Layout, read_password, write_file
from kiosk.config import Site


# ---------------------------------------------------------------- the password file
def hash_passwords(layout: Layout, devices: list[str]) -> dict[str, str]:
    """``device -> "device:$7$..."``: each device's password hashed by ``mosquitto_passwd -U``, in secrets/."""
    try:
        return mosquitto_hash({d: read_password(layout, d) for d in devices}, layout.secrets)
    except PasswordHashError as exc:
        raise ProvisionError(str(exc)) from exc


def update_passwd(
    layout: Layout, set_: tuple[str, ...] | list[str] = (), remove: tuple[str, ...] | list[str] = ()
) -> None:
    """Hash the passwords of ``set_`` into the password file and drop ``remove``; other lines stay as they are."""
    entries = read_passwd(layout.passwd)
    entries.update(hash_passwords(layout, list(set_)))
    for device in remove:
        entries.pop(device, None)
    write_file(layout.passwd, "".join(f"{line}\n" for line in entries.values()).encode(), 0o600)


# ---------------------------------------------------------------- ACL and mosquitto.conf
def generated(text: str) -> str:
    return text.replace(HEADER, GENERATED, 1)


def write_acl(layout: Layout, site: Site) -> None:
    """The ACL of the provisioned devices (site order), from the backbone's generator."""
    provisioned = set(layout.provisioned())
    sub = site.model_copy(update={"devices": tuple(d for d in site.devices if d.id in provisioned)})
    write_file(layout.acl, (generated(acl_text(sub)) + site_bridge_acl(layout, site)).encode(), 0o644)


def broker_settings(plan: BrokerPlan, bridge: CityBridge | None = None) -> BrokerSettings:
    """TLS on the LAN address; plain MQTT on loopback only (the queue service on the same server); the office's
    bridge to its city broker when it has one (``--city-bridge``)."""
    d = plan.install_dir
    return BrokerSettings(
        listeners=(
            Listener(host="127.0.0.1", port=plan.plain_port),
            Listener(
                host=plan.listen,
                port=plan.tls_port,
                cafile=d / "ca.crt",
                certfile=d / "server.crt",
                keyfile=d / "server.key",
            ),
        ),
        persistence=True,
        run_as_root=plan.run_as_root,
        bridge=bridge,
    )


def write_conf(layout: Layout, plan: BrokerPlan) -> None:
    d = plan.install_dir
    files = BrokerFiles(conf=d / "mosquitto.conf", passwd=d / "passwd", acl=d / "acl", data=d / "data")
    settings = broker_settings(plan, site_bridge_settings(layout, d / "bridge"))
    write_file(layout.conf, generated(conf_text(files, settings)).encode(), 0o644)
    if d.resolve() == layout.broker.resolve():
        (layout.broker / "data").mkdir(exist_ok=True)


# ---------------------------------------------------------------- certificates
def write_server_cert(layout: Layout, plan: BrokerPlan, days: int) -> pki.CertInfo:
    ca_key, ca_cert = pki.load_key(layout.ca_key), pki.load_cert(layout.ca_crt)
    key, cert = pki.new_server_cert(ca_key, ca_cert, plan.hosts, days)
    write_file(layout.server_key, pki.key_pem(key), 0o600)
    write_file(layout.server_crt, pki.cert_pem(cert), 0o644)
    write_file(layout.broker_ca, layout.ca_crt.read_bytes(), 0o644)
    return pki.cert_info(cert)
