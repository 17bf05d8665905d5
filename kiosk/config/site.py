"""The site configuration: counters, counter groups, procedures, life events, devices.

Site data is data, not code: a city edits ``site.toml``, and this module validates it
strictly (unknown keys are errors, every reference must resolve, prerequisites must
not form a cycle) so a typo is caught when the service starts, not at the counter.
Pure: parsing and validation only, no I/O beyond what :func:`load_site` reads.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from kiosk.bus.contract import ID_PATTERN, Role
from kiosk.config.loading import load_toml_model
from kiosk.languages import LANGUAGES, Language
from kiosk.pin import check_hash

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Text = Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]
Digits3 = Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")]
Digits5 = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]
Digits6 = Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
#: A time of day on the office clock, "08:30".
HHMM = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(Strict):
    """A name in Japanese and English; other kiosk languages are optional."""

    ja: Text
    en: Text
    zh: Text | None = None
    ko: Text | None = None
    vi: Text | None = None
    pt: Text | None = None
    ja_easy: Text | None = Field(default=None, alias="ja-easy")

    def has(self, lang: str) -> bool:
        """Whether the site gave this name in ``lang`` itself (no fallback): what a listed language needs."""
        return bool(getattr(self, lang.replace("-", "_"), None))

    def get(self, lang: str) -> str:
        """The name in ``lang``, falling back to English, then Japanese."""
        value = getattr(self, lang.replace("-", "_"), None)
        if value:
            return value
        if lang == "ja-easy":
            return self.ja
        return self.en if lang != "ja" else self.ja


class OfficeHours(Strict):
    """When the counters take visitors (開庁時間), per weekday: ``mon = ["08:30", "17:15"]``; a day left out is
    closed. The public pages show them next to "Not open now", so a resident knows when to come instead."""

    mon: tuple[HHMM, HHMM] | None = None
    tue: tuple[HHMM, HHMM] | None = None
    wed: tuple[HHMM, HHMM] | None = None
    thu: tuple[HHMM, HHMM] | None = None
    fri: tuple[HHMM, HHMM] | None = None
    sat: tuple[HHMM, HHMM] | None = None
    sun: tuple[HHMM, HHMM] | None = None

    @model_validator(mode="after")
    def _opens_before_closing(self) -> OfficeHours:
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            span = getattr(self, day)
            if span is not None and span[0] >= span[1]:
                raise ValueError(f"{day}: opens at {span[0]}, not before it closes at {span[1]}")
        return self

    def on(self, weekday: int) -> tuple[str, str] | None:
        """Opening and closing time on ``weekday`` (0 = Monday, as ``date.weekday()``), None when closed."""
        return getattr(self, ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[weekday])


class SiteInfo(Strict):
    id: Id
    names: Names
    timezone: str = "Asia/Tokyo"
    #: Office hours (unset: not known, the pages then show none).
    hours: OfficeHours | None = None
    #: The languages the site offers residents (kiosks' language bar, ticket language); every name in the site
    #: file must be given in each of them (``madoguchi check-site`` lists what is missing). Default: all seven.
    languages: tuple[Language, ...] = Field(default=LANGUAGES, min_length=1)

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: tuple[Language, ...]) -> tuple[Language, ...]:
        if len(set(value)) != len(value):
            raise ValueError("a language is listed twice")
        if "ja" not in value:
            raise ValueError('the languages must include "ja" (Japanese: every name is given in it)')
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "Asia" is a folder of zones
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class PriorityRatio(Strict):
    """Priority is fair, not absolute: ``priority`` priority calls per ``normal`` normal ones."""

    normal: int = Field(default=2, ge=1, le=20)
    priority: int = Field(default=1, ge=1, le=20)


class QueueSettings(Strict):
    number_first: int = Field(default=1, ge=0)
    number_last: int = Field(default=999, ge=1)
    priority_ratio: PriorityRatio = PriorityRatio()
    recent_calls: int = Field(default=8, ge=1, le=50)
    #: How many recent completions per procedure feed its observed service time.
    service_time_window: int = Field(default=20, ge=1, le=1000)
    #: On a site with booths, a visit whose procedures span at least this many sections' groups goes to a booth
    #: even without a one-stop life event (unset: only life events marked ``one_stop`` do).
    one_stop_min_groups: int | None = Field(default=None, ge=2, le=20)

    @model_validator(mode="after")
    def _range(self) -> QueueSettings:
        if self.number_last <= self.number_first:
            raise ValueError("number_last must be greater than number_first")
        return self


class PhoneSettings(Strict):
    """The resident's phone page (``[phone]``): when it alerts, and who the Web Push services may contact."""

    #: Alert (sound, vibration, title flash, Web Push) when this many people or fewer are ahead (0: when next).
    alert_ahead: int = Field(default=3, ge=0, le=50)
    #: The VAPID ``sub`` claim push services may use to reach the office (a ``mailto:`` or ``https:`` URL).
    push_contact: str = Field(
        default="mailto:push@madoguchi.invalid", pattern=r"^(mailto:[^@\s]+@[^@\s]+|https://\S+)$"
    )


