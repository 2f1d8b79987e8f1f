"""From command-line inputs to what render and play need: routine, timeline, clips.

One path for `plan`, `render` and `play`: load the routine, synthesize its distinct cues
(cache first), build the timeline from the real clip lengths at the output rate. `play`
lays the same timeline out on a background thread while it plays (`live.LiveSchedule`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from voiceguide.errors import RoutineError, UnknownVoice
from voiceguide.routine.builtins import resolve_routine
from voiceguide.routine.models import Routine
from voiceguide.sound.clip import Clip
from voiceguide.sound.resample import resample
from voiceguide.sound.tones import tone_clip
from voiceguide.timeline import (
    Cue,
    PlanOptions,
    Timeline,
    build_timeline,
    speech_cues,
)

if TYPE_CHECKING:
    from voiceguide.speech.estimate import SpeechLengths

DEFAULT_RATE = 22050  # eSpeak NG's rate; used only when a routine speaks no cue at all

Progress = Callable[[int, int], None]


class SpeechSource(Protocol):
    """Where speech clips come from: the Synthesizer (cache, then engines)."""

    def prepare(self, cues: Iterable[Cue], progress: Progress | None = None) -> None: ...

    def clip(self, cue: Cue) -> Clip: ...

    def check_voices(self, cues: Iterable[Cue]) -> None:
        """UnknownVoice for the first voice, among those still to be synthesized for
        `cues`, that its engine does not have."""
        ...

    def close(self) -> None: ...


class CueClips:
    """`clip_for(cue)` at one sample rate: speech resampled when the rates differ, tones
    synthesized or read from their WAV file. Its `length` is what the timeline is built
    from, so every sound event lasts exactly its clip. Only lengths are kept for every
    cue, and the few clips used last: memory does not grow with the amount of speech."""

    RECENT = 8  # clips kept: a repetition's cues come round again soon

    def __init__(
        self,
        speech: Callable[[Cue], Clip],
        rate: int,
        frames: Callable[[Cue], tuple[int, int]] | None = None,
    ):
        self._speech = speech
        self._speech_frames = frames  # (frames, rate) of a speech clip, its samples unread
        self.rate = rate
        self._recent: OrderedDict[Cue, Clip] = OrderedDict()
        self._frames: dict[Cue, int] = {}
        self._lock = threading.Lock()  # the live layout thread calls it too

    def __call__(self, cue: Cue) -> Clip:
        with self._lock:
            clip = self._recent.get(cue)
            if clip is not None:
                self._recent.move_to_end(cue)
                return clip
            if cue.kind == "tone":
                clip = tone_clip(cue.text, self.rate)
            else:
                clip = self._speech(cue)
                if clip.rate != self.rate:
                    clip = Clip(resample(clip.samples, clip.rate, self.rate), self.rate)
            self._frames[cue] = clip.frames
            self._recent[cue] = clip
            while len(self._recent) > self.RECENT:
                self._recent.popitem(last=False)
            return clip

    def length(self, cue: Cue) -> float:
        frames = self._frames.get(cue)
        if frames is None and cue.kind == "speech" and self._speech_frames is not None:
            native, rate = self._speech_frames(cue)
            if rate == self.rate:  # else the resampled clip is measured below
                frames = self._frames[cue] = native
        if frames is None:
            frames = self(cue).frames
        return frames / self.rate


@dataclass(frozen=True)
class Session:
    routine: Routine
    timeline: Timeline
    clips: CueClips
    rate: int
    options: PlanOptions  # what the timeline was laid out with (a fit's pace and repetitions)


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
    # A source that can tell a clip's length without its samples (the Synthesizer's
    # `frames`) keeps memory flat: the timeline is built from lengths alone.
    frames: Callable[[Cue], tuple[int, int]] | None = getattr(speech, "frames", None)
    if frames is None:
        frames = _measured(speech)
    rate = sample_rate or (frames(spoken[0])[1] if spoken else DEFAULT_RATE)
    clips = CueClips(speech.clip, rate, frames)
    timeline = build_timeline(routine, options, clips.length)
    assert timeline.options is not None
    return Session(routine, timeline, clips, rate, timeline.options)


def _measured(speech: SpeechSource) -> Callable[[Cue], tuple[int, int]]:
    def frames(cue: Cue) -> tuple[int, int]:
        clip = speech.clip(cue)
        return clip.frames, clip.rate

    return frames


def check_voices(routine: Routine, cues: Iterable[Cue], speech: SpeechSource) -> None:
    """Every voice the cues speak with exists, before any synthesis or sound; an unknown id
    is reported where the routine file names it (or unlocated: the command line, config)."""
    try:
        speech.check_voices(cues)
    except UnknownVoice as error:
        problems = routine.voice_problems(error.voice_id, str(error))
        if problems:
            raise RoutineError(problems) from None
        raise


def estimate_session(
    ref: str | Routine,
    options: PlanOptions,
    *,
    cache_dir: Path | None = None,
    use_cache: bool = True,
) -> tuple[Routine, Timeline]:
    """The routine and its timeline with no synthesis: a speech cue whose clip is in the
    cache (`cache_dir`, default the user cache) lasts exactly that clip, any other its
    engine's calibrated estimate. `estimated` is false only when every cue was cached."""
    from voiceguide.speech.cache import ClipCache
    from voiceguide.speech.estimate import SpeechLengths
    from voiceguide.speech.synth import default_cache_dir

    routine = resolve_routine(ref) if isinstance(ref, str) else ref
    # Read only: an estimate never creates the cache folder or writes to it.
    cache = ClipCache(cache_dir or default_cache_dir()) if use_cache else None
    speech = SpeechLengths(cache)
    try:
        spoken = [c for c in speech_cues(routine, options) if c.kind == "speech"]
        # The rate prepare_session lays out at: the first speech clip's.
        rate = (speech.native_rate(spoken[0]) if spoken else None) or DEFAULT_RATE
        lengths = EstimatedLengths(speech, rate)
        timeline = build_timeline(routine, options, lengths)
    finally:
        speech.close()
    return routine, replace(timeline, estimated=speech.estimated > 0)


class EstimatedLengths:
    """The timeline's length function for an estimate: tones exact at the session's rate,
    speech from `SpeechLengths`; each distinct cue measured once."""

    def __init__(self, speech: SpeechLengths, rate: int):
        self._speech = speech
        self.rate = rate
        self._seconds: dict[Cue, float] = {}

    def __call__(self, cue: Cue) -> float:
        seconds = self._seconds.get(cue)
        if seconds is None:
            if cue.kind == "tone":
                seconds = tone_clip(cue.text, self.rate).duration
            else:
                seconds = self._speech.seconds(cue, self.rate)
            self._seconds[cue] = seconds
        return seconds
