"""``madoguchi provision``: a site's CA, broker TLS, device credentials and bundles; its own options."""

from __future__ import annotations

NAME = "provision"
HELP = "site CA, broker TLS, device credentials and bundles (see --help)"


def main(argv: list[str]) -> int:
    from images.provision import main as provision

    return provision(argv)
