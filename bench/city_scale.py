"""A city on paper and in a simulation: what crosses each site's bridge, the hub's database and memory
(``python -m bench.city_scale``).

**Over one bridge.** A busy office day is simulated (:mod:`devkit.office_simulation`, the real queue core on
the simulation's clock) and its journal is then replayed, command by command at the times they were decided,
through a REAL :class:`~queue_service.service.core.QueueCore` whose retained-state publishing is on: after each
command (a batch of one: at an office's rate commands come seconds apart) and on each tick of the worker (the
service ticks when no command came for ``tick_seconds``, 15 s by default: ``QueueService._work``), whatever
``QueueCore.state_messages`` hands out is counted when it matches one of ``Topics.bridged_out(...)``, the only
patterns a site's bridge carries to the city broker. The day summary (``{root}/city/day/{date}``, at most once
a minute while the day changes, once more when it is over) is counted at the size of the office's real end-of-day
summary. Bytes are counted as MQTT PUBLISH packets (QoS 1, MQTT 3.1.1 as the generated bridge speaks: fixed
header, topic, packet id, payload) plus the PUBACK back; TLS 1.3 adds 22 bytes to each record and TCP/IP 52 per segment
(printed separately: those are arithmetic, not measured).

**At the city broker**: the offices' minute series added up (office ``i`` takes the simulated office day
``i mod --samples``: the morning peaks of copies coincide, so the city's peak minute is an upper bound).

**The hub's database**: a year (245 office days) of SiteDaySummary rows for 17 and 50 offices written through
the hub's own Store into SQLite and into a real PostgreSQL (``--postgres``: started from Debian's binaries in a
temporary folder, as tests/city_hub/conftest.py does), table + index sizes read back from the database.

**The hub's memory**: the resident set of a process holding the city view of 50 offices while it ingests at the
measured rate.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import glob
import json
import os
import pwd
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import paho.mqtt.client as mqtt

from devkit.office_simulation import Mode, OfficeDayConfig, mode_site, simulate_day
from kiosk.bus.contract import Topics, Verb
from kiosk.bus.schemas import VERB_ARGS, SiteDaySummary, dump
from kiosk.config import load_site
from kiosk.config.site import Site
from madoguchi.local import ROOT, free_port, stop_process, wait_for_port
from queue_service.city_summary import day_summary as city_day_summary
from queue_service.engine import Context, QueueEngine, ServiceTimes
from queue_service.history import read_day
from queue_service.service.core import Outbound, QueueCore
from queue_service.service.journal import Journal

SITE = ROOT / "sites" / "example" / "site.toml"
START = date(2026, 11, 2)  # a Monday
OFFICE_DAYS_PER_YEAR = 245
#: TLS 1.3 (AES-GCM) adds a 5-byte header, a content-type byte and a 16-byte tag to every record; Mosquitto
#: writes each MQTT packet as its own record. TCP + IPv4 headers with timestamps: 52 bytes per segment.
TLS_RECORD, TCP_IP = 22, 52
PUBACK = 4
PROPAGATION = ROOT / "build" / "test-artifacts" / "city" / "17-sites.json"


@dataclass(frozen=True)
class Scenario:
    """A city: how many offices, how busy each office's day is."""

    label: str
    offices: int
    #: mean visits per office day (over Monday..Friday with the simulation's weekday factors)
    visits_per_day: float
    #: each section counter of the example site this many times (a busier office has more counters)
    counters_factor: int = 1


SCENARIOS = (
    Scenario("Nerima-sized: 17 offices, the example office's day (≈330 visits)", 17, 330.0),
    Scenario("large city: 50 offices, 30,000 visits a day (600 per office)", 50, 600.0, counters_factor=2),
)


def mqtt_publish_bytes(topic: str, payload: bytes) -> int:
    """The size of one PUBLISH packet at QoS 1 as the bridge sends it (``bridge_protocol_version mqttv311``:
    no property block)."""
    body = 2 + len(topic.encode()) + 2 + len(payload)
    length = 1
    while body >= 128**length:
        length += 1
    return 1 + length + body