class Group(Strict):
    """A counter group (窓口グループ): counters that serve the same procedures.

    A group with ``booths = true`` is the one-stop floor (ワンストップ窓口): each of its counters is a booth where a
    resident is called once and stays while the sections' staff come to them (see docs/one-stop.md)."""

    id: Id
    names: Names
    floor: int
    booths: bool = False


class Counter(Strict):
    id: Id
    names: Names
    floor: int
    group: Id
    #: Skills: other counter groups whose steps this counter's staff also serve (a shared counter, 共用窓口).
    serves: tuple[Id, ...] = ()

    @property
    def groups(self) -> tuple[str, ...]:
        """Every group this counter serves: its own first."""
        return (self.group, *[g for g in self.serves if g != self.group])


class Procedure(Strict):
    """One procedure (手続き) a visit may need, served by one counter group."""

    id: Id
    names: Names
    group: Id
    minutes: float = Field(gt=0, le=240, description="typical service minutes")
    #: Procedures that must be done first when they are part of the same visit.
    requires: tuple[Id, ...] = ()
    bring: tuple[Names, ...] = ()
    #: Application forms the form issuer prints for it (templates in the site's ``forms/`` folder).
    forms: tuple[Id, ...] = ()
    #: The city's online application for it (行かない窓口), when it can be done without coming.
    online_url: Annotated[str, StringConstraints(pattern=r"^https://\S+$")] | None = None
    #: Where it is served when the site has booths: ``counter`` (the resident goes to the group's counter),
    #: ``booth`` (the group's staff come to the resident's booth), ``front`` (the booth's own staff do it: proxy
    #: reception, 代理受付), ``register`` (a payment the self register closes when the resident scans the ticket).
    routing: Literal["counter", "booth", "front", "register"] = "counter"
    #: What the resident takes home (交付物): nothing, handed over at once, or later (called again to pick it up).
    delivery: Literal["none", "now", "later"] = "none"
    #: The group that hands over a ``later`` delivery (default: the procedure's own group).
    pickup_group: Id | None = None


class Question(Strict):
    """A yes/no question a life event may ask (e.g. "children under 15?")."""

    id: Id
    text: Names


class EventProcedure(Strict):
    """A procedure a life event implies, under conditions.

    ``when`` lists question ids that must all be answered yes; ``!id`` means no.
    """

    id: Id
    when: tuple[str, ...] = ()


class LifeEvent(Strict):
    id: Id
    names: Names
    procedures: tuple[EventProcedure, ...] = Field(min_length=1)
    #: The stay (来庁から退庁まで, minutes) the city aims at for this life event; the KPI pages compare with it.
    target_stay_min: int | None = Field(default=None, ge=1, le=600)
    #: On a site with booths, a visit for this life event goes to a booth (its procedures' routing applies).
    one_stop: bool = False


class SurveyQuestion(Strict):
    """A satisfaction question (満足度), answered with 1-5 stars on the phone page or the exit screen."""

    id: Id
    text: Names


