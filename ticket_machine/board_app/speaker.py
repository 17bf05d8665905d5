"""The board's speaker: one call at a time, chime then the joined pieces, never overlapping, nothing dropped.

Calls come from the bus on the UI thread; rendering (reading the pieces) and playing happen on one worker thread,
so a call that arrives while another is spoken waits its turn. A recall of a number that is still waiting in the
queue merges with it (it would say the same words twice in a row). Playback is ``aplay`` reading raw PCM from its
stdin (alsa-utils): the real ALSA path, testable without a sound card through ALSA's ``file`` plugin. No ``aplay``,
no sound card or a failing device: the board logs once and stays silent; the calls still show.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from kiosk.config.site import Site
from ticket_machine.board_app.announcement import plan_call
from ticket_machine.board_app.phrase_cache import PhraseCache, Rendered

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Call:
    """What the speaker says: a call, or only the chime (a server that sends no ``announce``)."""

    number: int
    counter: str
    lang: str = "ja"
    recall: bool = False
    chime_only: bool = False


def call_renderer(site: Site, cache: PhraseCache) -> Callable[[Call], Rendered]:
    """A call as audio: the chime, then the plan's languages from the cache (only the chime for ``chime_only``)."""

    def render(call: Call) -> Rendered:
        plan = () if call.chime_only else plan_call(site, call.number, call.counter, call.lang, call.recall)
        return cache.render(plan)

    return render


class Sink(Protocol):
    def play(self, rendered: Rendered) -> None:
        """Play the whole stream; return when it has been played."""
        ...


class SinkError(RuntimeError):
    """The audio path failed for this call (no device, device busy): the speaker logs it and goes on."""


@dataclass
class AplaySink:
    """``aplay`` on an ALSA PCM (``default``, ``hdmi:0``, ``plughw:1``…): one process per call, raw PCM on stdin."""

    device: str = "default"
    program: str = "aplay"
    #: Called with ``time.monotonic()`` just before the first byte is handed to aplay.
    on_start: Callable[[float], None] | None = None

    def play(self, rendered: Rendered) -> None:
        found = shutil.which(self.program)
        if found is None:
            raise SinkError(f"{self.program} is not installed (apt-get install alsa-utils)")
        cmd = [found, "-q", "-D", self.device, "-t", "raw", "-f", "S16_LE", "-c", "1", "-r", str(rendered.rate), "-"]
        with subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            assert proc.stdin is not None and proc.stderr is not None
            if self.on_start is not None:
                self.on_start(time.monotonic())
            try:
                proc.stdin.write(rendered.pcm)
                proc.stdin.close()
            except BrokenPipeError:
                pass
            err = proc.stderr.read().decode(errors="replace").strip()
            rc = proc.wait(timeout=rendered.seconds + 30)
        if rc != 0:
            raise SinkError(f"aplay -D {self.device} failed ({rc}): {err}")


@dataclass
class RecordingSink:
    """For tests: takes as long as the audio lasts (like a sound card) and records what it was given and when."""

    #: Playback speed-up, so a test of three 20-second calls need not last a minute.
    speed: float = 1.0
    played: list[tuple[float, float, Rendered]] = field(default_factory=list)

    def play(self, rendered: Rendered) -> None:
        start = time.monotonic()
        threading.Event().wait(rendered.seconds / self.speed)  # the card's playing time, not a synchronisation
        self.played.append((start, time.monotonic(), rendered))


class Speaker:
    """The queue. ``render(call)`` turns a call into audio (the phrase cache); ``sink`` plays it."""

    def __init__(self, render: Callable[[Call], Rendered], sink: Sink | None) -> None:
        self.render, self.sink = render, sink
        self._queue: deque[Call] = deque()
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._failed = False
        self.spoken = 0
        if sink is None:
            log.warning("no audio output: the board is silent, calls still show")
        self._thread = threading.Thread(target=self._run, name="board-speaker", daemon=True)
        self._thread.start()

    def say(self, call: Call) -> None:
        """Queue a call; a recall of a number still waiting merges with it."""
        with self._cond:
            for queued in self._queue:
                if queued.number == call.number and queued.counter == call.counter:
                    return
            self._queue.append(call)
            self._cond.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Until every queued call has been played (tests, shutdown); ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                call = self._queue.popleft()
                self._busy = True
            try:
                self._speak(call)
            finally:
                with self._cond:
                    self._busy = False
                    self.spoken += 1
                    self._cond.notify_all()

    def _speak(self, call: Call) -> None:
        try:
            rendered = self.render(call)
        except Exception:  # a broken cache must never stop the board: log, and the next call tries again
            log.exception("voice: could not render call %s", call.number)
            return
        if self.sink is None:
            return
        try:
            self.sink.play(rendered)
            self._failed = False
        except (SinkError, OSError, subprocess.SubprocessError) as exc:
            if not self._failed:  # once per outage, not once per call
                log.warning("audio output failed, the board is silent until it works again: %s", exc)
            self._failed = True
