"""The form issuer app: card → PIN → procedures → preview → print, on top of :class:`FormIssuer`.

A foreign resident says so with the large toggle on the procedures screen (never guessed from the card): the forms
are then the foreign-resident variants, their own fields (国籍・地域, 在留資格, 在留カード番号...) are asked once on
the details screen (a malformed 在留カード番号 refused there), and bilingual forms print the screen's language
under each Japanese label.

Card and printer calls block, so they run one at a time on a worker thread; their outcome hops
back to Kivy's thread. The visit ends, and its data is wiped, when the resident finishes, takes
the card away mid-visit, stops, or walks away (idle timeout). The bus is used only for anonymous
counts (``record_forms``): the form issuer keeps working when the queue service is down, so the
out-of-service cover shows only when this machine cannot do its job (no card reader, no printer).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from kivy.clock import Clock

from form_printer.app.screens.card import CardScreen
from form_printer.app.screens.choose import ChooseScreen
from form_printer.app.screens.details import DetailsScreen
from form_printer.app.screens.pin import PinScreen
from form_printer.app.screens.preview import PreviewScreen
from form_printer.app.screens.printing import PrintingScreen
from form_printer.app.screens.warning import WarningScreen
from form_printer.app.screens.welcome import WelcomeScreen
from form_printer.card.protocol import CardError
from form_printer.form_counts import FormCountsOutbox
from form_printer.issuer import CardReaderPort, FormIssuer, LastTryUnconfirmed, ResidentKind
from form_printer.messages import PREENTRY_MESSAGES
from form_printer.preentry import PreEntryError
from form_printer.screen_parts import BackgroundWork, CardReading, show_print_failure
from form_printer.setup import issuer_for
from kiosk.bus.contract import Role
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site
from kiosk.i18n import N_
from kiosk.ui.lang import tr
from kiosk.ui.link import on_main
from kiosk.ui.shell import KioskShell
from kiosk.ui.wedge import WedgeScanner

log = logging.getLogger(__name__)

CARD_TAKEN_AWAY = N_("The card was taken away, so your visit has ended and nothing was kept.")
#: After the forms are printed, back to the welcome screen by itself.
DONE_SECONDS = 45
#: Screens where the resident's data is on screen or in use: taking the card away ends the visit.
VISIT_SCREENS = ("pin", "warning", "choose", "details", "preview")


class FormIssuerApp(FormCountsOutbox, BackgroundWork, CardReading, KioskShell):
    role = Role.FORMS
    home_screen = "welcome"

    def __init__(self, device: DeviceConfig, site: Site, reader: CardReaderPort | None = None, **kw) -> None:
        """``reader``: a card reader to use instead of the device file's PC/SC reader (the dev kit's)."""
        super().__init__(device, site, **kw)
        self.issuer: FormIssuer = issuer_for(device, site, on_printed=self._printed_counts, reader=reader)
        self.reader_ok = True
        self.confirmed_last_try = False
        self._work = ThreadPoolExecutor(max_workers=1, thread_name_prefix="card-printer")
        #: Anonymous counts not yet acknowledged by the queue service (sent again when it is back).
        self.pending_counts: list[dict] = []
        self._done_event = None
        self._procedures: list[str] = []
        self._resident_kind: ResidentKind = "japanese"

    def make_screens(self):
        self.title_text = tr._("Application forms")
        tr.bind(lang=lambda *_: setattr(self, "title_text", tr._("Application forms")))
        self.issuer.reader.start(
            lambda: on_main(self.card_arrived),
            lambda: on_main(self.card_left),
            lambda ok: on_main(self._reader_health, ok),
        )
        self.wedge = WedgeScanner(lambda: self.sm.current == "choose", self.scanned)
        return [
            WelcomeScreen(),
            CardScreen(),
            PinScreen(),
            WarningScreen(),
            ChooseScreen(),
            DetailsScreen(),
            PreviewScreen(),
            PrintingScreen(),
        ]

    def _reader_health(self, ok: bool) -> None:
        """The card reader (or pcscd) went away or came back: cover the screen meanwhile."""
        self.reader_ok = ok
        self._update_service()
        if ok and self.sm.current == "card" and self.screen("card").state == "error":
            self.screen("card").state = "waiting"

    def screen(self, name: str):
        return self.sm.get_screen(name)

    # ------------------------------------------------------------ the card
    def start_visit(self) -> None:
        self.screen("welcome").notice = ""
        self.screen("card").state = "waiting"
        self.goto("card")
        self._open_card(quiet=True)  # a card already on the reader

    def card_arrived(self) -> None:
        if self.sm.current in ("welcome", "card"):
            self.screen("welcome").notice = ""
            self.goto("card")
            self._open_card(quiet=False)

    def _card_opened(self, tries: int) -> None:
        if self.sm.current != "card":
            return
        pin = self.screen("pin")
        pin.tries_left = tries
        pin.message = ""
        self.goto("warning" if tries == 1 else "pin")

    def card_left(self) -> None:
        current = self.sm.current
        if current in VISIT_SCREENS:
            self.end_visit("card_removed")
            self.screen("welcome").notice = tr._(CARD_TAKEN_AWAY)
        elif current == "printing" and self.screen("printing").state == "done":
            self.end_visit("finished")
        elif current == "card" and self.screen("card").state == "error":
            self.screen("card").state = "waiting"

    def confirm_last_try(self) -> None:
        self.confirmed_last_try = True
        self.screen("pin").message = tr._("Last try: please check your PIN carefully.")
        self.goto("pin")

    def pin_entered(self, pin: str) -> None:
        screen = self.screen("pin")
        screen.busy = "verifying"
        screen.message = ""
        confirmed = self.confirmed_last_try

        def done(_items) -> None:
            screen.busy = ""
            self.screen("choose").clear()
            self.goto("choose")

        def failed(exc: Exception) -> None:
            screen.busy = ""
            if isinstance(exc, LastTryUnconfirmed):
                self.goto("warning")
            elif isinstance(exc, CardError) and exc.code == "wrong_pin":
                screen.tries_left = exc.tries_left or 0
                screen.message = tr._("Wrong PIN. Please try again.")  # the tries left: on their own line
                self.confirmed_last_try = False
                if exc.tries_left == 1:
                    self.goto("warning")
            else:
                self._card_problem(exc)

        self._run(lambda: self.issuer.enter_pin(pin, confirmed_last_try=confirmed), done, failed)

    # ------------------------------------------------------------ pre-entry QR (keyboard-wedge scanner)
    def scanned(self, text: str) -> None:
        choose = self.screen("choose")
        try:
            fields = self.issuer.scan_preentry(text)
        except PreEntryError as e:
            choose.preentry_ok = "bad"
            choose.preentry = tr._(PREENTRY_MESSAGES.get(e.code, PREENTRY_MESSAGES["malformed"]))
            return
        except Exception:  # whatever a scanner types, the resident keeps the kiosk: it is an unreadable code
            log.exception("a scanned pre-entry code could not be read")
            choose.preentry_ok = "bad"
            choose.preentry = tr._(PREENTRY_MESSAGES["malformed"])
            return
        choose.preentry_ok = "ok"
        choose.preentry = tr._("Read {n} answers from your web form. They will be printed on your forms.").format(
            n=len(fields)
        )

    # ------------------------------------------------------------ forms
    def prepare_forms(self, procedures: list[str]) -> None:
        """The chosen procedures' forms; a foreign resident is first asked the variants' own fields (once)."""
        choose = self.screen("choose")
        choose.message = ""
        self._procedures = list(procedures)
        self._resident_kind = "foreign" if choose.foreign else "japanese"
        asks = self.issuer.variant_asks(self._procedures, self._resident_kind)
        if asks:
            self.screen("details").show(asks, lambda ask: self.issuer.ask_in_language(ask, tr.lang))
            self.goto("details")
            return
        self._render()

    def details_done(self, answers: dict[str, str]) -> None:
        """The resident's answers on the details screen: a malformed 在留カード番号 (or date) is refused there."""
        details = self.screen("details")
        details.message = details.problem()
        if details.message:
            return
        self.issuer.answer(answers)
        self._render()

    def _render(self) -> None:
        choose = self.screen("choose")
        kind, lang, procedures = self._resident_kind, tr.lang, list(self._procedures)

        def done(forms) -> None:
            invalid = self.issuer.invalid_sources()
            if invalid:  # the last guard: a value the form refuses is asked again, never printed blank
                self.screen("preview").forget()
                self.screen("details").refuse(invalid)
                self.goto("details")
                return
            self.screen("preview").show(forms)
            self.goto("preview")

        def failed(exc: Exception) -> None:
            log.exception("rendering the forms failed", exc_info=exc)
            choose.message = tr._("The forms could not be prepared. Please ask a member of staff.")
            self.goto("choose")

        self._run(lambda: self.issuer.prepare(procedures, resident_kind=kind, lang=lang), done, failed)

    def print_forms(self) -> None:
        printing = self.screen("printing")
        printing.state = "printing"
        self.goto("printing")

        def done(_job) -> None:
            printing.state = "done"
            self._done_event = Clock.schedule_once(lambda _dt: self._auto_finish(), DONE_SECONDS)

        def failed(exc: Exception) -> None:
            show_print_failure(printing, exc)

        self._run(self.issuer.print_forms, done, failed)

    def _auto_finish(self) -> None:
        if self.sm.current == "printing" and self.screen("printing").state == "done":
            self.end_visit("finished")

    # ------------------------------------------------------------ counts for the KPIs
    def _printed_counts(self, form_ids: list[str]) -> None:
        on_main(self._queue_count, {"forms": list(form_ids), "lang": tr.lang})

    # ------------------------------------------------------------ the end of a visit
    def end_visit(self, why: str) -> None:
        if self._done_event is not None:
            self._done_event.cancel()
            self._done_event = None
        self.confirmed_last_try = False
        self.wedge.clear()
        self.screen("preview").forget()
        self.screen("details").forget()
        self.screen("choose").clear()
        self._procedures, self._resident_kind = [], "japanese"
        self.screen("pin").message = ""
        self._run(lambda: self.issuer.end(why), lambda _r: None, lambda exc: log.error("wipe failed: %r", exc))
        self.goto("welcome")

    def needs_reset(self) -> bool:
        return self.issuer.visit.items is not None

    def on_idle(self) -> None:
        self.end_visit("idle")
        super().on_idle()

    def on_stop(self) -> None:
        self.issuer.reader.stop()
        self.issuer.end("stopped")
        self._work.shutdown(wait=False, cancel_futures=True)
        super().on_stop()
