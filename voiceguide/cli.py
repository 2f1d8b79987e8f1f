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
from voiceguide.errors import (
    Interrupted,
    LocatedError,
    OptionError,
    Terminated,
    VoiceguideError,
    one_line,
)
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


# A closed terminal or a lost SSH session (SIGHUP) stops a run like SIGTERM does: every
# temporary file is removed on the way out.
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _tolerant_streams() -> None:
    """Replace what stdout and stderr cannot encode (a title's "—" on a Latin-1 or ASCII
    terminal) instead of failing with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(Exception):  # a stream that cannot change keeps its own
                reconfigure(errors="replace")


class _Group(click.Group):
    def main(self, *args: Any, **kwargs: Any) -> Any:
        _tolerant_streams()
        if hasattr(signal, "SIGXFSZ") and threading.current_thread() is threading.main_thread():
            # Over `ulimit -f` a write fails with EFBIG ("File too large", one line) instead
            # of the signal ending the process without a word.
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for number in _STOP_SIGNALS:
                previous[number] = signal.signal(number, _on_sigterm)
        try:
            return super().invoke(ctx)
        except Interrupted:
            click.echo("interrupted", err=True)  # the same word as Ctrl-C during a render
            ctx.exit(130)
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
            for number, handler in previous.items():
                signal.signal(number, handler)


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
    @click.option(
        "--engine",
        default=None,
        help="Speech engine: auto (Piper with the best installed Piper voice, else pyttsx3), "
        "pyttsx3 (eSpeak NG) or piper [default: auto].",
    )
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


def complete_routine(
    ctx: click.Context, param: click.Parameter, incomplete: str
) -> list[click.shell_completion.CompletionItem]:
    """Shell completion of ROUTINE: the built-in names that fit, else file names."""
    from click.shell_completion import CompletionItem

    from voiceguide.routine.builtins import builtin_names

    names = [name for name in builtin_names() if name.startswith(incomplete)]
    if names and "/" not in incomplete:
        return [CompletionItem(name) for name in names]
    return [CompletionItem(incomplete, type="file")]


# -- commands ------------------------------------------------------------------


def _estimate_run() -> Run:
    """`check` and `list` estimate with the default voice (auto), whatever the config says."""
    from voiceguide.speech.auto import choose_auto

    return Run(PlanOptions(auto=choose_auto()))


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voiceguide")
def main() -> None:
    """Voice-guided routines: speak a YAML routine live, or render it to audio files."""


@main.command()
@click.argument("routines", nargs=-1, required=True, shell_complete=complete_routine)
def check(routines: tuple[str, ...]) -> None:
    """Validate routine files (paths or built-in names); report every problem."""
    failed = False
    estimate = _estimate_run()
    for ref in routines:
        try:
            routine = api.load(ref)
            timeline = estimate.plan(routine, estimate=True)
        except VoiceguideError as error:
            report(error)
            failed = True
            continue
        click.echo(f"{ref}: ok: {summary(routine.title, timeline)}")
    if failed:
        sys.exit(1)


@main.command()
@click.argument("routine", shell_complete=complete_routine)
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

    estimate = _estimate_run()
    for name in builtin_names():
        routine = api.load(name)
        timeline = estimate.plan(routine, estimate=True)
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
@click.option("--batch", is_flag=True, help="The batch manifest's schema instead.")
def schema(batch: bool) -> None:
    """Print the JSON Schema of the routine format (or of a batch manifest)."""
    if batch:
        from voiceguide.batch.schema import batch_schema

        click.echo(json.dumps(batch_schema(), indent=2))
        return
    from voiceguide.routine.schema import routine_schema

    click.echo(json.dumps(routine_schema(), indent=2))


# -- render ------------------------------------------------------------------------------


@main.command(name="render")
@click.argument("routine", shell_complete=complete_routine)
@shared_options
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Output file; .wav, .flac, .ogg or .mp3, or .html for the player page with the "
    "track inside [default: audio/<routine>.wav].",
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


# -- batch -------------------------------------------------------------------------------


@main.command(name="batch")
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=None,
    help="Local worker processes [default: one per core].",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    default=None,
    help="Run the jobs on this Dask scheduler (e.g. tcp://host:8786) instead.",
)
@click.option(
    "--dry-run", is_flag=True, help="List the jobs and their estimated length; render nothing."
)
@click.option("--force", is_flag=True, help="Render every job, even those up to date.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Clip cache folder (on each worker) [default: the user cache folder].",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the JSON report [default: batch-report.json beside MANIFEST].",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def batch_command(
    manifest: Path,
    workers: int | None,
    scheduler: str | None,
    dry_run: bool,
    force: bool,
    cache_dir: Path | None,
    report_path: Path | None,
    quiet: bool,
) -> None:
    """Render every job of a batch MANIFEST (routines x voices x paces), skipping outputs
    already made from the same inputs. See `voiceguide schema --batch`."""
    from voiceguide import batch
    from voiceguide.batch.display import dry_run_table, progress_bar, summary_table

    if workers is not None and scheduler is not None:
        raise click.UsageError("--workers is for the local pool; a Dask cluster has its own")
    loaded = batch.load_manifest(manifest, cache_dir=cache_dir)
    if dry_run:
        click.echo(dry_run_table(batch.dry_run(loaded, force=force), loaded.folder))
        return
    executor: batch.LocalPool | batch.DaskCluster
    if scheduler is not None:
        executor, name = batch.DaskCluster(scheduler), f"dask {scheduler}"
    else:
        executor = batch.LocalPool(workers)
        name = f"local, {executor.workers} workers"
    with progress_bar(not quiet and sys.stderr.isatty()) as progress:
        report = batch.run_batch(
            loaded,
            executor,
            force=force,
            progress=progress,
            executor_name=name,
            report_path=report_path,
        )
    click.echo(summary_table(report))
    if report.failed:
        sys.exit(1)


# -- play --------------------------------------------------------------------------------


@main.command(name="play")
@click.argument("routine", shell_complete=complete_routine)
@shared_options
@click.option("--from", "from_step", metavar="STEP", help="Start at this step (name or number).")
@click.option("--no-keys", is_flag=True, help="Ignore the keyboard (for use from scripts).")
@click.option("--dry-run", is_flag=True, help="Print the events at their times; play no sound.")
@click.option(
    "--listen/--no-listen",
    default=None,
    help="Obey spoken commands (next, back, pause, resume, repeat, slower, faster) "
    "[default: `listen` in the config file].",
)
@click.option("--mic", metavar="DEVICE", help="Microphone to listen on (implies --listen).")
def play_command(
    routine: str,
    run: Run,
    from_step: str | None,
    no_keys: bool,
    dry_run: bool,
    listen: bool | None,
    mic: str | None,
) -> None:
    """Speak ROUTINE live, each cue on time. Keys: space pause/resume, n next step,
    p restart step (twice: previous), r repeat cue, + / - pace, q quit; at a wait,
    n, space or Enter go on."""

    from voiceguide.status import TerminalStatus, default_status

    status = default_status()
    warned: set[str] = set()

    def warn(text: str) -> None:
        # Once each; on a terminal on its own line above the status line, never inside it.
        if isinstance(status, TerminalStatus):
            status.warning(text)
        elif text not in warned:
            warned.add(text)
            click.echo(f"warning: {text}", err=True)

    if sys.stderr.isatty():  # above the live status line: which voice speaks, and why
        click.echo(f"voice: {run.describe_voice(routine)}", err=True)
        music = None if dry_run else run.describe_music(routine)
        if music is not None:
            click.echo(f"music: {music}", err=True)
    result = run.play(
        routine,
        start=from_step,
        keys=not no_keys,
        dry_run=dry_run,
        warn=warn,
        status=status,
        listen=listen,
        mic=mic,
        progress=None if dry_run else _voice_bar(),
    )
    click.echo(f"{result.status} after {format_duration(result.elapsed)}")


def _voice_bar() -> Callable[[int, int], None] | None:
    """On a terminal, a progress bar for clips made before a session starts; it shows only
    while some are still to make, and is gone before the session's own screen begins."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    from rich.progress import Progress

    bar = Progress(console=Console(stderr=True), transient=True)
    task: list[Any] = []

    def update(done: int, total: int) -> None:
        if done < total and not task:
            bar.start()
            task.append(bar.add_task("making speech", total=total))
        if task:
            bar.update(task[0], completed=done, total=total)
            if done >= total:
                bar.stop()
                task.clear()

    return update


