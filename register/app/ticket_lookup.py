"""Ask the queue service's public status API about a scanned ticket (HTTP GET, JSON).

The register pays without the queue service; this lookup only lets it say "ticket 42" and notice a ticket with
nothing to pay before the money is taken. Any failure (no network, a slow server, an odd answer) is
:class:`LookupFailed` and the register goes on without the number: the payment is still recorded for the
ticket (``ticket_paid``), and the service decides.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Literal

from register.ticket import TicketInfo, ticket_info

log = logging.getLogger(__name__)

#: The lookup runs while the resident stands there: a short wait, then without the number.
TIMEOUT_SECONDS = 3.0
#: A status answer is a few kilobytes; anything bigger is not one.
MAX_BYTES = 256_000


class LookupFailed(Exception):
    """The status API could not be asked or did not answer as it does."""


class TicketNotFound(Exception):
    """The status API does not know the ticket (not today's, or not a ticket of this office)."""


def fetch_status(url: str, timeout: float = TIMEOUT_SECONDS) -> Mapping[str, Any]:
    """The ticket's status JSON at ``url`` (from :func:`register.ticket.status_api_url`).

    Raises :class:`TicketNotFound` (404) or :class:`LookupFailed`. ``url`` holds the token: it is not put in
    the exceptions' messages (they end up in logs)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only (status_api_url)
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise TicketNotFound("no such ticket") from None
        raise LookupFailed(f"HTTP {exc.code}") from None
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections, a malformed URL
        raise LookupFailed(type(exc).__name__) from None
    if len(body) > MAX_BYTES:
        raise LookupFailed("answer too large")
    try:
        data = json.loads(body)
    except ValueError:
        raise LookupFailed("not JSON") from None
    if not isinstance(data, dict):
        raise LookupFailed("not a JSON object")
    return data


def look_up(url: str, routing: Mapping[str, str]) -> TicketInfo | Literal["not_found"] | None:
    """The ticket at ``url``: its number and whether a payment is open on it, ``not_found``, or None (no answer).
    ``routing``: procedure id → routing (the site file)."""
    try:
        return ticket_info(fetch_status(url), routing)
    except TicketNotFound:
        return "not_found"
    except (LookupFailed, ValueError) as exc:
        log.info("ticket lookup failed: %s", exc)
        return None
