"""A live session: the schedule's events played on a monotonic clock, obeying commands.

Every onset is the clock time the session started plus the event's start in session
seconds - never the previous clip's completion: ALSA's null and file devices "finish" a
clip at once, a real card after its length, and the schedule must hold on both. The player
computes no times of its own: every change of course (pace, a skip, a pause, a repeat, the
end of a wait) asks the schedule to lay out the rest of the session (`LiveSchedule.relayout`),
which asks the timeline.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from voiceguide.clock import Clock, MonotonicClock
from voiceguide.control.commands import GO_ON, Command, CommandSource
from voiceguide.errors import Interrupted, PlanError, Terminated
from voiceguide.live import LiveSchedule, Pcm, audible
from voiceguide.live_mix import LEAD, LiveMix, MixCourse, Sent
from voiceguide.routine.models import Routine
from voiceguide.session import SpeechSource, prepare_session
from voiceguide.sound.device import Device, Playback, SilentDevice, SimpleaudioDevice
from voiceguide.sound.music import MusicSettings
from voiceguide.status import Progress, StatusSink, default_status
from voiceguide.timeline import Event, Part, PlanOptions
from voiceguide.timeline.layout import Position, base_pace
from voiceguide.timeline.schedule import END

PACE_STEP = 0.1  # `+` and `-` change the pace by 10% of itself
PACE_LIMITS = (0.25, 4.0)  # keys stop here; --pace and --fit may start a session outside
DOUBLE_PRESS = 1.5  # seconds: `p` twice within this goes to the previous step
KEY_GUARD = 0.005  # the last ms before an onset go to the precise clock, not to select()
TICK = 0.25  # status refresh while waiting
DRAIN_LIMIT = 2.0  # at the end, wait at most this long for the last sound to finish


@dataclass(frozen=True)
class Onset:
    """One sound started: its event (in session seconds), when it was due and when it was
    sent (clock time)."""

    event: Event
    due: float
    at: float


@dataclass(frozen=True)
class PlayResult:
    status: Literal["finished", "stopped"]  # "stopped": the user quit
    origin: float  # clock time the session started (first event's due time)
    elapsed: float  # wall seconds, pauses and waits included
    onsets: tuple[Onset, ...]
    pace: float  # pace at the end (after any `+`/`-`)
    mixed: tuple[Sent, ...] = ()  # with a music bed: the mixed segments sent to the device


def play_routine(
    routine: Routine,
    options: PlanOptions,
    *,
    start_step: str | None = None,
    commands: CommandSource | None = None,
    dry_run: bool = False,
    warn: Callable[[str], None] | None = None,
    speech: SpeechSource | None = None,
    device: Device | None = None,
    clock: Clock | None = None,
    status: StatusSink | None = None,
    music: MusicSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> PlayResult:
    """Play a routine live: the timeline `render` writes, laid out with the real clip lengths
    (cache first) while it plays. With --fit every clip is made first, since the pace depends
    on all of them; with `music` too (a bed is mixed ahead of the cues it ducks under), and
    `progress(done, total)` follows that. `commands` steer it (None: it plays through)."""
    if not dry_run:
        device = device or SimpleaudioDevice()
        device.open()  # no device: one line now, before any synthesis or waiting
    owned = speech is None
    if speech is None:
        from voiceguide.speech.synth import Synthesizer

        speech = Synthesizer()
    try:
        bed = None if dry_run else music
        schedule = _schedule(
            routine, options, speech, dry_run=dry_run, warn=warn, whole=bed is not None,
            progress=progress,
        )  # fmt: skip
        start = step_part(schedule.parts, start_step) if start_step is not None else 0
        return play_schedule(
            schedule,
            device=device,
            clock=clock,
            commands=commands,
            status=status,
            start=(start, 0),
            dry_run=dry_run,
            music=bed,
        )
    finally:
        if owned:
            speech.close()


def _schedule(
    routine: Routine,
    options: PlanOptions,
    speech: SpeechSource,
    *,
    dry_run: bool,
    warn: Callable[[str], None] | None,
    whole: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> LiveSchedule:
    """The session's schedule; with `whole` (or --fit), every clip is made before it starts."""
    if options.fit is None and not whole:
        pace = base_pace(routine, options)
        return LiveSchedule(routine, options, speech, pace=pace, make_pcm=not dry_run, warn=warn)
    session = prepare_session(routine, options, speech, progress=progress)
    for warning in session.timeline.warnings:
        if warn is not None:
            warn(warning)
    return LiveSchedule(
        routine,
        session.options,
        speech,
        pace=session.timeline.pace,
        clips=session.clips,
        make_pcm=not dry_run,
    )


