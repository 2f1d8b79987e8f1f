"""Clip post-processing: silence trimming with short fades, and loudness normalization."""

from __future__ import annotations

import numpy as np

from voiceguide.sound.clip import Clip

# Bump when trimming or normalization changes: it is part of every clip cache key.
PROCESSING_VERSION = 1

SILENCE_THRESHOLD = 10 ** (-50 / 20)  # -50 dBFS: eSpeak's pauses are exact zeros or close
KEEP_SECONDS = 0.005  # kept around the speech so the fade never eats into the first phoneme
FADE_SECONDS = 0.005  # raised-cosine ramp: makes each clip start and end at zero (no click)
TARGET_RMS_DBFS = -20.0  # speech loudness every clip is brought to
PEAK_CEILING_DBFS = -1.0  # never louder than this, whatever the RMS target asks
GATE_DBFS = -45.0  # 20 ms blocks quieter than this do not count towards loudness
BLOCK_SECONDS = 0.02


def dbfs_to_amplitude(db: float) -> float:
    return float(10 ** (db / 20))


def trim(clip: Clip, threshold: float = SILENCE_THRESHOLD) -> Clip:
    """Remove leading and trailing silence, keeping a few ms faded to zero at each end."""
    samples = clip.samples
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return Clip(np.zeros(0, dtype=np.float32), clip.rate)
    keep = int(round(KEEP_SECONDS * clip.rate))
    start = max(0, int(loud[0]) - keep)
    end = min(samples.shape[0], int(loud[-1]) + 1 + keep)
    out = samples[start:end].astype(np.float32, copy=True)
    return Clip(apply_fades(out, int(round(FADE_SECONDS * clip.rate))), clip.rate)


def apply_fades(samples: np.ndarray, fade_frames: int) -> np.ndarray:
    """Raised-cosine fade in and out over `fade_frames` (in place; returns `samples`)."""
    n = min(fade_frames, samples.shape[0] // 2)
    if n > 0:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, dtype=np.float64))).astype(np.float32)
        samples[:n] *= ramp
        samples[-n:] *= ramp[::-1]
    return samples


def gated_rms(samples: np.ndarray, rate: int, gate_dbfs: float = GATE_DBFS) -> float:
    """RMS over the 20 ms blocks louder than the gate (the speech, not its pauses)."""
    block = max(1, int(BLOCK_SECONDS * rate))
    usable = samples.shape[0] - samples.shape[0] % block
    if usable == 0:
        return (
            float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
        )
    blocks = samples[:usable].astype(np.float64).reshape(-1, block)
    power = np.mean(np.square(blocks), axis=1)
    voiced = power > dbfs_to_amplitude(gate_dbfs) ** 2
    if not voiced.any():
        return float(np.sqrt(np.mean(power)))
    return float(np.sqrt(np.mean(power[voiced])))


def normalize(
    clip: Clip,
    target_dbfs: float = TARGET_RMS_DBFS,
    ceiling_dbfs: float = PEAK_CEILING_DBFS,
) -> Clip:
    """Scale to the target speech RMS, lowered if needed so the peak stays under the ceiling."""
    samples = clip.samples.astype(np.float32, copy=False)
    rms = gated_rms(samples, clip.rate)
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if rms <= 0.0 or peak <= 0.0:
        return Clip(samples.copy(), clip.rate)
    gain = min(dbfs_to_amplitude(target_dbfs) / rms, dbfs_to_amplitude(ceiling_dbfs) / peak)
    return Clip((samples * np.float32(gain)).astype(np.float32), clip.rate)


def process_speech(clip: Clip, volume: float = 1.0) -> Clip:
    """The full chain applied to every speech clip: trim, normalize, then the voice's volume."""
    out = normalize(trim(clip))
    if volume != 1.0:
        scaled = np.clip(out.samples * np.float32(volume), -1.0, 1.0)
        out = Clip(scaled.astype(np.float32), out.rate)
    return out
