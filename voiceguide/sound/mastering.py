"""Mastering a render: the bed mixed under the voice, one gain to the loudness target, and
the true-peak limiter, in two streaming passes over the same samples.

The first pass measures the mix's integrated loudness block by block; the second mixes
it again, applies the gain that brings it to the target and limits it as it is encoded.
Neither holds more than a block, so memory stays flat however long the render.
"""

from __future__ import annotations

import math

import numpy as np

from voiceguide.sound.loudness import LoudnessMeter, TruePeakLimiter, sliding_min
from voiceguide.sound.music import BedMix

MAX_GAIN_DB = 40.0  # a nearly silent render is not raised into hiss
# The limiter aims a little under the ceiling so that meters with other oversampling
# filters (and int16 rounding) still read at or under it.
CEILING_MARGIN_DB = 0.2
LIMITER_ATTACK = 0.005  # seconds: the limiter's look-ahead, and its release
LIMITER_HOLD = 0.02  # seconds it holds its gain after a peak
_LOWEST_DB, _BIN_DB, _BINS = -90.0, 0.05, 2200  # the peak histogram: -90 to +20 dBFS
_RUN = 32  # samples counted together in it
_RUN_ONES = np.ones(_RUN, dtype=np.float32)


class Mix:
    """The voice's int16 blocks, in order, with the bed (if any) under them, as floats."""

    def __init__(self, bed: BedMix | None):
        self.bed = bed
        self.position = 0  # frames mixed so far

    def next(self, block: np.ndarray) -> np.ndarray:
        n = int(block.shape[0])
        x = np.multiply(block, np.float32(1 / 32767), dtype=np.float32)  # one pass
        if self.bed is not None:
            x += self.bed.block(self.position, n)
        self.position += n
        return x


class Measure:
    """Pass one: the mix's loudness, and how much of it the limiter will take away.

    Limiting takes loudness away (speech raised to -16 LUFS peaks a few dB over the
    ceiling), more the higher the gain. The limiter holds its gain under the need of the
    loudest peak within its window, so each sample's share of the energy is counted
    against that peak (a histogram in 0.05 dB steps): the limited loudness at any gain
    follows without running the limiter, and the gain that meets the target is found by
    bisection. The energy counted is the K-weighted energy the meter reads: under a bed
    (brown noise is mostly bass, which the weighting all but ignores) the raw energy would
    give the unlimited bed too large a share, and a sparse routine would end up several LU
    short of the target."""

    def __init__(self, rate: int, bed: BedMix | None, target_lufs: float, ceiling_db: float):
        self.mix = Mix(bed)
        self.target = target_lufs
        self.ceiling = 10 ** ((ceiling_db - CEILING_MARGIN_DB) / 20)
        self.meter = LoudnessMeter(rate)
        self.window = 2 * round(LIMITER_ATTACK * rate) + round(LIMITER_HOLD * rate)
        self._context = np.zeros(self.window - 1, dtype=np.float32)  # before this block
        self._weighted = np.zeros(self.window - 1)  # the same, K-weighted
        self._energy = np.zeros(_BINS)  # sum of squares of samples, by the peak near them

    def write(self, block: np.ndarray) -> None:
        x = self.mix.next(block)
        weighted = self.meter.add(x)
        if not x.any() and not self._context.any():
            return  # silence: no energy to count, and the context stays zeros
        n = x.shape[0]
        z = np.abs(np.concatenate([self._context, x]))
        w = np.concatenate([self._weighted, weighted if weighted is not None else np.zeros(n)])
        keep = self.window - 1
        self._context, self._weighted = (z[-keep:], w[-keep:]) if keep else (z[:0], w[:0])
        behind = self.window // 2
        energy = np.square(w[behind : behind + n], dtype=np.float32)
        # Counted in runs of _RUN samples against the loudest peak within the limiter's
        # reach of the run (a centred window): the envelope moves slowly, and a log per
        # sample would cost more than the rest.
        whole = n - n % _RUN
        runs_peak = [run_peaks(z, whole // _RUN, _RUN + self.window - 1)]
        # Summed in float32 (a matrix-vector product, in a fraction of the time of a sum
        # along rows): 32 terms, far finer than the 0.05 dB bins they are counted in.
        runs_energy = [energy[:whole].reshape(-1, _RUN) @ _RUN_ONES]
        if whole < n:
            runs_energy.append(energy[whole:].sum(keepdims=True))
            runs_peak.append(z[whole:].max(keepdims=True))
        level = 20 * np.log10(np.maximum(np.concatenate(runs_peak), 1e-9))
        bins = np.clip(np.round((level - _LOWEST_DB) / _BIN_DB), 0, _BINS - 1).astype(np.intp)
        self._energy += np.bincount(bins, weights=np.concatenate(runs_energy), minlength=_BINS)

    def gain(self) -> float:
        """The linear gain that brings the limited mix to the target (1 for silence)."""
        measured = self.meter.lufs()
        total = float(self._energy.sum())
        if not math.isfinite(measured) or total <= 0:
            return 1.0
        peaks = 10 ** ((_LOWEST_DB + _BIN_DB * np.arange(_BINS)) / 20)

        def limited(gain_db: float) -> float:
            gain = 10 ** (gain_db / 20)
            kept = np.minimum(1.0, self.ceiling / (gain * peaks)) ** 2
            return measured + gain_db + 10 * math.log10(float(self._energy @ kept) / total)

        low, high = -MAX_GAIN_DB, MAX_GAIN_DB
        if limited(high) < self.target:
            return float(10 ** (high / 20))
        for _ in range(40):
            middle = (low + high) / 2
            if limited(middle) < self.target:
                low = middle
            else:
                high = middle
        return float(10 ** (high / 20))


def run_peaks(z: np.ndarray, runs: int, reach: int) -> np.ndarray:
    """max(z[r * _RUN : r * _RUN + reach]) for r in [0, runs), for reach >= _RUN.

    Each window is `rows` whole _RUN-sample rows and the head of one more, or as well the
    rows and the _RUN samples that end the window: maxima of rows, slid over by row, and
    of those last samples are the same maxima as a slide sample by sample, at a fraction
    of its cost."""
    if runs == 0:
        return np.zeros(0, dtype=z.dtype)
    rows, head = divmod(reach, _RUN)
    starts = np.arange(0, (runs + rows - 1) * _RUN, _RUN)
    peaks = -sliding_min(-np.maximum.reduceat(z[: starts[-1] + _RUN], starts), rows)
    if head:
        ends = z[head + (rows - 1) * _RUN : head + (runs + rows - 1) * _RUN]
        peaks = np.maximum(peaks, np.maximum.reduceat(ends, starts[:runs]))
    return peaks


class Master:
    """Pass two: the mix, times `gain`, limited; yields int16 blocks for the writers."""

    def __init__(self, rate: int, bed: BedMix | None, gain: float, ceiling_db: float):
        self.mix = Mix(bed)
        self.gain = np.float32(gain)
        self.limiter = TruePeakLimiter(
            rate, ceiling_db - CEILING_MARGIN_DB, attack=LIMITER_ATTACK, hold=LIMITER_HOLD
        )

    def process(self, block: np.ndarray) -> np.ndarray:
        return _int16(self.limiter.process(self.mix.next(block) * self.gain))

    def flush(self) -> np.ndarray:
        return _int16(self.limiter.flush())


def _int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
