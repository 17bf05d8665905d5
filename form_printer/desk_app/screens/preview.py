"""Resident side: the filled forms, page by page, before they are printed for signature.

The staff turn the screen (or the tablet) to the resident: one window, so the resident's pages never travel to a
second process or display server. Textures come from in-memory PNGs, never files.
"""

from __future__ import annotations

from kivy.properties import BooleanProperty, OptionProperty, StringProperty
from kivy.uix.image import Image
from kivy.uix.screenmanager import Screen

from form_printer.forms.render import RenderedForm, preview_image
from form_printer.screen_parts import texture_of
from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)

PAGE_PX = 620


class PreviewScreen(Screen):
    state = OptionProperty("ready", options=["ready", "printing", "failed"])
    message = StringProperty("")
    #: A page prints the resident's language under the Japanese labels (a bilingual foreign-resident form).
    bilingual = BooleanProperty(False)

    def show(self, forms: list[RenderedForm]) -> None:
        self.state, self.message = "ready", ""
        self.bilingual = any(f.second_language for f in forms)
        pages = self.ids.pages
        pages.clear_widgets()
        for form in forms:
            page = Image(fit_mode="contain")
            page.key = f"page-{form.form_id}"
            page.texture = texture_of(preview_image(form, PAGE_PX))
            pages.add_widget(page)

    def forget(self) -> None:
        self.ids.pages.clear_widgets()
        self.state, self.message = "ready", ""
