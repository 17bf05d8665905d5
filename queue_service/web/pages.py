"""What every HTML page of the queue service shares: one Jinja2 environment, translations, the language switch.

Templates live in ``queue_service/web/templates`` and extend ``base.html`` (site name, language chips, the CSS).
Inside a template ``_("English id")`` translates into the page's ``lang`` through the kiosk's gettext catalogs
(:mod:`kiosk.i18n`), so the web pages speak the same words as the kiosk and the printed ticket. The extractor reads
``.py`` files only: every message a template uses is also marked with ``N_`` in :data:`TEMPLATE_MESSAGES` (a test
checks that no template message is missing there).

Language of a page: ``?lang=`` when it names a kiosk language, else the page's default (a ticket's language), else
the browser's ``Accept-Language``, else Japanese. No cookie: the choice travels in the links.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlencode

import jinja2
from babel.dates import get_day_names
from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.requests import Request

from kiosk.config.site import OfficeHours, Site
from kiosk.i18n import LANGUAGES, N_, gettext_for
from kiosk.languages import DEFAULT_LANGUAGE
from kiosk.text_breaks import phrases
from kiosk.wait_text import ESTIMATED, wait_text

WEB_DIR = Path(__file__).resolve().parent
#: Text with Japanese, Chinese or Korean in it: only such text needs phrase points (Latin text breaks at spaces).
_AFTER_DOT = re.compile(r"(?<=[・･])(?=\S)")
_NEEDS_PHRASES = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff00-\uffef\uac00-\ud7af]")
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

#: Content-Security-Policy of every page: nothing from elsewhere, no inline script or style.
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def pick_lang(request: Request, default: str | None = None) -> str:
    """The page's language: ``?lang=``, else ``default``, else Accept-Language, else Japanese."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    if default in LANGUAGES:
        return default  # type: ignore[return-value]
    return accept_language(request.headers.get("accept-language", ""))


def accept_language(header: str) -> str:
    """The first kiosk language in an Accept-Language header (by q, then order): ``zh-TW`` → ``zh``."""
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > 0:
            ranked.append((-q, i, tag.strip().lower()))
    for _q, _i, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if tag in LANGUAGES or primary in LANGUAGES:
            return tag if tag in LANGUAGES else primary
    return DEFAULT_LANGUAGE


def html_lang(lang: str) -> str:
    """The HTML ``lang`` attribute: やさしい日本語 is Japanese to a browser and a screen reader."""
    return "ja" if lang == "ja-easy" else lang


#: What of a page's query the language links carry on: the pages' own parameters are a few short ones
#: (a group, the guide's yes/no answers); a huge query was once repeated into all seven links.
MAX_KEPT_PARAMS, MAX_PARAM_CHARS = 32, 64


def lang_url(request: Request, lang: str) -> str:
    """This page in another language (same path and the page's short parameters, ``lang`` replaced)."""
    kept = [
        (key, value)
        for key, value in request.query_params.multi_items()
        if key != "lang" and len(key) <= MAX_PARAM_CHARS and len(value) <= MAX_PARAM_CHARS
    ][:MAX_KEPT_PARAMS]
    return f"{request.url.path}?{urlencode([*kept, ('lang', lang)])}"


@jinja2.pass_context
def _translate(context: jinja2.runtime.Context, message: str) -> str:
    return gettext_for(context.get("lang") or DEFAULT_LANGUAGE, message)


