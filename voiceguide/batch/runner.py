"""Run a manifest's jobs: skip what is up to date, hand the rest to an executor, record what
each became, and report. Files written by cluster workers arrive here as bytes."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from voiceguide.batch.executors import Executor
from voiceguide.batch.manifest import Job, Manifest
from voiceguide.batch.state import BatchState, engines_of, job_stamp, routine_digest, state_path
from voiceguide.batch.work import Outcome, Task, describe_error, write_files
from voiceguide.errors import VoiceguideError
from voiceguide.routine.models import Routine

JobStatus = Literal["done", "skipped", "failed", "cancelled", "pending"]
REPORT_NAME = "batch-report.json"


@dataclass
class JobReport:
    job: Job
    status: JobStatus = "pending"
    seconds: float = 0.0
    duration: float | None = None  # seconds of audio
    error: str | None = None
    warnings: tuple[str, ...] = ()

    def to_json(self, folder: Path) -> dict[str, Any]:
        return {
            "job": self.job.number,
            "routine": self.job.routine,
            "output": _relative(self.job.out, folder),
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "duration": None if self.duration is None else round(self.duration, 3),
            "error": self.error,
            "warnings": list(self.warnings),
            "options": {k: v for k, v in self.job.settings.items() if k not in ("routine", "out")},
        }


@dataclass
class BatchReport:
    manifest: str
    folder: Path
    jobs: list[JobReport]
    executor: str
    seconds: float = 0.0
    interrupted: bool = False

    def count(self, status: JobStatus) -> int:
        return sum(1 for r in self.jobs if r.status == status)

    @property
    def failed(self) -> bool:
        return any(r.status in ("failed", "cancelled") for r in self.jobs)

    @property
    def audio_made(self) -> float:
        return sum(r.duration or 0.0 for r in self.jobs if r.status == "done")

    def to_json(self) -> dict[str, Any]:
        return {
            "manifest": self.manifest,
            "executor": self.executor,
            "seconds": round(self.seconds, 3),
            "interrupted": self.interrupted,
            "counts": {s: self.count(s) for s in ("done", "skipped", "failed", "cancelled")},
            "audio_seconds_made": round(self.audio_made, 3),
            "jobs": [r.to_json(self.folder) for r in self.jobs],
        }

    def write(self, path: Path) -> None:
        temp = path.with_name(f".{path.name}.part")
        temp.write_text(
            json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.replace(temp, path)


class BatchProgress:
    """What a batch tells its display; the default shows nothing."""

    def start(self, total: int, skipped: int) -> None: ...

    def finished(self, report: JobReport) -> None: ...


@dataclass
class _Prepared:
    """The jobs to run, with what the state needs to record them."""

    reports: list[JobReport]
    tasks: list[Task] = field(default_factory=list)
    stamps: dict[int, str] = field(default_factory=dict)


class _Routines:
    """Each routine of a batch loaded once (an error is the job's, not the batch's)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._loaded: dict[str, Routine | VoiceguideError] = {}
        self._digests: dict[str, str] = {}

    def get(self, source: str) -> Routine:
        if source not in self._loaded:
            try:
                self._loaded[source] = _load(source)
            except VoiceguideError as error:
                self._loaded[source] = error
        value = self._loaded[source]
        if isinstance(value, VoiceguideError):
            raise value
        return value

    def digest(self, source: str) -> str:
        if source not in self._digests:
            self._digests[source] = routine_digest(self.get(source))
        return self._digests[source]


def _load(source: str) -> Routine:
    from voiceguide.routine.builtins import resolve_routine
    from voiceguide.routine.loader import load_routine

    path = Path(source)
    if path.is_absolute():
        try:
            shown = os.path.relpath(path)
        except ValueError:
            shown = source
        if path.exists():
            return load_routine(path, display=shown if len(shown) < len(source) else source)
    return resolve_routine(source)


class _EngineVersions:
    def __init__(self) -> None:
        self._versions: dict[str, str] = {}

    def __call__(self, name: str) -> str:
        if name not in self._versions:
            from voiceguide.speech.base import create_engine

            try:
                engine = create_engine(name)
                try:
                    self._versions[name] = engine.version()
                finally:
                    engine.close()
            except VoiceguideError:
                self._versions[name] = "unavailable"  # the job will fail and say why
        return self._versions[name]


