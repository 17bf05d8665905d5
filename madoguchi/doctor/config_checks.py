"""The appliance's files: device file and site file, the broker password, the site CA."""

from __future__ import annotations

import stat
from datetime import datetime

from madoguchi.doctor.core import CheckResult, Context, Skip, check, fail, ok, warn

ROLE_NAMES = {
    "ticket": "ticket kiosk",
    "panel": "call panel",
    "board": "call board",
    "forms": "form issuer",
    "register": "self register",
    "service": "queue service",
}
#: Warn this many days before the CA (or the broker's certificate) runs out.
EXPIRY_WARN_DAYS = 30


@check("device file")
def check_device_file(ctx: Context) -> CheckResult:
    from kiosk.config import ConfigError, load_site
    from kiosk.config.device import load_device

    what = "device file"
    path = ctx.config_path
    if not path.exists():
        return fail(what, f"{path} does not exist", "give the right path with --config, or copy the device file there")
    try:
        device = load_device(path)
    except ConfigError as exc:
        more = f" (and {len(exc.problems) - 1} more problem(s))" if len(exc.problems) > 1 else ""
        return fail(what, f"{exc.problems[0]}{more}", f"correct {path} (the line number is shown)")
    try:
        site = load_site(device.site)
    except ConfigError as exc:
        more = f" (and {len(exc.problems) - 1} more problem(s))" if len(exc.problems) > 1 else ""
        return fail(
            what,
            f"the site file is not valid: {exc.problems[0]}{more}",
            f"copy the site file again from the server, or run `madoguchi check-site {device.site}`",
        )
    entry = site.device_by_id.get(device.device)
    if entry is None:
        return fail(
            what,
            f"device {device.device!r} is not listed in the site file {device.site}",
            "add it to [[devices]] of the site file on the server (with its role), or fix `device` in the device file",
        )
    hint = ctx.role_hint or (device.role.value if device.role else None)
    if hint and hint != entry.role:
        return fail(
            what,
            f"this appliance runs as {ROLE_NAMES.get(hint, hint)}, but the site file says "
            f"{device.device} is a {ROLE_NAMES[entry.role]}",
            "fix the role of this device in the site file, or use the device file meant for this appliance",
        )
    ctx.device, ctx.site, ctx.role = device, site, entry.role
    return ok(what, f"{path}: {device.device}, {ROLE_NAMES[entry.role]} of site {site.site.id}")


@check("password file")
def check_password_file(ctx: Context) -> CheckResult:
    device = ctx.require_device()
    what = "password file"
    path = device.broker.password_file
    bundle = f"copy {path.name} for {device.device} from the provisioning bundle to {path}"
    try:
        info = path.stat()
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return fail(what, f"{path} does not exist", bundle)
    except PermissionError:
        return fail(what, f"{path} cannot be read by this user", f"run the doctor as the kiosk user, or {bundle}")
    except (OSError, UnicodeDecodeError) as exc:
        return fail(what, f"{path} cannot be read: {exc}", bundle)
    if not text:
        return fail(what, f"{path} is empty", bundle)
    ctx.password = text
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        return warn(
            what,
            f"{path} can be read by other users (mode {mode:04o}, should be 0600)",
            f"chmod 600 {path}",
        )
    return ok(what, f"{path} readable, mode 0600")


@check("CA certificate")
def check_ca_file(ctx: Context) -> CheckResult | None:
    from cryptography import x509

    device = ctx.require_device()
    what = "CA certificate"
    path = device.broker.cafile
    if path is None:
        return None  # the TLS check says what it means
    fix = f"copy ca.crt of the site from the provisioning bundle to {path}"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return fail(what, f"{path} does not exist", fix)
    except OSError as exc:
        return fail(what, f"{path} cannot be read: {exc.strerror or exc}", fix)
    try:
        cert = x509.load_pem_x509_certificate(data)
    except ValueError:
        return fail(what, f"{path} is not a PEM certificate", fix)
    subject = cert.subject.rfc4514_string() or "(no name)"
    now = ctx.now()
    return _validity(what, f"{path} ({subject})", cert.not_valid_before_utc, cert.not_valid_after_utc, now, ca=True)


def _validity(what: str, name: str, not_before: datetime, not_after: datetime, now: datetime, ca: bool) -> CheckResult:
    renew = (
        "a new site CA must be made and every appliance re-provisioned (madoguchi provision): call the support desk"
        if ca
        else "renew the broker's certificate on the server (madoguchi provision) and restart the broker"
    )
    if now < not_before:
        return fail(
            what,
            f"{name} is not valid before {not_before:%Y-%m-%d %H:%M} UTC, and this appliance's clock says "
            f"{now:%Y-%m-%d %H:%M}",
            "the clock is probably wrong: see the clock line below",
        )
    if now >= not_after:
        return fail(what, f"{name} expired on {not_after:%Y-%m-%d}", renew)
    days = (not_after - now).days
    if days < EXPIRY_WARN_DAYS:
        return warn(what, f"{name} expires in {days} day(s), on {not_after:%Y-%m-%d}", renew)
    return ok(what, f"{name} valid until {not_after:%Y-%m-%d} ({days} days left)")


def require_broker(ctx: Context) -> None:
    ctx.require_device()
    if not ctx.broker_tcp:
        raise Skip("not checked: the broker cannot be reached")


__all__ = ["ROLE_NAMES", "check_ca_file", "check_device_file", "check_password_file", "require_broker"]
