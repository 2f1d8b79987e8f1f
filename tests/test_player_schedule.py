"""The scheduler with a fake clock, fake keys and a recording device: deterministic, no sleeping."""

from __future__ import annotations

import io

import pytest

from tests.player_fixtures import (
    FakeClock,
    FakeDevice,
    FakeKeys,
    RecordingStatus,
    sample_timeline,
    tone_clip,
)
from voiceguide.errors import Interrupted, PlanError, SynthesisError
from voiceguide.player import PlayResult, play, step_start
from voiceguide.status import PlainStatus, status_line
from voiceguide.timeline import Cue

# sample_timeline(): index -> (start, text) of its audible events
AUDIBLE = {
    0: (0.0, "Welcome"),
    2: (3.0, "Cleanse your face"),
    4: (7.5, "one"),
    6: (10.0, "two"),
    8: (12.5, "bell"),
    9: (13.0, "Roll left"),
    11: (19.0, "Roll right"),
    13: (25.0, "Done"),
}


def run(
    script: list[tuple[float, str]] | None = None, **kwargs: object
) -> tuple[PlayResult, FakeDevice, RecordingStatus, FakeKeys | None]:
    """Play sample_timeline() with fakes; key times in `script` are seconds from the start."""
    clock = FakeClock()
    device = FakeDevice(clock, play_cost=float(kwargs.pop("play_cost", 0.0)))  # type: ignore[arg-type]
    status = RecordingStatus()
    keys = None if script is None else FakeKeys(clock, [(clock.t + t, key) for t, key in script])
    timeline = kwargs.pop("timeline", sample_timeline())
    result = play(
        timeline,  # type: ignore[arg-type]
        tone_clip,
        device=device,
        clock=clock,
        keys=keys,
        status=status,
        **kwargs,  # type: ignore[arg-type]
    )
    return result, device, status, keys


def played(result: PlayResult) -> list[tuple[int, float]]:
    """(event index, seconds after the session start) of every sound sent."""
    return [(o.index, round(o.at - result.origin, 6)) for o in result.onsets]


def test_every_audible_event_starts_at_its_timeline_time() -> None:
    result, device, status, _ = run()
    assert played(result) == [(i, start) for i, (start, _) in AUDIBLE.items()]
    assert result.status == "finished"
    assert result.elapsed == pytest.approx(26.0)
    assert status.closed
    # What reaches the device is exactly each cue's clip as 16-bit PCM.
    timeline = sample_timeline()
    for (_, pcm, rate), onset in zip(device.plays, result.onsets, strict=True):
        cue = timeline.events[onset.index].cue
        assert cue is not None
        assert pcm == tone_clip(cue).to_int16().tobytes()
        assert rate == 22050


def test_a_slow_device_call_does_not_accumulate_drift() -> None:
    # Each play_buffer call takes 40 ms: pacing on the previous clip would drift 40 ms a cue.
    result, _, _, _ = run(play_cost=0.04)
    assert [o.at - o.due for o in result.onsets] == [0.0] * len(AUDIBLE)
    assert played(result) == [(i, start) for i, (start, _) in AUDIBLE.items()]


def test_pause_in_a_silence_shifts_the_rest_of_the_schedule() -> None:
    # Paused at 5.0 s (in the silence after "Cleanse"), resumed at 12.0 s: 7 s later.
    result, device, status, keys = run([(5.0, " "), (12.0, " ")])
    times = dict(played(result))
    assert times[2] == 3.0
    assert times[4] == 7.5 + 7.0
    assert times[13] == 25.0 + 7.0
    assert result.elapsed == pytest.approx(33.0)
    assert status.notices[:2] == ["paused", "resumed"]
    assert keys is not None and keys.opened == keys.closed == 1


def test_pause_during_a_cue_stops_it_and_says_it_again_on_resume() -> None:
    result, device, _, _ = run([(3.5, " "), (6.0, " ")])
    assert device.stops and device.stops[0] == pytest.approx(device.plays[0][0] + 3.5)
    assert [i for i, _ in played(result)][:3] == [0, 2, 2]
    times = played(result)
    assert times[2] == (2, 6.0)  # "Cleanse your face" again, from the start
    assert dict(times)[4] == 6.0 + 1.5 + 3.0  # then the schedule as planned from there


def test_next_jumps_to_the_next_part_and_stops_the_sound() -> None:
    result, device, status, _ = run([(3.2, "n")])
    indices = [i for i, _ in played(result)]
    assert indices == [0, 2, 8, 9, 11, 13]
    assert dict(played(result))[8] == 3.2
    assert device.stops[0] == pytest.approx(device.plays[0][0] + 3.2)
    assert "next: Roll (left)" in status.notices


