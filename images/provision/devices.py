"""The device list (``devices.toml``): one entry per appliance, its role and hardware keys, checked against the site."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from images.provision.common import ROLE_KEYS
from kiosk.bus.contract import Role
from kiosk.config import ConfigError, Site, load_toml_model
from kiosk.config.device import DeviceConfig, ScreenSettings
from kiosk.config.site import Id


# ---------------------------------------------------------------- the device list
class DeviceEntry(BaseModel):
    """One ``[[device]]`` of ``devices.toml``: who it is and its hardware (the keys of its role only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Id
    role: Role
    #: call panels: the counter it starts on
    counter: Id | None = None
    #: call boards
    floors: tuple[int, ...] = ()
    chime: bool | None = None
    floor: int | None = None
    directions: dict[Id, str] | None = None
    flash_seconds: float | None = None
    #: ticket kiosks and registers: the ticket/receipt printer URI
    printer: str | None = None
    status_url: str | None = None
    concierge_pin: str | None = None
    #: form issuers
    form_printer: str | None = None
    card_reader: str | None = None
    #: the site's pre-entry key file (relative to devices.toml); copied into the bundle, 0600
    preentry_key: Path | None = None
    #: call boards: the phrase cache folder built by ``madoguchi voice build`` (relative to devices.toml); copied
    #: into the bundle as ``voice/``. ``audio``: the ALSA device aplay plays on.
    voice: Path | None = None
    audio: str | None = None
    #: self registers
    cash_changer: str | None = None
    cashless_terminal: str | None = None
    scanner: str | None = None
    payments_journal: Path | None = None
    screen: ScreenSettings | None = None

    @model_validator(mode="after")
    def _keys_of_its_role(self) -> DeviceEntry:
        extra = sorted(self.model_fields_set - {"id", "role"} - ROLE_KEYS[self.role])
        if extra:
            raise ValueError(f"a {self.role.value} device has no {', '.join(extra)}")
        return self

    def hardware(self) -> dict[str, object]:
        """The device-file keys this entry sets (in the order of the model)."""
        out: dict[str, object] = {}
        for name in type(self).model_fields:
            if name in ("id", "role", "preentry_key", "voice") or name not in self.model_fields_set:
                continue
            value = getattr(self, name)
            if value is None:
                continue
            out[name] = value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value
        return out


class DeviceList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    device: tuple[DeviceEntry, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> DeviceList:
        seen: set[str] = set()
        for i, d in enumerate(self.device):
            if d.id in seen:
                raise ValueError(f"device[{i}]: duplicate id {d.id!r}")
            seen.add(d.id)
        return self

    @property
    def by_id(self) -> dict[str, DeviceEntry]:
        return {d.id: d for d in self.device}


def load_devices(path: Path, site: Site) -> DeviceList:
    """Read ``devices.toml`` strictly and check it against the site's ``[[devices]]``."""
    devices = load_toml_model(DeviceList, path)
    problems = []
    floors = {c.floor for c in site.counters}
    for i, d in enumerate(devices.device):
        where = f"{path}: device[{i}] ({d.id})"
        known = site.device_by_id.get(d.id)
        if known is None:
            problems.append(f"{where}: not in the site file's [[devices]] (add it there first)")
            continue
        if known.role != d.role:
            problems.append(f"{where}: role {d.role.value!r}, but the site file says {known.role.value!r}")
        if d.counter is not None:
            if d.counter not in site.counter_by_id:
                problems.append(f"{where}: unknown counter {d.counter!r}")
            elif known.counters and d.counter not in known.counters:
                problems.append(f"{where}: counter {d.counter!r} is not one of its counters {list(known.counters)}")
        for f in d.floors:
            if f not in floors:
                problems.append(f"{where}: no counter on floor {f}")
        for key in d.directions or {}:
            if key not in site.counter_by_id and key not in site.group_by_id:
                problems.append(f"{where}: directions: {key!r} is neither a counter nor a group")
        if d.preentry_key is not None and not (path.parent / d.preentry_key).is_file():
            problems.append(f"{where}: preentry_key {d.preentry_key} is not a file")
        if d.voice is not None and not (path.parent / d.voice / "manifest.json").is_file():
            problems.append(f"{where}: voice {d.voice} is not a phrase cache (no manifest.json: madoguchi voice build)")
        if d.role is not Role.SERVICE:
            try:  # what the bundle's device file will say must be a valid device file
                DeviceConfig.model_validate(
                    {"device": d.id, "site": "site.toml", "broker": {"password_file": "x"}, **d.hardware()}
                )
            except ValidationError as exc:
                for err in exc.errors():
                    loc = ".".join(str(p) for p in err["loc"])
                    problems.append(f"{where}: {loc}: {err['msg']}")
    if problems:
        raise ConfigError(path, problems)
    return devices
