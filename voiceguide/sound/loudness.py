"""Loudness of a stream (ITU-R BS.1770-4, integrated, gated) and a true-peak limiter.

Both work block by block, so a three-hour render is measured and limited in flat memory:
the meter keeps one mean square per 100 ms (about 1 MB for three hours), the limiter a few
milliseconds of context. The K-weighting filters carry their state from block to block
(scipy's sosfilt), and `tests/test_music.py` checks the meter against pyloudnorm.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU under the loudness of the blocks above the absolute gate
BLOCK_SECONDS = 0.4
STEP_SECONDS = 0.1  # 75 % overlap
_MEASURE_BLOCK = 65536  # samples fed to the meter at a time by integrated_loudness


def _biquads(rate: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The two K-weighting stages of BS.1770 (a +4 dB high shelf, then the RLB high-pass),
    for any rate, designed as pyloudnorm's default meter designs them (RBJ's cookbook), so
    the two read the same loudness."""
    stages = []
    for kind, gain, q, fc in (
        ("shelf", 4.0, 1 / math.sqrt(2), 1500.0),
        ("highpass", 0.0, 0.5, 38.0),
    ):
        a = 10 ** (gain / 40)
        w0 = 2 * math.pi * fc / rate
        alpha = math.sin(w0) / (2 * q)
        cos = math.cos(w0)
        if kind == "shelf":
            b = [
                a * ((a + 1) + (a - 1) * cos + 2 * math.sqrt(a) * alpha),
                -2 * a * ((a - 1) + (a + 1) * cos),
                a * ((a + 1) + (a - 1) * cos - 2 * math.sqrt(a) * alpha),
            ]
            den = [
                (a + 1) - (a - 1) * cos + 2 * math.sqrt(a) * alpha,
                2 * ((a - 1) - (a + 1) * cos),
                (a + 1) - (a - 1) * cos - 2 * math.sqrt(a) * alpha,
            ]
        else:
            b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
            den = [1 + alpha, -2 * cos, 1 - alpha]
        stages.append((np.array(b) / den[0], np.array(den) / den[0]))
    return stages


class LoudnessMeter:
    """Integrated loudness of a mono stream fed in blocks of any size (`add`, then `lufs`)."""

    def __init__(self, rate: int):
        self.rate = rate
        # Both stages in one sosfilt call: one pass over the samples instead of two
        # lfilter passes, in half the time, with the cascade's float64 accuracy.
        self._sections = np.array([np.concatenate([b, a]) for b, a in _biquads(rate)])
        self._state = np.zeros((self._sections.shape[0], 2))
        self._step = round(STEP_SECONDS * rate)
        self._partial = np.zeros(0)  # weighted samples short of a 100 ms step
        self._energies: list[np.ndarray] = []  # mean square of every 100 ms step

    def add(self, block: np.ndarray) -> np.ndarray | None:
        """Feed the next samples (floats at full scale 1.0, or int16); returns them
        K-weighted, or None for silence into filters that have rung out (all zeros)."""
        from scipy.signal import sosfilt

        x = np.asarray(block)
        if not x.any() and self._settled():
            # Digital silence into filters that have rung out: zeros out, no filtering and
            # no squaring (a 20-hour hold is measured in moments).
            self._silence(x.shape[0])
            return None
        y = x / 32768.0 if x.dtype == np.int16 else x.astype(np.float64)
        y, self._state = sosfilt(self._sections, y, zi=self._state)
        self._steps(y)
        return y

    def _settled(self) -> bool:
        """Whether the filters' state has rung out (below anything a meter can read)."""
        return float(np.max(np.abs(self._state))) < 1e-9

    def _silence(self, frames: int) -> None:
        """`frames` of zeros after the filters rang out: the step under way is completed
        with zeros, every whole step after it has zero energy."""
        fill = min(frames, (self._step - self._partial.shape[0]) % self._step)
        if fill:
            self._steps(np.zeros(fill, dtype=np.float32))
            frames -= fill
        whole, rest = divmod(frames, self._step)
        if whole:
            self._energies.append(np.zeros(whole))
        if rest:
            self._partial = np.zeros(rest, dtype=np.float32)

    def _steps(self, weighted: np.ndarray) -> None:
        data = np.concatenate([self._partial, weighted])
        whole = data.shape[0] - data.shape[0] % self._step
        if whole:
            squares = np.square(data[:whole], dtype=np.float64).reshape(-1, self._step)
            self._energies.append(squares.mean(axis=1))
        self._partial = data[whole:]

    def steps(self) -> int:
        """How many whole 100 ms steps have been measured."""
        return sum(e.shape[0] for e in self._energies)

    def lufs(self) -> float:
        """Integrated loudness so far, gated as BS.1770-4 says; -inf for silence."""
        if not self._energies:
            return -math.inf
        return gated_lufs(np.concatenate(self._energies))