def test_next_on_the_last_part_ends_the_session() -> None:
    result, _, _, _ = run([(25.2, "n")])
    assert result.status == "finished"
    assert result.elapsed == pytest.approx(25.2)


def test_next_skips_the_rest_of_a_step_with_sides() -> None:
    # In "Roll (left)", n goes past "Roll (right)" (the same step) to the outro.
    result, _, status, _ = run([(14.0, "n")])
    assert [i for i, _ in played(result)] == [0, 2, 4, 6, 8, 9, 13]
    assert dict(played(result))[13] == 14.0
    assert "next: Outro" in status.notices


def test_previous_on_a_later_side_restarts_the_step_from_its_first_side() -> None:
    result, _, status, _ = run([(20.0, "p")])
    assert played(result)[-5:] == [(11, 19.0), (8, 20.0), (9, 20.5), (11, 26.5), (13, 32.5)]
    assert "restart: Roll (left)" in status.notices


def test_pace_keys_step_ten_percent_and_stop_at_the_limits() -> None:
    result, _, _, _ = run([(1.0, "+"), (1.1, "+")])
    assert result.pace == pytest.approx(1.21)
    result, _, _, _ = run([(1.0, "-"), (1.1, "-")])
    assert result.pace == pytest.approx(0.81)
    # A session started beyond the keys' range is never moved the wrong way by them.
    fast = sample_timeline(pace=5.0)
    result, _, _, _ = run([(0.5, "+")], timeline=fast)
    assert result.pace == pytest.approx(5.0)
    result, _, _, _ = run([(0.5, "-")], timeline=fast)
    assert result.pace == pytest.approx(4.5)
    slow = sample_timeline(pace=0.2)
    result, _, _, _ = run([(0.5, "-")], timeline=slow)
    assert result.pace == pytest.approx(0.2)
    result, _, _, _ = run([(0.5, "+")], timeline=slow)
    assert result.pace == pytest.approx(0.22)


def test_previous_restarts_the_part_then_goes_back_one_when_pressed_twice() -> None:
    # At 9.0 s we are in "Cleanse": p restarts it; p again 1 s later goes back to the intro.
    result, _, _, _ = run([(9.0, "p"), (10.0, "p")])
    times = played(result)
    assert times[:5] == [(0, 0.0), (2, 3.0), (4, 7.5), (2, 9.0), (0, 10.0)]
    # Pressed far apart, each p only restarts the current part.
    result, _, _, _ = run([(9.0, "p"), (12.0, "p")])
    assert played(result)[:5] == [(0, 0.0), (2, 3.0), (4, 7.5), (2, 9.0), (2, 12.0)]


def test_repeat_says_the_last_cue_again_and_continues_from_it() -> None:
    result, _, _, _ = run([(9.0, "r")])
    times = played(result)
    assert times[:4] == [(0, 0.0), (2, 3.0), (4, 7.5), (4, 9.0)]
    assert dict(times[4:])[6] == 9.0 + 0.5 + 2.0


def test_faster_shortens_remaining_silences_only() -> None:
    # "+" at 5.0 s, 0.5 s into the 3 s silence after "Cleanse" (3.0-4.5 speech).
    result, _, _, _ = run([(5.0, "+")])
    ratio = 1 / 1.1  # pace 1.1: silences 1/1.1 as long
    times = dict(played(result))
    assert times[4] == pytest.approx(5.0 + 2.5 * ratio)
    assert times[6] == pytest.approx(times[4] + 0.5 + 2.0 * ratio)  # speech keeps its length
    assert times[9] - times[8] == pytest.approx(0.5)  # tone then speech, no silence between
    assert times[13] - times[11] == pytest.approx(1.0 + 5.0 * ratio)
    assert result.pace == pytest.approx(1.1)


def test_slower_during_a_cue_leaves_that_cue_alone() -> None:
    result, _, _, _ = run([(3.5, "-")])
    times = dict(played(result))
    assert times[4] == pytest.approx(4.5 + 3.0 / 0.9)
    assert result.pace == pytest.approx(0.9)


def test_quit_stops_the_sound_and_reports_stopped() -> None:
    result, device, status, keys = run([(3.2, "q")])
    assert result.status == "stopped"
    assert [i for i, _ in played(result)] == [0, 2]
    assert device.stops == [pytest.approx(device.plays[-1][0] + 0.2)]
    assert status.notices[-1] == "stopped"
    assert keys is not None and keys.closed == 1


def test_ctrl_c_stops_the_sound_restores_keys_and_exits_130() -> None:
    clock = FakeClock()
    device = FakeDevice(clock)
    keys = FakeKeys(clock, [(clock.t + 3.2, "ctrl-c")])
    with pytest.raises(Interrupted) as caught:
        play(
            sample_timeline(),
            tone_clip,
            device=device,
            clock=clock,
            keys=keys,
            status=RecordingStatus(),
        )
    assert caught.value.exit_code == 130
    assert device.stops == [pytest.approx(clock.t)]
    assert keys.closed == 1


