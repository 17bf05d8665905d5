"""The exit screen app (``madoguchi kiosk exit``): the satisfaction survey by the doors, on a tablet or beside
the call board. Stars per question, then the ticket's number on a keypad, sent as ``record_survey
{number, answers}``; a thank-you, then back to the start after a few seconds. The shell gives the language
buttons, the idle reset and the out-of-service cover (no answer is taken while the queue service is away).
"""

from __future__ import annotations

import logging

from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.bus.client import BusError
from kiosk.bus.contract import Role
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site
from kiosk.ui.lang import tr
from kiosk.ui.shell import KioskShell
from ticket_machine.exit_app.screens.number import NumberScreen
from ticket_machine.exit_app.screens.stars import StarsScreen
from ticket_machine.exit_app.screens.thanks import ThanksScreen
from ticket_machine.exit_app.survey import SurveyForm, outcome_message

log = logging.getLogger(__name__)

#: The thank-you stays this long, then the screen is ready for the next resident.
THANKS_SECONDS = 6.0


class ExitScreenApp(KioskShell):
    role = Role.EXIT
    home_screen = "stars"
    #: Bumped on every change of the form: the screens redraw their stars and the number.
    form_version = NumericProperty(0)
    sending = BooleanProperty(False)
    #: What the number screen says (a refused number), or the thanks screen (thanks / already answered).
    message = StringProperty("")
    message_id = StringProperty("")

    def __init__(self, device: DeviceConfig, site: Site, **kw) -> None:
        super().__init__(device, site, **kw)
        self.form = SurveyForm.for_site(site)
        self.answers_sent = 0
        self._back = None
        if not site.survey:
            log.warning("the site file has no [[survey]] questions: the exit screen has nothing to ask")

    def make_screens(self):
        self._title()
        tr.bind(lang=lambda *_: self._title())
        tr.bind(lang=lambda *_: self._say())
        return [StarsScreen(), NumberScreen(), ThanksScreen()]

    def _title(self) -> None:
        self.title_text = tr.name(self.site.site.names)

    # ------------------------------------------------------------ the form
    def choose(self, question: str, stars: int) -> None:
        self.form.choose(question, stars)
        self.form_version += 1

    def press(self, key: str) -> None:
        self.form.press(key)
        self.say(None)
        self.form_version += 1

    def to_number(self) -> None:
        if self.form.complete:
            self.say(None)
            self.goto("number")

    def back_to_stars(self) -> None:
        self.say(None)
        self.goto("stars")

    def say(self, message_id: str | None) -> None:
        self.message_id = message_id or ""
        self._say()

    def _say(self) -> None:
        self.message = tr._(self.message_id) if self.message_id else ""

    # ------------------------------------------------------------ sending
    def send(self) -> None:
        if self.sending or self.link is None or not self.form.can_send:
            return
        self.sending = True
        self.link.request("record_survey", self.form.args(), self._sent, self._failed)

    def _sent(self, result: dict) -> None:
        self.sending = False
        self.answers_sent += 1
        log.info("survey answered (%s today)", result.get("surveys_today"))
        self._done(None)

    def _failed(self, exc: BusError) -> None:
        self.sending = False
        message, done = outcome_message(exc.code)
        if done:
            self._done(exc.code)
        else:
            self.say(message)

    def _done(self, code: str | None) -> None:
        message, _done = outcome_message(code)
        self.form.clear()
        self.form_version += 1
        self.say(message)
        self.goto("thanks")
        self._cancel_back()
        self._back = Clock.schedule_once(lambda _dt: self.start_again(), THANKS_SECONDS)

    def _cancel_back(self) -> None:
        if self._back is not None:
            self._back.cancel()
            self._back = None

    def start_again(self) -> None:
        """The next resident: no stars, no number, the screen's own language."""
        self._cancel_back()
        self.form.clear()
        self.form_version += 1
        self.say(None)
        tr.switch(self.device.screen.language)
        self.goto(self.home_screen)

    # ------------------------------------------------------------ idle
    def needs_reset(self) -> bool:
        return self.form.touched

    def on_idle(self) -> None:
        self._cancel_back()
        self.form.clear()
        self.form_version += 1
        self.say(None)
        super().on_idle()