def gated_lufs(steps: np.ndarray) -> float:
    """Integrated loudness from the K-weighted mean square of every 100 ms step: 400 ms
    blocks, the absolute gate, then the relative gate (BS.1770-4); -inf for silence."""
    per_block = round(BLOCK_SECONDS / STEP_SECONDS)
    if steps.shape[0] < per_block:
        return -math.inf
    window = np.convolve(steps, np.ones(per_block) / per_block, mode="valid")
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(window)
    above = window[loudness > ABSOLUTE_GATE]
    if above.size == 0:
        return -math.inf
    relative = -0.691 + 10 * math.log10(float(above.mean())) + RELATIVE_GATE
    kept = window[(loudness > ABSOLUTE_GATE) & (loudness > relative)]
    return -0.691 + 10 * math.log10(float(kept.mean()))


def integrated_loudness(samples: np.ndarray, rate: int) -> float:
    """BS.1770-4 integrated loudness of a whole mono signal, in LUFS."""
    meter = LoudnessMeter(rate)
    # Fed in blocks: the weighted copies of a long signal (a bed's loop) stay small.
    for at in range(0, samples.shape[0], _MEASURE_BLOCK):
        meter.add(samples[at : at + _MEASURE_BLOCK])
    return meter.lufs()


# -- the true-peak limiter ---------------------------------------------------------------

_TAPS = 16  # interpolation filter taps each side of the point estimated
_PHASES = (0.25, 0.5, 0.75)  # 4x oversampling: the three points between two samples


def _interpolators() -> list[np.ndarray]:
    """Kaiser-windowed sinc kernels giving the signal at n + f from x[n-7 .. n+8]."""
    k = np.arange(-_TAPS + 1, _TAPS + 1)
    kernels = []
    for f in _PHASES:
        h = np.sinc(k - f) * np.kaiser(2 * _TAPS, 6.0)
        kernels.append(h / h.sum())
    return kernels


_KERNELS = _interpolators()
_KERNEL_MATRIX = np.stack(_KERNELS, axis=1).astype(np.float32)  # (2 * _TAPS, phases)


