"""The Python API: load a routine, plan it, render it to audio files, play it live.

    import voiceguide
    routine = voiceguide.load("facial-massage")
    plan = voiceguide.plan(routine, pace=1.2, reps="max")
    voiceguide.render(routine, "massage.mp3", pace=1.2)

`plan`, `render` and `play` take the plan options as keywords (see `plan_options`); the
command line is a thin layer over the same `Run`. A value that cannot be used raises
`OptionError` (a `ValueError` and a `VoiceguideError`) before anything slow starts; an
unknown keyword is a `TypeError` naming it. Heavy modules (numpy, the engines, the sound
device) are imported only when a function needs them, so `import voiceguide` stays quick.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from voiceguide.errors import OptionError
from voiceguide.routine.durations import parse_duration
from voiceguide.routine.models import Music, Routine, VoiceSpec
from voiceguide.routine.spec import (
    DEFAULT_LOUDNESS,
    MAX_LOUDNESS,
    MAX_PACE,
    MAX_RATE,
    MAX_REPEAT,
    MIN_LOUDNESS,
    MIN_RATE,
    MUSIC_GENERATED,
    WAIT_DEFAULT_SECONDS,
)
from voiceguide.timeline import PlanOptions, Timeline

if TYPE_CHECKING:
    from voiceguide.clock import Clock
    from voiceguide.config import Config
    from voiceguide.control.commands import CommandSource
    from voiceguide.player import PlayResult
    from voiceguide.rendering import PhaseProgress, RenderResult
    from voiceguide.sound.device import Device
    from voiceguide.speech.synth import Synthesizer
    from voiceguide.status import StatusSink

Reps: TypeAlias = int | Literal["min", "max"]
PathArg: TypeAlias = str | os.PathLike[str]
RoutineRef: TypeAlias = Routine | str | os.PathLike[str]  # a loaded routine, a built-in, a path

MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000

__all__ = [
    "MAX_SAMPLE_RATE",
    "MIN_SAMPLE_RATE",
    "Reps",
    "RoutineRef",
    "Run",
    "check_fit",
    "check_loudness",
    "check_music",
    "check_pace",
    "check_rate",
    "check_reps",
    "check_sample_rate",
    "check_wait",
    "load",
    "loads",
    "plan",
    "plan_options",
    "play",
    "render",
]


# -- routines ----------------------------------------------------------------------------


def load(ref: RoutineRef) -> Routine:
    """A routine from a built-in name or a file path; RoutineError lists every problem."""
    from voiceguide.routine.builtins import resolve_routine
    from voiceguide.routine.loader import load_routine

    if isinstance(ref, (str, Routine)):
        return resolve_routine(ref)
    return load_routine(ref)  # a PathLike is a path, never a built-in's name


def loads(text: str, path: str = "<string>") -> Routine:
    """A routine from YAML text; `path` names it in problems (relative files: the cwd's)."""
    from voiceguide.routine.loader import parse_routine

    return parse_routine(text, path)


# -- options ------------------------------------------------------------------------------


def check_pace(pace: float) -> float:
    """`pace` as a float: a finite number above 0 and at most MAX_PACE."""
    try:
        number = float(pace)
    except (TypeError, ValueError):
        raise OptionError("pace", f"{pace!r} is not a number") from None
    if not (number > 0 and number <= MAX_PACE):  # also refuses nan
        raise OptionError("pace", f"{number:g} is not a number above 0 and at most {MAX_PACE}")
    return number


def check_reps(reps: Reps | str | None) -> Reps | None:
    """`reps` as a whole number from 1 to MAX_REPEAT, "min" or "max" (None: each step's own)."""
    if reps is None:
        return None
    text = str(reps).strip().lower()
    if text in ("min", "max"):
        return "min" if text == "min" else "max"
    if text.isdigit() and 1 <= int(text) <= MAX_REPEAT:
        return int(text)
    raise OptionError(
        "reps", f"{reps!r} is not a whole number from 1 to {MAX_REPEAT}, 'min' or 'max'"
    )


def check_rate(rate: int | None) -> int | None:
    """`rate` in words per minute, from MIN_RATE to MAX_RATE (None: the routine's)."""
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
        raise OptionError("rate", f"{rate!r} is not a whole number from {MIN_RATE} to {MAX_RATE}")
    return rate


def check_fit(fit: float | str | None) -> float | None:
    """`fit` in seconds: a number or a duration such as "12m" or "1:30", above zero."""
    if fit is None:
        return None
    return _positive_duration("fit", fit)


def _positive_duration(option: str, value: float | str) -> float:
    if isinstance(value, str):
        try:
            seconds = parse_duration(value)
        except ValueError as error:
            raise OptionError(option, str(error)) from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise OptionError(option, f"{value!r} is not a duration")
    if not (seconds > 0 and math.isfinite(seconds)):
        raise OptionError(option, "must be longer than zero")
    return seconds


def check_wait(wait: float | str | None) -> float:
    """`wait` in seconds (a number or a duration such as "30s"), above zero; None: the
    default, WAIT_DEFAULT_SECONDS."""
    if wait is None:
        return WAIT_DEFAULT_SECONDS
    return _positive_duration("wait", wait)


def check_music(music: str | PathArg | None) -> Music | None | Literal["routine"]:
    """`music` as a bed: None keeps the routine's, "none" is no bed, else a generated source
    or an audio file (relative to the current folder) that must decode."""
    if music is None:
        return "routine"
    text = os.fspath(music)
    name = text.strip().lower()
    if name == "none":
        return None
    if name in MUSIC_GENERATED:
        return Music(name)
    from voiceguide.routine.loader import audio_file_problem

    problem = audio_file_problem(Path(text), text)
    if problem is not None:  # "music file 'x' not found" -> "--music: 'x' not found"
        raise OptionError("music", problem.removeprefix("music file ").removeprefix("music "))
    return Music(str(Path(text).expanduser().resolve()))


def check_loudness(loudness: float | None) -> float | None:
    """`loudness` in LUFS, from MIN_LOUDNESS to MAX_LOUDNESS (None: leave the level as is)."""
    if loudness is None:
        return None
    try:
        number = float(loudness)
    except (TypeError, ValueError):
        raise OptionError("loudness", f"{loudness!r} is not a number") from None
    if not MIN_LOUDNESS <= number <= MAX_LOUDNESS:  # also refuses nan
        raise OptionError(
            "loudness", f"{number:g} is not from {MIN_LOUDNESS:g} to {MAX_LOUDNESS:g} LUFS"
        )
    return number


def check_sample_rate(rate: int | None) -> int | None:
    """`rate` in Hz, from MIN_SAMPLE_RATE to MAX_SAMPLE_RATE (None: the voice's own)."""
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int):
        raise OptionError("sample_rate", f"{rate!r} is not a whole number")
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise OptionError(
            "sample_rate", f"{rate} is not from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE} Hz"
        )
    return rate


