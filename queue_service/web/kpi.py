"""The staff KPIs of one service day, computed from :func:`queue_service.history.read_day`. Pure: a
:class:`~queue_service.history.Day` and the site in, numbers and table rows out (no I/O, no clock).

Every figure is defined in docs/kpi.md. In short:

* **tickets**: tickets issued that day (整理券発行数), cancelled ones included.
* **wait**: per call, from the moment the ticket was free to be called at that counter group to the
  call (history.py's definition); the day's wait summary is over every call of the day.
* **service time**: per call, from the call to complete / no-show / transfer.
* **stay** (滞在時間): from issue to the last completion (or the payment at the self register, when it came
  after), for tickets that finished every step; each compared with its life event's target
  (``LifeEvent.target_stay_min`` in the site file, else ``Site.target_stay_min``: one city aims at 79 minutes
  for a move-in, down from 119). Per life event: count, mean, median, 90th percentile, share within target.
* **one-stop / counters**: visits that sat at a booth (the sections came) and visits that went to the
  counters; of each, those whose procedures span two or more departments (multi-department receptions).
  Section services at the booths (出向), hand-overs to the counters, pickups, payments closed at the register.
* **no-shows** / **transfers**: how many times a called ticket was set aside as absent / sent to
  another counter group.
* **register**: payments at the self register, each transaction counted once (a register re-sends a
  payment until acknowledged); cashless share by number of payments and by amount.
* **forms**: uses of the form issuer (one ``record_forms`` = one resident served) and forms printed, by type.
* **satisfaction** (満足度, Kumamoto 79 → 85 %): the survey's answers per question, mean stars, the share of 4-5
  stars on the site's first question against ``[kpi] satisfaction_share``, answers per finished ticket.
* **guide uses** (オンライン窓口案内, Isesaki 400 → 2,000): a life event's questions opened, results reached.
* **multi-department receptions** (複数課の受付, Isesaki KPI ②): visits whose procedures span two or more
  departments.
* **cashless by register mode**: full-self (the resident scans) and semi-self (staff keyed a fee: Isesaki 2 → 8 %).
* **months** (:func:`period_kpi`): the figures a city reports each year, per month and per day, for the trend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kiosk.config.site import KpiTargets, Site
from queue_service.history import Day, Summary, Visit, summarise

#: Lower edges of the waiting-time histogram's bins, in minutes (the last bin is open-ended).
WAIT_BINS: tuple[float, ...] = (0, 5, 10, 15, 20, 30, 45, 60)
#: Lower edges of the stay histogram's bins; the site's own target is added as an edge so it splits the bars.
STAY_BINS: tuple[float, ...] = (0, 15, 30, 45, 60, 79, 90, 120)
#: Office hours always shown on the hourly chart, widened when the day's data goes beyond them.
OFFICE_HOURS = (8, 17)

STATUS_JA = {
    "waiting": "待ち",
    "serving": "対応中",
    "absent": "不在",
    "done": "完了",
    "cancelled": "取消",
}
LANG_JA = {
    "ja": "日本語",
    "ja-easy": "やさしい日本語",
    "en": "英語",
    "zh": "中国語",
    "ko": "韓国語",
    "vi": "ベトナム語",
    "pt": "ポルトガル語",
}
MEDIA_JA = {"credit": "クレジットカード", "emoney": "電子マネー", "qr": "QRコード決済"}
#: The register's modes (``register_mode`` of record_payment); "unknown": a payment recorded before rev 2.
REGISTER_MODES = ("full_self", "semi_self", "unknown")
REGISTER_MODE_JA = {"full_self": "フルセルフ", "semi_self": "セミセルフ", "unknown": "区分なし（旧記録）"}
#: Stars counted as satisfied (満足・やや満足).
SATISFIED_STARS = (4, 5)
#: How a call or service took place (history.Service.kind), for the call CSV.
SERVICE_KIND_JA = {
    "counter": "窓口",
    "booth": "ブース呼出",
    "front": "ブース対応",
    "request": "出向（ブース）",
    "pickup": "交付（受取）",
}
#: The row of visits for no life event (certificates, a single procedure…).
NO_LIFE_EVENT = "ライフイベントなし"


@dataclass(frozen=True)
class GroupKpi:
    group: str
    name: str
    #: tickets whose itinerary included the group (at issue, or added/transferred later)
    tickets: int
    #: calls at the group's counters
    calls: int
    completed: int
    wait: Summary
    service: Summary
    no_shows: int
    #: calls at this group that ended with a transfer to another group
    transfers: int


@dataclass(frozen=True)
class HourKpi:
    hour: int
    #: tickets issued in this hour
    tickets: int
    #: waits of the calls whose wait began in this hour
    wait: Summary


@dataclass(frozen=True)
class Bin:
    low: float
    high: float | None  # None: open-ended
    count: int

    @property
    def label(self) -> str:
        return f"{self.low:g}–{self.high:g}" if self.high is not None else f"{self.low:g}+"


@dataclass(frozen=True)
class RegisterModeKpi:
    """The payments of one register mode: full-self (the resident alone) or semi-self (staff keyed a fee)."""

    mode: str
    payments: int
    cashless: int

    @property
    def name(self) -> str:
        return REGISTER_MODE_JA.get(self.mode, self.mode)

    @property
    def cashless_share(self) -> float | None:
        return self.cashless / self.payments if self.payments else None


@dataclass(frozen=True)
class QuestionKpi:
    """One survey question's answers: how many, the stars' spread, the mean, and the satisfied (4-5 stars)."""

    question: str
    text: str
    answers: int
    #: answers with 1, 2, 3, 4, 5 stars
    stars: tuple[int, int, int, int, int]

    @property
    def mean(self) -> float | None:
        return sum((i + 1) * n for i, n in enumerate(self.stars)) / self.answers if self.answers else None

    @property
    def satisfied(self) -> int:
        return sum(self.stars[s - 1] for s in SATISFIED_STARS)

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.answers if self.answers else None


@dataclass(frozen=True)
class SurveyKpi:
    """Satisfaction (満足度): the residents' answers (one per ticket), against ``[kpi] satisfaction_share``."""

    #: residents who answered (record_survey accepted)
    answers: int
    #: the site's questions in its order, then any question id the site file no longer has
    questions: list[QuestionKpi]
    #: finished tickets of the day (the response rate's denominator)
    finished: int
    target_share: float | None

    @property
    def headline(self) -> QuestionKpi | None:
        """The site's first question: the one the target is about (Kumamoto: satisfied with the visit)."""
        return self.questions[0] if self.questions else None

    @property
    def satisfied_share(self) -> float | None:
        return self.headline.satisfied_share if self.headline is not None else None

    @property
    def response_rate(self) -> float | None:
        return self.answers / self.finished if self.finished else None

    @property
    def on_target(self) -> bool | None:
        share = self.satisfied_share
        return None if share is None or self.target_share is None else share >= self.target_share