def true_peaks(x: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Per sample n: the largest magnitude of the 4x oversampled signal in [n, n+1), for
    n in [_TAPS - 1, len - _TAPS - 1] (shape len - 2 * _TAPS). Between samples that are
    both under `floor` / 2 nothing is interpolated (no point between them reaches `floor`)."""
    n = x.shape[0] - 2 * _TAPS
    magnitude = np.abs(x[_TAPS - 1 : _TAPS + n])
    peak = magnitude[:n].copy()
    near = np.maximum(peak, magnitude[1:]) > floor / 2
    candidates = np.flatnonzero(near)
    if candidates.size:
        # Rows of x[n - 15 .. n + 16] for each candidate n (picked from a strided view:
        # no index matrix), times each phase's kernel.
        rows = sliding_window_view(x, 2 * _TAPS)[candidates]
        # Phases by candidates: the max runs down columns (fast), not along short rows.
        between = np.abs(_KERNEL_MATRIX.T @ rows.T).max(axis=0)
        peak[candidates] = np.maximum(peak[candidates], between)
    return peak


def sliding_min(a: np.ndarray, width: int) -> np.ndarray:
    """min(a[i : i + width]) for every i with a full window (van Herk / Gil-Werman, O(n))."""
    n = a.shape[0]
    if width <= 1:
        return a.copy()
    blocks = -(-n // width)
    padded = np.full(blocks * width, np.inf, dtype=a.dtype)
    padded[:n] = a
    rows = padded.reshape(blocks, width)
    prefix = np.minimum.accumulate(rows, axis=1).ravel()
    suffix = np.minimum.accumulate(rows[:, ::-1], axis=1)[:, ::-1].ravel()
    count = n - width + 1
    return np.minimum(suffix[:count], prefix[width - 1 : width - 1 + count])


class TruePeakLimiter:
    """Keeps the 4x oversampled peak at or under `ceiling_db` dBFS, streaming with a fixed
    look-ahead: `process` returns the samples it can finish, `flush` the rest, so the output
    has exactly as many samples as the input, each at its own position.

    The gain at each sample is the mean over `attack` samples of minimums over windows
    that all contain that sample's own need, so it never lets a peak through; it falls
    ahead of a peak over `attack`, holds for `hold` and rises again over `attack`."""

    def __init__(self, rate: int, ceiling_db: float, attack: float = 0.005, hold: float = 0.02):
        self.ceiling = 10 ** (ceiling_db / 20)
        self._attack = max(1, round(attack * rate))
        self._hold = max(0, round(hold * rate))
        # Samples of context needed after and before a sample to finish it.
        self._ahead = self._attack + 2 * _TAPS
        self._behind = self._attack + self._hold + 2 * _TAPS
        self._z = np.zeros(self._behind, dtype=np.float32)
        self._next = self._behind  # index in _z of the first sample not yet returned
        self._fed = 0
        self._returned = 0

    def process(self, block: np.ndarray) -> np.ndarray:
        """Feed samples (float, full scale 1.0); returns the limited samples now finished."""
        self._fed += block.shape[0]
        z = np.concatenate([self._z, block.astype(np.float32, copy=False)])
        end = z.shape[0] - self._ahead
        if end <= self._next:
            self._z = z
            return np.zeros(0, dtype=np.float32)
        out = z[self._next : end]
        # Intersample peaks exceed sample peaks by at most a few dB for audio: far under
        # the ceiling there is nothing to do.
        if float(np.max(np.abs(z))) * 2.0 > self.ceiling:
            out = out * self._gain(z, self._next, end)
        keep = end - self._behind
        self._z = z[keep:]
        self._next = self._behind
        self._returned += out.shape[0]
        return out

    def flush(self) -> np.ndarray:
        """The samples still held back (the look-ahead), limited."""
        missing = self._fed - self._returned
        out = self.process(np.zeros(self._ahead, dtype=np.float32))
        self._fed -= self._ahead
        return out[:missing]

    def _gain(self, z: np.ndarray, start: int, end: int) -> np.ndarray:
        # need[j]: the gain z[j + first] needs (<= 1), for j in [0, len(z) - 2 * _TAPS).
        first = _TAPS - 1
        peaks = true_peaks(z, self.ceiling)
        need = np.ones(peaks.shape[0], dtype=np.float32)
        loud = np.flatnonzero(peaks > self.ceiling)
        need[loud] = np.float32(self.ceiling) / peaks[loud]
        # A gain that moves makes peaks of its own between samples: the gained signal is
        # measured again (a little beyond [start, end)) and any peak still over the
        # ceiling asks for more, at most a few times. Only the spans where the gain
        # leaves 1 are computed and measured: elsewhere the signal passes untouched.
        lo, hi = start - _TAPS, end + _TAPS
        gain = np.ones(hi - lo, dtype=np.float32)
        for _ in range(4):
            spans = self._spans(need, first, lo, hi)
            for a, b in spans:
                gain[a - lo : b - lo] = self._smooth(need, first, a, b)
            at = []
            cut = []
            for a, b in spans:
                # Every point whose interpolation reaches into the span (disjoint per span).
                a, b = max(lo, a - 2 * _TAPS), min(hi, b + 2 * _TAPS)
                peaks = true_peaks(z[a:b] * gain[a - lo : b - lo], self.ceiling)
                over = np.flatnonzero(peaks > self.ceiling)  # peaks[i]: z[a + first + i]
                at.append(a + over)  # need index of the sample before each peak
                cut.append(self.ceiling / peaks[over] * 0.999)
            if not spans or not any(o.size for o in at):
                break
            ats, cuts = np.concatenate(at), np.concatenate(cut)
            need[ats] = np.minimum(need[ats], need[ats] * cuts)
            need[ats + 1] = np.minimum(need[ats + 1], need[ats + 1] * cuts)
        return gain[_TAPS : _TAPS + end - start]

    def _spans(self, need: np.ndarray, first: int, lo: int, hi: int) -> list[tuple[int, int]]:
        """The stretches [a, b) of z within [lo, hi) where the gain can be under 1: from
        `attack` before a sample that needs less than 1 to `attack + hold` after it, merged
        when closer than the interpolation filter's reach (their measurements overlap)."""
        m = np.flatnonzero(need < 1) + first
        if m.size == 0:
            return []
        starts = m - self._attack + 1
        ends = m + self._attack + self._hold
        breaks = np.flatnonzero(starts[1:] > ends[:-1] + 4 * _TAPS) + 1
        firsts = starts[np.concatenate([[0], breaks])]
        lasts = ends[np.concatenate([breaks - 1, [m.size - 1]])]
        spans = []
        for a, b in zip(firsts.tolist(), lasts.tolist(), strict=True):
            a, b = max(a, lo), min(b, hi)
            if a < b:
                spans.append((a, b))
        return spans

    def _smooth(self, need: np.ndarray, first: int, start: int, end: int) -> np.ndarray:
        """The gain of z[start:end]: a mean over `attack` of minimums over `attack + hold`."""
        a, h = self._attack, self._hold
        # held[k] = min(need over z[k - h .. k + a - 1]), for k in [start - a + 1, end).
        lo = start - a + 1 - h
        window = sliding_min(need[lo - first : end + a - 1 - first], a + h)
        # gain[n] = mean(held[n - a + 1 .. n]): every term covers z[n], so gain <= need[n].
        sums = np.concatenate([[0.0], np.cumsum(window, dtype=np.float64)])
        return ((sums[a:] - sums[:-a]) / a).astype(np.float32)
