"""The layout: one walk over the routine placing every event on a running clock. Pure.

This is the single place where times are computed; `plan`, `render` and `play` all
read the `Timeline` it returns.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from voiceguide.cue import Cue
from voiceguide.errors import LimitError, LocatedPlanError, Problem
from voiceguide.routine.durations import format_duration
from voiceguide.routine.models import (
    AutoChoice,
    Routine,
    Step,
    Text,
    Voice,
    VoiceSpec,
    resolve_voice,
)
from voiceguide.routine.spec import MAX_EVENTS, MAX_TOTAL_SECONDS, WAIT_DEFAULT_SECONDS
from voiceguide.routine.templates import fill
from voiceguide.timeline.fit import Measure, choose_reps, pace_warnings, solve_pace

EventKind = Literal["speech", "silence", "tone", "wait"]
PartKind = Literal["intro", "step", "outro"]
Overrun = Literal["raise", "stop", "continue"]


# Length in seconds of a cue's (trimmed) audio.
LengthFn = Callable[[Cue], float]

# Repetitions of the repeating steps: `--reps` (a count for every step, or each range's low
# or high end), or a count per step name as --fit chooses them; None: each range's low end.
Reps = int | Literal["min", "max"] | Mapping[str, int] | None


@dataclass(frozen=True)
class Event:
    start: float
    end: float
    kind: EventKind
    text: str | None = None
    step: str | None = None
    side: str | None = None
    rep: int | None = None
    part: int = 0  # index into Timeline.parts; a gap belongs to the part before it
    cue: Cue | None = None
    # Place in its part among every event the layout may place there, the same at any pace
    # (a silence that lasts nothing at this pace keeps its number): how an event is found
    # again when the rest of a session is laid out anew.
    order: int = 0
    until_ready: bool = False  # a `wait: true`: live, it lasts until the person goes on

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def sounds(self) -> bool:
        """Whether something is heard (speech or a tone); silences and waits are quiet."""
        return self.kind in ("speech", "tone")

    @property
    def position(self) -> Position:
        return (self.part, self.order)


# (part, order): where an event sits in the routine, whatever the pace.
Position = tuple[int, int]


@dataclass(frozen=True)
class Part:
    """The intro, one pass of a step (one per side), or the outro."""

    index: int
    kind: PartKind
    title: str  # "Intro", "Cleanse", "Under-eye roll (left)"
    start: float
    end: float  # end of its own content; the following gap is not included
    step: str | None = None
    step_number: int | None = None  # 1-based position of the step in the routine
    side: str | None = None


@dataclass(frozen=True)
class PlanOptions:
    """Per-run adjustments shared by plan, render and play."""

    pace: float = 1.0
    reps: Reps = None
    fit: float | None = None  # target total in seconds
    wait: float = WAIT_DEFAULT_SECONDS  # length of a `wait: true` where nothing can end it
    defaults: VoiceSpec = field(default_factory=VoiceSpec)  # from the user's config
    overrides: VoiceSpec = field(default_factory=VoiceSpec)  # from the command line
    auto: AutoChoice = field(default_factory=AutoChoice)  # what `engine: auto` means here

    def voice(self, routine: Routine, step: Step | None = None) -> Voice:
        """The voice that speaks `step` (None: the intro and outro), every layer resolved."""
        layers = (self.defaults, routine.voice, *((step.voice,) if step else ()), self.overrides)
        return resolve_voice(*layers, auto=self.auto)


@dataclass(frozen=True)
class Timeline:
    title: str
    events: tuple[Event, ...]
    parts: tuple[Part, ...]
    pace: float
    total: float
    estimated: bool = False
    warnings: tuple[str, ...] = ()
    # What it was laid out with, as plain options: a fit's repetitions and pace, no target.
    # Laying the rest out again live (timeline.schedule) starts from these.
    options: PlanOptions | None = None
    voice: Voice | None = None  # the routine's voice (intro, outro, steps without their own)

    def to_json(self) -> dict[str, object]:
        """The plan JSON: times in seconds, events contiguous from 0 to total."""
        return {
            "title": self.title,
            "engine": self.voice.engine if self.voice else None,
            "voice": self.voice.id if self.voice else None,
            "total": _seconds(self.total),
            "pace": self.pace,
            "estimated": self.estimated,
            "warnings": list(self.warnings),
            "events": [
                {
                    "start": _seconds(e.start),
                    "end": _seconds(e.end),
                    "kind": e.kind,
                    "text": e.text,
                    "step": e.step,
                    "side": e.side,
                    "rep": e.rep,
                    **({"until_ready": e.until_ready} if e.kind == "wait" else {}),
                }
                for e in self.events
            ],
        }


def base_pace(routine: Routine, options: PlanOptions) -> float:
    """The pace every written silence is divided by: the routine's times the run's."""
    return options.pace * routine.pace


def wait_seconds(step: Step, options: PlanOptions) -> float:
    """Written length of a step's wait (before pace): its limit, or `--wait` for `true`."""
    if step.wait is None:
        return 0.0
    return step.wait.limit if step.wait.limit is not None else options.wait


