"""The Piper engine: offline neural voices (ONNX models run by onnxruntime).

piper-tts is an optional extra: nothing here imports it until the engine is created, so the
base install and `voiceguide --help` never pay for onnxruntime.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.errors import SynthesisError
from voiceguide.routine.models import Voice
from voiceguide.sound.clip import Clip
from voiceguide.speech.base import VoiceInfo, register_engine
from voiceguide.speech.piper_voices import (
    VoiceFile,
    find_voices,
    fingerprint,
    resolve_voice_file,
)

# Piper logs "Missing phoneme from id map" for characters its voice has no sound for; the
# text is still spoken, and a warning per character is noise on the user's terminal.
logging.getLogger("piper").setLevel(logging.ERROR)

INSTALL_HINT = (
    "the piper engine is not installed; install it with: pip install '.[piper]' in a voiceguide "
    "clone (scripts/run does)"
)

# Rate mapping, measured on this machine (Piper 1.8.0, en_US-joe-medium; eSpeak NG 1.51 through
# pyttsx3's default voice gmw/en): 9 massage cues, speaking time from first to last sample above
# 2 % of the peak, summed. eSpeak: 51.3 s at 80 wpm, 43.3 at 100, 36.2 at 120, 28.9 at 150,
# 21.7 at 200, 14.4 at 300, 10.8 at 400 -- i.e. time = 4335 / wpm (within 1 % from 100 to 400).
# Piper (mean of 3 runs; its phoneme durations are random): 13.6 s at length_scale 0.4,
# 23.8 at 1.0, 32.8 at 1.5, 45.9 at 2.2 -- i.e. time = 5.85 + 18.0 * length_scale (the offset is
# the rounding of each phoneme up to a whole 256-sample frame). Equating the two:
# length_scale = 240.5 / wpm - 0.324 (1.28 at 150 wpm, 0.88 at 200, 1.68 at 120).
_SCALE_PER_WPM = 240.5
_SCALE_OFFSET = 0.324
# Below ~0.25 the model slurs words; above 4 it drawls. Clamp instead of failing.
_MIN_LENGTH_SCALE = 0.25
_MAX_LENGTH_SCALE = 4.0
# Piper synthesizes each sentence separately and leaves only ~0.2 s of its own silence
# between them, which sounds rushed next to eSpeak's ~0.3 s; add this much, times length_scale.
SENTENCE_SILENCE = 0.1

# Piper's models draw random noise inside the ONNX graph (onnxruntime's RandomNormalLike, whose
# generator runs on from call to call and cannot be seeded per text), so the same text came
# out different on every run: renders were not reproducible and a cache could not be checked.
# With both noise scales at 0 the model speaks its mean prosody and phoneme lengths: the same
# text, voice and rate give the same samples, and a render is byte-identical on every run.
NOISE_SCALE = 0.0
NOISE_W_SCALE = 0.0
DETERMINISM = "noise 0/0"  # in the engine version, so clips made with noise are not reused

_MODELS: dict[Path, Any] = {}  # model path -> piper.PiperVoice, loaded once per process
_MODELS_LOCK = threading.Lock()


def length_scale(wpm: float) -> float:
    """Piper's length scale giving about the speaking time eSpeak NG has at `wpm`."""
    scale = _SCALE_PER_WPM / wpm - _SCALE_OFFSET
    return min(_MAX_LENGTH_SCALE, max(_MIN_LENGTH_SCALE, scale))


