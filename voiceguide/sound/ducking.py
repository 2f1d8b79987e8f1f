"""Ducking the music bed under the voice, from the timeline's own events.

We know when every cue sounds, so there is no side-chain to listen to and nothing to
guess: the bed goes down `ATTACK` seconds before each speech or tone event starts, stays
down to its end and comes back up over `RELEASE`. A pause shorter than `HOLD_GAP` between
two sounds stays down (no pumping between sentences), a wait never does. The times are
the events' own; nothing here lays anything out.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

ATTACK = 0.15  # seconds: down before the voice starts
RELEASE = 0.5  # seconds: back up after it ends
HOLD_GAP = 1.0  # seconds: a shorter pause between two sounds stays ducked


class Timed(Protocol):
    """An event's times and kind (a timeline `Event`)."""

    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def kind(self) -> str: ...


@dataclass(frozen=True)
class Span:
    start: float  # seconds: the bed is fully down from here...
    end: float  # ...to here


def duck_spans(events: Iterable[Timed]) -> list[Span]:
    """The stretches during which the bed is fully down, in order: each sounding event,
    merged with the next when the pause between them is shorter than HOLD_GAP and holds
    no wait."""
    spans: list[Span] = []
    wait_since_last = False
    for event in events:
        if event.kind == "wait":
            wait_since_last = True
            continue
        if event.kind not in ("speech", "tone") or event.end <= event.start:
            continue
        if spans and not wait_since_last and event.start - spans[-1].end < HOLD_GAP:
            spans[-1] = Span(spans[-1].start, max(spans[-1].end, event.end))
        else:
            spans.append(Span(event.start, event.end))
        wait_since_last = False
    return spans


class DuckEnvelope:
    """The bed's gain (linear) at any time: 1 in the clear, `depth_db` down under the voice,
    moving linearly in dB over ATTACK before a span and RELEASE after it."""

    def __init__(self, spans: list[Span], depth_db: float):
        self.spans = spans
        self.depth_db = depth_db
        self._starts = [s.start for s in spans]

    def gain(self, t0: float, n: int, rate: int) -> np.ndarray:
        """The gain of the `n` samples from time `t0` (seconds) at `rate`."""
        out = np.ones(n, dtype=np.float32)
        if not self.spans or self.depth_db <= 0 or n == 0:
            return out
        t1 = t0 + n / rate
        # Spans whose ramps reach [t0, t1): starting before t1 + ATTACK, ending after t0 - RELEASE.
        last = bisect.bisect_left(self._starts, t1 + ATTACK)
        first = last
        while first > 0 and self.spans[first - 1].end + RELEASE > t0:
            first -= 1
        if first == last:
            return out
        floor = np.float32(10.0 ** (-self.depth_db / 20.0))
        for span in self.spans[first:last]:
            # Only the ramps are computed sample by sample; the span itself is one value.
            lo = self._index(span.start - ATTACK, t0, n, rate)
            on = self._index(span.start, t0, n, rate)
            off = self._index(span.end, t0, n, rate)
            hi = self._index(span.end + RELEASE, t0, n, rate)
            out[on:off] = np.minimum(out[on:off], floor)
            # Down over ATTACK before the span, up over RELEASE after it (0 to 1 of the
            # depth, linear in time and so in dB).
            if lo < on:
                self._ramp(out, lo, on, (t0 - span.start + ATTACK) / ATTACK, rate * ATTACK)
            if off < hi:
                self._ramp(out, off, hi, (span.end + RELEASE - t0) / RELEASE, -rate * RELEASE)
        return out

    def _ramp(self, out: np.ndarray, a: int, b: int, at_zero: float, per_unit: float) -> None:
        """Lower out[a:b] to the gain of a ramp whose depth (0 to 1) is `at_zero` at
        sample 0 of the block and moves by 1 every `per_unit` samples."""
        # float32 and exp: the ramps are most of a ducked block's work, and float32 is
        # far finer than a gain step anyone could hear.
        depth = np.arange(a, b, dtype=np.float32) * np.float32(1 / per_unit)
        depth += np.float32(at_zero)
        np.clip(depth, 0.0, 1.0, out=depth)
        depth *= np.float32(-self.depth_db * math.log(10) / 20)
        ramp = np.exp(depth, out=depth)
        np.minimum(out[a:b], ramp, out=out[a:b])

    @staticmethod
    def _index(at: float, t0: float, n: int, rate: int) -> int:
        """The first sample of the block at or after time `at`, within [0, n]."""
        return min(n, max(0, math.ceil((at - t0) * rate - 1e-9)))
