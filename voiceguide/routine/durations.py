"""Duration values: `30`, `2.5`, `"500ms"`, `"30s"`, `"2m"`, `"1m30s"`, `"1h"`, `"1:30"`."""

from __future__ import annotations

import math
import re

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_NUMBER = r"\d+(?:\.\d+)?|\.\d+"
_COMPOUND = re.compile(
    rf"(?:(?P<h>{_NUMBER})h)?(?:(?P<m>{_NUMBER})m(?!s))?(?:(?P<s>{_NUMBER})s)?(?:(?P<ms>{_NUMBER})ms)?"
)
_CLOCK = re.compile(r"(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d{2}(?:\.\d+)?)")

DURATION_HELP = "a number of seconds, or a string like 500ms, 30s, 2m, 1m30s, 1h or 1:30"


def parse_duration(value: object) -> float:
    """Seconds from a routine or command-line duration; ValueError with a readable message."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a duration ({DURATION_HELP})")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value.strip().lower())
    else:
        raise ValueError(f"expected a duration ({DURATION_HELP})")
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError("a duration must be a finite number of seconds")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def _parse_text(text: str) -> float:
    if not text:
        raise ValueError(f"empty duration; expected {DURATION_HELP}")
    try:
        return float(text)
    except ValueError:
        pass
    clock = _CLOCK.fullmatch(text)
    if clock:
        h = float(clock["h"] or 0)
        m, s = float(clock["m"]), float(clock["s"])
        if s >= 60 or (clock["h"] is not None and m >= 60):
            raise ValueError(f"invalid clock duration {text!r}")
        return h * 3600 + m * 60 + s
    compound = _COMPOUND.fullmatch(text)
    if compound and any(compound.groupdict().values()):
        return sum(float(v) * _UNIT_SECONDS[k] for k, v in compound.groupdict().items() if v)
    raise ValueError(f"invalid duration {text!r}; expected {DURATION_HELP}")


def format_duration(seconds: float) -> str:
    """`M:SS.s` or `H:MM:SS` for people; tenths shown under an hour."""
    if seconds >= 3600:
        whole = int(round(seconds))
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    tenths = int(round(seconds * 10))
    minutes, rest = divmod(tenths, 600)
    return f"{minutes}:{rest // 10:02d}.{rest % 10}"
