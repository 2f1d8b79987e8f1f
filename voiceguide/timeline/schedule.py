"""The rest of a session laid out again from any event, at any time and pace.

Every live change - pace `+`/`-`, a skip, a pause, a repeat, the end of a wait - is a
question to this module: *if the session goes on from event j at session time t with pace P,
when does every later sound start?* It answers with the same layout `plan` and `render`
use, so after any change every timing rule still holds (countdown ticks one second apart,
slots `every`/P from their onsets, a `duration` pass exactly duration/P long).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from voiceguide.routine.models import Routine
from voiceguide.timeline.layout import (
    Event,
    LengthFn,
    Overrun,
    PlanOptions,
    Position,
    _Layout,
    part_count,
)

END: Position = (1 << 30, 0)  # after every event: the end of the session


def progress_of(event: Event, at: float) -> float:
    """The fraction of `event` behind session time `at`: 0 before it starts, 1 after it."""
    if event.duration <= 0:
        return 0.0
    return min(1.0, max(0.0, (at - event.start) / event.duration))


def offset_for(first: Event, at: float, done: float) -> float:
    """What to add to a layout's times so that `first` has `done` of itself behind it at
    session time `at` (0: it starts at `at`). A silence resumes the share it had left,
    rescaled to its new length; a sound is never stretched, so it keeps its onset."""
    return at - done * first.duration - first.start


class Rest:
    """The session from a position on, laid out at one pace and placed at one time.

    `lay_out` walks the routine from the position's part (never from the start), so a
    change late in a long session costs only what is left. Events before the position are
    laid out but not kept; the first kept one is placed by `offset_for`.
    """

    def __init__(
        self,
        routine: Routine,
        options: PlanOptions,
        length: LengthFn,
        *,
        pace: float,
        start: Position,
        at: float,
        done: float = 0.0,
        overrun: Overrun = "continue",
    ) -> None:
        self.routine, self.options, self.length = routine, options, length
        self.pace, self.start, self.at, self.done = pace, start, at, done
        self.overrun = overrun
        self.offset: float | None = None
        self.end = at  # session time of the end, once laid out
        self.warnings: tuple[str, ...] = ()

    def lay_out(self, on_event: Callable[[Event], None] | None = None) -> list[Event]:
        """Every event from the start position on, in session time; `on_event` sees each as
        soon as it is placed (its time depends only on the lengths before it)."""
        kept: list[Event] = []

        def keep(event: Event) -> None:
            if event.position < self.start:
                return
            if self.offset is None:
                done = self.done if event.position == self.start else 0.0
                self.offset = offset_for(event, self.at, done)
            placed = replace(event, start=event.start + self.offset, end=event.end + self.offset)
            kept.append(placed)
            if on_event is not None:
                on_event(placed)

        if self.start < END and self.start[0] < part_count(self.routine):
            layout = _Layout(
                self.routine, self.options, self.pace, self.length, emit=False, on_event=keep
            )
            layout.run(overrun=self.overrun, from_part=self.start[0])
            self.warnings = tuple(dict.fromkeys(layout.warnings))
        self.end = kept[-1].end if kept else self.at
        return kept
