"""A live session steered by the voice too: the microphone merged with the keys, and what
the display says about it (listening, the last command heard)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

from voiceguide.control.commands import CommandSource
from voiceguide.control.listen import Merged, Microphone
from voiceguide.control.recognize import Heard
from voiceguide.status import PlainStatus, StatusSink, TerminalStatus, default_status, stamp


class HeardLog:
    """What the microphone heard, for the display: on a terminal, `listening · heard: next`
    in the status line; elsewhere one line per command (`00:12.345 heard: next`)."""

    def __init__(self, out: TextIO | None = None, *, lines: bool) -> None:
        self.out = out or sys.stdout
        self.lines = lines
        self.last = ""
        self._lock = threading.Lock()

    def heard(self, heard: Heard, obeyed: bool) -> None:
        if not obeyed:
            return  # our own voice: not a command
        with self._lock:
            self.last = heard.name
            if self.lines:
                self.out.write(f"{stamp(heard.start)} heard: {heard.name}\n")
                self.out.flush()

    def status_text(self) -> str:
        return f"listening · heard: {self.last}" if self.last else "listening"


def listening(
    keys: CommandSource | None, mic: str | None, status: StatusSink | None
) -> tuple[CommandSource, StatusSink]:
    """The microphone (checked now: ListenError if it cannot be used) merged with `keys`,
    and a status display that shows what it hears."""
    if status is None:
        status = default_status()
    log = HeardLog(lines=not isinstance(status, TerminalStatus))
    if isinstance(status, TerminalStatus):
        status.extra = log.status_text
    elif isinstance(status, PlainStatus):
        log.out = status.out
    microphone = Microphone(mic, on_heard=log.heard)
    microphone.check()
    source: CommandSource = Merged([microphone, keys]) if keys is not None else microphone
    return source, status
