"""What a resident reads when their card or pre-entry QR code cannot be used: one wording for the form issuer and
the counter desk (same msgids, translated once). Pure: no Kivy, so either app imports it without the other's
screens."""

from __future__ import annotations

from kiosk.i18n import N_

#: What the resident reads for each card problem (CardError codes).
CARD_MESSAGES = {
    "wrong_pin": N_("Wrong PIN."),
    "locked": N_("The PIN of this card is locked. Please go to the My Number Card counter with photo ID to unlock it."),
    "not_mynumber": N_("This is not a My Number Card. Please use your My Number Card."),
    "card_removed": N_("The card was moved before it could be read. Place it on the reader again."),
    "reader_missing": N_("The card reader is not working. Please ask a member of staff."),
    "card_error": N_("The card could not be read. Please ask a member of staff."),
}
#: Why a pre-entry QR code was refused (PreEntryError codes).
PREENTRY_MESSAGES = {
    "expired": N_("This QR code has expired. Please fill in the web form again, or write the form by hand."),
    "tampered": N_("This QR code is not valid (it was changed or is from another site)."),
    "wrong_site": N_("This QR code is not valid (it was changed or is from another site)."),
    "malformed": N_("This is not a QR code from the city's web form."),
    "unknown_field": N_("This QR code has answers this machine does not know. Please ask a member of staff."),
    "no_key": N_("This machine cannot read pre-entry QR codes. Please ask a member of staff."),
}