class Device(Strict):
    """An appliance on the bus: its MQTT username is its id."""

    id: Id
    role: Role
    #: Call panels: the counters this panel may operate (empty = any counter of the site).
    counters: tuple[Id, ...] = ()
    #: Ticket kiosks: ``self`` (residents issue their own ticket) or ``concierge`` (only reception staff issue,
    #: after the interview; residents are told where reception is: 市民の判断で発券することが無いように).
    issuing: Literal["self", "concierge"] = "self"
    #: Where reception is, shown by a concierge-only kiosk (e.g. "1F 総合案内").
    reception: Names | None = None

    @model_validator(mode="after")
    def _issuing(self) -> Device:
        if self.issuing == "concierge" and self.role != Role.TICKET:
            raise ValueError(f"device {self.id!r}: issuing applies to ticket kiosks only")
        if self.issuing == "concierge" and self.reception is None:
            raise ValueError(f"device {self.id!r}: a concierge-only kiosk needs reception (where residents go)")
        return self


class DigitSpan(Strict):
    """Digits ``first``…``last`` (1-based, inclusive, as a person counts them on the slip) of a code field."""

    first: int = Field(ge=1)
    last: int = Field(ge=1)

    @model_validator(mode="after")
    def _order(self) -> DigitSpan:
        if self.last < self.first:
            raise ValueError(f"last ({self.last}) comes before first ({self.first})")
        return self

    def __len__(self) -> int:
        return self.last - self.first + 1

    def of(self, text: str) -> str:
        return text[self.first - 1 : self.last]


class BillNumber(Strict):
    """Where a payee prints one bill's number in both of its codes, so that the bill is one bill
    whichever code the resident scans (the city's slip layout; see docs/payment-slips.md)."""

    #: the span of the convenience-store barcode's 21-digit free field
    cvs_free: DigitSpan
    #: the span of the eL-QR code's 20-digit 納付番号
    elqr_number: DigitSpan

    @model_validator(mode="after")
    def _spans(self) -> BillNumber:
        if self.cvs_free.last > 21 or self.elqr_number.last > 20:
            raise ValueError("cvs_free ends by digit 21 and elqr_number by digit 20")
        if len(self.cvs_free) != len(self.elqr_number):
            raise ValueError(f"cvs_free has {len(self.cvs_free)} digits, elqr_number {len(self.elqr_number)}")
        return self


class Payee(Strict):
    """Whom the self register may take money for, recognised by the codes on its slips.

    A convenience-store barcode matches by ``company_code`` (and, when a collection agent's code
    is shared by many clients, by the ``free_prefix`` the agent puts in the free field); an eL-QR
    code matches by ``eltax_tax_code`` (税目・料金番号) of this city's ``eltax_institution``
    (共通納税機関コード), so another city's tax slip is never taken.
    """

    id: Id
    names: Names
    company_code: Digits6 | None = None
    free_prefix: Annotated[str, StringConstraints(pattern=r"^[0-9]{0,21}$")] = ""
    eltax_tax_code: Digits3 | None = None
    eltax_institution: Digits5 | None = None
    #: A fee (手数料) staff key in at the register (semi-self mode); it has no slip and no codes.
    fee: bool = False
    #: For a payee whose slips carry both codes: where each code carries the bill's number.
    bill_number: BillNumber | None = None

    @model_validator(mode="after")
    def _codes(self) -> Payee:
        has_codes = self.company_code is not None or self.eltax_tax_code is not None
        if self.fee and has_codes:
            raise ValueError(f"payee {self.id!r}: a fee payee has no slip codes")
        if not self.fee and not has_codes:
            raise ValueError(f"payee {self.id!r}: needs company_code or eltax_tax_code (or fee = true)")
        if self.free_prefix and self.company_code is None:
            raise ValueError(f"payee {self.id!r}: free_prefix needs company_code")
        if (self.eltax_tax_code is None) != (self.eltax_institution is None):
            raise ValueError(f"payee {self.id!r}: eltax_tax_code and eltax_institution go together")
        if self.bill_number is not None and (self.company_code is None or self.eltax_tax_code is None):
            raise ValueError(f"payee {self.id!r}: bill_number needs both company_code and eltax_tax_code")
        return self


