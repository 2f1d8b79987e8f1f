"""The audio device seam: simpleaudio behind a tiny interface, so the player can be tested.

`play()` returns at once with a handle; nothing here waits for playback to finish, because
on ALSA's null and file devices a clip "finishes" after ~50 ms whatever its length.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import time
from typing import Any, Protocol

from voiceguide.errors import DeviceError

# Played once by `open()` to find out, before any waiting begins, whether a device exists.
PROBE_FRAMES = 32
PROBE_RATE = 22050
PROBE_CLOSE_LIMIT = 0.5  # seconds
RENDER_HINT = "use `voiceguide render` to write a file instead"


class Playback(Protocol):
    """One sound being played."""

    def stop(self) -> None:
        """Stop the sound now (no-op when already finished)."""
        ...

    def is_playing(self) -> bool:
        """Whether the device still reports the sound as playing."""
        ...


class Device(Protocol):
    """Where clips are sent: 16-bit mono PCM bytes at a sample rate."""

    def open(self) -> None:
        """Check the device can be used; raise DeviceError if not."""
        ...

    def play(self, pcm: bytes, rate: int) -> Playback:
        """Start playing `pcm` (int16 mono) and return at once."""
        ...

    def close(self) -> None:
        """Stop anything still playing."""
        ...


class SimpleaudioDevice:
    """The default output through simpleaudio (ALSA's `default` PCM on Linux)."""

    def __init__(self) -> None:
        self._sa: Any = None
        self._error: type[Exception] = Exception
        self._last: Any = None

    def open(self) -> None:
        if self._sa is not None:
            return  # already probed (play_routine opens before synthesis, play() again)
        try:
            import simpleaudio
            from simpleaudio._simpleaudio import SimpleaudioError
        except ImportError as exc:
            reason = f"simpleaudio: {exc}"
            raise DeviceError(f"no audio device available ({reason}); {RENDER_HINT}") from None
        _silence_alsa_errors()
        self._error = SimpleaudioError  # not re-exported by the simpleaudio package
        try:
            # A few silent frames: the only way simpleaudio has to find out if ALSA opens.
            probe = simpleaudio.play_buffer(bytes(2 * PROBE_FRAMES), 1, 2, PROBE_RATE)
        except SimpleaudioError as exc:
            raise DeviceError(f"no audio device available ({_short(exc)}); {RENDER_HINT}") from None
        # Wait until the probe has closed the PCM: a first cue played while it is still open
        # could find a card without mixing busy (and runs into it on the test FIFO device).
        probe.stop()
        deadline = time.monotonic() + PROBE_CLOSE_LIMIT
        while probe.is_playing() and time.monotonic() < deadline:
            time.sleep(0.001)
        self._sa = simpleaudio  # only a probe that opened marks the device usable

    def play(self, pcm: bytes, rate: int) -> Playback:
        if self._sa is None:
            raise DeviceError("audio device used before open()")
        try:
            self._last = self._sa.play_buffer(pcm, 1, 2, rate)
        except self._error as exc:
            raise DeviceError(f"audio device failed ({_short(exc)}); {RENDER_HINT}") from None
        return self._last

    def close(self) -> None:
        if self._last is not None:
            self._last.stop()
            self._last = None


class _Silent:
    def stop(self) -> None:
        pass

    def is_playing(self) -> bool:
        return False


class SilentDevice:
    """Plays nothing (for --dry-run): the scheduler runs exactly as with a real device."""

    def open(self) -> None:
        pass

    def play(self, pcm: bytes, rate: int) -> Playback:
        return _Silent()

    def close(self) -> None:
        pass


def _short(exc: BaseException) -> str:
    """`Error opening PCM device: No such file or directory` from simpleaudio's
    `Error opening PCM device. -- CODE: -2 -- MSG: No such file or directory`."""
    fields = [f.strip() for f in " ".join(str(exc).split()).split(" -- ")]
    message = next((f[4:].strip() for f in fields if f.startswith("MSG:")), "")
    head = fields[0].rstrip(".")
    return f"{head}: {message}" if message else head


_HANDLER: Any = None  # the ctypes callback must stay referenced while ALSA may call it


def _silence_alsa_errors() -> None:
    """Stop libasound printing `ALSA lib ...` lines on stderr: our DeviceError says it once."""
    global _HANDLER
    if _HANDLER is not None:
        return
    name = ctypes.util.find_library("asound")
    if name is None:
        return
    try:
        lib = ctypes.CDLL(name)
        # snd_lib_error_handler_t is variadic; the fixed leading arguments are all we declare.
        handler_type = ctypes.CFUNCTYPE(
            None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
        )
        _HANDLER = handler_type(lambda *args: None)
        lib.snd_lib_error_set_handler(_HANDLER)
    except (OSError, AttributeError):
        _HANDLER = False  # no libasound to quiet (e.g. not Linux): nothing to do