@dataclass
class Traffic:
    """What one office day sends over its bridge, per minute of the day (minute 0 = midnight)."""

    site: str
    day: date
    visits: int
    commands: int
    #: minute → [messages, payload bytes, MQTT bytes (PUBLISH + PUBACK)]
    minutes: dict[int, list[int]] = field(default_factory=dict)
    #: messages by why they were sent
    kinds: Counter[str] = field(default_factory=Counter)
    #: the retained state published once when the bridge (re)connects: messages, MQTT bytes
    connect: tuple[int, int] = (0, 0)
    summary_bytes: int = 0
    #: the end-of-day summary (final), a template for a year of rows in the hub's database
    final: SiteDaySummary | None = None
    #: every message of the day: (seconds since midnight, topic, payload), for the hub's memory run
    log: list[tuple[float, str, bytes]] = field(default_factory=list, repr=False)

    def add(self, at: datetime, kind: str, topic: str, payload: bytes) -> None:
        slot = self.minutes.setdefault(at.hour * 60 + at.minute, [0, 0, 0])
        slot[0] += 1
        slot[1] += len(payload)
        slot[2] += mqtt_publish_bytes(topic, payload) + PUBACK
        self.kinds[kind] += 1
        self.log.append((at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6, topic, payload))

    @property
    def messages(self) -> int:
        return sum(m[0] for m in self.minutes.values())

    @property
    def mqtt_bytes(self) -> int:
        return sum(m[2] for m in self.minutes.values())


def busy_site(site: Site, factor: int) -> Site:
    """The example site with every section counter ``factor`` times (copies ``<id>x2``, ``<id>x3``, ...): an
    office with twice the visits has about twice the counters; the copies serve the same groups."""
    if factor <= 1:
        return site
    data = site.model_dump(by_alias=True)
    copies = []
    for c in data["counters"]:
        if c["group"] == site.booth_group:
            continue
        for k in range(2, factor + 1):
            names = {lang: f"{name} ({k})" for lang, name in c["names"].items()}
            copies.append(c | {"id": f"{c['id']}x{k}", "names": names})
    data["counters"] = list(data["counters"]) + copies
    return Site.model_validate(data)


def _bridged(topics: Topics, service: str) -> tuple[str, ...]:
    return topics.bridged_out(service)


def replay_traffic(
    site: Site,
    journal: Journal,
    day: date,
    config: OfficeDayConfig,
    *,
    tick_seconds: float = 15.0,
    summary_every: float = 60.0,
    scratch: Path,
) -> Traffic:
    """Replay ``day`` of ``journal`` through a publishing core and count what its bridge would carry."""
    topics = Topics(site.site.id)
    service = site.service_device.id if site.service_device else "queue-service"
    patterns = _bridged(topics, service)
    start = datetime.combine(day, config.opens, tzinfo=site.zone) - timedelta(minutes=30)
    now = [start]
    core = QueueCore(site, Journal(scratch / f"replay-{site.site.id}-{day}.sqlite", durable=False), lambda: now[0])
    times = ServiceTimes({p.id: p.minutes for p in site.procedures}, site.queue.service_time_window)
    for procedure, minutes in journal.samples_before(day.isoformat(), site.queue.service_time_window):
        times.observe(procedure, minutes)
    core.engine = QueueEngine(site, start, times)
    entries = [e for e in journal.day_entries(day.isoformat()) if e.ok]
    traffic = Traffic(site.site.id, day, 0, len(entries))

    def count(out: list[Outbound], kind: str) -> None:
        for m in out:
            if any(mqtt.topic_matches_sub(p, m.topic) for p in patterns):
                traffic.add(now[0], kind, m.topic, m.payload)

    first = [m for m in core.state_messages(force=True) if any(mqtt.topic_matches_sub(p, m.topic) for p in patterns)]
    presence = (topics.status(service), b'{"online":true,"role":"service","version":"1","faults":[]}')
    traffic.connect = (
        len(first) + 1,
        sum(mqtt_publish_bytes(m.topic, m.payload) + PUBACK for m in first) + mqtt_publish_bytes(*presence) + PUBACK,
    )
    tick = timedelta(seconds=tick_seconds)
    every = timedelta(seconds=summary_every)
    groups = {c.id: c.group for c in site.counters}
    date_s = day.isoformat()
    summary_topic = topics.city_day(date_s)
    applied: list[Any] = []
    published_count = 0
    next_summary = start + every

    def summaries_until(moment: datetime) -> None:
        """The city publisher's passes up to ``moment``: every ``summary_every`` s, a summary when the journal
        grew since the last one (``queue_service.service.city.CityPublisher.step``), built by the real builder."""
        nonlocal next_summary, published_count
        while next_summary <= moment:
            if len(applied) != published_count:
                built = city_day_summary(site, read_day(applied, groups), date_s, False, next_summary)
                payload = dump(built)
                traffic.add(next_summary, "day summary", summary_topic, payload)
                traffic.summary_bytes = max(traffic.summary_bytes, len(payload))
                published_count = len(applied)
            next_summary += every

    def tick_until(moment: datetime) -> None:
        t = last + tick
        while t < moment:  # the worker waited tick_seconds and no command came: a tick
            summaries_until(t)
            now[0] = t
            count(core.tick(), "group state on a tick")
            t += tick
        summaries_until(moment)

    last = start
    for entry in entries:
        at = datetime.fromisoformat(entry.at)
        tick_until(at)
        now[0] = at
        args = VERB_ARGS[Verb(entry.verb)].model_validate_json(entry.args)
        core.engine.apply(entry.verb, args, Context(now=at, device=entry.device, token=entry.token))
        applied.append(entry)
        if entry.verb == "issue":
            traffic.visits += 1
        count(core.state_messages(), "group state after a command")
        last = at
    end = max(last, datetime.combine(day, config.closes, tzinfo=site.zone)) + timedelta(minutes=30)
    tick_until(end)
    traffic.final = city_day_summary(site, read_day(applied, groups), date_s, True, end)
    traffic.add(end, "day summary", summary_topic, dump(traffic.final))
    core.journal.close()
    return traffic


