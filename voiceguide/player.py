"""Timeline -> live sound on a monotonic clock, with a status display and single-key controls.

Every onset is scheduled as `origin + event.start`, shifted only by what the user does from
"now" (pause, jumps, pace changes) - never from the previous clip's completion: ALSA's null
and file devices "finish" a clip at once, a real card after its length, and the schedule
must hold on both.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from voiceguide import keys as k
from voiceguide.clock import Clock, MonotonicClock
from voiceguide.errors import Interrupted, PlanError, Terminated
from voiceguide.keys import KeySource, TerminalKeys, terminal_keys_available
from voiceguide.live import EventSource, LiveTimeline, Pcm, PlannedEvents, audible
from voiceguide.prefetch import ClipFor
from voiceguide.routine.models import Routine
from voiceguide.session import SpeechSource, prepare_session
from voiceguide.sound.device import Device, Playback, SilentDevice, SimpleaudioDevice
from voiceguide.status import Progress, StatusSink, default_status
from voiceguide.timeline import Event, Part, PlanOptions, Timeline

PACE_STEP = 0.1  # `+` and `-` change the pace by 10% of itself
PACE_LIMITS = (0.25, 4.0)  # keys stop here; --pace and --fit may start a session outside
DOUBLE_PRESS = 1.5  # seconds: `p` twice within this goes to the previous step
KEY_GUARD = 0.005  # the last ms before an onset go to the precise clock, not to select()
TICK = 0.25  # status refresh while waiting
DRAIN_LIMIT = 2.0  # at the end, wait at most this long for the last sound to finish


@dataclass(frozen=True)
class Onset:
    """One sound started: its event index, when it was due and when it was sent (clock time)."""

    index: int
    due: float
    at: float


@dataclass(frozen=True)
class PlayResult:
    status: Literal["finished", "stopped"]  # "stopped": the user pressed `q`
    origin: float  # clock time the session started (first event's due time)
    elapsed: float  # wall seconds, pauses included
    onsets: tuple[Onset, ...]
    pace: float  # pace at the end (after any `+`/`-`)


def play(
    timeline: Timeline,
    clip_for: ClipFor,
    *,
    device: Device | None = None,
    clock: Clock | None = None,
    keys: KeySource | None = None,
    status: StatusSink | None = None,
    start_at: float = 0.0,
    dry_run: bool = False,
) -> PlayResult:
    """Play `timeline` live; `clip_for(cue)` gives each cue's clip at the playback rate.

    `start_at` is a timeline time (see `step_start`): playback begins with the first event
    starting there or later. `clip_for` is called from one background thread, ahead of time.
    Raises DeviceError before any waiting if no device opens, Interrupted on Ctrl-C/SIGTERM.
    """
    source = PlannedEvents(timeline, clip_for, start_at, synthesize=not dry_run)
    return _run(source, device, clock, keys, status, dry_run, start_at=start_at)


def play_live(
    live: LiveTimeline,
    *,
    device: Device | None = None,
    clock: Clock | None = None,
    keys: KeySource | None = None,
    status: StatusSink | None = None,
    start_part: int = 0,
    dry_run: bool = False,
) -> PlayResult:
    """Play a timeline while it is laid out: the first cue as soon as its clip is made, each
    later event once the clips before it are. `start_part` is an index into `live.parts`.
    A cue whose clip comes after its time is played when it comes, and the rest follows it."""
    return _run(live, device, clock, keys, status, dry_run, start_part=start_part)


def _run(
    source: EventSource,
    device: Device | None,
    clock: Clock | None,
    keys: KeySource | None,
    status: StatusSink | None,
    dry_run: bool,
    *,
    start_at: float = 0.0,
    start_part: int = 0,
) -> PlayResult:
    if dry_run:
        device = SilentDevice()  # no device, no synthesis: only the schedule and the status
    session = _Session(
        source,
        device=device or SimpleaudioDevice(),
        clock=clock or MonotonicClock(),
        keys=keys,
        status=status or default_status(),
        start_at=start_at,
        start_part=start_part,
        synthesize=not dry_run,
    )
    return session.run()


def play_routine(
    ref: str | Routine,
    options: PlanOptions,
    *,
    start_step: str | None = None,
    use_keys: bool = True,
    dry_run: bool = False,
    warn: Callable[[str], None] | None = None,
    speech: SpeechSource | None = None,
    device: Device | None = None,
    clock: Clock | None = None,
    status: StatusSink | None = None,
) -> PlayResult:
    """Load ROUTINE (path or built-in name), open the device and play it live: the timeline
    `render` writes, laid out with the real clip lengths (cache first) while it plays. With
    --fit every clip is made first, since the pace depends on all of them."""
    from voiceguide.routine.builtins import resolve_routine

    routine = resolve_routine(ref)
    if not dry_run:
        device = device or SimpleaudioDevice()
        device.open()  # no device: one line now, before any synthesis or waiting
    owned = speech is None
    if speech is None:
        from voiceguide.speech.synth import Synthesizer

        speech = Synthesizer()
    try:
        keys = TerminalKeys() if use_keys and terminal_keys_available() else None
        if options.fit is not None:
            session = prepare_session(routine, options, speech)
            timeline = session.timeline
            for warning in timeline.warnings:
                if warn is not None:
                    warn(warning)
            start_at = step_start(timeline, start_step) if start_step is not None else 0.0
            return play(
                timeline,
                session.clips,
                device=device,
                clock=clock,
                keys=keys,
                status=status,
                start_at=start_at,
                dry_run=dry_run,
            )
        live = LiveTimeline(routine, options, speech, make_pcm=not dry_run, warn=warn)
        start_part = step_part(live.parts, start_step) if start_step is not None else 0
        return play_live(
            live,
            device=device,
            clock=clock,
            keys=keys,
            status=status,
            start_part=start_part,
            dry_run=dry_run,
        )
    finally:
        if owned:
            speech.close()


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


def step_start(timeline: Timeline, step: str) -> float:
    """Timeline time where a step (name, case-insensitive, or 1-based number) first starts."""
    return timeline.parts[step_part(timeline.parts, step)].start


class _Session:
    """The state of one playback: where we are, and when each known event is due.

    Events are taken in as the source makes them known; each event's due time follows from
    the plan's anchor (an event made due at a clock time) and the lengths before it, so an
    event that arrives late gets the time it would have had from the start.
    """

    def __init__(
        self,
        source: EventSource,
        *,
        device: Device,
        clock: Clock,
        keys: KeySource | None,
        status: StatusSink,
        start_at: float = 0.0,
        start_part: int = 0,
        synthesize: bool,
    ) -> None:
        self.source = source
        self.device, self.clock, self.keys, self.status = device, clock, keys, status
        self.start_at, self.start_part = start_at, start_part
        self.synthesize = synthesize
        self.events: list[Event] = []
        self.n = 0  # events known so far
        self.complete = False  # every event known, and the end time
        # Timeline times of every known event start, then (once complete) the end; and sound
        # (never stretched) time before each, so remaining silences can be rescaled by pace.
        self.starts: list[float] = []
        self.sound_before = [0.0]
        # `n` and `p` move by step: a step's passes (one per side) form one group, and the
        # intro and outro are groups of their own. group_first[g] is g's first event.
        self.group_of: dict[int, int] = {}
        self.group_first: list[int] = []
        self.last_group_key: object = None
        self.rep_totals = dict(source.rep_totals)
        self.due: list[float] = []  # clock time each known event (and the end) is due
        self.anchor = (0, 0.0)  # (event, clock time): the plan the due times follow from
        self.first = 0
        self.scanned = 0  # known events before this one are before the start
        self.i = 0  # next event to start
        self.under_way: int | None = None  # the event started last, if not jumped away from
        self.scale = 1.0  # factor on remaining silences, changed by `+`/`-`
        self.pace = source.pace
        self.origin = 0.0
        self.current: Playback | None = None
        self.last_sound: int | None = None
        self.last_p: tuple[float, int] | None = None
        self.onsets: list[Onset] = []

    # --- events as they become known -----------------------------------------------------

    def _extend(self) -> None:
        """Take in the events made known since last time (and the end, once all are)."""
        if self.complete:
            return
        done = self.source.done  # read first: once done, every event is in the list
        events = self.source.events
        parts = self.source.parts
        for j in range(self.n, len(events)):
            e = events[j]
            self.events.append(e)
            self.starts.append(e.start)
            sound = 0.0 if e.kind == "silence" else e.duration
            self.sound_before.append(self.sound_before[-1] + sound)
            if e.part not in self.group_of:
                part = parts[e.part] if 0 <= e.part < len(parts) else None
                key = ("step", part.step_number) if part and part.step_number else ("part", e.part)
                if key != self.last_group_key:
                    self.group_first.append(j)
                    self.last_group_key = key
                self.group_of[e.part] = len(self.group_first) - 1
            if e.rep is not None:
                self.rep_totals[e.part] = max(self.rep_totals.get(e.part, 0), e.rep)
            self.due.append(self._due_of(j))
        self.n = len(self.events)
        if done:
            self.complete = True
            self.starts.append(self.source.estimated_end())
            self.due.append(self._due_of(self.n))

    def _await(self, ready: Callable[[], bool]) -> None:
        """Wait for the source until `ready()` or every event is known; raise its failure."""
        while True:
            self._extend()
            self.source.check()
            if ready() or self.complete:
                return
            self.source.wait(self.n + 1, TICK)

    def _due_of(self, m: int) -> float:
        j, at = self.anchor
        span = self.starts[m] - self.starts[j]
        if self.scale == 1.0:
            return at + span  # exactly origin + event.start when nothing moved
        sound = self.sound_before[m] - self.sound_before[j]
        return at + sound + self.scale * (span - sound)

    # --- running -------------------------------------------------------------------------

    def run(self) -> PlayResult:
        self.device.open()  # fails fast: DeviceError before any waiting or synthesis
        old_switch = sys.getswitchinterval()
        # The prefetch thread may hold the GIL for up to the switch interval (5 ms) when the
        # scheduler wakes for an onset; a shorter interval keeps onsets within ~1 ms.
        sys.setswitchinterval(0.0005)
        try:
            with _sigterm_as_interrupt(), _keys_open(self.keys):
                self.source.start()
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
            self.source.stop()
            self.status.close()
            self.device.close()
        return PlayResult(
            status=outcome,
            origin=self.origin,
            elapsed=self.clock.now() - self.origin,
            onsets=tuple(self.onsets),
            pace=self.pace,
        )

    def _start_index(self) -> int | None:
        """The first known event at or after the start (`start_at`, `start_part`)."""
        for j in range(self.scanned, self.n):
            e = self.events[j]
            if e.start >= self.start_at - 1e-9 and e.part >= self.start_part:
                return j
        self.scanned = self.n  # none yet: look only at events still to come
        return None

    def _play_all(self) -> Literal["finished", "stopped"]:
        self._await(lambda: self._start_index() is not None)
        found = self._start_index()
        self.first = found if found is not None else self.n
        if self.first < self.n and audible(self.events[self.first]):
            self._clip(self.first)  # the first clip is ready before the clock starts
        self.origin = self.clock.now()
        self._plan(self.first, self.origin)
        while True:
            self._catch_up()
            pcm = self._clip(self.i) if self.i < self.n and audible(self.events[self.i]) else None
            key = self._wait_until(self.due[self.i])
            if key is not None:
                if self._on_key(key) == k.QUIT:
                    self._stop_sound()
                    self.status.notice(self._progress(), "stopped")
                    return "stopped"
                continue
            if self.i == self.n:
                break
            self._start(self.i, pcm)
            self.i += 1
        self._drain()
        return "finished"

    def _catch_up(self) -> None:
        """Make event `i` known (or the end), waiting for the source if it is not yet. Never
        early: a cue that comes after its time is played when it comes, the rest after it."""
        self._extend()
        self.source.check()
        if self.i < self.n or self.complete:
            return
        while not (self.i < self.n or self.complete):
            self.status.tick(self._progress())
            self.source.wait(self.i + 1, TICK)
            self._extend()
            self.source.check()
        late = self.clock.now() - self.due[self.i]
        if late > 0 and self.i < self.n:
            self._shift(late)
            if late > 0.001:
                self.status.notice(self._progress(), f"speech late by {late:.2f} s")

    def _clip(self, j: int) -> Pcm | None:
        cue = self.events[j].cue
        if not self.synthesize or cue is None:
            return None
        return self.source.pcm(cue)

    def _start(self, j: int, pcm: Pcm | None) -> None:
        if audible(self.events[j]):
            at = self.clock.now()
            if pcm is not None:
                self.current = self.device.play(*pcm)
            self.onsets.append(Onset(j, self.due[j], at))
            self.last_sound = j
        self.under_way = j
        self.status.event(self._progress(j))

    def _wait_until(self, target: float) -> str | None:
        """Wait for `target` (clock time), returning early with a key if one is pressed."""
        while True:
            remaining = target - self.clock.now()
            if remaining <= 0:
                return None
            # (2 * KEY_GUARD, not KEY_GUARD: float rounding must not leave us polling for 1e-16 s)
            if self.keys is not None and remaining > 2 * KEY_GUARD:
                key = self.keys.wait(min(remaining - KEY_GUARD, TICK))
                if key is not None:
                    return key
            elif remaining > TICK + KEY_GUARD:
                self.clock.sleep(TICK)
            else:
                self.clock.sleep(remaining)  # precise: sleeps short of it, then spins
                return None
            if target - self.clock.now() > 2 * KEY_GUARD:
                self._extend()  # keeps the end time and the status current while we wait
                self.status.tick(self._progress())

    def _plan(self, j: int, at: float) -> None:
        """Make event `j` due at clock time `at`; later events follow at the current pace."""
        self.i = j
        self.under_way = None
        self.anchor = (j, at)
        for m in range(j, len(self.due)):
            self.due[m] = self._due_of(m)

    def _shift(self, seconds: float) -> None:
        """Move the next event and everything after it `seconds` later."""
        j, at = self.anchor
        self.anchor = (j, at + seconds)
        for m in range(self.i, len(self.due)):
            self.due[m] += seconds

    def _stop_sound(self) -> None:
        if self.current is not None:
            self.current.stop()
            self.current = None

    def _drain(self) -> None:
        """Let the last sound finish on a real card (its handle says so; the null device lies)."""
        deadline = self.clock.now() + DRAIN_LIMIT
        while self.current is not None and self.current.is_playing():
            if self.clock.now() >= deadline:
                break
            self.clock.sleep(0.01)

    # --- keys ----------------------------------------------------------------------------

    def _on_key(self, key: str) -> str | None:
        now = self.clock.now()
        if key == k.QUIT:
            return k.QUIT
        if key == k.PAUSE:
            return self._pause(now)
        if key in (k.FASTER, k.SLOWER):
            self._change_pace(key == k.FASTER, now)
        elif key == k.NEXT:
            self._next(now)
        elif key == k.PREVIOUS:
            self._previous(now)
        elif key == k.REPEAT and self.last_sound is not None:
            self._jump(self.last_sound, now, "repeat")
        return None

    def _pause(self, paused_at: float) -> str | None:
        assert self.keys is not None  # only a key can pause
        self._stop_sound()
        self.status.notice(self._progress(paused=paused_at), "paused")
        while True:
            key = self.keys.wait(TICK)
            if key in (k.FASTER, k.SLOWER):
                self._change_pace(key == k.FASTER, paused_at)
            elif key == k.QUIT:
                return k.QUIT
            elif key in (k.PAUSE, k.NEXT, k.PREVIOUS, k.REPEAT):
                break
            self.status.tick(self._progress(paused=paused_at))
        now = self.clock.now()
        cut = self.under_way
        if cut is not None and audible(self.events[cut]) and paused_at < self.due[self.i]:
            self._plan(cut, now)  # the pause cut a cue short: say it again from its start
        else:
            self._shift(now - paused_at)
        self.status.notice(self._progress(), "resumed")
        return None if key == k.PAUSE else self._on_key(key)  # n/p/r also resume

    def _change_pace(self, faster: bool, now: float) -> None:
        low, high = PACE_LIMITS
        if faster:  # never past the limit, and never back from a --pace beyond it
            pace = min(self.pace * (1 + PACE_STEP), max(high, self.pace))
        else:
            pace = max(self.pace * (1 - PACE_STEP), min(low, self.pace))
        if abs(pace - self.pace) < 1e-9:
            return
        ratio = self.pace / pace  # remaining silences become this many times as long
        anchor = self.due[self.i]
        current = self.under_way
        if current is not None and self.events[current].kind == "silence" and now < anchor:
            anchor = now + (anchor - now) * ratio  # the silence under way is rescaled too
        self.pace = pace
        self.scale *= ratio
        self._plan(self.i, anchor)
        self.under_way = current  # not a jump: the event under way still is
        self.status.notice(self._progress(), f"pace {pace:.2f}")

    def _current_group(self) -> int:
        j = self.under_way if self.under_way is not None else self.i
        return self.group_of[self.events[min(j, self.n - 1)].part]

    def _next(self, now: float) -> None:
        group = self._current_group() + 1
        self._await(lambda: group < len(self.group_first))
        if group < len(self.group_first):
            self._jump(self.group_first[group], now, "next")
        else:
            self._jump(self.n, now, "end")

    def _previous(self, now: float) -> None:
        target = self._current_group()
        if self.last_p is not None and now - self.last_p[0] <= DOUBLE_PRESS:
            target = max(0, self.last_p[1] - 1)
        self.last_p = (now, target)
        self._jump(self.group_first[target], now, "restart")

    def _jump(self, j: int, now: float, what: str) -> None:
        self._stop_sound()
        self._plan(j, now)
        if j < self.n:
            label = self._part_title(self.events[j].part) or "start"
            self.status.notice(self._progress(j), f"{what}: {label}")

    # --- display -------------------------------------------------------------------------

    def _part_title(self, index: int) -> str | None:
        parts = self.source.parts
        return parts[index].title if 0 <= index < len(parts) else None

    def _progress(self, j: int | None = None, paused: float | None = None) -> Progress:
        if j is None:
            j = self.under_way if self.under_way is not None else self.i
        event = self.events[max(0, min(j, self.n - 1))]
        parts = self.source.parts
        now = self.clock.now()
        end = self._end_due() + (now - paused if paused is not None else 0.0)
        return Progress(
            event=event,
            part=parts[event.part] if 0 <= event.part < len(parts) else None,
            rep_total=self.rep_totals.get(event.part),
            elapsed=now - self.origin,
            remaining=max(0.0, end - now),
            next_title=self._part_title(event.part + 1),
            pace=self.pace,
            paused=paused is not None,
        )

    def _end_due(self) -> float:
        """When the session ends: exact once every event is known, else estimated for the
        events still to come (their clips are not made yet)."""
        if self.complete:
            return self.due[self.n]
        last = self.n - 1
        return self.due[last] + (self.source.estimated_end() - self.starts[last])


@contextmanager
def _keys_open(keys: KeySource | None) -> Iterator[None]:
    """Terminal mode for keys, restored on every way out (exceptions, Ctrl-C)."""
    if keys is None:
        yield
        return
    keys.open()
    try:
        yield
    finally:
        keys.close()


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
