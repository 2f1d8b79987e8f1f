"""How a batch looks on a terminal: a progress bar while it runs, a table when it ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from voiceguide.batch.runner import BatchProgress, BatchReport, JobReport, PlannedJob
from voiceguide.routine.durations import format_duration


class RichProgress(BatchProgress):
    """Jobs done of those to run, hours of audio made, and how much faster than real time."""

    def __init__(self, bar: Any, task: Any) -> None:
        self._bar = bar
        self._task = task
        self._audio = 0.0

    def start(self, total: int, skipped: int) -> None:
        note = f" ({skipped} up to date)" if skipped else ""
        self._bar.update(self._task, total=total, description=f"rendering{note}")

    def finished(self, report: JobReport) -> None:
        if report.status == "done":
            self._audio += report.duration or 0.0
        self._bar.update(self._task, advance=1, audio=self._audio)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[BatchProgress | None]:
    """A rich progress bar on stderr, or None (quiet, or stderr is not a terminal)."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    class _Audio(TextColumn):
        def render(self, task: Any) -> Any:
            from rich.text import Text

            audio = task.fields.get("audio", 0.0)
            elapsed = task.elapsed or 0.0
            rate = f", {audio / elapsed:.0f}x real time" if elapsed > 1 and audio else ""
            return Text(f"{audio / 3600:.2f} h of audio{rate}")

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _Audio(""),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("rendering", total=None, audio=0.0)
        yield RichProgress(bar, task)


def summary_table(report: BatchReport) -> str:
    """One row per job that was not skipped, then the counts and the totals."""
    rows = [("job", "status", "time", "audio", "output")]
    for job in report.jobs:
        if job.status == "skipped":
            continue
        audio = format_duration(job.duration) if job.duration is not None else "-"
        rows.append(
            (
                str(job.job.number),
                job.status,
                f"{job.seconds:.1f}s",
                audio,
                _shown(job.job.out, report.folder),
            )
        )
    lines = []
    if len(rows) > 1:
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            lines.append(
                "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
            )
    for job in report.jobs:
        if job.error:
            first, *rest = job.error.splitlines()
            lines.append(f"job {job.job.number} ({_shown(job.job.out, report.folder)}): {first}")
            lines.extend(f"  {line}" for line in rest)
    counts = ", ".join(
        f"{report.count(s)} {s}"
        for s in ("done", "skipped", "failed", "cancelled")
        if report.count(s)
    )
    lines.append(
        f"{len(report.jobs)} jobs: {counts}; {format_duration(report.audio_made)} of audio made "
        f"in {format_duration(report.seconds)}"
    )
    return "\n".join(lines)


def dry_run_table(planned: list[PlannedJob], folder: Path) -> str:
    """The jobs a batch would run, each with its estimated length, and the total."""
    rows = [("job", "action", "length", "routine", "output")]
    total = 0.0
    for item in planned:
        length = (
            "-"
            if item.estimate is None
            else ("~" if item.status == "render" else "") + format_duration(item.estimate)
        )
        if item.status == "render" and item.estimate:
            total += item.estimate
        rows.append(
            (
                str(item.job.number),
                item.status,
                length,
                item.job.routine,
                _shown(item.job.out, folder),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    for item in planned:
        if item.error:
            lines.append(f"job {item.job.number}: {item.error.splitlines()[0]}")
    to_render = sum(1 for p in planned if p.status == "render")
    lines.append(
        f"{len(planned)} jobs, {to_render} to render: about {format_duration(total)} "
        f"({total / 3600:.2f} h) of audio"
    )
    return "\n".join(lines)


def _shown(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder))
    except ValueError:
        return str(path)
