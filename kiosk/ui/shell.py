"""The app every appliance runs inside: title bar, screens, bottom bar, idle timeout, overlays.

A role's app subclasses :class:`KioskShell`, gives its screens and its home screen, and
reacts to :meth:`on_idle`. The shell owns the bus link: while the broker or the queue
service is unreachable the overlay covers the screen (a resident must never get a
ticket the queue does not know), and it lifts by itself when both are back.

The controls a resident needs on every screen sit in the bottom bar, within reach from a
wheelchair: the languages, larger text and "Call staff" (わからない). Call staff shows
"Staff are coming" and raises ``assistance_requested`` in the device's presence (the staff's
devices page shows device faults) until :data:`ASSISTANCE_SECONDS` pass or the resident leaves
(idle reset). Before an idle reset the resident is asked "Are you still there?" for
:data:`IDLE_WARNING_SECONDS`. Which of these a role shows is :attr:`KioskShell.show_help` and
friends, with defaults by role (the board has none: nobody touches it; a call panel is staff's).

The three covers (idle warning, staff coming, out of service, in that order from the lowest) are in the widget
tree only while they show: Kivy draws every widget in the tree every frame, and a hidden cover is still a
transparent layer over the whole window (under software OpenGL, a large share of a frame). See :meth:`_place_covers`.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.factory import Factory
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.screenmanager import NoTransition, Screen
from kivy.uix.widget import Widget

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
#: Seconds the "Are you still there?" warning shows before the idle reset (at most a third of the timeout).
IDLE_WARNING_SECONDS = 20
#: How long a call for staff stays raised in the presence (staff see it, come, and it clears).
ASSISTANCE_SECONDS = 300
#: The presence fault a call for staff raises (snake_case, like every presence fault).
ASSISTANCE_FAULT = "assistance_requested"
#: Roles whose screens residents use: they get the Call staff button.
RESIDENT_ROLES = frozenset({Role.TICKET, Role.FORMS, Role.REGISTER, Role.EXIT})
#: The covers' ids in ``ShellRoot`` (shell.kv), the lowest first: out of service is over everything.
COVER_IDS = ("idle_cover", "staff_cover", "service_cover")
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
    #: The Call staff button in the bottom bar (default: on for the roles residents use).
    show_help = BooleanProperty(True)
    #: The larger-text / high-contrast switch in the bottom bar (default: off on the board only).
    show_a11y = BooleanProperty(True)
    #: A resident asked for staff (the presence carries ``assistance_requested`` while this is on).
    assistance = BooleanProperty(False)
    #: The "Staff are coming" cover is up.
    assistance_shown = BooleanProperty(False)
    #: The "Are you still there?" warning is up, with ``idle_left`` seconds to go.
    idle_warning = BooleanProperty(False)
    idle_left = NumericProperty(0)
    role: Role = Role.TICKET
    home_screen = "home"

    def __init__(self, device: DeviceConfig, site: Site, **kw) -> None:
        super().__init__(**kw)
        self.device = device
        self.site = site
        self.idle_seconds = device.screen.idle_seconds
        self.link: BusLink | None = None
        #: The covers (idle warning, staff coming, out of service), the lowest first; in the tree only while
        #: ``active``, so the shell holds them (the ``ids`` keep weak references only).
        self.covers: list[Widget] = []
        self._cover_parent: Widget | None = None
        self._last_touch = Clock.get_boottime()
        self._assistance_at = 0.0
        self.show_help = self.role in RESIDENT_ROLES
        self.show_a11y = self.role is not Role.BOARD
        screen = device.screen
        theme.configure(screen.width, screen.height, screen.diagonal_in)
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
        self._cover_parent = root
        self.covers = [root.ids[name].__self__ for name in COVER_IDS]
        for cover in self.covers:
            cover.bind(active=self._place_covers)
        self._place_covers()
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

    def _place_covers(self, *_a) -> None:
        """Each cover in the tree exactly while it is active, in its place among the others (out of service on
        top, then staff coming, then the idle warning). An active cover takes every touch (kiosk/ui/widgets.py);
        a removed one is neither drawn nor touched, as a hidden one was not seen and let every touch through."""
        root = self._cover_parent
        if root is None:
            return
        above = 0  # the active covers over this one: already in the tree, at the top of the children
        for cover in reversed(self.covers):
            if cover.active:
                if cover.parent is None:
                    root.add_widget(cover, index=above)
                above += 1
            elif cover.parent is not None:
                root.remove_widget(cover)

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

    # ------------------------------------------------------------ call staff
    def call_staff(self) -> None:
        """The resident does not know what to do: tell them staff are coming, and tell the staff."""
        self.assistance_shown = True
        self.idle_warning = False
        self._assistance_at = Clock.get_boottime()
        if not self.assistance:
            log.info("a resident called for staff")
            self.assistance = True
            self._publish_assistance()

    def hide_assistance(self) -> None:
        """Back to the screen; the call stays raised for the staff until it expires or the resident leaves."""
        self.assistance_shown = False

    def end_assistance(self) -> None:
        self.assistance_shown = False
        if self.assistance:
            self.assistance = False
            self._publish_assistance()

    def _publish_assistance(self) -> None:
        if self.link is not None:
            self.link.set_faults([ASSISTANCE_FAULT] if self.assistance else [], source="shell")

    # ------------------------------------------------------------ idle timeout
    @property
    def warning_seconds(self) -> float:
        return min(IDLE_WARNING_SECONDS, self.idle_seconds / 3)

    def keep_going(self) -> None:
        """The resident is still there (the Continue button; any touch does the same)."""
        self._touched()

    def _touched(self, *_a) -> None:
        self._last_touch = Clock.get_boottime()
        if self.idle_warning:  # after this touch reached the cover (Continue is on it)
            Clock.schedule_once(lambda _dt: setattr(self, "idle_warning", False))

    def _tick(self, _dt) -> None:
        now = Clock.get_boottime()
        if self.assistance and now - self._assistance_at >= ASSISTANCE_SECONDS:
            log.info("the call for staff expired")
            self.end_assistance()
        self.idle_for = now - self._last_touch
        if self.assistance_shown:  # waiting for staff, hands off the screen: no reset under them
            return
        resettable = self.sm.current != self.home_screen or self.needs_reset()
        if resettable and self.idle_for >= self.idle_seconds:
            log.info("idle for %.0f s: back to the home screen", self.idle_for)
            self._last_touch = now
            self.idle_warning = False
            self.on_idle()
        elif resettable and self.idle_for >= self.idle_seconds - self.warning_seconds:
            self.idle_left = math.ceil(self.idle_seconds - self.idle_for)
            self.idle_warning = True
        else:
            self.idle_warning = False

    def needs_reset(self) -> bool:
        """Whether the home screen itself holds something to clear. Override."""
        return False

    def on_idle(self) -> None:
        """The resident walked away: clear the selection and go home. Override and call super."""
        theme.accessible = False
        self.end_assistance()
        tr.switch(self.device.screen.language)
        self.goto(self.home_screen)