class RegisterSettings(Strict):
    """The self register (セルフレジ): what slips it takes and how much at once."""

    #: per slip; the convenience-store barcode cannot carry more than 999,999 yen
    max_slip_amount: int = Field(default=300_000, ge=1, le=999_999)
    max_total: int = Field(default=1_000_000, ge=1)
    max_slips: int = Field(default=20, ge=1, le=100)
    payees: tuple[Payee, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _payees(self) -> RegisterSettings:
        _unique("payees", self.payees)
        seen: dict[tuple, str] = {}
        for i, p in enumerate(self.payees):
            keys = [("cvs", p.company_code, p.free_prefix), ("eltax", p.eltax_institution, p.eltax_tax_code)]
            for key in keys:
                if key[1] is None:
                    continue
                if key in seen:
                    raise ValueError(f"payees[{i}] ({p.id}): same codes as payee {seen[key]!r}")
                seen[key] = p.id
        if self.max_total < self.max_slip_amount:
            raise ValueError("max_total must be at least max_slip_amount")
        return self


class KpiTargets(Strict):
    """The targets a city reports against (the KPI pages colour each figure by them). Shares are 0-1."""

    #: share of survey answers with 4 or 5 stars on the first question (Kumamoto: 79 → 85 %)
    satisfaction_share: float | None = Field(default=None, ge=0, le=1)
    #: cashless share of self-register payments, by count (Isesaki semi-self: 2 → 8 %)
    cashless_share: float | None = Field(default=None, ge=0, le=1)
    #: uses of the online guide per month (Isesaki: 400 → 2,000 a year)
    guide_uses_per_month: int | None = Field(default=None, ge=0)
    #: share of finished visits within their stay target
    within_target_share: float | None = Field(default=None, ge=0, le=1)
    #: visits served by two or more departments per month (Isesaki KPI ②)
    multi_department_per_month: int | None = Field(default=None, ge=0)


class StaffAccount(Strict):
    """A login for the staff KPI pages. ``password`` is a hash (``madoguchi hash-password``), never the password."""

    id: Id
    name: Text
    password: Annotated[str, AfterValidator(check_hash)]


class Site(Strict):
    site: SiteInfo
    queue: QueueSettings = QueueSettings()
    #: The resident's phone page (the ``[phone]`` section).
    phone: PhoneSettings = PhoneSettings()
    groups: tuple[Group, ...] = Field(min_length=1)
    counters: tuple[Counter, ...] = Field(min_length=1)
    procedures: tuple[Procedure, ...] = Field(min_length=1)
    questions: tuple[Question, ...] = ()
    life_events: tuple[LifeEvent, ...] = ()
    devices: tuple[Device, ...] = ()
    staff: tuple[StaffAccount, ...] = ()
    #: the ``[register]`` section; named so because pydantic models already have ``register`` (ABCMeta)
    register_settings: RegisterSettings | None = Field(default=None, alias="register")
    #: The stay every visit is compared with when its life event sets no target of its own (minutes).
    target_stay_min: int = Field(default=79, ge=1, le=600)
    #: The targets the KPI pages compare with (the ``[kpi]`` section).
    kpi: KpiTargets = KpiTargets()
    #: The satisfaction survey offered when a visit ends (empty: none).
    survey: tuple[SurveyQuestion, ...] = Field(default=(), max_length=10)

    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="after")
    def _references(self) -> Site:
        for name in ("groups", "counters", "procedures", "questions", "life_events", "devices", "staff", "survey"):
            _unique(name, getattr(self, name))
        groups = {g.id for g in self.groups}
        counters = {c.id for c in self.counters}
        procedures = {p.id for p in self.procedures}
        questions = {q.id for q in self.questions}
        for i, c in enumerate(self.counters):
            if c.group not in groups:
                raise ValueError(f"counters[{i}] ({c.id}): unknown group {c.group!r}")
            for g in c.serves:
                if g not in groups:
                    raise ValueError(f"counters[{i}] ({c.id}): serves unknown group {g!r}")
        for i, p in enumerate(self.procedures):
            if p.group not in groups:
                raise ValueError(f"procedures[{i}] ({p.id}): unknown group {p.group!r}")
            for r in p.requires:
                if r not in procedures:
                    raise ValueError(f"procedures[{i}] ({p.id}): requires unknown procedure {r!r}")
        _no_cycles({p.id: p.requires for p in self.procedures})
        self._one_stop(groups)
        for i, e in enumerate(self.life_events):
            for j, ep in enumerate(e.procedures):
                where = f"life_events[{i}].procedures[{j}]"
                if ep.id not in procedures:
                    raise ValueError(f"{where}: unknown procedure {ep.id!r}")
                for cond in ep.when:
                    if cond.lstrip("!") not in questions:
                        raise ValueError(f"{where}: condition {cond!r} names no question")
        for i, d in enumerate(self.devices):
            for counter_id in d.counters:
                if counter_id not in counters:
                    raise ValueError(f"devices[{i}] ({d.id}): unknown counter {counter_id!r}")
        if sum(d.role == Role.SERVICE for d in self.devices) > 1:
            raise ValueError("devices: at most one device may have role 'service'")
        return self

    @model_validator(mode="after")
    def _translations(self) -> Site:
        """Every name in every language the site lists: otherwise a Vietnamese resident silently reads English.

        All the gaps at once, each naming its item (``procedures[juminhyo].bring[2]: no vi translation``), so a
        translator fixes the file in one pass rather than one error per run."""
        missing = []
        for where, names in _all_names(self, ""):
            langs = [lang for lang in self.site.languages if not names.has(lang)]
            if langs:
                missing.append(f"{where}: no {', '.join(langs)} translation")
        if missing:
            raise ValueError(f"{len(missing)} name(s) without a translation:\n" + "\n".join(missing))
        return self

    def _one_stop(self, groups: set[str]) -> None:
        """Booths, skills, routing and delivery fit together (docs/one-stop.md)."""
        booth_groups = [g.id for g in self.groups if g.booths]
        if len(booth_groups) > 1:
            raise ValueError(f"groups: at most one group may have booths (found {', '.join(booth_groups)})")
        for i, c in enumerate(self.counters):
            if booth_groups and c.group != booth_groups[0] and booth_groups[0] in c.serves:
                raise ValueError(f"counters[{i}] ({c.id}): a counter cannot serve the booths' group; booths are seats")
            if c.group in booth_groups and c.serves:
                raise ValueError(f"counters[{i}] ({c.id}): a booth serves its residents' front steps; no serves")
        routing = {p.id: p.routing for p in self.procedures}
        for i, p in enumerate(self.procedures):
            where = f"procedures[{i}] ({p.id})"
            if p.group in booth_groups:
                raise ValueError(f"{where}: belongs to a section's group, not to the booths' group {p.group!r}")
            if p.routing in ("booth", "front") and not booth_groups:
                raise ValueError(f"{where}: routing {p.routing!r} needs a group with booths = true")
            if p.routing == "register" and self.register_settings is None:
                raise ValueError(f"{where}: routing 'register' needs a [register] section")
            if p.routing in ("booth", "front"):
                for r in p.requires:
                    if routing[r] not in ("booth", "front"):
                        raise ValueError(
                            f"{where}: routed to the booth, it cannot require {r!r} (routed {routing[r]!r}): "
                            "the resident would sit at the booth waiting for a counter elsewhere"
                        )
            if p.pickup_group is not None:
                if p.delivery != "later":
                    raise ValueError(f"{where}: pickup_group is for delivery = 'later'")
                if p.pickup_group not in groups or p.pickup_group in booth_groups:
                    raise ValueError(f"{where}: pickup_group {p.pickup_group!r} is not a section's group")

    # lookups -------------------------------------------------------------
    @cached_property
    def booth_group(self) -> str | None:
        """The one-stop floor's group, when the site has booths."""
        return next((g.id for g in self.groups if g.booths), None)

    @cached_property
    def group_by_id(self) -> dict[str, Group]:
        return {g.id: g for g in self.groups}

    @cached_property
    def counter_by_id(self) -> dict[str, Counter]:
        return {c.id: c for c in self.counters}

    @cached_property
    def procedure_by_id(self) -> dict[str, Procedure]:
        return {p.id: p for p in self.procedures}

    @cached_property
    def device_by_id(self) -> dict[str, Device]:
        return {d.id: d for d in self.devices}

    @cached_property
    def survey_by_id(self) -> dict[str, SurveyQuestion]:
        return {q.id: q for q in self.survey}

    @cached_property
    def question_by_id(self) -> dict[str, Question]:
        return {q.id: q for q in self.questions}

    @cached_property
    def life_event_by_id(self) -> dict[str, LifeEvent]:
        return {e.id: e for e in self.life_events}

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)

    @property
    def register(self) -> RegisterSettings | None:
        """The self register's settings, or None when the site has no self register."""
        return self.register_settings

    @property
    def service_device(self) -> Device | None:
        return next((d for d in self.devices if d.role == Role.SERVICE), None)

    def procedures_for(self, event_id: str, answers: dict[str, bool]) -> list[str]:
        """The procedures a life event implies for these yes/no answers (unanswered = no)."""
        event = self.life_event_by_id[event_id]
        out: list[str] = []
        for ep in event.procedures:
            if all(_holds(cond, answers) for cond in ep.when) and ep.id not in out:
                out.append(ep.id)
        return out

    def is_one_stop(self, procedures: list[str], life_event: str | None) -> bool:
        """Whether a visit goes to a booth: the site has booths, something of it is routed there, and its life
        event is a one-stop one (or it spans ``one_stop_min_groups`` sections)."""
        if self.booth_group is None:
            return False
        if not any(self.procedure_by_id[p].routing in ("booth", "front") for p in procedures):
            return False
        if life_event is not None and self.life_event_by_id[life_event].one_stop:
            return True
        least = self.queue.one_stop_min_groups
        return least is not None and len({self.procedure_by_id[p].group for p in procedures}) >= least

    def questions_for(self, event_id: str) -> list[Question]:
        """The questions a life event asks, in the order the site defines them."""
        event = self.life_event_by_id[event_id]
        asked = {c.lstrip("!") for ep in event.procedures for c in ep.when}
        return [q for q in self.questions if q.id in asked]


