"""``madoguchi preentry``: the form issuer's pre-entry QR codes (new-key, make, verify); its own options."""

from __future__ import annotations

NAME = "preentry"
HELP = "pre-entry QR codes for the form issuer (new-key, make, verify)"


def main(argv: list[str]) -> int:
    from form_printer.preentry import main as preentry

    return preentry(argv)
