"""Clips made ahead of playback on one background thread, so synthesis or resampling is
never on the critical path of the cue being played."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

from voiceguide.cue import Cue
from voiceguide.sound.clip import Clip

ClipFor = Callable[[Cue], Clip]


class ClipPrefetcher:
    """Synthesizes cues ahead of time on one background thread, in playing order."""

    def __init__(self, clip_for: ClipFor, cues: Iterable[Cue]) -> None:
        self._clip_for = clip_for
        self._order: deque[Cue] = deque(dict.fromkeys(cues))
        self._done: dict[Cue, tuple[bytes, int] | Exception] = {}
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._work, name="voiceguide-prefetch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)

    def get(self, cue: Cue) -> tuple[bytes, int]:
        """The cue's PCM (int16 bytes) and rate, waiting for it - moved to the front - if needed."""
        with self._cond:
            if cue not in self._done:
                if cue in self._order:
                    self._order.remove(cue)
                self._order.appendleft(cue)
                self._cond.notify_all()
            while cue not in self._done:
                if not self._thread.is_alive():
                    self._work()  # not started (or finished early): do it here
                else:
                    self._cond.wait(0.1)
            result = self._done[cue]
        if isinstance(result, Exception):
            raise result
        return result

    def _work(self) -> None:
        while True:
            with self._cond:
                if self._stopped or not self._order:
                    return
                cue = self._order.popleft()
                if cue in self._done:
                    continue
            result: tuple[bytes, int] | Exception
            try:
                clip = self._clip_for(cue)
                result = (clip.to_int16().tobytes(), clip.rate)
            except Exception as exc:  # re-raised by get() in the playing thread
                result = exc
            with self._cond:
                self._done[cue] = result
                self._cond.notify_all()
