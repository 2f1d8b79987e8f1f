"""Fakes and builders for the player tests: a clock, scripted keys, a recording device.

Imported explicitly by the player test modules (tests/conftest.py is shared).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voiceguide.sound.clip import Clip
from voiceguide.status import Progress
from voiceguide.timeline import Cue, Event, Part, Timeline

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
    """Keys pressed at scripted clock times; `KeyboardInterrupt` as a key raises it."""

    def __init__(self, clock: FakeClock, script: list[tuple[float, str]]) -> None:
        self.clock = clock
        self.script = sorted(script, key=lambda item: item[0])
        self.opened = 0
        self.closed = 0

    def open(self) -> None:
        self.opened += 1

    def close(self) -> None:
        self.closed += 1

    def wait(self, timeout: float) -> str | None:
        if self.script and self.script[0][0] <= self.clock.t + timeout:
            at, key = self.script.pop(0)
            self.clock.t = max(self.clock.t, at)
            if key == "ctrl-c":
                raise KeyboardInterrupt
            return key
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


class RecordingStatus:
    """Keeps every status call, for assertions."""

    def __init__(self) -> None:
        self.events: list[Progress] = []
        self.notices: list[str] = []
        self.ticks = 0
        self.closed = False

    def event(self, progress: Progress) -> None:
        self.events.append(progress)

    def tick(self, progress: Progress) -> None:
        self.ticks += 1

    def notice(self, progress: Progress, text: str) -> None:
        self.notices.append(text)

    def close(self) -> None:
        self.closed = True


def tone_clip(cue: Cue, seconds: float = 0.5) -> Clip:
    """A clip that is different for every cue text (so bytes identify the cue)."""
    frequency = 200 + (sum(map(ord, cue.text)) % 40) * 20
    t = np.arange(int(seconds * RATE)) / RATE
    return Clip((0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32), RATE)


# A part: (kind, title, step, step_number, side, [(event kind, seconds, text, rep), ...])
PartSpec = tuple[
    str, str, str | None, int | None, str | None, list[tuple[str, float, str, int | None]]
]


def build_timeline(parts: list[PartSpec], pace: float = 1.0, title: str = "Test") -> Timeline:
    """Contiguous events from 0, grouped in parts, the way the timeline builder lays them out."""
    events: list[Event] = []
    part_list: list[Part] = []
    t = 0.0
    for index, (kind, part_title, step, number, side, items) in enumerate(parts):
        start = t
        content_end = t
        for event_kind, seconds, text, rep in items:
            cue = None if event_kind == "silence" else Cue(event_kind, text)  # type: ignore[arg-type]
            events.append(
                Event(
                    start=t,
                    end=t + seconds,
                    kind=event_kind,  # type: ignore[arg-type]
                    text=None if event_kind == "silence" else text,
                    step=step,
                    side=side,
                    rep=rep,
                    part=index,
                    cue=cue,
                )
            )
            t += seconds
            if event_kind != "silence":
                content_end = t
        part_list.append(Part(index, kind, part_title, start, content_end, step, number, side))  # type: ignore[arg-type]
    return Timeline(title, tuple(events), tuple(part_list), pace, t)


def sample_timeline(pace: float = 1.0) -> Timeline:
    """Intro, a counted step, a two-sided step, outro: 14 events, 31 s."""
    return build_timeline(
        [
            (
                "intro",
                "Intro",
                None,
                None,
                None,
                [("speech", 1.0, "Welcome", None), ("silence", 2.0, "", None)],
            ),
            (
                "step",
                "Cleanse",
                "Cleanse",
                1,
                None,
                [
                    ("speech", 1.5, "Cleanse your face", None),
                    ("silence", 3.0, "", None),
                    ("speech", 0.5, "one", 1),
                    ("silence", 2.0, "", 1),
                    ("speech", 0.5, "two", 2),
                    ("silence", 2.0, "", 2),
                ],
            ),
            (
                "step",
                "Roll (left)",
                "Roll",
                2,
                "left",
                [
                    ("tone", 0.5, "bell", None),
                    ("speech", 1.0, "Roll left", None),
                    ("silence", 5.0, "", None),
                ],
            ),
            (
                "step",
                "Roll (right)",
                "Roll",
                2,
                "right",
                [("speech", 1.0, "Roll right", None), ("silence", 5.0, "", None)],
            ),
            ("outro", "Outro", None, None, None, [("speech", 1.0, "Done", None)]),
        ],
        pace,
    )
