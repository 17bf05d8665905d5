"""Application forms (申請書) printed by the form issuer: templates as data, a pure fill and layout core, rendering.

``model`` loads and checks the templates (``sites/<site>/forms/*.toml``); ``fill`` and ``layout`` are pure (what each
field says, how it fits its box); ``render`` draws pages with Pillow and packs them into one PDF; ``spool`` hands the
PDF to CUPS (or a folder, for the demo and tests). See docs/forms.md.
"""

from form_printer.forms.fill import FormInputs, field_values, wareki, western_date
from form_printer.forms.layout import Fit, fit_text
from form_printer.forms.model import FormField, FormTemplate, check_site_forms, load_templates
from form_printer.forms.render import RenderedForm, forms_pdf, preview_image, render_form
from form_printer.forms.spool import CupsSpool, FormSpool, PdfSpool, SpoolError, open_spool

__all__ = [
    "CupsSpool",
    "Fit",
    "FormField",
    "FormInputs",
    "FormSpool",
    "FormTemplate",
    "PdfSpool",
    "RenderedForm",
    "SpoolError",
    "check_site_forms",
    "field_values",
    "fit_text",
    "forms_pdf",
    "load_templates",
    "open_spool",
    "preview_image",
    "render_form",
    "wareki",
    "western_date",
]