def _seconds(t: float) -> float:
    # Microseconds are far below anything audible and keep the JSON readable.
    return round(t, 6)


# ---------------------------------------------------------------------------
# Building


def effective_reps(step: Step, reps: Reps) -> int:
    """Repetitions of a step under `--reps` or the counts --fit chose (a step they do not
    name takes its range's low end); steps that do not repeat stay at one pass."""
    if not step.repeats:
        return 0
    low, high = step.repeat or (1, 1)
    if reps == "max":
        return high
    if isinstance(reps, Mapping):
        return reps.get(step.name, low)
    if reps is None or reps == "min":
        return low
    return reps


def check_size(routine: Routine, options: PlanOptions, length: LengthFn) -> None:
    """Refuse, before any layout, a routine over the events or the 24-hour limit.

    Both counts are lower bounds, so a routine within the limits is never refused here:
    they count only events certain to exist (every sound; a silence only where its length
    is known to be positive) and only written silences. The layout's own exact checks
    catch the rest, which is at most the silences a slot's text might fill.
    """
    problems = []
    # First as if every text were silent, which counts every silence a text could leave: an
    # upper bound. Only a routine that might be over the limit pays for real lengths (which
    # may mean synthesis; play starts before most clips exist).
    events = _count_events(routine, options, lambda cue: 0.0)
    if events is not None:
        events = _count_events(routine, options, length)
    if events is not None:
        step = events
        problems.append(
            Problem(
                routine.path,
                step.line,
                step.column,
                f"the routine would have more than {MAX_EVENTS} events by the end of step "
                f"'{step.name}'; reduce repeat or --reps",
            )
        )
    if options.fit is None:
        pace = base_pace(routine, options)
        seconds = {step: _written_seconds(routine, step, options) / pace for step in routine.steps}
        total = sum(seconds.values()) + (part_count(routine) - 1) * routine.gap / pace
        if total > MAX_TOTAL_SECONDS + 1e-9:
            longest = max(seconds, key=lambda s: seconds[s])
            problems.append(
                Problem(
                    routine.path,
                    longest.line,
                    longest.column,
                    f"the routine would last at least {format_duration(total)} (step "
                    f"'{longest.name}' alone {format_duration(seconds[longest])}); "
                    "the limit is 24 hours",
                )
            )
    if problems:
        raise LimitError(sorted(problems, key=lambda p: (p.line, p.column)))


def part_count(routine: Routine) -> int:
    """Parts of a routine: the intro, one per pass of every step (a pass per side), the outro."""
    passes = sum(max(1, len(step.sides)) for step in routine.steps)
    return passes + bool(routine.intro) + bool(routine.outro)


