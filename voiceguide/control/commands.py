"""The commands a live session obeys, whatever their source (a key, a spoken word, a button)."""

from __future__ import annotations

import enum
from typing import Protocol


class Command(enum.Enum):
    PAUSE = "pause"  # pause; when paused, resume; at a wait, go on
    HOLD = "hold"  # pause; nothing when paused (spoken "pause": saying it twice never resumes)
    RESUME = "resume"  # resume when paused; at a wait, go on
    NEXT = "next"  # the next step; at a wait, go on
    READY = "ready"  # at a wait, go on (Enter); nothing otherwise
    PREVIOUS = "previous"  # restart the step; twice in a row, the previous step
    REPEAT = "repeat"  # say the last cue again
    FASTER = "faster"  # pace +10 %
    SLOWER = "slower"  # pace -10 %
    QUIT = "quit"


# Keys of the terminal; `=` and `_` are the unshifted keys next to `+` and `-`.
KEYS: dict[str, Command] = {
    " ": Command.PAUSE,
    "n": Command.NEXT,
    "\n": Command.READY,
    "\r": Command.READY,
    "p": Command.PREVIOUS,
    "r": Command.REPEAT,
    "+": Command.FASTER,
    "=": Command.FASTER,
    "-": Command.SLOWER,
    "_": Command.SLOWER,
    "q": Command.QUIT,
}

# The commands that end a wait: `n`, space or Enter (and, spoken, "next").
GO_ON = frozenset({Command.NEXT, Command.PAUSE, Command.RESUME, Command.READY})


def command_for_key(key: str) -> Command | None:
    """The command a key press means (case-insensitive), or None."""
    return KEYS.get(key.lower()) if len(key) == 1 else None


class CommandSource(Protocol):
    """Where commands come from (the terminal's keys, a script in tests, ...)."""

    def open(self) -> None:
        """Start listening (e.g. put the terminal in cbreak mode)."""
        ...

    def close(self) -> None:
        """Stop listening and restore whatever `open` changed. Safe to call twice."""
        ...

    def wait(self, timeout: float) -> Command | None:
        """Wait up to `timeout` seconds for a command; return it, or None on timeout."""
        ...
