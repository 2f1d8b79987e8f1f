"""Validated routine data. Built by the loader; read by the timeline."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from voiceguide.errors import Problem
from voiceguide.routine.spec import (
    DEFAULT_BREATH,
    DEFAULT_CHIME,
    DEFAULT_ENGINE,
    DEFAULT_EVERY,
    DEFAULT_GAP,
    DEFAULT_HOLD,
    DEFAULT_MUSIC_DUCK,
    DEFAULT_MUSIC_FADE,
    DEFAULT_MUSIC_LEVEL,
    DEFAULT_PACE,
    DEFAULT_RATE,
    DEFAULT_VOLUME,
)

PIPER_MODEL_SUFFIX = ".onnx"


@dataclass(frozen=True)
class Voice:
    """A fully resolved voice: what an engine needs to speak a text."""

    engine: str = DEFAULT_ENGINE
    id: str | None = None
    rate: int = DEFAULT_RATE
    volume: float = DEFAULT_VOLUME

    def key(self) -> str:
        """Stable text form, used in cache keys."""
        return f"{self.engine}|{self.id or ''}|{self.rate}|{self.volume:g}"


@dataclass(frozen=True)
class VoiceSpec:
    """A partial voice: the fields one layer (config, routine, step, command line) sets."""

    engine: str | None = None
    id: str | None = None
    rate: int | None = None
    volume: float | None = None

    def apply(self, base: Voice) -> Voice:
        """Overlay the fields set here on `base`. Switching engine drops a voice id
        that was chosen for the other engine, unless this layer names one too."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        changes = {k: v for k, v in values.items() if v is not None}
        if self.engine is not None and self.engine != base.engine and self.id is None:
            changes["id"] = None
        return replace(base, **changes)


def piper_model_path(voice_id: str, engine: str | None, folder: Path) -> Path | None:
    """The model file `voice_id` names, a relative path taken from `folder`; None: not a path.

    A routine's or config file's paths mean the files beside it, wherever the command runs.
    An id is a model path when it ends in `.onnx`, or holds a slash under `engine: piper`;
    other engines' ids are never paths (eSpeak's `gmw/en` has a slash too). A bare
    `NAME.onnx` with no such file in `folder` names a voice, as it does on the command line.
    """
    if engine is not None and engine != "piper":
        return None
    separator = "/" in voice_id or os.sep in voice_id
    if not (voice_id.endswith(PIPER_MODEL_SUFFIX) or (engine == "piper" and separator)):
        return None
    model = folder / Path(voice_id).expanduser()  # an absolute path stays as it is
    if not separator and not is_file(model):
        return None
    return model


def is_file(path: Path) -> bool:
    """Whether `path` is a regular file; False for names the OS rejects (e.g. too long)."""
    try:
        return path.is_file()
    except OSError:
        return False


def resolve_voice(*layers: VoiceSpec) -> Voice:
    """Resolve layers from lowest to highest priority over the built-in defaults."""
    voice = Voice()
    for layer in layers:
        voice = layer.apply(voice)
    return voice


@dataclass(frozen=True)
class Text:
    """A template text and where it was written (1-based line and column)."""

    template: str
    line: int = 0
    column: int = 0


@dataclass(frozen=True)
class Wait:
    """A step's `wait`: until the person goes on (`limit` None), or at most `limit` seconds."""

    limit: float | None = None


@dataclass(frozen=True)
class Step:
    name: str
    say: tuple[Text, ...] = ()
    repeat: tuple[int, int] | None = None  # (low, high); None when not written
    every: float = DEFAULT_EVERY
    each: Text | None = None
    sides: tuple[str, ...] = ()
    hold: float = DEFAULT_HOLD
    countdown: int = 0
    duration: float | None = None
    wait: Wait | None = None  # at the end of each pass
    voice: VoiceSpec = field(default_factory=VoiceSpec)
    line: int = 0
    column: int = 0

    @property
    def repeats(self) -> bool:
        """Whether the step has repetition slots (`repeat`, `each` or `count` given)."""
        return self.repeat is not None or self.each is not None


@dataclass(frozen=True)
class Music:
    """A music bed under the voice."""

    source: str  # brown-noise, pink-noise, rain, or an absolute path to an audio file
    level: float = DEFAULT_MUSIC_LEVEL  # dB relative to the voice's loudness
    duck: float = DEFAULT_MUSIC_DUCK  # dB further down while the guide speaks
    fade: float = DEFAULT_MUSIC_FADE  # seconds, in at the start and out at the end


@dataclass(frozen=True)
class Routine:
    title: str
    steps: tuple[Step, ...]
    description: str = ""
    voice: VoiceSpec = field(default_factory=VoiceSpec)
    pace: float = DEFAULT_PACE
    gap: float = DEFAULT_GAP
    breath: float = DEFAULT_BREATH
    chime: str = DEFAULT_CHIME  # "none", "bell", "beep", or an absolute path to a WAV file
    music: Music | None = None
    vars: dict[str, str] = field(default_factory=dict)
    intro: tuple[Text, ...] = ()
    outro: tuple[Text, ...] = ()
    path: str = "<routine>"  # as shown in messages
    name: str = ""  # slug used for default output names
    voice_marks: tuple[tuple[str, int, int], ...] = ()  # (voice id, line, column) as written

    def voice_problems(self, voice_id: str, message: str) -> list[Problem]:
        """`message` located at each place this routine names `voice_id` (none: not ours)."""
        return [
            Problem(self.path, line, column, message)
            for written, line, column in self.voice_marks
            if written == voice_id
        ]