def play_schedule(
    schedule: LiveSchedule,
    *,
    device: Device | None = None,
    clock: Clock | None = None,
    commands: CommandSource | None = None,
    status: StatusSink | None = None,
    start: Position = (0, 0),
    dry_run: bool = False,
    music: MusicSettings | None = None,
) -> PlayResult:
    """Play `schedule` from `start`, with `music` under it (a schedule made with every clip:
    `clips=`). Raises DeviceError before any waiting if no device opens, Interrupted on
    Ctrl-C, Terminated on SIGTERM."""
    device = SilentDevice() if dry_run else device or SimpleaudioDevice()
    clock = clock or MonotonicClock()
    mix = None
    if music is not None and not dry_run:
        if schedule.clips is None:
            raise ValueError("a schedule with a music bed needs its clips made first")
        mix = LiveMix(music, schedule.clips.rate, device, clock, length=schedule.end())
    session = _Session(
        schedule,
        device=device,
        clock=clock,
        commands=commands,
        status=status or default_status(),
        synthesize=not dry_run,
        mix=mix,
    )
    return session.run(start)


def step_part(parts: Sequence[Part], step: str) -> int:
    """Index of the first part of a step (name, case-insensitive, or 1-based number)."""
    wanted = step.strip().casefold()
    for index, part in enumerate(parts):
        if part.kind != "step":
            continue
        if (part.step or "").casefold() == wanted or str(part.step_number) == wanted:
            return index
    names = sorted({(p.step_number or 0, p.step or "") for p in parts if p.kind == "step"})
    listed = ", ".join(f"{n} {name}" for n, name in names) or "none"
    raise PlanError(f"no step {step!r} in this routine (steps: {listed})")