def simulate_offices(
    scenario: Scenario, samples: int, seed: int, tick_seconds: float, mode: Mode, folder: Path
) -> list[Traffic]:
    """``samples`` office days of the scenario (weekdays from START, one journal, so service times are learned),
    each replayed for its bridge traffic."""
    base = load_site(SITE)
    weekdays = OfficeDayConfig().weekday_factor[:5]
    config = OfficeDayConfig(visitors_per_day=scenario.visits_per_day / statistics.fmean(weekdays))
    site = mode_site(busy_site(base, scenario.counters_factor), config, mode)
    journal = Journal(folder / f"{scenario.offices}-journal.sqlite", durable=False)
    out = []
    try:
        day = START
        while len(out) < samples:
            if config.weekday_factor[day.weekday()] > 0:
                simulate_day(site, journal, day, config, mode, seed)
                out.append(replay_traffic(site, journal, day, config, tick_seconds=tick_seconds, scratch=folder))
            day += timedelta(days=1)
    finally:
        journal.close()
    return out


# ---------------------------------------------------------------- figures
@dataclass
class Rates:
    mean_msgs: float  # per second over the opening hours
    peak_msgs: float  # per second in the busiest minute
    mean_bytes: float
    peak_bytes: float
    wire_mean_bytes: float
    wire_peak_bytes: float


def _wire(messages: float, mqtt_bytes: float) -> float:
    """Bytes on the wire: MQTT + a TLS record and a TCP segment per packet, each way (PUBLISH out, PUBACK back)."""
    return mqtt_bytes + messages * 2 * (TLS_RECORD + TCP_IP)


def rates(series: Iterable[dict[int, list[int]]], config: OfficeDayConfig) -> Rates:
    """Mean over the opening hours (averaged over the series given) and the busiest minute of any."""
    series = list(series)
    open_min = (datetime.combine(START, config.closes) - datetime.combine(START, config.opens)).seconds / 60
    seconds = open_min * 60 * len(series)
    opens = config.opens.hour * 60 + config.opens.minute
    closes = config.closes.hour * 60 + config.closes.minute
    msgs = sum(v[0] for s in series for m, v in s.items() if opens <= m < closes)
    byts = sum(v[2] for s in series for m, v in s.items() if opens <= m < closes)
    slots = [v for s in series for v in s.values()] or [[0, 0, 0]]
    peak = max(slots, key=lambda v: v[0])  # the busiest minute by messages
    peak_bytes = max(slots, key=lambda v: v[2])  # and by bytes (a minute with a day summary in it)
    return Rates(
        msgs / seconds,
        peak[0] / 60,
        byts / seconds,
        peak_bytes[2] / 60,
        _wire(msgs, byts) / seconds,
        max(_wire(v[0], v[2]) for v in slots) / 60,
    )


