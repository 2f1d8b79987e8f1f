"""Worker process for the pyttsx3 engine: reads JSON requests on stdin, answers on stdout.

Run as a script, `python .../pyttsx3_worker.py [--backend module:Class]`, so that starting
a worker does not import the voiceguide package (numpy, soundfile): start-up is what a
cold render waits for. Synthesis happens here rather than in the caller so that a hung
eSpeak call can be killed, and so that several workers use several cores.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import threading
import time
from typing import IO, Any

DEFAULT_BACKEND = "pyttsx3"  # the Pyttsx3Backend below; tests pass "module:Class" fakes
MISSING_LIBRARY = (
    "speech engine unavailable: eSpeak NG library not found; "
    "install it with: sudo apt-get install libespeak-ng1"
)


class Pyttsx3Backend:
    """Drives one pyttsx3 engine; one utterance at a time."""

    def __init__(self, finish_timeout: float = 30.0):
        try:
            import pyttsx3
        except ImportError as exc:
            raise RuntimeError(
                f"speech engine unavailable: pyttsx3 is not installed ({exc})"
            ) from exc
        try:
            self.engine = pyttsx3.init()
        except RuntimeError as exc:
            if "eSpeak" in str(exc) or "espeak" in str(exc):
                raise RuntimeError(MISSING_LIBRARY) from exc
            raise
        self.finish_timeout = finish_timeout
        self._espeak: Any = None
        if self.engine.driver_name == "espeak":
            from pyttsx3.drivers import _espeak

            self._espeak = _espeak
        self.default_voice = self.engine.getProperty("voice")
        self._set: dict[str, object] = {}
        self._finished = threading.Event()
        self._completed = False
        self.engine.connect("finished-utterance", self._on_finished)

    def _on_finished(self, name: object = None, completed: bool = False, **_: object) -> None:
        self._completed = bool(completed)
        self._finished.set()

    def synthesize(self, text: str, voice: str | None, rate: int, volume: float, path: str) -> None:
        """Write `text` to the WAV/AIFF file `path`; raise if the engine did not finish."""
        self._finished.clear()
        self._completed = False
        # An unknown voice id is silently ignored by pyttsx3: the caller checks ids first.
        # getProperty('rate'/'volume') always answers 175/1.0 (driver bug), so remember
        # what was set; setting only changes also saves eSpeak a voice reload per call.
        wanted = {"voice": voice or self.default_voice, "rate": int(rate), "volume": float(volume)}
        for name, value in wanted.items():
            if self._set.get(name) != value:
                self.engine.setProperty(name, value)
                self._set[name] = value
        self._wait_idle()
        # One save_to_file per runAndWait: queued saves overwrite each other (only the
        # last file is written), and runAndWait is not a completion barrier, so wait for
        # 'finished-utterance' too.
        self.engine.save_to_file(text, path)
        self.engine.runAndWait()
        if not self._finished.wait(self.finish_timeout):
            raise RuntimeError("no finished-utterance event")
        if not self._completed:
            raise RuntimeError("utterance not completed")

    def _wait_idle(self) -> None:
        # Property changes run on eSpeak's own thread, during which IsPlaying() is true.
        # runAndWait starts with the driver's stop(), which then cancels the *new*
        # utterance and fires a spurious completed=False event (seen on most back-to-back
        # calls after a property change). Wait until eSpeak is idle first.
        espeak = self._espeak
        if espeak is None:
            return
        deadline = time.monotonic() + self.finish_timeout
        while espeak.IsPlaying():
            if time.monotonic() > deadline:
                raise RuntimeError("eSpeak stayed busy")
            time.sleep(0.0005)

    def voices(self) -> list[dict[str, Any]]:
        out = []
        for v in self.engine.getProperty("voices"):
            languages = [
                lang.decode("utf-8", "ignore") if isinstance(lang, bytes) else str(lang)
                for lang in (getattr(v, "languages", None) or [])
            ]
            out.append(
                {
                    "id": str(v.id),
                    "name": str(v.name or v.id),
                    "language": languages[0] if languages else "",
                    "gender": str(v.gender or ""),
                }
            )
        return out


def load_backend(spec: str) -> Any:
    if spec == DEFAULT_BACKEND:
        return Pyttsx3Backend()
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)()


def _send(out: IO[str], message: dict[str, Any]) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


def serve(backend_spec: str) -> int:
    # Keep the real stdout for the protocol and point fd 1 at /dev/null: pyttsx3 prints
    # "Audio saved to ..." after every file, and a C library may write there too.
    # Ctrl-C reaches the whole process group: the parent handles it and kills workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGXFSZ"):
        # Over `ulimit -f` a write fails with EFBIG (an error the parent reports) instead
        # of the signal killing the worker silently (which looked like a hang).
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    try:
        backend = load_backend(backend_spec)
    except Exception as exc:  # report any start-up failure in one line to the parent
        _send(proto, {"ok": False, "fatal": str(exc) or type(exc).__name__})
        return 1
    _send(proto, {"ok": True, "ready": True, "pid": os.getpid()})
    for line in sys.stdin:
        try:
            request = json.loads(line)
            if request.get("op") == "voices":
                _send(proto, {"ok": True, "voices": backend.voices()})
                continue
            backend.synthesize(
                request["text"],
                request.get("voice"),
                request["rate"],
                request["volume"],
                request["path"],
            )
            _send(proto, {"ok": True})
        except Exception as exc:  # one failed request must not end the worker
            _send(proto, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default=DEFAULT_BACKEND)
    args = parser.parse_args(argv)
    return serve(args.backend)


if __name__ == "__main__":
    # Run as a script, Python puts this file's folder first on sys.path; its sibling
    # modules must not shadow anything a backend imports.
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]
    sys.exit(main())
