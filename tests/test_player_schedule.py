"""The scheduler with a fake clock, fake keys and a recording device: deterministic, no sleeping.

The routine is real (tests.player_fixtures.SAMPLE), its clips fake with known lengths, so
every expected time below follows from the README's timing rules.
"""

from __future__ import annotations

import io
import threading
import time

import pytest

from tests.player_fixtures import (
    SAMPLE,
    SAMPLE_AUDIBLE,
    SAMPLE_LENGTHS,
    SAMPLE_TOTAL,
    FakeClock,
    FakeDevice,
    FakeKeys,
    FakeSpeech,
    LaidOutFirst,
    RecordingStatus,
    routine,
    tone_clip,
)
from voiceguide.cue import Cue
from voiceguide.errors import Interrupted, PlanError, SynthesisError
from voiceguide.live import LiveSchedule
from voiceguide.player import PlayResult, play_routine, play_schedule, step_part
from voiceguide.sound.clip import Clip
from voiceguide.status import PlainStatus, StatusSink, status_line
from voiceguide.timeline import PlanOptions, build_timeline, sketch_timeline


def run(
    script: list[tuple[float, str]] | None = None,
    *,
    text: str = SAMPLE,
    options: PlanOptions | None = None,
    play_cost: float = 0.0,
    status: StatusSink | None = None,
    speech: FakeSpeech | None = None,
    **kwargs: object,
) -> tuple[PlayResult, FakeDevice, RecordingStatus, FakeKeys | None]:
    """Play `text` with fakes; key times in `script` are seconds from the start."""
    clock = FakeClock()
    device = FakeDevice(clock, play_cost=play_cost)
    recording = RecordingStatus()
    keys = None if script is None else FakeKeys(clock, [(clock.t + t, key) for t, key in script])
    result = play_routine(
        routine(text),
        options or PlanOptions(),
        commands=keys,
        speech=speech or FakeSpeech(SAMPLE_LENGTHS),
        device=device,
        clock=clock,
        status=status or recording,
        **kwargs,  # type: ignore[arg-type]
    )
    return result, device, recording, keys


def played(result: PlayResult) -> list[tuple[str | None, float]]:
    """(text, seconds after the session start) of every sound sent."""
    return [(o.event.text, round(o.at - result.origin, 6)) for o in result.onsets]


def at(result: PlayResult, text: str, nth: int = 0) -> float:
    """When the nth sound with this text was sent, in seconds from the start."""
    return [t for said, t in played(result) if said == text][nth]


def test_every_audible_event_starts_at_its_timeline_time() -> None:
    result, device, status, _ = run()
    assert played(result) == SAMPLE_AUDIBLE
    assert result.status == "finished"
    assert result.elapsed == pytest.approx(SAMPLE_TOTAL)
    assert status.closed
    # What reaches the device is exactly each cue's clip as 16-bit PCM.
    for (_, pcm, rate), onset in zip(device.plays, result.onsets, strict=True):
        cue = onset.event.cue
        assert cue is not None
        assert pcm == tone_clip(cue, SAMPLE_LENGTHS[cue.text]).to_int16().tobytes()
        assert rate == 22050


def test_a_slow_device_call_does_not_accumulate_drift() -> None:
    # Each play_buffer call takes 40 ms: pacing on the previous clip would drift 40 ms a cue.
    result, _, _, _ = run(play_cost=0.04)
    assert [o.at - o.due for o in result.onsets] == [0.0] * len(SAMPLE_AUDIBLE)
    assert played(result) == SAMPLE_AUDIBLE


def test_pause_in_a_silence_shifts_the_rest_of_the_schedule() -> None:
    # Paused at 5.0 s (in the breath after "Cleanse your face"), resumed at 12.0 s: 7 s later.
    result, _, status, keys = run([(5.0, " "), (12.0, " ")])
    assert at(result, "Cleanse your face") == 3.0
    assert at(result, "rep 1") == 7.5 + 7.0
    assert at(result, "Done") == 30.5 + 7.0
    assert result.elapsed == pytest.approx(SAMPLE_TOTAL + 7.0)
    assert status.notices[:2] == ["paused", "resumed"]
    assert keys is not None and keys.opened == keys.closed == 1


