"""The call board app: recovers its whole picture from retained topics, chimes on every call."""

from __future__ import annotations

import logging
from pathlib import Path

from kivy.core.audio import SoundLoader
from kivy.properties import ListProperty, NumericProperty

from kiosk.bus.contract import Role
from kiosk.bus.schemas import BoardState, CalledEvent, GroupState
from kiosk.config.device import DeviceConfig
from kiosk.config.site import Site
from kiosk.ui.lang import tr
from kiosk.ui.shell import KioskShell
from ticket_machine.board_app.screens.board import BoardScreen

log = logging.getLogger(__name__)
CHIME = Path(__file__).resolve().parent / "chime.wav"


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
        self.sound = None

    def make_screens(self):
        self.title_text = tr.name(self.site.site.names)
        if self.device.chime:
            try:
                self.sound = SoundLoader.load(str(CHIME))
            except Exception:  # no audio device: the board stays silent, calls still show
                log.warning("no audio: the board is silent")
        return [BoardScreen()]

    def connect(self) -> None:
        assert self.link is not None
        topics = self.link.topics
        self.link.listen(topics.board_state, BoardState, self._board)
        self.link.listen(topics.group_state("+"), GroupState, self._group)
        self.link.listen(topics.called_event, CalledEvent, self._called)

    def _board(self, _topic: str, state: BoardState) -> None:
        self.recent = list(state.recent)

    def _group(self, _topic: str, state: GroupState) -> None:
        self.group_states[state.group] = state
        self.group_version += 1

    def _called(self, _topic: str, event: CalledEvent) -> None:
        counter = self.site.counter_by_id.get(event.counter)
        if counter is None or (self.device.floors and counter.floor not in self.device.floors):
            return
        self.chimes += 1
        if self.sound is not None:
            try:
                self.sound.stop()
                self.sound.play()
            except Exception:
                log.warning("chime failed", exc_info=True)

    def on_idle(self) -> None:
        """Nothing to reset on a board."""
