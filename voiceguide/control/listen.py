"""Voice commands from the microphone (a `CommandSource`), from a file, and merged with the
terminal's keys.

Never obeying itself: the player tells a source each time it makes a sound (`sounding`,
clock times); an utterance that overlaps a sound or its tail (`ECHO_TAIL`) is ignored.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguide.control.commands import Command, CommandSource
from voiceguide.control.recognize import RATE, Heard, ListenError, Recognizer
from voiceguide.sound.clip import to_int16
from voiceguide.sound.resample import resample

ECHO_TAIL = 0.3  # seconds after a sound during which the microphone is still ignored
# Seconds of audio per capture callback: the end of a word is seen only when its block
# arrives (0.05 s blocks: median latency 0.38 s; 0.02 s: 0.35 s, for 1 % more CPU).
BLOCK = 0.02
POLL = 0.02  # seconds: how often a merged source looks at its other sources


def listen_file(path: Path, on_heard: Callable[[Heard], None] | None = None) -> list[Heard]:
    """The commands spoken in an audio file (WAV, FLAC, OGG, MP3): every utterance that
    is one, in order; `on_heard` receives each as it is found."""
    import soundfile as sf

    recognizer = Recognizer()
    found: list[Heard] = []
    try:
        with sf.SoundFile(str(path)) as audio:
            rate = audio.samplerate
            for block in audio.blocks(blocksize=rate * 10, dtype="float32", always_2d=True):
                found += _commands(recognizer.feed(_to_model(block.mean(axis=1), rate)), on_heard)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise ListenError(f"cannot read {path}: {error}") from None
    return found + _commands(recognizer.finish(), on_heard)


def _commands(heard: list[Heard], on_heard: Callable[[Heard], None] | None) -> list[Heard]:
    found = [item for item in heard if item.command is not None]
    if on_heard is not None:
        for item in found:
            on_heard(item)
    return found


def _to_model(samples: np.ndarray, rate: int) -> np.ndarray:
    """Float samples at `rate` as the recognizer's 16 kHz int16."""
    return to_int16(resample(np.asarray(samples, dtype=np.float32), rate, RATE))


def _sounddevice() -> Any:
    try:
        import sounddevice
    except ImportError:
        raise ListenError(
            "voice commands need the listen extra: pip install 'voiceguide[listen]'"
        ) from None
    except OSError:  # the module loads, PortAudio does not
        raise ListenError(
            "voice commands need PortAudio (Debian/Ubuntu: apt-get install libportaudio2)"
        ) from None
    return sounddevice


