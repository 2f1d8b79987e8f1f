"""Single-key commands read from the terminal without Enter, always restored afterwards."""

from __future__ import annotations

import os
import select
import sys
from typing import Any

from voiceguide.control.commands import Command, command_for_key


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

    def wait(self, timeout: float) -> Command | None:
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
        return command_for_key(data[:1].decode("latin-1"))


def terminal_keys_available() -> bool:
    """Whether stdin is a terminal we can read single keys from."""
    try:
        import termios  # noqa: F401
    except ImportError:
        return False
    return sys.stdin.isatty()
