"""From command-line inputs to what render and play need: routine, timeline, clips.

One path for `plan`, `render` and `play`: load the routine, synthesize its distinct cues
(cache first), build the timeline from the real clip lengths at the output rate. `play`
builds the same timeline on a background thread while it plays (`LiveTimeline`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from voiceguide.errors import RoutineError, UnknownVoice
from voiceguide.routine.builtins import resolve_routine
from voiceguide.routine.models import Routine, Voice
from voiceguide.sound.clip import Clip
from voiceguide.sound.resample import resample
from voiceguide.sound.tones import tone_clip
from voiceguide.timeline import (
    Cue,
    Event,
    Part,
    PlanOptions,
    Timeline,
    build_timeline,
    estimate_length,
    sketch_timeline,
    speech_cues,
)

DEFAULT_RATE = 22050  # eSpeak NG's rate; used only when a routine speaks no cue at all

Progress = Callable[[int, int], None]
Pcm = tuple[bytes, int]  # int16 mono samples and their rate, as the audio device takes them

# Cues are synthesized in chunks that double from one (the first cue is not held up by the
# ones after it) up to this many, enough to keep the engine's workers busy.
_LIVE_CHUNK_MAX = 16


class SpeechSource(Protocol):
    """Where speech clips come from: the Synthesizer (cache, then engines)."""

    def prepare(self, cues: Iterable[Cue], progress: Progress | None = None) -> None: ...

    def clip(self, cue: Cue) -> Clip: ...

    def check_voices(self, voices: Iterable[Voice]) -> None:
        """UnknownVoice for the first voice its engine does not have."""
        ...

    def close(self) -> None: ...


class CueClips:
    """`clip_for(cue)` at one sample rate: speech resampled once per cue, tones synthesized
    or read from their WAV file. Its `length` is what the timeline is built from, so every
    sound event lasts exactly its clip."""

    def __init__(self, speech: Callable[[Cue], Clip], rate: int):
        self._speech = speech
        self.rate = rate
        self._clips: dict[Cue, Clip] = {}
        self._lock = threading.Lock()  # the player calls it from its prefetch thread too

    def __call__(self, cue: Cue) -> Clip:
        with self._lock:
            clip = self._clips.get(cue)
            if clip is None:
                if cue.kind == "tone":
                    clip = tone_clip(cue.text, self.rate)
                else:
                    clip = self._speech(cue)
                    if clip.rate != self.rate:
                        clip = Clip(resample(clip.samples, clip.rate, self.rate), self.rate)
                self._clips[cue] = clip
            return clip

    def length(self, cue: Cue) -> float:
        return self(cue).duration


@dataclass(frozen=True)
class Session:
    routine: Routine
    timeline: Timeline
    clips: CueClips
    rate: int


def prepare_session(
    ref: str | Routine,
    options: PlanOptions,
    speech: SpeechSource,
    *,
    sample_rate: int | None = None,
    progress: Progress | None = None,
) -> Session:
    """Load ROUTINE (path or built-in name), synthesize its cues, and plan it exactly."""
    routine = resolve_routine(ref) if isinstance(ref, str) else ref
    cues = speech_cues(routine, options)
    check_voices(routine, cues, speech)
    speech.prepare(cues, progress)
    spoken = [c for c in cues if c.kind == "speech"]
    # Default rate: the voice's own (the first speech clip's), so nothing is resampled.
    rate = sample_rate or (speech.clip(spoken[0]).rate if spoken else DEFAULT_RATE)
    clips = CueClips(speech.clip, rate)
    timeline = build_timeline(routine, options, clips.length)
    return Session(routine, timeline, clips, rate)


def check_voices(routine: Routine, cues: Iterable[Cue], speech: SpeechSource) -> None:
    """Every voice the cues speak with exists, before any synthesis or sound; an unknown id
    is reported where the routine file names it (or unlocated: the command line, config)."""
    voices = dict.fromkeys(c.voice for c in cues if c.kind == "speech" and c.voice is not None)
    try:
        speech.check_voices(voices)
    except UnknownVoice as error:
        problems = routine.voice_problems(error.voice_id, str(error))
        if problems:
            raise RoutineError(problems) from None
        raise


def estimate_session(ref: str | Routine, options: PlanOptions) -> tuple[Routine, Timeline]:
    """The routine and a timeline with speech lengths estimated from text (no synthesis)."""
    routine = resolve_routine(ref) if isinstance(ref, str) else ref
    return routine, build_timeline(routine, options, estimate_length, estimated=True)


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
