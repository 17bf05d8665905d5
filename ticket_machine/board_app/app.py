"""The call board app: recovers its whole picture from retained topics, chimes and speaks every call."""

from __future__ import annotations

import logging
import shutil
from collections import deque
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from kivy.clock import Clock
from kivy.properties import ListProperty, NumericProperty

from kiosk.bus.contract import Role
from kiosk.bus.schemas import Announcement, BoardState, CalledEvent, GroupState, WaitState
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site
from kiosk.ui.lang import tr
from kiosk.ui.link import on_main
from kiosk.ui.shell import KioskShell
from kiosk.ui.theme import theme
from ticket_machine.board_app.phrase_cache import ESPEAK_VOICES, EspeakEngine, PhraseCache
from ticket_machine.board_app.screens.board import BoardScreen
from ticket_machine.board_app.speaker import AplaySink, Call, Speaker, call_renderer

log = logging.getLogger(__name__)
CHIME = Path(__file__).resolve().parent / "chime.wav"
#: How long a ``called`` waits for its rev-2 ``announce`` (published right after it) before chiming alone: a server
#: that never sends ``announce`` still gets its chime, and a call is never chimed twice.
ANNOUNCE_GRACE_S = 1.5


class CallBoardApp(KioskShell):
    role = Role.BOARD
    home_screen = "board"
    recent = ListProperty([])
    #: Calls chimed since start (played, or counted silently when there is no audio device).
    chimes = NumericProperty(0)
    group_version = NumericProperty(0)

    def __init__(self, device: DeviceConfig, site: Site, **kw) -> None:
        super().__init__(device, site, **kw)
        self.show_languages = False
        self.group_states: dict[str, GroupState] = {}
        #: rev 2: each group's wait as a range (a rev-1 service sends none: the table falls back to ``group_states``).
        self.wait_states: dict[str, WaitState] = {}
        #: Plays chime + speech, one call at a time (``None``: the device file turned the chime off).
        self.speaker: Speaker | None = None
        #: The calls already announced (rev 2), so their ``called`` stays silent; the server sends announce.
        self._announced: deque[tuple[int, str, datetime]] = deque(maxlen=64)
        self._server_announces = False
        #: Bumps ``group_version`` at most once a frame, never in the frame that draws a new call (set in build).
        self._groups_trigger: Callable[[], object] | None = None
        self._boards_arrived = 0
        self._boards_handled = 0

    def make_screens(self):
        self.title_text = tr.name(self.site.site.names)
        theme.accessible = self.device.screen.accessible  # chosen in the device file: nobody touches a board
        if self.device.chime:
            self.speaker = self.make_speaker()
        return [BoardScreen()]

    def make_speaker(self) -> Speaker:
        """The phrase cache (chime only without one), eSpeak NG live for languages the cache lacks, and aplay."""
        cache = PhraseCache(None)
        folder = self.device.voice
        if folder is not None:
            try:
                cache = PhraseCache(folder)
            except (OSError, ValueError) as exc:
                log.warning("voice cache %s unusable, chime only: %s", folder, exc)
            if not len(cache):
                log.warning("voice cache %s is empty or missing, chime only (madoguchi voice build)", folder)
        if len(cache) and shutil.which("espeak-ng"):
            cache.live = {lang: EspeakEngine(lang) for lang in ESPEAK_VOICES if lang not in cache.languages()}
        sink = AplaySink(self.device.audio) if shutil.which("aplay") else None
        return Speaker(call_renderer(self.site, cache), sink)

    def connect(self) -> None:
        assert self.link is not None
        topics = self.link.topics
        # not ``listen``: the board counts the states on their way to the main thread (see ``_bump_groups``)
        self.link.bus.subscribe_model(topics.board_state, BoardState, self._board_arrived)
        self.link.listen(topics.group_state("+"), GroupState, self._group)
        self.link.listen(topics.wait_state("+"), WaitState, self._wait)
        self.link.listen(topics.called_event, CalledEvent, self._called)
        self.link.listen(topics.announce_event, Announcement, self._announce)

    def _shown_here(self, counter_id: str) -> bool:
        counter = self.site.counter_by_id.get(counter_id)
        return counter is not None and (not self.device.floors or counter.floor in self.device.floors)

    def _board_arrived(self, topic: str, state: BoardState) -> None:
        """The MQTT thread: one more board state on its way (only this thread writes ``_boards_arrived``)."""
        self._boards_arrived += 1
        on_main(self._board_handled, topic, state)

    def _board_handled(self, topic: str, state: BoardState) -> None:
        self._boards_handled += 1
        self._board(topic, state)

    @property
    def calls_pending(self) -> bool:
        """A board state has arrived that the main thread has not drawn from yet."""
        return self._boards_arrived > self._boards_handled

    def _board(self, _topic: str, state: BoardState) -> None:
        self.recent = list(state.recent)

    def _group(self, _topic: str, state: GroupState) -> None:
        """Kept, and the waiting table redrawn once for however many group and wait states the frame brought
        (a Clock trigger, see ``_bump_groups``: a call is drawn first, the table in a frame of its own)."""
        self.group_states[state.group] = state
        self._groups_changed()

    def _wait(self, _topic: str, state: WaitState) -> None:
        self.wait_states[state.group] = state
        self._groups_changed()

    def _groups_changed(self) -> None:
        if self._groups_trigger is None:
            self.group_version += 1
        else:
            self._groups_trigger()

    def _called(self, _topic: str, event: CalledEvent) -> None:
        """v1: chime only when the server turns out not to send ``announce`` (an older server)."""
        if not self._shown_here(event.counter) or self._server_announces:
            return
        key = (event.number, event.counter, event.at)
        Clock.schedule_once(lambda _dt: self._chime_unannounced(key, event), ANNOUNCE_GRACE_S)

    def _chime_unannounced(self, key: tuple[int, str, datetime], event: CalledEvent) -> None:
        if key in self._announced:
            return
        self.chimes += 1
        if self.speaker is not None:
            self.speaker.say(Call(event.number, event.counter, recall=event.recall, chime_only=True))

    def _announce(self, _topic: str, event: Announcement) -> None:
        """rev 2: chime, then the call in Japanese, the ticket's language and English (the speaker's queue)."""
        self._server_announces = True
        if not self._shown_here(event.counter):
            return
        self._announced.append((event.number, event.counter, event.at))
        self.chimes += 1
        if self.speaker is not None:
            self.speaker.say(Call(event.number, event.counter, event.lang, event.recall))

    def build(self):
        root = super().build()
        self.strip_controls()
        self._groups_trigger = Clock.create_trigger(self._bump_groups, 0)
        return root

    def _bump_groups(self, _dt) -> None:
        """The table's rebuild (10–100 ms on a software-rendered board) waits a frame when a call was just drawn
        or one is on its way to the main thread: the number reaches the screen first."""
        board = self.sm.get_screen("board")
        if board.calls_drawn_at == Clock.frames or self.calls_pending:
            self._groups_changed()  # the trigger again: the next frame
            return
        self.group_version += 1

    def strip_controls(self) -> None:
        """A board hangs on a wall: the shell's bars (title, larger text, languages, anything a kiosk gets to
        touch) leave the tree; the board screen draws its own header. The shell's covers are in the tree only
        while they show (``KioskShell._place_covers``): on a board, out of service only (nobody touches it, so the
        idle warning and "staff are coming" never show)."""
        screens = self.sm.__self__  # ``ids`` hold weak proxies: compare the widget itself
        column = screens.parent
        for child in list(column.children):
            if child is not screens:
                column.remove_widget(child)

    def on_idle(self) -> None:
        """Nothing to reset on a board."""
