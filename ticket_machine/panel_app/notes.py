"""Ready-made handover notes: one tap instead of typing at the counter. Pure."""

from __future__ import annotations

from kiosk.i18n import N_

#: English message ids; the panel shows them in its language (kiosk/locale).
PRESET_NOTES = (
    N_("Documents checked"),
    N_("Identity confirmed"),
    N_("Needs help with the forms"),
    N_("Please explain in easy Japanese"),
    N_("Accompanied by a family member"),
)
