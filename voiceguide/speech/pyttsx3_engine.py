"""The pyttsx3 engine (eSpeak NG on Linux), run in a pool of killable worker processes.

pyttsx3's known failures never reach the caller: every file is read back and checked
(readable, non-empty, plausible length for its text), a failed or hung request is retried
in a fresh worker, and the worker count gives parallelism across cores.
"""

from __future__ import annotations

import contextlib
import ctypes
import difflib
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.errors import SynthesisError, UnknownVoice
from voiceguide.routine.models import Voice
from voiceguide.sound.clip import Clip
from voiceguide.speech.base import VoiceInfo
from voiceguide.speech.pyttsx3_worker import DEFAULT_BACKEND, MISSING_LIBRARY

ESPEAK_RATE = 22050  # hard-coded in pyttsx3's eSpeak driver for save_to_file
_ESPEAK_LIBRARIES = (  # the names pyttsx3's eSpeak driver tries
    "libespeak-ng.so.1",
    "/usr/local/lib/libespeak-ng.so.1",
    "libespeak.so.1",
    "/opt/homebrew/lib/libespeak-ng.1.dylib",
    "/usr/local/lib/libespeak-ng.1.dylib",
)
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_WORKER_SCRIPT = str(Path(__file__).resolve().with_name("pyttsx3_worker.py"))


class _WorkerFailed(Exception):
    """A request failed in a way worth retrying in a fresh worker."""


class _WorkerFatal(Exception):
    """The worker cannot start at all (library missing): retrying will not help."""