@dataclass(frozen=True)
class Run:
    """What the plan options decided: the plan options, where clips are cached, the user's
    output folder. Its methods are what the functions below and the CLI commands call."""

    options: PlanOptions
    cache_dir: Path | None = None
    use_cache: bool = True
    output_dir: Path | None = None
    cache_limit: int | None = None  # bytes the cache keeps (None: the default, 500 MB)
    listen: bool = False  # `listen = true` in the config file: play obeys the voice
    # The music bed: the routine's ("routine"), none (None), or this one.
    music: Music | None | Literal["routine"] = "routine"

    def synthesizer(self) -> Synthesizer:
        """A speech synthesizer with this run's cache settings (close it, or use `with`)."""
        from voiceguide.speech.cache import DEFAULT_LIMIT
        from voiceguide.speech.synth import Synthesizer

        limit = DEFAULT_LIMIT if self.cache_limit is None else self.cache_limit
        return Synthesizer(cache_dir=self.cache_dir, use_cache=self.use_cache, cache_limit=limit)

    def describe_voice(self, routine: RoutineRef) -> str:
        """Which engine and voice speak the routine, and why (`piper en_US-joe-medium
        (auto: the best installed Piper voice …)`)."""
        from voiceguide.speech.auto import describe_voice

        loaded = load(routine)
        return describe_voice(
            self.options.voice(loaded),
            self.options.auto,
            ("in the configuration file", self.options.defaults),
            ("in the routine", loaded.voice),
            ("on the command line", self.options.overrides),
        )

    def plan(self, routine: RoutineRef, *, estimate: bool = False) -> Timeline:
        """The timeline from the real clip lengths (synthesized, cache first), or estimated
        from the text (`estimate`: instant, no engine)."""
        from voiceguide.session import estimate_session, prepare_session

        loaded = load(routine)
        if estimate:
            return estimate_session(
                loaded, self.options, cache_dir=self.cache_dir, use_cache=self.use_cache
            )[1]
        with self.synthesizer() as speech:
            return prepare_session(loaded, self.options, speech).timeline

    def render(
        self,
        routine: RoutineRef,
        out: PathArg | None = None,
        *,
        sample_rate: int | None = None,
        captions: PathArg | None = None,
        timeline: PathArg | None = None,
        split: PathArg | None = None,
        progress: PhaseProgress | None = None,
        loudness: float | None = DEFAULT_LOUDNESS,
    ) -> RenderResult:
        """Render to `out` (default: <output folder or audio>/<routine>.wav); see `render`."""
        from voiceguide.rendering import render_routine

        loaded = load(routine)
        with self.synthesizer() as speech:
            return render_routine(
                loaded,
                self.options,
                _path(out),
                speech=speech,
                output_dir=self.output_dir,
                sample_rate=check_sample_rate(sample_rate),
                captions=_path(captions),
                timeline_json=_path(timeline),
                split_dir=_path(split),
                progress=progress,
                music=self._music(loaded),
                loudness=check_loudness(loudness),
            )

    def describe_music(self, routine: RoutineRef) -> str | None:
        """The bed under the routine, in words (`rain, -20 dB under the voice, 10 dB lower
        while it speaks`), or None."""
        music = self._music(load(routine))
        if music is None:
            return None
        source = Path(music.source).name if os.sep in music.source else music.source
        return f"{source}, {-music.level:g} dB under the voice, {music.duck:g} dB lower while it speaks"

    def _music(self, routine: Routine) -> Music | None:
        """The bed for `routine`: its own, none, or ours with its level, duck and fade."""
        if self.music == "routine":
            return routine.music
        if self.music is None or routine.music is None:
            return self.music
        return replace(routine.music, source=self.music.source)

    def play(
        self,
        routine: RoutineRef,
        *,
        start: str | int | None = None,
        keys: bool | CommandSource = True,
        dry_run: bool = False,
        warn: Callable[[str], None] | None = None,
        device: Device | None = None,
        clock: Clock | None = None,
        status: StatusSink | None = None,
        listen: bool | None = None,
        mic: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> PlayResult:
        """Speak the routine live; see `play`. `progress(done, total)` follows the clips
        made before a session that needs them all (a music bed, --fit)."""
        from voiceguide.control.keys import TerminalKeys, terminal_keys_available
        from voiceguide.player import play_routine

        loaded = load(routine)
        commands: CommandSource | None
        if keys is True:
            commands = TerminalKeys() if terminal_keys_available() else None
        else:
            commands = keys or None
        if listen if listen is not None else (self.listen or mic is not None):
            from voiceguide.control.voice import listening

            commands, status = listening(commands, mic, status)  # no microphone: fails now
        with self.synthesizer() as speech:
            return play_routine(
                loaded,
                self.options,
                start_step=None if start is None else str(start),
                commands=commands,
                dry_run=dry_run,
                warn=warn,
                speech=speech,
                device=device,
                clock=clock,
                status=status,
                music=self._music(loaded),
                progress=progress,
            )


def plan_options(
    *,
    pace: float = 1.0,
    reps: Reps | str | None = None,
    rate: int | None = None,
    voice: str | None = None,
    engine: str | None = None,
    fit: float | str | None = None,
    wait: float | str | None = None,
    music: str | PathArg | None = None,
    cache_dir: PathArg | None = None,
    use_cache: bool = True,
    config: Config | None = None,
) -> Run:
    """Check every plan option and collect them over the user's configuration file.

    The one place a plan option is defined: `plan`, `render`, `play` and the command line's
    shared options all come here. `pace` multiplies the routine's pace; `reps` is a number,
    "min" or "max"; `rate` is words per minute; `voice` and `engine` override the routine's;
    `fit` (seconds or a duration like "12m") chooses the pace itself; `wait` (seconds or a
    duration) is how long every `wait: true` lasts where nobody can end it (a file, a
    session without keys; default 10 s); `music` overrides the routine's bed: "none", a
    generated source (brown-noise, pink-noise, rain) or an audio file; `config`: the file at `config_path()` unless given.
    OptionError for a value that cannot be used.
    """
    pace = check_pace(pace)
    checked_fit = check_fit(fit)
    if checked_fit is not None and pace != 1.0:
        raise OptionError("fit", "chooses the pace itself; do not combine it with {}", ("pace",))
    if config is None:
        from voiceguide.config import load_config

        config = load_config()
    from voiceguide.speech.auto import choose_auto

    options = PlanOptions(
        pace=pace,
        reps=check_reps(reps),
        fit=checked_fit,
        wait=check_wait(wait),
        defaults=config.voice_spec(),
        overrides=VoiceSpec(engine=engine, id=voice, rate=check_rate(rate)),
        auto=choose_auto(),
    )
    folder = Path(cache_dir) if cache_dir is not None else None
    return Run(
        options,
        folder,
        use_cache,
        config.output_dir,
        config.cache_limit,
        bool(config.listen),
        check_music(music),
    )


# -- the three things a routine is for ----------------------------------------------------


def plan(routine: RoutineRef, *, estimate: bool = False, **options: Any) -> Timeline:
    """Lay out ROUTINE: `.events` with exact times, `.total`, `.warnings`, `.to_json()`.

    Speech is synthesized (cache first) for its real lengths, or estimated from the text
    with `estimate=True`. Keywords: the plan options of `plan_options`."""
    return plan_options(**options).plan(routine, estimate=estimate)


def render(
    routine: RoutineRef,
    out: PathArg | None = None,
    *,
    sample_rate: int | None = None,
    captions: PathArg | None = None,
    timeline: PathArg | None = None,
    split: PathArg | None = None,
    progress: PhaseProgress | None = None,
    loudness: float | None = DEFAULT_LOUDNESS,
    **options: Any,
) -> RenderResult:
    """Render ROUTINE to `out` (.wav, .flac, .ogg or .mp3) with chapters; nothing is
    written unless everything succeeds.

    `sample_rate` in Hz (default: the voice's own); `captions` a .vtt or .srt file;
    `timeline` a plan JSON file of what was rendered; `split` a folder for one file per step
    pass and a playlist; `progress(phase, done, total)` is called during "synthesis" and
    "writing" (and "measuring", the loudness pass); `loudness`: the integrated loudness in
    LUFS the track is brought to (default -16; None keeps the clips' own level), true peaks
    at most -1 dBTP. Other keywords: the plan options of `plan_options` (`music=`...)."""
    run = plan_options(**options)
    return run.render(
        routine,
        out,
        sample_rate=sample_rate,
        captions=captions,
        timeline=timeline,
        split=split,
        progress=progress,
        loudness=loudness,
    )


def play(
    routine: RoutineRef,
    *,
    start: str | int | None = None,
    keys: bool | CommandSource = True,
    dry_run: bool = False,
    warn: Callable[[str], None] | None = None,
    device: Device | None = None,
    clock: Clock | None = None,
    status: StatusSink | None = None,
    listen: bool | None = None,
    mic: str | None = None,
    **options: Any,
) -> PlayResult:
    """Speak ROUTINE live, each cue on time; returns when it ends (or `q` stops it).

    `start`: a step's name or 1-based number; `keys`: read single keys from the terminal
    (when it is one), or a `CommandSource` to steer the session from elsewhere; `dry_run`: no sound, only the schedule and the status; `warn(text)`
    receives the plan's warnings; `device`, `clock`, `status`: the audio output, the time
    source and the status display (defaults: the sound card, the monotonic clock, stderr);
    `listen`: obey spoken commands from the microphone too (`mic`: a capture device's name
    or index; None: `listen` in the config file).
    Other keywords: the plan options of `plan_options`."""
    run = plan_options(**options)
    return run.play(
        routine,
        start=start,
        keys=keys,
        dry_run=dry_run,
        warn=warn,
        device=device,
        clock=clock,
        status=status,
        listen=listen,
        mic=mic,
    )


def _path(value: PathArg | None) -> Path | None:
    return None if value is None else Path(value)
