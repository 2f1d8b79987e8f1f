"""Routine + options + clip lengths -> events with exact times. Pure: no I/O, no engines.

The single place where written lengths, pace, repetitions and real clip lengths become
times: `plan`, `render` and `play` all read what it lays out, and every live change asks it
to lay out the rest of the session again (see `schedule`).
"""

from voiceguide.cue import Cue
from voiceguide.timeline.layout import (
    Event,
    EventKind,
    LengthFn,
    Part,
    PlanOptions,
    Timeline,
    build_timeline,
    check_size,
    effective_reps,
    estimate_length,
    sketch_timeline,
    speech_cues,
)

__all__ = [
    "Cue",
    "Event",
    "EventKind",
    "LengthFn",
    "Part",
    "PlanOptions",
    "Timeline",
    "build_timeline",
    "check_size",
    "effective_reps",
    "estimate_length",
    "sketch_timeline",
    "speech_cues",
]
