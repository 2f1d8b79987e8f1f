"""Where the player's events come from, in order: a timeline planned in full, or one laid
out on a background thread while it plays (so the first cue does not wait for the last)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from voiceguide.prefetch import ClipFor, ClipPrefetcher
from voiceguide.routine.models import Routine
from voiceguide.session import DEFAULT_RATE, CueClips, SpeechSource, check_voices
from voiceguide.sound.clip import Clip
from voiceguide.timeline import (
    Cue,
    Event,
    Part,
    PlanOptions,
    Timeline,
    build_timeline,
    sketch_timeline,
)

Pcm = tuple[bytes, int]  # int16 mono samples and their rate, as the audio device takes them

# Cues are synthesized in chunks that double from one (the first cue is not held up by the
# ones after it) up to this many, enough to keep the engine's workers busy.
_LIVE_CHUNK_MAX = 16


def audible(event: Event) -> bool:
    """Whether the event sends a sound to the device (speech or a tone)."""
    return event.kind != "silence" and event.cue is not None


class EventSource(Protocol):
    """The events the player schedules, known in order: all at once for a planned timeline,
    one by one for a `LiveTimeline` laid out while it plays."""

    @property
    def events(self) -> Sequence[Event]:
        """The events known so far (a prefix of the timeline)."""
        ...

    @property
    def parts(self) -> tuple[Part, ...]: ...

    @property
    def pace(self) -> float: ...

    @property
    def rep_totals(self) -> dict[int, int]:
        """Highest repetition number of each part."""
        ...

    @property
    def done(self) -> bool:
        """Whether every event is known."""
        ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wait(self, count: int, timeout: float) -> None:
        """Return once `count` events are known, all are, something failed, or `timeout`."""
        ...

    def check(self) -> None:
        """Raise what stopped the events or clips from coming, if anything."""
        ...

    def pcm(self, cue: Cue) -> Pcm:
        """A known event's clip as int16 PCM and its rate."""
        ...

    def estimated_end(self) -> float:
        """Timeline time of the end (exact once `done`)."""
        ...


class PlannedEvents:
    """A timeline known in full; its clips are made ahead, in playing order, by a prefetcher."""

    done = True

    def __init__(self, timeline: Timeline, clip_for: ClipFor, start_at: float, synthesize: bool):
        self.events = timeline.events
        self.parts = timeline.parts
        self.pace = timeline.pace
        self.total = timeline.total
        self.rep_totals: dict[int, int] = {}
        for e in self.events:
            if e.rep is not None:
                self.rep_totals[e.part] = max(self.rep_totals.get(e.part, 0), e.rep)
        first = next((j for j, e in enumerate(self.events) if e.start >= start_at - 1e-9), 0)
        rotated = [*self.events[first:], *self.events[:first]]
        cues = [e.cue for e in rotated if audible(e) and e.cue is not None]
        self.clips = ClipPrefetcher(clip_for, cues) if synthesize else None

    def start(self) -> None:
        if self.clips is not None:
            self.clips.start()

    def stop(self) -> None:
        if self.clips is not None:
            self.clips.stop()

    def wait(self, count: int, timeout: float) -> None:
        pass

    def check(self) -> None:
        pass

    def pcm(self, cue: Cue) -> Pcm:
        assert self.clips is not None
        return self.clips.get(cue)

    def estimated_end(self) -> float:
        return self.total


class _Stopped(Exception):
    """Raised inside the layout thread to abandon it when the player stops."""