def _written_seconds(routine: Routine, step: Step, options: PlanOptions) -> float:
    """Written silence of a step's passes (breaths, slots, hold or duration), before pace."""
    reps = effective_reps(step, options.reps)
    per_pass = max(0, len(step.say) - 1) * routine.breath + reps * step.every
    if reps and step.say:
        per_pass += routine.breath
    per_pass = step.duration if step.duration is not None else per_pass + step.hold
    return (per_pass + wait_seconds(step, options)) * max(1, len(step.sides))


def _count_events(routine: Routine, options: PlanOptions, length: LengthFn) -> Step | None:
    """The step by whose end the routine certainly has more than MAX_EVENTS events, or None.

    Sounds and written silences are counted in constant time per step; a repetition's
    silence, which its text may fill, is counted from that text's length, one repetition at
    a time, only while the total is still under the limit (so at most MAX_EVENTS lengths).
    """
    pace = None if options.fit is not None else base_pace(routine, options)

    def certain(written: float) -> int:
        # Under --fit the pace is not known yet: only the pace limits bound it.
        return int(written > 0 and written / (pace or 1e4) > 1e-9)

    breath = certain(routine.breath)
    total = (part_count(routine) - 1) * certain(routine.gap)
    total += len(routine.intro) + len(routine.outro)
    total += max(0, len(routine.intro) - 1) * breath + max(0, len(routine.outro) - 1) * breath
    chime = 0 if routine.chime == "none" else 1
    lengths: dict[Cue, float] = {}

    def seconds(cue: Cue) -> float:
        if cue not in lengths:
            lengths[cue] = float(length(cue))
        return lengths[cue]

    uncertain: list[tuple[Step, Voice, str]] = []
    for number, step in enumerate(routine.steps, start=1):
        voice = options.voice(routine, step)
        reps = effective_reps(step, options.reps)
        n = step.countdown
        per_pass = chime + len(step.say) + max(0, len(step.say) - 1) * breath + n
        per_pass += certain(wait_seconds(step, options))
        if reps:
            # A slot is its text, or only its silence when it has none.
            per_pass += breath if step.say else 0
            per_pass += reps if step.each is not None else reps * certain(step.every)
        if n and all(seconds(Cue("speech", str(k), voice)) < 1 - 1e-9 for k in range(1, n + 1)):
            per_pass += n  # ticks one second apart, each shorter than a second
        elif not n and step.duration is None:
            per_pass += certain(step.hold)
        total += per_pass * max(1, len(step.sides))
        following = routine.steps[number].name if number < len(routine.steps) else ""
        if total > MAX_EVENTS:
            return step
        if reps and step.each is not None and pace is not None:
            uncertain.append((step, voice, following))
    for step, voice, following in uncertain:
        slot = step.every / pace if pace else 0.0
        reps = effective_reps(step, options.reps)
        for side in step.sides or (None,):
            values = _values(routine, step, side, following, reps)
            for rep in range(1, reps + 1):
                text = fill(step.each.template, {**values, "rep": rep}) if step.each else ""
                if seconds(Cue("speech", text, voice)) < slot - 1e-9:
                    total += 1
                    if total > MAX_EVENTS:
                        return step
    return None


def _values(
    routine: Routine, step: Step, side: str | None, following: str, reps: int
) -> dict[str, object]:
    """Template values of one pass of a step (without `rep`)."""
    values: dict[str, object] = {
        **routine.vars,
        "step": step.name,
        "next": following,
        "reps": max(reps, 1),
    }
    if side is not None:
        values["side"] = side
    return values


def speech_cues(routine: Routine, options: PlanOptions) -> list[Cue]:
    """Every distinct cue the routine will sound, in order of first use (for synthesis)."""
    check_size(routine, options, estimate_length)
    options = _fit_reps(routine, options)
    seen: dict[Cue, None] = {}
    pace = base_pace(routine, options)
    layout = _Layout(routine, options, pace, _collect_length(seen), emit=False)
    # Lengths here are estimates: a step's `duration` is checked once real ones are known.
    layout.run(overrun="continue")
    return list(seen)


