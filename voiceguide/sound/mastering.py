"""Mastering a render: the bed mixed under the voice, one gain to the loudness target, and
the true-peak limiter, in two streaming passes over the same samples.

The first pass measures the mix's integrated loudness block by block; the second mixes
it again, applies the gain that brings it to the target and limits it as it is encoded.
Neither holds more than a block, so memory stays flat however long the render.
"""

from __future__ import annotations

import math

import numpy as np

from voiceguide.sound.clip import to_int16
from voiceguide.sound.loudness import (
    STEP_SECONDS,
    LoudnessMeter,
    TruePeakLimiter,
    gated_lufs,
    sliding_min,
)
from voiceguide.sound.music import BedMix

MAX_GAIN_DB = 40.0  # a nearly silent render is not raised into hiss
# The limiter aims a little under the ceiling so that meters with other oversampling
# filters (and int16 rounding) still read at or under it.
CEILING_MARGIN_DB = 0.2
LIMITER_ATTACK = 0.005  # seconds: the limiter's look-ahead, and its release
LIMITER_HOLD = 0.02  # seconds it holds its gain after a peak
# The peak histogram: 2 dB bins from -45 dBFS (lower never meets the ceiling, even raised
# by MAX_GAIN_DB) to +10 dBFS.
_LOWEST_DB, _BIN_DB, _BINS = -45.0, 2.0, 28
_CHUNK_STEPS = 8192  # steps read at a time in the search (float16 kept, float32 read)
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
    loudest peak within its window, so each run of samples' K-weighted energy is counted
    against that peak, per 100 ms step of the meter (a histogram in 2 dB steps): the
    loudness of the limited mix at any gain follows without running the limiter, gated
    as a meter gates it. The gating matters under a bed: limiting the voice brings it
    nearer the bed, whose quiet stretches then pass the relative gate and pull the
    integrated loudness down (a prediction from the whole mix's energy missed a routine
    that is mostly holds by up to 6 LU). The gain is the least that meets the target."""

    def __init__(self, rate: int, bed: BedMix | None, target_lufs: float, ceiling_db: float):
        self.mix = Mix(bed)
        self.target = target_lufs
        self.ceiling = 10 ** ((ceiling_db - CEILING_MARGIN_DB) / 20)
        self.meter = LoudnessMeter(rate)
        self.window = 2 * round(LIMITER_ATTACK * rate) + round(LIMITER_HOLD * rate)
        self.step = round(STEP_SECONDS * rate)
        self._context = np.zeros(self.window - 1, dtype=np.float32)  # before this block
        self._weighted = np.zeros(self.window - 1)  # the same, K-weighted
        self._position = 0  # frames written so far
        # Energy by peak, per step: rows of _BINS, from step `first` on, in float16 (56
        # bytes a step: 2 MB an hour of sound; silent stretches keep none).
        self._rows: list[tuple[int, np.ndarray]] = []
        self._open: tuple[int, np.ndarray] | None = None  # the step still being filled

    def write(self, block: np.ndarray) -> None:
        x = self.mix.next(block)
        weighted = self.meter.add(x)
        n = x.shape[0]
        start = self._position - (self.window - 1) + self.window // 2  # first energy's frame
        self._position += n
        if not x.any() and not self._context.any():
            return  # silence: no energy to count, and the context stays zeros
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
        # along rows): 32 terms, far finer than the 2 dB bins they are counted in.
        runs_energy = [energy[:whole].reshape(-1, _RUN) @ _RUN_ONES]
        run_starts = [np.arange(0, whole, _RUN)]
        if whole < n:
            runs_energy.append(energy[whole:].sum(keepdims=True))
            runs_peak.append(z[whole:].max(keepdims=True))
            run_starts.append(np.array([whole]))
        level = 20 * np.log10(np.maximum(np.concatenate(runs_peak), 1e-9))
        bins = np.clip(np.round((level - _LOWEST_DB) / _BIN_DB), 0, _BINS - 1).astype(np.intp)
        steps = (start + np.concatenate(run_starts) + _RUN // 2) // self.step
        self._count(np.maximum(steps, 0), bins, np.concatenate(runs_energy))

    def _count(self, steps: np.ndarray, bins: np.ndarray, energy: np.ndarray) -> None:
        first, last = int(steps[0]), int(steps[-1])
        rows = np.bincount(
            (steps - first) * _BINS + bins, weights=energy, minlength=(last - first + 1) * _BINS
        ).reshape(-1, _BINS)
        if self._open is not None:
            at, row = self._open
            if at == first:
                rows[0] += row
            else:
                self._rows.append((at, row.astype(np.float16)[None, :]))
        if last > first:
            self._rows.append((first, rows[:-1].astype(np.float16)))
        self._open = (last, rows[-1])

    def _matrix(self) -> np.ndarray:
        """Energy by peak for every step the meter measured, zeros where nothing sounded
        (float16, as kept: the search reads it in float32 chunks)."""
        total = self.meter.steps()
        matrix = np.zeros((total, _BINS), dtype=np.float16)
        self._rows.reverse()
        while self._rows:  # each copied, then let go: never held twice
            at, rows = self._rows.pop()
            span = min(rows.shape[0], max(0, total - at))
            matrix[at : at + span] = rows[:span]
        if self._open is not None and self._open[0] < total:
            matrix[self._open[0]] = self._open[1]
        return matrix

    def _steps(self, rows: np.ndarray, gain_db: float, peaks: np.ndarray) -> np.ndarray:
        """Every step's K-weighted mean square once gained and limited."""
        gain = 10 ** (gain_db / 20)
        kept = (np.minimum(1.0, self.ceiling / (gain * peaks)) ** 2).astype(np.float32)
        out = np.empty(rows.shape[0])
        for at in range(0, rows.shape[0], _CHUNK_STEPS):
            out[at : at + _CHUNK_STEPS] = rows[at : at + _CHUNK_STEPS].astype(np.float32) @ kept
        return out * (gain * gain / self.step)

    def gain(self) -> float:
        """The linear gain that brings the limited mix to the target (1 for silence)."""
        measured = self.meter.lufs()
        if not math.isfinite(measured) or (not self._rows and self._open is None):
            return 1.0
        peaks = 10 ** ((_LOWEST_DB + _BIN_DB * np.arange(_BINS)) / 20)
        rows = self._matrix()

        def limited(gain_db: float) -> float:
            return gated_lufs(self._steps(rows, gain_db, peaks))

        # Limiting and gating make the loudness rise unevenly with the gain, even fall
        # where a bed's blocks start to count: the least gain that reaches the target is
        # found on a 1 dB grid, then by bisection within its step. The grid starts a
        # little under the gain that would do with no limiting (limiting only takes away).
        start = max(-MAX_GAIN_DB, math.floor(self.target - measured) - 1.0)
        low = start
        for high in np.arange(start, MAX_GAIN_DB + 0.5, 1.0):
            if limited(float(high)) >= self.target:
                break
            low = float(high)
        else:
            return float(10 ** (MAX_GAIN_DB / 20))
        high = float(high)
        if high == low:
            return float(10 ** (high / 20))
        for _ in range(20):
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
        return to_int16(self.limiter.process(self.mix.next(block) * self.gain))

    def flush(self) -> np.ndarray:
        return to_int16(self.limiter.flush())