def _all_names(model: BaseModel, where: str) -> list[tuple[str, Names]]:
    """Every :class:`Names` inside ``model``, with its place in the file (items by id, bring items by index)."""
    found: list[tuple[str, Names]] = []
    for field, info in type(model).model_fields.items():
        value = getattr(model, field)
        key = f"{where}{info.alias or field}"
        if isinstance(value, Names):
            found.append((key, value))
        elif isinstance(value, BaseModel):
            found.extend(_all_names(value, f"{key}."))
        elif isinstance(value, tuple):
            for i, item in enumerate(value):
                at = f"{key}[{getattr(item, 'id', i)}]"
                if isinstance(item, Names):
                    found.append((at, item))
                elif isinstance(item, BaseModel):
                    found.extend(_all_names(item, f"{at}."))
    return found


def _holds(cond: str, answers: dict[str, bool]) -> bool:
    if cond.startswith("!"):
        return not answers.get(cond[1:], False)
    return answers.get(cond, False)


def _unique(name: str, items: tuple) -> None:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            raise ValueError(f"{name}[{i}]: duplicate id {item.id!r}")
        seen.add(item.id)


def _no_cycles(requires: dict[str, tuple[str, ...]]) -> None:
    """Depth-first, with a stack of its own: a chain of thousands of prerequisites is no RecursionError."""
    done: set[str] = set()
    for start in requires:
        if start in done:
            continue
        path = [start]
        on_path = {start}
        stack = [iter(requires.get(start, ()))]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                stack.pop()
            elif nxt in on_path:
                cycle = " → ".join([*path[path.index(nxt) :], nxt])
                raise ValueError(f"procedures: prerequisites form a cycle: {cycle}")
            elif nxt not in done:
                path.append(nxt)
                on_path.add(nxt)
                stack.append(iter(requires.get(nxt, ())))


def load_site(path: str | Path) -> Site:
    """Read and validate a site file; raises :class:`ConfigError` naming file, line and key."""
    return load_toml_model(Site, path)
