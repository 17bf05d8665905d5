"""``madoguchi doctor``: check this appliance, one line per check; its own options."""

from __future__ import annotations

NAME = "doctor"
HELP = "check this appliance: one line per check, non-zero exit on a failure"


def main(argv: list[str]) -> int:
    from madoguchi.doctor import main as doctor

    return doctor(argv)
