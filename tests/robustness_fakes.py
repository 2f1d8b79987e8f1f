"""Worker backends that always fail, loaded inside real pyttsx3 worker processes by
tests/test_robustness_faults.py (speech_fakes.py holds the ones that fail once)."""

from __future__ import annotations

import os
import wave

from speech_fakes import _log_call  # type: ignore[import-not-found]

from voiceguide.speech.pyttsx3_worker import Pyttsx3Backend


class AlwaysCrash(Pyttsx3Backend):
    """Every request kills its worker process outright."""

    def synthesize(self, text, voice, rate, volume, path):  # type: ignore[no-untyped-def]
        _log_call()
        os._exit(3)


class AlwaysEmpty(Pyttsx3Backend):
    """Every request answers 'ok' and leaves a header-only, 0-frame WAV."""

    def synthesize(self, text, voice, rate, volume, path):  # type: ignore[no-untyped-def]
        _log_call()
        with wave.open(path, "wb") as f:
            f.setnchannels(1)
            f.setsampwidth(2)
            f.setframerate(22050)
