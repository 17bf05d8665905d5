"""The subcommands: init, add, replace, retire, bundle, renew-broker-cert, server-bundle, list."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from broker_config.generate import BrokerFiles, conf_text
from broker_config.passwd import read_passwd
from images import pki
from images.provision.broker_files import (
    broker_settings,
    generated,
    update_passwd,
    write_acl,
    write_conf,
    write_server_cert,
)
from images.provision.bundles import write_bundle
from images.provision.city import site_bridge_dir, site_bridge_settings, take_site_bridge
from images.provision.common import ProvisionError
from images.provision.devices import DeviceEntry, load_devices
from images.provision.layout import BrokerPlan, Layout, new_password, private_dir, write_file
from kiosk.bus.contract import Role
from kiosk.config import Site


# ---------------------------------------------------------------- commands
@dataclass
class Context:
    site_path: Path
    site: Site
    layout: Layout
    out: list[str]

    def say(self, line: str) -> None:
        self.out.append(line)
        print(line)


def _entries(ctx: Context, devices_path: Path | None, ids: list[str]) -> dict[str, DeviceEntry]:
    if devices_path is None:
        raise ProvisionError("--devices is needed (the device list)")
    devices = load_devices(devices_path, ctx.site).by_id
    for d in ids:
        if d not in devices:
            raise ProvisionError(f"{d}: not in {devices_path} (add a [[device]] for it first)")
    return {d: devices[d] for d in ids}


def _service_id(site: Site) -> str | None:
    return site.service_device.id if site.service_device else None


def _reload_hint(ctx: Context, plan: BrokerPlan) -> None:
    if plan.install_dir.resolve() == ctx.layout.broker.resolve():
        ctx.say("reload the broker to apply: systemctl reload mosquitto (or kill -HUP its pid)")
    else:
        ctx.say(
            f"copy {ctx.layout.passwd} and {ctx.layout.acl} to {plan.install_dir}/, then: systemctl reload mosquitto"
        )


def cmd_init(ctx: Context, args) -> None:
    layout = ctx.layout
    if layout.ca_key.exists():
        raise ProvisionError(
            f"{layout.root} already has a CA; use add, replace, retire or renew-broker-cert "
            "(a new CA would need every device to be re-provisioned)"
        )
    devices_path = args.devices
    devices = load_devices(devices_path, ctx.site)
    if shutil.which("mosquitto_passwd") is None:  # before anything is written: init runs once
        raise ProvisionError("mosquitto_passwd not found: install the 'mosquitto' package (scripts/install)")
    hosts = list(dict.fromkeys([*args.broker_host, *args.broker_name]))
    listen = args.listen or next((h for h in args.broker_host if pki.is_ip(h)), None)
    if listen is None:
        raise ProvisionError("--listen ADDRESS is needed: no --broker-host is an IP address to bind the TLS listener")
    install_dir = (args.install_dir or layout.broker).absolute()
    plan = BrokerPlan(
        hosts=tuple(hosts),
        listen=listen,
        tls_port=args.tls_port,
        plain_port=args.plain_port,
        install_dir=install_dir,
        cert_days=args.cert_days,
        run_as_root=args.run_as_root,
    )
    try:
        broker_settings(plan)
    except ValidationError as exc:
        raise ProvisionError(f"broker listeners: {exc.errors()[0]['msg']}") from exc

    layout.root.mkdir(parents=True, exist_ok=True)
    private_dir(layout.ca_dir)
    private_dir(layout.secrets)
    private_dir(layout.bundles)
    layout.broker.mkdir(exist_ok=True)
    ca_key, ca_cert = pki.new_ca(ctx.site.site.id, args.ca_days)
    write_file(layout.ca_key, pki.key_pem(ca_key), 0o600)
    write_file(layout.ca_crt, pki.cert_pem(ca_cert), 0o644)
    write_file(layout.plan_file, plan.toml().encode(), 0o644)
    info = write_server_cert(layout, plan, args.cert_days)

    ids = [d.id for d in devices.device]
    service = _service_id(ctx.site)
    if service is not None and service not in ids:
        ids.insert(0, service)  # the queue service always has a credential
    for d in ids:
        new_password(layout, d)
    update_passwd(layout, set_=ids)
    if args.city_bridge is not None:
        take_site_bridge(layout, ctx.site, args.city_bridge)
    write_acl(layout, ctx.site)
    write_conf(layout, plan)
    for entry in devices.device:
        if entry.role is not Role.SERVICE:
            write_bundle(layout, ctx.site_path, ctx.site, entry, devices_path)

    ctx.say(f"site CA: {layout.ca_crt} (valid until {_date(pki.cert_info(ca_cert).not_after)})")
    ctx.say(
        f"broker certificate: {layout.server_crt} for {', '.join(info.hosts)} (valid until {_date(info.not_after)})"
    )
    ctx.say(f"broker config: {layout.conf} (TLS {plan.listen}:{plan.tls_port}, plain 127.0.0.1:{plan.plain_port})")
    ctx.say(f"credentials: {len(ids)} devices, passwords in {layout.secrets}/ (0600)")
    ctx.say(f"bundles: {layout.bundles}/<device>/ — copy each to its device's boot partition")


def cmd_add(ctx: Context, args) -> None:
    ctx.layout.require_initialised()
    entries = _entries(ctx, args.devices, args.device)
    have = set(ctx.layout.provisioned())
    for d in args.device:
        if d in have:
            raise ProvisionError(f"{d} is already provisioned: use `replace` for a new password")
    for d in args.device:
        new_password(ctx.layout, d)
    update_passwd(ctx.layout, set_=args.device)
    write_acl(ctx.layout, ctx.site)
    for d, entry in entries.items():
        if entry.role is not Role.SERVICE:
            ctx.say(f"{d}: added; bundle {write_bundle(ctx.layout, ctx.site_path, ctx.site, entry, args.devices)}")
        else:
            ctx.say(f"{d}: added; password in {ctx.layout.secret(d)}")
    _reload_hint(ctx, ctx.layout.plan())


def cmd_replace(ctx: Context, args) -> None:
    ctx.layout.require_initialised()
    have = set(ctx.layout.provisioned())
    for d in args.device:
        if d not in have:
            raise ProvisionError(f"{d} is not provisioned: use `add`")
    service = _service_id(ctx.site)
    appliances = [d for d in args.device if d != service]
    entries = _entries(ctx, args.devices, appliances) if appliances else {}
    for d in args.device:
        new_password(ctx.layout, d)
    update_passwd(ctx.layout, set_=args.device)
    write_acl(ctx.layout, ctx.site)
    for d in args.device:
        if d in entries and entries[d].role is not Role.SERVICE:
            folder = write_bundle(ctx.layout, ctx.site_path, ctx.site, entries[d], args.devices)
            ctx.say(f"{d}: new password; new bundle {folder} (the old password no longer works)")
        else:
            ctx.say(f"{d}: new password in {ctx.layout.secret(d)} (restart the queue service with it)")
    _reload_hint(ctx, ctx.layout.plan())


def cmd_retire(ctx: Context, args) -> None:
    ctx.layout.require_initialised()
    have = set(ctx.layout.provisioned()) | set(read_passwd(ctx.layout.passwd))
    for d in args.device:
        if d not in have and not ctx.layout.bundle(d).exists():
            raise ProvisionError(f"{d} is not provisioned")
        if d == _service_id(ctx.site):
            raise ProvisionError(f"{d} is the queue service: it cannot be retired (use `replace` for a new password)")
    for d in args.device:
        ctx.layout.secret(d).unlink(missing_ok=True)
        shutil.rmtree(ctx.layout.bundle(d), ignore_errors=True)
    update_passwd(ctx.layout, remove=args.device)
    write_acl(ctx.layout, ctx.site)
    for d in args.device:
        ctx.say(f"{d}: retired (credential, ACL entry and bundle removed)")
    _reload_hint(ctx, ctx.layout.plan())


def cmd_bundle(ctx: Context, args) -> None:
    ctx.layout.require_initialised()
    have = set(ctx.layout.provisioned())
    ids = args.device or [d for d in have if d != _service_id(ctx.site)]
    for d in ids:
        if d not in have:
            raise ProvisionError(f"{d} is not provisioned: use `add`")
    entries = _entries(ctx, args.devices, sorted(ids))
    if args.city_bridge is not None and take_site_bridge(ctx.layout, ctx.site, args.city_bridge):
        write_acl(ctx.layout, ctx.site)
        write_conf(ctx.layout, ctx.layout.plan())
        ctx.say(f"city bridge: {site_bridge_dir(ctx.layout)}; run server-bundle and install it on the server")
    for d, entry in entries.items():
        if entry.role is not Role.SERVICE:
            ctx.say(f"{d}: bundle {write_bundle(ctx.layout, ctx.site_path, ctx.site, entry, args.devices)}")


def cmd_renew(ctx: Context, args) -> None:
    layout = ctx.layout
    layout.require_initialised()
    plan = layout.plan()
    if args.broker_host or args.broker_name:
        hosts = list(dict.fromkeys([*(args.broker_host or plan.hosts[:1]), *args.broker_name]))
        plan = plan.model_copy(update={"hosts": tuple(hosts)})
    days = args.cert_days or plan.cert_days
    before = layout.plan().device_host
    write_file(layout.plan_file, plan.toml().encode(), 0o644)
    info = write_server_cert(layout, plan, days)
    ctx.say(
        f"broker certificate: {layout.server_crt} for {', '.join(info.hosts)} (valid until {_date(info.not_after)})"
    )
    if plan.install_dir.resolve() == layout.broker.resolve():
        ctx.say("restart the broker to use it: systemctl restart mosquitto")
    else:
        ctx.say(
            f"copy {layout.server_crt} and {layout.server_key} to {plan.install_dir}/, "
            "then: systemctl restart mosquitto"
        )
    if plan.device_host != before:
        ctx.say(f"devices now connect to {plan.device_host}: run `bundle` and copy the bundles again")


#: Where the server image keeps its configuration (a link to the data partition, see docs/images.md).
SERVER_ETC = Path("/etc/madoguchi")
SERVER_STATE = Path("/var/lib/madoguchi/state")


def cmd_server_bundle(ctx: Context, args) -> None:
    """``bundles/<queue service>/`` for the server image: the broker's files with paths for the image, the site
    file, the queue service's credential and ``server.env`` (what the image's broker and service units read).
    Run it again after add / replace / retire / renew-broker-cert and copy it to the server's boot partition."""
    layout = ctx.layout
    layout.require_initialised()
    service = _service_id(ctx.site)
    if service is None:
        raise ProvisionError("the site file has no device of role 'service'")
    plan = layout.plan()
    folder = private_dir(layout.bundle(service))
    broker = private_dir(folder / "broker")
    on_server = SERVER_ETC / "broker"
    conf = on_server / "mosquitto.conf"
    files = BrokerFiles(
        conf=conf,
        passwd=on_server / "passwd",
        acl=on_server / "acl",
        data=SERVER_STATE / "broker",
    )
    bridge = site_bridge_settings(layout, on_server / "bridge")
    settings = broker_settings(plan.model_copy(update={"install_dir": on_server, "run_as_root": False}), bridge)
    write_file(broker / "mosquitto.conf", generated(conf_text(files, settings)).encode(), 0o644)
    if site_bridge_dir(layout).is_dir():  # the office's bridge to the city broker: its certificate, key, city CA
        bridge_dir = private_dir(broker / "bridge")
        for src in sorted(site_bridge_dir(layout).iterdir()):
            write_file(bridge_dir / src.name, src.read_bytes(), 0o600 if src.suffix == ".key" else 0o644)
    for src, mode in ((layout.passwd, 0o644), (layout.acl, 0o644), (layout.ca_crt, 0o644), (layout.server_crt, 0o644)):
        write_file(broker / src.name, src.read_bytes(), mode)  # passwd holds salted hashes, read by mosquitto
    write_file(broker / "server.key", layout.server_key.read_bytes(), 0o600)
    write_file(folder / "site.toml", ctx.site_path.read_bytes(), 0o644)
    write_file(folder / f"{service}.password", layout.secret(service).read_bytes(), 0o600)
    doctor = (  # `madoguchi doctor --config /etc/madoguchi/device.toml` on the server: the service's own checks
        f"# the queue service at {ctx.site.site.id}, for madoguchi doctor on the server (generated)\n"
        f'device = "{service}"\nrole = "service"\nsite = "site.toml"\n\n[broker]\nhost = "127.0.0.1"\n'
        f'port = {plan.plain_port}\npassword_file = "{service}.password"\n'
    )
    write_file(folder / "device.toml", doctor.encode(), 0o644)
    service_args = f"--password-file {SERVER_ETC}/{service}.password --broker 127.0.0.1:{plan.plain_port}"
    env = f'MADOGUCHI_SERVICE_ARGS="{service_args}"\nMADOGUCHI_BROKER_CONF={conf}\n'
    write_file(folder / "server.env", env.encode(), 0o644)
    ctx.say(f"{service}: server bundle {folder} — copy it to the server's boot partition as madoguchi/")