@dataclass(frozen=True)
class GuideKpi:
    """Uses of the online guide (行かない窓口): life events' questions opened, and results reached."""

    #: a life event's questions opened (record_guide_use, completed false)
    visits: int
    #: the result page reached (completed true)
    completed: int
    #: (life event id or "", name, visits, completed), most used first
    by_event: list[tuple[str, str, int, int]]

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.visits if self.visits else None


@dataclass(frozen=True)
class RegisterKpi:
    payments: int
    total_yen: int
    cashless: int
    cashless_yen: int
    #: cashless payments / payments (None without payments)
    cashless_share: float | None
    #: cashless yen / total yen
    cashless_share_yen: float | None
    by_media: dict[str, int]
    #: (payee id, name, slips, yen), largest amount first
    by_payee: list[tuple[str, str, int, int]]
    #: per register mode (full_self, semi_self, unknown): payments and cashless ones; modes without payments too
    by_mode: list[RegisterModeKpi]

    def mode(self, mode: str) -> RegisterModeKpi:
        return next((m for m in self.by_mode if m.mode == mode), RegisterModeKpi(mode, 0, 0))


@dataclass(frozen=True)
class FormsKpi:
    #: residents served by the form issuer (one record_forms each)
    uses: int
    printed: int
    #: (form id, label, count), most printed first
    by_form: list[tuple[str, str, int]]
    by_lang: dict[str, int]


@dataclass(frozen=True)
class LifeEventKpi:
    """The stays of one life event's visits against its target (Kumamoto's measure: a move-in in 79 minutes)."""

    #: the life event's id; None for visits that named no life event
    life_event: str | None
    name: str
    #: the name up to its explanation in brackets (転入（区外から…） → 転入), for charts
    short: str
    target_stay_min: float
    tickets: int
    finished: int
    stay: Summary
    #: finished visits whose stay was within the target
    within_target: int
    #: visits that sat at a booth
    one_stop: int

    @property
    def within_target_share(self) -> float | None:
        return self.within_target / self.finished if self.finished else None

    @property
    def on_target(self) -> bool | None:
        """The mean stay is within the target (None without a finished visit)."""
        return None if self.stay.mean is None else self.stay.mean <= self.target_stay_min