# -- serve -------------------------------------------------------------------------------


@main.command(name="serve")
@click.argument("routines", nargs=-1)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; 0.0.0.0 lets phones on the network in.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port (0: any free one).",
)
def serve_command(routines: tuple[str, ...], host: str, port: int) -> None:
    """Serve the player page for a phone's browser: the built-ins and ROUTINES (files or
    folders). Prints the address and a QR code; Ctrl-C stops it."""
    import importlib.util

    if not all(importlib.util.find_spec(m) for m in ("starlette", "uvicorn", "segno")):
        raise click.ClickException("serve needs the serve extra: pip install 'voiceguide[serve]'")
    from voiceguide.web.server import serve

    serve(routines, host=host, port=port, echo=click.echo)


# -- listen ------------------------------------------------------------------------------


@main.command(name="listen")
@click.option("--mic", metavar="DEVICE", help="Microphone to listen on [default: the system's].")
@click.option(
    "--file",
    "audio_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read this audio file (WAV, FLAC, OGG, MP3) instead of a microphone.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of what was heard.")
def listen_command(mic: str | None, audio_file: Path | None, as_json: bool) -> None:
    """Print each spoken command heard: `MM:SS.mmm COMMAND` (time from the start of the
    input). A microphone check (until Ctrl-C) and a test tool (--file)."""
    from voiceguide.control.listen import listen_file, listen_microphone
    from voiceguide.control.recognize import Heard
    from voiceguide.status import stamp

    if mic is not None and audio_file is not None:
        raise click.UsageError("--mic and --file cannot be combined")

    def show(heard: Heard) -> None:
        if not as_json:
            click.echo(f"{stamp(heard.start)} {heard.name}")

    found: list[Heard] = []

    def keep(heard: Heard) -> None:
        found.append(heard)
        show(heard)

    try:
        if audio_file is not None:
            found = listen_file(audio_file, show)
        else:
            listen_microphone(mic, keep)
    finally:
        if as_json:
            click.echo(json.dumps([heard.to_json() for heard in found]))