def test_pause_during_a_cue_stops_it_and_says_it_again_on_resume() -> None:
    result, device, _, _ = run([(3.5, " "), (6.0, " ")])
    assert device.stops and device.stops[0] == pytest.approx(device.plays[0][0] + 3.5)
    assert played(result)[:3] == [("Welcome", 0.0), ("Cleanse your face", 3.0)] + [
        ("Cleanse your face", 6.0)
    ]
    assert at(result, "rep 1") == 6.0 + 1.5 + 3.0  # then the schedule as planned from there


def test_next_jumps_to_the_next_step_and_stops_the_sound() -> None:
    result, device, status, _ = run([(3.2, "n")])
    assert played(result) == [
        ("Welcome", 0.0),
        ("Cleanse your face", 3.0),
        ("Roll left", 3.2),
        ("Roll right", 11.2),
        ("Done", 19.2),
    ]
    assert device.stops[0] == pytest.approx(device.plays[0][0] + 3.2)
    assert "next: Roll (left)" in status.notices


def test_next_on_the_last_part_ends_the_session() -> None:
    result, _, status, _ = run([(30.7, "n")])
    assert result.status == "finished"
    assert result.elapsed == pytest.approx(30.7)
    assert "next: end" in status.notices


def test_next_skips_the_rest_of_a_step_with_sides() -> None:
    # In "Roll (left)", n goes past "Roll (right)" (the same step) to the outro.
    result, _, status, _ = run([(16.0, "n")])
    assert [text for text, _ in played(result)][-2:] == ["Roll left", "Done"]
    assert at(result, "Done") == 16.0
    assert "next: Outro" in status.notices


def test_previous_on_a_later_side_restarts_the_step_from_its_first_side() -> None:
    result, _, status, _ = run([(24.0, "p")])
    assert played(result)[-4:] == [
        ("Roll right", 22.5),
        ("Roll left", 24.0),
        ("Roll right", 32.0),
        ("Done", 40.0),
    ]
    assert "restart: Roll (left)" in status.notices


def test_pace_keys_step_ten_percent_and_stop_at_the_limits() -> None:
    result, _, _, _ = run([(1.0, "+"), (1.1, "+")])
    assert result.pace == pytest.approx(1.21)
    result, _, _, _ = run([(1.0, "-"), (1.1, "-")])
    assert result.pace == pytest.approx(0.81)
    # A session started beyond the keys' range is never moved the wrong way by them.
    result, _, _, _ = run([(0.5, "+")], options=PlanOptions(pace=5.0))
    assert result.pace == pytest.approx(5.0)
    result, _, _, _ = run([(0.5, "-")], options=PlanOptions(pace=5.0))
    assert result.pace == pytest.approx(4.5)
    result, _, _, _ = run([(0.5, "-")], options=PlanOptions(pace=0.2))
    assert result.pace == pytest.approx(0.2)
    result, _, _, _ = run([(0.5, "+")], options=PlanOptions(pace=0.2))
    assert result.pace == pytest.approx(0.22)


def test_previous_restarts_the_step_then_goes_back_one_when_pressed_twice() -> None:
    # At 9.0 s we are in "Cleanse": p restarts it; p again 1 s later goes back to the intro.
    result, _, _, _ = run([(9.0, "p"), (10.0, "p")])
    assert played(result)[:5] == [
        ("Welcome", 0.0),
        ("Cleanse your face", 3.0),
        ("rep 1", 7.5),
        ("Cleanse your face", 9.0),
        ("Welcome", 10.0),
    ]
    # Pressed far apart, each p only restarts the current step.
    result, _, _, _ = run([(9.0, "p"), (12.0, "p")])
    assert played(result)[3:5] == [("Cleanse your face", 9.0), ("Cleanse your face", 12.0)]


def test_repeat_says_the_last_cue_again_and_continues_from_it() -> None:
    result, _, _, _ = run([(9.0, "r")])
    assert played(result)[:4] == [
        ("Welcome", 0.0),
        ("Cleanse your face", 3.0),
        ("rep 1", 7.5),
        ("rep 1", 9.0),
    ]
    assert at(result, "rep 2") == 9.0 + 2.5  # a slot lasts `every` from its onset


