"""The guidance list: each procedure, its counter and floor, what to bring, in serving order.

The resident (or the concierge) unticks what is not needed or adds one more, then
issues ONE ticket for the whole list. A visit that will go to a one-stop booth says so: its booth
procedures are served at the booth, not at counters on other floors.
"""

from __future__ import annotations

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.i18n import LANGUAGES
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from queue_service.guidance import guidance
from ticket_machine.kiosk_app.slip import ONE_STOP_NOTICE, where_served

load_screen_kv(__file__)


class ProcedureRow(BoxLayout):
    procedure = StringProperty("")
    ticked = BooleanProperty(True)
    title = StringProperty("")
    where = StringProperty("")
    bring = StringProperty("")


class GuidanceScreen(Screen):
    message = StringProperty("")

    def on_kv_post(self, _base) -> None:
        tr.bind(lang=lambda *_: self.rebuild() if self.manager and self.manager.current == self.name else None)

    def on_pre_enter(self, *_a) -> None:
        self.message = ""
        self.rebuild()

    def rebuild(self) -> None:
        app = App.get_running_app()
        site, sel = app.site, app.selection
        rows = self.ids.rows
        rows.clear_widgets()
        listed = guidance(site, sel.listed(site))
        one_stop = sel.one_stop(site)
        for n, item in enumerate(listed, 1):
            bring = item.bring(tr.lang)
            rows.add_widget(
                ProcedureRow(
                    procedure=item.procedure.id,
                    ticked=item.procedure.id not in sel.unticked,
                    title=f"{n}. {item.procedure.names.get(tr.lang)}",
                    where=where_served(site, item, one_stop, tr.lang),
                    bring=(tr._("Bring:") + " " + " / ".join(bring)) if bring else "",
                )
            )
        chosen = sel.chosen(site)
        self.ids.issue.disabled = not chosen
        self.ids.summary.text = (
            tr._("{count} procedures, one ticket.").format(count=len(chosen)) if chosen else tr._("Nothing chosen yet.")
        )
        self.ids.one_stop.text = tr._(ONE_STOP_NOTICE) if one_stop else ""
        lang = sel.ticket_lang or tr.lang
        self.ids.ticket_lang.text = tr._("Ticket language: {language}").format(language=LANGUAGES[lang])
        self.ids.priority.kind = "toggle_on" if sel.priority else "toggle_off"
        note = " ".join(sel.note.split())
        self.ids.note.text = tr._("Note for the counters") + (f": {note}" if note else "")
        self.ids.note.kind = "toggle_on" if note else "secondary"

    def toggle(self, row: ProcedureRow) -> None:
        App.get_running_app().selection.toggle(row.procedure)
        self.rebuild()

    def toggle_priority(self) -> None:
        sel = App.get_running_app().selection
        sel.priority = not sel.priority
        self.rebuild()

    def next_ticket_language(self) -> None:
        sel = App.get_running_app().selection
        codes = list(LANGUAGES)
        current = sel.ticket_lang or tr.lang
        sel.ticket_lang = codes[(codes.index(current) + 1) % len(codes)]
        self.rebuild()
