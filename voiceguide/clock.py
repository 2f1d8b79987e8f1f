"""The monotonic clock the player schedules against; injected so tests can use a fake one."""

from __future__ import annotations

import time
from typing import Protocol

# time.sleep() wakes up late by up to a few ms (more under load); sleeping until this much
# before the target and spinning for the rest put onsets within ~0.5 ms.
SPIN = 0.002


class Clock(Protocol):
    """Seconds on a monotonic scale, and a way to wait."""

    def now(self) -> float:
        """Current time in seconds (arbitrary origin, never goes back)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Return as close as possible to `seconds` from now."""
        ...


class MonotonicClock:
    """The real clock: `time.monotonic`, coarse sleep then a short spin."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        target = time.monotonic() + seconds
        if seconds > SPIN:
            time.sleep(seconds - SPIN)
        while time.monotonic() < target:
            pass
