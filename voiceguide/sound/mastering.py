"""Mastering a render: the bed mixed under the voice, one gain to the loudness target, and
the true-peak limiter, in two streaming passes over the same samples.

The first pass measures the mix's integrated loudness block by block; the second mixes
it again, applies the gain that brings it to the target and limits it as it is encoded.
Neither holds more than a block, so memory stays flat however long the render.
"""

from __future__ import annotations

import math

import numpy as np

from voiceguide.sound.loudness import LoudnessMeter, TruePeakLimiter
from voiceguide.sound.music import VOICE_LOUDNESS, BedMix

MAX_GAIN_DB = 40.0  # a nearly silent render is not raised into hiss
# The limiter aims a little under the ceiling so that meters with other oversampling
# filters (and int16 rounding) still read at or under it.
CEILING_MARGIN_DB = 0.2
# Gains (dB, around the one the voice's level calls for) at which pass one measures the
# limited mix.
TRIAL_GAINS_DB = np.array([-6.0, -3.0, 0.0, 2.0, 4.0, 7.0])


class Mix:
    """The voice's int16 blocks, in order, with the bed (if any) under them, as floats."""

    def __init__(self, bed: BedMix | None):
        self.bed = bed
        self.position = 0  # frames mixed so far

    def next(self, block: np.ndarray) -> np.ndarray:
        n = int(block.shape[0])
        x = block.astype(np.float32) * np.float32(1 / 32767)
        if self.bed is not None:
            x = x + self.bed.block(self.position, n)
        self.position += n
        return x


class Measure:
    """Pass one: the loudness the mix will have once gained and limited.

    Limiting takes loudness away (speech raised to -16 LUFS peaks a few dB over the
    ceiling), and more the higher the gain, so the limited mix is measured at two gains
    around the one the voice's known level calls for; the final gain is where the line
    through the two readings meets the target."""

    def __init__(self, rate: int, bed: BedMix | None, target_lufs: float, ceiling_db: float):
        self.mix = Mix(bed)
        self.target = target_lufs
        guess = target_lufs - VOICE_LOUDNESS
        self.trials = [
            (g, TruePeakLimiter(rate, ceiling_db - CEILING_MARGIN_DB), LoudnessMeter(rate))
            for g in guess + TRIAL_GAINS_DB
        ]

    def write(self, block: np.ndarray) -> None:
        x = self.mix.next(block)
        for gain_db, limiter, meter in self.trials:
            meter.add(limiter.process(x * np.float32(10 ** (gain_db / 20))))

    def gain(self) -> float:
        """The linear gain that brings the limited mix to the target (1 for silence)."""
        readings = []
        for gain_db, limiter, meter in self.trials:
            meter.add(limiter.flush())
            readings.append((gain_db, meter.lufs()))
        gains = np.array([g for g, _ in readings])
        levels = np.array([level for _, level in readings])
        if not np.isfinite(levels).all():
            return 1.0
        # Heavy limiting can make a mix quieter as the gain rises: only the rising part of
        # the curve is used, and a target beyond its top gets the loudest the mix can be.
        top = int(np.argmax(levels))
        gains, levels = gains[: top + 1], np.maximum.accumulate(levels[: top + 1])
        if self.target <= levels[0]:  # quieter than the lowest trial: little is limited there
            gain_db = gains[0] + (self.target - levels[0])
        elif self.target >= levels[-1]:
            gain_db = gains[-1]
        else:
            gain_db = float(np.interp(self.target, levels, gains))
        return float(10 ** (min(gain_db, MAX_GAIN_DB) / 20))


class Master:
    """Pass two: the mix, times `gain`, limited; yields int16 blocks for the writers."""

    def __init__(self, rate: int, bed: BedMix | None, gain: float, ceiling_db: float):
        self.mix = Mix(bed)
        self.gain = np.float32(gain)
        self.limiter = TruePeakLimiter(rate, ceiling_db - CEILING_MARGIN_DB)

    def process(self, block: np.ndarray) -> np.ndarray:
        return _int16(self.limiter.process(self.mix.next(block) * self.gain))

    def flush(self) -> np.ndarray:
        return _int16(self.limiter.flush())


def _int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
