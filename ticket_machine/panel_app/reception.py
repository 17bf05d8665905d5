"""What reception learned, and who is coming next, as a call panel words them. Pure (no Kivy).

The ticket carries its life event, the kiosk's answers (question ids, yes/no) and a concierge's short note, so no
counter asks again; each group's panel also lists the next tickets it will call with the same facts and where
the resident is now, so staff prepare before calling ("お待ちしておりました").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kiosk.bus.schemas import ComingState, Reception
from kiosk.config.site import Counter, Site
from kiosk.i18n import LANGUAGES, gettext_for
from ticket_machine.panel_app.dispatch import counter_name, procedure_names


def answer_lines(site: Site, answers: Mapping[str, bool], lang: str) -> list[str]:
    """``「質問」 はい`` per answer, in the site's question order (unknown ids last, as ids)."""
    yes, no = gettext_for(lang, "Yes"), gettext_for(lang, "No")
    known = [q for q in site.questions if q.id in answers]
    lines = [f"{q.text.get(lang)} {yes if answers[q.id] else no}" for q in known]
    lines += [f"{q} {yes if v else no}" for q, v in answers.items() if q not in site.question_by_id]
    return lines


def life_event_name(site: Site, life_event: str | None, lang: str) -> str | None:
    if life_event is None:
        return None
    event = site.life_event_by_id.get(life_event)
    return event.names.get(lang) if event is not None else life_event


def reception_lines(site: Site, reception: Reception | None, lang: str) -> list[str]:
    """The reception shown with a called visit: life event, answers, the concierge's note."""
    if reception is None:
        return []
    lines = []
    event = life_event_name(site, reception.life_event, lang)
    if event is not None:
        lines.append(gettext_for(lang, "Life event: {name}").format(name=event))
    lines += [f"・{line}" for line in answer_lines(site, reception.answers, lang)]
    if reception.note:
        lines.append(gettext_for(lang, "Reception note: {note}").format(note=reception.note))
    return lines


def where_text(site: Site, at: str, lang: str) -> str:
    """Where a coming resident is now: waiting, or at a counter or booth."""
    if at == "waiting":
        return gettext_for(lang, "Waiting")
    return gettext_for(lang, "Now at {counter}").format(counter=counter_name(site, at, lang))


@dataclass(frozen=True)
class ComingLine:
    """One resident a group calls soon: a heading (number, language, priority, where) and the details."""

    ticket: str
    number: int
    head: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class ComingSection:
    """The coming list of one group this counter serves (a counter with skills has one per group)."""

    group: str
    title: str
    lines: tuple[ComingLine, ...]


def coming_sections(site: Site, counter: Counter, states: Mapping[str, ComingState], lang: str) -> list[ComingSection]:
    sections = []
    many = len(counter.groups) > 1
    for group in counter.groups:
        state = states.get(group)
        title = gettext_for(lang, "Coming next")
        if many:
            title = f"{title}: {site.group_by_id[group].names.get(lang)}"
        lines = []
        for coming in state.coming if state is not None else ():
            head = [gettext_for(lang, "Number {number}").format(number=coming.number)]
            head.append(LANGUAGES.get(coming.lang, coming.lang))
            if coming.priority:
                head.append(gettext_for(lang, "Priority"))
            head.append(where_text(site, coming.at, lang))
            details = [procedure_names(site, coming.procedures, lang)] if coming.procedures else []
            event = life_event_name(site, coming.life_event, lang)
            if event is not None:
                details.append(gettext_for(lang, "Life event: {name}").format(name=event))
            details += [f"・{line}" for line in answer_lines(site, coming.answers, lang)]
            lines.append(ComingLine(coming.ticket, coming.number, "  ".join(head), tuple(details)))
        sections.append(ComingSection(group, title, tuple(lines)))
    return sections
