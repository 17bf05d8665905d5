"""What every subcommand shares: one way to parse, set up logging and report configuration errors."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from kiosk.config import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SITE = ROOT / "sites" / "example" / "site.toml"


def site_and_state(p: argparse.ArgumentParser) -> None:
    """``--site``, ``--state`` and ``-v``: the options of every command that runs part of the stack."""
    p.add_argument("--site", type=Path, default=DEFAULT_SITE, help="site file (default: the example ward office)")
    p.add_argument("--state", type=Path, default=Path("var"), help="state directory (default: ./var)")
    p.add_argument("-v", "--verbose", action="store_true")


def host_port(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT`` for loopback)."""
    host, _, port = value.rpartition(":")
    return (host or "127.0.0.1"), int(port)


def run_command(
    name: str,
    description: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    argv: list[str],
    *,
    quiet: bool = False,
) -> int:
    """Parse ``argv`` for one subcommand, set up logging and run it; a configuration error is a message
    and exit status 2, never a traceback. ``quiet``: warnings only (the demo narrates; its parts log to files)."""
    parser = argparse.ArgumentParser(prog=f"madoguchi {name}", description=description)
    add_arguments(parser)
    args = parser.parse_args(argv)
    if hasattr(args, "state"):
        # Absolute from here on: these paths go into generated configs, device files and child processes
        # that start elsewhere; a relative --state (the default ./var) must mean the same folder there.
        args.state, args.site = args.state.resolve(), args.site.resolve()
    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.WARNING if quiet else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return run(args)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return 2