def _cores() -> int:
    """Cores this process may run on (affinity-aware where the OS tells)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _import_piper() -> Any:
    """The piper module, or the one-line install hint as a SynthesisError."""
    try:
        import piper
    except ImportError:
        raise SynthesisError(INSTALL_HINT) from None
    return piper


def _open_model(piper: Any, voice_file: VoiceFile) -> Any:
    """A piper.PiperVoice whose ONNX session runs each inference on the calling thread only.

    One intra-op thread and no spinning, so that synthesize_batch can run one inference per
    core in parallel threads. Facial-massage texts, 2 cores, same runs: as fast as onnxruntime's
    own threading on quiet cores (18.2x against 18.3x real time), faster while other processes
    keep the cores busy (7.1x against 5.0x), where spinning intra-op threads waste their slices.
    """

    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    config = piper.PiperConfig.from_dict(voice_file.read_config())
    session = onnxruntime.InferenceSession(
        str(voice_file.model), sess_options=options, providers=["CPUExecutionProvider"]
    )
    return piper.PiperVoice(session=session, config=config)


def load_model(voice_file: VoiceFile) -> Any:
    """The loaded piper.PiperVoice for a voice file; each model is loaded once per process."""
    key = voice_file.model.resolve()
    with _MODELS_LOCK:
        model = _MODELS.get(key)
        if model is None:
            piper = _import_piper()
            try:
                model = _open_model(piper, voice_file)
            except Exception as error:  # onnxruntime raises its own exception types
                raise SynthesisError(
                    f"cannot load piper voice {voice_file.model}: {error}"
                ) from None
            _MODELS[key] = model
        return model


def clear_models() -> None:
    """Forget every loaded model (tests; frees memory)."""
    with _MODELS_LOCK:
        _MODELS.clear()


class PiperEngine:
    """Engine over piper-tts. Voice ids are model paths or voice names (see piper_voices)."""

    name = "piper"

    def __init__(self, workers: int | None = None) -> None:
        self._piper = _import_piper()
        self._workers = workers or _cores()
        self._voices: list[VoiceFile] | None = None
        self._resolved: dict[str | None, VoiceFile] = {}
        self._version: str | None = None  # part of every cue's cache key: computed once

    def _known_voices(self) -> list[VoiceFile]:
        # Found once per engine: a run sees one consistent set of voices.
        if self._voices is None:
            self._voices = find_voices()
        return self._voices

    def _voice_file(self, voice: Voice) -> VoiceFile:
        found = self._resolved.get(voice.id)
        if found is None:
            found = resolve_voice_file(voice.id, self._known_voices())
            self._resolved[voice.id] = found
        return found

    def version(self) -> str:
        """piper-tts version plus a hash of the voices found (names and sizes).

        The id `None` (first voice) and voice names depend on which files are found, so a
        changed or added model changes every cache key. Path ids are in the voice key already.
        """
        if self._version is None:
            try:
                piper_version = importlib.metadata.version("piper-tts")
            except importlib.metadata.PackageNotFoundError:
                piper_version = "unknown"
            voices = self._known_voices()
            first = voices[0].fingerprint() if voices else "no voices"
            self._version = (
                f"piper-tts {piper_version}; {DETERMINISM}; {first}; voices {fingerprint(voices)}"
            )
        return self._version

    def native_rate(self, voice: Voice) -> int:
        return self._voice_file(voice).sample_rate()

    def check_voice(self, voice: Voice) -> None:
        """Resolve the voice and read its config (no model load)."""
        self._voice_file(voice).sample_rate()

    def voices(self) -> list[VoiceInfo]:
        """Every voice found; one whose config cannot be read comes with its `problem`."""
        infos = []
        for found in self._known_voices():
            try:
                infos.append(_voice_info(found))
            except SynthesisError as error:
                # One broken download must not hide the voices that work.
                infos.append(VoiceInfo(id=found.name, name="", language="", problem=str(error)))
        return infos

    def synthesize(self, text: str, voice: Voice) -> Clip:
        """One clip for one text: the sentences Piper yields, joined with a short silence."""
        voice_file = self._voice_file(voice)
        model = load_model(voice_file)
        rate = int(model.config.sample_rate)
        scale = length_scale(voice.rate)
        # normalize_audio=False: clips come back raw (the engine contract); Piper's default
        # rescales each sentence to full scale separately, so sentences would differ in level.
        config = self._piper.SynthesisConfig(
            length_scale=scale,
            noise_scale=NOISE_SCALE,
            noise_w_scale=NOISE_W_SCALE,
            normalize_audio=False,
        )
        gap = np.zeros(int(round(SENTENCE_SILENCE * scale * rate)), dtype=np.float32)
        parts: list[np.ndarray] = []
        try:
            for chunk in model.synthesize(text, syn_config=config):
                if parts:
                    parts.append(gap)
                parts.append(np.asarray(chunk.audio_float_array, dtype=np.float32))
        except Exception as error:  # phonemizer or onnxruntime failure on this text
            raise SynthesisError(f"piper could not synthesize {text[:40]!r}: {error}") from None
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        # Linear volume, as for every engine; the model's output already lies within [-1, 1].
        samples = np.clip(samples * np.float32(voice.volume), -1.0, 1.0).astype(np.float32)
        return Clip(samples, rate)

    def synthesize_batch(self, requests: Sequence[tuple[str, Voice]]) -> list[Clip]:
        """One single-threaded inference per core at a time (onnxruntime releases the GIL)."""
        if len(requests) <= 1 or self._workers <= 1:
            return [self.synthesize(text, voice) for text, voice in requests]
        for _, voice in requests:  # load models here, not racing in the workers
            load_model(self._voice_file(voice))
        with ThreadPoolExecutor(min(self._workers, len(requests))) as pool:
            return list(pool.map(lambda request: self.synthesize(*request), requests))

    def close(self) -> None:
        """Nothing to release: models stay loaded for the process (see clear_models)."""


def _voice_info(found: VoiceFile) -> VoiceInfo:
    """A voice's listing from its config; a SynthesisError naming the file if unreadable."""
    data = found.read_config()
    audio = data.get("audio")
    quality = audio.get("quality", "") if isinstance(audio, dict) else ""
    dataset = data.get("dataset", found.name)
    label = f"{dataset} ({quality})" if quality else str(dataset)
    return VoiceInfo(
        id=found.name,
        name=f"{label} [{found.source}]",
        language=found.language(),
        sample_rate=found.sample_rate(),
    )


def register() -> None:
    """Make "piper" available to routines and --engine; piper itself loads on first use."""
    register_engine("piper", PiperEngine)
