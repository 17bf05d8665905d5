"""The guidance list: each procedure, its counter and floor, what to bring, in serving order.

The resident (or the concierge) unticks what is not needed or adds one more, then
issues ONE ticket for the whole list. A visit that will go to a one-stop booth says so: its booth
procedures are served at the booth, not at counters on other floors.

What the list shows agrees with the printed ticket: only ticked procedures are numbered, each with its
stop on the ticket (:meth:`Selection.rows`). A procedure kept because of a "not sure" answer says staff will
confirm it. When the list is longer than the screen, a fade and "▼ 2 more" at its bottom say so.
"""

from __future__ import annotations

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.screenmanager import Screen

from kiosk.i18n import LANGUAGES, N_
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from ticket_machine.kiosk_app.screens.steps import VisitSteps  # noqa: F401  (the kv names it)
from ticket_machine.kiosk_app.slip import ONE_STOP_NOTICE, where_served

load_screen_kv(__file__)

TO_CONFIRM = N_("You were not sure: staff will check with you whether you need this.")
MORE_BELOW = N_("▼ {count} more below")


class ProcedureRow(BoxLayout):
    procedure = StringProperty("")
    ticked = BooleanProperty(True)
    title = StringProperty("")
    where = StringProperty("")
    bring = StringProperty("")
    confirm = StringProperty("")


class GuidanceScreen(Screen):
    message = StringProperty("")
    #: Rows below the visible part of the list (the scroll cue says how many).
    hidden_below = NumericProperty(0)
    more_text = StringProperty("")

    def on_kv_post(self, _base) -> None:
        tr.bind(lang=lambda *_: self.rebuild() if self.manager and self.manager.current == self.name else None)
        scroll, rows = self.ids.scroll, self.ids.rows
        scroll.bind(scroll_y=self._count_hidden, height=self._count_hidden)
        rows.bind(height=self._count_hidden)

    def on_pre_enter(self, *_a) -> None:
        self.message = ""
        self.rebuild()
        self.ids.scroll.scroll_y = 1

    def rebuild(self) -> None:
        app = App.get_running_app()
        site, sel = app.site, app.selection
        rows = self.ids.rows
        rows.clear_widgets()
        one_stop = sel.one_stop(site)
        for row in sel.rows(site):
            item = row.item
            bring = item.bring(tr.lang)
            name = item.procedure.names.get(tr.lang)
            rows.add_widget(
                ProcedureRow(
                    procedure=row.procedure,
                    ticked=row.ticked,
                    title=f"{row.number}. {name}" if row.number is not None else name,
                    where=where_served(site, item, one_stop, tr.lang),
                    bring=(tr._("Bring:") + " " + " / ".join(bring)) if bring else "",
                    confirm=tr._(TO_CONFIRM) if row.to_confirm and row.ticked else "",
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
        Clock.schedule_once(self._count_hidden, 0)

    def _count_hidden(self, *_a) -> None:
        """How many rows are not wholly inside the list's window, below it (the content's own coordinates)."""
        scroll, rows = self.ids.scroll, self.ids.rows
        overflow = max(0.0, rows.height - scroll.height)
        bottom = overflow * scroll.scroll_y  # the window's bottom edge in the rows box
        self.hidden_below = sum(1 for row in rows.children if row.y < bottom - 2)
        self.more_text = tr._(MORE_BELOW).format(count=self.hidden_below) if self.hidden_below else ""

    def toggle(self, row: ProcedureRow) -> None:
        App.get_running_app().selection.toggle(row.procedure)
        self.rebuild()

    def toggle_priority(self) -> None:
        sel = App.get_running_app().selection
        sel.priority = not sel.priority
        self.rebuild()

    def next_ticket_language(self) -> None:
        sel = App.get_running_app().selection
        codes = list(App.get_running_app().site.site.languages)  # the site's languages only
        current = sel.ticket_lang or tr.lang
        sel.ticket_lang = codes[(codes.index(current) + 1) % len(codes) if current in codes else 0]
        self.rebuild()