def test_faster_shortens_the_rest_of_the_silence_under_way_and_every_later_one() -> None:
    # "+" at 5.0 s, a sixth into the 3 s breath after "Cleanse your face" (3.0-4.5 speech).
    result, _, _, _ = run([(5.0, "+")])
    pace = 1.1
    assert at(result, "rep 1") == pytest.approx(5.0 + 2.5 / pace)
    assert at(result, "rep 2") == pytest.approx(at(result, "rep 1") + 2.5 / pace)
    right_after_left = at(result, "Roll right") - at(result, "Roll left")
    assert right_after_left == pytest.approx(1.0 + (5.0 + 2.0) / pace)  # speech keeps its length
    assert result.pace == pytest.approx(pace)


def test_slower_during_a_cue_leaves_that_cue_alone() -> None:
    result, device, _, _ = run([(3.5, "-")])
    assert at(result, "rep 1") == pytest.approx(4.5 + 3.0 / 0.9)
    assert device.stops == []  # nothing was cut
    assert [text for text, _ in played(result)].count("Cleanse your face") == 1
    assert result.pace == pytest.approx(0.9)


COUNTDOWN = """
title: Countdown
steps:
  - name: Hold
    say: Hold the stretch
    hold: 10s
    countdown: 3
  - name: After
    say: Release
"""
COUNTDOWN_LENGTHS = {"Hold the stretch": 1.0, "3": 0.3, "2": 0.3, "1": 0.3, "Release": 1.0}


def ticks(result: PlayResult) -> list[float]:
    return [at(result, n) for n in ("3", "2", "1")]


@pytest.mark.parametrize(
    "script",
    [
        [(8.5, "+")],  # between "3" (8.0) and "2": the README's one-second promise
        [(8.5, "-")],
        [(8.1, "+"), (8.6, "+"), (9.2, "-")],  # several, inside ticks and between them
        [(3.0, "+"), (7.9, "-")],  # in the hold before the countdown, then again
    ],
)
def test_countdown_ticks_stay_one_second_apart_after_any_pace_change(
    script: list[tuple[float, str]],
) -> None:
    result, _, _, _ = run(script, text=COUNTDOWN, speech=FakeSpeech(COUNTDOWN_LENGTHS))
    three, two, one = ticks(result)
    assert two - three == pytest.approx(1.0, abs=1e-3)
    assert one - two == pytest.approx(1.0, abs=1e-3)
    # "1" starts one second before the hold ends: the gap (1 s / pace) then "Release".
    gap = 1.0 / result.pace
    assert at(result, "Release") == pytest.approx(one + 1.0 + gap, abs=1e-3)


def test_a_pace_change_in_the_hold_resumes_its_share_of_the_silence_at_the_new_pace() -> None:
    # "+" 2 s into the 7 s of silence before "3" (1.0-8.0): 5/7 of it is left, and at pace
    # 1.1 that silence is 10/1.1 - 3 s long (the hold divided by pace, less the countdown).
    result, _, _, _ = run([(3.0, "+")], text=COUNTDOWN, speech=FakeSpeech(COUNTDOWN_LENGTHS))
    assert ticks(result)[0] == pytest.approx(3.0 + 5 / 7 * (10 / 1.1 - 3), abs=1e-6)


def test_quit_stops_the_sound_and_reports_stopped() -> None:
    result, device, status, keys = run([(3.2, "q")])
    assert result.status == "stopped"
    assert [text for text, _ in played(result)] == ["Welcome", "Cleanse your face"]
    assert device.stops == [pytest.approx(device.plays[-1][0] + 0.2)]
    assert status.notices[-1] == "stopped"
    assert keys is not None and keys.closed == 1


def test_ctrl_c_stops_the_sound_restores_keys_and_exits_130() -> None:
    clock = FakeClock()
    device = FakeDevice(clock)
    keys = FakeKeys(clock, [(clock.t + 3.2, "ctrl-c")])
    with pytest.raises(Interrupted) as caught:
        play_routine(
            routine(),
            PlanOptions(),
            commands=keys,
            speech=FakeSpeech(SAMPLE_LENGTHS),
            device=device,
            clock=clock,
            status=RecordingStatus(),
        )
    assert caught.value.exit_code == 130
    assert device.stops == [pytest.approx(clock.t)]
    assert keys.closed == 1


