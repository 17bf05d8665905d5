"""What the register says, by code: refused slips, device faults, recovery events. Display helpers.

Codes come from the core (:mod:`register.slips`, :mod:`register.checkout`); the texts are
English message ids translated through the catalogs (``tr._`` at display time).
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import suppress
from datetime import date

from kiosk.i18n import N_
from kiosk.ui.lang import tr
from register.app.flow import local_date

#: Why a scanned code was not added (SlipError and SlipRefused codes), with the refusal's parameters.
SCAN_MESSAGES = {
    "unknown_format": N_("This code is not a payment slip. Please scan the barcode or QR code of the slip."),
    "malformed": N_("This slip could not be read. Please pay it at the counter."),
    "bad_check_digit": N_("This slip could not be read correctly. Please scan it again."),
    "bad_crc": N_("This slip could not be read correctly. Please scan it again."),
    "expired": N_("The payment deadline of this slip ({deadline}) has passed. Please pay it at the counter."),
    "over_limit": N_("This slip is over {limit} yen and cannot be paid here. Please pay it at the counter."),
    "total_over_limit": N_("The total would be over {limit} yen. Please pay these slips first, then the rest."),
    "duplicate": N_("This slip is already in the list."),
    "not_accepted": N_("This slip cannot be paid at this register. Please ask a member of staff."),
    "too_many": N_("You can pay up to {limit} slips at once. Please pay these first, then the rest."),
    "no_amount": N_("This slip shows no amount to pay. Please ask at the counter."),
    "already_paid": N_("This bill has already been paid here. Please ask at the counter if you think it was not."),
}
#: Why a fee keyed in by staff was refused (SlipRefused codes of Cart.add_fee).
FEE_MESSAGES = {
    "not_accepted": N_("This fee cannot be taken at this register."),
    "over_limit": N_("The amount is over the limit for one line."),
    "too_many": N_("The list is full."),
    "total_over_limit": N_("The total would be over the limit."),
}
#: Recovery events (RecoveryReport.events) in words for the staff screen; others are shown as codes.
RECOVERY_EVENTS = {
    "receipt_printed": N_("receipt reprinted"),
    "receipt_not_printed": N_("receipt NOT printed"),
    "cash_given_back": N_("cash given back"),
    "change_given": N_("change paid out"),
    "credits_found": N_("cash found in the machine"),
    "interrupted": N_("interrupted before payment"),
    "sale_paid": N_("card payment confirmed"),
    "sale_cancelled": N_("card payment cancelled"),
    "sale_aborted": N_("card payment declined"),
    "paid": N_("paid"),
    "terminal_not_answering": N_("the payment terminal does not answer"),
    "sale_pending_no_terminal": N_("the payment terminal does not answer"),
    "cash_pending_no_changer": N_("the cash machine does not answer"),
}
#: Why the queue service did not close a ticket's payment step (``ticket_done`` results), for the staff screen.
TICKET_PROBLEMS = {
    "nothing_to_pay": N_("no payment step was open on it"),
    "unknown_ticket": N_("not a ticket of today"),
    "ticket_closed": N_("the ticket was cancelled"),
    "invalid": N_("its code could not be sent"),
}
RESULTS = {
    "paid": N_("paid"),
    "cancelled": N_("cancelled"),
    "aborted": N_("not paid"),
    "open": N_("NOT SETTLED"),
}


def yen(amount: int) -> str:
    """An amount in the screen's language: 12,300円, ¥12,300, ..."""
    return tr._("{amount} yen").format(amount=f"{amount:,}")


def day(d: date | None) -> str:
    """A date in the screen's language (2026年12月4日), never ISO inside a sentence."""
    return local_date(d, tr.lang) if d else ""


#: Refusal parameters that are dates: :func:`register.slips.policy.refusal_params` gives them as ISO (language
#: neutral, kept while the language changes); they are worded when shown.
DATE_PARAMS = ("deadline",)


def scan_message(code: str, params: dict[str, str]) -> str:
    message = tr._(SCAN_MESSAGES.get(code, SCAN_MESSAGES["malformed"]))
    shown = dict(params)
    for name in DATE_PARAMS:
        with suppress(KeyError, ValueError):
            shown[name] = day(date.fromisoformat(params[name]))
    return message.format_map(defaultdict(str, shown))


def recovery_event(event: str) -> str:
    if event.startswith("changer_"):
        return tr._("the cash machine does not answer") + f" ({event})"
    message = RECOVERY_EVENTS.get(event)
    return tr._(message) if message else event


def brands(media: str) -> str:
    """The payment brands the terminal takes for one kind of media (credit, emoney, qr)."""
    from register.cashless.protocol import BRANDS

    return ", ".join(name for name, m in BRANDS.items() if m.value == media)


def ticket_problem(number: int | None, result: str, tx: str, at: str) -> str:
    """One line of the staff screen: a paid transaction whose ticket the queue service did not close."""
    why = TICKET_PROBLEMS.get(result)
    text = tr._("Ticket {number}: {why}").format(number=number or "?", why=tr._(why) if why else result)
    return f"{at}  {text}  ({tx})"
