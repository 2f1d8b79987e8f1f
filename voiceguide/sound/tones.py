"""Synthesized chime tones (no binary assets) and chime WAV files read at any rate."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from voiceguide.errors import PlanError
from voiceguide.sound.clip import Clip
from voiceguide.sound.resample import resample

TONE_NAMES = ("bell", "beep")

# Peak level of synthesized tones: a soft chime that sits below eSpeak's speech peak.
_PEAK = 0.5


def tone_clip(name_or_path: str, rate: int) -> Clip:
    """The clip for a chime: `bell`/`beep` synthesized at `rate`, else a WAV file resampled."""
    if name_or_path in TONE_NAMES:
        return _synthesized(name_or_path, rate)
    return _from_file(Path(name_or_path).expanduser(), rate)


@lru_cache(maxsize=16)
def _synthesized(name: str, rate: int) -> Clip:
    samples = _bell(rate) if name == "bell" else _beep(rate)
    samples.flags.writeable = False  # shared between calls through the cache
    return Clip(samples, rate)


def _bell(rate: int) -> np.ndarray:
    """~1.5 s bell: inharmonic partials, each decaying exponentially, soft 5 ms attack."""
    n = round(1.5 * rate)
    t = np.arange(n, dtype=np.float64) / rate
    # (frequency ratio, relative amplitude, decay time constant in s): a struck-bell spectrum
    # (hum, prime, tierce, quint, nominal) whose upper partials die away first.
    partials = (
        (0.5, 0.35, 0.9),
        (1.0, 1.0, 0.6),
        (1.19, 0.45, 0.45),
        (1.5, 0.3, 0.35),
        (2.0, 0.4, 0.25),
        (2.74, 0.15, 0.15),
    )
    base = 660.0
    wave = np.zeros(n)
    for ratio, amp, tau in partials:
        freq = base * ratio
        if freq < rate / 2:  # skip partials above Nyquist at very low rates
            wave += amp * np.exp(-t / tau) * np.sin(2 * np.pi * freq * t)
    wave *= _fade(n, attack=round(0.005 * rate), release=round(0.2 * rate))
    return (wave * (_PEAK / np.max(np.abs(wave)))).astype(np.float32)


def _beep(rate: int) -> np.ndarray:
    """0.2 s 880 Hz sine with 10 ms raised-cosine fades (no clicks)."""
    n = round(0.2 * rate)
    t = np.arange(n, dtype=np.float64) / rate
    wave = np.sin(2 * np.pi * 880.0 * t) * _fade(n, round(0.01 * rate), round(0.01 * rate))
    return (wave * _PEAK).astype(np.float32)


def _fade(n: int, attack: int, release: int) -> np.ndarray:
    """Envelope rising over `attack` samples and falling to exactly 0 over `release`."""
    env = np.ones(n)
    if attack > 0:
        env[:attack] = 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / attack)
    if release > 0:
        env[n - release :] = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, release + 1) / release)
    return env


def _from_file(path: Path, rate: int) -> Clip:
    if not path.is_file():
        raise PlanError(f"chime file not found: {path} (use bell, beep or a WAV file)")
    try:
        data, file_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PlanError(f"cannot read chime file {path}: {reason}") from None
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    return Clip(resample(np.ascontiguousarray(mono), int(file_rate), rate), rate)