class _Worker:
    """One worker process and a thread that reads its answers into a queue."""

    def __init__(self, backend: str, env: Mapping[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, _WORKER_SCRIPT, "--backend", backend],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(env),
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._answers: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._ready = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self._answers.put(json.loads(line))
            except ValueError:
                continue
        self._answers.put(None)  # end of file: the worker is gone

    def _answer(self, timeout: float) -> dict[str, Any]:
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise _WorkerFailed(f"no answer within {timeout:g} s (worker hung)") from None
        if answer is None:
            raise _WorkerFailed(f"worker exited (status {self.proc.poll()})")
        return answer

    def ensure_ready(self, timeout: float) -> None:
        if self._ready:
            return
        answer = self._answer(timeout)
        if "fatal" in answer:
            raise _WorkerFatal(str(answer["fatal"]))
        self._ready = True

    def request(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except OSError as exc:
            raise _WorkerFailed(f"worker pipe closed ({exc})") from None
        return self._answer(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class Pyttsx3Engine:
    """pyttsx3 behind the Engine interface: rate in words per minute, volume 0-1."""

    name = "pyttsx3"

    def __init__(
        self,
        jobs: int | None = None,
        timeout: float | None = None,
        attempts: int = 3,
        start_timeout: float = 30.0,
        backend: str = DEFAULT_BACKEND,
        worker_env: Mapping[str, str] | None = None,
    ):
        self.jobs = jobs or os.cpu_count() or 1
        self.timeout = timeout  # None: scaled to the text's length
        self.attempts = attempts
        self.start_timeout = start_timeout
        self.backend = backend
        self.restarts = 0  # workers replaced after a failure (observable in tests)
        self._env = _worker_env(worker_env)
        self._idle: list[_Worker] = []
        self._live: set[_Worker] = set()  # every started worker, busy or idle, for close()
        self._generation = 0  # bumped by close(): batches still running then stop
        self._lock = threading.Lock()
        self._version: str | None = None
        self._voices: list[VoiceInfo] | None = None
        self._resolved: dict[str, str] = {}
        self._tmp: Path | None = None  # created on first synthesis, removed by close()
        self._seq = 0

    # -- Engine interface -------------------------------------------------------------

    def version(self) -> str:
        """pyttsx3 and eSpeak NG versions, read without starting a worker."""
        if self._version is None:
            self._version = _library_version()
        return self._version

    def native_rate(self, voice: Voice) -> int:
        return ESPEAK_RATE

    def voices(self) -> list[VoiceInfo]:
        if self._voices is None:
            answer = self._run_in_worker({"op": "voices"}, timeout=self.start_timeout)
            self._voices = [VoiceInfo(**v) for v in answer["voices"]]
        return list(self._voices)

    def check_voice(self, voice: Voice) -> None:
        """Accept `gmw/en-us`, `en-us`, a language or a voice name; else name the closest ids."""
        self.resolve_voice_id(voice.id)

    def resolve_voice_id(self, voice_id: str | None) -> str | None:
        """The canonical eSpeak id for what the user wrote (eSpeak ignores unknown ids)."""
        if not voice_id:
            return None
        if voice_id in self._resolved:
            return self._resolved[voice_id]
        base, plus, variant = voice_id.partition("+")  # eSpeak variants: en-us+f3
        known: dict[str, str] = {}
        for info in self.voices():
            for alias in (info.id, info.id.rsplit("/", 1)[-1], info.name):
                known.setdefault(alias.casefold(), info.id)
        for info in self.voices():  # languages last: an exact id or name wins
            if info.language:
                known.setdefault(info.language.casefold(), info.id)
        wanted = base.strip().casefold()
        if wanted not in known:
            hint = self._suggestions(wanted, known)
            raise UnknownVoice(
                voice_id,
                f"unknown voice {voice_id!r} for engine pyttsx3 (closest: {hint}; "
                "see `voiceguide voices`)",
            )
        resolved = known[wanted] + plus + variant
        self._resolved[voice_id] = resolved
        return resolved

    def _suggestions(self, wanted: str, known: dict[str, str]) -> str:
        """Voices close to `wanted`, each as `language = name` (`en-gb = English (Great
        Britain)`): first those with a word of their name or language like it ("british":
        Britain), then ids, names and languages spelled like it; "none close" if none."""
        infos = {info.id: info for info in self.voices()}

        def like(word: str) -> bool:
            common = len(os.path.commonprefix([word, wanted]))
            return common >= 4 or difflib.SequenceMatcher(None, word, wanted).ratio() >= 0.75

        by_word = [
            info.id
            for info in infos.values()
            if any(like(w) for w in re.split(r"[^a-z]+", f"{info.name} {info.language}".casefold()))
        ]
        close = [known[c] for c in difflib.get_close_matches(wanted, list(known), n=3, cutoff=0.5)]
        ids = list(dict.fromkeys(by_word or close))[:3]
        if not ids:
            return "none close"
        return ", ".join(f"{infos[i].language or i} = {infos[i].name}" for i in ids)

    def synthesize_batch(self, requests: Sequence[tuple[str, Voice]]) -> list[Clip]:
        """Synthesize in parallel on up to `jobs` workers; each result is verified."""
        self.version()  # fails fast, in one line, if the eSpeak NG library is missing
        for _, voice in requests:
            self.resolve_voice_id(voice.id)  # before any thread starts: errors come out once
        results: list[Clip | None] = [None] * len(requests)
        todo: queue.Queue[int] = queue.Queue()
        for i in range(len(requests)):
            todo.put(i)
        errors: list[BaseException] = []
        stop = threading.Event()
        generation = self._generation

        def run() -> None:
            while not stop.is_set():
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    text, voice = requests[i]
                    results[i] = self._synthesize_one(text, voice, stop, generation)
                except BaseException as exc:  # handed to the caller below
                    errors.append(exc)
                    stop.set()

        threads = [
            threading.Thread(target=run, daemon=True) for _ in range(min(self.jobs, len(requests)))
        ]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            stop.set()
        if errors:
            raise errors[0]
        return [clip for clip in results if clip is not None]

    def close(self) -> None:
        """Kill every worker, including ones still busy (e.g. after Ctrl-C)."""
        with self._lock:
            self._generation += 1
            workers, self._live, self._idle = list(self._live), set(), []
        for worker in workers:
            worker.kill()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- workers ----------------------------------------------------------------------

    def _take_worker(self, generation: int | None = None) -> _Worker:
        with self._lock:
            if generation is not None and generation != self._generation:
                raise SynthesisError("speech engine pyttsx3 was closed during synthesis")
            if self._idle:
                return self._idle.pop()
        worker = _Worker(self.backend, self._env)
        with self._lock:
            self._live.add(worker)
        return worker

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if worker in self._live:  # not closed meanwhile
                self._idle.append(worker)

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.kill()

    def _run_in_worker(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        last = ""
        for _ in range(self.attempts):
            worker = self._take_worker()
            try:
                worker.ensure_ready(self.start_timeout)
                answer = worker.request(message, timeout)
            except _WorkerFatal as exc:
                self._discard(worker)
                raise SynthesisError(str(exc)) from None
            except _WorkerFailed as exc:
                self._discard(worker)
                self.restarts += 1
                last = str(exc)
                continue
            self._give_back(worker)
            if answer.get("ok"):
                return answer
            last = str(answer.get("error", "unknown error"))
        raise SynthesisError(f"speech engine pyttsx3 failed: {last}")

    def _synthesize_one(
        self, text: str, voice: Voice, stop: threading.Event, generation: int | None = None
    ) -> Clip:
        timeout = self.timeout if self.timeout is not None else 10.0 + 0.05 * len(text)
        last = ""
        for _ in range(self.attempts):
            if stop.is_set():
                raise SynthesisError("synthesis stopped")
            with self._lock:
                if self._tmp is None:
                    self._tmp = Path(tempfile.mkdtemp(prefix="voiceguide-pyttsx3-"))
                self._seq += 1
                # A fresh name per attempt: a killed worker's late write can't be mistaken.
                path = self._tmp / f"clip-{self._seq}.wav"
            worker = self._take_worker(generation)
            try:
                worker.ensure_ready(self.start_timeout)
                answer = worker.request(
                    {
                        "op": "synth",
                        "text": text,
                        "voice": self.resolve_voice_id(voice.id),
                        "rate": voice.rate,
                        "volume": voice.volume,
                        "path": str(path),
                    },
                    timeout,
                )
                if not answer.get("ok"):
                    raise _WorkerFailed(str(answer.get("error", "unknown error")))
                clip = read_verified(path, text, voice.rate)
            except _WorkerFatal as exc:
                self._discard(worker)
                raise SynthesisError(str(exc)) from None
            except _WorkerFailed as exc:
                # Replace the worker: after a hang, a crash or a bad file its driver
                # state (last text, target file) cannot be trusted.
                self._discard(worker)
                self.restarts += 1
                last = str(exc)
                continue
            finally:
                path.unlink(missing_ok=True)
            self._give_back(worker)
            return clip
        raise SynthesisError(
            f"could not synthesize {_shorten(text)!r} with pyttsx3 after "
            f"{self.attempts} attempts: {last}"
        )


def read_verified(path: Path, text: str, rate_wpm: int) -> Clip:
    """Read a synthesized file back (WAV, or AIFF on macOS); reject empty or implausible ones."""
    import soundfile as sf  # only needed when synthesizing; keeps warm runs light

    try:
        info = sf.info(str(path))
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise _WorkerFailed(f"unreadable output file ({exc})") from None
    if samples.shape[0] != info.frames:
        raise _WorkerFailed(f"truncated output ({samples.shape[0]} of {info.frames} frames)")
    mono = samples.mean(axis=1).astype(np.float32) if samples.shape[1] > 1 else samples[:, 0]
    low, high = plausible_seconds(text, rate_wpm)
    seconds = mono.shape[0] / rate
    if seconds < low or seconds > high or (low > 0 and not np.any(mono)):
        raise _WorkerFailed(
            f"implausible output: {seconds:.2f} s for {len(text)} characters "
            f"(expected {low:.2f}-{high:.2f} s)"
        )
    if low > 0 and _ends_voiced(mono, int(rate)):
        raise _WorkerFailed("output cut short: it ends while the voice still sounds")
    return Clip(np.ascontiguousarray(mono), int(rate))


# eSpeak NG ends every complete utterance in silence: 0.39 s at 150 wpm, 0.89 s at 40,
# still 34 ms at 600 (measured with en-us, de, fr). A file whose voice sounds in its last
# 10 ms was cut short (a cancelled or unfinished utterance), however plausible its length;
# under load one such file, 77 % of the real length, once passed the length bounds.
_TAIL_SECONDS = 0.010
_VOICED = 0.01


def _ends_voiced(mono: np.ndarray, rate: int) -> bool:
    tail = mono[-max(1, int(_TAIL_SECONDS * rate)) :]
    return bool(np.any(np.abs(tail) > _VOICED))


def plausible_seconds(text: str, rate_wpm: int) -> tuple[float, float]:
    """Bounds on a clip's length: catches 0-frame/header-only files and a stale earlier text."""
    words = len(re.findall(r"\w+", text))
    scale = 150.0 / max(rate_wpm, 1)
    # Punctuation or symbols only (words == 0): eSpeak may rightly say nothing.
    low = 0.15 * words * 60.0 / max(rate_wpm, 1)
    # A voice that does not know a script (Arabic or Hebrew with an English voice) spells
    # it letter by letter, about 0.7 s a letter at 150 wpm.
    foreign = sum(1 for c in text if c.isalpha() and ord(c) > 0x24F)
    high = (3.0 + 0.25 * len(text.strip()) + 1.0 * foreign) * max(scale, 0.25)
    return low, high


def _library_version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        pyttsx3_version = version("pyttsx3")
    except PackageNotFoundError:
        raise SynthesisError(
            "speech engine unavailable: pyttsx3 is not installed; "
            "install it with: pip install pyttsx3"
        ) from None
    if sys.platform in ("win32", "darwin"):
        return f"pyttsx3 {pyttsx3_version} {sys.platform}"
    # Load the library pyttsx3's driver loads, by the same names, straight through ctypes:
    # importing pyttsx3 costs a warm (all cached) run more than everything else it does.
    # espeak_Info needs no initialization.
    for name in _ESPEAK_LIBRARIES:
        try:
            library = ctypes.cdll.LoadLibrary(name)
        except OSError:
            continue
        library.espeak_Info.restype = ctypes.c_char_p
        info = library.espeak_Info(None) or b"unknown"
        return f"pyttsx3 {pyttsx3_version} espeak-ng {info.decode('ascii', 'replace')}"
    raise SynthesisError(MISSING_LIBRARY)


def _worker_env(extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    paths = [_PACKAGE_ROOT]
    if extra and "PYTHONPATH" in extra:
        paths.insert(0, extra["PYTHONPATH"])
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env.update(extra or {})
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
