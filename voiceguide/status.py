"""What the player shows while it plays: a live status line on a terminal, plain lines elsewhere."""

from __future__ import annotations

import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

from voiceguide.timeline import Event, Part


@dataclass(frozen=True)
class Progress:
    """A snapshot of the session for display."""

    event: Event
    part: Part | None
    rep_total: int | None  # highest repetition number in the current part
    elapsed: float  # wall seconds since the session started, pauses included
    remaining: float  # wall seconds until the planned end
    next_title: str | None  # title of the part after this one
    pace: float
    paused: bool = False
    waiting: bool = False  # at a wait that the person ends (n, space or Enter)


class StatusSink(Protocol):
    """Receives the session's progress."""

    def event(self, progress: Progress) -> None:
        """An event has just begun."""
        ...

    def tick(self, progress: Progress) -> None:
        """Time passed (called several times a second while waiting)."""
        ...

    def notice(self, progress: Progress, text: str) -> None:
        """Something the user did or that ended the session: paused, skipped, stopped..."""
        ...

    def close(self) -> None:
        """The session is over."""
        ...


def clock_text(seconds: float) -> str:
    """`m:ss` (or `h:mm:ss`) for a status display."""
    whole = max(0, int(seconds + 0.5))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def stamp(seconds: float) -> str:
    """`MM:SS.mmm` session time, to the millisecond (`00:01.500`)."""
    millis = max(0, round(seconds * 1000))
    minutes, millis = divmod(millis, 60_000)
    return f"{minutes:02d}:{millis // 1000:02d}.{millis % 1000:03d}"


def event_label(progress: Progress) -> str:
    """Where we are: the part title (e.g. `Under-eye roll (left)`) or the step name."""
    if progress.part is not None:
        return progress.part.title
    return progress.event.step or ""


def event_text(event: Event) -> str:
    if event.kind == "wait":
        if event.until_ready:
            return "(wait until ready)"
        return f"(wait up to {clock_text(event.duration)})"
    if event.kind == "silence":
        return f"(silence {event.duration:.3f} s)"
    if event.kind == "tone":
        return f"[{event.text or 'tone'}]"
    return event.text or ""


class PlainStatus:
    """One line per event: its start in session time (to the millisecond), part, text. For
    logs, pipes and scripts checking times."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stdout

    def event(self, progress: Progress) -> None:
        self._line(progress.event.start, progress, event_text(progress.event))

    def tick(self, progress: Progress) -> None:
        pass

    def notice(self, progress: Progress, text: str) -> None:
        self._line(progress.elapsed, progress, f"-- {text}")

    def close(self) -> None:
        self.out.flush()

    def _line(self, at: float, progress: Progress, text: str) -> None:
        fields = [stamp(at), event_label(progress), text]
        self.out.write("  ".join(f for f in fields if f) + "\n")
        self.out.flush()


class TerminalStatus:
    """Spoken text printed as it is spoken, under it one status line redrawn in place."""

    REDRAW = 0.25  # seconds between redraws of an unchanged line

    def __init__(
        self,
        out: TextIO | None = None,
        err: TextIO | None = None,
        extra: Callable[[], str] | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.extra = extra  # more for the status line (e.g. "listening · heard: next")
        self._last_draw = -1.0
        self._last_line = ""
        self._warned: set[str] = set()
        # Warnings come from the layout thread while the player's thread draws: one writer
        # at a time, or a warning lands in the middle of the status line.
        self._lock = threading.RLock()

    def event(self, progress: Progress) -> None:
        with self._lock:
            if progress.event.kind == "speech" and progress.event.text:
                self._print(progress.event.text)
            self._draw(progress, force=True)

    def tick(self, progress: Progress) -> None:
        with self._lock:
            self._draw(progress)

    def notice(self, progress: Progress, text: str) -> None:
        with self._lock:
            self._print(f"-- {text}")
            self._draw(progress, force=True)

    def warning(self, text: str) -> None:
        """`warning: TEXT` on its own line above the status line (stderr), once per text."""
        with self._lock:
            if text in self._warned:
                return
            self._warned.add(text)
            self.out.write("\r\x1b[2K")
            self.out.flush()
            self.err.write(f"warning: {text}\n")
            self.err.flush()
            if self._last_line:
                self.out.write(self._last_line)
                self.out.flush()

    def close(self) -> None:
        with self._lock:
            self.out.write("\r\x1b[2K")
            self.out.flush()
            self._last_line = ""

    def _print(self, text: str) -> None:
        self.out.write(f"\r\x1b[2K{text}\n")

    def _draw(self, progress: Progress, force: bool = False) -> None:
        if not force and progress.elapsed - self._last_draw < self.REDRAW:
            return
        self._last_draw = progress.elapsed
        width = shutil.get_terminal_size((80, 24)).columns
        line = status_line(progress) + (f" · {self.extra()}" if self.extra else "")
        self._last_line = line[: max(10, width - 1)]
        self.out.write(f"\r\x1b[2K{self._last_line}")
        self.out.flush()


def status_line(progress: Progress) -> str:
    """`Step 3 Cleanse · left · rep 2/10 · 1:23 / 11:40 left · next: Rinse`."""
    part = progress.part
    fields = []
    if part is not None and part.step_number is not None:
        fields.append(f"Step {part.step_number} {part.step or part.title}")
    else:
        fields.append(event_label(progress) or "-")
    if part is not None and part.side:
        fields.append(part.side)
    if progress.event.rep is not None and progress.rep_total:
        fields.append(f"rep {progress.event.rep}/{progress.rep_total}")
    fields.append(f"{clock_text(progress.elapsed)} / {clock_text(progress.remaining)} left")
    if abs(progress.pace - 1.0) > 1e-9:
        fields.append(f"pace {progress.pace:.2f}")
    if progress.next_title:
        fields.append(f"next: {progress.next_title}")
    if progress.paused:
        fields.insert(0, "PAUSED (space to resume)")
    elif progress.waiting:
        fields.insert(0, "WAITING (n, space or Enter to go on)")
    return " · ".join(fields)


def default_status() -> StatusSink:
    """A live line on a terminal, plain lines otherwise."""
    return TerminalStatus() if sys.stdout.isatty() else PlainStatus()