@dataclass(frozen=True)
class ReceptionKpi:
    """The visits received one way: seated at a booth (one-stop), or going to the counters."""

    #: one_stop | counter
    kind: str
    name: str
    tickets: int
    #: of which their procedures span two or more departments (counter groups, payment aside)
    multi_department: int
    finished: int
    stay: Summary
    #: the finished multi-department visits' stays: the comparison that matters
    multi_stay: Summary
    within_target: int

    @property
    def within_target_share(self) -> float | None:
        return self.within_target / self.finished if self.finished else None


@dataclass(frozen=True)
class OneStopKpi:
    """The one-stop floor's day: who sat at a booth, and the work that came to them."""

    one_stop: ReceptionKpi
    counter: ReceptionKpi
    #: section services at a booth (take_request), and their waits (from the request opening to the take)
    requests: int
    request_wait: Summary
    #: booth visits given up to the counters (hand_over)
    hand_overs: int
    #: pickup calls (later deliveries handed over)
    pickups: int
    #: visits whose payment step the self register closed (ticket_paid)
    paid_at_register: int

    @property
    def has_booths(self) -> bool:
        return bool(self.one_stop.tickets or self.requests)


@dataclass(frozen=True)
class DayKpi:
    day: str
    tickets: int
    priority: int
    cancelled: int
    finished: int
    #: not finished at the end of the data: still waiting, being served, or absent
    unfinished: int
    calls: int
    wait: Summary
    #: per ticket: the sum of its waits (tickets called at least once)
    ticket_wait: Summary
    service: Summary
    stay: Summary
    #: the site's target (``Site.target_stay_min``), for visits whose life event sets none
    target_stay_min: float
    #: finished tickets whose stay was within their own target (their life event's, else the site's)
    within_target: int
    no_shows: int
    transfers: int
    by_lang: dict[str, int]
    groups: list[GroupKpi]
    hours: list[HourKpi]
    wait_bins: list[Bin]
    stay_bins: list[Bin]
    register: RegisterKpi
    forms: FormsKpi
    life_events: list[LifeEventKpi]
    reception: OneStopKpi
    survey: SurveyKpi
    guide: GuideKpi
    #: the site's ``[kpi]`` targets
    targets: KpiTargets

    @property
    def within_target_share(self) -> float | None:
        return self.within_target / self.finished if self.finished else None

    @property
    def multi_department(self) -> int:
        """Multi-department receptions (複数課の受付): visits, cancelled ones aside, whose procedures span two or more
        departments (the register's payment aside), at a booth or round the counters."""
        return self.reception.one_stop.multi_department + self.reception.counter.multi_department

    @property
    def stay_on_target(self) -> bool | None:
        """The stay card's colour. With ``[kpi] within_target_share``: the share of finished visits within their
        own target reaches it. Without: the mean stay is within the site's default target (the old rule)."""
        if self.targets.within_target_share is not None:
            share = self.within_target_share
            return None if share is None else share >= self.targets.within_target_share
        return None if self.stay.mean is None else self.stay.mean <= self.target_stay_min

    @property
    def has_data(self) -> bool:
        return bool(
            self.tickets or self.register.payments or self.forms.uses or self.survey.answers or self.guide.visits
        )


def target_for(site: Site, life_event: str | None) -> float:
    """The stay a visit is held to: its life event's target, else the site's."""
    event = site.life_event_by_id.get(life_event) if life_event is not None else None
    if event is not None and event.target_stay_min is not None:
        return float(event.target_stay_min)
    return float(site.target_stay_min)


def within_target(site: Site, visit: Visit) -> bool | None:
    """Whether a finished visit stayed within its target (None: not finished)."""
    stay = visit.stay_min
    return None if stay is None else stay <= target_for(site, visit.life_event)


def departments(site: Site, visit: Visit) -> set[str]:
    """The departments a visit needed: its procedures' own counter groups (the register's payment aside)."""
    procedures = [site.procedure_by_id.get(p) for p in visit.procedures]
    return {p.group for p in procedures if p is not None and p.routing != "register"}


def stay_edges(target: float) -> tuple[float, ...]:
    """The stay histogram's bin edges, with the target as one of them."""
    return tuple(sorted({*STAY_BINS, target}))


