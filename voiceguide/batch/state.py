"""What a batch has made, so a re-run skips it: one stamp per output, in a state file beside
the manifest (`.NAME.state.json`), never among the published tracks.

A stamp is a hash of everything the output is made from: the routine as loaded (and its
chime file), the job's options and the user's voice defaults, the destinations, the
engines' versions, voiceguide's version and its speech processing. A job is up to date
when its stamp is recorded and every file it writes is still there (the track at its size).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceguide import __version__
from voiceguide.batch.manifest import Job
from voiceguide.routine.models import Routine, VoiceSpec, resolve_voice
from voiceguide.sound.processing import PROCESSING_VERSION

STATE_VERSION = 1


def state_path(manifest: str | os.PathLike[str], folder: Path) -> Path:
    """The state file of the manifest at `manifest` (hidden, beside it)."""
    return folder / f".{Path(manifest).name}.state.json"


def routine_digest(routine: Routine) -> str:
    """A hash of the routine as loaded (every resolved value) and of its chime file."""
    digest = hashlib.sha256(repr(routine).encode())
    chime = Path(routine.chime)
    if chime.is_absolute():
        with contextlib.suppress(OSError):
            digest.update(chime.read_bytes())
    return digest.hexdigest()


def engines_of(routine: Routine, job: Job) -> list[str]:
    """The engines the job's speech is made with (the command line's engine wins)."""
    options = job.run.options
    if options.overrides.engine:
        return [options.overrides.engine]
    layers = [options.defaults, routine.voice]
    names = {resolve_voice(*layers).engine}
    names.update(
        resolve_voice(*layers, step.voice).engine
        for step in routine.steps
        if step.voice != VoiceSpec()
    )
    return sorted(names)


def job_stamp(
    job: Job, routine_hash: str, engine_version: Callable[[str], str], engines: list[str]
) -> str:
    """The stamp of `job`: changes whenever anything its output is made from changes."""
    inputs: dict[str, Any] = {
        "voiceguide": __version__,
        "processing": PROCESSING_VERSION,
        "routine": routine_hash,
        "options": repr(job.run.options),
        "settings": job.settings,
        "outputs": [str(p) for p in job.outputs],
        "sample_rate": job.sample_rate,
        "engines": {name: engine_version(name) for name in engines},
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class BatchState:
    """Stamps of the outputs made so far, by output path; saved after every finished job."""

    path: Path
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> BatchState:
        """The state at `path`; an unreadable or foreign file counts as nothing made."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["outputs"] if data.get("version") == STATE_VERSION else {}
        except (OSError, ValueError, KeyError, AttributeError, TypeError):
            entries = {}
        return cls(path, entries if isinstance(entries, dict) else {})

    def up_to_date(self, job: Job, stamp: str) -> bool:
        entry = self.entries.get(str(job.out))
        if not isinstance(entry, dict) or entry.get("stamp") != stamp:
            return False
        try:
            if job.out.stat().st_size != entry.get("size"):
                return False
            return all(p.exists() for p in job.outputs)
        except OSError:
            return False

    def record(self, job: Job, stamp: str, duration: float | None) -> None:
        try:
            size = job.out.stat().st_size
        except OSError:
            return
        self.entries[str(job.out)] = {"stamp": stamp, "size": size, "duration": duration}

    def forget(self, job: Job) -> None:
        self.entries.pop(str(job.out), None)

    def save(self) -> None:
        """Write atomically; a state that cannot be saved only costs a re-render later."""
        temp = self.path.with_name(self.path.name + ".part")
        with contextlib.suppress(OSError):
            temp.write_text(
                json.dumps({"version": STATE_VERSION, "outputs": self.entries}, indent=1)
            )
            os.replace(temp, self.path)