def prepare(manifest: Manifest, state: BatchState, *, force: bool = False) -> _Prepared:
    """Decide each job: skipped (up to date), failed (its routine cannot be loaded), or a
    task to run, ordered so that jobs running at once use different clips."""
    routines = _Routines(manifest.folder)
    versions = _EngineVersions()
    prepared = _Prepared([JobReport(job) for job in manifest.jobs])
    groups: dict[tuple[str, str], list[Task]] = {}
    for report in prepared.reports:
        job = report.job
        try:
            routine = routines.get(job.source)
        except VoiceguideError as error:
            report.status, report.error = "failed", describe_error(error)
            continue
        stamp = job_stamp(job, routines.digest(job.source), versions, engines_of(routine, job))
        prepared.stamps[job.number] = stamp
        if not force and state.up_to_date(job, stamp):
            report.status = "skipped"
            report.duration = state.entries[str(job.out)].get("duration")
            continue
        task = Task(
            job.number,
            routine,
            job.run.options,
            job.out,
            sample_rate=job.sample_rate,
            music=job.run.music,
            loudness=job.loudness,
            captions=job.captions,
            timeline=job.timeline,
            split=job.split,
            cache_dir=job.run.cache_dir,
            use_cache=job.run.use_cache,
        )
        voice = repr((job.run.options.overrides, job.run.options.defaults))
        groups.setdefault((job.source, voice), []).append(task)
    prepared.tasks = _interleave(groups.values())
    return prepared


def _interleave(groups: Iterable[list[Task]]) -> list[Task]:
    """Round-robin over groups of jobs sharing a routine and voice (paces share every clip):
    the jobs that start together synthesize different clips, later ones find them cached."""
    lists = [list(g) for g in groups]
    order: list[Task] = []
    while any(lists):
        for tasks in lists:
            if tasks:
                order.append(tasks.pop(0))
    return order


def run_batch(
    manifest: Manifest,
    executor: Executor,
    *,
    force: bool = False,
    progress: BatchProgress | None = None,
    executor_name: str = "local",
    report_path: Path | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> BatchReport:
    """Render every job of `manifest` that is not up to date; a failed job fails alone.

    The report is written to `report_path` (default: batch-report.json beside the manifest)
    even when interrupted; Ctrl-C then propagates after the workers are stopped."""
    started = clock()
    progress = progress or BatchProgress()
    state = BatchState.load(state_path(manifest.path, manifest.folder))
    prepared = prepare(manifest, state, force=force)
    report = BatchReport(manifest.path, manifest.folder, prepared.reports, executor_name)
    by_number = {r.job.number: r for r in prepared.reports}
    tasks = {t.number: t for t in prepared.tasks}
    progress.start(len(prepared.tasks) + report.count("failed"), report.count("skipped"))
    for job_report in prepared.reports:
        if job_report.status == "failed":
            progress.finished(job_report)
    try:
        for outcome in executor.run(prepared.tasks) if prepared.tasks else ():
            job_report = by_number[outcome.number]
            _apply(job_report, outcome, tasks[outcome.number])
            if job_report.status == "done":
                state.record(job_report.job, prepared.stamps[outcome.number], job_report.duration)
            else:
                state.forget(job_report.job)
            state.save()
            progress.finished(job_report)
    except KeyboardInterrupt:
        report.interrupted = True
        for job_report in report.jobs:
            if job_report.status == "pending":
                job_report.status = "cancelled"
        raise
    finally:
        report.seconds = clock() - started
        target = report_path or manifest.folder / REPORT_NAME
        with contextlib.suppress(OSError):  # the summary on screen still says it all
            report.write(target)
    return report


def _apply(report: JobReport, outcome: Outcome, task: Task) -> None:
    report.seconds = outcome.seconds
    report.warnings = outcome.warnings
    if outcome.status == "done" and outcome.files:
        try:
            write_files(task, outcome)
        except VoiceguideError as error:
            report.status, report.error = "failed", describe_error(error)
            return
    report.status = outcome.status
    report.duration = outcome.duration
    report.error = outcome.error


@dataclass(frozen=True)
class PlannedJob:
    job: Job
    status: Literal["render", "skip", "fail"]
    estimate: float | None  # seconds of audio, estimated from the text (cached clips exact)
    error: str | None = None


def dry_run(manifest: Manifest, *, force: bool = False) -> list[PlannedJob]:
    """What `run_batch` would do, with each track's estimated length; nothing is made."""
    from voiceguide.session import estimate_session

    state = BatchState.load(state_path(manifest.path, manifest.folder))
    prepared = prepare(manifest, state, force=force)
    queued = {t.number: t for t in prepared.tasks}
    planned = []
    for report in prepared.reports:
        job = report.job
        if report.status == "failed":
            planned.append(PlannedJob(job, "fail", None, report.error))
            continue
        task = queued.get(job.number)
        if task is None:  # skipped: its length is known
            planned.append(PlannedJob(job, "skip", report.duration))
            continue
        try:
            _, timeline = estimate_session(
                task.routine,
                job.run.options,
                cache_dir=job.run.cache_dir,
                use_cache=job.run.use_cache,
            )
        except VoiceguideError as error:
            planned.append(PlannedJob(job, "fail", None, describe_error(error)))
            continue
        planned.append(PlannedJob(job, "render", timeline.total))
    return planned


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)
