"""Synthesis through the real pyttsx3/eSpeak NG engine, measured on the clips it returns."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from voiceguide.errors import SynthesisError
from voiceguide.routine.models import Voice
from voiceguide.sound.clip import Clip
from voiceguide.sound.processing import gated_rms
from voiceguide.speech.base import Engine, create_engine, engine_names
from voiceguide.speech.cache import ClipCache
from voiceguide.speech.pyttsx3_engine import Pyttsx3Engine
from voiceguide.speech.synth import Synthesizer, default_cache_dir
from voiceguide.timeline import Cue

ROOT = Path(__file__).resolve().parents[1]


class CountingEngine:
    """Wraps a real engine and records every text it is asked to synthesize."""

    def __init__(self, inner: Engine, calls: list[str]):
        self.inner = inner
        self.name = inner.name
        self.calls = calls

    def __getattr__(self, attr: str) -> object:
        return getattr(self.inner, attr)

    def synthesize_batch(self, requests: Sequence[tuple[str, Voice]]) -> list[Clip]:
        self.calls.extend(text for text, _ in requests)
        return self.inner.synthesize_batch(requests)


def counting_factory(calls: list[str]):
    return lambda name: CountingEngine(create_engine(name), calls)


@pytest.fixture(scope="module")
def engine():
    eng = Pyttsx3Engine()
    yield eng
    eng.close()


def speech(text: str, **voice: object) -> Cue:
    return Cue("speech", text, Voice(**voice))  # type: ignore[arg-type]


def db(x: float) -> float:
    return float(20 * np.log10(x))


def longest_silence(clip: Clip, threshold: float = 0.01) -> float:
    loud = np.flatnonzero(np.abs(clip.samples) > threshold)
    return float(np.max(np.diff(loud)) / clip.rate) if loud.size > 1 else clip.duration


def test_pyttsx3_is_registered():
    assert "pyttsx3" in engine_names()
    assert isinstance(create_engine("pyttsx3"), Pyttsx3Engine)


def test_default_cache_dir_is_the_user_cache():
    assert default_cache_dir().name == "clips"
    assert "voiceguide" in default_cache_dir().parts


def test_clips_are_trimmed_and_at_the_native_rate(tmp_path):
    with Synthesizer(cache_dir=tmp_path) as synth:
        clip = synth.clip(speech("Breathe in slowly."))
    assert clip.rate == 22050
    assert 0.5 < clip.duration < 3.0
    loud = np.flatnonzero(np.abs(clip.samples) > 0.003)
    # eSpeak pads with silence; after trimming only the few kept milliseconds remain.
    assert loud[0] / clip.rate < 0.012
    assert (clip.frames - loud[-1]) / clip.rate < 0.012
    assert clip.samples[0] == 0.0 and clip.samples[-1] == 0.0


def test_length_matches_the_clip(tmp_path):
    with Synthesizer(cache_dir=tmp_path) as synth:
        cue = speech("Relax your jaw.")
        assert synth.length(cue) == synth.clip(cue).duration


def test_rate_changes_length(tmp_path):
    with Synthesizer(cache_dir=tmp_path) as synth:
        slow = synth.length(speech("Slowly roll from the chin up to the ears.", rate=100))
        fast = synth.length(speech("Slowly roll from the chin up to the ears.", rate=300))
    assert fast < slow * 0.5


def test_loudness_is_equal_across_texts_and_engine_volumes(engine, tmp_path):
    raw = engine.synthesize_batch(
        [("Press gently.", Voice(volume=0.2)), ("Press gently.", Voice(volume=1.0))]
    )
    assert db(gated_rms(raw[0].samples, 22050)) < db(gated_rms(raw[1].samples, 22050)) - 6
    texts = ["Press gently.", "Sweep outwards to the temples, three times.", "Okay.", "Ah"]
    with Synthesizer(cache_dir=tmp_path) as synth:
        levels = [db(gated_rms(synth.clip(speech(t)).samples, 22050)) for t in texts]
    assert max(levels) - min(levels) < 1.5
    assert all(abs(level - -20.0) < 1.5 for level in levels)  # -20 dBFS, written out


def test_voice_volume_scales_linearly(tmp_path):
    with Synthesizer(cache_dir=tmp_path) as synth:
        full = synth.clip(speech("Hold for three breaths.", volume=1.0))
        half = synth.clip(speech("Hold for three breaths.", volume=0.5))
    ratio = gated_rms(half.samples, 22050) / gated_rms(full.samples, 22050)
    assert abs(db(ratio) - db(0.5)) < 1.0


@pytest.mark.parametrize(
    "text",
    [
        "-v xx --help",
        "She said \"don't\" and 'stop'; $(rm -rf /) `ls` | > < &",
        "line one\nline two",
        "smile 🙂 now",
        "[[h@'l@U]] %s {0}",
    ],
)
def test_awkward_texts_are_spoken_as_text(text, tmp_path):
    with Synthesizer(cache_dir=tmp_path) as synth:
        clip = synth.clip(speech(text))
    assert clip.duration > 0.5


def test_ssml_like_tags_are_read_not_obeyed(tmp_path):
    # pyttsx3 calls espeak_Synth without the SSML flag: a <break> must not become a pause.
    with Synthesizer(cache_dir=tmp_path) as synth:
        clip = synth.clip(speech("one <break time='5s'/> two <prosody rate='x-slow'>three"))
    assert longest_silence(clip) < 0.8
    assert clip.duration < 9.0


def test_unique_texts_synthesized_once_and_tones_ignored(tmp_path):
    calls: list[str] = []
    texts = [f"Circle number {i % 7}." for i in range(40)]
    cues = [speech(t) for t in texts] + [Cue("tone", "bell")]
    progress: list[tuple[int, int]] = []
    with Synthesizer(cache_dir=tmp_path, engine_factory=counting_factory(calls)) as synth:
        synth.prepare(cues, progress=lambda d, t: progress.append((d, t)))
        for cue in cues[:-1]:
            synth.clip(cue)
        synth.prepare(cues)
    assert sorted(calls) == sorted(set(texts))
    assert progress[-1] == (7, 7)
    # The same text in another voice is a different clip.
    with Synthesizer(use_cache=False, engine_factory=counting_factory(calls)) as synth:
        synth.prepare([speech("Circle number 1.", rate=200), speech("Circle number 1.")])
    assert len(calls) == 7 + 2


def test_warm_cache_synthesizes_nothing(tmp_path):
    calls: list[str] = []
    cues = [speech("Tap lightly."), speech("Now the other side.")]
    with Synthesizer(cache_dir=tmp_path, engine_factory=counting_factory(calls)) as synth:
        cold = [synth.clip(c) for c in cues]
    with Synthesizer(cache_dir=tmp_path, engine_factory=counting_factory(calls)) as synth:
        synth.prepare(cues)
        warm = [synth.clip(c) for c in cues]
    assert len(calls) == 2
    for a, b in zip(cold, warm, strict=False):
        assert np.array_equal(a.samples, b.samples)


def test_voices_are_checked_only_for_speech_still_to_be_made(tmp_path):
    # Listing eSpeak's voices starts a worker; a cached clip was made with a voice checked then.
    checked: list[str | None] = []

    class Checking(CountingEngine):
        def check_voice(self, voice: Voice) -> None:
            checked.append(voice.id)
            self.inner.check_voice(voice)

    def factory(name: str) -> Engine:
        return Checking(create_engine(name), [])  # type: ignore[return-value]

    cues = [speech("Warm voice.", id="en-us")]
    with Synthesizer(cache_dir=tmp_path, engine_factory=factory) as synth:
        synth.check_voices(cues)
        synth.prepare(cues)
    assert checked == ["en-us"]
    with Synthesizer(cache_dir=tmp_path, engine_factory=factory) as synth:
        synth.check_voices(cues)
        synth.prepare(cues)
        assert checked == ["en-us"]
        synth.check_voices([speech("Not in the cache yet.", id="en-us")])
    assert checked == ["en-us", "en-us"]


def test_no_cache_writes_nothing(tmp_path):
    with Synthesizer(cache_dir=tmp_path / "c", use_cache=False) as synth:
        synth.clip(speech("Nothing stored."))
    assert not (tmp_path / "c").exists()


def test_truncated_cache_entry_is_resynthesized(tmp_path):
    calls: list[str] = []
    cue = speech("Smooth the forehead.")
    with Synthesizer(cache_dir=tmp_path, engine_factory=counting_factory(calls)) as synth:
        original = synth.clip(cue)
    (entry,) = list(tmp_path.glob("*/*.clip"))
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    with Synthesizer(cache_dir=tmp_path, engine_factory=counting_factory(calls)) as synth:
        again = synth.clip(cue)
    assert len(calls) == 2
    # eSpeak output varies by a few ms between runs: compare lengths with a tolerance.
    assert abs(again.duration - original.duration) < 0.03
    assert ClipCache(tmp_path).info().entries == 1


def test_voice_ids_in_both_styles_are_accepted(engine):
    engine.check_voice(Voice(id="gmw/en-us"))
    engine.check_voice(Voice(id="en-us"))
    engine.check_voice(Voice(id="EN-GB"))
    engine.check_voice(Voice(id=None))


def test_unknown_voice_names_the_closest(tmp_path):
    with Synthesizer(cache_dir=tmp_path) as synth, pytest.raises(SynthesisError) as err:
        synth.prepare([speech("Hello.", id="en-usa")])
    message = str(err.value)
    assert "unknown voice 'en-usa'" in message
    assert "en-us = English (America)" in message  # by language and name
    assert "\n" not in message


def test_voices_lists_id_name_language_gender(engine):
    voices = engine.voices()
    assert len(voices) > 50
    by_id = {v.id: v for v in voices}
    assert "gmw/en-us" in by_id
    assert by_id["gmw/en-us"].language.startswith("en")
    assert by_id["gmw/en-us"].name


def test_missing_espeak_library_is_one_line(tmp_path):
    script = textwrap.dedent(
        """
        import ctypes
        def missing(*a, **k):
            raise OSError("cannot open shared object file")
        ctypes.cdll.LoadLibrary = missing
        from voiceguide.errors import SynthesisError
        from voiceguide.speech.synth import Synthesizer
        from voiceguide.timeline import Cue
        try:
            Synthesizer(use_cache=False).clip(Cue("speech", "Hello"))
        except SynthesisError as e:
            print(e)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == (
        "speech engine unavailable: eSpeak NG library not found; "
        "install it with: sudo apt-get install libespeak-ng1"
    )


def test_no_audio_saved_print_reaches_stdout(capfd, tmp_path):
    with Synthesizer(cache_dir=tmp_path) as synth:
        synth.prepare([speech("Quiet please.")])
    assert "Audio saved" not in capfd.readouterr().out


def test_voice_id_reaches_espeak(tmp_path):
    text = "The weather is nice today, isn't it?"
    with Synthesizer(cache_dir=tmp_path) as synth:
        english = synth.clip(speech(text, id="en-us"))
        german = synth.clip(speech(text, id="de"))
        same = synth.clip(speech(text, id="gmw/en-us"))
    assert abs(english.duration - same.duration) < 0.03
    assert abs(english.duration - german.duration) > 0.1
