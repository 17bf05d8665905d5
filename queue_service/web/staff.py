"""The staff KPI pages (職員用 業務分析): a login, the day's dashboard, charts, CSV export and a printable
daily report, all read from the queue service's journal (queue_service.history → queue_service.web.kpi).

Routes (all under ``/staff``; everything but the login page needs a staff session):

=============================  ==========================================================
``GET  /staff/login``          login form (``?next=`` a /staff page to go back to)
``POST /staff/login``          account + password → session cookie, or an error / lockout
``POST /staff/logout``         ends the session (CSRF token from the session)
``GET  /staff``                dashboard of a day (``?day=YYYY-MM-DD``, default today)
``GET  /staff/report``         printable daily report (A4, one page)
``GET  /staff/charts/{n}.svg`` a chart of the day (also ``.png``; ``?size=small`` for the report):
                               hourly, waits, stay, groups, cashless, forms, lifeevents, reception
``GET  /staff/trends``         the trend across days (the 31 journal days up to ``?day=``) and by month, the
                               monthly table (what a city reports each year)
``GET  /staff/trend/{by}.svg`` the trend chart, ``by`` = days | months (also ``.png``)
``GET  /staff/csv/{kind}.csv`` tickets, calls, groups, life_events, surveys (of a day), days (one row per journal
                               day) or months (one row per month)
``GET  /staff/static/{file}``  the pages' CSS and the print button's script
=============================  ==========================================================

Pages are server-rendered (Jinja2, autoescaped), with no inline script, and sent with ``no-store`` and a
strict Content-Security-Policy. The journal is read under ``service.lock`` (the worker thread writes it),
and each day's figures are cached until the day's journal grows.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from kiosk.wareki import wareki
from queue_service.history import Day, read_day
from queue_service.web import charts as chart_mod
from queue_service.web import kpi as kpi_mod
from queue_service.web.auth import COOKIE, Session, StaffAuth
from queue_service.web.csv_out import to_csv

if TYPE_CHECKING:
    from kiosk.bus.schemas import Presence
    from queue_service.service.app import QueueService

TEMPLATES = Path(__file__).parent / "templates" / "staff"
STATIC = {"staff.css": "text/css; charset=utf-8", "staff.js": "text/javascript; charset=utf-8"}
WEEKDAYS = "月火水木金土日"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

CSV_KINDS = {
    "tickets": "整理券ごと",
    "calls": "呼出ごと",
    "groups": "窓口グループ別",
    "life_events": "ライフイベント別",
    "surveys": "アンケート設問別",
    "days": "日別（全期間）",
    "months": "月別（全期間）",
}
#: The exports over every journal day (the others are of one day).
ALL_DAYS_CSV = ("days", "months")
#: How many journal days the daily trend shows (up to the chosen day).
TREND_DAYS = 31


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True
    )
    env.filters["minutes"] = lambda v, digits=1: "–" if v is None else f"{v:.{digits}f}"
    env.filters["pct"] = lambda v: "–" if v is None else f"{v * 100:.0f}%"
    env.filters["yen"] = lambda v: f"{v:,}"
    env.filters["num"] = lambda v: f"{v:,}"
    env.globals["status_ja"] = kpi_mod.STATUS_JA
    env.globals["lang_ja"] = kpi_mod.LANG_JA
    env.globals["media_ja"] = kpi_mod.MEDIA_JA
    env.globals["register_mode_ja"] = kpi_mod.REGISTER_MODE_JA
    return env


#: The days the pages show: a journal of this system cannot hold others.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def day_label(day: str) -> str:
    """``2026-11-24`` → ``2026年11月24日（火）・令和8年``."""
    d = date.fromisoformat(day)
    era = wareki(d).split("年")[0] + "年"
    return f"{d.year}年{d.month}月{d.day}日（{WEEKDAYS[d.weekday()]}）・{era}"


class _DayCache:
    """Each day's Day and DayKpi, kept until the day's journal has more entries (or fell out of the LRU)."""

    def __init__(self, size: int = 32) -> None:
        self.size = size
        self.items: OrderedDict[str, tuple[int, Day, kpi_mod.DayKpi]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, day: str, count: int) -> tuple[Day, kpi_mod.DayKpi] | None:
        with self.lock:
            hit = self.items.get(day)
            if hit is None or hit[0] != count:
                return None
            self.items.move_to_end(day)
            return hit[1], hit[2]

    def put(self, day: str, count: int, value: tuple[Day, kpi_mod.DayKpi]) -> None:
        with self.lock:
            self.items[day] = (count, *value)
            self.items.move_to_end(day)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


#: What staff read for a device's fault code (the rest are shown as their code).
FAULT_TEXTS = {
    "assistance_requested": "お客様が職員を呼んでいます（ヘルプボタン）",
    "paper_out": "用紙切れ",
    "paper_near_end": "用紙残りわずか",
}


def device_alerts(devices: dict[str, Presence]) -> list[dict[str, Any]]:
    """The appliances staff should walk to now: a resident asking for help first, then offline ones and faults.
    ``devices`` is the service's presence map (device id → retained presence)."""
    alerts = []
    for device, presence in sorted(devices.items()):
        help_ = "assistance_requested" in presence.faults
        if presence.online and not presence.faults:
            continue
        alerts.append(
            {
                "device": device,
                "help": help_,
                "online": presence.online,
                "faults": [FAULT_TEXTS.get(f, f) for f in presence.faults],
            }
        )
    return sorted(alerts, key=lambda a: (not a["help"], a["online"], a["device"]))