def phrase_markup(text: object, lang: str = DEFAULT_LANGUAGE) -> Markup:
    """``text`` HTML-escaped, with ``<wbr>`` between its phrases, inside a ``word-break: keep-all`` span.

    A browser breaks Japanese and Chinese between any two characters ("わかるも / の", "2番窓 / 口"); inside
    ``span.phr`` it may break only at the ``<wbr>`` points :mod:`kiosk.text_breaks` (BudouX) puts between
    phrases, and at spaces, so words and numbers with their units stay whole. Korean keeps its words whole too.
    Each phrase is escaped on its own: a name with markup in it stays text.
    """
    if text is None or text == "":
        return Markup("")
    raw = str(text)
    out: list[str] = []
    pieces = phrases(raw, lang) if _NEEDS_PHRASES.search(raw) else [raw]
    # BudouX keeps a bracketed list as one phrase ("（1番窓口・2番窓口・3番窓口）"), too long for a phone's line:
    # a line may also end after each of its middle dots, as Japanese typesetting allows.
    for piece in (part for whole in pieces for part in _AFTER_DOT.split(whole) if part):
        if out and not out[-1][-1:].isspace() and not piece[:1].isspace():  # a space is a break point already
            out.append("<wbr>")
        out.append(escape(piece))
    return Markup('<span class="phr">{}</span>').format(Markup("".join(out)))


@jinja2.pass_context
def _phrases_filter(context: jinja2.runtime.Context, text: object, lang: str | None = None) -> Markup:
    """The ``phrases`` template filter: ``{{ p.name|phrases }}`` in the page's language (docs/translations.md)."""
    return phrase_markup(text, lang or context.get("lang") or DEFAULT_LANGUAGE)


def office_hours_text(hours: OfficeHours | None, lang: str) -> str:
    """The site's office hours in ``lang``, days with the same hours together: "月〜金 8:30–17:15"; "" if unknown."""
    if hours is None:
        return ""
    names = get_day_names("abbreviated", locale=_babel_locale(lang))
    runs: list[tuple[int, int, tuple[str, str]]] = []
    for day in range(7):
        span = hours.on(day)
        if span is None:
            continue
        if runs and runs[-1][1] == day - 1 and runs[-1][2] == span:
            runs[-1] = (runs[-1][0], day, span)
        else:
            runs.append((day, day, span))
    dash = "〜" if lang in ("ja", "ja-easy", "zh") else "–"
    sep = "、" if lang in ("ja", "ja-easy") else "，" if lang == "zh" else ", "
    return sep.join(
        (names[first] if first == last else f"{names[first]}{dash}{names[last]}") + f" {_hm(span[0])}–{_hm(span[1])}"
        for first, last, span in runs
    )


def _hm(hhmm: str) -> str:
    """ "08:30" → "8:30": the way Japanese notices write opening hours."""
    return hhmm.lstrip("0") if not hhmm.startswith("00") else hhmm[1:]


def _babel_locale(lang: str) -> str:
    return {"ja-easy": "ja", "zh": "zh_Hans"}.get(lang, lang)


def static_url(name: str) -> str:
    return f"/static/{name}"


def floor_label(lang: str, floor: int) -> str:
    return gettext_for(lang, "{floor}F").format(floor=floor)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        _=_translate,
        languages=LANGUAGES,
        html_lang=html_lang,
        lang_url=lang_url,
        static_url=static_url,
        floor_label=floor_label,
        fmt_time=lambda moment: moment.strftime("%H:%M"),
        wait_text=wait_text,  # one wording of a wait with the kiosk and the board (kiosk/wait_text.py)
        ESTIMATED_WAIT=ESTIMATED,
    )
    env.filters["phrases"] = _phrases_filter
    return env


#: The shared templates: ``templates.TemplateResponse(request, "page.html", {"lang": ..., "site_name": ...})``.
templates = Jinja2Templates(env=_environment())


