"""The music bed: generated ambience or the person's own file, looped, levelled and faded.

Generated beds (brown noise, pink noise, rain) are made once per render as a loop of
`LOOP_SECONDS`, shaped in the frequency domain so the loop is periodic (no seam at all)
and from a fixed seed (the same bed every time). A file is decoded, mixed to mono and
resampled; shorter than the routine, it loops with an equal-power crossfade; longer, it is
cut (the bed's fade-out closes it). Every bed is brought to the voice's loudness plus its
`level`, measured the way the render is measured (BS.1770).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from voiceguide.errors import PlanError
from voiceguide.sound.ducking import DuckEnvelope, Timed, duck_spans
from voiceguide.sound.loudness import integrated_loudness
from voiceguide.sound.processing import TARGET_RMS_DBFS
from voiceguide.sound.resample import resample

LOOP_SECONDS = 90.0  # a generated bed repeats after this long
CROSSFADE_SECONDS = 2.0  # a looped file's crossfade (at most a quarter of the file)
VOICE_LOUDNESS = TARGET_RMS_DBFS  # the level every speech clip is brought to
_SEEDS = {"brown-noise": 1770, "pink-noise": 1771, "rain": 1772}


class MusicSettings(Protocol):
    """What a bed is made from (the routine's `Music`)."""

    @property
    def source(self) -> str: ...
    @property
    def level(self) -> float: ...
    @property
    def duck(self) -> float: ...
    @property
    def fade(self) -> float: ...


@dataclass(frozen=True)
class Bed:
    """A bed's samples (float32, at its level) and whether they repeat past their end."""

    samples: np.ndarray
    rate: int
    loops: bool

    def read(self, start: int, n: int) -> np.ndarray:
        """The `n` samples from frame `start` of the bed (zeros past the end of a cut one)."""
        size = self.samples.shape[0]
        if size == 0 or n <= 0:
            return np.zeros(max(n, 0), dtype=np.float32)
        if not self.loops:
            out = np.zeros(n, dtype=np.float32)
            piece = self.samples[start : start + n]
            out[: piece.shape[0]] = piece
            return out
        at = start % size
        if at + n <= size:
            return self.samples[at : at + n]
        return np.take(self.samples, np.arange(at, at + n) % size)


def load_bed(music: MusicSettings, rate: int, frames: int) -> Bed:
    """The bed for `frames` samples at `rate`, at the voice's loudness + `music.level`."""
    if music.source in _SEEDS:
        samples = generate(music.source, rate)
        loops = True
    else:
        samples, loops = _from_file(music.source, rate, frames)
    loudness = integrated_loudness(samples, rate)
    if np.isfinite(loudness):
        gain = 10 ** ((VOICE_LOUDNESS + music.level - loudness) / 20)
        samples = (samples * gain).astype(np.float32)
    return Bed(samples, rate, loops)


def generate(source: str, rate: int, seconds: float = LOOP_SECONDS) -> np.ndarray:
    """A periodic loop of generated ambience: "brown-noise", "pink-noise" or "rain"."""
    from scipy import fft

    rng = np.random.default_rng(_SEEDS[source])
    n = int(round(seconds * rate))
    bins = n // 2 + 1
    # The draws stay float64 (the same noise as ever, from the same seed); the spectrum
    # and the inverse transform are float32, twice as fast and far finer than audible.
    spectrum = np.empty(bins, dtype=np.complex64)
    spectrum.real = rng.standard_normal(bins)
    spectrum.imag = rng.standard_normal(bins)
    freqs = np.arange(bins, dtype=np.float32) * np.float32(rate / n)
    if source == "rain":
        # A soft wash centred around 1-4 kHz, under scattered drops.
        shape = _band(freqs, 400, 6000)
        shape /= np.sqrt(np.maximum(freqs, np.float32(1)))
    else:
        # Power falls 6 dB per octave (brown) or 3 dB (pink); no rumble under hearing.
        shape = np.maximum(freqs, np.float32(1))
        if source == "pink-noise":
            np.sqrt(shape, out=shape)
        np.reciprocal(shape, out=shape)
        shape[freqs < 20] = 0
    del freqs
    spectrum *= shape
    del shape
    out = fft.irfft(spectrum, n)
    del spectrum
    if source == "rain":
        out /= np.std(out)
        out += np.float32(0.6) * _drops(rng, n, rate) / max(float(np.std(out)), 1e-9)
    out /= max(float(np.max(np.abs(out))), 1e-9)
    return out.astype(np.float32, copy=False)


def _band(freqs: np.ndarray, low: float, high: float) -> np.ndarray:
    """A gentle band-pass magnitude (second-order slopes either side)."""
    f = np.maximum(freqs, np.float32(1e-3))
    return 1 / np.sqrt(1 + (low / f) ** 4) / np.sqrt(1 + (f / high) ** 4)


def _drops(rng: np.random.Generator, n: int, rate: int) -> np.ndarray:
    """Raindrops: short decaying noise bursts at random times, laid circularly on the loop."""
    from scipy import fft

    impulses = np.zeros(n, dtype=np.float32)
    count = int(n / rate * 40)  # about forty audible drops a second
    impulses[rng.integers(0, n, count)] = rng.exponential(1.0, count) * rng.choice([-1, 1], count)
    length = int(0.012 * rate)
    burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.002 * rate))
    burst = np.diff(burst, prepend=0.0)  # brighter, like a drop, not a thump
    spectrum = fft.rfft(impulses)
    spectrum *= fft.rfft(burst.astype(np.float32), n)
    return fft.irfft(spectrum, n)


