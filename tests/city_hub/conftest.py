"""Fixtures of the city hub's tests: a real PostgreSQL (Debian's packages) and SQLite, a small city.

The PostgreSQL server is a private cluster in a temporary folder on a free loopback port, started once per test
session with ``initdb`` + ``pg_ctl`` from ``/usr/lib/postgresql/*/bin`` (``apt-get install -y postgresql``).
PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user and runs under
``runuser``. Each test gets a fresh, empty database on it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kiosk.config import load_site
from kiosk.config.city import City, CityBroker, CityInfo, CitySite
from kiosk.config.site import Names, Site
from madoguchi.local import free_port
from tests.conftest import EXAMPLE_SITE


@dataclass
class PostgresServer:
    port: int
    data: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"hub_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries missing: apt-get install -y postgresql (scripts/install)")
    prefix: list[str] = []
    owner = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server as")
        prefix = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="hub-pg-"))
    data = root / "data"
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    port = free_port()
    log = root / "server.log"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, cwd=root, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    try:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
    except subprocess.CalledProcessError as exc:
        text = log.read_text(errors="replace") if log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr!r}\n{text}") from exc
    try:
        yield PostgresServer(port, data)
    finally:
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty database, once SQLite and once PostgreSQL: every store test runs against both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hub.sqlite'}"
    return request.getfixturevalue("postgres").create_database()


# ---------------------------------------------------------------- a small city of three offices
CITY_SITES = ("nerima", "hikarigaoka", "oizumi")


def office(site: Site, site_id: str, ja: str, en: str, drop_procedures: tuple[str, ...] = ()) -> Site:
    """The example site under another id and name (and without some procedures): one office of the city."""
    info = site.site.model_copy(update={"id": site_id, "names": Names(ja=ja, en=en)})
    procedures = tuple(p for p in site.procedures if p.id not in drop_procedures)
    return site.model_copy(update={"site": info, "procedures": procedures})


@pytest.fixture(scope="session")
def example_site() -> Site:
    return load_site(EXAMPLE_SITE)


@pytest.fixture
def city(example_site) -> tuple[City, dict[str, Site]]:
    sites = {
        "nerima": office(example_site, "nerima", "練馬区役所", "Nerima City Office"),
        "hikarigaoka": office(example_site, "hikarigaoka", "光が丘区民事務所", "Hikarigaoka Branch"),
        # a branch without the family register: it does not offer koseki_shomei
        "oizumi": office(example_site, "oizumi", "大泉区民事務所", "Oizumi Branch", ("koseki_shomei",)),
    }
    city = City(
        city=CityInfo(id="nerima-city", names=Names(ja="練馬区", en="Nerima City")),
        broker=CityBroker(host="127.0.0.1"),
        sites=tuple(
            CitySite(id=s, site_file=EXAMPLE_SITE, lat=35.7 + i / 100, lon=139.6) for i, s in enumerate(CITY_SITES)
        ),
    )
    return city, sites
