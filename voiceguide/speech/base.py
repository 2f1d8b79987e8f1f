"""The engine interface and the registry of engines by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from voiceguide.errors import SynthesisError
from voiceguide.routine.models import Voice
from voiceguide.sound.clip import Clip


@dataclass(frozen=True)
class VoiceInfo:
    """One voice an engine offers, as listed by `voiceguide voices`."""

    id: str
    name: str
    language: str
    gender: str = ""
    sample_rate: int | None = None
    problem: str = ""  # why a voice found on disk cannot be used (e.g. a malformed config)


class Engine(Protocol):
    """A text-to-speech engine. Clips come back raw (untrimmed, unnormalized)."""

    name: str

    def version(self) -> str:
        """Engine and library version; part of every cache key."""
        ...

    def native_rate(self, voice: Voice) -> int:
        """Sample rate of the clips this engine produces for `voice`."""
        ...

    def check_voice(self, voice: Voice) -> None:
        """Raise SynthesisError (naming the closest matches) if `voice.id` is unknown."""
        ...

    def voices(self) -> list[VoiceInfo]:
        """Every voice the engine can use."""
        ...

    def synthesize_batch(self, requests: Sequence[tuple[str, Voice]]) -> list[Clip]:
        """Synthesize each (text, voice); the engine decides how to parallelize."""
        ...

    def close(self) -> None:
        """Release workers and models."""
        ...


EngineFactory = Callable[[], Engine]
_FACTORIES: dict[str, EngineFactory] = {}


def register_engine(name: str, factory: EngineFactory) -> None:
    """Make an engine available under `name` (used by routines and --engine)."""
    _FACTORIES[name] = factory


def engine_names() -> list[str]:
    return sorted(_FACTORIES)


def create_engine(name: str) -> Engine:
    """A new engine instance; an unknown name is a SynthesisError listing known ones."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        known = ", ".join(engine_names()) or "none"
        raise SynthesisError(f"unknown speech engine {name!r} (known: {known})") from None
    return factory()
