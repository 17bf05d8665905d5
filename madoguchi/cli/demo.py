"""``madoguchi demo``: every role on one screen, with the dev kit's simulators standing in for the hardware."""

from __future__ import annotations

import argparse

from madoguchi.cli.common import run_command, site_and_state

NAME = "demo"
HELP = "every role on one screen, simulated hardware included; --narrate: a text walk-through"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Every role on one screen: ticket kiosk, call panel, call board, form issuer and self register, with a "
        "card window and a register hardware window. Starts Mosquitto, the queue service, pcscd and the hardware "
        "simulators; Ctrl-C, SIGTERM or closing any window stops all of them. --narrate: no windows, a text "
        "walk-through of four residents (the last one at a one-stop booth)."
    )
    site_and_state(p)
    p.add_argument("--port", type=int, default=18830, help="broker port for the demo")
    p.add_argument("--http-port", type=int, default=18080)
    p.add_argument("--narrate", action="store_true", help="no windows: walk four residents through in the terminal")
    p.add_argument(
        "--history-days", type=int, default=15, help="simulated past office days for the KPI pages and forecast"
    )


def run(args: argparse.Namespace) -> int:
    from madoguchi.demo import run_demo

    return run_demo(args)


def main(argv: list[str]) -> int:
    return run_command(NAME, HELP, add_arguments, run, argv, quiet=True)