def compute(
    day_id: str,
    day: Day,
    site: Site,
    *,
    form_titles: Mapping[str, str] | None = None,
) -> DayKpi:
    """Every KPI of one day (``day`` from :func:`~queue_service.history.read_day` of that day's journal)."""
    visits = list(day.visits.values())
    services = day.services()
    finished = [v for v in visits if v.stay_min is not None]
    stays = [v.stay_min for v in finished if v.stay_min is not None]
    waits = [s.wait_min for s in services]
    target = float(site.target_stay_min)
    return DayKpi(
        day=day_id,
        tickets=len(visits),
        priority=sum(v.priority for v in visits),
        cancelled=sum(v.status == "cancelled" for v in visits),
        finished=len(finished),
        unfinished=sum(v.status in ("waiting", "serving", "absent") for v in visits),
        calls=len(services),
        wait=summarise(waits),
        ticket_wait=summarise(v.wait_min for v in visits if v.services),
        service=summarise(m for s in services if (m := s.service_min) is not None),
        stay=summarise(stays),
        target_stay_min=target,
        within_target=sum(bool(within_target(site, v)) for v in finished),
        no_shows=sum(v.no_shows for v in visits),
        transfers=sum(v.transfers for v in visits),
        by_lang=dict(Counter(v.lang for v in visits).most_common()),
        groups=group_kpis(day, site),
        hours=hour_kpis(visits),
        wait_bins=histogram(waits, WAIT_BINS),
        stay_bins=histogram(stays, stay_edges(target)),
        register=register_kpi(day.payments, site),
        forms=forms_kpi(day.forms, site, form_titles),
        life_events=life_event_kpis(visits, site),
        reception=one_stop_kpi(day, site),
        survey=survey_kpi(day.surveys, site, len(finished)),
        guide=guide_kpi(day.guide_uses, site),
        targets=site.kpi,
    )


def survey_kpi(surveys: Sequence[Mapping[str, int]], site: Site, finished: int) -> SurveyKpi:
    """Each question's stars (the site's questions first, in its order; then ids the site file dropped)."""
    ids = [q.id for q in site.survey]
    ids += sorted({k for answer in surveys for k in answer} - set(ids))
    rows = []
    for qid in ids:
        stars = [0, 0, 0, 0, 0]
        for answer in surveys:
            value = answer.get(qid)
            if value is not None and 1 <= value <= 5:
                stars[value - 1] += 1
        found = site.survey_by_id.get(qid)
        rows.append(
            QuestionKpi(qid, found.text.ja if found is not None else qid, sum(stars), tuple(stars))  # type: ignore[arg-type]
        )
    return SurveyKpi(answers=len(surveys), questions=rows, finished=finished, target_share=site.kpi.satisfaction_share)


def guide_kpi(uses: Sequence[tuple[str | None, bool]], site: Site) -> GuideKpi:
    visits: Counter[str] = Counter(event or "" for event, completed in uses if not completed)
    done: Counter[str] = Counter(event or "" for event, completed in uses if completed)
    names = {e.id: e.names.ja for e in site.life_events}
    order = sorted(set(visits) | set(done), key=lambda e: (-visits[e], -done[e], e))
    return GuideKpi(
        visits=sum(visits.values()),
        completed=sum(done.values()),
        by_event=[(e, names.get(e, e or NO_LIFE_EVENT), visits[e], done[e]) for e in order],
    )


def _short(name: str) -> str:
    return name.split("（")[0].split("(")[0].strip() or name


def life_event_kpis(visits: Sequence[Visit], site: Site) -> list[LifeEventKpi]:
    """One row per life event of the site (in the site's order), then one for visits naming none, then any
    unknown life event seen in the journal (the site file changed since)."""
    known = [e.id for e in site.life_events]
    seen: list[str | None] = [*known, None]
    seen += sorted({v.life_event for v in visits if v.life_event is not None} - set(known))
    rows = []
    for event in seen:
        mine = [v for v in visits if v.life_event == event]
        done = [v for v in mine if v.stay_min is not None]
        found = site.life_event_by_id.get(event) if event is not None else None
        name = found.names.ja if found is not None else (event or NO_LIFE_EVENT)
        rows.append(
            LifeEventKpi(
                life_event=event,
                name=name,
                short=_short(name),
                target_stay_min=target_for(site, event),
                tickets=len(mine),
                finished=len(done),
                stay=summarise(m for v in done if (m := v.stay_min) is not None),
                within_target=sum(bool(within_target(site, v)) for v in done),
                one_stop=sum(v.one_stop for v in mine),
            )
        )
    return rows


def _reception(kind: str, name: str, visits: Sequence[Visit], site: Site) -> ReceptionKpi:
    done = [v for v in visits if v.stay_min is not None]
    multi = [v for v in visits if len(departments(site, v)) >= 2]
    return ReceptionKpi(
        kind=kind,
        name=name,
        tickets=len(visits),
        multi_department=len(multi),
        finished=len(done),
        stay=summarise(m for v in done if (m := v.stay_min) is not None),
        multi_stay=summarise(m for v in multi if (m := v.stay_min) is not None),
        within_target=sum(bool(within_target(site, v)) for v in done),
    )