def city_series(traffic: list[Traffic], offices: int) -> dict[int, list[int]]:
    """The city broker's minute series: office ``i`` sends what the sample ``i mod len(traffic)`` sent."""
    total: dict[int, list[int]] = {}
    for i in range(offices):
        for minute, v in traffic[i % len(traffic)].minutes.items():
            slot = total.setdefault(minute, [0, 0, 0])
            for k in range(3):
                slot[k] += v[k]
    return total


def _n(v: float, digits: int = 2) -> str:
    return f"{v:,.{digits}f}"


def bridge_table(results: dict[Scenario, list[Traffic]]) -> str:
    config = OfficeDayConfig()
    lines = [
        "| city | per | visits / office day | messages / office day | msgs/s mean | msgs/s peak minute "
        "| MQTT B/s mean | MQTT B/s peak minute | wire B/s mean (TLS+TCP) | wire B/s peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario, traffic in results.items():
        one = rates((t.minutes for t in traffic), config)
        city = rates([city_series(traffic, scenario.offices)], config)
        visits = statistics.fmean(t.visits for t in traffic)
        msgs = statistics.fmean(t.messages for t in traffic)
        for who, r, m in (("bridge (one office)", one, msgs), (f"city broker ({scenario.offices})", city, None)):
            lines.append(
                f"| {scenario.label} | {who} | {_n(visits, 0)} | {_n(m, 0) if m is not None else '—'} "
                f"| {_n(r.mean_msgs, 3)} | {_n(r.peak_msgs, 2)} | {_n(r.mean_bytes, 0)} | {_n(r.peak_bytes, 0)} "
                f"| {_n(r.wire_mean_bytes, 0)} | {_n(r.wire_peak_bytes, 0)} |"
            )
    return "\n".join(lines)


def kinds_table(results: dict[Scenario, list[Traffic]]) -> str:
    lines = [
        "| city | messages per office day, by kind | mean | share |",
        "|---|---|---|---|",
    ]
    for scenario, traffic in results.items():
        total: Counter[str] = Counter()
        for t in traffic:
            total.update(t.kinds)
        n = sum(total.values())
        for kind, count in total.most_common():
            lines.append(f"| {scenario.offices} offices | {kind} | {_n(count / len(traffic), 0)} | {count / n:.0%} |")
        connect = statistics.fmean(t.connect[0] for t in traffic)
        connect_b = statistics.fmean(t.connect[1] for t in traffic)
        lines.append(
            f"| {scenario.offices} offices | on (re)connect: every bridged retained topic once | {_n(connect, 0)} "
            f"({_n(connect_b, 0)} B) | |"
        )
        summary = statistics.fmean(t.summary_bytes for t in traffic)
        lines.append(f"| {scenario.offices} offices | day summary payload (bytes) | {_n(summary, 0)} | |")
    return "\n".join(lines)


# ---------------------------------------------------------------- the hub's database
@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A private PostgreSQL cluster from Debian's binaries on a free loopback port (as tests/city_hub/conftest.py
    starts one; as root it runs as ``postgres``). Yields the server URL's prefix; removed afterwards."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL binaries missing: apt-get install -y postgresql")
    bindir = Path(found[-1]).parent
    prefix: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, cwd=root, timeout=120)

    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", options, "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"], timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def year_of_days(n: int = OFFICE_DAYS_PER_YEAR, start: date = date(2027, 1, 4)) -> list[date]:
    days, day = [], start
    while len(days) < n:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def fill_year(url: str, offices: int, templates: list[SiteDaySummary]) -> float:
    """A year of final day summaries for ``offices`` offices through the hub's Store (the ingest's own write);
    office ``i`` on day ``d`` repeats the simulated day ``(i + d) mod len(templates)``. Returns seconds taken."""
    from city_hub.store.api import Store
    from city_hub.store.migrate import migrate

    migrate(url)
    t0 = perf_counter()
    with Store(url) as store:
        for d, day in enumerate(year_of_days()):
            for i in range(offices):
                t = templates[(i + d) % len(templates)]
                at = datetime.combine(day, time(17, 45), tzinfo=t.updated_at.tzinfo)
                office = f"office-{i + 1:02d}"
                store.upsert(t.model_copy(update={"site": office, "date": day.isoformat(), "updated_at": at}))
    return perf_counter() - t0


