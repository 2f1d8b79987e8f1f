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
    FALLBACK_ENGINE,
)

PIPER_MODEL_SUFFIX = ".onnx"


@dataclass(frozen=True)
class Voice:
    """A fully resolved voice: what an engine needs to speak a text (never `engine: auto`)."""

    engine: str = FALLBACK_ENGINE
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


@dataclass(frozen=True)
class AutoChoice:
    """What `engine: auto` (the default) means on this machine: found once per run by
    `voiceguide.speech.auto.choose_auto`, then used as data. The default value is the
    fallback: eSpeak NG through pyttsx3 with its default voice."""

    engine: str = FALLBACK_ENGINE
    id: str | None = None  # the best installed Piper voice when `engine` is piper
    reason: str = "no Piper voice installed"
    piper_voices: frozenset[str] = frozenset()  # installed Piper voice names, casefolded
    fixed: bool = False  # `engine` stands for auto whatever the voice id (VOICEGUIDE_ENGINE)

    def resolve(self, voice: Voice) -> Voice:
        """`voice` with `auto` made concrete: a voice id picks the engine that has it (a
        Piper voice name or model path: piper; any other: pyttsx3); no id: this choice."""
        if voice.engine != DEFAULT_ENGINE:
            return voice
        if voice.id is None:
            return replace(voice, engine=self.engine, id=self.id)
        if self.fixed:
            return replace(voice, engine=self.engine)
        return replace(voice, engine="piper" if self.is_piper_voice(voice.id) else FALLBACK_ENGINE)

    def is_piper_voice(self, voice_id: str) -> bool:
        """Whether `voice_id` names an installed Piper voice or a Piper model file."""
        if not self.piper_voices:
            return False  # Piper cannot speak here: every id is eSpeak's
        name = voice_id.removesuffix(PIPER_MODEL_SUFFIX).casefold()
        return name in self.piper_voices or voice_id.endswith(PIPER_MODEL_SUFFIX)


def resolve_voice(*layers: VoiceSpec, auto: AutoChoice | None = None) -> Voice:
    """Resolve layers from lowest to highest priority over the built-in defaults; an
    engine left at `auto` becomes the one `auto` chose (default: the fallback, pyttsx3)."""
    voice = Voice(engine=DEFAULT_ENGINE)
    for layer in layers:
        voice = layer.apply(voice)
    return (auto or AutoChoice()).resolve(voice)


def engine_source(*layers: tuple[str, VoiceSpec]) -> str | None:
    """The name of the highest layer that sets an engine or voice id (None: none does)."""
    for name, layer in reversed(layers):
        if layer.engine not in (None, DEFAULT_ENGINE) or layer.id is not None:
            return name
    return None


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
    source: Path | None = None  # the file it was read from (outputs must never land on it)

    def input_files(self) -> list[tuple[str, Path]]:
        """(what, path) of every file this routine reads: itself, a chime, voice models."""
        files = [("the routine", self.source)] if self.source is not None else []
        if self.chime not in ("none", "bell", "beep"):
            files.append(("the chime", Path(self.chime)))
        for spec in (self.voice, *(step.voice for step in self.steps)):
            if spec.id and spec.id.endswith(".onnx"):
                files.append(("a voice model", Path(spec.id)))
        return files

    def voice_problems(self, voice_id: str, message: str) -> list[Problem]:
        """`message` located at each place this routine names `voice_id` (none: not ours)."""
        return [
            Problem(self.path, line, column, message)
            for written, line, column in self.voice_marks
            if written == voice_id
        ]
