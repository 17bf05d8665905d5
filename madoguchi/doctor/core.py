"""The doctor's frame: a check result, the shared context, the runner with a per-check time limit, the output."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from kiosk.bus.contract import Role
    from kiosk.config.device import DeviceConfig
    from kiosk.config.site import Site

Status = Literal["OK", "WARN", "FAIL", "SKIP"]


@dataclass(frozen=True)
class CheckResult:
    """One line of the report: ``status`` of ``check``; ``detail`` says what was found, ``fix`` what to do."""

    status: Status
    check: str
    detail: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def ok(check: str, detail: str) -> CheckResult:
    return CheckResult("OK", check, detail)


def warn(check: str, detail: str, fix: str = "") -> CheckResult:
    return CheckResult("WARN", check, detail, fix)


def fail(check: str, detail: str, fix: str = "") -> CheckResult:
    return CheckResult("FAIL", check, detail, fix)


class Skip(Exception):
    """Raised by a check that cannot run because an earlier one failed; the message says which."""


@dataclass
class MqttProbe:
    """What the broker login check saw, for the queue service check."""

    connected: bool = False
    #: SUBACK reason for the queue service's presence topic (None: not subscribed)
    presence_refused: bool | None = None
    #: the retained presence payload (None: nothing retained)
    presence: bytes | None = None


@dataclass
class Context:
    """Inputs of the checks (injectable for tests) and what earlier checks found out."""

    config_path: Path
    role_hint: str | None = None
    timeout: float = 5.0
    #: the current time, timezone-aware
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    #: True/False from ``timedatectl``, None when it cannot tell
    ntp_synchronized: Callable[[], bool | None] | None = None
    #: a trusted time to compare the clock with, and where it came from; None = ask the queue service
    reference_time: Callable[[Context], tuple[datetime, str] | None] | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    x11_dir: Path = Path("/tmp/.X11-unix")
    lpstat: str = "lpstat"
    #: the site broker's mosquitto.conf (the server's city bridge); None = MADOGUCHI_BROKER_CONF or the image's
    broker_conf: Path | None = None
    #: the site broker's log lines (``<unix time>: message``); None = the broker unit's journal
    broker_log: Callable[[Context], list[str]] | None = None
    # filled in by the checks
    device: DeviceConfig | None = None
    site: Site | None = None
    role: Role | None = None
    password: str | None = None
    broker_tcp: bool = False
    broker_tls: bool = False
    #: the broker certificate's notBefore: the clock cannot be earlier than that
    broker_not_before: datetime | None = None
    mqtt: MqttProbe | None = None

    def require_device(self) -> DeviceConfig:
        if self.device is None or self.site is None or self.role is None:
            raise Skip("not checked: the device file must be fixed first")
        return self.device


#: A check: takes the context, returns its line, or None when it does not apply to this appliance.
CheckFn = Callable[[Context], CheckResult | None]


def check(title: str, limit: float | None = None) -> Callable[[Callable], CheckFn]:
    """Name a check (its ``title`` is used when it times out or crashes) and optionally its time limit factor."""

    def mark(fn: Callable) -> CheckFn:
        fn.title = title  # type: ignore[attr-defined]
        fn.limit_factor = limit  # type: ignore[attr-defined]
        return fn

    return mark


def run_check(fn: CheckFn, ctx: Context) -> CheckResult | None:
    """Run one check on its own thread; a check that does not finish in time is a FAIL, and the doctor goes on."""
    title = getattr(fn, "title", fn.__name__)
    factor = getattr(fn, "limit_factor", None) or 2.0
    limit = ctx.timeout * factor + 1.0
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["result"] = fn(ctx)
        except Skip as exc:
            box["result"] = CheckResult("SKIP", title, str(exc))
        except Exception as exc:  # noqa: BLE001 - one broken check must not stop the others
            box["result"] = fail(
                title,
                f"the check itself crashed: {type(exc).__name__}: {exc}",
                "report this line to the smart madoguchi support desk",
            )

    worker = threading.Thread(target=work, name=f"doctor:{title}", daemon=True)
    worker.start()
    worker.join(limit)
    if worker.is_alive():
        return fail(
            title,
            f"no answer within {limit:.0f} s: the device or the network is hanging",
            "turn the device off and on again, check its cable, then run madoguchi doctor again",
        )
    return box.get("result")  # type: ignore[return-value]


def run_checks(checks: Iterable[CheckFn], ctx: Context, on_result: Callable[[CheckResult], None] | None = None):
    """Run ``checks`` in order. Consecutive SKIPs for the same reason become one line naming them all."""
    results: list[CheckResult] = []
    pending: CheckResult | None = None

    def emit(result: CheckResult) -> None:
        names = result.check.split(", ")
        if len(names) > 4:
            result = CheckResult(result.status, f"{len(names)} other checks", result.detail, result.fix)
        results.append(result)
        if on_result is not None:
            on_result(result)

    for fn in checks:
        result = run_check(fn, ctx)
        if result is None:
            continue
        if result.status == "SKIP":
            if pending is not None and pending.detail == result.detail:
                pending = CheckResult("SKIP", f"{pending.check}, {result.check}", result.detail)
                continue
            if pending is not None:
                emit(pending)
            pending = result
            continue
        if pending is not None:
            emit(pending)
            pending = None
        emit(result)
    if pending is not None:
        emit(pending)
    return results


# ----------------------------------------------------------------------------------------------- output

COLORS = {"OK": "\033[32m", "WARN": "\033[33m", "FAIL": "\033[31m", "SKIP": "\033[2m"}
RESET = "\033[0m"


def format_line(result: CheckResult, color: bool) -> str:
    label = f"{result.status:<4}"
    if color:
        label = f"{COLORS[result.status]}{label}{RESET}"
    line = f"{label}  {result.check}: {result.detail}"
    if result.fix and result.status in ("FAIL", "WARN"):
        line += f" → {result.fix}"
    return line


def summary_line(results: list[CheckResult], color: bool) -> str:
    failed = sum(r.status == "FAIL" for r in results)
    warned = sum(r.status == "WARN" for r in results)
    if failed:
        text = f"{failed} check(s) FAILED, {warned} warning(s): fix the FAIL lines before opening"
        return f"{COLORS['FAIL']}{text}{RESET}" if color else text
    text = f"all {len(results)} checks passed" + (f", {warned} warning(s)" if warned else "")
    return f"{COLORS['OK' if not warned else 'WARN']}{text}{RESET}" if color else text


def as_json(results: list[CheckResult], ctx: Context) -> str:
    body = {
        "ok": not any(r.failed for r in results),
        "device": ctx.device.device if ctx.device else None,
        "role": str(ctx.role) if ctx.role else None,
        "site": ctx.site.site.id if ctx.site else None,
        "checked_at": ctx.now().isoformat(timespec="seconds"),
        "checks": [asdict(r) for r in results],
    }
    return json.dumps(body, ensure_ascii=False, indent=2)
