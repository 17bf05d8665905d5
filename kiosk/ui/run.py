"""Start an appliance app: Kivy configured first, then the app built and run until a signal stops it.

Kivy is configured (:func:`kiosk.ui.boot.boot`) before any app module is imported, because
importing Kivy's window modules opens the window with whatever config exists. Which app a role
runs is the composition root's table (``madoguchi.roles``): this library imports no app.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from kiosk.config import load_site
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site

if TYPE_CHECKING:
    from kivy.app import App


class NoDisplay(RuntimeError):
    pass


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def make_app(build: Callable[[DeviceConfig, Site], App], device: DeviceConfig, windowed: bool = False) -> App:
    """Configure Kivy for the device's screen, then ``build`` the app (which imports its module only now)."""
    if not has_display():
        raise NoDisplay(
            "no display: set DISPLAY (X11) or WAYLAND_DISPLAY, or run under `xvfb-run -a` for a virtual screen"
        )
    from kiosk.ui.boot import boot

    screen = device.screen
    boot(device.device, screen.width, screen.height, fullscreen=screen.fullscreen and not windowed)
    return build(device, load_site(device.site))


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