def cmd_list(ctx: Context, args) -> None:
    layout = ctx.layout
    layout.require_initialised()
    now = dt.datetime.now(dt.UTC)
    ca = pki.cert_info(pki.load_cert(layout.ca_crt))
    ctx.say(f"site {ctx.site.site.id}: {layout.root}")
    ctx.say(f"CA: valid until {_date(ca.not_after)}{' (EXPIRED)' if ca.expired(now) else ''}; sha256 {ca.fingerprint}")
    server_cert = pki.load_cert(layout.server_crt)
    srv = pki.cert_info(server_cert)
    own = pki.signed_by(server_cert, pki.load_cert(layout.ca_crt))
    ctx.say(
        f"broker certificate: {', '.join(srv.hosts)}; valid until {_date(srv.not_after)}"
        f"{' (EXPIRED)' if srv.expired(now) else ''}{'' if own else ' (NOT signed by this CA)'}"
    )
    passwd = read_passwd(layout.passwd)
    listed = load_devices(args.devices, ctx.site).by_id if args.devices else {}
    provisioned = layout.provisioned()
    ctx.say(f"{'device':<20} {'role':<9} {'password':<9} {'passwd':<7} bundle")
    for d in sorted(set(provisioned) | set(listed) | set(passwd)):
        known = ctx.site.device_by_id.get(d)
        role = known.role.value if known else "?"
        has_secret = "yes" if d in provisioned else "-"
        in_passwd = "yes" if d in passwd else "-"
        bundle = "yes" if layout.bundle(d).exists() else "-"
        note = "" if known else "  (not in the site file)"
        if d in listed and d not in provisioned:
            note = "  (listed, not provisioned: run `add`)"
        ctx.say(f"{d:<20} {role:<9} {has_secret:<9} {in_passwd:<7} {bundle}{note}")


def _date(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")