def test_keys_are_restored_when_synthesis_fails() -> None:
    clock = FakeClock()
    keys = FakeKeys(clock, [])

    class Failing(FakeSpeech):
        def prepare(self, cues: object, progress: object = None) -> None:
            raise SynthesisError("eSpeak failed")

    with pytest.raises(SynthesisError, match="eSpeak failed"):
        play_routine(
            routine(),
            PlanOptions(),
            commands=keys,
            speech=Failing(),
            device=FakeDevice(clock),
            clock=clock,
            status=RecordingStatus(),
        )
    assert keys.closed == 1


def test_pause_then_next_resumes_at_the_next_step() -> None:
    result, _, status, _ = run([(5.0, " "), (8.0, "n")])
    assert at(result, "Roll left") == 8.0
    assert status.notices[:3] == ["paused", "resumed", "next: Roll (left)"]


def test_dry_run_opens_no_device_and_prints_every_event_to_the_millisecond() -> None:
    clock = FakeClock()

    class NoDevice(FakeDevice):
        def open(self) -> None:
            raise AssertionError("dry run must not open a device")

    out = io.StringIO()
    result = play_routine(
        routine(),
        PlanOptions(),
        speech=FakeSpeech(SAMPLE_LENGTHS),
        device=NoDevice(clock),
        clock=clock,
        status=PlainStatus(out),
        dry_run=True,
    )
    assert played(result) == SAMPLE_AUDIBLE
    lines = out.getvalue().splitlines()
    assert len(lines) == 16  # every event, silences too
    assert lines[0] == "00:00.000  Intro  Welcome"
    assert lines[1] == "00:01.000  Intro  (silence 2.000 s)"
    assert lines[4] == "00:07.500  Cleanse  rep 1"
    assert lines[-1] == "00:30.500  Outro  Done"


def test_start_at_a_step() -> None:
    parts = sketch_timeline(routine(), PlanOptions()).parts
    assert step_part(parts, "roll") == 2
    assert step_part(parts, "1") == 1
    with pytest.raises(
        PlanError, match=r"no step 'Rinse' in this routine \(steps: 1 Cleanse, 2 Roll\)"
    ):
        step_part(parts, "Rinse")
    result, _, _, _ = run(start_step="roll")
    assert played(result) == [("Roll left", 0.0), ("Roll right", 8.0), ("Done", 16.0)]
    assert result.elapsed == pytest.approx(17.0)


def run_laid_out(status: StatusSink) -> PlayResult:
    clock = FakeClock()
    device = LaidOutFirst(clock)
    schedule = LiveSchedule(routine(), PlanOptions(), FakeSpeech(SAMPLE_LENGTHS), pace=1.0)
    device.schedule = schedule
    return play_schedule(schedule, device=device, clock=clock, status=status)


def test_status_progress_and_line() -> None:
    status = RecordingStatus()
    run_laid_out(status)
    one = next(p for p in status.events if p.event.text == "rep 1")
    assert one.rep_total == 2
    assert one.elapsed == pytest.approx(7.5)
    assert one.remaining == pytest.approx(SAMPLE_TOTAL - 7.5)
    assert status_line(one) == "Step 1 Cleanse · rep 1/2 · 0:08 / 0:24 left · next: Roll (left)"
    left = next(p for p in status.events if p.event.text == "Roll left")
    assert status_line(left) == "Step 2 Roll · left · 0:15 / 0:17 left · next: Roll (right)"


def test_pause_after_jumping_back_before_the_start_step_still_restarts_the_cue() -> None:
    # Started at "Roll (left)"; p p goes back to "Cleanse"; a pause in its first cue restarts it.
    result, _, _, _ = run([(1.0, "p"), (1.4, "p"), (2.0, " "), (4.0, " ")], start_step="Roll")
    assert played(result)[:5] == [
        ("Roll left", 0.0),
        ("Roll left", 1.0),
        ("Cleanse your face", 1.4),
        ("Cleanse your face", 4.0),
        ("rep 1", 4.0 + 1.5 + 3.0),
    ]


def test_pace_change_then_pause_during_the_same_cue() -> None:
    result, _, _, _ = run([(3.2, "+"), (3.4, " "), (5.0, " ")])
    assert played(result)[2] == ("Cleanse your face", 5.0)
    assert at(result, "rep 1") == pytest.approx(5.0 + 1.5 + 3.0 / 1.1)