class _Groups:
    """`n` and `p` move by step: a step's passes (one per side) form one group; the intro
    and the outro are groups of their own."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self.first_part: list[int] = []
        self.of_part: list[int] = []
        last: object = None
        for part in parts:
            key = ("step", part.step_number) if part.step_number else ("part", part.index)
            if key != last:
                self.first_part.append(part.index)
                last = key
            self.of_part.append(len(self.first_part) - 1)

    def start(self, group: int) -> Position:
        """Where a group begins; past the last group, the end of the session."""
        return (self.first_part[group], 0) if group < len(self.first_part) else END


class _Session:
    """One playback: which event of the schedule's current course comes next, what is under
    way, and what each command does. All times come from the schedule."""

    def __init__(
        self,
        schedule: LiveSchedule,
        *,
        device: Device,
        clock: Clock,
        commands: CommandSource | None,
        status: StatusSink,
        synthesize: bool,
        mix: LiveMix | None = None,
    ) -> None:
        self.schedule = schedule
        self.device, self.clock, self.commands, self.status = device, clock, commands, status
        self.synthesize = synthesize
        self.mix = mix  # a music bed: cues go to the device inside its mixed segments
        self.groups = _Groups(schedule.parts)
        self.pace = schedule.pace
        self.origin = 0.0
        self.next = 0  # index in the current course of the next event to start
        self.under_way: Event | None = None  # the event started last, unless jumped away from
        self.going_on = False  # the course begins with the event under way: do not restart it
        self.jumped_to: Position = (0, 0)  # where the course starts when nothing is under way
        self.playback: Playback | None = None
        self.last_sound: Event | None = None
        self.last_previous: tuple[float, int] | None = None  # (clock time, group)
        self.onsets: list[Onset] = []
        self.sound_span: tuple[float, float] | None = None  # clock times of the last sound

    # --- running -------------------------------------------------------------------------

    def run(self, start: Position) -> PlayResult:
        self.device.open()  # fails fast: DeviceError before any waiting or synthesis
        old_switch = sys.getswitchinterval()
        # The layout thread may hold the GIL for up to the switch interval (5 ms) when the
        # scheduler wakes for an onset; a shorter interval keeps onsets within ~1 ms.
        sys.setswitchinterval(0.0005)
        try:
            with _sigterm_as_interrupt(), _commands_open(self.commands):
                self.schedule.start(start)
                self.jumped_to = start
                try:
                    outcome = self._play_all()
                except Terminated:
                    self._stop_sound()
                    raise
                except KeyboardInterrupt:
                    self._stop_sound()
                    raise Interrupted("interrupted") from None
        finally:
            sys.setswitchinterval(old_switch)
            self.schedule.stop()
            self.status.close()
            self.device.close()
        return PlayResult(
            status=outcome,
            origin=self.origin,
            elapsed=self.clock.now() - self.origin,
            onsets=tuple(self.onsets),
            pace=self.pace,
            mixed=tuple(self.mix.sent) if self.mix is not None else (),
        )

    def _play_all(self) -> Literal["finished", "stopped"]:
        first = self._upcoming(before_origin=True)
        if first is not None and audible(first):
            self._clip(first)  # the first clip is ready before the clock starts
        self._mix_ahead()  # and the bed's first segment
        self.origin = self.clock.now()
        while True:
            event = self._upcoming()
            pcm = self._clip(event) if event is not None and audible(event) else None
            self._mix_ahead()
            due = self._due(event)
            mixed = self.mix.due(self.origin) if self.mix is not None else math.inf
            command = self._wait_until(min(due, mixed))
            if command is not None:
                if self._obey(command) is Command.QUIT:
                    self._stop_sound()
                    self.status.notice(self._progress(), "stopped")
                    return "stopped"
                continue
            if self.mix is not None and mixed <= due:
                if self.mix.ready():
                    self.mix.send(self.origin)  # the bed's next segment, before its events
                continue  # (or it is time to mix the next one: the loop's top does)
            if event is None:
                break
            self._start(event, pcm)
            self.next += 1
        self._drain()
        return "finished"

    def _now(self) -> float:
        """Session seconds: the clock since the session started."""
        return self.clock.now() - self.origin

    def _upcoming(self, before_origin: bool = False) -> Event | None:
        """The next event of the course (None: the end), waiting for the schedule if it is
        not laid out yet. Never early: a cue that comes after its time is played when it
        comes, and the rest of the session is laid out from it."""
        schedule = self.schedule
        waited = False
        while not (self.next < schedule.known() or schedule.done):
            schedule.check()
            if not before_origin:
                self.status.tick(self._progress())
            schedule.wait(self.next + 1, TICK)
            waited = True
        schedule.check()
        if self.next >= schedule.known():
            return None
        event = schedule.event(self.next)
        if self.going_on and self.next == 0:
            self.going_on = False
            if self.under_way is not None and event.position == self.under_way.position:
                self.under_way = event  # the same event, placed anew: it goes on
                self.next = 1
                return self._upcoming(before_origin)
        late = self._now() - event.start
        if waited and not before_origin and late > 0:
            self._relayout(event.position, self._now())
            if late > 0.001:
                self.status.notice(self._progress(), f"speech late by {late:.2f} s")
            return self._upcoming()
        return event

    def _due(self, event: Event | None) -> float:
        """Clock time to start `event` (None: to end the session)."""
        current = self.under_way
        waits = current is not None and current.kind == "wait" and current.until_ready
        if waits and self.commands is not None:
            return math.inf  # until the person goes on; with no commands, its planned length
        start = event.start if event is not None else self.schedule.end()
        return self.origin + start

    def _clip(self, event: Event) -> Pcm | None:
        if not self.synthesize or event.cue is None:
            return None
        return self.schedule.pcm(event.cue)

    def _mix_ahead(self) -> None:
        """With a bed: mix the next segment from the course, once it is all laid out."""
        if self.mix is None or not self.mix.wants(self.origin):
            return
        schedule = self.schedule
        while not schedule.done:  # every clip is made: laying out takes milliseconds
            schedule.check()
            schedule.wait(schedule.known() + 1_000_000, TICK)
        schedule.check()
        events = [schedule.event(k) for k in range(schedule.known())]
        hold_from = math.inf
        if self.commands is not None:  # a wait the person ends holds the course there
            waiting = self._waiting()
            ahead = ([waiting] if waiting is not None else []) + events[self.next :]
            held = (e for e in ahead if e.kind == "wait" and e.until_ready)
            hold_from = next((e.start for e in held), math.inf)
        course = MixCourse(events, schedule.end(), hold_from)
        self.mix.mix(course, schedule.pcm)

    def _start(self, event: Event, pcm: Pcm | None) -> None:
        if audible(event):
            at = self.clock.now()
            if self.mix is not None:
                sent = self.mix.clock_of(event.start)  # it is in the segment playing
                at = sent if sent is not None else at
            elif pcm is not None:
                self.playback = self.device.play(*pcm)
            self._sounding(at, at + event.duration)
            self.onsets.append(Onset(event, self.origin + event.start, at))
            self.last_sound = event
        self.under_way = event
        self.status.event(self._progress(event))
        if event.kind == "wait" and self.commands is not None:
            self.status.notice(self._progress(event), "waiting: n, space or Enter to go on")

    def _wait_until(self, target: float) -> Command | None:
        """Wait for `target` (clock time), returning early with a command if one comes."""
        while True:
            remaining = target - self.clock.now()
            if remaining <= 0:
                return None
            # (2 * KEY_GUARD, not KEY_GUARD: float rounding must not leave us polling for 1e-16 s)
            if self.commands is not None and remaining > 2 * KEY_GUARD:
                command = self.commands.wait(min(remaining - KEY_GUARD, TICK))
                if command is not None:
                    return command
            elif remaining > TICK + KEY_GUARD:
                self.clock.sleep(TICK)
            else:
                self.clock.sleep(remaining)  # precise: sleeps short of it, then spins
                return None
            if target - self.clock.now() > 2 * KEY_GUARD:
                self.schedule.check()
                self.status.tick(self._progress())

    def _relayout(
        self, start: Position, at: float, *, cut: Event | None = None, cut_at: float | None = None
    ) -> None:
        """A new course from `start` at session time `at`: the schedule lays it out. With
        `cut`, the event under way goes on (resumed or re-timed) instead of starting again."""
        if self.mix is not None and cut is None:
            at += LEAD  # a cue may start the course: mixing its segment takes a moment
        self.schedule.relayout(start, at, self.pace, cut=cut, cut_at=cut_at)
        if self.mix is not None:
            self.mix.restart(at)
        self.next = 0
        self.going_on = cut is not None
        if cut is None:
            self.under_way = None
            self.jumped_to = start

    def _drain(self) -> None:
        """Let the last sound finish on a real card (its handle says so; the null device lies)."""
        deadline = self.clock.now() + DRAIN_LIMIT
        playing = self.playback.is_playing if self.playback is not None else None
        if self.mix is not None:
            playing = self.mix.is_playing
        while playing is not None and playing():
            if self.clock.now() >= deadline:
                break
            self.clock.sleep(0.01)

    def _sounding(self, start: float, end: float) -> None:
        """Tell the command sources when we make a sound, so a microphone ignores it."""
        self.sound_span = (start, end)
        told = getattr(self.commands, "sounding", None)
        if told is not None:
            told(start, end)

    def _stop_sound(self) -> None:
        span, now = self.sound_span, self.clock.now()
        if span is not None and span[1] > now:
            self._sounding(span[0], now)  # cut short: the microphone may listen again
        if self.playback is not None:
            self.playback.stop()
            self.playback = None
        if self.mix is not None:
            self.mix.stop()

    # --- commands ------------------------------------------------------------------------

    def _waiting(self) -> Event | None:
        """The wait under way, if the session is at one."""
        current = self.under_way
        if current is not None and current.kind == "wait":
            return current
        return None

    def _obey(self, command: Command) -> Command | None:
        if command is Command.QUIT:
            return command
        wait = self._waiting()
        if wait is not None and command in GO_ON:
            self._relayout((wait.part, wait.order + 1), self._now())
            self.status.notice(self._progress(), "go on")
        elif command in (Command.PAUSE, Command.HOLD, Command.RESUME):
            if command is not Command.RESUME:  # resume while playing: nothing to do
                return self._pause()
        elif command in (Command.FASTER, Command.SLOWER):
            self._change_pace(command is Command.FASTER)
        elif command is Command.NEXT:
            self._jump(self.groups.start(self._group() + 1), "next")
        elif command is Command.PREVIOUS:
            self._previous()
        elif command is Command.REPEAT and self.last_sound is not None:
            self._jump(self.last_sound.position, "repeat")
        return None

    def _pause(self) -> Command | None:
        paused_at = self._now()
        self._stop_sound()
        self.status.notice(self._progress(paused=paused_at), "paused")
        assert self.commands is not None  # only a command pauses
        while True:
            command = self.commands.wait(TICK)
            if command in (Command.FASTER, Command.SLOWER):
                self.pace = self._stepped_pace(command is Command.FASTER)
                self.status.notice(self._progress(paused=paused_at), f"pace {self.pace:.2f}")
            elif command is Command.QUIT:
                return command
            elif command is not None and command is not Command.HOLD:  # "pause" twice: paused
                break
            self.status.tick(self._progress(paused=paused_at))
        cut = self.under_way
        now = self._now()
        if cut is None:
            self._relayout(self.jumped_to, now)
        elif audible(cut) and paused_at < cut.end:
            self._relayout(cut.position, now)  # the pause cut a cue short: say it again
        else:
            self._relayout(cut.position, now, cut=cut, cut_at=paused_at)  # the rest of it
        self.status.notice(self._progress(), "resumed")
        if command in (Command.PAUSE, Command.RESUME, Command.READY):
            return None
        return self._obey(command)  # n, p, r also resume

    def _stepped_pace(self, faster: bool) -> float:
        low, high = PACE_LIMITS
        if faster:  # never past the limit, and never back from a --pace beyond it
            return min(self.pace * (1 + PACE_STEP), max(high, self.pace))
        return max(self.pace * (1 - PACE_STEP), min(low, self.pace))

    def _change_pace(self, faster: bool) -> None:
        pace = self._stepped_pace(faster)
        if abs(pace - self.pace) < 1e-9:
            return
        self.pace = pace
        now = self._now()
        if self.under_way is None:
            self._relayout(self.jumped_to, now)
        else:
            # The event under way goes on: a silence keeps the share of itself it had left,
            # rescaled; a sound is never stretched. What follows is laid out at the new pace.
            self._relayout(self.under_way.position, now, cut=self.under_way, cut_at=now)
        self.status.notice(self._progress(), f"pace {pace:.2f}")

    def _group(self) -> int:
        part = self.under_way.part if self.under_way is not None else self.jumped_to[0]
        return self.groups.of_part[min(part, len(self.groups.of_part) - 1)]

    def _previous(self) -> None:
        target = self._group()
        now = self.clock.now()
        if self.last_previous is not None and now - self.last_previous[0] <= DOUBLE_PRESS:
            target = max(0, self.last_previous[1] - 1)
        self.last_previous = (now, target)
        self._jump(self.groups.start(target), "restart")

    def _jump(self, start: Position, what: str) -> None:
        self._stop_sound()
        self._relayout(start, self._now())
        if start >= END:
            self.status.notice(self._progress(), f"{what}: end")
            return
        label = self._part_title(start[0]) or "start"
        self.status.notice(self._progress(), f"{what}: {label}")

    # --- display -------------------------------------------------------------------------

    def _part_title(self, index: int) -> str | None:
        parts = self.schedule.parts
        return parts[index].title if 0 <= index < len(parts) else None

    def _progress(self, event: Event | None = None, paused: float | None = None) -> Progress:
        schedule = self.schedule
        if event is None:
            event = self.under_way
        if event is None and self.next < schedule.known():
            event = schedule.event(self.next)
        if event is None:  # nothing left in this course: the end
            event = Event(self._now(), self._now(), "silence", part=self.jumped_to[0])
        part_index = event.part
        parts = schedule.parts
        part = parts[part_index] if 0 <= part_index < len(parts) else None
        now = self._now()
        end = schedule.end() + (now - paused if paused is not None else 0.0)
        waiting = event.kind == "wait" and event is self.under_way
        if waiting and event.until_ready and self.commands is not None:
            # The session's clock stands still: what is left is what follows the wait.
            end = now + max(0.0, schedule.end() - event.end)
        return Progress(
            event=event,
            part=part,
            rep_total=schedule.rep_totals.get(part_index),
            elapsed=now,
            remaining=max(0.0, end - now),
            next_title=self._part_title(part_index + 1),
            pace=self.pace,
            paused=paused is not None,
            waiting=waiting and self.commands is not None,
        )


@contextmanager
def _commands_open(commands: CommandSource | None) -> Iterator[None]:
    """Terminal mode for keys (and any other source), restored on every way out."""
    if commands is None:
        yield
        return
    commands.open()
    try:
        yield
    finally:
        commands.close()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM stops the sound and restores the terminal like Ctrl-C (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
