"""The clock: synchronised with network time, or close to a trusted reference; never an impossible year.

Tickets, payments and certificates all carry times: a clock that is off makes TLS fail (certificates
"not valid yet" or "expired") and puts the day's records on the wrong day.
"""

from __future__ import annotations

import subprocess
from datetime import datetime

from madoguchi.doctor.core import CheckResult, Context, check, fail, ok, warn

#: Nothing of this project ran before this year: a clock showing an earlier one is wrong (a dead RTC battery).
FIRST_PLAUSIBLE_YEAR = 2025
#: More drift than this is worth a warning.
MAX_SKEW_SECONDS = 60

FIX_NTP = (
    "turn on network time (sudo timedatectl set-ntp true) and check that the time server is reachable "
    "(timedatectl timesync-status)"
)
FIX_RTC = (
    "set the time: check network time (sudo timedatectl set-ntp true); if the date is wrong after every power-on, "
    "replace the clock battery"
)


def timedatectl_synchronized(timeout: float = 3.0) -> bool | None:
    """``timedatectl show -p NTPSynchronized``: True/False, None when there is no systemd to ask."""
    try:
        done = subprocess.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    if done.returncode != 0 or value not in ("yes", "no"):
        return None
    return value == "yes"


def clock_verdict(
    now: datetime,
    synchronized: bool | None,
    reference: tuple[datetime, str] | None,
    not_before: datetime | None = None,
) -> CheckResult:
    """The clock line from what is known: pure, so every case is testable with injected times."""
    what = "clock"
    shown = f"{now:%Y-%m-%d %H:%M:%S} UTC"
    if now.year < FIRST_PLAUSIBLE_YEAR:
        return fail(what, f"the clock says {shown}: that date cannot be right", FIX_RTC)
    if not_before is not None and now < not_before:
        return fail(
            what,
            f"the clock is behind: it says {shown}, but the broker's certificate was made on "
            f"{not_before:%Y-%m-%d %H:%M} UTC",
            FIX_RTC,
        )
    if reference is not None:
        ref, source = reference
        skew = (now - ref).total_seconds()
        if abs(skew) > MAX_SKEW_SECONDS:
            direction = "ahead of" if skew > 0 else "behind"
            return warn(what, f"the clock is {_duration(abs(skew))} {direction} {source}", FIX_NTP)
        if synchronized:
            return ok(what, f"synchronised with network time; within {abs(skew):.0f} s of {source}")
        return ok(what, f"within {abs(skew):.0f} s of {source}")
    if synchronized:
        return ok(what, f"synchronised with network time (NTP), {shown}")
    if synchronized is False:
        return warn(what, f"not synchronised with network time (it says {shown})", FIX_NTP)
    return warn(
        what,
        f"cannot tell whether the clock ({shown}) is right: no timedatectl and no queue service to compare with",
        "compare it with a phone's clock; " + FIX_NTP,
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86400:.0f} days"


@check("clock")
def check_clock(ctx: Context) -> CheckResult:
    from madoguchi.doctor.broker_checks import service_date

    now = ctx.now()
    synchronized = (ctx.ntp_synchronized or (lambda: timedatectl_synchronized(ctx.timeout)))()
    reference = None
    if ctx.reference_time is not None:
        reference = ctx.reference_time(ctx)
    elif not synchronized and ctx.device is not None:
        reference = service_date(ctx)
    return clock_verdict(now, synchronized, reference, ctx.broker_not_before)


__all__ = ["check_clock", "clock_verdict", "timedatectl_synchronized"]
