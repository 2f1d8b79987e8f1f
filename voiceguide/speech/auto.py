"""What `engine: auto`, the default, chooses: Piper with the best installed Piper voice,
else pyttsx3 (eSpeak NG), which works everywhere with nothing extra.

The best voice: the highest quality tier (`audio.quality` in its config: high, medium,
low, x_low), then an English one (the guides' built-in routines are English), then the
first name in alphabetical order. A voice whose config cannot be read is never chosen.
Only files and package metadata are read: no model is loaded and piper is not imported.
"""

from __future__ import annotations

import importlib.util
import os

from voiceguide.errors import SynthesisError
from voiceguide.routine.models import AutoChoice, Voice, VoiceSpec, engine_source
from voiceguide.routine.spec import AUTO_ENGINE, ENGINES
from voiceguide.speech.piper_voices import VoiceFile, find_voices

# `VOICEGUIDE_ENGINE`: what a voice that names no engine uses, instead of `auto` (the
# configuration file, a routine and --engine still win). Tests pin eSpeak NG with it.
ENGINE_ENV = "VOICEGUIDE_ENGINE"
QUALITY_ORDER = ("high", "medium", "low", "x_low")


def default_engine() -> str:
    """`auto`, or the engine `VOICEGUIDE_ENGINE` names (an unknown name is ignored)."""
    value = os.environ.get(ENGINE_ENV, "").strip()
    return value if value in ENGINES else AUTO_ENGINE


def piper_installed() -> bool:
    """Whether piper-tts can be imported (looked up, not imported: that loads onnxruntime)."""
    try:
        return importlib.util.find_spec("piper") is not None
    except (ImportError, ValueError):
        return False


def _rank(voice: VoiceFile) -> tuple[int, int, str] | None:
    """Sort key of a voice (lower is better); None when its config cannot be read."""
    try:
        data = voice.read_config()
        language = voice.language()
    except SynthesisError:
        return None
    audio = data.get("audio")
    quality = audio.get("quality", "") if isinstance(audio, dict) else ""
    tier = QUALITY_ORDER.index(quality) if quality in QUALITY_ORDER else len(QUALITY_ORDER)
    english = 0 if language.lower().replace("-", "_").startswith("en") else 1
    return (tier, english, voice.name)


def best_voice(voices: list[VoiceFile]) -> VoiceFile | None:
    """The voice `auto` picks among `voices` (see the module's docstring), or None."""
    ranked = [(rank, voice) for voice in voices if (rank := _rank(voice)) is not None]
    return min(ranked, key=lambda item: item[0])[1] if ranked else None


def choose_auto() -> AutoChoice:
    """What `auto` means here: the best Piper voice when piper-tts and a voice are both
    installed, else pyttsx3; `reason` says why, in words for `config`, `voices` and `play`."""
    forced = default_engine()
    if forced != AUTO_ENGINE:
        return AutoChoice(engine=forced, reason=f"{ENGINE_ENV}={forced}", fixed=True)
    if not piper_installed():
        return AutoChoice(
            reason="piper-tts is not installed (pip install '.[piper]' in a clone), "
            "so eSpeak NG, which works everywhere"
        )
    voices = find_voices()
    best = best_voice(voices)
    if best is None:
        return AutoChoice(reason="no Piper voice is installed, so eSpeak NG")
    names = frozenset(v.name.casefold() for v in voices)
    return AutoChoice(
        engine="piper",
        id=best.name,
        reason=f"the best installed Piper voice, from {best.source}",
        piper_voices=names,
    )


def describe_voice(voice: Voice, auto: AutoChoice, *layers: tuple[str, VoiceSpec]) -> str:
    """`piper en_US-joe-medium (auto: the best installed Piper voice …)`: which engine and
    voice speak, and why. `layers`: (where it was written, what it sets), lowest first."""
    shown = f"{voice.engine} {voice.id}" if voice.id else f"{voice.engine} (its default voice)"
    source = engine_source(*layers)
    if source is not None:
        return f"{shown} (set {source})"
    return f"{shown} (auto: {auto.reason})"
