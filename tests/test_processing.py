"""Trimming and loudness normalization, checked by measuring samples."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from voiceguide.sound.clip import Clip
from voiceguide.sound.processing import (
    FADE_SECONDS,
    KEEP_SECONDS,
    PEAK_CEILING_DBFS,
    SILENCE_THRESHOLD,
    normalize,
    process_speech,
    trim,
)

RATE = 22050


def tone(seconds: float, amplitude: float, freq: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def padded(lead: float, body: np.ndarray, tail: float) -> Clip:
    zeros = np.zeros
    samples = np.concatenate([zeros(int(lead * RATE)), body, zeros(int(tail * RATE))])
    return Clip(samples.astype(np.float32), RATE)


def db(x: float) -> float:
    return 20 * np.log10(x)


def test_trim_removes_silence_but_keeps_a_few_ms():
    body = tone(1.0, 0.5)
    out = trim(padded(0.5, body, 0.3))
    keep = int(round(KEEP_SECONDS * RATE))
    # The sine's first sample is 0, so speech starts at its second sample.
    assert abs(out.frames - (body.size - 1 + 2 * keep)) <= 2
    assert out.samples[0] == 0.0 and out.samples[-1] == 0.0


def test_trim_fades_without_touching_the_middle():
    clip = padded(0.2, tone(1.0, 0.5), 0.2)
    out = trim(clip)
    fade = int(round(FADE_SECONDS * RATE))
    keep = int(round(KEEP_SECONDS * RATE))
    first_loud = int(np.flatnonzero(np.abs(clip.samples) > SILENCE_THRESHOLD)[0])
    start = first_loud - keep
    # The middle is bit-identical to the input: only the edges are shaped.
    np.testing.assert_array_equal(
        out.samples[fade:-fade], clip.samples[start + fade : start + out.frames - fade]
    )
    # No click: the first millisecond rises smoothly from zero.
    assert np.max(np.abs(np.diff(out.samples[:fade]))) < 0.05


def test_trim_treats_noise_below_threshold_as_silence():
    rng = np.random.default_rng(1)
    noise = (rng.standard_normal(RATE) * 0.0005).astype(np.float32)
    samples = np.concatenate([noise, tone(0.5, 0.3), noise])
    out = trim(Clip(samples, RATE))
    assert abs(out.duration - 0.5) < 0.02


def test_trim_of_silence_is_empty():
    assert trim(Clip(np.zeros(1000, dtype=np.float32), RATE)).frames == 0


def test_normalize_equalizes_loudness_by_measurement():
    quiet = normalize(Clip(tone(1.0, 0.02), RATE))
    loud = normalize(Clip(tone(1.0, 0.9), RATE))
    for clip in (quiet, loud):
        rms = float(np.sqrt(np.mean(np.square(clip.samples.astype(np.float64)))))
        assert abs(db(rms) - -20.0) < 0.1  # the documented speech level, written out


def test_normalize_ignores_pauses_when_measuring():
    # The same speech with long pauses must come out as loud as without them.
    body = tone(0.5, 0.3)
    gappy = np.concatenate([body, np.zeros(RATE * 2, dtype=np.float32), body])
    a = normalize(Clip(body, RATE))
    b = normalize(Clip(gappy, RATE))
    assert abs(db(np.max(np.abs(a.samples))) - db(np.max(np.abs(b.samples)))) < 0.1


def test_normalize_respects_the_peak_ceiling():
    spiky = np.zeros(RATE, dtype=np.float32)
    spiky[::500] = 0.5  # huge crest factor: the RMS target would clip it
    out = normalize(Clip(spiky, RATE))
    assert db(float(np.max(np.abs(out.samples)))) <= PEAK_CEILING_DBFS + 1e-4


def test_volume_is_linear_after_normalization():
    full = process_speech(padded(0.1, tone(1.0, 0.4), 0.1), volume=1.0)
    half = process_speech(padded(0.1, tone(1.0, 0.4), 0.1), volume=0.5)
    ratio = np.max(np.abs(half.samples)) / np.max(np.abs(full.samples))
    assert abs(ratio - 0.5) < 1e-3


@settings(max_examples=60, deadline=None)
@given(
    lead=st.floats(0, 0.5),
    length=st.floats(0.05, 1.0),
    tail=st.floats(0, 0.5),
    amplitude=st.floats(0.01, 1.0),
)
def test_processed_clips_start_and_end_silent_and_never_grow(lead, length, tail, amplitude):
    clip = padded(lead, tone(length, amplitude), tail)
    out = process_speech(clip)
    assert out.frames <= clip.frames
    assert out.frames > 0
    assert out.samples[0] == 0.0 and out.samples[-1] == 0.0
    assert float(np.max(np.abs(out.samples))) <= 1.0
