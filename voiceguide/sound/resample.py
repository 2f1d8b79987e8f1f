"""Sample-rate conversion with a proper band-limited resampler (libsoxr)."""

from __future__ import annotations

import numpy as np
import soxr


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Mono float32 samples converted from `from_rate` to `to_rate` Hz."""
    if from_rate == to_rate or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    out = soxr.resample(samples.astype(np.float32, copy=False), from_rate, to_rate, quality="HQ")
    return np.asarray(out, dtype=np.float32)
