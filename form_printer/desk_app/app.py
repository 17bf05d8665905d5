"""The counter desk app (``madoguchi kiosk desk``): the staff open the visit their counter serves, take the
resident's data from the card (the resident types the PIN), a pre-entry QR or an ID document, ask each remaining
field once, show the resident the filled forms and print them in one job for signature.

Staff screens: visit, card, qr, fields. Resident screens (the staff turn the screen): pin, preview; they speak
the visit's language (the ticket's), the staff screens the device's. Card and printer calls block, so they run
on one worker thread. The visit's data is wiped when it is printed, cancelled, when the counter's visit changes
(completed, handed over), when the card is taken away before it was read, and when the desk is idle.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from form_printer.card.protocol import CardError
from form_printer.desk_app.screens.card import CardScreen
from form_printer.desk_app.screens.fields import FieldsScreen
from form_printer.desk_app.screens.pin import PinScreen
from form_printer.desk_app.screens.preview import PreviewScreen
from form_printer.desk_app.screens.qr import QrScreen
from form_printer.desk_app.screens.visit import VisitScreen
from form_printer.desk_app.visit import Desk, Source, Unprintable
from form_printer.form_counts import FormCountsOutbox
from form_printer.issuer import CardReaderPort, LastTryUnconfirmed
from form_printer.messages import PREENTRY_MESSAGES
from form_printer.preentry import PreEntryError
from form_printer.screen_parts import BackgroundWork, CardReading, show_print_failure
from form_printer.setup import issuer_for
from kiosk.bus.contract import Role
from kiosk.bus.schemas import ServingTicket
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site
from kiosk.ui.lang import tr
from kiosk.ui.link import on_main
from kiosk.ui.shell import KioskShell
from kiosk.ui.wedge import WedgeScanner

log = logging.getLogger(__name__)

#: The screens the resident looks at (in the visit's language).
RESIDENT_SCREENS = ("pin", "preview")


class DeskApp(FormCountsOutbox, BackgroundWork, CardReading, KioskShell):
    role = Role.DESK
    home_screen = "visit"
    show_languages = False

    def __init__(self, device: DeviceConfig, site: Site, reader: CardReaderPort | None = None, **kw) -> None:
        super().__init__(device, site, **kw)
        entry = site.device_by_id.get(device.device)
        counter = device.counter or (entry.counters[0] if entry is not None and entry.counters else None)
        if counter is None:
            raise ValueError(f"{device.device}: a counter desk needs its counter (counters = [...] in the site file)")
        self.counter: str = counter
        self.desk = Desk(issuer_for(device, site, on_printed=self._printed_counts, reader=reader))
        self.reader_ok = True
        self.confirmed_last_try = False
        self.pending_counts: list[dict] = []
        self._work = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-card-printer")

    @property
    def issuer(self):
        """The form issuer's card and print session the desk drives (CardReading reads cards through it)."""
        return self.desk.issuer

    def make_screens(self):
        known = self.site.counter_by_id.get(self.counter)
        counter = known.names.get("ja") if known is not None else ""
        self.title_text = tr._("Counter desk: {counter}").format(counter=counter or self.counter)
        self.desk.issuer.reader.start(
            lambda: on_main(self.card_arrived),
            lambda: on_main(self.card_left),
            lambda ok: on_main(self._reader_health, ok),
        )
        self.wedge = WedgeScanner(lambda: self.sm.current == "qr", self.scanned)
        screens = [VisitScreen(), CardScreen(), PinScreen(), QrScreen(), FieldsScreen(), PreviewScreen()]
        self.sm.bind(current=self._face)
        return screens

    def connect(self) -> None:
        assert self.link is not None
        self.link.listen(self.link.topics.serving_state(self.counter), ServingTicket, self.served)

    def screen(self, name: str):
        return self.sm.get_screen(name)

    def _face(self, _sm, current: str) -> None:
        """Resident screens speak the visit's language, staff screens the desk's."""
        lang = self.device.screen.language
        if current in RESIDENT_SCREENS and self.desk.serving is not None and self.desk.serving.lang:
            lang = self.desk.serving.lang
        if tr.lang != lang:
            tr.switch(lang)

    def _reader_health(self, ok: bool) -> None:
        self.reader_ok = ok
        self._update_service()

    # ------------------------------------------------------------ the counter's visit
    def served(self, _topic: str, message: ServingTicket) -> None:
        if self.desk.served(message):
            self._forget_screens()
            self.goto("visit")
            self.screen("visit").notice = tr._("The visit was completed at the counter: its data was wiped.")
        self._show_serving()

    def _show_serving(self) -> None:
        screen = self.screen("visit")
        serving = self.desk.serving
        forms = self.desk.forms()
        screen.foreign = self.desk.resident_kind == "foreign"
        if serving is None or serving.ticket is None:
            screen.serving_text = tr._("The counter serves nobody now.")
            screen.forms_text = ""
            screen.can_open = False
            return
        screen.serving_text = tr._("Now serving No. {number}").format(number=serving.number)
        titles = [t.title for t, _pid in forms]
        screen.forms_text = (
            tr._("Forms: {forms}").format(forms="、".join(titles)) if titles else tr._("This visit has no forms.")
        )
        screen.can_open = bool(forms)

    def toggle_foreign(self) -> None:
        """The staff say whether the resident is a foreign resident (the card does not say): the forms shown,
        asked and printed are then the foreign-resident variants, with the ticket's language on bilingual ones."""
        self.desk.mark_foreign(self.desk.resident_kind != "foreign")
        self._show_serving()

    def open_visit(self, source: Source) -> None:
        self.screen("visit").notice = ""
        self.desk.open(source)
        if source == "card":
            self.screen("card").state = "waiting"
            self.goto("card")
            self._open_card(quiet=True)
        elif source == "qr":
            qr = self.screen("qr")
            qr.state, qr.message = "waiting", ""
            self.goto("qr")
        else:
            self.show_fields()

    def switch_to_typed(self) -> None:
        self.desk.issuer.end("typed instead")
        if self.desk.visit is not None:
            self.desk.visit.source = "typed"
        self.show_fields()

    # ------------------------------------------------------------ the card (same rules as the form issuer)
    def card_arrived(self) -> None:
        if self.sm.current == "card":
            self._open_card(quiet=False)

    def card_left(self) -> None:
        if self.sm.current == "pin":  # taken away before it was read: nothing was read, back to the card
            self.desk.issuer.end("card_removed")
            self.screen("card").state = "waiting"
            self.goto("card")
        elif self.sm.current == "card" and self.screen("card").state == "error":
            self.screen("card").state = "waiting"

    def _card_opened(self, tries: int) -> None:
        if self.sm.current != "card":
            return
        pin = self.screen("pin")
        pin.tries_left, pin.message, pin.last_try = tries, "", tries == 1
        self.goto("pin")

    def confirm_last_try(self) -> None:
        self.confirmed_last_try = True
        pin = self.screen("pin")
        pin.last_try = False
        pin.message = tr._("Last try: please check your PIN carefully.")

    def pin_entered(self, pin: str) -> None:
        screen = self.screen("pin")
        screen.busy, screen.message = "verifying", ""
        confirmed = self.confirmed_last_try

        def done(_items) -> None:
            screen.busy = ""
            self.show_fields()

        def failed(exc: Exception) -> None:
            screen.busy = ""
            if isinstance(exc, LastTryUnconfirmed):
                screen.last_try = True
            elif isinstance(exc, CardError) and exc.code == "wrong_pin":
                screen.tries_left = exc.tries_left or 0
                screen.message = tr._("Wrong PIN. Please try again.")  # the tries left: on their own line
                self.confirmed_last_try = False
                screen.last_try = exc.tries_left == 1
            else:
                self._card_problem(exc)

        self._run(lambda: self.desk.issuer.enter_pin(pin, confirmed_last_try=confirmed), done, failed)

    # ------------------------------------------------------------ pre-entry QR (keyboard-wedge scanner)
    def scanned(self, text: str) -> None:
        qr = self.screen("qr")
        try:
            fields = self.desk.issuer.scan_preentry(text)
        except PreEntryError as e:
            qr.state, qr.message = "bad", tr._(PREENTRY_MESSAGES.get(e.code, PREENTRY_MESSAGES["malformed"]))
            return
        except Exception:  # noqa: BLE001 - whatever a scanner types is an unreadable code
            log.exception("a scanned pre-entry code could not be read")
            qr.state, qr.message = "bad", tr._(PREENTRY_MESSAGES["malformed"])
            return
        qr.state = "ok"
        qr.message = tr._("Read {n} answers from the resident's web form.").format(n=len(fields))

    # ------------------------------------------------------------ fields, preview, print
    def show_fields(self) -> None:
        if self.desk.visit is None:
            self.goto("visit")
            return
        titles = {t.id: t.title for t, _pid in self.desk.forms()}
        self.screen("fields").show(self.desk.asks(), titles, self.desk.visit.answers)
        self.goto("fields")

    def preview(self) -> None:
        fields = self.screen("fields")
        try:
            self.desk.answer(fields.answers())
        except ValueError:
            bad = self.desk.check(fields.answers())
            labels = {a.source: a.label for a in self.desk.asks()}
            fields.message = tr._("Check these fields: {fields}").format(
                fields="、".join(labels.get(s, s) for s in bad)
            )
            return

        def done(forms) -> None:
            self.screen("preview").show(forms)
            self.goto("preview")

        def failed(exc: Exception) -> None:
            if isinstance(exc, Unprintable):  # a form found a value it cannot print (a 在留カード番号...)
                labels = {a.source: a.label for a in self.desk.asks()}
                fields.message = tr._("Check these fields: {fields}").format(
                    fields="、".join(labels.get(s, s) for s in exc.sources)
                )
                return
            log.exception("rendering the forms failed", exc_info=exc)
            fields.message = tr._("The forms could not be prepared.")

        self._run(self.desk.prepare, done, failed)

    def print_forms(self) -> None:
        preview = self.screen("preview")
        preview.state, preview.message = "printing", ""

        def done(_job) -> None:
            count = len(self.desk.visit.procedures) if self.desk.visit else 0
            pages = len(self.desk.issuer.visit.rendered)
            self.end_visit("printed")
            self.screen("visit").notice = tr._("Printed {n} forms in one job. The resident's data was wiped.").format(
                n=pages or count
            )

        def failed(exc: Exception) -> None:
            show_print_failure(preview, exc)

        self._run(self.desk.print_forms, done, failed)

    # ------------------------------------------------------------ counts for the KPIs (form ids only)
    def _printed_counts(self, form_ids: list[str]) -> None:
        lang = self.desk.serving.lang if self.desk.serving is not None and self.desk.serving.lang else "ja"
        on_main(self._queue_count, {"forms": list(form_ids), "lang": lang})

    # ------------------------------------------------------------ the end of a visit
    def _forget_screens(self) -> None:
        self.confirmed_last_try = False
        self.wedge.clear()
        self.screen("preview").forget()
        self.screen("fields").forget()
        pin = self.screen("pin")
        pin.message, pin.last_try = "", False

    def end_visit(self, why: str) -> None:
        self._forget_screens()
        self.desk.mark_foreign(False)
        self._show_serving()
        self._run(lambda: self.desk.end(why), lambda _r: None, lambda exc: log.error("wipe failed: %r", exc))
        self.goto("visit")

    def needs_reset(self) -> bool:
        return self.desk.holds_personal_data

    def on_idle(self) -> None:
        self.end_visit("idle")
        super().on_idle()

    def on_stop(self) -> None:
        self.desk.issuer.reader.stop()
        self.desk.end("stopped")
        self._work.shutdown(wait=False, cancel_futures=True)
        super().on_stop()
