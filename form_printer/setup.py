"""Builds a :class:`FormIssuer` from the device file: templates, card reader, printer spool, pre-entry key."""

from __future__ import annotations

from collections.abc import Callable

from form_printer.forms.model import check_site_forms, load_templates
from form_printer.forms.spool import open_spool
from form_printer.issuer import CardReaderPort, FormIssuer
from form_printer.preentry import load_key
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site


def templates_for(device: DeviceConfig, site: Site):
    """The site's form templates (``forms/`` next to site.toml), checked against its procedures."""
    templates = load_templates(device.site.parent / "forms")
    check_site_forms(site, templates)
    return templates


def reader_for(device: DeviceConfig) -> CardReaderPort:
    """The PC/SC reader the device file names (a simulated one is the composition root's to give)."""
    from form_printer.card.pcsc import PcscReader

    return PcscReader(device.card_reader)


def issuer_for(
    device: DeviceConfig,
    site: Site,
    on_printed: Callable[[list[str]], None] | None = None,
    reader: CardReaderPort | None = None,
) -> FormIssuer:
    if device.form_printer is None:
        raise ValueError(f"{device.device}: a form issuer needs form_printer (cups:QUEUE or pdf:/folder)")
    return FormIssuer(
        site,
        templates_for(device, site),
        reader or reader_for(device),
        open_spool(device.form_printer),
        preentry_key=load_key(device.preentry_key) if device.preentry_key else None,
        on_printed=on_printed,
    )
