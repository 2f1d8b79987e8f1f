"""What one worker does with one job: the same render as `voiceguide render`, with a speech
synthesizer kept for the worker's life so its engine starts once and its clips are reused.

Everything here is sent to worker processes (a local pool, or Dask workers on other
machines), so a task and its outcome are plain picklable data, and a job's failure comes
back as an outcome, never as an exception (ours carry located problems that do not pickle).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from voiceguide.errors import LocatedError, Terminated, VoiceguideError, one_line
from voiceguide.routine.models import Music, Routine
from voiceguide.routine.spec import DEFAULT_LOUDNESS
from voiceguide.timeline import PlanOptions

if TYPE_CHECKING:
    from voiceguide.session import SpeechSource
    from voiceguide.speech.synth import Synthesizer

Status = Literal["done", "failed"]


@dataclass(frozen=True)
class Task:
    """One job as a worker needs it: a loaded routine, checked options, destinations."""

    number: int
    routine: Routine
    options: PlanOptions
    out: Path
    sample_rate: int | None = None
    music: Music | None | Literal["routine"] = "routine"  # the routine's bed, none, or this
    loudness: float | None = DEFAULT_LOUDNESS
    captions: Path | None = None
    timeline: Path | None = None
    split: Path | None = None
    cache_dir: Path | None = None  # on the worker's machine
    use_cache: bool = True
    engine_jobs: int | None = None  # engine worker processes per batch worker


@dataclass(frozen=True)
class Outcome:
    """What became of a task. `files` holds the rendered files' bytes when the worker could
    not write the destinations itself (Dask): (role, name) -> content, role being out,
    captions, timeline or split."""

    number: int
    status: Status
    seconds: float
    duration: float | None = None
    size: int = 0  # bytes of the main output
    error: str | None = None
    warnings: tuple[str, ...] = ()
    files: tuple[tuple[str, str, bytes], ...] = field(default=(), repr=False)
    worker: str = ""


def describe_error(error: BaseException) -> str:
    """One line per problem (a located error's problems), else the message."""
    if isinstance(error, LocatedError):
        return "\n".join(str(p) for p in error.problems)
    if isinstance(error, VoiceguideError):
        return one_line(str(error))
    return one_line(f"internal error: {type(error).__name__}: {error}")


def render_task(task: Task, speech: SpeechSource, destinations: Task | None = None) -> Outcome:
    """Render `task` with `speech` (a Synthesizer) to `destinations`' paths (default: the
    task's own). Any failure becomes a failed Outcome; Ctrl-C and SIGTERM pass through."""
    from voiceguide.rendering import render_routine

    target = destinations or task
    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        # A manifest lays out its own tree of tracks (`out: tracks/{routine}/...`): unlike a
        # single `render -o`, whose folder must exist, a batch makes the folders it names.
        for path in (target.out, target.captions, target.timeline, target.split):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
        result = render_routine(
            task.routine,
            task.options,
            target.out,
            sample_rate=task.sample_rate,
            music=task.music,
            loudness=task.loudness,
            captions=target.captions,
            timeline_json=target.timeline,
            split_dir=target.split,
            speech=speech,
        )
    except Exception as error:  # noqa: BLE001 - one job's failure must not end the batch
        return Outcome(
            task.number,
            "failed",
            time.perf_counter() - start,
            error=describe_error(error),
            worker=worker,
        )
    return Outcome(
        task.number,
        "done",
        time.perf_counter() - start,
        duration=result.duration,
        size=result.bytes,
        warnings=result.warnings,
        worker=worker,
    )


# -- a worker's synthesizers --------------------------------------------------------------

_speech: dict[tuple[object, ...], Synthesizer] = {}
_local = threading.local()  # Dask runs tasks on several threads of one worker process


def _synthesizer(task: Task, per_thread: bool = False) -> Synthesizer:
    from voiceguide.speech.synth import Synthesizer

    key = (task.cache_dir, task.use_cache, task.engine_jobs)
    store: dict[tuple[object, ...], Synthesizer]
    if per_thread:
        store = getattr(_local, "speech", None) or {}
        _local.speech = store
    else:
        store = _speech
    speech = store.get(key)
    if speech is None:
        speech = Synthesizer(
            cache_dir=task.cache_dir, use_cache=task.use_cache, jobs=task.engine_jobs
        )
        store[key] = speech
        _close_at_exit(speech)
    return speech


def _close_at_exit(speech: Synthesizer) -> None:
    # A pool worker ends through multiprocessing, which runs its finalizers but not atexit.
    import atexit
    from multiprocessing import util

    util.Finalize(None, speech.close, exitpriority=10)
    atexit.register(speech.close)


# -- the local process pool ---------------------------------------------------------------

_busy = False


def init_pool_worker() -> None:
    """A pool worker ignores Ctrl-C (the batch stops it) and treats SIGTERM as an interrupt
    while rendering, so the render removes its temporary files before the worker exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def on_term(signum: int, frame: object) -> None:
        if not _busy:
            os._exit(143)
        # Once: when one worker exits, the pool sends every other one SIGTERM again, which
        # must not interrupt the clean-up (removing temporary files) that the first began.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    signal.signal(signal.SIGTERM, on_term)


def run_in_pool(task: Task) -> Outcome:
    """A local pool's job: render straight to the destinations (they are on this machine)."""
    global _busy
    _busy = True
    try:
        return render_task(task, _synthesizer(task))
    except KeyboardInterrupt:
        # The render has removed its temporary files; stop the engines and go.
        for speech in _speech.values():
            with contextlib.suppress(Exception):
                speech.close()
        os._exit(143)
    finally:
        _busy = False


# -- a Dask worker ------------------------------------------------------------------------


def run_on_cluster(task: Task) -> Outcome:
    """A Dask job: render into a folder of the worker's own and send the files back, so
    workers need no shared file system and a destination appears only when complete."""
    folder = Path(tempfile.mkdtemp(prefix="voiceguide-batch-"))
    try:
        local = Task(
            task.number,
            task.routine,
            task.options,
            folder / "out" / task.out.name,
            captions=folder / "captions" / task.captions.name if task.captions else None,
            timeline=folder / "timeline" / task.timeline.name if task.timeline else None,
            split=folder / "split" if task.split else None,
        )
        outcome = render_task(task, _synthesizer(task, per_thread=True), destinations=local)
        if outcome.status != "done":
            return outcome
        files = []
        for role in ("out", "captions", "timeline", "split"):
            base = folder / role
            if base.is_dir():
                for path in sorted(base.rglob("*")):
                    if path.is_file():
                        files.append((role, str(path.relative_to(base)), path.read_bytes()))
        return Outcome(
            outcome.number,
            outcome.status,
            outcome.seconds,
            outcome.duration,
            outcome.size,
            warnings=outcome.warnings,
            files=tuple(files),
            worker=outcome.worker,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def write_files(task: Task, outcome: Outcome) -> None:
    """Write a cluster job's files to the task's destinations, all or none (OutputError)."""
    from voiceguide.errors import OutputError
    from voiceguide.export.staging import Staging, describe

    roots = {
        "out": task.out.parent,
        "captions": task.captions,
        "timeline": task.timeline,
        "split": task.split,
    }
    staging = Staging()
    try:
        for role, name, content in outcome.files:
            root = roots[role]
            if root is None:
                continue
            dest = (
                task.out
                if role == "out"
                else root
                if role in ("captions", "timeline")
                else root / name
            )
            temp = staging.temp_for(dest)
            try:
                temp.write_bytes(content)
            except OSError as exc:
                raise OutputError(f"cannot write {dest}: {describe(exc)}") from None
        staging.commit()
    except BaseException:
        staging.discard()
        raise
