"""A city file (``city.toml``): the offices of one city, its broker and its hub.

Each office keeps its own site file and runs on its own (one broker, one queue service); the city file says
which offices make up the city, where the city broker is (each site's Mosquitto bridges out to it over TLS)
and where the city hub keeps the daily summaries. ``madoguchi provision city`` and ``madoguchi city`` read it.
Unknown keys are errors, like everywhere else; relative paths are relative to the file's own folder.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from kiosk.config.loading import ConfigError, load_toml_model
from kiosk.config.site import Id, KpiTargets, Names, Site, Strict, load_site


class CityInfo(Strict):
    id: Id
    names: Names
    timezone: str = "Asia/Tokyo"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)
        return value


class CityBroker(Strict):
    """The city broker every site bridges to (TLS; each site authenticates with its own client certificate)."""

    host: str
    port: int = Field(default=8883, ge=1, le=65535)


class HubSettings(Strict):
    #: SQLAlchemy URL of the hub's database: ``postgresql+psycopg://user@host/db`` for a city,
    #: ``sqlite:///hub.sqlite`` (relative to the city file) when run small.
    database: str = "sqlite:///hub.sqlite"


class CitySite(Strict):
    """One office: its site file (its id must be the site file's ``[site] id``) and where it is on the map."""

    id: Id
    site_file: Path
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class City(Strict):
    city: CityInfo
    broker: CityBroker
    hub: HubSettings = HubSettings()
    sites: tuple[CitySite, ...] = Field(min_length=1)
    #: the targets the city KPI pages compare every office with
    kpi: KpiTargets = KpiTargets()

    @model_validator(mode="after")
    def _unique(self) -> City:
        ids = [s.id for s in self.sites]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"sites listed twice: {', '.join(dupes)}")
        return self

    @property
    def site_by_id(self) -> dict[str, CitySite]:
        return {s.id: s for s in self.sites}


def load_city(path: str | Path) -> tuple[City, dict[str, Site]]:
    """Read and validate a city file and every site file it lists (paths resolved against the city file).

    Returns the city (site file paths made absolute) and each office's site by id. A site file whose
    ``[site] id`` is not the id the city file gives it is an error naming both."""
    path = Path(path)
    city = load_toml_model(City, path)
    base = path.resolve().parent
    sites: dict[str, Site] = {}
    resolved = []
    problems = []
    for entry in city.sites:
        site_path = entry.site_file if entry.site_file.is_absolute() else base / entry.site_file
        resolved.append(entry.model_copy(update={"site_file": site_path}))
        site = load_site(site_path)
        if site.site.id != entry.id:
            problems.append(f"{path}: sites[{entry.id}]: {site_path} is the site {site.site.id!r}")
        sites[entry.id] = site
    if problems:
        raise ConfigError(path, problems)
    return city.model_copy(update={"sites": tuple(resolved)}), sites
