"""``madoguchi city``: the city hub (docs/city.md).

    madoguchi city serve   --city city.toml [--http HOST:PORT] [--broker HOST:PORT] [--broker-cert ...]
    madoguchi city migrate --city city.toml [--database URL]

``serve`` migrates the hub's database, follows every office over the city broker (:mod:`city_hub.ingest`) and
serves the city's pages (:mod:`city_hub.web.app`) until Ctrl-C or SIGTERM, then stops the web server, the MQTT
client and its writer thread, and closes the database: nothing is left running. ``migrate`` only brings the
database to the newest schema (Alembic), for an operator who migrates before a release.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from madoguchi.cli.common import host_port

NAME = "city"
HELP = "the city hub: serve (follow every office, the city's pages) or migrate its database"

log = logging.getLogger("madoguchi.city")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--city", type=Path, required=True, help="the city file (city.toml)")
    p.add_argument("--database", help="SQLAlchemy URL (default: the city file's [hub] database)")
    p.add_argument("-v", "--verbose", action="store_true")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="madoguchi city", description=HELP)
    sub = p.add_subparsers(dest="action", required=True)
    serve = sub.add_parser("serve", help="follow every office over the city broker and serve the city's pages")
    _common(serve)
    serve.add_argument("--http", type=host_port, default=("127.0.0.1", 8090), metavar="HOST:PORT")
    serve.add_argument(
        "--broker", type=host_port, metavar="HOST:PORT", help="the city broker (default: the city file's [broker])"
    )
    serve.add_argument("--broker-ca", help="the city CA certificate: connect with TLS")
    serve.add_argument("--broker-cert", help="the hub's client certificate (PEM)")
    serve.add_argument("--broker-key", help="the hub's client key (PEM)")
    serve.add_argument("--client-id", default="city-hub", help="MQTT client id (default: city-hub)")
    migrate = sub.add_parser("migrate", help="bring the hub's database to the newest schema")
    _common(migrate)
    return p


def database_url(args: argparse.Namespace, city) -> str:
    from city_hub.store import resolve_url

    return resolve_url(args.database or city.hub.database, args.city.resolve().parent)


def run_migrate(args: argparse.Namespace) -> int:
    from city_hub.store import migrate
    from kiosk.config.city import load_city

    city, _sites = load_city(args.city)
    url = database_url(args, city)
    revision = migrate(url)
    print(f"hub database {_safe(url)} at revision {revision}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from city_hub.ingest import Ingest, IngestSettings
    from city_hub.store import Store, migrate
    from city_hub.view import CityView
    from city_hub.web.app import ViewSource, make_app
    from kiosk.config.city import load_city

    city, sites = load_city(args.city)
    url = database_url(args, city)
    migrate(url)
    store = Store(url)
    view = CityView(city, sites)
    host, port = args.broker or (city.broker.host, city.broker.port)
    settings = IngestSettings(
        host=host,
        port=port,
        client_id=args.client_id,
        cafile=args.broker_ca,
        certfile=args.broker_cert,
        keyfile=args.broker_key,
    )
    ingest = Ingest(view, store, settings)
    app = make_app(city, sites, ViewSource(view), store, healthy=ingest.connected.is_set)
    http_host, http_port = args.http
    server = uvicorn.Server(
        uvicorn.Config(app, host=http_host, port=http_port, log_level="warning", timeout_graceful_shutdown=3)
    )
    # uvicorn installs its own signal handlers only in the main thread: it runs in another, ours stop it and the rest
    stop = threading.Event()

    def on_signal(*_args) -> None:
        stop.set()
        server.should_exit = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    web = threading.Thread(target=server.run, name="city-hub-web", daemon=True)
    ingest.start(wait=None)  # reconnects by itself: the pages work (and say "offline") while the broker is away
    web.start()
    log.info(
        "city hub for %s: %d offices, broker %s:%s, pages on http://%s:%s/, database %s",
        city.city.id,
        len(sites),
        host,
        port,
        http_host,
        http_port,
        _safe(url),
    )
    try:
        while not stop.wait(0.5):
            if not web.is_alive():
                print(f"the hub's web server stopped (is {http_host}:{http_port} free?)", file=sys.stderr)
                return 1
    finally:
        server.should_exit = True
        web.join(10)
        ingest.stop()
        store.close()
        log.info("city hub stopped")
    return 0


def _safe(url: str) -> str:
    """The URL without its password, for a log line."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str]) -> int:
    from kiosk.config import ConfigError

    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per migration step is noise at start
    try:
        return run_serve(args) if args.action == "serve" else run_migrate(args)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
