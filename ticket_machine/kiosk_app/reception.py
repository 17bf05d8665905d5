"""Who may issue at this kiosk, and what the concierge's note may say. Pure (no Kivy), unit-tested alone.

A city may want residents never to pick their own ticket (Isesaki: 「市民の判断で発券することが無いように」):
the site file marks such a kiosk ``issuing = "concierge"`` and names where reception is. That kiosk is
locked for residents (its home screen sends them to reception) until a member of staff unlocks it
with the PIN, issues one ticket after the interview, and it locks again by itself.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from kiosk.config.site import Names, Site
from kiosk.i18n import N_, gettext_for

#: The concierge's note travels on the bus with the ticket; the schema caps it here too (IssueArgs.note).
NOTE_MAX = 200

#: Seven or more digits in a row (spaces and dashes allowed between them): a phone number, a postcode,
#: a My Number, a resident or insurance number. A note never needs one.
_LONG_NUMBER = re.compile(r"\d(?:[\s\-‐‑–—ー－]?\d){6,}")
_EMAIL = re.compile(r"\S@\S")

NOTE_PERSONAL = N_("No personal data in the note (names, numbers, addresses, e-mail). Please remove it.")

#: One tap instead of typing at the reception desk (English message ids, shown in the screen's language).
NOTE_PRESETS = (
    N_("Documents checked"),
    N_("Identity confirmed"),
    N_("Needs an interpreter"),
    N_("Please explain in easy Japanese"),
    N_("Accompanied by a family member"),
)


@dataclass(frozen=True)
class IssuingPolicy:
    """The issuing policy of one ticket kiosk, from its ``[[devices]]`` entry in the site file."""

    concierge_only: bool = False
    #: Where reception is, in every language the site names it (concierge-only kiosks).
    reception: Names | None = None

    @classmethod
    def for_device(cls, site: Site, device_id: str) -> IssuingPolicy:
        """A device the site does not list issues as before (self-service)."""
        device = site.device_by_id.get(device_id)
        if device is None:
            return cls()
        return cls(concierge_only=device.issuing == "concierge", reception=device.reception)

    def locked(self, staff: bool) -> bool:
        """Whether the resident in front of the kiosk is kept from issuing: concierge-only and no staff unlock."""
        return self.concierge_only and not staff

    def staff_after_issue(self, staff: bool) -> bool:
        """Staff mode after a ticket is issued: a concierge-only kiosk locks again at once, so the resident
        left in front of it cannot issue a second one; a self-service kiosk keeps its helper's mode."""
        return staff and not self.concierge_only

    def reception_name(self, lang: str) -> str:
        return self.reception.get(lang) if self.reception is not None else ""


HELP_AT = N_("For help, please go to {place} or ask a member of staff nearby.")
HELP_NEARBY = N_("For help, please ask a member of staff nearby.")


def help_place(site: Site, device_id: str) -> Names | None:
    """Where a resident gets help (a ticket that did not print, a question): this kiosk's reception, else the
    reception any kiosk of the site names, else None (staff nearby)."""
    device = site.device_by_id.get(device_id)
    if device is not None and device.reception is not None:
        return device.reception
    return next((d.reception for d in site.devices if d.reception is not None), None)


def help_text(site: Site, device_id: str, lang: str) -> str:
    """The sentence that says where to get help, in ``lang``."""
    place = help_place(site, device_id)
    if place is None:
        return gettext_for(lang, HELP_NEARBY)
    return gettext_for(lang, HELP_AT).format(place=place.get(lang))


def clean_note(text: str) -> str:
    """The note as it is kept and sent: surrounding blanks dropped, at most :data:`NOTE_MAX` characters."""
    return unicodedata.normalize("NFC", text).strip()[:NOTE_MAX]


def with_preset(note: str, preset: str, lang: str) -> str:
    """The note with a ready-made phrase appended (once), within :data:`NOTE_MAX`."""
    if preset in note:
        return note
    sep = "、" if lang.startswith("ja") or lang == "zh" else "; "
    return clean_note(f"{note.rstrip()}{sep}{preset}" if note.strip() else preset)


def note_problem(text: str) -> str | None:
    """Why a note may not be sent (a message id), or None. Only a safety net: the hint on screen is the rule.

    Personal data never goes on the bus; a long number or an e-mail address is the kind a note could catch.
    """
    wide = unicodedata.normalize("NFKC", text)  # full-width digits and ＠ as ASCII
    if _LONG_NUMBER.search(wide) or _EMAIL.search(wide):
        return NOTE_PERSONAL
    return None