def estimate_length(cue: Cue) -> float:
    """A rough speaking time, used when clips have not been synthesized (`estimated: true`)."""
    if cue.kind == "tone":
        return 1.0
    rate = cue.voice.rate if cue.voice else 150
    words = len(cue.text.split())
    pauses = sum(cue.text.count(c) for c in ".,;:!?")
    return round(max(0.3, (words + 0.5 * pauses) * 60.0 / rate), 3)


def build_timeline(
    routine: Routine,
    options: PlanOptions,
    length: LengthFn,
    *,
    estimated: bool = False,
    on_event: Callable[[Event], None] | None = None,
) -> Timeline:
    """The timeline of a routine: every event with exact start and end times. With --fit,
    repetitions and then the pace are chosen (fit.py) so it lasts the target exactly.

    `on_event` sees each event as soon as it is placed, in order (without --fit, an event's
    times depend only on the lengths before it), so a player can start before the last
    `length` call returns.
    """
    check_size(routine, options, length)
    pace = base_pace(routine, options)
    warnings: tuple[str, ...] = ()
    if options.fit is not None:
        target = options.fit
        options = _fit_reps(routine, options)
        pace = solve_pace(lambda p: _measure(routine, options, length, p), target, pace)
        # A step's `duration` too short for its speech at this pace raises in the run below.
        warnings = pace_warnings(pace, target)
    layout = _Layout(routine, options, pace, length, emit=True, on_event=on_event)
    layout.run()
    total = layout.t
    if not layout.events:
        first = routine.steps[0]
        raise LocatedPlanError(
            [
                Problem(
                    routine.path,
                    first.line,
                    first.column,
                    "the routine is silent and lasts no time; give a step 'say' or 'hold'",
                )
            ]
        )
    if options.fit is not None and abs(total - options.fit) < 1e-6:
        # Float rounding of the solved pace: the last event ends on the target exactly.
        total = options.fit
        layout.events[-1] = replace(layout.events[-1], end=total)
        layout.parts[-1] = replace(layout.parts[-1], end=min(layout.parts[-1].end, total))
    return Timeline(
        title=routine.title,
        events=tuple(layout.events),
        parts=tuple(layout.parts),
        pace=pace,
        total=total,
        estimated=estimated,
        warnings=tuple(dict.fromkeys(warnings + tuple(layout.warnings))),
        options=replace(options, fit=None, pace=pace / routine.pace),
        voice=options.voice(routine),
    )


def sketch_timeline(
    routine: Routine, options: PlanOptions, length: LengthFn = estimate_length
) -> Timeline:
    """Parts, repetitions and a rough total from estimated lengths (no --fit), never refused
    for speech outgrowing a step's `duration`: what a player shows before real lengths come."""
    check_size(routine, options, estimate_length)
    layout = _Layout(routine, options, base_pace(routine, options), length, emit=True)
    layout.run(overrun="continue")
    return Timeline(
        title=routine.title,
        events=tuple(layout.events),
        parts=tuple(layout.parts),
        pace=layout.pace,
        total=layout.t,
        estimated=True,
    )


def _collect_length(seen: dict[Cue, None]) -> LengthFn:
    def length(cue: Cue) -> float:
        seen.setdefault(cue, None)
        return estimate_length(cue)

    return length


