"""The player's events, laid out on a background thread while it plays, and laid out again
from any event whenever the session changes course (see `timeline.schedule`).

The first cue does not wait for the last: event k is published once the clips before it
are made (cache first, then the engine). A change of course (pace, a skip, a pause, the end
of a wait) starts a new *course*: the rest of the session from an event, at a time and pace,
laid out by the timeline. Clip lengths are kept, so a new course costs no synthesis.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

from voiceguide.cue import Cue
from voiceguide.routine.models import Routine
from voiceguide.session import DEFAULT_RATE, CueClips, SpeechSource, check_voices
from voiceguide.sound.clip import Clip
from voiceguide.speech.estimate import model_seconds
from voiceguide.timeline import Event, Part, PlanOptions, estimate_length, sketch_timeline
from voiceguide.timeline.layout import Overrun, Position
from voiceguide.timeline.schedule import Rest, offset_for, progress_of

Pcm = tuple[bytes, int]  # int16 mono samples and their rate, as the audio device takes them

# Cues are synthesized in chunks that double from one (the first cue is not held up by the
# ones after it) up to this many, enough to keep the engine's workers busy.
_LIVE_CHUNK_MAX = 16


def audible(event: Event) -> bool:
    """Whether the event sends a sound to the device (speech or a tone)."""
    return event.sounds and event.cue is not None


def _modelled_length(cue: Cue) -> float:
    if cue.kind == "speech" and cue.voice is not None:
        return model_seconds(cue.text, cue.voice)
    return estimate_length(cue)


class _Stopped(Exception):
    """Raised inside the layout thread to abandon a course (a newer one, or the end)."""


@dataclass(frozen=True)
class _Course:
    """One request to lay the rest out: from `start` at session time `at` with `pace`."""

    number: int
    start: Position
    at: float
    pace: float
    done: float = 0.0
    overrun: Overrun = "continue"


class LiveSchedule:
    """The events the player plays, in session seconds, known in order.

    `events` is the current course; `relayout` begins a new one. The structure (`parts`,
    repetitions per part) comes from a sketch of the routine, the same at every pace.
    `clips`, when given, are made already (--fit needs every length before any sound);
    otherwise speech is made here, in playing order, as the layout reaches it.
    """

    def __init__(
        self,
        routine: Routine,
        options: PlanOptions,
        speech: SpeechSource,
        *,
        pace: float,
        clips: CueClips | None = None,
        sample_rate: int | None = None,
        make_pcm: bool = True,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.routine, self.options, self.speech = routine, options, speech
        self.sample_rate, self.make_pcm, self.warn = sample_rate, make_pcm, warn
        self.pace = pace
        # The remaining time shown before every clip is made: the engines' calibrated model.
        self.sketch = sketch_timeline(routine, options, _modelled_length)
        # Voices now, in this thread: an unknown one is an error before any sound.
        check_voices(routine, (e.cue for e in self.sketch.events if e.cue is not None), speech)
        self.parts: tuple[Part, ...] = self.sketch.parts
        # Seconds of the sketch after each of its events, by position (the same at any pace).
        self._rest_by_position = {e.position: self.sketch.total - e.end for e in self.sketch.events}
        self.rep_totals: dict[int, int] = {}
        for event in self.sketch.events:
            if event.rep is not None:
                self.rep_totals[event.part] = max(self.rep_totals.get(event.part, 0), event.rep)
        self.clips = clips
        self.error: BaseException | None = None
        # Speech cues in order of first use (the sketch walks the routine as the layout does).
        order = [e.cue for e in self.sketch.events if e.cue is not None and e.cue.kind == "speech"]
        self._order = list(dict.fromkeys(order))
        self._position = {cue: i for i, cue in enumerate(self._order)}
        self._prepared: set[Cue] = set()
        self._chunk = 1
        self._pcm: dict[Cue, Pcm] = {}
        self._cond = threading.Condition()
        self._stopped = False
        # The current course: what the layout thread has laid out of it so far, in its own
        # times, and the offset that places it in the session (shifting a course at the
        # same pace is laying it out again: the layout is deterministic).
        self._course: _Course | None = None
        self._laid: list[Event] = []
        self._first = 0  # index in _laid of the course's first event
        self._shift = 0.0
        self._done = False
        self._end = 0.0
        self._thread = threading.Thread(target=self._run, name="voiceguide-layout", daemon=True)

    # --- the player's side ---------------------------------------------------------------

    def start(self, start: Position = (0, 0)) -> None:
        """Lay the session out from `start` (the first event at time 0), in the background.
        Its first course raises, like `plan`, for speech outgrowing a `duration`."""
        self.relayout(start, 0.0, self.pace, overrun="raise")
        self._thread.start()

    def stop(self) -> None:
        """Abandon the layout (it stops at its next clip) and wait for the thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def relayout(
        self,
        start: Position,
        at: float,
        pace: float,
        *,
        cut: Event | None = None,
        cut_at: float | None = None,
        overrun: Overrun = "continue",
    ) -> None:
        """Go on from position `start` at session time `at` with `pace`. `cut` is the event
        under way at `start` that was interrupted at `cut_at`: it resumes the share of itself
        it had left (a silence rescaled to the new pace), instead of starting afresh."""
        done = progress_of(cut, cut_at) if cut is not None and cut_at is not None else 0.0
        with self._cond:
            self.pace = pace
            number = self._course.number + 1 if self._course else 0
            course = _Course(number, start, at, pace, done, overrun)
            if not self._reshift(course):
                self._course = course
                self._laid, self._first, self._shift = [], 0, 0.0
                self._done, self._end = False, at
            self._cond.notify_all()

    def _reshift(self, course: _Course) -> bool:
        """Place `course` by moving what the current one laid out, if it covers it."""
        old = self._course
        if old is None or course.pace != old.pace or course.start < old.start:
            return False
        index = next((k for k, e in enumerate(self._laid) if e.position >= course.start), None)
        if index is None:
            if not self._done:
                return False  # not laid out yet: lay it out anew
            index = len(self._laid)
        # The thread's course goes on (its number unchanged): only the view moves.
        self._first = index
        if index < len(self._laid):
            first = self._laid[index]
            done = course.done if first.position == course.start else 0.0
            self._shift = offset_for(first, course.at, done)
        else:
            self._shift = course.at - self._end_laid()
        return True

    def _end_laid(self) -> float:
        return self._laid[-1].end if self._laid else 0.0

    def known(self) -> int:
        """How many events of the current course are known."""
        with self._cond:
            return len(self._laid) - self._first

    def event(self, k: int) -> Event:
        """The current course's event k, in session seconds."""
        with self._cond:
            e = self._laid[self._first + k]
            return replace(e, start=e.start + self._shift, end=e.end + self._shift)

    @property
    def done(self) -> bool:
        """Whether every event of the current course is known."""
        return self._done

    def end(self) -> float:
        """Session time of the end: exact once `done`, else the known events plus the
        sketch's estimate of the parts not laid out yet."""
        with self._cond:
            if self._done:
                return self._end_laid() + self._shift if self._laid else self._end
            if len(self._laid) <= self._first:
                course = self._course
                base = course.at if course else 0.0
                part = course.start[0] if course else 0
                return base + self._sketch_after(part)
            last = self._laid[-1]
            return last.end + self._shift + self._sketch_rest(last)

    def _sketch_rest(self, event: Event) -> float:
        """The sketch's seconds after `event`: the rest of its own part too, so the time
        left does not drop each time the layout moves into a part it has not finished."""
        rest = self._rest_by_position.get(event.position)
        return rest if rest is not None else self._sketch_after(event.part + 1)

    def _sketch_after(self, part: int) -> float:
        if part >= len(self.sketch.parts):
            return 0.0
        return max(0.0, self.sketch.total - self.sketch.parts[part].start)

    def wait(self, count: int, timeout: float) -> None:
        """Return once `count` events of the course are known, all are, something failed,
        or `timeout` passed."""
        with self._cond:
            self._cond.wait_for(
                lambda: (
                    len(self._laid) - self._first >= count or self._done or self.error is not None
                ),
                timeout,
            )

    def check(self) -> None:
        """Raise, in the caller's thread, what stopped the layout (synthesis, a plan error)."""
        if self.error is not None:
            raise self.error

    def pcm(self, cue: Cue) -> Pcm:
        """A published event's clip as int16 PCM (made before the event was published)."""
        with self._cond:
            self._cond.wait_for(lambda: cue in self._pcm or self.error is not None)
            self.check()
            return self._pcm[cue]

    # --- the layout thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            if self.clips is None:
                spoken = self._order[0] if self._order else None
                # Default rate: the voice's own (the first speech clip's), as prepare_session.
                rate = self.sample_rate or (self._speech(spoken).rate if spoken else DEFAULT_RATE)
                self.clips = CueClips(self._speech, rate)
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopped or not self._done)
                    if self._stopped:
                        return
                    course = self._course
                assert course is not None
                self._lay_out(course)
        except _Stopped:
            return
        except BaseException as exc:  # handed to the player's thread by check()
            with self._cond:
                self.error = exc
                self._cond.notify_all()

    def _lay_out(self, course: _Course) -> None:
        rest = Rest(
            self.routine,
            self.options,
            lambda cue: self._length(cue, course),
            pace=course.pace,
            start=course.start,
            at=course.at,
            done=course.done,
            overrun=course.overrun,
        )
        try:
            rest.lay_out(on_event=lambda event: self._publish(event, course))
        except _Stopped:
            if self._stopped:
                raise
            return  # a newer course replaced this one
        with self._cond:
            if self._course is None or self._course.number != course.number:
                return
            self._done = True
            self._end = rest.end
            self._cond.notify_all()
        if course.number == 0 and self.warn is not None:
            for warning in rest.warnings:
                self.warn(warning)

    def _current(self, course: _Course) -> None:
        if self._stopped or self._course is None or self._course.number != course.number:
            raise _Stopped()

    def _speech(self, cue: Cue) -> Clip:
        """A speech clip, synthesizing (or loading) it with the next few cues in play order."""
        if self._stopped:
            raise _Stopped()
        if cue not in self._prepared:
            start = self._position.get(cue)
            chunk = [cue]
            if start is not None:
                following = self._order[start + 1 : start + self._chunk]
                chunk += [c for c in following if c not in self._prepared]
            self.speech.prepare(chunk)
            self._prepared.update(chunk)
            self._chunk = min(2 * self._chunk, _LIVE_CHUNK_MAX)
        return self.speech.clip(cue)

    def _length(self, cue: Cue, course: _Course) -> float:
        self._current(course)
        assert self.clips is not None
        clip = self.clips(cue)
        if self.make_pcm and cue not in self._pcm:
            pcm = (clip.to_int16().tobytes(), clip.rate)
            with self._cond:
                self._pcm[cue] = pcm
        return clip.duration

    def _publish(self, event: Event, course: _Course) -> None:
        with self._cond:
            self._current(course)
            self._laid.append(event)
            self._cond.notify_all()