def one_stop_kpi(day: Day, site: Site) -> OneStopKpi:
    """One-stop visits against the counters' (cancelled tickets aside: they were received neither way)."""
    visits = [v for v in day.visits.values() if v.status != "cancelled"]
    requests = [s for s in day.services() if s.kind == "request"]
    return OneStopKpi(
        one_stop=_reception("one_stop", "ワンストップ（ブースで受付）", [v for v in visits if v.one_stop], site),
        counter=_reception("counter", "窓口を回る", [v for v in visits if not v.one_stop], site),
        requests=len(requests),
        request_wait=summarise(s.wait_min for s in requests),
        hand_overs=sum(v.handed_over for v in visits),
        pickups=sum(s.kind == "pickup" for s in day.services()),
        paid_at_register=sum(v.paid_at is not None for v in day.visits.values()),
    )


def group_kpis(day: Day, site: Site) -> list[GroupKpi]:
    """One row per counter group of the site (in the site's order), then any unknown group seen in the journal."""
    names = {g.id: g.names.ja for g in site.groups}
    services = day.services()
    seen = [g.id for g in site.groups]
    seen += sorted({s.group for s in services} - set(seen))
    rows = []
    for group in seen:
        mine = [s for s in services if s.group == group]
        rows.append(
            GroupKpi(
                group=group,
                name=names.get(group, group),
                tickets=sum(group in v.groups for v in day.visits.values()),
                calls=len(mine),
                completed=sum(s.outcome == "complete" for s in mine),
                wait=summarise(s.wait_min for s in mine),
                service=summarise(m for s in mine if (m := s.service_min) is not None),
                no_shows=sum(s.outcome == "no_show" for s in mine),
                transfers=sum(s.outcome == "transfer" for s in mine),
            )
        )
    return rows


def hour_kpis(visits: Sequence[Visit]) -> list[HourKpi]:
    issued = Counter(v.issued_at.hour for v in visits)
    waits: dict[int, list[float]] = {}
    for v in visits:
        for s in v.services:
            waits.setdefault(s.ready_at.hour, []).append(s.wait_min)
    hours = set(issued) | set(waits)
    first = min([OFFICE_HOURS[0], *hours])
    last = max([OFFICE_HOURS[1], *hours])
    return [HourKpi(h, issued.get(h, 0), summarise(waits.get(h, []))) for h in range(first, last + 1)]


def histogram(values: Sequence[float], edges: Sequence[float]) -> list[Bin]:
    """Counts per bin ``[edge, next edge)``; the last bin is open-ended. Values below the first edge go in the first."""
    counts = [0] * len(edges)
    for value in values:
        i = 0
        while i + 1 < len(edges) and value >= edges[i + 1]:
            i += 1
        counts[i] += 1
    return [Bin(low, edges[i + 1] if i + 1 < len(edges) else None, counts[i]) for i, low in enumerate(edges)]


