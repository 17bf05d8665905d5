"""The MQTT contract, v1: topic names and which role may use which verb.

This module is the single place where topic strings are built, so the service, the
devices, the ACL generator and the tests can never disagree on a topic. It is pure:
no paho, no I/O. The payloads live in :mod:`kiosk.bus.schemas`; the human-readable
version of the whole contract is ``docs/mqtt-contract.md``.
"""

from __future__ import annotations

import re
from enum import StrEnum

VERSION = "v1"
#: Additive revisions inside v1: new verbs, topics and fields a v1 device never sees (docs/mqtt-contract.md).
REVISION = 2

#: Site and device ids appear in topics and in the ACL: keep them to safe characters.
ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,62}$"
_ID = re.compile(ID_PATTERN)


class Role(StrEnum):
    """What an appliance is; decides the verbs it may send and the topics it may read."""

    TICKET = "ticket"  # ticket kiosk (発券機)
    PANEL = "panel"  # call panel at a counter (呼出操作盤)
    BOARD = "board"  # call board (呼出表示盤): publishes nothing
    FORMS = "forms"  # form issuer (申請書自動交付機)
    REGISTER = "register"  # self register (フルセルフレジ)
    DESK = "desk"  # counter desk: staff write the forms while they listen (書かない窓口 at the counter)
    EXIT = "exit"  # exit screen: residents rate their visit on the way out (満足度)
    SERVICE = "service"  # the queue service: the only writer of state


class Verb(StrEnum):
    ISSUE = "issue"
    CALL_NEXT = "call_next"
    RECALL = "recall"
    COMPLETE = "complete"
    NO_SHOW = "no_show"
    REACTIVATE = "reactivate"
    TRANSFER = "transfer"
    OPEN_COUNTER = "open_counter"
    CLOSE_COUNTER = "close_counter"
    CANCEL = "cancel"
    REPRINT = "reprint"
    #: Anonymous usage counts for the KPIs (form type and language only, never who).
    RECORD_FORMS = "record_forms"
    #: A payment completed at a self register, for the daily reconciliation and the cashless-rate KPI.
    RECORD_PAYMENT = "record_payment"
    # rev 2: one-stop booths, staff dispatch, later delivery, payment off the staffed queue
    #: A section's staff member takes a booth's request and goes to serve the resident there.
    TAKE_REQUEST = "take_request"
    #: A booth hands its resident over to the sections' counters (the booth is freed).
    HAND_OVER = "hand_over"
    #: The back office marks a later delivery ready: the ticket is called again to pick it up.
    MARK_READY = "mark_ready"
    #: The self register closes the visit's payment step (the resident scanned the ticket's QR).
    TICKET_PAID = "ticket_paid"
    #: A resident's satisfaction answers (1-5 per question of the site's survey): anonymous, one per ticket.
    RECORD_SURVEY = "record_survey"
    #: The online guide was used (opened for a life event, or followed to its list of procedures): counts only.
    RECORD_GUIDE_USE = "record_guide_use"


#: The verbs each role may publish. The ACL is generated from this table and the
#: service checks it again (defence in depth: a hand-edited ACL must not widen it).
ROLE_VERBS: dict[Role, frozenset[Verb]] = {
    Role.TICKET: frozenset({Verb.ISSUE, Verb.REPRINT, Verb.CANCEL}),
    Role.PANEL: frozenset(
        {
            Verb.CALL_NEXT,
            Verb.RECALL,
            Verb.COMPLETE,
            Verb.NO_SHOW,
            Verb.REACTIVATE,
            Verb.TRANSFER,
            Verb.OPEN_COUNTER,
            Verb.CLOSE_COUNTER,
            Verb.CANCEL,
            Verb.REPRINT,
            Verb.TAKE_REQUEST,
            Verb.HAND_OVER,
            Verb.MARK_READY,
        }
    ),
    Role.BOARD: frozenset(),
    Role.FORMS: frozenset({Verb.RECORD_FORMS}),
    Role.REGISTER: frozenset({Verb.RECORD_PAYMENT, Verb.TICKET_PAID}),
    Role.DESK: frozenset({Verb.RECORD_FORMS}),
    Role.EXIT: frozenset({Verb.RECORD_SURVEY}),
    #: the service's own web pages submit what residents answer on their phones (QueueService.submit)
    Role.SERVICE: frozenset({Verb.RECORD_SURVEY, Verb.RECORD_GUIDE_USE}),
}

