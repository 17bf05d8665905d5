"""The ticket kiosk's step indicator: "1 Choose → 2 Check the list → 3 Your ticket", on the screens of the flow.

A resident who sees where they are (and that the ticket is the next step, not five more screens) is less likely
to walk away or press Back by mistake. The names follow the kiosk's language.
"""

from __future__ import annotations

from kivy.properties import NumericProperty

from kiosk.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.widgets import StepIndicator

#: The flow's steps, in order: picking (home, questions, catalog), the list (guidance), the ticket (issued).
VISIT_STEPS = (N_("Choose"), N_("Check the list"), N_("Your ticket"))


class VisitSteps(StepIndicator):
    """A :class:`StepIndicator` with the ticket kiosk's steps; ``step`` is the index of this screen's one."""

    step = NumericProperty(0)

    def on_kv_post(self, base) -> None:
        self._names()
        tr.fbind("lang", self._names)
        self.fbind("step", lambda *_: setattr(self, "current", self.step))
        self.current = self.step
        super().on_kv_post(base)

    def _names(self, *_a) -> None:
        self.steps = [tr._(name) for name in VISIT_STEPS]
