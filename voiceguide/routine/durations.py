"""Duration values: `30`, `2.5`, `"500ms"`, `"30s"`, `"2m"`, `"1m30s"`, `"1h"`, `"1:30"`.

The grammar of a written duration is one regular expression, `duration_pattern()`: the
validator matches with it and the JSON Schema ships it, so the two accept the same strings.
"""

from __future__ import annotations

import math
import re

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# ASCII only, and no inline flags: the pattern must mean the same in Python and in the
# ECMA-262 regexes that JSON Schema editors run (where \d and \s are narrower).
_DIGITS = "[0-9]+"
_NUMBER = rf"(?:{_DIGITS}(?:\.{_DIGITS})?|\.{_DIGITS})"
_SPACE = "[ \\t\\r\\n]*"


def _caseless(text: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" for c in text)


def _group(name: str, body: str, named: bool) -> str:
    return f"(?P<{name}>{body})" if named else f"(?:{body})"


def duration_pattern(named: bool = False) -> str:
    """The whole-string pattern of a written duration (named groups for the parser)."""
    parts = []
    for unit in _UNIT_SECONDS:
        # `m` must not swallow the `m` of `ms`.
        guard = f"(?!{_caseless('s')})" if unit == "m" else ""
        parts.append(f"(?:{_group(unit, _NUMBER, named)}{_caseless(unit)}{guard})?")
    # The lookahead demands at least one component: all four are optional.
    compound = "(?=[0-9.])" + "".join(parts)
    # Seconds under 60 always; minutes under 60 when hours are written.
    clock_seconds = rf"[0-5][0-9](?:\.{_DIGITS})?"
    clock = (
        f"(?:{_group('ch', _DIGITS, named)}:{_group('cm', '[0-5]?[0-9]', named)}"
        f"|{_group('cm_only', _DIGITS, named)})"
        f":{_group('cs', clock_seconds, named)}"
    )
    # YAML reads `1e3` as text, not as a number: accept it as seconds all the same.
    seconds = _group("plain", f"{_NUMBER}(?:[eE][+-]?{_DIGITS})?", named)
    return f"^{_SPACE}(?:{seconds}|{clock}|{compound}){_SPACE}$"


_DURATION = re.compile(duration_pattern(named=True))
_CLOCK_LIKE = re.compile(r"[0-9]+(?::[0-9]+){1,2}(?:\.[0-9]+)?")

DURATION_HELP = "a number of seconds, or a string like 500ms, 30s, 2m, 1m30s, 1h or 1:30"


def parse_duration(value: object) -> float:
    """Seconds from a routine or command-line duration; ValueError with a readable message."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"expected a duration ({DURATION_HELP})")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise ValueError(f"expected a duration ({DURATION_HELP})")
    if math.isnan(seconds) or math.isinf(seconds):
        raise ValueError("a duration must be a finite number of seconds")
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


def _parse_text(text: str) -> float:
    shown = text.strip()
    if not shown:
        raise ValueError(f"empty duration; expected {DURATION_HELP}")
    match = _DURATION.fullmatch(text)
    if match is None:
        if _CLOCK_LIKE.fullmatch(shown):
            raise ValueError(f"invalid clock duration {shown!r}")
        raise ValueError(f"invalid duration {shown!r}; expected {DURATION_HELP}")
    found = match.groupdict()
    if found["plain"] is not None:
        return float(found["plain"])
    if found["cs"] is not None:
        hours = float(found["ch"] or 0)
        minutes = float(found["cm"] if found["cm"] is not None else found["cm_only"])
        return hours * 3600 + minutes * 60 + float(found["cs"])
    return sum(float(found[unit]) * factor for unit, factor in _UNIT_SECONDS.items() if found[unit])


def format_duration(seconds: float) -> str:
    """`M:SS.s` or `H:MM:SS` for people; tenths shown under an hour."""
    if seconds >= 3600:
        whole = int(round(seconds))
        return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    tenths = int(round(seconds * 10))
    minutes, rest = divmod(tenths, 600)
    return f"{minutes}:{rest // 10:02d}.{rest % 10}"
