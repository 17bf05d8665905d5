"""The filled forms before printing: one thumbnail per page, tap to zoom; blank boxes are named."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.image import Image
from kivy.uix.screenmanager import Screen

from form_printer.forms.render import RenderedForm, preview_image
from form_printer.screen_parts import texture_of
from kiosk.ui.lang import tr
from kiosk.ui.shell import load_screen_kv

load_screen_kv(__file__)

#: Thumbnail resolution; the zoomed page is as wide as the screen (scroll down to read it all).
THUMB_PX = 560


class PageThumb(ButtonBehavior, Image):
    key = StringProperty("")
    form = ObjectProperty(None, allownone=True)


class PreviewScreen(Screen):
    zoomed = BooleanProperty(False)
    blank_note = StringProperty("")
    #: A page carries the resident's language under its labels (a bilingual foreign-resident form): said so.
    bilingual = BooleanProperty(False)

    def show(self, forms: list[RenderedForm]) -> None:
        self.zoomed = False
        self.bilingual = any(f.second_language for f in forms)
        pages = self.ids.pages
        pages.clear_widgets()
        for form in forms:
            thumb = PageThumb(key=f"page-{form.form_id}", form=form, fit_mode="contain")
            thumb.texture = texture_of(preview_image(form, THUMB_PX))
            thumb.bind(on_release=lambda t: self.zoom(t.form))
            pages.add_widget(thumb)
        blanks = [(f.title, b) for f in forms for b in f.overflows]
        self.blank_note = (
            tr._("Some boxes are left blank for you to write by hand: {n}").format(n=len(blanks)) if blanks else ""
        )

    def zoom(self, form: RenderedForm) -> None:
        width = max(THUMB_PX, int(self.ids.zoom_scroll.width) - 16)
        self.ids.zoom_image.texture = texture_of(preview_image(form, width))
        self.ids.zoom_scroll.scroll_y = 1
        self.zoomed = True

    def forget(self) -> None:
        """Drop every texture of the resident's pages (the visit ended)."""
        self.ids.pages.clear_widgets()
        self.ids.zoom_image.texture = None
        self.zoomed = self.bilingual = False