class LiveTimeline:
    """The timeline `prepare_session` would build, laid out on a background thread while it
    is played: event k is published once the clips before it are made (cache first, then the
    engine), so the first cue does not wait for the last. No --fit (its pace needs every
    length). Until `done`, `parts` and `rep_totals` come from a sketch of the routine (the
    same structure) and `estimated_end` from estimated lengths."""

    def __init__(
        self,
        routine: Routine,
        options: PlanOptions,
        speech: SpeechSource,
        *,
        sample_rate: int | None = None,
        make_pcm: bool = True,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        if options.fit is not None:
            raise ValueError("a live timeline cannot be fitted; use prepare_session")
        self.routine, self.options, self.speech = routine, options, speech
        self.sample_rate, self.make_pcm, self.warn = sample_rate, make_pcm, warn
        self.sketch = sketch_timeline(routine, options)
        # Voices now, in this thread: an unknown one is an error before any sound.
        check_voices(routine, (e.cue for e in self.sketch.events if e.cue is not None), speech)
        self.parts: tuple[Part, ...] = self.sketch.parts
        self.pace = self.sketch.pace
        self.rep_totals: dict[int, int] = {}
        for event in self.sketch.events:
            if event.rep is not None:
                self.rep_totals[event.part] = max(self.rep_totals.get(event.part, 0), event.rep)
        self.events: list[Event] = []  # grows in order; read under wait()
        self.timeline: Timeline | None = None  # the whole timeline, once laid out
        self.error: BaseException | None = None
        self.clips: CueClips | None = None
        # Speech cues in order of first use (the sketch walks the routine as the layout does).
        order = [e.cue for e in self.sketch.events if e.cue is not None and e.cue.kind == "speech"]
        self._order = list(dict.fromkeys(order))
        self._position = {cue: i for i, cue in enumerate(self._order)}
        self._prepared: set[Cue] = set()
        self._chunk = 1
        self._pcm: dict[Cue, Pcm] = {}
        self._part_starts: dict[int, float] = {}  # start of each part's first event
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="voiceguide-layout", daemon=True)

    # --- the player's side ---------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.timeline is not None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Abandon the layout (it stops at its next clip) and wait for the thread."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5.0)

    def wait(self, count: int, timeout: float) -> None:
        """Return once `count` events are known, the layout ended (or failed), or `timeout`."""
        with self._cond:
            self._cond.wait_for(
                lambda: len(self.events) >= count or self.done or self.error is not None,
                timeout,
            )

    def check(self) -> None:
        """Raise, in the caller's thread, what stopped the layout (synthesis, a plan error)."""
        if self.error is not None:
            raise self.error

    def pcm(self, cue: Cue) -> Pcm:
        """A published event's clip as int16 PCM (made before the event was published)."""
        with self._cond:
            self._cond.wait_for(lambda: cue in self._pcm or self.error is not None or self.done)
            self.check()
            return self._pcm[cue]

    def estimated_end(self) -> float:
        """Timeline time of the end: exact once done, else the known events plus the
        sketch's estimate of the parts not laid out yet."""
        with self._cond:
            if self.timeline is not None:
                return self.timeline.total
            if not self.events:
                return self.sketch.total
            last = self.events[-1]
            sketched = self.sketch.parts[last.part] if last.part < len(self.sketch.parts) else None
            rest = self.sketch.total - sketched.start if sketched is not None else 0.0
            return max(last.end, self._part_starts[last.part] + rest)

    # --- the layout thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            spoken = self._order[0] if self._order else None
            # Default rate: the voice's own (the first speech clip's), as prepare_session.
            rate = self.sample_rate or (self._speech(spoken).rate if spoken else DEFAULT_RATE)
            self.clips = CueClips(self._speech, rate)
            timeline = build_timeline(
                self.routine, self.options, self._length, on_event=self._publish
            )
        except _Stopped:
            return
        except BaseException as exc:  # handed to the player's thread by check()
            with self._cond:
                self.error = exc
                self._cond.notify_all()
            return
        with self._cond:
            self.parts = timeline.parts
            self.timeline = timeline
            self._cond.notify_all()
        if self.warn is not None:
            for warning in timeline.warnings:
                self.warn(warning)

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

    def _length(self, cue: Cue) -> float:
        if self._stopped:
            raise _Stopped()
        assert self.clips is not None
        clip = self.clips(cue)
        if self.make_pcm and cue not in self._pcm:
            pcm = (clip.to_int16().tobytes(), clip.rate)
            with self._cond:
                self._pcm[cue] = pcm
        return clip.duration

    def _publish(self, event: Event) -> None:
        with self._cond:
            self.events.append(event)
            self._part_starts.setdefault(event.part, event.start)
            self._cond.notify_all()