def test_keys_are_restored_when_synthesis_fails() -> None:
    clock = FakeClock()
    keys = FakeKeys(clock, [])

    def failing(cue: Cue) -> object:
        raise SynthesisError("eSpeak failed")

    with pytest.raises(SynthesisError, match="eSpeak failed"):
        play(
            sample_timeline(),
            failing,
            device=FakeDevice(clock),
            clock=clock,
            keys=keys,
            status=RecordingStatus(),
        )  # type: ignore[arg-type]
    assert keys.closed == 1


def test_pause_then_next_resumes_at_the_next_part() -> None:
    result, _, status, _ = run([(5.0, " "), (8.0, "n")])
    assert dict(played(result))[8] == 8.0
    assert status.notices[:3] == ["paused", "resumed", "next: Roll (left)"]


def test_dry_run_uses_no_device_and_no_synthesis() -> None:
    clock = FakeClock()

    class NoDevice(FakeDevice):
        def open(self) -> None:
            raise AssertionError("dry run must not open a device")

    def no_synthesis(cue: Cue) -> object:
        raise AssertionError("dry run must not synthesize")

    out = io.StringIO()
    result = play(
        sample_timeline(),
        no_synthesis,  # type: ignore[arg-type]
        device=NoDevice(clock),
        clock=clock,
        status=PlainStatus(out),
        dry_run=True,
    )
    assert played(result) == [(i, start) for i, (start, _) in AUDIBLE.items()]
    lines = out.getvalue().splitlines()
    assert len(lines) == 14
    assert lines[0] == "00:00.0  Intro  Welcome"
    assert lines[1] == "00:01.0  Intro  (wait 2.0 s)"
    assert lines[8] == "00:12.5  Roll (left)  [bell]"


def test_start_at_a_step() -> None:
    timeline = sample_timeline()
    assert step_start(timeline, "roll") == 12.5
    assert step_start(timeline, "1") == 3.0
    with pytest.raises(
        PlanError, match=r"no step 'Rinse' in this routine \(steps: 1 Cleanse, 2 Roll\)"
    ):
        step_start(timeline, "Rinse")
    result, _, _, _ = run(start_at=12.5)
    assert played(result) == [(8, 0.0), (9, 0.5), (11, 6.5), (13, 12.5)]
    assert result.elapsed == pytest.approx(13.5)


def test_status_progress_and_line() -> None:
    _, _, status, _ = run()
    one = next(p for p in status.events if p.event.text == "one")
    assert one.rep_total == 2
    assert one.elapsed == pytest.approx(7.5)
    assert one.remaining == pytest.approx(26.0 - 7.5)
    assert status_line(one) == "Step 1 Cleanse · rep 1/2 · 0:08 / 0:19 left · next: Roll (left)"
    left = next(p for p in status.events if p.event.text == "Roll left")
    assert status_line(left).startswith(
        "Step 2 Roll · left · 0:13 / 0:13 left · next: Roll (right)"
    )


def test_pause_after_jumping_back_before_the_start_step_still_restarts_the_cue() -> None:
    # Started at "Roll (left)"; p p goes back to "Cleanse"; a pause in its first cue restarts it.
    result, _, _, _ = run([(1.0, "p"), (1.4, "p"), (2.0, " "), (4.0, " ")], start_at=12.5)
    expected = [(8, 0.0), (9, 0.5), (8, 1.0), (2, 1.4), (2, 4.0), (4, 4.0 + 1.5 + 3.0)]
    assert played(result)[:6] == expected


def test_pace_change_then_pause_during_the_same_cue() -> None:
    result, _, _, _ = run([(3.2, "+"), (3.4, " "), (5.0, " ")])
    times = dict(played(result)[2:])
    assert played(result)[2] == (2, 5.0)
    assert times[4] == pytest.approx(5.0 + 1.5 + 3.0 / 1.1)


def test_terminal_status_prints_text_and_redraws_one_line() -> None:
    from voiceguide.status import TerminalStatus

    out = io.StringIO()
    clock = FakeClock()
    play(
        sample_timeline(),
        tone_clip,
        device=FakeDevice(clock),
        clock=clock,
        status=TerminalStatus(out),
    )
    text = out.getvalue()
    printed = [chunk.split("\n")[0] for chunk in text.split("\r\x1b[2K") if "\n" in chunk]
    assert printed == [
        "Welcome",
        "Cleanse your face",
        "one",
        "two",
        "Roll left",
        "Roll right",
        "Done",
    ]
    assert "Step 2 Roll · right · 0:19 / 0:07 left · next: Outro" in text
    assert text.endswith("\r\x1b[2K")  # the status line is cleared at the end
