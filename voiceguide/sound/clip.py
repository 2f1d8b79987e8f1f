"""A clip: mono PCM samples with their sample rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Clip:
    """Mono audio: float32 samples in [-1, 1] at `rate` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def frames(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.frames / self.rate

    def to_int16(self) -> np.ndarray:
        """Samples as 16-bit PCM (what files and simpleaudio take)."""
        return to_int16(self.samples)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples (full scale 1.0) as 16-bit PCM, rounded and clipped."""
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)
