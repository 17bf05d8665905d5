"""The resident's ticket at the register: its QR code, told apart from a payment slip. Pure, no I/O.

The ticket kiosk prints the resident's status page as a QR code: the device's ``status_url`` with the
ticket's token (``https://madoguchi.city.example.jp/t/{token}``, see ``ticket_machine/kiosk_app/slip.py``). A
slip code is digits only (a convenience-store barcode, an eL-QR), so a URL ending in ``/t/{token}`` is never
a slip, and whatever the scanner typed is routed here first (:func:`read_ticket`).

Scanning the ticket is optional for the resident: the payment is recorded for that ticket (``ticket_paid``
once the money is the city's), which closes the visit's payment step (routing ``register``) so the stay ends
at the register, not in a queue for a staffed payment counter.

The token opens the resident's status page: it is not personal data, but it is never logged in full
(:attr:`TicketCode.short`). The register learns the ticket's number and whether it has a payment step open
from the public status API (``/api/v1/tickets/{token}``) of its own office only (:func:`status_api_url`);
:func:`ticket_info` reads that answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from register.slips.scan import clean

#: A ticket's token as the queue service makes it (``secrets.token_urlsafe(16)``: 22 characters) and as the
#: contract accepts it (``TicketPaidArgs``).
TOKEN = r"[A-Za-z0-9_\-]{16,64}"
#: The status page's URL as printed: http(s), a host, any path prefix, then ``/t/{token}``; a trailing slash, a
#: query (``?lang=en``) or a fragment may follow. Nothing else is a ticket.
_TICKET_URL = re.compile(
    rf"(?P<scheme>https?)://(?P<host>[^\s/?#]+)(?P<prefix>(?:/[^\s/?#]+)*)/t/(?P<token>{TOKEN})/?(?:[?#]\S*)?",
    re.IGNORECASE,
)
#: The part of the status URL replaced by the API's path (``status_url`` ends with it when the lookup works).
STATUS_PATH = "/t/{token}"
API_PATH = "/api/v1/tickets/{token}"


@dataclass(frozen=True)
class TicketCode:
    """A scanned ticket: its token and where its status page is (scheme, host, path prefix)."""

    token: str
    origin: str  # e.g. "https://madoguchi.city.example.jp/madoguchi" (no trailing slash)

    @property
    def short(self) -> str:
        """The token as logs may show it: enough to tell two tickets apart, not enough to open the page."""
        return f"{self.token[:4]}…"

    def __repr__(self) -> str:  # never the whole token, even in a traceback
        return f"TicketCode({self.short}, {self.origin!r})"


def read_ticket(scanned: str) -> TicketCode | None:
    """The ticket a scan stands for, or None when it is something else (a slip, or an unknown code)."""
    text = clean(scanned)
    match = _TICKET_URL.fullmatch(text)
    if match is None:
        return None
    origin = f"{match['scheme'].lower()}://{match['host'].lower()}{match['prefix']}"
    return TicketCode(match["token"], origin)


def status_api_url(status_url: str, code: TicketCode) -> str | None:
    """Where this register may ask about ``code``: its own office's status API, or None.

    Only a ticket whose status page is this office's (the device file's ``status_url``, the same the ticket
    kiosks print) is looked up, so a code from elsewhere never makes the register call an address it was
    handed on paper. ``status_url`` must end with ``/t/{token}`` for the API path to be known."""
    if not status_url.endswith(STATUS_PATH):
        return None
    ours = read_ticket(status_url.replace("{token}", "x" * 22))
    if ours is None or ours.origin != code.origin:
        return None
    return status_url[: -len(STATUS_PATH)] + API_PATH.format(token=code.token)


@dataclass(frozen=True)
class TicketInfo:
    """What the register needs of a ticket's status: its number, and whether a payment step is still open."""

    number: int
    #: A step routed to the register (``Procedure.routing == "register"``) is not done yet.
    payable: bool
    #: The ticket's status (waiting, serving, absent, done, cancelled).
    status: str


def ticket_info(status: Mapping[str, Any], routing: Mapping[str, str]) -> TicketInfo:
    """Read the status API's answer (``TicketStatusOut``); ``routing``: procedure id → routing (the site file).

    Raises ValueError for an answer that is not one (the lookup then counts as failed)."""
    try:
        number = int(status["number"])
        state = str(status["status"])
        steps = list(status["steps"])
        open_payment = any(
            routing.get(str(step["procedure"])) == "register" and step["status"] != "done" for step in steps
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"not a ticket status: {exc!r}") from exc
    return TicketInfo(number, open_payment and state != "cancelled", state)