#: Roles that publish a retained presence message (and a will). Boards publish nothing.
ROLES_WITH_PRESENCE = frozenset(Role) - {Role.BOARD}


def valid_id(value: str) -> bool:
    """The whole value is an id (``fullmatch``: ``$`` alone would let ``"c01\n"`` through into a topic)."""
    return bool(_ID.fullmatch(value))


class Topics:
    """Every topic of one site, per the v1 contract."""

    def __init__(self, site: str) -> None:
        if not valid_id(site):
            raise ValueError(f"site id {site!r} is not topic-safe (expected {ID_PATTERN})")
        self.site = site
        self.root = f"madoguchi/{VERSION}/{site}"

    # commands and replies
    def command(self, verb: Verb | str) -> str:
        return f"{self.root}/queue/cmd/{verb}"

    @property
    def all_commands(self) -> str:
        return f"{self.root}/queue/cmd/+"

    def reply(self, device: str) -> str:
        return f"{self.root}/device/{device}/reply"

    @property
    def all_replies(self) -> str:
        return f"{self.root}/device/+/reply"

    # presence
    def status(self, device: str) -> str:
        return f"{self.root}/device/{device}/status"

    @property
    def all_statuses(self) -> str:
        return f"{self.root}/device/+/status"

    # retained state and events
    def counter_state(self, counter: str) -> str:
        return f"{self.root}/queue/state/counter/{counter}"

    def group_state(self, group: str) -> str:
        return f"{self.root}/queue/state/group/{group}"

    def wait_state(self, group: str) -> str:
        """rev 2: the wait at a group as a range (``WaitState``)."""
        return f"{self.root}/queue/state/wait/{group}"

    def requests_state(self, group: str) -> str:
        """rev 2: the booths' open requests for a group's staff."""
        return f"{self.root}/queue/state/requests/{group}"

    def coming_state(self, group: str) -> str:
        """rev 2: who a group calls next."""
        return f"{self.root}/queue/state/coming/{group}"

    def pickups_state(self, group: str) -> str:
        """rev 2: the later deliveries a group hands over (its back office marks them ready)."""
        return f"{self.root}/queue/state/pickups/{group}"

    def serving_state(self, counter: str) -> str:
        """rev 2: what the visit a counter serves needs (the counter desk opens it): ids only."""
        return f"{self.root}/queue/state/serving/{counter}"

    def booth_state(self, booth: str) -> str:
        """rev 2: who sits at a booth."""
        return f"{self.root}/queue/state/booth/{booth}"

    @property
    def board_state(self) -> str:
        return f"{self.root}/queue/state/board"

    @property
    def all_state(self) -> str:
        return f"{self.root}/queue/state/#"

    @property
    def called_event(self) -> str:
        return f"{self.root}/queue/event/called"

    @property
    def announce_event(self) -> str:
        """rev 2: a call with the ticket's language, for the board's voice."""
        return f"{self.root}/queue/event/announce"

    # the city (rev 2): what the site's bridge carries out to the city broker, and nothing else
    def city_day(self, date: str) -> str:
        """rev 2, retained: one office day's anonymous figures (``SiteDaySummary``)."""
        return f"{self.root}/city/day/{date}"

    @property
    def all_city(self) -> str:
        return f"{self.root}/city/#"

    def bridged_out(self, service: str) -> tuple[str, ...]:
        """The topic patterns a site's bridge publishes to the city broker (``out`` only): the groups' retained
        state (waiting, open counters, the wait estimate), the day summaries and the queue service's presence
        (is the office online). No command, reply, event, counter, booth, request or coming topic: those carry
        numbers and notes the city has no use for."""
        return (f"{self.root}/queue/state/group/#", self.all_city, self.status(service))

    @property
    def all_events(self) -> str:
        return f"{self.root}/queue/event/#"

    def verb_of(self, topic: str) -> str | None:
        """The verb of a command topic, or None if ``topic`` is not a command topic."""
        prefix = f"{self.root}/queue/cmd/"
        if topic.startswith(prefix) and "/" not in topic[len(prefix) :]:
            return topic[len(prefix) :]
        return None
