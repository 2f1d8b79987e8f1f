"""1,000 cues through the real pyttsx3 engine: no failure and no hang may reach the caller."""

from __future__ import annotations

import time

import numpy as np
import pytest

from voiceguide.routine.models import Voice
from voiceguide.speech.pyttsx3_engine import plausible_seconds
from voiceguide.speech.synth import Synthesizer
from voiceguide.timeline import Cue

WORDS = ["gently", "slowly", "circle", "press", "release", "breathe", "upward", "temple", "jaw"]


def stress_text(i: int) -> str:
    picks = [WORDS[(i * k + k) % len(WORDS)] for k in range(1, 2 + i % 9)]
    return f"Cue {i}: " + " ".join(picks) + ("." if i % 3 else ", then rest.")


@pytest.mark.slow
def test_thousand_cues_without_failure_or_hang(tmp_path):
    rates = [120, 150, 190, 240]
    cues = [Cue("speech", stress_text(i), Voice(rate=rates[i % 4])) for i in range(1000)]
    progress: list[int] = []
    start = time.monotonic()
    with Synthesizer(use_cache=False) as synth:
        synth.prepare(cues, progress=lambda done, total: progress.append(done))
        clips = [synth.clip(c) for c in cues]
        engine = synth.engine("pyttsx3")
        restarts = engine.restarts  # type: ignore[attr-defined]
    elapsed = time.monotonic() - start
    assert progress[-1] == 1000
    for cue, clip in zip(cues, clips, strict=False):
        assert cue.voice is not None
        low, high = plausible_seconds(cue.text, cue.voice.rate)
        # Trimming removes eSpeak's padding, so allow the clip to be a little shorter.
        assert low * 0.8 <= clip.duration <= high, cue.text
        assert np.max(np.abs(clip.samples)) > 0.1
    # Retries are allowed (that is the mechanism), but they must stay rare.
    assert restarts <= 10
    print(f"1000 cues in {elapsed:.1f} s, {restarts} worker restarts")
