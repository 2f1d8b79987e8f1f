"""The unit of sound both the timeline and speech work with; below both so neither imports the other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voiceguide.routine.models import Voice


@dataclass(frozen=True)
class Cue:
    """Something to be heard: a text in a voice, or a tone (`bell`, `beep`, or a WAV path)."""

    kind: Literal["speech", "tone"]
    text: str
    voice: Voice | None = None