def test_pace_keys_while_paused_apply_from_the_resume() -> None:
    # Paused 1 s into the 3 s breath; "-" twice while paused; resumed at 10 s.
    result, _, _, _ = run([(5.5, " "), (6.0, "-"), (6.5, "-"), (10.0, " ")])
    pace = 0.81
    assert at(result, "rep 1") == pytest.approx(10.0 + 2.0 / pace)
    assert result.pace == pytest.approx(pace)


def test_terminal_status_prints_text_and_redraws_one_line() -> None:
    from voiceguide.status import TerminalStatus

    out = io.StringIO()
    run_laid_out(TerminalStatus(out))
    text = out.getvalue()
    printed = [chunk.split("\n")[0] for chunk in text.split("\r\x1b[2K") if "\n" in chunk]
    assert printed == [t for t, _ in SAMPLE_AUDIBLE]
    assert "Step 2 Roll · right · 0:23 / 0:09 left · next: Outro" in text
    assert text.endswith("\r\x1b[2K")  # the status line is cleared at the end


def test_fit_plays_the_fitted_plan_its_repetitions_and_its_pace() -> None:
    text = SAMPLE.replace("repeat: 2", "repeat: 2-6")
    options = PlanOptions(fit=60.0)
    speech = FakeSpeech(SAMPLE_LENGTHS)
    planned = build_timeline(routine(text), options, lambda cue: speech.clip(cue).duration)
    assert "rep 6" in [e.text for e in planned.events]  # fit chose more repetitions
    result, _, _, _ = run(text=text, options=options, speech=FakeSpeech(SAMPLE_LENGTHS))
    expected = [(e.text, round(e.start, 6)) for e in planned.events if e.sounds]
    assert played(result) == expected
    assert result.elapsed == pytest.approx(60.0)
    assert result.pace == pytest.approx(planned.pace)


class BlockedAt(FakeSpeech):
    """Clips as FakeSpeech, but the clip of `text` is made only once `go` is set."""

    def __init__(self, text: str, lengths: dict[str, float]) -> None:
        super().__init__(lengths)
        self.text, self.go = text, threading.Event()

    def clip(self, cue: Cue) -> Clip:
        if cue.text == self.text:
            assert self.go.wait(10)
        return super().clip(cue)


def test_time_left_is_steady_while_a_part_is_half_laid_out() -> None:
    """The end shown while the layout waits for a clip inside a part counts the rest of
    that part from the sketch, so it does not drop when the layout moves on."""
    from voiceguide.live import _modelled_length

    sample = routine()
    options = PlanOptions()
    # Clips exactly as long as the model says: the sketch is then right to the frame.
    lengths = {
        e.cue.text: _modelled_length(e.cue)
        for e in sketch_timeline(sample, options).events
        if e.cue is not None and e.cue.kind == "speech"
    }
    speech = BlockedAt("rep 1", lengths)
    schedule = LiveSchedule(sample, options, speech, pace=1.0, make_pcm=False)
    schedule.start()
    try:
        schedule.wait(3, timeout=5)  # Welcome, its gap, "Cleanse your face": then blocked
        time.sleep(0.05)
        while_blocked = schedule.end()
        speech.go.set()
        deadline = time.monotonic() + 10
        while not schedule.done:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        assert while_blocked == pytest.approx(schedule.end(), abs=0.01)
    finally:
        speech.go.set()
        schedule.stop()


def test_terminal_warnings_go_above_the_status_line_once_each() -> None:
    from voiceguide.status import TerminalStatus

    out, err = io.StringIO(), io.StringIO()
    status = RecordingStatus()
    run_laid_out(status)
    progress = next(p for p in status.events if p.event.text == "rep 1")
    terminal = TerminalStatus(out, err)
    terminal.event(progress)
    line = status_line(progress)
    terminal.warning("step 'Cleanse': too long")
    terminal.warning("step 'Cleanse': too long")
    assert err.getvalue() == "warning: step 'Cleanse': too long\n"
    # The status line is cleared before the warning and drawn again after it, never joined.
    assert out.getvalue().endswith(f"{line}\r\x1b[2K{line}")