# -- config ------------------------------------------------------------------------------


@main.command(name="config")
def show_config() -> None:
    """Show the configuration file's path and the effective defaults (and where each comes from)."""
    from voiceguide.config import describe, load_config

    config = load_config()
    click.echo(describe(config, _speaks(config)))


def _speaks(config: Any) -> str:
    """Which engine and voice a routine that names none speaks with, and why."""
    from voiceguide.routine.models import resolve_voice
    from voiceguide.speech.auto import choose_auto, describe_voice

    auto = choose_auto()
    spec = config.voice_spec()
    return describe_voice(resolve_voice(spec, auto=auto), auto, ("in the configuration file", spec))


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
    from voiceguide.routine.models import VoiceSpec, resolve_voice
    from voiceguide.speech.auto import choose_auto
    from voiceguide.speech.synth import list_voices, no_voices_hint

    config = load_config()
    if engine is None or engine == "auto":
        engine_name = resolve_voice(config.voice_spec(), auto=choose_auto()).engine
        # Say which voice speaks by default, and why, above the list (stdout stays the list).
        click.echo(f"in use: {_speaks(config)}", err=True)
    else:
        engine_name = resolve_voice(VoiceSpec(engine=engine)).engine
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
    """Show the cache's location, number of clips, size and size limit."""
    from voiceguide.config import format_size, load_config
    from voiceguide.speech.cache import DEFAULT_LIMIT
    from voiceguide.speech.synth import cache_info, default_cache_dir

    configured = load_config().cache_limit
    limit = DEFAULT_LIMIT if configured is None else configured
    info = cache_info(cache_dir or ctx.obj or default_cache_dir(), limit)
    click.echo(f"location: {info.location}")
    click.echo(f"entries:  {info.entries}")
    click.echo(f"size:     {info.bytes / 1e6:.1f} MB")
    source = "config" if configured is not None else "default"
    click.echo(f"limit:    {format_size(limit)} [{source}] (most recently used clips kept)")


@cache.command(name="clear")
@_CACHE_DIR
@click.pass_context
def cache_clear_command(ctx: click.Context, cache_dir: Path | None) -> None:
    """Delete every cached clip (only in a folder marked as a voiceguide cache)."""
    from voiceguide.speech.synth import cache_clear, default_cache_dir

    folder = cache_dir or ctx.obj or default_cache_dir()
    click.echo(f"removed {cache_clear(folder)} clips from {folder}")
