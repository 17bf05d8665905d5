"""The app every appliance runs inside: top bar, screens, idle timeout, out-of-service overlay.

A role's app subclasses :class:`KioskShell`, gives its screens and its home screen, and
reacts to :meth:`on_idle`. The shell owns the bus link: while the broker or the queue
service is unreachable the overlay covers the screen (a resident must never get a
ticket the queue does not know), and it lifts by itself when both are back.
"""

from __future__ import annotations

import logging
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, Screen

import kiosk.ui.widgets  # noqa: F401  (registers the shared kv rules)
from kiosk import watchdog
from kiosk.bus.client import BusSettings
from kiosk.bus.contract import Role
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site
from kiosk.ui.lang import tr
from kiosk.ui.link import BusLink
from kiosk.ui.theme import theme

log = logging.getLogger(__name__)
Builder.load_file(str(Path(__file__).with_suffix(".kv")))


def load_screen_kv(py_file: str) -> None:
    """Load the ``.kv`` next to a screen's ``.py`` (one pair per screen)."""
    Builder.load_file(str(Path(py_file).with_suffix(".kv")))


class KioskShell(App):
    in_service = BooleanProperty(False)
    title_text = StringProperty("")
    show_languages = BooleanProperty(True)
    idle_seconds = NumericProperty(90)
    #: Seconds since the last touch (the idle timeout compares against it).
    idle_for = NumericProperty(0)
    role: Role = Role.TICKET
    home_screen = "home"

    def __init__(self, device: DeviceConfig, site: Site, **kw) -> None:
        super().__init__(**kw)
        self.device = device
        self.site = site
        self.idle_seconds = device.screen.idle_seconds
        self.link: BusLink | None = None
        self._last_touch = Clock.get_boottime()
        tr.switch(device.screen.language)

    # ------------------------------------------------------------ building
    def make_screens(self) -> list[Screen]:
        raise NotImplementedError

    def build(self):
        self.title = f"smart madoguchi — {self.device.device}"
        root = Factory.ShellRoot()
        self.sm = root.ids.sm
        self.sm.transition = NoTransition()
        for screen in self.make_screens():
            self.sm.add_widget(screen)
        self.sm.current = self.home_screen
        password = self.device.broker.password_file.read_text().strip()
        settings = BusSettings(
            self.site.site.id,
            self.device.device,
            self.role,
            password,
            self.device.broker.host,
            self.device.broker.port,
            cafile=str(self.device.broker.cafile) if self.device.broker.cafile else None,
        )
        service = self.site.service_device.id if self.site.service_device else None
        self.link = BusLink(settings, service)
        self.link.bind(broker_up=self._update_service, service_up=self._update_service)
        self.connect()
        self.link.start()
        Window.bind(on_touch_down=self._touched)
        Clock.schedule_interval(self._tick, 1.0)
        # systemd (Type=notify): ready once the home screen is drawn; a frozen UI stops the pings
        Clock.schedule_once(lambda _dt: watchdog.ready(f"{self.device.device}: home screen"), 0.5)
        Clock.schedule_interval(lambda _dt: watchdog.ping(), watchdog.interval())
        return root

    def connect(self) -> None:
        """Subscribe to what the app shows (before the link starts). Override."""

    def on_stop(self) -> None:
        if self.link is not None:
            self.link.stop()

    # ------------------------------------------------------------ state
    def _update_service(self, *_a) -> None:
        assert self.link is not None
        self.in_service = self.link.broker_up and self.link.service_up
        watchdog.status("in service" if self.in_service else "out of service: broker or queue service unreachable")

    def set_language(self, code: str) -> None:
        tr.switch(code)

    def toggle_accessible(self) -> None:
        theme.accessible = not theme.accessible

    def goto(self, name: str) -> None:
        self.sm.current = name

    # ------------------------------------------------------------ idle timeout
    def _touched(self, *_a) -> None:
        self._last_touch = Clock.get_boottime()

    def _tick(self, _dt) -> None:
        self.idle_for = Clock.get_boottime() - self._last_touch
        if self.idle_for >= self.idle_seconds and (self.sm.current != self.home_screen or self.needs_reset()):
            log.info("idle for %.0f s: back to the home screen", self.idle_for)
            self._last_touch = Clock.get_boottime()
            self.on_idle()

    def needs_reset(self) -> bool:
        """Whether the home screen itself holds something to clear. Override."""
        return False

    def on_idle(self) -> None:
        """The resident walked away: clear the selection and go home. Override and call super."""
        theme.accessible = False
        tr.switch(self.device.screen.language)
        self.goto(self.home_screen)
