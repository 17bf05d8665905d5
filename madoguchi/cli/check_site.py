"""``madoguchi check-site FILE``: validate a site file and its form templates, with line numbers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from madoguchi.cli.common import run_command

NAME = "check-site"
HELP = "validate a site file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("site", type=Path)


def run(args: argparse.Namespace) -> int:
    """The site file, and its form templates (``forms/`` next to it) against its procedures."""
    from kiosk.config import load_site

    site = load_site(args.site)
    forms = Path(args.site).parent / "forms"
    templates = {}
    if forms.is_dir():
        from form_printer.forms.model import check_site_forms, load_templates

        try:
            templates = load_templates(forms)
            check_site_forms(site, templates)
        except ValueError as exc:
            print(f"{forms}: {exc}", file=sys.stderr)
            return 2
    print(
        f"{args.site}: ok — site {site.site.id}: {len(site.groups)} counter groups, {len(site.counters)} counters, "
        f"{len(site.procedures)} procedures, {len(site.life_events)} life events, {len(site.devices)} devices, "
        f"{len(templates)} form templates"
    )
    return 0


def main(argv: list[str]) -> int:
    return run_command(NAME, HELP, add_arguments, run, argv)
