"""Rendered tracks and plans kept on disk, one per routine and plan options.

A request for a routine at a pace already rendered is a file; a new pace renders afresh
(quick: the speech clips are cached, only the layout and the encoding are redone). Two
requests for the same render wait for one rendering; different renders go in parallel.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voiceguide import __version__
from voiceguide.api import Run
from voiceguide.export.cbr import encode_mp3
from voiceguide.routine.models import Routine

DEFAULT_KEEP = 64  # renders kept on disk; the least recently used go first


def default_renders_dir() -> Path:
    """The user cache folder's `renders` (beside the clip cache)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voiceguide")) / "renders"


@dataclass(frozen=True)
class Rendered:
    audio: Path  # constant-bitrate MP3
    plan: dict[str, Any]  # the plan JSON of exactly that track


class Renders:
    """A folder of renders keyed by what decides their sound: the routine as loaded, the
    plan options, the music bed, voiceguide's version."""

    def __init__(self, folder: Path | None = None, keep: int = DEFAULT_KEEP):
        self.folder = folder or default_renders_dir()
        self.keep = keep
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @staticmethod
    def key(routine: Routine, run: Run) -> str:
        text = f"{__version__}\n{routine!r}\n{run.options!r}\n{run.music!r}"
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]

    def get(self, routine: Routine, run: Run) -> Rendered:
        """The render of `routine` with `run`'s options, made now if not kept."""
        key = self.key(routine, run)
        audio, plan = self.folder / f"{key}.mp3", self.folder / f"{key}.json"
        with self._lock(key):
            if not (audio.is_file() and plan.is_file()):
                self._render(routine, run, audio, plan)
                self._prune()
            with contextlib.suppress(OSError):
                os.utime(plan)  # recently used
            return Rendered(audio, json.loads(plan.read_text(encoding="utf-8")))

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _render(self, routine: Routine, run: Run, audio: Path, plan: Path) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".render-", dir=self.folder) as tmp:
            wav, mp3, js = Path(tmp) / "track.wav", Path(tmp) / "track.mp3", Path(tmp) / "plan.json"
            run.render(routine, wav, timeline=js)
            encode_mp3(wav, mp3)
            os.replace(mp3, audio)
            os.replace(js, plan)  # last: a render is complete when its plan is there

    def _prune(self) -> None:
        plans = sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in plans[self.keep :]:
            if old.stem in self._locks and self._locks[old.stem].locked():
                continue  # being read or written right now
            for path in (old, old.with_suffix(".mp3")):
                with contextlib.suppress(OSError):
                    path.unlink()