def _fit_reps(routine: Routine, options: PlanOptions) -> PlanOptions:
    """Under --fit without --reps: the options with the repetitions `choose_reps` finds
    closest to the target at the routine's own pace.

    Only ranged steps without `duration` grow (a `duration` pass lasts the same whatever
    its count). Lengths are estimated: plan, render and play then choose alike, the cues
    synthesized are the cues laid out, and no candidate's texts ('{rep} of {reps}') are
    synthesized only to be measured.
    """
    if options.fit is None or options.reps is not None:
        return options
    ranged = [
        (step.name, step.repeat)
        for step in routine.steps
        if step.repeat is not None and step.repeat[0] < step.repeat[1] and step.duration is None
    ]
    if not ranged:
        return options
    names = [name for name, _ in ranged]
    pace = base_pace(routine, options)

    def with_counts(counts: tuple[int, ...]) -> PlanOptions:
        return replace(options, reps=MappingProxyType(dict(zip(names, counts))))

    def total(counts: tuple[int, ...]) -> float:
        try:
            return _measure(routine, with_counts(counts), estimate_length, pace).total
        except LimitError:
            return math.inf  # more repetitions only add events and time

    return with_counts(choose_reps([r for _, r in ranged], total, options.fit))


def _measure(routine: Routine, options: PlanOptions, length: LengthFn, pace: float) -> Measure:
    """The routine's length at `pace`, a pass that outgrows its `duration` left long."""
    layout = _Layout(routine, options, pace, length, emit=False)
    layout.run(overrun="stop")
    return Measure(layout.t, layout.fixed, layout.scaled)