def page_headers(private: bool = False) -> dict[str, str]:
    """Headers of every HTML page; ``private`` pages (a ticket, pre-entered data) are never cached or indexed."""
    headers = {
        "Content-Security-Policy": CSP,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
    if private:
        headers["Cache-Control"] = "no-store"
        headers["X-Robots-Tag"] = "noindex, nofollow"
    return headers


def static_router(files: Mapping[str, Path] | None = None) -> APIRouter:
    """``GET /static/{name}``: the CSS and the few lines of JavaScript (files of ``web/static`` only, or the
    ``files`` given: the city hub serves these pages' CSS beside its own)."""
    router = APIRouter()
    if files is None:
        files = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        path = files.get(name)
        if path is None:
            raise HTTPException(404)
        return FileResponse(
            path, headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
        )

    return router


#: Messages used only in templates (``_("...")``), marked here for ``python -m kiosk.i18n_extract``.
TEMPLATE_MESSAGES = (
    N_("A few questions, so we can list everything you need. Unanswered means no."),
    N_("After your earlier counters"),
    N_("All done. Thank you for coming."),
    N_("Answer at home and see which procedures you need, where they are and what to bring."),
    N_("Apply online"),
    N_("Back"),
    N_("Bring:"),
    N_("Busy"),
    N_("Congestion"),
    N_("Day"),
    N_("Current congestion and forecast"),
    N_("Estimated wait: about {minutes} min"),
    N_("Estimated wait: not known yet"),
    N_("Estimated wait: you are next"),
    N_("Fill in what you know. At the kiosk, the form issuer reads the QR code and prints it on your forms."),
    N_("Fill in your forms at home (optional)"),
    N_("Finished"),
    N_("Floors you visit: {floors}"),
    N_("Forecast for the rest of today"),
    N_("Go to {counter} ({floor})"),
    N_("Here is what you need, in the order you will be called"),
    N_("Learned from {count} past days (same weekday)."),
    N_("Learned from {count} past days."),
    N_("Make my QR code"),
    N_("Month"),
    N_("No"),
    N_("No history yet: the forecast starts after the first days of service."),
    N_("No wait"),
    N_("Not open now"),
    N_("Nothing to do at the office for these answers."),
    N_("Now being served"),
    N_("Office hours: {hours}"),
    N_("Offices are closed for the rest of today."),
    N_("People ahead of you: {count}"),
    N_("Pay at the self register (hold your ticket's QR code to it)."),
    N_("People waiting"),
    N_("Pickup"),
    N_("Please come to the counter when your number is called."),
    N_("Please wait at {booth}. Staff will come to you in turn."),
    N_("Procedure guide"),
    N_("Quiet"),
    N_("Reload"),
    N_("Show this QR code at the form issuer (or print this page). Valid until {date}."),
    N_("Show what I need"),
    N_("Staff will come to you"),
    N_("Still to come:"),
    N_("This page updates by itself."),
    N_("This ticket was cancelled."),
    N_("Time"),
    N_("Updated at {time}"),
    N_("Very busy"),
    N_("Wait"),
    N_("Waiting now"),
    N_("Waiting: {count}"),
    N_("We will call you to a one-stop booth. Please stay there: the staff come to you."),
    N_("We will call you when it is ready."),
    N_("What brings you here today?"),
    N_("Yes"),
    N_("Year"),
    N_("You can do this online without coming:"),
    N_("You were called but not found. Please ask a member of staff: your place is kept."),
    N_("Your counters, in this order"),
    N_("Where you will be served"),
    N_("Your number"),
    N_("Your number is called"),
    N_("Your pre-entry QR code"),
    N_("about {minutes} min"),
)


class SitePages:
    """The helpers every page of one site shares: its name in the page's language, rendering, the 404 page."""

    def __init__(self, site: Site) -> None:
        self.site = site

    def names(self, lang: str) -> dict:
        return {"site_name": self.site.site.names.get(lang), "lang": lang}

    def html(
        self, request: Request, name: str, context: dict, status: int = 200, private: bool = False
    ) -> HTMLResponse:
        return templates.TemplateResponse(
            request, name, context, status_code=status, headers=page_headers(private=private)
        )

    def not_found(self, request: Request, lang: str, title: str, text: str, langs: bool = True) -> HTMLResponse:
        ctx = self.names(lang) | {
            "title": gettext_for(lang, title),
            "heading": title,
            "text": text,
            "show_langs": langs,
        }
        return self.html(request, "not_found.html", ctx, status=404, private=True)
