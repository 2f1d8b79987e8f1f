"""Command-line interface: thin Click commands over the core modules."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from voiceguide import __version__, api
from voiceguide.api import Run
from voiceguide.errors import LocatedError, OptionError, Terminated, VoiceguideError, one_line
from voiceguide.routine.durations import format_duration
from voiceguide.routine.spec import MAX_PACE, MAX_RATE, MIN_RATE
from voiceguide.timeline import PlanOptions, Timeline

if TYPE_CHECKING:
    from voiceguide.speech.base import VoiceInfo

__all__ = ["Run", "main", "report"]

# -- error mapping -------------------------------------------------------------


def report(error: VoiceguideError) -> None:
    """One line per problem on stderr (`PATH:LINE:COL: error: ...` when located); never a
    traceback."""
    if isinstance(error, LocatedError):
        for problem in error.problems:
            click.echo(str(problem), err=True)
    else:
        click.echo(f"error: {one_line(str(error))}", err=True)


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
        try:
            return super().invoke(ctx)
        except VoiceguideError as error:
            report(error)
            ctx.exit(error.exit_code)
        except Terminated:
            click.echo("terminated", err=True)
            ctx.exit(143)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


# -- option types --------------------------------------------------------------


class Checked(click.ParamType):
    """Text converted by click's `base` type, then checked by the API's check for the same
    option: one rule, and one message, for the command line and for Python callers."""

    def __init__(self, base: click.ParamType, check: Callable[[Any], Any], name: str = ""):
        self.base = base
        self.check = check
        self.name = name or base.name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self.check(self.base.convert(value, param, ctx))
        except OptionError as error:
            self.fail(error.explain(flag), param, ctx)


def flag(keyword: str) -> str:
    """The command-line spelling of an API keyword: `cache_dir` -> `--cache-dir`."""
    return "--" + keyword.replace("_", "-")


# The keywords of `api.plan_options` that the shared options below set (all but config).
_PLAN_KEYWORDS = set(inspect.signature(api.plan_options).parameters) - {"config"}


def shared_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The options shared by plan, render and play, collected by `api.plan_options` into
    `run: Run`. Each option's destination is its `plan_options` keyword.

    Voice settings resolve, lowest first: built-in defaults, the user's config file, the
    routine, the step, these options."""

    @click.option(
        "--pace",
        type=Checked(click.FLOAT, api.check_pace),
        default=1.0,
        show_default=True,
        help=f"Multiply the routine's pace: 2 halves every silence (at most {MAX_PACE}).",
    )
    @click.option(
        "--reps",
        type=Checked(click.STRING, api.check_reps, "N|min|max"),
        default=None,
        help="Repetitions of every repeating step: a number, or min/max of each range.",
    )
    @click.option(
        "--rate",
        type=Checked(click.INT, api.check_rate),
        default=None,
        help=f"Speech rate in words per minute, {MIN_RATE}-{MAX_RATE} (overrides the routine).",
    )
    @click.option("--voice", default=None, help="Voice id (see `voiceguide voices`).")
    @click.option("--engine", default=None, help="Speech engine: pyttsx3 or piper.")
    @click.option(
        "--fit",
        type=Checked(click.STRING, api.check_fit, "duration"),
        default=None,
        help="Choose the pace so the routine lasts exactly this long (e.g. 12m).",
    )
    @click.option(
        "--wait",
        type=Checked(click.STRING, api.check_wait, "duration"),
        default=None,
        help="Length of every `wait: true` where nobody can end it: in a file, or when "
        "playing without keys [default: 10s].",
    )
    @click.option(
        "--music",
        metavar="SOURCE|none",
        default=None,
        help="Music bed under the voice: brown-noise, pink-noise, rain, an audio file, or "
        "none (overrides the routine's).",
    )
    @click.option(
        "--cache-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder for synthesized clips [default: the user cache folder].",
    )
    @click.option(
        "--no-cache",
        "use_cache",
        is_flag=True,
        flag_value=False,
        default=True,
        help="Synthesize every clip afresh; keep nothing.",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        keywords = {name: kwargs.pop(name) for name in _PLAN_KEYWORDS}
        try:
            run = api.plan_options(**keywords)
        except OptionError as error:
            raise click.UsageError(f"{flag(error.option)} {error.explain(flag)}") from None
        return command(*args, run=run, **kwargs)

    return wrapper


# -- commands ------------------------------------------------------------------

# `check` and `list` estimate with the built-in voice, whatever the user's config says.
_ESTIMATE = Run(PlanOptions())


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voiceguide")
def main() -> None:
    """Voice-guided routines: speak a YAML routine live, or render it to audio files."""


@main.command()
@click.argument("routines", nargs=-1, required=True)
def check(routines: tuple[str, ...]) -> None:
    """Validate routine files (paths or built-in names); report every problem."""
    failed = False
    for ref in routines:
        try:
            routine = api.load(ref)
            timeline = _ESTIMATE.plan(routine, estimate=True)
        except VoiceguideError as error:
            report(error)
            failed = True
            continue
        click.echo(f"{ref}: ok: {summary(routine.title, timeline)}")
    if failed:
        sys.exit(1)


@main.command()
@click.argument("routine")
@shared_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--estimate",
    is_flag=True,
    help="Estimate speech lengths (cached clips exact, others from a calibrated model) instead of synthesizing.",
)
def plan(routine: str, run: Run, as_json: bool, estimate: bool) -> None:
    """Show every cue with its start time, and the total duration."""
    timeline = run.plan(routine, estimate=estimate)
    for warning in timeline.warnings:
        click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(timeline.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(plan_table(timeline))


@main.command(name="list")
def list_routines() -> None:
    """List the built-in routines."""
    from voiceguide.routine.builtins import builtin_names

    for name in builtin_names():
        routine = api.load(name)
        timeline = _ESTIMATE.plan(routine, estimate=True)
        click.echo(f"{name:<22} {routine.title} (about {format_duration(timeline.total)})")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def new(file: Path, force: bool) -> None:
    """Write a commented starter routine to FILE."""
    from voiceguide.routine.starter import write_starter

    write_starter(file, force=force)
    click.echo(f"wrote {file}; try: voiceguide plan {file}")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the routine format."""
    from voiceguide.routine.schema import routine_schema

    click.echo(json.dumps(routine_schema(), indent=2))


# -- render ------------------------------------------------------------------------------


@main.command(name="render")
@click.argument("routine")
@shared_options
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output file; .wav, .flac, .ogg or .mp3 [default: audio/<routine>.wav].",
)
@click.option(
    "--sample-rate",
    type=Checked(click.INT, api.check_sample_rate),
    default=None,
    help=f"Sample rate in Hz, {api.MIN_SAMPLE_RATE}-{api.MAX_SAMPLE_RATE} "
    "[default: the voice's own].",
)
@click.option(
    "--captions",
    type=click.Path(path_type=Path),
    help="Also write captions (.vtt or .srt): one per spoken cue.",
)
@click.option(
    "--timeline",
    "timeline_json",
    type=click.Path(path_type=Path),
    help="Also write the plan JSON of exactly what was rendered.",
)
@click.option(
    "--split",
    "split_dir",
    type=click.Path(path_type=Path),
    help="Also write one file per step pass and a playlist.m3u8 into this folder.",
)
@click.option(
    "--loudness",
    metavar="LUFS",
    type=Checked(click.FLOAT, api.check_loudness),
    default=-16.0,
    show_default=True,
    help="Integrated loudness (ITU-R BS.1770) of the track; true peaks stay under -1 dBTP.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def render_command(
    routine: str,
    run: Run,
    out: Path | None,
    sample_rate: int | None,
    captions: Path | None,
    timeline_json: Path | None,
    split_dir: Path | None,
    loudness: float,
    quiet: bool,
) -> None:
    """Render ROUTINE to an audio file, with chapters, optional captions and per-step tracks."""
    with _progress_bar(quiet) as progress:
        result = run.render(
            routine,
            out,
            sample_rate=sample_rate,
            captions=captions,
            timeline=timeline_json,
            split=split_dir,
            progress=progress,
            loudness=loudness,
        )
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    size = f"{result.bytes / 1e6:.1f} MB" if result.bytes >= 1e5 else f"{result.bytes / 1e3:.1f} kB"
    click.echo(f"{result.path}  {format_duration(result.duration)}  {size}")


@contextlib.contextmanager
def _progress_bar(quiet: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar on stderr (synthesis, then writing) only when it is a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                tasks[phase] = bar.add_task(phase, total=total)
            bar.update(tasks[phase], completed=done, total=total)

        yield update


# -- play --------------------------------------------------------------------------------


@main.command(name="play")
@click.argument("routine")
@shared_options
@click.option("--from", "from_step", metavar="STEP", help="Start at this step (name or number).")
@click.option("--no-keys", is_flag=True, help="Ignore the keyboard (for use from scripts).")
@click.option("--dry-run", is_flag=True, help="Print the events at their times; play no sound.")
def play_command(
    routine: str, run: Run, from_step: str | None, no_keys: bool, dry_run: bool
) -> None:
    """Speak ROUTINE live, each cue on time. Keys: space pause/resume, n next step,
    p restart step (twice: previous), r repeat cue, + / - pace, q quit; at a wait,
    n, space or Enter go on."""

    def warn(text: str) -> None:
        click.echo(f"warning: {text}", err=True)

    result = run.play(routine, start=from_step, keys=not no_keys, dry_run=dry_run, warn=warn)
    click.echo(f"{result.status} after {format_duration(result.elapsed)}")


# -- config ------------------------------------------------------------------------------


@main.command(name="config")
def show_config() -> None:
    """Show the configuration file's path and the effective defaults (and where each comes from)."""
    from voiceguide.config import describe, load_config

    click.echo(describe(load_config()))


# -- output helpers --------------------------------------------------------------


def summary(title: str, timeline: Timeline) -> str:
    steps = sum(1 for p in timeline.parts if p.kind == "step")
    cues = sum(1 for e in timeline.events if e.kind == "speech")
    approx = "~" if timeline.estimated else ""
    return f"{title}: {steps} step passes, {cues} cues, {approx}{format_duration(timeline.total)}"


def plan_table(timeline: Timeline) -> str:
    rows = [f"{'start':>9}  {'step':<24} {'side':<8} {'rep':>4}  text"]
    for event in timeline.events:
        if event.kind == "silence":
            continue
        if event.kind == "wait":
            text = "(wait until ready)" if event.until_ready else "(wait)"
        else:
            text = event.text or "" if event.kind == "speech" else f"({event.text})"
        rows.append(
            f"{format_duration(event.start):>9}  {(event.step or '')[:24]:<24} "
            f"{(event.side or '')[:8]:<8} {event.rep or '':>4}  {text}"
        )
    approx = " (estimated)" if timeline.estimated else ""
    rows.append(f"total {format_duration(timeline.total)}{approx}, pace {timeline.pace:g}")
    return "\n".join(rows)


# -- speech ------------------------------------------------------------------------------


@main.command()
@click.option("--engine", default=None, help="Speech engine to list [default: the configured one].")
@click.option("--json", "as_json", is_flag=True, help="Print the voices as JSON.")
def voices(engine: str | None, as_json: bool) -> None:
    """List the voices of a speech engine: id, name, language, gender (Piper: sample rate)."""
    from voiceguide.config import load_config
    from voiceguide.routine.models import resolve_voice
    from voiceguide.speech.synth import list_voices, no_voices_hint

    engine_name = engine or resolve_voice(load_config().voice_spec()).engine
    listed = list_voices(engine_name)
    for broken in (v for v in listed if v.problem):
        click.echo(f"warning: {one_line(broken.problem)}", err=True)
    found = [v for v in listed if not v.problem]
    if not found:
        # Finding nothing is an answer, not a failure: say where voices come from.
        click.echo(one_line(no_voices_hint(engine_name)), err=True)
    keys = ["id", "name", "language", "gender"]
    if any(v.sample_rate for v in found):
        keys.append("sample_rate")
    if as_json:
        rows = [{k: getattr(v, k) for k in keys} for v in found]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    elif found:
        click.echo(voices_table(found, keys))


def voices_table(found: list[VoiceInfo], keys: list[str]) -> str:
    """One row per voice, each column as wide as its longest cell."""
    titles = {"sample_rate": "sample rate"}
    cells = [[str(getattr(v, k) or "") for k in keys] for v in found]
    header = [titles.get(k, k) for k in keys]
    widths = [max(len(row[i]) for row in [header, *cells]) for i in range(len(keys))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *cells]
    )


_CACHE_DIR = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Clip cache folder (default: the user cache folder).",
)


@main.group()
@_CACHE_DIR
@click.pass_context
def cache(ctx: click.Context, cache_dir: Path | None) -> None:
    """Inspect or empty the cache of synthesized speech clips."""
    ctx.obj = cache_dir


@cache.command(name="info")
@_CACHE_DIR
@click.pass_context
def cache_info_command(ctx: click.Context, cache_dir: Path | None) -> None:
    """Show the cache's location, number of clips and size."""
    from voiceguide.speech.synth import cache_info, default_cache_dir

    info = cache_info(cache_dir or ctx.obj or default_cache_dir())
    click.echo(f"location: {info.location}")
    click.echo(f"entries:  {info.entries}")
    click.echo(f"size:     {info.bytes / 1e6:.1f} MB")


@cache.command(name="clear")
@_CACHE_DIR
@click.pass_context
def cache_clear_command(ctx: click.Context, cache_dir: Path | None) -> None:
    """Delete every cached clip."""
    from voiceguide.speech.synth import cache_clear, default_cache_dir

    folder = cache_dir or ctx.obj or default_cache_dir()
    click.echo(f"removed {cache_clear(folder)} clips from {folder}")