class _Layout:
    """Walks the routine once, placing events on a running clock `t`."""

    def __init__(
        self,
        routine: Routine,
        options: PlanOptions,
        pace: float,
        length: LengthFn,
        *,
        emit: bool,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        self.routine = routine
        self.on_event = on_event
        self.options = options
        self.pace = pace
        self.length = length
        self.emit = emit
        self.t = 0.0
        self.fixed = 0.0  # seconds that do not scale with pace
        self.scaled = 0.0  # written seconds that are divided by pace
        self.count = 0
        self.events: list[Event] = []
        self.parts: list[Part] = []
        self.warnings: list[str] = []
        self.slot_warned: dict[str, tuple[int, float]] = {}  # step -> (warning, longest text)
        self.part_index = 0
        self.overrun: Overrun = "raise"
        self.step_seconds: dict[Step, float] = {}
        self.current_step: Step | None = None
        self.order = 0  # the next event's place in its part
        self.from_part = 0

    def run(self, overrun: Overrun = "raise", from_part: int = 0) -> None:
        """Place every event, from the part `from_part` on (its first event at t = 0).
        `overrun` says what a pass longer than its `duration` does: raise, stop the pass
        there (measuring), or continue (collecting cues, or a live session going on)."""
        self.overrun = overrun
        self.from_part = from_part
        routine = self.routine
        base_voice = self.options.voice(routine)
        first = routine.steps[0].name
        if routine.intro and self._part("intro", "Intro", None, None, None):
            self._texts(routine.intro, {**routine.vars, "next": first}, base_voice, None, None)
            self._end_part()
        for number, step in enumerate(routine.steps, start=1):
            following = routine.steps[number].name if number < len(routine.steps) else ""
            for side in step.sides or (None,):
                title = f"{step.name} ({side})" if side else step.name
                if self._part("step", title, step, number, side):
                    voice = self.options.voice(routine, step)
                    self._pass(step, side, voice, following)
                    self._end_part()
        if routine.outro and self._part("outro", "Outro", None, None, None):
            self._texts(routine.outro, dict(routine.vars), base_voice, None, None)
            self._end_part()
        if self.t > MAX_TOTAL_SECONDS + 1e-9:
            longest = max(self.step_seconds, key=lambda s: self.step_seconds[s])
            raise LimitError(
                [
                    Problem(
                        routine.path,
                        longest.line,
                        longest.column,
                        f"the routine would last {format_duration(self.t)} (step "
                        f"'{longest.name}' alone {format_duration(self.step_seconds[longest])}); "
                        "the limit is 24 hours",
                    )
                ]
            )

    # -- parts ----------------------------------------------------------------
    def _part(
        self, kind: PartKind, title: str, step: Step | None, number: int | None, side: str | None
    ) -> bool:
        """Open the next part; False (and nothing placed) for a part before `from_part`."""
        if self.part_index < self.from_part:
            self.part_index += 1
            return False
        if self.part_index > self.from_part:
            # The gap closes the part before: it is numbered after that part's events.
            self._written_silence(self.routine.gap, None, None, None, part=self.part_index - 1)
        self.order = 0
        if self.emit:
            self.parts.append(
                Part(
                    self.part_index,
                    kind,
                    title,
                    self.t,
                    self.t,
                    step.name if step else None,
                    number,
                    side,
                )
            )
        self.part_start = self.t
        self.part_account = (self.fixed, self.scaled)
        self.current_step = step
        return True

    def _end_part(self) -> None:
        if self.current_step is not None:
            step = self.current_step
            self.step_seconds[step] = self.step_seconds.get(step, 0.0) + self.t - self.part_start
        if self.emit:
            self.parts[-1] = replace(self.parts[-1], end=self.t)
        self.part_index += 1

    def _pass(self, step: Step, side: str | None, voice: Voice, following: str) -> None:
        reps = effective_reps(step, self.options.reps)
        values = _values(self.routine, step, side, following, reps)
        if self.routine.chime != "none":
            chime = self.routine.chime
            name = chime if chime in ("bell", "beep") else os.path.basename(chime)
            self._sound(Cue("tone", chime), "tone", name, step, side, None)
        if step.say:
            self._texts(step.say, values, voice, step, side)
        if reps:
            if step.say:
                self._written_silence(self.routine.breath, step, side, None)
            for rep in range(1, reps + 1):
                self._slot(step, side, rep, voice, values)
        self._tail(step, side, voice)
        if step.wait is not None:
            self._wait(step, side)

    def _wait(self, step: Step, side: str | None) -> None:
        """The end of a pass waiting for the person: its written length divided by pace, like
        every silence the routine writes (a file cannot wait; live, the person may end it)."""
        written = wait_seconds(step, self.options)
        self.scaled += written
        event = Event(
            self.t,
            self.t + written / self.pace,
            "wait",
            None,
            step.name,
            side,
            None,
            self.part_index,
            order=self.order,
            until_ready=step.wait is not None and step.wait.limit is None,
        )
        self._add(event)

    def _slot(
        self, step: Step, side: str | None, rep: int, voice: Voice, values: dict[str, object]
    ) -> None:
        """One repetition: its text at the onset, then silence to `every` after the onset."""
        slot = step.every / self.pace
        start = self.t
        spoken = 0.0
        if step.each is not None:
            text = fill(step.each.template, {**values, "rep": rep})
            spoken = self._speech(text, voice, step, side, rep)
        if spoken > slot + 1e-9:
            self._slot_warning(step, spoken, slot)
            self.order += 1  # the slot's silence, which lasts nothing at this pace
            return
        # The slot lasts `every`/pace whatever its text: account it as scaled, not fixed.
        self.fixed -= spoken
        self.scaled += step.every
        self._silence(start + slot - self.t, step, side, rep)

    def _slot_warning(self, step: Step, spoken: float, slot: float) -> None:
        """One warning per step however many of its slots grow, naming the longest text."""
        index, longest = self.slot_warned.get(step.name, (len(self.warnings), 0.0))
        if index == len(self.warnings):
            self.warnings.append("")
        longest = max(longest, spoken)
        self.slot_warned[step.name] = (index, longest)
        self.warnings[index] = (
            f"step '{step.name}': repetition text ({longest:.2f}s) is longer than "
            f"its slot ({slot:.2f}s); the slot grows to fit"
        )

    def _tail(self, step: Step, side: str | None, voice: Voice) -> None:
        """Silence closing a pass (`hold`, or the rest of `duration`), with its countdown."""
        n = step.countdown
        if step.duration is not None:
            content = self.t - self.part_start
            room = step.duration / self.pace
            overran = content > room + 1e-9 or (n and room - content < n - 1e-9)
            if overran and self.overrun == "stop":
                return  # only measuring how short the routine can get
            if overran and self.overrun == "raise":
                what = f"speaks for {content:.2f}s" + (f" plus a {n}s countdown" if n else "")
                raise LocatedPlanError(
                    [
                        Problem(
                            self.routine.path,
                            step.line,
                            step.column,
                            f"step '{step.name}' {what}, longer than its duration of {room:.2f}s"
                            + (f" at pace {self.pace:g}" if self.pace != 1 else ""),
                        )
                    ]
                )
            # The whole pass lasts duration/pace, whatever it contains.
            self.fixed, self.scaled = self.part_account[0], self.part_account[1] + step.duration
            seconds = max(0.0, room - content)  # negative only when collecting cues
        else:
            seconds = step.hold / self.pace
            if n and seconds < n:
                self.warnings.append(
                    f"step '{step.name}': hold is shorter than its {n}-second countdown at "
                    "this pace; the hold grows to fit"
                )
                seconds = float(n)
                self.fixed += seconds
            else:
                self.scaled += step.hold
        end = self.t + seconds
        for k in range(n, 0, -1):
            # Ticks stay one second apart: "1" starts one second before the end.
            self._silence(end - k - self.t, step, side, None)
            if self.t > end - k + 1e-9:
                self.warnings.append(f"step '{step.name}': countdown number {k} starts late")
            self._sound(
                Cue("speech", str(k), voice), "speech", str(k), step, side, None, counted=False
            )
        self._silence(end - self.t, step, side, None)

    # -- events ---------------------------------------------------------------
    def _texts(
        self,
        texts: tuple[Text, ...],
        values: dict[str, object],
        voice: Voice,
        step: Step | None,
        side: str | None,
    ) -> None:
        for i, text in enumerate(texts):
            if i:
                self._written_silence(self.routine.breath, step, side, None)
            self._speech(fill(text.template, values), voice, step, side, None)

    def _speech(
        self, text: str, voice: Voice, step: Step | None, side: str | None, rep: int | None
    ) -> float:
        return self._sound(Cue("speech", text, voice), "speech", text, step, side, rep)

    def _sound(
        self,
        cue: Cue,
        kind: EventKind,
        text: str,
        step: Step | None,
        side: str | None,
        rep: int | None,
        counted: bool = True,
    ) -> float:
        seconds = float(self.length(cue))
        if counted:
            self.fixed += seconds
        self._add(
            Event(
                self.t,
                self.t + seconds,
                kind,
                text,
                step.name if step else None,
                side,
                rep,
                self.part_index,
                cue,
                self.order,
            )
        )
        return seconds

    def _written_silence(
        self,
        written: float,
        step: Step | None,
        side: str | None,
        rep: int | None,
        *,
        part: int | None = None,
    ) -> None:
        """A silence the routine writes (gap, breath): its length divided by pace."""
        self.scaled += written
        self._silence(written / self.pace, step, side, rep, part=part)

    def _silence(
        self,
        seconds: float,
        step: Step | None,
        side: str | None,
        rep: int | None,
        *,
        part: int | None = None,
    ) -> None:
        if seconds <= 1e-12:
            self.order += 1  # kept at every pace, so positions match across paces
            return
        index = self.part_index if part is None else part
        self._add(
            Event(
                self.t,
                self.t + seconds,
                "silence",
                None,
                step.name if step else None,
                side,
                rep,
                index,
                order=self.order,
            )
        )

    def _add(self, event: Event) -> None:
        self.order += 1
        self.count += 1
        if self.count > MAX_EVENTS:
            step = self.current_step or self.routine.steps[-1]
            raise LimitError(
                [
                    Problem(
                        self.routine.path,
                        step.line,
                        step.column,
                        f"the routine would have more than {MAX_EVENTS} events by the end of "
                        f"step '{step.name}'; reduce repeat or --reps",
                    )
                ]
            )
        self.t = event.end
        if self.emit:
            self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)
