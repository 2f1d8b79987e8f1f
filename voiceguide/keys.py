"""Single-key controls read from the terminal without Enter, always restored afterwards."""

from __future__ import annotations

import os
import select
import sys
from typing import Any, Protocol

# The keys the player understands, as returned by `KeySource.wait`.
PAUSE, NEXT, PREVIOUS, REPEAT, FASTER, SLOWER, QUIT = " ", "n", "p", "r", "+", "-", "q"
_ALIASES = {"=": FASTER, "_": SLOWER}  # the unshifted key next to '+' on most keyboards


class KeySource(Protocol):
    """Where key presses come from (a terminal, or a script in tests)."""

    def open(self) -> None:
        """Start reading keys (e.g. put the terminal in cbreak mode)."""
        ...

    def close(self) -> None:
        """Stop reading keys and restore whatever `open` changed. Safe to call twice."""
        ...

    def wait(self, timeout: float) -> str | None:
        """Wait up to `timeout` seconds for a key; return it, or None on timeout."""
        ...


class TerminalKeys:
    """Keys from a terminal on stdin, in cbreak mode: no echo, no Enter needed.

    cbreak rather than raw keeps ISIG on, so Ctrl-C still raises KeyboardInterrupt.
    """

    def __init__(self, fd: int | None = None) -> None:
        self.fd = sys.stdin.fileno() if fd is None else fd
        self._saved: list[Any] | None = None
        self._eof = False

    def open(self) -> None:
        import termios
        import tty

        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)

    def close(self) -> None:
        import termios

        if self._saved is not None:
            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)
            self._saved = None

    def wait(self, timeout: float) -> str | None:
        if self._eof:
            select.select([], [], [], timeout)
            return None
        readable, _, _ = select.select([self.fd], [], [], timeout)
        if not readable:
            return None
        data = os.read(self.fd, 16)  # an arrow key arrives as several bytes at once
        if not data:
            self._eof = True  # stdin closed: keep time, stop reading
            return None
        if data[:1] == b"\x03":
            raise KeyboardInterrupt  # Ctrl-C read as a byte if ISIG was off anyway
        if len(data) > 1 and data[:1] == b"\x1b":
            return None  # escape sequences (arrows, function keys) are not controls
        key = data[:1].decode("latin-1").lower()
        return _ALIASES.get(key, key)


def terminal_keys_available() -> bool:
    """Whether stdin is a terminal we can read single keys from."""
    try:
        import termios  # noqa: F401
    except ImportError:
        return False
    return sys.stdin.isatty()