class Microphone:
    """Spoken commands from a capture device (the system default, or `device`: a name, a
    part of one, or an index as `python -m sounddevice` lists them).

    `open` starts capture and a recognizer thread; `wait` returns the next command. Every
    utterance recognised as a command goes to `on_heard(heard, obeyed)`, with its times as
    seconds since `open`; `obeyed` is False when it overlapped the player's own sound."""

    def __init__(
        self,
        device: str | None = None,
        *,
        on_heard: Callable[[Heard, bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device: str | int | None = _device_arg(device)
        self.on_heard = on_heard
        self.clock = clock
        self.commands: queue.Queue[Command] = queue.Queue()
        self.origin = 0.0  # clock time of the first sample
        self._sounds: deque[list[float]] = deque(maxlen=8)  # [start, end] clock times
        self._lock = threading.Lock()
        self._blocks: queue.Queue[tuple[np.ndarray, float] | None] = queue.Queue()
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.rate = RATE

    # --- set-up --------------------------------------------------------------------------

    def check(self) -> None:
        """ListenError now if the microphone cannot be used (no extra, no PortAudio, no
        such device, or it refuses mono capture)."""
        sd = _sounddevice()
        Recognizer()  # the model loads (the extra is complete)
        try:
            info = sd.query_devices(self.device, kind="input")
        except (ValueError, sd.PortAudioError) as error:
            raise ListenError(f"no microphone{self._named()}: {_reason(error)}") from None
        self.rate = RATE
        try:
            sd.check_input_settings(device=self.device, channels=1, dtype="int16", samplerate=RATE)
        except (ValueError, sd.PortAudioError):
            self.rate = int(info["default_samplerate"])  # resampled to 16 kHz
            try:
                sd.check_input_settings(
                    device=self.device, channels=1, dtype="int16", samplerate=self.rate
                )
            except (ValueError, sd.PortAudioError) as error:
                raise ListenError(
                    f"cannot open the microphone{self._named()}: {_reason(error)}"
                ) from None

    def open(self) -> None:
        sd = _sounddevice()
        self.check()
        self._recognizer = Recognizer()
        self._samples = 0
        try:
            self._stream = sd.InputStream(
                device=self.device,
                channels=1,
                dtype="int16",
                samplerate=self.rate,
                blocksize=int(self.rate * BLOCK),
                callback=self._captured,
            )
            self.origin = self.clock()
            self._stream.start()
        except (ValueError, sd.PortAudioError) as error:
            self._stream = None
            raise ListenError(
                f"cannot open the microphone{self._named()}: {_reason(error)}"
            ) from None
        self._thread = threading.Thread(target=self._recognize, name="listen", daemon=True)
        self._thread.start()

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            # abort, not stop: stop waits for buffers still queued, which an input through
            # ALSA's PulseAudio plugin may never deliver (Ctrl-C then hung `listen`).
            stream.abort()
            stream.close()
        if self._thread is not None:
            self._blocks.put(None)
            self._thread.join(timeout=5)
            self._thread = None

    def _named(self) -> str:
        return f" {self.device!r}" if self.device is not None else ""

    # --- what the player says --------------------------------------------------------------

    def sounding(self, start: float, end: float) -> None:
        """The player makes a sound from `start` to `end` (clock times); a later call with the
        same start (the sound was cut short) replaces its end."""
        with self._lock:
            if self._sounds and self._sounds[-1][0] == start:
                self._sounds[-1][1] = end
            else:
                self._sounds.append([start, end])

    def _echo(self, start: float, end: float) -> bool:
        """Whether an utterance from `start` to `end` (clock times) overlaps our own sound."""
        with self._lock:
            return any(s < end and start < e + ECHO_TAIL for s, e in self._sounds)

    # --- CommandSource ---------------------------------------------------------------------

    def wait(self, timeout: float) -> Command | None:
        if self._error is not None:
            error, self._error = self._error, None
            raise ListenError(f"the microphone stopped: {_reason(error)}")
        try:
            return self.commands.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None

    # --- capture and recognition (threads) --------------------------------------------------

    def _captured(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        self._blocks.put((indata[:, 0].copy(), self.clock()))

    def _recognize(self) -> None:
        try:
            while True:
                item = self._blocks.get()
                if item is None:
                    return
                block, arrived = item
                self._samples += block.shape[0]
                if self.rate != RATE:
                    block = _to_model(block.astype(np.float32) / 32768.0, self.rate)
                # Input seconds -> clock time, anchored on this block's arrival (its end).
                offset = arrived - self._samples / self.rate
                for heard in self._recognizer.feed(block):
                    self._heard(heard, offset)
        except BaseException as error:  # reported by the next wait(), in the main thread
            self._error = error

    def _heard(self, heard: Heard, offset: float) -> None:
        if heard.command is None:
            return
        obeyed = not self._echo(offset + heard.start, offset + heard.end)
        if obeyed:
            self.commands.put(heard.command)
        if self.on_heard is not None:
            shift = offset - self.origin
            self.on_heard(
                Heard(heard.start + shift, heard.end + shift, heard.text, heard.command), obeyed
            )


def _device_arg(device: str | None) -> str | int | None:
    if device is None or not device.strip():
        return None
    return int(device) if device.strip().isdigit() else device.strip()


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


class Merged:
    """Several command sources as one: the first is waited on, the others looked at every
    `POLL` seconds. Keys and voice steer the same session."""

    def __init__(self, sources: Sequence[CommandSource]) -> None:
        self.sources = list(sources)

    def open(self) -> None:
        opened: list[CommandSource] = []
        try:
            for source in self.sources:
                source.open()
                opened.append(source)
        except BaseException:
            for source in reversed(opened):
                source.close()
            raise

    def close(self) -> None:
        for source in reversed(self.sources):
            source.close()

    def wait(self, timeout: float) -> Command | None:
        deadline = time.monotonic() + timeout
        first, others = self.sources[0], self.sources[1:]
        while True:
            for source in others:
                command = source.wait(0)
                if command is not None:
                    return command
            remaining = deadline - time.monotonic()
            command = first.wait(max(0.0, min(POLL, remaining)) if others else max(0.0, remaining))
            if command is not None or remaining <= POLL:
                return command

    def sounding(self, start: float, end: float) -> None:
        for source in self.sources:
            told = getattr(source, "sounding", None)
            if told is not None:
                told(start, end)


def listen_microphone(device: str | None, on_heard: Callable[[Heard], None]) -> None:
    """Report every command heard on the microphone until Ctrl-C (KeyboardInterrupt)."""
    microphone = Microphone(device, on_heard=lambda heard, obeyed: on_heard(heard))
    microphone.open()
    try:
        while True:
            microphone.wait(0.25)
    finally:
        microphone.close()