@dataclass
class DbSize:
    engine: str
    offices: int
    rows: dict[str, int]
    table_bytes: dict[str, int]
    index_bytes: dict[str, int]
    seconds: float

    @property
    def total(self) -> int:
        return sum(self.table_bytes.values()) + sum(self.index_bytes.values())


TABLES = ("site_day", "group_day", "group_hour")


def postgres_size(url: str, offices: int, seconds: float) -> DbSize:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as c:
        rows = {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}
        # table = heap + TOAST (pg_table_size), indexes apart; pg_total_relation_size is their sum
        tables = {t: c.execute(text(f"SELECT pg_table_size('{t}')")).scalar_one() for t in TABLES}
        indexes = {t: c.execute(text(f"SELECT pg_indexes_size('{t}')")).scalar_one() for t in TABLES}
        total = sum(c.execute(text(f"SELECT pg_total_relation_size('{t}')")).scalar_one() for t in TABLES)
    engine.dispose()
    assert total == sum(tables.values()) + sum(indexes.values())
    return DbSize("PostgreSQL 15", offices, rows, tables, indexes, seconds)


def sqlite_size(path: Path, offices: int, seconds: float) -> DbSize:
    """Pages per table and per index from SQLite's ``dbstat`` table (the file also holds free pages)."""
    import sqlite3

    db = sqlite3.connect(path)
    rows = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    owner = {name: tbl for name, tbl in db.execute("SELECT name, tbl_name FROM sqlite_master WHERE type='index'")}
    tables = dict.fromkeys(TABLES, 0)
    indexes = dict.fromkeys(TABLES, 0)
    for name, size in db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
        if name in tables:
            tables[name] += size
        elif owner.get(name) in indexes:
            indexes[owner[name]] += size
    db.close()
    return DbSize(f"SQLite {sqlite3.sqlite_version}", offices, rows, tables, indexes, seconds)


def database_sizes(templates: list[SiteDaySummary], postgres: bool, folder: Path) -> list[DbSize]:
    out = []
    for offices in (17, 50):
        path = folder / f"hub-{offices}.sqlite"
        took = fill_year(f"sqlite:///{path}", offices, templates)
        out.append(sqlite_size(path, offices, took))
    if postgres:
        with postgres_server() as server:
            from sqlalchemy import create_engine, text

            admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
            for offices in (17, 50):
                with admin.connect() as c:
                    c.execute(text(f"CREATE DATABASE hub_{offices}"))
                url = f"{server}/hub_{offices}"
                took = fill_year(url, offices, templates)
                out.append(postgres_size(url, offices, took))
            admin.dispose()
    return out


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f}"


