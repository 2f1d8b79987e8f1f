"""Playing while the timeline is laid out: the first cue does not wait for the last clip.

A fake synthesizer (real thread, fake lengths) and a fake clock: the schedule is checked
against the timeline `plan` and `render` build from the same lengths.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.player_fixtures import (
    SAMPLE,
    SAMPLE_LENGTHS,
    FakeClock,
    FakeDevice,
    FakePlayback,
    RecordingStatus,
    routine,
    tone_clip,
)
from tests.player_fixtures import FakeSpeech as LengthSpeech
from voiceguide.errors import PlanError
from voiceguide.player import PlayResult, play_routine
from voiceguide.routine.builtins import resolve_routine
from voiceguide.session import prepare_session
from voiceguide.sound.clip import Clip
from voiceguide.timeline import Cue, PlanOptions

STEPS = 12
ROUTINE = (
    "title: Long\ngap: 0.5s\nbreath: 0.3s\nintro: Welcome, we start with {next}.\nsteps:\n"
    + "".join(
        f"  - name: Point {n}\n"
        f"    say: Press point {n} gently.\n"
        + ("    repeat: 2\n    every: 2s\n    each: 'Press {rep}'\n" if n % 3 == 0 else "")
        + ("    duration: 9s\n    countdown: 2\n" if n % 4 == 0 else "    hold: 1s\n")
        for n in range(1, STEPS + 1)
    )
    + "outro: Well done.\n"
)


class FakeSpeech:
    """A SpeechSource whose clips last a length made from the text; records what it made.

    `hold_from` (a number of distinct cues): synthesis of that cue and later ones waits
    until `release` is set, so a player that needed them before playing would never play.
    """

    def __init__(self, hold_from: int | None = None) -> None:
        self.made: list[str] = []
        self.hold_from = hold_from
        self.release = threading.Event()
        self.held_until_release = False

    def prepare(self, cues: Iterable[Cue], progress: object = None) -> None:
        for cue in cues:
            if cue.text in self.made:
                continue
            if self.hold_from is not None and len(self.made) >= self.hold_from:
                self.held_until_release = self.release.wait(timeout=10.0)
            self.made.append(cue.text)

    def clip(self, cue: Cue) -> Clip:
        if cue.text not in self.made:
            self.prepare([cue])
        return tone_clip(cue, seconds=0.4 + 0.0137 * len(cue.text))

    def check_voices(self, cues: object) -> None:
        pass  # every voice is known here

    def close(self) -> None:
        pass


class SignallingDevice(FakeDevice):
    """Sets `played` on the first play call, after recording how many clips were made."""

    def __init__(self, clock: FakeClock, speech: FakeSpeech) -> None:
        super().__init__(clock)
        self.speech = speech
        self.made_at_first_play: int | None = None

    def play(self, pcm: bytes, rate: int) -> FakePlayback:
        if self.made_at_first_play is None:
            self.made_at_first_play = len(self.speech.made)
            self.speech.release.set()
        return super().play(pcm, rate)


@pytest.fixture
def routine_path(tmp_path: Path) -> Path:
    path = tmp_path / "long.yaml"
    path.write_text(ROUTINE)
    return path


def timings(result: PlayResult) -> list[tuple[tuple[int, int], float]]:
    """(position, due time from the start) of every sound sent."""
    return [(o.event.position, o.due - result.origin) for o in result.onsets]


def test_first_cue_plays_before_later_cues_are_made_and_the_schedule_is_the_plan(
    routine_path: Path,
) -> None:
    speech = FakeSpeech(hold_from=3)
    clock = FakeClock()
    device = SignallingDevice(clock, speech)
    status = RecordingStatus()
    warnings: list[str] = []
    result = play_routine(
        resolve_routine(str(routine_path)),
        PlanOptions(),
        speech=speech,
        device=device,
        clock=clock,
        status=status,
        warn=warnings.append,
    )
    # The first sound went out with at most three clips made; the rest were held until then.
    assert device.made_at_first_play is not None and device.made_at_first_play <= 3
    assert speech.held_until_release
    assert len(speech.made) > STEPS  # every distinct text, made after the first sound
    # Every sound at exactly the time of the timeline built up front from the same lengths.
    planned = prepare_session(str(routine_path), PlanOptions(), FakeSpeech()).timeline
    audible = [(e.position, e) for e in planned.events if e.sounds]
    assert [j for j, _ in timings(result)] == [j for j, _ in audible]
    for (_, due), (_, event) in zip(timings(result), audible, strict=True):
        assert due == pytest.approx(event.start, abs=1e-9)
    assert [o.at for o in result.onsets] == [o.due for o in result.onsets]  # fake clock: exact
    assert result.elapsed == pytest.approx(planned.total, abs=1e-9)
    # Each clip's bytes, and the status's remaining time exact by the end.
    for (_, pcm, _), (_, event) in zip(device.plays, audible, strict=True):
        assert event.cue is not None
        assert (
            pcm
            == tone_clip(event.cue, seconds=0.4 + 0.0137 * len(event.cue.text)).to_int16().tobytes()
        )
    last = status.events[-1]
    assert last.remaining == pytest.approx(planned.total - planned.events[-1].start, abs=1e-6)
    assert warnings == list(planned.warnings)


def test_from_a_step_plays_its_first_cue_first(routine_path: Path) -> None:
    clock = FakeClock()
    result = play_routine(
        resolve_routine(str(routine_path)),
        PlanOptions(),
        start_step="Point 7",
        speech=FakeSpeech(),
        device=FakeDevice(clock),
        clock=clock,
        status=RecordingStatus(),
    )
    planned = prepare_session(str(routine_path), PlanOptions(), FakeSpeech()).timeline
    first = next(j for j, e in enumerate(planned.events) if e.step == "Point 7")
    assert planned.events[first].text == "Press point 7 gently."
    base = planned.events[first].start
    expected = [(e.position, e.start - base) for e in planned.events[first:] if e.sounds]
    assert [j for j, _ in timings(result)] == [j for j, _ in expected]
    for (_, due), (_, start) in zip(timings(result), expected, strict=True):
        assert due == pytest.approx(start, abs=1e-9)


def test_a_plan_error_found_while_playing_stops_the_session(tmp_path: Path) -> None:
    # Step 9's speech outgrows its duration: found when the layout reaches it.
    path = tmp_path / "bad.yaml"
    path.write_text(ROUTINE.replace("Press point 8 gently.", "Press point eight " + "very " * 100))
    clock = FakeClock()
    device = FakeDevice(clock)
    with pytest.raises(PlanError, match="step 'Point 8' speaks for"):
        play_routine(
            resolve_routine(str(path)),
            PlanOptions(),
            speech=FakeSpeech(),
            device=device,
            clock=clock,
            status=RecordingStatus(),
        )


class LateSpeech(LengthSpeech):
    """Makes "Roll left" (due at 14.5 s) only once the player waits for it, and as if that
    took until 15.0 s on the session's clock: a clip that comes after its time."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(SAMPLE_LENGTHS)
        self.clock = clock
        self.start = clock.t  # the fake clock does not move before the first sound

        self.delayed = False

    def clip(self, cue: Cue) -> Clip:
        if cue.text == "Roll left" and not self.delayed:
            self.delayed = True
            # Wait (real time) until the player has reached the gap before it (12.5 s).
            deadline = time.monotonic() + 10
            while self.clock.t < self.start + 12.5 and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(0.05)  # the player is now waiting for this clip
            self.clock.t = self.start + 15.0
        return super().clip(cue)


def test_a_cue_not_ready_in_time_is_played_late_never_early_and_the_rest_follows() -> None:
    clock = FakeClock()
    status = RecordingStatus()
    result = play_routine(
        routine(SAMPLE),
        PlanOptions(),
        speech=LateSpeech(clock),
        device=FakeDevice(clock),
        clock=clock,
        status=status,
    )
    times = {o.event.text: o.at - result.origin for o in result.onsets}
    assert times["rep 2"] == pytest.approx(10.0)
    assert times["Roll left"] == pytest.approx(15.0)  # when it came, not before
    assert times["Roll right"] - times["Roll left"] == pytest.approx(8.0)  # spacing kept
    assert times["Done"] - times["Roll left"] == pytest.approx(16.0)
    assert all(o.at >= o.due for o in result.onsets)
    assert status.notices == ["speech late by 0.50 s"]
