"""Validated routine data. Built by the loader; read by the timeline."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

DEFAULT_ENGINE = "pyttsx3"
DEFAULT_RATE = 150
DEFAULT_VOLUME = 1.0


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
class Step:
    name: str
    say: tuple[Text, ...] = ()
    repeat: tuple[int, int] | None = None  # (low, high); None when not written
    every: float = 3.0
    each: Text | None = None
    sides: tuple[str, ...] = ()
    hold: float = 0.0
    countdown: int = 0
    duration: float | None = None
    voice: VoiceSpec = field(default_factory=VoiceSpec)
    line: int = 0
    column: int = 0

    @property
    def repeats(self) -> bool:
        """Whether the step has repetition slots (`repeat`, `each` or `count` given)."""
        return self.repeat is not None or self.each is not None


@dataclass(frozen=True)
class Routine:
    title: str
    steps: tuple[Step, ...]
    description: str = ""
    voice: VoiceSpec = field(default_factory=VoiceSpec)
    pace: float = 1.0
    gap: float = 1.0
    breath: float = 0.5
    chime: str = "none"  # "none", "bell", "beep", or an absolute path to a WAV file
    vars: dict[str, str] = field(default_factory=dict)
    intro: tuple[Text, ...] = ()
    outro: tuple[Text, ...] = ()
    path: str = "<routine>"  # as shown in messages
    name: str = ""  # slug used for default output names

    def step_index(self, name_or_number: str) -> int:
        """0-based index of a step given by name or 1-based number; -1 if none."""
        if name_or_number.isdigit():
            n = int(name_or_number)
            return n - 1 if 1 <= n <= len(self.steps) else -1
        for i, step in enumerate(self.steps):
            if step.name.casefold() == name_or_number.casefold():
                return i
        return -1
