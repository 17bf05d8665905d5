"""Role → app: which Kivy app an appliance of each role runs, wired from its device file.

Each builder imports its app only when called, after :func:`kiosk.ui.run.make_app` has
configured Kivy (importing a Kivy window module opens the window). These are real imports, so
the import graph (and import-linter) sees every edge; the composition root is the only package
allowed them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from kiosk.config.device import DeviceConfig, load_device
from kiosk.config.site import Site

if TYPE_CHECKING:
    from kivy.app import App

#: ``card_reader = "simulated"`` or ``"simulated:PORT"``: the dev kit's in-process virtual card (demo without pcscd).
SIMULATED_READER = "simulated"


def ticket_kiosk(device: DeviceConfig, site: Site) -> App:
    from ticket_machine.kiosk_app.app import TicketKioskApp

    return TicketKioskApp(device, site)


def call_panel(device: DeviceConfig, site: Site) -> App:
    from ticket_machine.panel_app.app import CallPanelApp

    return CallPanelApp(device, site)


def call_board(device: DeviceConfig, site: Site) -> App:
    from ticket_machine.board_app.app import CallBoardApp

    return CallBoardApp(device, site)


def form_issuer(device: DeviceConfig, site: Site) -> App:
    from form_printer.app.app import FormIssuerApp

    return FormIssuerApp(device, site, reader=simulated_reader(device))


def counter_desk(device: DeviceConfig, site: Site) -> App:
    from form_printer.desk_app.app import DeskApp

    return DeskApp(device, site, reader=simulated_reader(device))


def self_register(device: DeviceConfig, site: Site) -> App:
    from register.app.app import RegisterApp

    return RegisterApp(device, site)


def exit_screen(device: DeviceConfig, site: Site) -> App:
    from ticket_machine.exit_app.app import ExitScreenApp

    return ExitScreenApp(device, site)


APPS: dict[str, Callable[[DeviceConfig, Site], App]] = {
    "ticket": ticket_kiosk,
    "panel": call_panel,
    "board": call_board,
    "forms": form_issuer,
    "desk": counter_desk,
    "register": self_register,
    "exit": exit_screen,
}


def simulated_reader(device: DeviceConfig):
    """The dev kit's virtual card reader when the device file asks for it, else None (the real PC/SC reader).

    Only a developer's install has the dev kit; an appliance configured for it is told so plainly.
    """
    if not device.card_reader.startswith(SIMULATED_READER):
        return None
    try:
        from devkit.mynumber_card import SimulatedReader
    except ImportError as exc:
        raise SystemExit(
            f'{device.device}: card_reader = "{device.card_reader}" needs the dev kit (devkit/), '
            "which appliances do not install: name the PC/SC reader instead"
        ) from exc
    _, _, port = device.card_reader.partition(":")
    return SimulatedReader(port=int(port) if port else None)


def run_app(role: str | None, config: Path, windowed: bool = False, counter: str | None = None) -> int:
    """``madoguchi kiosk [ROLE] --config FILE``: the device file's app, until a signal or its window closes it."""
    from kiosk.ui.run import NoDisplay, make_app, run_until_stopped

    device = load_device(config)
    role = role or (device.role.value if device.role else None)
    if role is None:
        print(f'{config}: no role: give one (madoguchi kiosk ROLE) or set role = "..." in the file', file=sys.stderr)
        return 2
    if device.role is not None and device.role.value != role:
        print(f"{config}: this is a {device.role.value} device file, not {role}", file=sys.stderr)
        return 2
    if counter is not None:
        device = device.model_copy(update={"counter": counter})
    try:
        app = make_app(APPS[role], device, windowed)
    except NoDisplay as exc:
        print(exc, file=sys.stderr)
        return 2
    run_until_stopped(app)
    return 0
