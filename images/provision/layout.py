"""Where a site's provisioning output lives (``OUT/<site>/``), the broker plan, how files and secrets are written."""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from secrets import token_urlsafe

from pydantic import BaseModel, ConfigDict, Field

from images.provision.common import GENERATED, ProvisionError
from kiosk.config import Site, load_toml_model
from kiosk.config.loading import toml_value as _toml


# ---------------------------------------------------------------- where things are
class BrokerPlan(BaseModel):
    """What ``init`` was told about the broker (``broker/provision.toml``; not a secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the certificate's subject alternative names; devices connect to the first one
    hosts: tuple[str, ...] = Field(min_length=1)
    #: the LAN address the TLS listener binds
    listen: str
    tls_port: int = Field(default=8883, ge=1, le=65535)
    plain_port: int = Field(default=1883, ge=1, le=65535)
    #: where the broker/ folder's files live on the server (the paths in mosquitto.conf)
    install_dir: Path
    cert_days: int = Field(default=825, ge=1)
    run_as_root: bool = False

    @property
    def device_host(self) -> str:
        return self.hosts[0]

    def toml(self) -> str:
        lines = [GENERATED.rstrip("\n")]
        for key, value in self.model_dump(mode="json").items():
            lines.append(f"{key} = {_toml(value)}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def of(cls, out: Path, site: Site) -> Layout:
        return cls(out / site.site.id)

    ca_dir = property(lambda self: self.root / "ca")
    ca_key = property(lambda self: self.ca_dir / "ca.key")
    ca_crt = property(lambda self: self.ca_dir / "ca.crt")
    broker = property(lambda self: self.root / "broker")
    server_key = property(lambda self: self.broker / "server.key")
    server_crt = property(lambda self: self.broker / "server.crt")
    broker_ca = property(lambda self: self.broker / "ca.crt")
    conf = property(lambda self: self.broker / "mosquitto.conf")
    passwd = property(lambda self: self.broker / "passwd")
    acl = property(lambda self: self.broker / "acl")
    plan_file = property(lambda self: self.broker / "provision.toml")
    secrets = property(lambda self: self.root / "secrets")
    bundles = property(lambda self: self.root / "bundles")

    def secret(self, device: str) -> Path:
        return self.secrets / f"{device}.password"

    def bundle(self, device: str) -> Path:
        return self.bundles / device

    def provisioned(self) -> list[str]:
        """The devices that have a credential (a password file under secrets/)."""
        if not self.secrets.is_dir():
            return []
        return sorted(p.name.removesuffix(".password") for p in self.secrets.glob("*.password"))

    def plan(self) -> BrokerPlan:
        return load_toml_model(BrokerPlan, self.plan_file)

    def require_initialised(self) -> None:
        if not self.ca_key.exists() or not self.plan_file.exists():
            raise ProvisionError(f"{self.root} is not initialised: run `madoguchi provision init` first")


# ---------------------------------------------------------------- files
def write_file(path: Path, data: bytes, mode: int) -> bool:
    """Write ``data`` unless the file already holds it; returns whether it wrote.

    A new file gets ``mode``; an existing one keeps its mode and owner. The bytes go to a temporary
    file created 0600 and are then moved into place, so a secret is never readable by others, not
    even for a moment, and a reader never sees half a file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    old = path.stat() if path.exists() else None
    if old is not None:
        if path.read_bytes() == data:
            return False
        mode = stat.S_IMODE(old.st_mode)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            os.fchmod(f.fileno(), mode)
            if old is not None and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                with contextlib.suppress(PermissionError):
                    os.fchown(f.fileno(), old.st_uid, old.st_gid)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return True


def private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def read_password(layout: Layout, device: str) -> str:
    return layout.secret(device).read_text(encoding="utf-8").strip()


def new_password(layout: Layout, device: str) -> None:
    write_file(layout.secret(device), (token_urlsafe(24) + "\n").encode(), 0o600)