def _from_file(path: str, rate: int, frames: int) -> tuple[np.ndarray, bool]:
    import soundfile

    try:
        info = soundfile.info(path)
        # Only what the routine needs is read: a long file costs no more than the routine.
        wanted = int(frames * info.samplerate / rate) + info.samplerate
        data, file_rate = soundfile.read(path, frames=wanted, dtype="float32", always_2d=True)
    except (RuntimeError, OSError, ValueError) as exc:
        raise PlanError(f"cannot read music file {path}: {exc}") from None
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    samples = resample(np.ascontiguousarray(mono, dtype=np.float32), file_rate, rate)
    if samples.shape[0] >= frames:
        return samples[:frames], False
    return crossfade_loop(samples, rate), True


def crossfade_loop(samples: np.ndarray, rate: int) -> np.ndarray:
    """A loop of `samples` that repeats without a seam: its last `x` samples fade out
    (cosine) while its first `x` fade in (sine), equal power for uncorrelated sound, and
    the loop goes on from sample `x`, which followed sample `x - 1` in the file."""
    n = samples.shape[0]
    x = min(int(CROSSFADE_SECONDS * rate), n // 4)
    if x < 2:
        return samples.astype(np.float32)
    theta = (np.arange(x) + 0.5) / x * (np.pi / 2)
    joint = samples[n - x :] * np.cos(theta) + samples[:x] * np.sin(theta)
    return np.concatenate([samples[x : n - x], joint]).astype(np.float32)


class BedMix:
    """The bed as it sounds under a timeline: levelled, ducked under every sound and faded
    in at the start and out at `total` seconds."""

    def __init__(self, bed: Bed, envelope: DuckEnvelope, fade: float, total: float):
        self.bed = bed
        self.envelope = envelope
        self.fade = fade
        self.total = total

    @classmethod
    def for_events(
        cls, music: MusicSettings, events: Sequence[Timed], total: float, rate: int
    ) -> BedMix:
        """The bed under `events` (their own times, in seconds), `total` seconds long."""
        bed = load_bed(music, rate, int(round(total * rate)) + 1)
        return cls(bed, DuckEnvelope(duck_spans(events), music.duck), music.fade, total)

    def block(self, start: int, n: int) -> np.ndarray:
        """The bed's `n` samples from frame `start`."""
        rate = self.bed.rate
        out = self.envelope.gain(start / rate, n, rate)  # a new array: scaled in place
        out *= self.bed.read(start, n)
        if in_fade(start, n, rate, self.fade, self.total):
            out *= self.fades(start, n)
        return out

    def fades(self, start: int, n: int) -> np.ndarray:
        """Fade in over the first `fade` seconds, out over the last (raised cosine)."""
        return fade_gains(start, n, self.bed.rate, self.fade, self.total)


def in_fade(start: int, n: int, rate: int, fade: float, total: float) -> bool:
    """Whether any of the `n` samples from frame `start` lies in the fade-in or -out."""
    return fade > 0 and not (fade * rate <= start <= (total - fade) * rate - n)


def fade_gains(start: int, n: int, rate: int, fade: float, total: float) -> np.ndarray:
    """The gains of the `n` samples from frame `start` under a raised-cosine fade in over
    the first `fade` seconds and out over the last before `total` (inf: no fade-out)."""
    if not in_fade(start, n, rate, fade, total):
        return np.ones(n, dtype=np.float32)  # nothing here is in a fade: no cosines
    t = (start + np.arange(n, dtype=np.float64)) / rate
    x = np.clip(np.minimum(t, total - t) / fade, 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * x)).astype(np.float32)
