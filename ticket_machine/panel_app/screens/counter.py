"""The counter: open/close, call next, recall, complete, no-show, transfer; the visit and its reception on the
left; on the right the booth's seat (a booth), the booths' requests to take (a section) and who comes next."""

from __future__ import annotations

from kivy.app import App
from kivy.factory import Factory
from kivy.uix.screenmanager import Screen

from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv
from kiosk.ui.widgets import BigButton, Body
from ticket_machine.panel_app.dispatch import booth_line, request_lines
from ticket_machine.panel_app.itinerary import itinerary_lines, serving_now
from ticket_machine.panel_app.reception import coming_sections, reception_lines

load_screen_kv(__file__)

TONES = {"done": "muted", "here": "ok", "later": "fg"}
MARKS = {"done": "✓", "here": "▶", "later": "・"}


class CounterScreen(Screen):
    def on_kv_post(self, _base) -> None:
        app = App.get_running_app()
        app.bind(ticket=lambda *_: self.show(), seated=lambda *_: self.show(), counter_id=lambda *_: self.show())
        app.bind(desk_rev=lambda *_: self.show_side())
        tr.bind(lang=lambda *_: self.show())

    @staticmethod
    def shown_ticket(ticket, seated):
        """The visit the left side shows: the one served here, else (a booth) the resident seated here."""
        return ticket if ticket is not None else seated

    @staticmethod
    def shown_lang(ticket, seated) -> str | None:
        """The language of the visit shown (served here, else seated here)."""
        shown = ticket if ticket is not None else seated
        return shown.lang if shown is not None else None

    @staticmethod
    def number_text(ticket, serving_number, seated_number) -> str:
        number = ticket.number if ticket else (serving_number or seated_number)
        return str(number) if number else "—"

    # ------------------------------------------------------------ the visit (left)
    def show(self) -> None:
        app = App.get_running_app()
        reception, itinerary = self.ids.reception, self.ids.itinerary
        reception.clear_widgets()
        itinerary.clear_widgets()
        self.ids.note.text = self.ids.now.text = ""
        counter = app.counter
        ticket = self.shown_ticket(app.ticket, app.seated)
        if ticket is None or counter is None:
            return
        if app.ticket is not None:
            self.ids.now.text = serving_now(app.site, ticket, tr.lang)
        for line in reception_lines(app.site, ticket.reception, tr.lang):
            reception.add_widget(Body(text=line, font_base=17))
        if app.ticket is not None:  # a seated resident's itinerary goes stale while sections serve: not shown
            for state, text in itinerary_lines(app.site, ticket, tr.lang):
                itinerary.add_widget(
                    Body(text=f"{MARKS[state]} {text}", tone=TONES[state], bold=state == "here", font_base=18)
                )
        if ticket.note is not None:
            origin = app.site.counter_by_id.get(ticket.note.counter)
            where = tr.name(origin.names) if origin else ticket.note.counter
            self.ids.note.text = tr._("Note from {counter}:").format(counter=where) + " " + ticket.note.text

    # ------------------------------------------------------------ booth, requests, coming (right)
    def show_side(self) -> None:
        app = App.get_running_app()
        side = self.ids.side
        side.clear_widgets()
        counter = app.counter
        if counter is None:
            return
        now, lang = app.now(), tr.lang
        if app.at_booth:
            line = booth_line(app.site, counter, app.booths.get(counter.id), now, lang)
            card = Factory.SideCard()
            card.add_widget(Body(text=tr._("This booth"), bold=True, font_base=19))
            for text in line.lines:
                card.add_widget(Body(text=text, font_base=17))
            if line.number is not None:
                button = BigButton(
                    key="hand-over", kind="secondary", font_base=18, text=tr._("Hand over to the counters")
                )
                button.disabled = not line.can_hand_over
                button.bind(on_release=lambda *_: app.goto("handover"))
                card.add_widget(button)
            side.add_widget(card)
        else:
            requests = request_lines(app.site, counter, app.requests, now, lang)
            side.add_widget(
                Body(text=tr._("Booth requests ({count})").format(count=len(requests)), bold=True, font_base=19)
            )
            if not requests:
                side.add_widget(Body(text=tr._("No booth is asking for this counter."), tone="fg", font_base=17))
            for request in requests:
                row = Factory.RequestRow()
                row.add_widget(Body(text=request.text, font_base=17, tone="danger" if request.priority else "fg"))
                button = BigButton(key=f"take-{request.number}", font_base=18, text=tr._("Going"), size_hint_x=None)
                button.width = button.min_width * 1.7
                button.disabled = not app.is_open or app.busy or app.serving_number is not None
                button.bind(on_release=lambda _b, t=request.ticket: app.take_request(t))
                row.add_widget(button)
                side.add_widget(row)
        for section in coming_sections(app.site, counter, app.coming, lang):
            side.add_widget(Body(text=section.title, bold=True, font_base=19))
            if not section.lines:
                side.add_widget(Body(text=tr._("Nobody is waiting."), tone="fg", font_base=17))
            for coming in section.lines:
                card = Factory.SideCard()
                card.key = f"coming-{coming.number}"
                card.add_widget(Body(text=coming.head, bold=True, font_base=18))
                for text in coming.details:
                    card.add_widget(Body(text=text, font_base=16))
                side.add_widget(card)