def database_table(sizes: list[DbSize]) -> str:
    lines = [
        "| database | offices | office days / year | rows (site_day / group_day / group_hour) | tables MB "
        "| indexes MB | total MB / year | per office day (kB) | filled in (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in sizes:
        days = s.rows["site_day"]
        rows = " / ".join(f"{s.rows[t]:,}" for t in TABLES)
        lines.append(
            f"| {s.engine} | {s.offices} | {days:,} | {rows} | {_mb(sum(s.table_bytes.values()))} "
            f"| {_mb(sum(s.index_bytes.values()))} | {_mb(s.total)} | {s.total / days / 1e3:,.2f} | {s.seconds:.0f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the hub's memory
def office_sites(offices: int) -> dict[str, Site]:
    """``offices`` copies of the example office under their own ids (``office-01`` ...)."""
    base = load_site(SITE)
    out = {}
    for i in range(1, offices + 1):
        data = base.model_dump(by_alias=True)
        data["site"]["id"] = f"office-{i:02d}"
        out[f"office-{i:02d}"] = Site.model_validate(data)
    return out


def hub_child(port: int, database: str, offices: int) -> None:
    """The hub's live half in its own process: the city view of ``offices`` offices fed by the real ingest (MQTT
    on loopback, plain), writing summaries through the Store. The bench reads its /proc status from outside."""
    from city_hub.ingest import Ingest, IngestSettings
    from city_hub.store.api import Store
    from city_hub.store.migrate import migrate
    from city_hub.view import CityView
    from kiosk.config.city import City, CityBroker, CityInfo, CitySite

    sites = office_sites(offices)
    base = next(iter(sites.values()))
    city = City(
        city=CityInfo(id="bench-city", names=base.site.names),
        broker=CityBroker(host="127.0.0.1", port=port),
        sites=tuple(CitySite(id=i, site_file=SITE) for i in sites),
    )
    migrate(database)
    store = Store(database)
    ingest = Ingest(CityView(city, sites), store, IngestSettings("127.0.0.1", port, client_id="bench-hub")).start()
    print("ready", flush=True)
    sys.stdin.read()  # until the bench closes our stdin
    ingest.flush(30)
    print(json.dumps(dict(ingest.counts)), flush=True)
    ingest.stop()
    store.close()


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


@dataclass
class HubMemory:
    offices: int
    idle: int  # RSS with the view built and connected, nothing received
    loaded: int  # after every office's retained state and a week of day summaries
    after: int  # after the replay at the measured rate
    peak: int  # VmHWM
    replayed: int
    seconds: float
    counts: dict[str, int]


def hub_memory(traffic: list[Traffic], offices: int, seconds: float, folder: Path) -> HubMemory:
    """RSS of the hub process holding ``offices`` offices while it ingests the city's busiest ``seconds`` at the
    measured rate (office ``i`` replays the simulated day ``i mod len(traffic)``, from the city's peak minute)."""
    import paho.mqtt.client as paho
    from paho.mqtt.enums import CallbackAPIVersion

    port = free_port()
    conf = folder / "hub-bench-mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n"
        + ("user root\n" if os.geteuid() == 0 else "")
    )
    broker = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    hub = None
    try:
        wait_for_port(port, proc=broker)
        database = f"sqlite:///{folder / 'hub-memory.sqlite'}"
        cmd = [sys.executable, "-m", "bench.city_scale", "--hub-child", str(port), database, str(offices)]
        hub = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert hub.stdout is not None and hub.stdin is not None
        if hub.stdout.readline().strip() != "ready":
            raise RuntimeError("the hub process did not start")
        idle = _status(hub.pid)["VmRSS"]
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-offices")
        client.connect("127.0.0.1", port)
        client.loop_start()
        source = traffic[0].site

        def as_office(i: int, topic: str, payload: bytes) -> tuple[str, bytes]:
            office = f"office-{i + 1:02d}"
            return topic.replace(f"/{source}/", f"/{office}/"), payload.replace(
                f'"site":"{source}"'.encode(), f'"site":"{office}"'.encode()
            )

        # every office's retained state and a week of finals, as after a week of running
        sent = []
        for i in range(offices):
            t = traffic[i % len(traffic)]
            last: dict[str, bytes] = {}
            for _, topic, payload in t.log:
                if "/queue/state/group/" in topic:
                    last[topic] = payload
            for topic, payload in last.items():
                sent.append(client.publish(*as_office(i, topic, payload), qos=1, retain=True))
            assert t.final is not None
            for k in range(7):
                day = (t.day - timedelta(days=7 - k)).isoformat()
                summary = t.final.model_copy(update={"date": day})
                topic = Topics(source).city_day(day)
                sent.append(client.publish(*as_office(i, topic, dump(summary)), qos=1, retain=True))
        for info in sent:
            info.wait_for_publish(30)
        threading.Event().wait(3.0)  # a measurement pause: the hub takes them in (its counts are checked at the end)
        loaded = _status(hub.pid)["VmRSS"]
        # the busiest stretch of the city's day, at the rate it happened
        series = city_series(traffic, offices)
        peak_minute = max(series, key=lambda m: series[m][0])
        t0 = peak_minute * 60.0
        stream = sorted(
            (at - t0, i, topic, payload)
            for i in range(offices)
            for at, topic, payload in traffic[i % len(traffic)].log
            if t0 <= at < t0 + seconds
        )
        start = perf_counter()
        infos = []
        for offset, i, topic, payload in stream:
            delay = start + offset - perf_counter()
            if delay > 0:
                threading.Event().wait(delay)
            infos.append(client.publish(*as_office(i, topic, payload), qos=1, retain=True))
        for info in infos:
            info.wait_for_publish(30)
        took = perf_counter() - start
        threading.Event().wait(max(0.0, seconds - took))
        status = _status(hub.pid)
        client.disconnect()
        client.loop_stop()
        out, _ = hub.communicate("", timeout=60)
        counts = json.loads(out.strip().splitlines()[-1])
        return HubMemory(offices, idle, loaded, status["VmRSS"], status["VmHWM"], len(stream), seconds, counts)
    finally:
        if hub is not None and hub.poll() is None:
            hub.kill()
            hub.wait()
        stop_process(broker, timeout=5)


def memory_table(rows: list[HubMemory]) -> str:
    lines = [
        "| offices | RSS idle (view built, connected) MB | after retained state + a week of summaries MB "
        "| after the busiest stretch MB | peak RSS MB | messages replayed | over (s) | ingest counts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in rows:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(m.counts.items()))
        lines.append(
            f"| {m.offices} | {_mb(m.idle)} | {_mb(m.loaded)} | {_mb(m.after)} | {_mb(m.peak)} | {m.replayed:,} "
            f"| {m.seconds:.0f} | {counts} |"
        )
    return "\n".join(lines)


def propagation_table(path: Path = PROPAGATION) -> str:
    """The 17-site test's figures (tests/system/test_city_17_sites.py writes them)."""
    if not path.exists():
        return f"(no {path.relative_to(ROOT)}: run `pytest tests/system/test_city_17_sites.py` first)"
    f = json.loads(path.read_text())
    return "\n".join(
        [
            "| offices | calls | call → hub p50 ms | p99 ms | max ms | call_next reply p50 ms | hub | bridges |",
            "|---|---|---|---|---|---|---|---|",
            f"| {f['offices']} | {f['calls']} | {f['p50_ms']} | {f['p99_ms']} | {f['max_ms']} "
            f"| {f.get('call_next_reply_p50_ms', '—')} | {f['hub']} | {f['bridges']} |",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--hub-child":
        hub_child(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=5, help="simulated office days per city (weekdays)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tick", type=float, default=15.0, help="the queue service's tick (seconds)")
    parser.add_argument("--mode", default="one_ticket", help="way of working (devkit.office_simulation.MODES)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only for the database sizes")
    parser.add_argument("--no-database", action="store_true", help="skip the database sizes")
    parser.add_argument("--memory-seconds", type=float, default=60.0, help="hub memory run (0: skip)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--only", choices=("nerima", "large"), help="one city instead of both (the smoke test: nerima, ~half the time)"
    )
    args = parser.parse_args(argv)
    chosen = SCENARIOS if args.only is None else SCENARIOS[:1] if args.only == "nerima" else SCENARIOS[1:]
    results: dict[Scenario, list[Traffic]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for scenario in chosen:
            results[scenario] = simulate_offices(scenario, args.samples, args.seed, args.tick, args.mode, folder)
        print("## Over each bridge and at the city broker\n")
        print(bridge_table(results))
        print()
        print(kinds_table(results))
        sizes: list[DbSize] = []
        if not args.no_database:
            templates = [t.final for tr in results.values() for t in tr if t.final is not None]
            sizes = database_sizes(templates, not args.no_postgres, folder)
            print(f"\n## The hub's database, one year ({OFFICE_DAYS_PER_YEAR} office days per office)\n")
            print(database_table(sizes))
        memory: list[HubMemory] = []
        if args.memory_seconds > 0:
            for scenario, traffic in results.items():
                memory.append(hub_memory(traffic, scenario.offices, args.memory_seconds, folder))
            print("\n## The hub's memory (RSS of the ingest + city view process)\n")
            print(memory_table(memory))
    print("\n## Propagation, 17 sites on loopback (tests/system/test_city_17_sites.py)\n")
    print(propagation_table())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data: dict[str, Any] = {
            "traffic": {
                s.label: [
                    {"day": t.day.isoformat(), "visits": t.visits, "commands": t.commands, "messages": t.messages,
                     "mqtt_bytes": t.mqtt_bytes, "kinds": dict(t.kinds), "summary_bytes": t.summary_bytes}
                    for t in tr
                ]
                for s, tr in results.items()
            },
            "database": [dataclasses.asdict(s) for s in sizes],
            "memory": [dataclasses.asdict(m) for m in memory],
        }  # fmt: skip
        args.json.write_text(json.dumps(data, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
