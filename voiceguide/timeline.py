"""Routine + options + clip lengths -> events with exact times. Pure: no I/O, no engines.

This is the single place where times are computed; `plan`, `render` and `play` all
read the `Timeline` it returns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from voiceguide.routine.models import Voice, VoiceSpec

EventKind = Literal["speech", "silence", "tone"]
PartKind = Literal["intro", "step", "outro"]


@dataclass(frozen=True)
class Cue:
    """Something to be heard: a text in a voice, or a tone (`bell`, `beep`, or a WAV path)."""

    kind: Literal["speech", "tone"]
    text: str
    voice: Voice | None = None


# Length in seconds of a cue's (trimmed) audio.
LengthFn = Callable[[Cue], float]


@dataclass(frozen=True)
class Event:
    start: float
    end: float
    kind: EventKind
    text: str | None = None
    step: str | None = None
    side: str | None = None
    rep: int | None = None
    part: int = 0  # index into Timeline.parts; a gap belongs to the part before it
    cue: Cue | None = None

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Part:
    """The intro, one pass of a step (one per side), or the outro."""

    index: int
    kind: PartKind
    title: str  # "Intro", "Cleanse", "Under-eye roll (left)"
    start: float
    end: float  # end of its own content; the following gap is not included
    step: str | None = None
    step_number: int | None = None  # 1-based position of the step in the routine
    side: str | None = None


@dataclass(frozen=True)
class PlanOptions:
    """Per-run adjustments shared by plan, render and play."""

    pace: float = 1.0
    reps: int | Literal["min", "max"] | None = None
    fit: float | None = None  # target total in seconds
    defaults: VoiceSpec = field(default_factory=VoiceSpec)  # from the user's config
    overrides: VoiceSpec = field(default_factory=VoiceSpec)  # from the command line


@dataclass(frozen=True)
class Timeline:
    title: str
    events: tuple[Event, ...]
    parts: tuple[Part, ...]
    pace: float
    total: float
    estimated: bool = False
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        """The plan JSON: times in seconds, events contiguous from 0 to total."""
        return {
            "title": self.title,
            "total": _seconds(self.total),
            "pace": self.pace,
            "estimated": self.estimated,
            "warnings": list(self.warnings),
            "events": [
                {
                    "start": _seconds(e.start),
                    "end": _seconds(e.end),
                    "kind": e.kind,
                    "text": e.text,
                    "step": e.step,
                    "side": e.side,
                    "rep": e.rep,
                }
                for e in self.events
            ],
        }


def _seconds(t: float) -> float:
    # Microseconds are far below anything audible and keep the JSON readable.
    return round(t, 6)
