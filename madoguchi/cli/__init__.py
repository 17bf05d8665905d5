"""``madoguchi``: the one command line of smart madoguchi.

    madoguchi broker      generate Mosquitto's config from the site and run it
    madoguchi service     run the queue service
    madoguchi demo        broker + service + simulators + kiosk, call panel, board, form issuer, register windows
    madoguchi check-site  validate a site file and say what is wrong, with line numbers
    madoguchi kiosk ROLE  run an appliance app (ticket, panel, board, forms, register) from its device file
    madoguchi hash-pin    hash a staff PIN for a device file (reads the PIN from stdin)
    madoguchi hash-password  hash a staff web password for the site file's [[staff]] (stdin)
    madoguchi preentry    the form issuer's pre-entry QR codes: new-key, make, verify
    madoguchi provision   a site's CA, broker TLS, device credentials and bundles (images/provision/)
    madoguchi doctor      check this appliance: config, broker over TLS, hardware, clock (madoguchi/doctor/)
    madoguchi voice       build the call board's phrase cache: voice build --site SITE --out DIR
    madoguchi city        the city hub: city serve|migrate --city city.toml (docs/city.md)
    madoguchi image       a role's bootable disk image: build ROLE, bundle IMAGE BUNDLE_DIR, show IMAGE (images/)

One module per subcommand, each with ``NAME``, ``HELP`` and ``main(argv)``: it owns its options
(``madoguchi/cli/common.py`` gives them one way to parse, log and report configuration errors).
Everything a process writes (broker config, device passwords, the journal) goes under the state
directory (``--state``, default ``./var``).
"""

from __future__ import annotations

import sys

from madoguchi.cli import (
    appliance,
    broker,
    check_site,
    city,
    demo,
    doctor,
    hash_password,
    hash_pin,
    image,
    preentry,
    provision,
    service,
    voice,
)

SUBCOMMANDS = {
    m.NAME: m
    for m in (broker, service, demo, check_site, appliance, hash_pin, hash_password, preentry, provision, doctor, voice)
}
SUBCOMMANDS[city.NAME] = city
SUBCOMMANDS[image.NAME] = image


def usage() -> str:
    width = max(len(name) for name in SUBCOMMANDS)
    lines = [f"  {name:<{width}}  {m.HELP}" for name, m in SUBCOMMANDS.items()]
    return "usage: madoguchi COMMAND [options]   (madoguchi COMMAND --help for its options)\n\n" + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("smart madoguchi: smart counters for a city hall\n\n" + usage())
        return 0 if argv else 2
    command = SUBCOMMANDS.get(argv[0])
    if command is None:
        print(f"madoguchi: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    rest = argv[1:]
    return command.main(rest[1:] if rest[:1] == ["--"] else rest)


if __name__ == "__main__":
    sys.exit(main())
