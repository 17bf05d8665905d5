"""The ticket: the number, the counters in order, and whether it printed.

If the printer failed the ticket is NOT lost: the queue already holds it. The screen keeps the number
large, shows the phone QR the slip would have carried (the resident can follow the queue on the phone),
says what is wrong and where to get help, and offers to print it again once fixed; its primary button
("I have noted my number") only leaves the screen: the ticket stays issued. A ticket the engine routed
to a one-stop booth says so: the resident is called once, to a booth, and stays.
"""

from __future__ import annotations

import io

from kivy.app import App
from kivy.core.image import Image as CoreImage
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.screenmanager import Screen

from kiosk.i18n import N_
from kiosk.qr import qr_image
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from ticket_machine.kiosk_app.reception import help_text
from ticket_machine.kiosk_app.slip import (
    ONE_STOP_NOTICE,
    STOPS_LABEL,
    STOPS_LABEL_ONE_STOP,
    at_booth,
    joined,
    print_outcome,
    ticket_stops,
    wait_text,
)

load_screen_kv(__file__)

TAKE_TICKET = N_("Please take your ticket. You will be called at each counter in turn.")
TAKE_TICKET_ONE_STOP = N_("Please take your ticket.")
SCAN = N_("Scan to see your turn on your phone")


class IssuedScreen(Screen):
    number = StringProperty("")
    steps = StringProperty("")
    wait = StringProperty("")
    print_state = StringProperty("printing")  # printing | printed | failed
    #: The printer fault kind when the print failed (None: no printer at all).
    print_fault = ObjectProperty(None, allownone=True)
    print_message = StringProperty("")
    can_reprint = BooleanProperty(False)
    notice = StringProperty("")
    take_text = StringProperty("")
    steps_label = StringProperty("")
    #: The on-screen phone QR (a texture) when the ticket did not print, and what it encodes.
    qr_texture = ObjectProperty(None, allownone=True)
    qr_url = StringProperty("")
    finish_text = StringProperty("")
    help_text = StringProperty("")
    scan_text = StringProperty("")

    def on_kv_post(self, _base) -> None:
        tr.bind(lang=lambda *_: self.show())

    def set_print(self, state: str, fault: str | None) -> None:
        self.print_state, self.print_fault = state, fault
        self.show()

    def show(self) -> None:
        app = App.get_running_app()
        ticket = app.last_ticket
        if ticket is None:
            return
        self.number = str(ticket.number)
        lines = [
            f"{n}. {stop.floor}  {stop.place} — {joined(tr.lang, stop.procedure.splitlines())}"
            for n, stop in enumerate(ticket_stops(app.site, ticket, tr.lang), 1)
        ]
        self.steps = "\n".join(lines)
        one_stop = at_booth(ticket)
        self.notice = tr._(ONE_STOP_NOTICE) if one_stop else ""
        self.take_text = tr._(TAKE_TICKET_ONE_STOP if one_stop else TAKE_TICKET)
        self.steps_label = tr._(STOPS_LABEL_ONE_STOP if one_stop else STOPS_LABEL)
        self.wait = wait_text(tr.lang, ticket)
        outcome = print_outcome(
            ticket,
            self.print_state,
            self.print_fault,
            tr.lang,
            app.device.status_url,
            help_text(app.site, app.device.device, tr.lang),
        )
        self.print_message = outcome.message
        self.finish_text = tr._(outcome.finish)
        self.help_text = outcome.help
        if outcome.qr_url != self.qr_url:
            self.qr_url = outcome.qr_url
            self.qr_texture = _texture(outcome.qr_url) if outcome.qr_url else None
        self.scan_text = tr._(SCAN) if outcome.qr_url else ""


def _texture(data: str):
    """The QR as a Kivy texture (kiosk.qr draws it; PNG bytes carry it across)."""
    buf = io.BytesIO()
    qr_image(data, module=6).save(buf, format="png")
    buf.seek(0)
    texture = CoreImage(buf, ext="png").texture
    texture.mag_filter = "nearest"
    return texture