def make_staff_router(
    service: QueueService,
    *,
    secret: str | None = None,
    auth: StaffAuth | None = None,
    form_titles: dict[str, str] | None = None,
) -> APIRouter:
    """The /staff pages for ``service`` (anything with ``site``, ``journal`` and ``lock``).

    ``secret`` signs the session cookies (default: ``MADOGUCHI_STAFF_SECRET`` or random per process);
    ``form_titles`` names the form issuer's forms (default: the procedures that print each form). Stay targets
    come from the site file: each life event's ``target_stay_min``, else the site's."""
    site = service.site
    auth = auth or StaffAuth(site.staff, secret=secret)
    env = _environment()
    counter_groups = {c.id: c.group for c in site.counters}
    cache = _DayCache()
    # every journal day's KPIs and calls' waits (small), for the trends: kept until that day's journal grows
    summaries: dict[str, tuple[int, kpi_mod.DayKpi, list[float]]] = {}
    summaries_lock = threading.Lock()
    router = APIRouter(prefix="/staff", include_in_schema=False)
    site_name = site.site.names.ja
    booths = site.booth_group is not None  # the one-stop figures only where there is a one-stop floor

    # ------------------------------------------------------------ helpers
    def today() -> str:
        return datetime.now(site.zone).date().isoformat()

    def load(day: str) -> tuple[Day, kpi_mod.DayKpi]:
        with service.lock:
            count = service.journal.count(day)
            hit = cache.get(day, count)
            if hit is not None:
                return hit
            entries = list(service.journal.day_entries(day))
        result_day = read_day(entries, counter_groups)
        result = (
            result_day,
            kpi_mod.compute(day, result_day, site, form_titles=form_titles),
        )
        cache.put(day, count, result)
        with summaries_lock:
            summaries[day] = (count, result[1], kpi_mod.day_waits(result_day))
        return result

    def summary(day: str) -> tuple[kpi_mod.DayKpi, list[float]]:
        """A day's KPIs and waits for the trends, without keeping its visits."""
        with service.lock:
            count = service.journal.count(day)
        with summaries_lock:
            hit = summaries.get(day)
        if hit is None or hit[0] != count:
            load(day)
            with summaries_lock:
                hit = summaries[day]
        return hit[1], hit[2]

    def trend_days(upto: str) -> list[str]:
        return [d for d in journal_days() if d <= upto][-TREND_DAYS:]

    def daily_trend(upto: str) -> list[kpi_mod.PeriodKpi]:
        return [kpi_mod.period_kpi(d, [summary(d)]) for d in trend_days(upto)]

    def monthly_trend() -> list[kpi_mod.PeriodKpi]:
        return kpi_mod.month_kpis([summary(d) for d in journal_days()])

    def journal_days() -> list[str]:
        with service.lock:
            return service.journal.days()

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(site_name=site_name, booths=booths, **context)
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def session_of(request: Request) -> Session | None:
        return auth.session(request.cookies.get(COOKIE))

    def to_login(request: Request) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"/staff/login?next={quote(target, safe='')}", status_code=303, headers=SECURITY_HEADERS
        )

    def pick_day(value: str | None) -> str | None:
        """The day asked for (today when none), or None when it is not a date."""
        if not value:
            return today()
        if not _DAY.match(value):
            return None
        try:
            chosen = date.fromisoformat(value)
        except ValueError:
            return None
        # an office day: the page links the day before and after, and names the era (0001 and 9999 have none)
        return value if FIRST_DAY <= chosen <= LAST_DAY else None

    def bad_day() -> PlainTextResponse:
        return PlainTextResponse("日付は YYYY-MM-DD で指定してください (bad day)", 400, headers=SECURITY_HEADERS)

    # ------------------------------------------------------------ login / logout
    @router.get("/login")
    def login_form(request: Request, next: str = "") -> Response:
        if session_of(request) is not None:
            return RedirectResponse(_safe_next(next), status_code=303, headers=SECURITY_HEADERS)
        return page("login.html", next=_safe_next(next), error=None, account="", no_accounts=not site.staff)

    @router.post("/login")
    def login(request: Request, account: str = Form(""), password: str = Form(""), next: str = Form("")) -> Response:
        if not _same_origin(request):  # a page elsewhere posting the form (login CSRF)
            return PlainTextResponse("cross-origin login refused", 403, headers=SECURITY_HEADERS)
        client = request.client.host if request.client else "unknown"
        outcome, found, wait = auth.login(account, password[:200], client)
        if outcome == "ok" and found is not None:
            response = RedirectResponse(_safe_next(next), status_code=303, headers=SECURITY_HEADERS)
            response.set_cookie(
                COOKIE,
                auth.cookie_for(found),
                max_age=auth.max_age,
                path="/staff",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
            return response
        if outcome == "locked":
            minutes = max(1, round(wait / 60))
            error = f"ログインに続けて失敗したため、約{minutes}分間ログインできません。(Locked: try again later.)"
            status = 429
        else:
            error = "アカウントIDまたはパスワードが違います。(Wrong account or password.)"
            status = 401
        return page(
            "login.html", status, next=_safe_next(next), error=error, account=account[:64], no_accounts=not site.staff
        )

    @router.post("/logout")
    def logout(request: Request, csrf: str = Form("")) -> Response:
        session = session_of(request)
        if session is not None and csrf != session.csrf:
            return PlainTextResponse("invalid form token", 403, headers=SECURITY_HEADERS)
        if session is not None:
            auth.revoke(session)  # server-side: a copy of the cookie is dead too
        response = RedirectResponse("/staff/login", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(COOKIE, path="/staff", httponly=True, samesite="strict")
        return response

    def signed_in_day(request: Request, day: str | None) -> tuple[Session, str] | Response:
        """The session and the chosen day of a page request, or the response that refuses it."""
        session = session_of(request)
        if session is None:
            return to_login(request)
        chosen = pick_day(day)
        if chosen is None:
            return bad_day()
        return session, chosen

    # ------------------------------------------------------------ pages
    @router.get("")
    def dashboard(request: Request, day: str | None = None) -> Response:
        checked = signed_in_day(request, day)
        if isinstance(checked, Response):
            return checked
        session, chosen = checked
        _, kpi = load(chosen)
        days = sorted({*journal_days(), today(), chosen}, reverse=True)
        d = date.fromisoformat(chosen)
        return page(
            "dashboard.html",
            session=session,
            devices=device_alerts(getattr(service, "devices", {})) if chosen == today() else [],
            kpi=kpi,
            day=chosen,
            day_label=day_label(chosen),
            is_today=chosen == today(),
            days=[(x, day_label(x)) for x in days],
            prev_day=(d - timedelta(days=1)).isoformat(),
            next_day=(d + timedelta(days=1)).isoformat(),
            charts=chart_mod.CHARTS,
            csv_kinds=CSV_KINDS,
            all_days_csv=ALL_DAYS_CSV,
        )

    @router.get("/report")
    def report(request: Request, day: str | None = None) -> Response:
        checked = signed_in_day(request, day)
        if isinstance(checked, Response):
            return checked
        session, chosen = checked
        _, kpi = load(chosen)
        printed_at = datetime.now(site.zone).strftime("%Y-%m-%d %H:%M")
        return page(
            "report.html", session=session, kpi=kpi, day=chosen, day_label=day_label(chosen), printed_at=printed_at
        )

    @router.get("/trends")
    def trends(request: Request, day: str | None = None) -> Response:
        checked = signed_in_day(request, day)
        if isinstance(checked, Response):
            return checked
        session, chosen = checked
        return page(
            "trends.html",
            session=session,
            day=chosen,
            day_label=day_label(chosen),
            months=monthly_trend()[::-1],
            targets=site.kpi,
            trend_days=TREND_DAYS,
        )

    @router.get("/trend/{by}.{fmt}")
    def trend_chart(request: Request, by: str, fmt: str, day: str | None = None) -> Response:
        if session_of(request) is None:
            return to_login(request)
        if by not in ("days", "months") or fmt not in chart_mod.FORMATS:
            return PlainTextResponse("no such chart", 404, headers=SECURITY_HEADERS)
        chosen = pick_day(day)
        if chosen is None:
            return bad_day()
        periods = daily_trend(chosen) if by == "days" else monthly_trend()
        body = chart_mod.render_trend(periods, site.kpi, "day" if by == "days" else "month", fmt)
        return Response(body, media_type=chart_mod.FORMATS[fmt], headers=SECURITY_HEADERS)

    @router.get("/charts/{name}.{fmt}")
    def chart(request: Request, name: str, fmt: str, day: str | None = None, size: str = "wide") -> Response:
        if session_of(request) is None:
            return to_login(request)
        if name not in chart_mod.CHARTS or fmt not in chart_mod.FORMATS or size not in chart_mod.SIZES:
            return PlainTextResponse("no such chart", 404, headers=SECURITY_HEADERS)
        chosen = pick_day(day)
        if chosen is None:
            return bad_day()
        _, kpi = load(chosen)
        body = chart_mod.render(name, kpi, fmt, size)
        return Response(body, media_type=chart_mod.FORMATS[fmt], headers=SECURITY_HEADERS)

    @router.get("/csv/{kind}.csv")
    def csv_export(request: Request, kind: str, day: str | None = None) -> Response:
        if session_of(request) is None:
            return to_login(request)
        if kind not in CSV_KINDS:
            return PlainTextResponse("no such export", 404, headers=SECURITY_HEADERS)
        chosen = pick_day(day)
        if chosen is None:
            return bad_day()
        header: tuple[str, ...]
        if kind == "days":
            header, rows = kpi_mod.DAY_COLUMNS, [kpi_mod.day_row(summary(d)[0]) for d in journal_days()]
            filename = f"madoguchi-days-{site.site.id}.csv"
        elif kind == "months":
            header, rows = kpi_mod.PERIOD_COLUMNS, [kpi_mod.period_row(m) for m in monthly_trend()]
            filename = f"madoguchi-months-{site.site.id}.csv"
        else:
            the_day, kpi = load(chosen)
            header, make_rows = {
                "tickets": (kpi_mod.TICKET_COLUMNS, lambda: kpi_mod.ticket_rows(chosen, the_day, site)),
                "calls": (kpi_mod.CALL_COLUMNS, lambda: kpi_mod.call_rows(chosen, the_day)),
                "groups": (kpi_mod.GROUP_COLUMNS, lambda: kpi_mod.group_rows(kpi)),
                "life_events": (kpi_mod.LIFE_EVENT_COLUMNS, lambda: kpi_mod.life_event_rows(kpi)),
                "surveys": (kpi_mod.SURVEY_COLUMNS, lambda: kpi_mod.survey_rows(kpi)),
            }[kind]
            rows = make_rows()
            filename = f"madoguchi-{kind}-{chosen}.csv"
        headers = dict(SECURITY_HEADERS) | {"Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(to_csv(header, rows), media_type="text/csv; charset=utf-8", headers=headers)

    @router.get("/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC:
            return PlainTextResponse("not found", 404)
        body = (TEMPLATES / name).read_bytes()
        return Response(body, media_type=STATIC[name], headers={"Cache-Control": "max-age=3600"})

    return router


def _same_origin(request: Request) -> bool:
    """A browser's form post says where it came from (Origin, else Referer). No header at all (curl, the
    monitoring) is let through: the login then needs the password like any other client."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    host = request.headers.get("host", "")
    parts = urlsplit(source)  # "null" (an opaque origin) has no host: refused
    return bool(host) and parts.netloc == host and parts.scheme in ("http", "https")


def _safe_next(value: str) -> str:
    """Where to go after login: a /staff page of this site, never elsewhere (no open redirect)."""
    if value.startswith("/staff") and not value.startswith("//") and "\\" not in value and "\n" not in value:
        return value
    return "/staff"
