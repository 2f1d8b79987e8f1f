"""Faulty pyttsx3 worker backends, loaded inside real worker processes by the fault tests.

State that must survive a worker being killed and replaced lives in files under the folder
named by $VG_FAKE_STATE.
"""

from __future__ import annotations

import os
import time
import wave
from pathlib import Path

from voiceguide.speech.pyttsx3_worker import Pyttsx3Backend


def _first_time(tag: str) -> bool:
    """True the first time any worker process asks for `tag` (file-based, survives kills)."""
    marker = Path(os.environ["VG_FAKE_STATE"]) / tag
    try:
        marker.open("x").close()
    except FileExistsError:
        return False
    return True


def _log_call() -> None:
    with open(Path(os.environ["VG_FAKE_STATE"]) / "calls", "a") as f:
        f.write("x\n")


class HangFirst(Pyttsx3Backend):
    """The very first request hangs forever; later ones (in a new worker) are real."""

    def synthesize(self, text, voice, rate, volume, path):  # type: ignore[no-untyped-def]
        _log_call()
        if _first_time("hang"):
            time.sleep(3600)
        super().synthesize(text, voice, rate, volume, path)


class AlwaysHang(Pyttsx3Backend):
    def synthesize(self, text, voice, rate, volume, path):  # type: ignore[no-untyped-def]
        _log_call()
        time.sleep(3600)


class EmptyFirst(Pyttsx3Backend):
    """The first request answers 'ok' but leaves a header-only, 0-frame WAV."""

    def synthesize(self, text, voice, rate, volume, path):  # type: ignore[no-untyped-def]
        _log_call()
        if _first_time("empty"):
            with wave.open(path, "wb") as f:
                f.setnchannels(1)
                f.setsampwidth(2)
                f.setframerate(22050)
            return
        super().synthesize(text, voice, rate, volume, path)


class StaleFirst(Pyttsx3Backend):
    """The first request writes a much longer earlier text (pyttsx3 re-speaking its last text)."""

    def synthesize(self, text, voice, rate, volume, path):  # type: ignore[no-untyped-def]
        _log_call()
        if _first_time("stale"):
            text = "This is a much longer text that was queued earlier. " * 6
        super().synthesize(text, voice, rate, volume, path)


class CrashFirst(Pyttsx3Backend):
    """The first request kills its worker process outright."""

    def synthesize(self, text, voice, rate, volume, path):  # type: ignore[no-untyped-def]
        _log_call()
        if _first_time("crash"):
            os._exit(3)
        super().synthesize(text, voice, rate, volume, path)


class NotCompletedFirst(Pyttsx3Backend):
    """The first request reports a spurious completed=False."""

    def synthesize(self, text, voice, rate, volume, path):  # type: ignore[no-untyped-def]
        _log_call()
        if _first_time("incomplete"):
            raise RuntimeError("utterance not completed")
        super().synthesize(text, voice, rate, volume, path)


class MissingLibrary:
    """Start-up fails the way pyttsx3.init() does without libespeak-ng."""

    def __init__(self) -> None:
        from voiceguide.speech.pyttsx3_worker import MISSING_LIBRARY

        raise RuntimeError(MISSING_LIBRARY)
