"""``madoguchi doctor``: what a technician checks on an appliance before the office opens.

One line per check, OK (green), WARN (yellow), FAIL (red) or SKIP (an earlier check must be fixed
first): what was checked, what was found, and what to do. The exit status is 0 only when nothing
FAILed. ``--json`` prints the same for monitoring. Every check runs with a time limit, so a hung
device cannot hang the doctor. See docs/doctor.md.

    madoguchi doctor --config /boot/madoguchi/device.toml [--role ticket] [--timeout 5] [--no-color] [--json]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from madoguchi.doctor.bridge_check import check_city_bridge
from madoguchi.doctor.broker_checks import check_broker_login, check_broker_tcp, check_broker_tls, check_queue_service
from madoguchi.doctor.clock import check_clock, clock_verdict
from madoguchi.doctor.config_checks import check_ca_file, check_device_file, check_password_file
from madoguchi.doctor.core import CheckFn, CheckResult, Context, as_json, format_line, run_checks, summary_line
from madoguchi.doctor.hardware_checks import (
    check_card_reader,
    check_cash_changer,
    check_cashless_terminal,
    check_display,
    check_form_printer,
    check_payments_journal,
    check_receipt_printer,
    check_scanner,
)

#: In order: later checks use what earlier ones found (the device file, the broker connection).
CHECKS: tuple[CheckFn, ...] = (
    check_device_file,
    check_password_file,
    check_ca_file,
    check_broker_tcp,
    check_broker_tls,
    check_broker_login,
    check_queue_service,
    check_city_bridge,
    check_receipt_printer,
    check_card_reader,
    check_form_printer,
    check_cash_changer,
    check_cashless_terminal,
    check_scanner,
    check_payments_journal,
    check_display,
    check_clock,
)

ROLES = ("ticket", "panel", "board", "forms", "register", "service")


def diagnose(ctx: Context, checks: tuple[CheckFn, ...] = CHECKS, on_result=None) -> list[CheckResult]:
    """Run the checks against ``ctx``; the results in order (checks that do not apply are left out)."""
    return run_checks(checks, ctx, on_result)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    if argv and argv[0] == "--":  # `madoguchi doctor -- --config ...` passes the separator on
        argv = argv[1:]
    p = argparse.ArgumentParser(
        prog="madoguchi doctor",
        description="check this appliance: config, broker over TLS, hardware, clock (one line per check)",
    )
    p.add_argument("--config", type=Path, required=True, help="the device file (device.toml)")
    p.add_argument("--role", choices=ROLES, help="the role this appliance runs as (checked against the site file)")
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per network or device operation (default 5)")
    colors = p.add_mutually_exclusive_group()
    colors.add_argument("--color", action="store_true", help="colours even when the output is not a terminal")
    colors.add_argument("--no-color", action="store_true", help="no colours")
    p.add_argument("--json", action="store_true", help="print the results as JSON (for monitoring)")
    args = p.parse_args(argv)
    if args.timeout <= 0:
        p.error("--timeout must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ctx = Context(config_path=args.config, role_hint=args.role, timeout=args.timeout)
    color = args.color or (not args.no_color and not args.json and sys.stdout.isatty())
    if args.json:
        results = diagnose(ctx)
        print(as_json(results, ctx))
    else:
        results = diagnose(ctx, on_result=lambda r: print(format_line(r, color), flush=True))
        print(summary_line(results, color))
    return 1 if any(r.failed for r in results) else 0


__all__ = ["CHECKS", "CheckResult", "Context", "clock_verdict", "diagnose", "main"]
