"""Fakes and builders for the player tests: a clock, scripted keys, a recording device.

Imported explicitly by the player test modules (tests/conftest.py is shared).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from voiceguide.control.commands import Command, command_for_key
from voiceguide.cue import Cue
from voiceguide.live import LiveSchedule
from voiceguide.routine.loader import parse_routine
from voiceguide.routine.models import Routine
from voiceguide.sound.clip import Clip
from voiceguide.status import Progress

RATE = 22050


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)


class FakeKeys:
    """Keys pressed at scripted clock times, read as the terminal's keys are (`n` is
    Command.NEXT...); `ctrl-c` raises KeyboardInterrupt."""

    def __init__(self, clock: FakeClock, script: list[tuple[float, str]]) -> None:
        self.clock = clock
        self.script = sorted(script, key=lambda item: item[0])
        self.opened = 0
        self.closed = 0

    def open(self) -> None:
        self.opened += 1

    def close(self) -> None:
        self.closed += 1

    def wait(self, timeout: float) -> Command | None:
        if self.script and self.script[0][0] <= self.clock.t + timeout:
            at, key = self.script.pop(0)
            self.clock.t = max(self.clock.t, at)
            if key == "ctrl-c":
                raise KeyboardInterrupt
            return command_for_key(key)
        self.clock.t += timeout
        return None


@dataclass
class FakePlayback:
    device: FakeDevice
    stopped_at: float | None = None

    def stop(self) -> None:
        if self.stopped_at is None:
            self.stopped_at = self.device.clock.t
            self.device.stops.append(self.device.clock.t)

    def is_playing(self) -> bool:
        return False


@dataclass
class FakeDevice:
    """Records what is played and when; `play_cost` simulates a slow play_buffer call."""

    clock: FakeClock
    play_cost: float = 0.0
    opened: bool = False
    plays: list[tuple[float, bytes, int]] = field(default_factory=list)
    stops: list[float] = field(default_factory=list)

    def open(self) -> None:
        self.opened = True

    def play(self, pcm: bytes, rate: int) -> FakePlayback:
        self.plays.append((self.clock.t, pcm, rate))
        self.clock.t += self.play_cost
        return FakePlayback(self)

    def close(self) -> None:
        pass


class LaidOutFirst(FakeDevice):
    """Holds its first sound until the schedule is laid out to the end, so the remaining
    time the status shows is exact (not the estimate it is while clips are still made)."""

    schedule: LiveSchedule | None = None

    def play(self, pcm: bytes, rate: int) -> FakePlayback:
        deadline = time.monotonic() + 10
        while self.schedule is not None and not self.schedule.done:
            assert time.monotonic() < deadline, "the layout did not finish"
            time.sleep(0.001)
        self.schedule = None
        return super().play(pcm, rate)


class RecordingStatus:
    """Keeps every status call, for assertions."""

    def __init__(self) -> None:
        self.events: list[Progress] = []
        self.notices: list[str] = []
        self.ticks = 0
        self.ticked: list[Progress] = []
        self.closed = False

    def event(self, progress: Progress) -> None:
        self.events.append(progress)

    def tick(self, progress: Progress) -> None:
        self.ticks += 1
        self.ticked.append(progress)

    def notice(self, progress: Progress, text: str) -> None:
        self.notices.append(text)

    def close(self) -> None:
        self.closed = True


def tone_clip(cue: Cue, seconds: float = 0.5) -> Clip:
    """A clip that is different for every cue text (so bytes identify the cue)."""
    frequency = 200 + (sum(map(ord, cue.text)) % 40) * 20
    t = np.arange(int(seconds * RATE)) / RATE
    return Clip((0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), RATE)


class FakeSpeech:
    """A SpeechSource whose clips last `lengths[text]` seconds (else `default`), each a tone
    of its own (so bytes identify the cue); records the texts it made, in order."""

    def __init__(self, lengths: dict[str, float] | None = None, default: float = 0.3) -> None:
        self.lengths = lengths or {}
        self.default = default
        self.made: list[str] = []

    def prepare(self, cues: Iterable[Cue], progress: object = None) -> None:
        for cue in cues:
            if cue.text not in self.made:
                self.made.append(cue.text)

    def clip(self, cue: Cue) -> Clip:
        self.prepare([cue])
        return tone_clip(cue, self.lengths.get(cue.text, self.default))

    def check_voices(self, cues: object) -> None:
        pass  # every voice is known here

    def close(self) -> None:
        pass


# Intro, a counted step, a two-sided step, outro. Times at pace 1 (seconds):
#   0.0 Welcome (1.0)  gap 2  3.0 Cleanse your face (1.5)  breath 3  7.5 rep 1 (0.5)
#   slot 2.5 -> 10.0 rep 2, slot -> 12.5  gap  14.5 Roll left (1.0) hold 5  gap
#   22.5 Roll right (1.0) hold 5  gap  30.5 Done (1.0)  -> 31.5
SAMPLE = """
title: Test
gap: 2s
breath: 3s
intro: Welcome
steps:
  - name: Cleanse
    say: Cleanse your face
    repeat: 2
    every: 2.5s
    each: "rep {rep}"
  - name: Roll
    say: "Roll {side}"
    sides: [left, right]
    hold: 5s
outro: Done
"""
SAMPLE_LENGTHS = {
    "Welcome": 1.0,
    "Cleanse your face": 1.5,
    "rep 1": 0.5,
    "rep 2": 0.5,
    "Roll left": 1.0,
    "Roll right": 1.0,
    "Done": 1.0,
}
SAMPLE_AUDIBLE = [
    ("Welcome", 0.0),
    ("Cleanse your face", 3.0),
    ("rep 1", 7.5),
    ("rep 2", 10.0),
    ("Roll left", 14.5),
    ("Roll right", 22.5),
    ("Done", 30.5),
]
SAMPLE_TOTAL = 31.5


def routine(text: str = SAMPLE, path: str = "t.yaml") -> Routine:
    return parse_routine(text, path)
