"""Build a register from its device file: journal, cash changer, cashless terminal, printer.

Hardware is chosen by URI (docs/apps.md, "Self register"): ``cctalk:PATH`` for the cash
changer, ``cat:PATH`` for the cashless terminal, the usual printer URIs for the receipt
printer. A register may have only one of the two payment devices (e.g. cashless-only).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site
from kiosk.printing.printer import TicketPrinter
from register.cash.changer import CashChanger
from register.cashless.terminal import CashlessTerminal
from register.checkout import Register
from register.journal import Journal
from register.receipt import render_receipt


def _path(uri: str, scheme: str, what: str) -> str:
    prefix = f"{scheme}:"
    if not uri.startswith(prefix) or len(uri) == len(prefix):
        raise ValueError(f"{what} {uri!r}: expected {scheme}:/dev/...")
    return uri[len(prefix) :]


def changer_for(uri: str | None) -> CashChanger | None:
    if uri is None:
        return None
    from register.cash.cctalk_changer import CcTalkCashChanger

    return CcTalkCashChanger(_path(uri, "cctalk", "cash_changer"))


def terminal_for(uri: str | None) -> CashlessTerminal | None:
    if uri is None:
        return None
    from register.cashless.driver import SerialCatTerminal

    return SerialCatTerminal(_path(uri, "cat", "cashless_terminal"))


def journal_path(device: DeviceConfig) -> Path:
    if device.payments_journal is None:
        raise ValueError(f"{device.device}: a register needs payments_journal (a path on the data partition)")
    return device.payments_journal


def register_for(device: DeviceConfig, site: Site, *, clock=None) -> Register:
    """The register of this device file. Devices are created, not opened: the app opens them."""
    if site.register is None:
        raise ValueError(f"{site.site.id}: the site file has no [register] section")
    if device.cash_changer is None and device.cashless_terminal is None:
        raise ValueError(f"{device.device}: a register needs cash_changer or cashless_terminal (or both)")
    return Register(
        device=device.device,
        journal=Journal(journal_path(device)),
        changer=changer_for(device.cash_changer),
        terminal=terminal_for(device.cashless_terminal),
        printer=TicketPrinter(device.printer) if device.printer else None,
        render_receipt=lambda record, copy: render_receipt(site, record, copy),
        clock=clock or (lambda: datetime.now(UTC)),
        zone=site.zone,
    )
