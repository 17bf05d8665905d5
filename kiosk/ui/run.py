"""Start an appliance app from its device file: ``madoguchi kiosk ticket|panel|board``.

Kivy is configured (:func:`kiosk.ui.boot.boot`) before any app module is imported,
because importing Kivy's window modules opens the window with whatever config exists.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
from pathlib import Path

from kiosk.config import load_site
from kiosk.config.device import DeviceConfig, load_device

APPS = {
    "ticket": ("ticket_machine.kiosk_app.app", "TicketKioskApp"),
    "panel": ("ticket_machine.panel_app.app", "CallPanelApp"),
    "board": ("ticket_machine.board_app.app", "CallBoardApp"),
    "forms": ("form_printer.app.app", "FormIssuerApp"),
    "register": ("register.app.app", "RegisterApp"),
}


class NoDisplay(RuntimeError):
    pass


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def make_app(role: str, device: DeviceConfig, windowed: bool = False):
    """Configure Kivy, then build (not run) the role's app."""
    if not has_display():
        raise NoDisplay(
            "no display: set DISPLAY (X11) or WAYLAND_DISPLAY, or run under `xvfb-run -a` for a virtual screen"
        )
    from kiosk.ui.boot import boot

    screen = device.screen
    boot(device.device, screen.width, screen.height, fullscreen=screen.fullscreen and not windowed)
    module, name = APPS[role]
    cls = getattr(importlib.import_module(module), name)
    return cls(device, load_site(device.site))


def run(role: str | None, config: Path, windowed: bool = False, counter: str | None = None) -> int:
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
        app = make_app(role, device, windowed)
    except NoDisplay as exc:
        print(exc, file=sys.stderr)
        return 2
    run_until_stopped(app)
    return 0


def run_until_stopped(app) -> None:
    """Run a Kivy app that ends cleanly on SIGTERM (systemd, the demo stopping) and SIGINT (Ctrl-C): its
    ``on_stop`` runs (a card taken off the reader, presence said offline, a journal closed) instead of a
    hard kill or a KeyboardInterrupt traceback in the log. A second signal gets the default action, so an
    app whose loop hangs still goes."""
    from kivy.clock import Clock

    def stop(signum: int, _frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)
        Clock.schedule_once(lambda _dt: app.stop())

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    app.run()