def unique_payments(payments: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Each register transaction once: a register re-sends ``record_payment`` until acknowledged, and the
    journal keeps the repeat (with ``recorded: false``) too."""
    seen: dict[str, Mapping[str, Any]] = {}
    for p in payments:
        seen.setdefault(str(p.get("tx")), p)
    return list(seen.values())


def register_kpi(payments: Sequence[Mapping[str, Any]], site: Site) -> RegisterKpi:
    paid = unique_payments(payments)
    total = sum(int(p["total"]) for p in paid)
    cashless = [p for p in paid if p["method"] == "cashless"]
    cashless_yen = sum(int(p["total"]) for p in cashless)
    payee_names = {p.id: p.names.ja for p in (site.register.payees if site.register else ())}
    slips: Counter[str] = Counter()
    yen: Counter[str] = Counter()
    for p in paid:
        for slip in p["slips"]:
            slips[slip["payee"]] += 1
            yen[slip["payee"]] += int(slip["amount"])
    modes: Counter[str] = Counter()
    modes_cashless: Counter[str] = Counter()
    for p in paid:
        mode = str(p.get("register_mode") or "unknown")
        modes[mode] += 1
        modes_cashless[mode] += p["method"] == "cashless"
    by_mode = [
        RegisterModeKpi(m, modes[m], modes_cashless[m])
        for m in [*REGISTER_MODES, *sorted(set(modes) - set(REGISTER_MODES))]
        if m != "unknown" or modes[m]
    ]
    return RegisterKpi(
        payments=len(paid),
        total_yen=total,
        cashless=len(cashless),
        cashless_yen=cashless_yen,
        cashless_share=len(cashless) / len(paid) if paid else None,
        cashless_share_yen=cashless_yen / total if total else None,
        by_media=dict(Counter(str(p.get("media")) for p in cashless).most_common()),
        by_payee=[(pid, payee_names.get(pid, pid), slips[pid], amount) for pid, amount in yen.most_common()],
        by_mode=by_mode,
    )


def form_labels(site: Site, titles: Mapping[str, str] | None = None) -> dict[str, str]:
    """A Japanese label per form id: the template's title when known, else the procedures that print it."""
    labels: dict[str, list[str]] = {}
    for p in site.procedures:
        for form in p.forms:
            labels.setdefault(form, []).append(p.names.ja)
    out = {form: "・".join(names[:2]) + ("ほか" if len(names) > 2 else "") for form, names in labels.items()}
    out.update(titles or {})
    return out


def forms_kpi(uses: Sequence[Mapping[str, Any]], site: Site, titles: Mapping[str, str] | None = None) -> FormsKpi:
    labels = form_labels(site, titles)
    counts: Counter[str] = Counter(form for use in uses for form in use["forms"])
    return FormsKpi(
        uses=len(uses),
        printed=sum(counts.values()),
        by_form=[(form, labels.get(form, form), n) for form, n in counts.most_common()],
        by_lang=dict(Counter(str(use.get("lang", "ja")) for use in uses).most_common()),
    )


# ------------------------------------------------------------------ table rows (CSV, report)
def _minutes(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _clock(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%H:%M:%S")


TICKET_COLUMNS = (
    "日付",
    "整理券ID",
    "番号",
    "発券時刻",
    "言語",
    "優先",
    "窓口グループ",
    "状態",
    "呼出回数",
    "待ち時間計(分)",
    "対応時間計(分)",
    "完了時刻",
    "滞在時間(分)",
    "不在",
    "転送",
    "ライフイベント",
    "目標滞在(分)",
    "目標内",
    "課の数",
    "ブース",
    "ブース着席",
    "ブース退席",
    "引継ぎ",
    "セルフレジ精算時刻",
)


def _flag(value: bool | None) -> str:
    return "" if value is None else ("1" if value else "0")


def ticket_rows(day_id: str, day: Day, site: Site) -> list[list[str]]:
    """One row per ticket, in issue order. The journal holds no personal data, and neither do these rows (the
    reception's life event is an id; its answers and the concierge's note are not exported)."""
    rows = []
    for v in sorted(day.visits.values(), key=lambda v: (v.issued_at, v.number)):
        served = [m for s in v.services if (m := s.service_min) is not None]
        rows.append(
            [
                day_id,
                v.ticket,
                str(v.number),
                _clock(v.issued_at),
                v.lang,
                "1" if v.priority else "0",
                " ".join(v.groups),
                v.status,
                str(len(v.services)),
                _minutes(v.wait_min if v.services else None),
                _minutes(sum(served) if served else None),
                _clock(v.done_at),
                _minutes(v.stay_min),
                str(v.no_shows),
                str(v.transfers),
                v.life_event or "",
                f"{target_for(site, v.life_event):g}",
                _flag(within_target(site, v)),
                str(len(departments(site, v))),
                v.booth or "",
                _clock(v.seated_at),
                _clock(v.unseated_at),
                "1" if v.handed_over else "0",
                _clock(v.paid_at),
            ]
        )
    return rows


CALL_COLUMNS = (
    "日付",
    "整理券ID",
    "番号",
    "窓口グループ",
    "窓口",
    "待ち開始",
    "呼出時刻",
    "終了時刻",
    "結果",
    "待ち時間(分)",
    "対応時間(分)",
    "種別",
    "ブース",
    "手続",
)


def call_rows(day_id: str, day: Day) -> list[list[str]]:
    """One row per call (a ticket called at a counter), in call order."""
    calls = [(v, s) for v in day.visits.values() for s in v.services]
    calls.sort(key=lambda vs: (vs[1].called_at, vs[0].number))
    return [
        [
            day_id,
            v.ticket,
            str(v.number),
            s.group,
            s.counter,
            _clock(s.ready_at),
            _clock(s.called_at),
            _clock(s.ended_at),
            s.outcome,
            _minutes(s.wait_min),
            _minutes(s.service_min),
            SERVICE_KIND_JA.get(s.kind, s.kind),
            s.booth or "",
            " ".join(s.procedures),
        ]
        for v, s in calls
    ]


GROUP_COLUMNS = (
    "日付",
    "窓口グループ",
    "名称",
    "整理券数",
    "呼出数",
    "完了数",
    "平均待ち(分)",
    "待ち中央値(分)",
    "待ち90%値(分)",
    "平均対応時間(分)",
    "対応時間90%値(分)",
    "不在",
    "転送",
)


def group_rows(kpi: DayKpi) -> list[list[str]]:
    return [
        [
            kpi.day,
            g.group,
            g.name,
            str(g.tickets),
            str(g.calls),
            str(g.completed),
            _minutes(g.wait.mean),
            _minutes(g.wait.median),
            _minutes(g.wait.p90),
            _minutes(g.service.mean),
            _minutes(g.service.p90),
            str(g.no_shows),
            str(g.transfers),
        ]
        for g in kpi.groups
    ]


DAY_COLUMNS = (
    "日付",
    "整理券数",
    "完了",
    "取消",
    "未完了",
    "呼出数",
    "平均待ち(分)",
    "待ち中央値(分)",
    "待ち90%値(分)",
    "平均対応時間(分)",
    "平均滞在(分)",
    "滞在中央値(分)",
    "滞在90%値(分)",
    "目標内の割合",
    "不在",
    "転送",
    "レジ件数",
    "レジ金額(円)",
    "キャッシュレス件数",
    "キャッシュレス比率",
    "申請書交付機利用",
    "申請書印刷枚数",
    "ワンストップ来庁者",
    "ワンストップ複数課",
    "ワンストップ平均滞在(分)",
    "窓口を回る来庁者",
    "窓口を回る複数課",
    "窓口を回る平均滞在(分)",
    "出向回数",
    "引継ぎ",
    "セルフレジ精算",
    "複数課の受付",
    "フルセルフ件数",
    "フルセルフ キャッシュレス比率",
    "セミセルフ件数",
    "セミセルフ キャッシュレス比率",
    "アンケート回答",
    "満足度(4-5の割合)",
    "回答率",
    "案内 利用",
    "案内 完了",
)


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def day_row(kpi: DayKpi) -> list[str]:
    return [
        kpi.day,
        str(kpi.tickets),
        str(kpi.finished),
        str(kpi.cancelled),
        str(kpi.unfinished),
        str(kpi.calls),
        _minutes(kpi.wait.mean),
        _minutes(kpi.wait.median),
        _minutes(kpi.wait.p90),
        _minutes(kpi.service.mean),
        _minutes(kpi.stay.mean),
        _minutes(kpi.stay.median),
        _minutes(kpi.stay.p90),
        _share(kpi.within_target_share),
        str(kpi.no_shows),
        str(kpi.transfers),
        str(kpi.register.payments),
        str(kpi.register.total_yen),
        str(kpi.register.cashless),
        _share(kpi.register.cashless_share),
        str(kpi.forms.uses),
        str(kpi.forms.printed),
        str(kpi.reception.one_stop.tickets),
        str(kpi.reception.one_stop.multi_department),
        _minutes(kpi.reception.one_stop.stay.mean),
        str(kpi.reception.counter.tickets),
        str(kpi.reception.counter.multi_department),
        _minutes(kpi.reception.counter.stay.mean),
        str(kpi.reception.requests),
        str(kpi.reception.hand_overs),
        str(kpi.reception.paid_at_register),
        str(kpi.multi_department),
        str(kpi.register.mode("full_self").payments),
        _share(kpi.register.mode("full_self").cashless_share),
        str(kpi.register.mode("semi_self").payments),
        _share(kpi.register.mode("semi_self").cashless_share),
        str(kpi.survey.answers),
        _share(kpi.survey.satisfied_share),
        _share(kpi.survey.response_rate),
        str(kpi.guide.visits),
        str(kpi.guide.completed),
    ]


LIFE_EVENT_COLUMNS = (
    "日付",
    "ライフイベント",
    "名称",
    "目標滞在(分)",
    "整理券数",
    "完了",
    "平均滞在(分)",
    "滞在中央値(分)",
    "滞在90%値(分)",
    "目標内",
    "目標内の割合",
    "ワンストップ",
)


def life_event_rows(kpi: DayKpi) -> list[list[str]]:
    """One row per life event (and one for visits naming none): the stays against each target."""
    return [
        [
            kpi.day,
            e.life_event or "",
            e.name,
            f"{e.target_stay_min:g}",
            str(e.tickets),
            str(e.finished),
            _minutes(e.stay.mean),
            _minutes(e.stay.median),
            _minutes(e.stay.p90),
            str(e.within_target),
            _share(e.within_target_share),
            str(e.one_stop),
        ]
        for e in kpi.life_events
    ]


# ------------------------------------------------------------------ trends: per day and per month
@dataclass(frozen=True)
class PeriodKpi:
    """The figures a city reports, over a day or a month (``period``: ``YYYY-MM-DD`` or ``YYYY-MM``).

    Counts add up over the period's days; the median wait is over every call of the period (not a mean of daily
    medians); shares are of the period's totals (not a mean of daily shares)."""

    period: str
    #: journal days of the period with any record
    days: int
    tickets: int
    finished: int
    within_target: int
    wait: Summary
    multi_department: int
    payments: int
    cashless: int
    semi_self: int
    semi_self_cashless: int
    surveys: int
    #: answers to the site's first question, and those with 4-5 stars
    satisfaction_answers: int
    satisfied: int
    guide_visits: int
    guide_completed: int

    @property
    def within_target_share(self) -> float | None:
        return self.within_target / self.finished if self.finished else None

    @property
    def cashless_share(self) -> float | None:
        return self.cashless / self.payments if self.payments else None

    @property
    def semi_self_cashless_share(self) -> float | None:
        return self.semi_self_cashless / self.semi_self if self.semi_self else None

    @property
    def satisfied_share(self) -> float | None:
        return self.satisfied / self.satisfaction_answers if self.satisfaction_answers else None


def day_waits(day: Day) -> list[float]:
    """Every call's wait of a day: what a period's median wait is taken over."""
    return [s.wait_min for s in day.services()]


def period_kpi(period: str, items: Sequence[tuple[DayKpi, Sequence[float]]]) -> PeriodKpi:
    """One period from its days' KPIs and their calls' waits (:func:`day_waits`)."""
    kpis = [k for k, _ in items]
    heads = [k.survey.headline for k in kpis if k.survey.headline is not None]
    return PeriodKpi(
        period=period,
        days=sum(k.has_data for k in kpis),
        tickets=sum(k.tickets for k in kpis),
        finished=sum(k.finished for k in kpis),
        within_target=sum(k.within_target for k in kpis),
        wait=summarise(w for _, waits in items for w in waits),
        multi_department=sum(k.multi_department for k in kpis),
        payments=sum(k.register.payments for k in kpis),
        cashless=sum(k.register.cashless for k in kpis),
        semi_self=sum(k.register.mode("semi_self").payments for k in kpis),
        semi_self_cashless=sum(k.register.mode("semi_self").cashless for k in kpis),
        surveys=sum(k.survey.answers for k in kpis),
        satisfaction_answers=sum(h.answers for h in heads),
        satisfied=sum(h.satisfied for h in heads),
        guide_visits=sum(k.guide.visits for k in kpis),
        guide_completed=sum(k.guide.completed for k in kpis),
    )


def month_kpis(items: Sequence[tuple[DayKpi, Sequence[float]]]) -> list[PeriodKpi]:
    """One :class:`PeriodKpi` per calendar month of the days given, oldest first."""
    months: dict[str, list[tuple[DayKpi, Sequence[float]]]] = {}
    for item in sorted(items, key=lambda i: i[0].day):
        months.setdefault(item[0].day[:7], []).append(item)
    return [period_kpi(month, days) for month, days in months.items()]


PERIOD_COLUMNS = (
    "期間",
    "記録のある日数",
    "整理券数",
    "完了",
    "待ち中央値(分)",
    "平均待ち(分)",
    "目標内",
    "目標内の割合",
    "複数課の受付",
    "レジ件数",
    "キャッシュレス件数",
    "キャッシュレス比率",
    "セミセルフ件数",
    "セミセルフ キャッシュレス",
    "セミセルフ キャッシュレス比率",
    "アンケート回答",
    "満足(4-5)",
    "満足度",
    "案内 利用",
    "案内 完了",
)


def period_row(p: PeriodKpi) -> list[str]:
    return [
        p.period,
        str(p.days),
        str(p.tickets),
        str(p.finished),
        _minutes(p.wait.median),
        _minutes(p.wait.mean),
        str(p.within_target),
        _share(p.within_target_share),
        str(p.multi_department),
        str(p.payments),
        str(p.cashless),
        _share(p.cashless_share),
        str(p.semi_self),
        str(p.semi_self_cashless),
        _share(p.semi_self_cashless_share),
        str(p.surveys),
        str(p.satisfied),
        _share(p.satisfied_share),
        str(p.guide_visits),
        str(p.guide_completed),
    ]


SURVEY_COLUMNS = ("日付", "設問", "内容", "回答数", "★1", "★2", "★3", "★4", "★5", "平均(★)", "満足(4-5)の割合")


def survey_rows(kpi: DayKpi) -> list[list[str]]:
    """One row per survey question of the day (stars only: nothing says which ticket answered)."""
    return [
        [
            kpi.day,
            q.question,
            q.text,
            str(q.answers),
            *(str(n) for n in q.stars),
            "" if q.mean is None else f"{q.mean:.2f}",
            _share(q.satisfied_share),
        ]
        for q in kpi.survey.questions
    ]
