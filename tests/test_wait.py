"""`wait` steps: the format, the plan, a render, and a live session that waits for the person."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from tests.player_fixtures import FakeClock, FakeKeys, FakeSpeech, LaidOutFirst, RecordingStatus
from voiceguide.cli import main
from voiceguide.errors import RoutineError
from voiceguide.live import LiveSchedule
from voiceguide.player import PlayResult, play_schedule
from voiceguide.routine.loader import parse_routine
from voiceguide.routine.schema import routine_schema
from voiceguide.status import status_line
from voiceguide.timeline import Cue, PlanOptions, build_timeline

# Times at pace 1: 0 "Warm the oil" (1.0), wait (10 s in a file), gap 1,
# then "Roll left" (1.0) hold 2, wait 3 s, gap 1, "Roll right" (1.0) hold 2, wait 3 s, gap 1,
# "Done" (1.0).
WAITS = """
title: Waits
gap: 1s
steps:
  - name: Oil
    say: Warm the oil
    wait: true
  - name: Roll
    say: "Roll {side}"
    sides: [left, right]
    hold: 2s
    wait: 3s
outro: Done
"""
LENGTHS = {"Warm the oil": 1.0, "Roll left": 1.0, "Roll right": 1.0, "Done": 1.0}


def length(cue: Cue) -> float:
    return LENGTHS[cue.text]


def plan(options: PlanOptions | None = None):  # type: ignore[no-untyped-def]
    return build_timeline(parse_routine(WAITS, "w.yaml"), options or PlanOptions(), length)


# --- the format ----------------------------------------------------------------------------


def test_wait_accepts_true_false_and_durations_and_the_schema_agrees() -> None:
    schema = routine_schema()
    for value in ("true", "false", "2m", "90", "1:30"):
        text = f"title: T\nsteps:\n  - name: A\n    say: Hi\n    wait: {value}\n"
        routine = parse_routine(text, "t.yaml")
        jsonschema.validate(_yaml(text), schema)
        wait = routine.steps[0].wait
        if value == "false":
            assert wait is None
        elif value == "true":
            assert wait is not None and wait.limit is None
        else:
            assert wait is not None and wait.limit == {"2m": 120, "90": 90, "1:30": 90}[value]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "'wait' must be true, false or a duration like 2m, not text 'soon'"),
        ("0", "'wait' must be greater than 0s"),
        ("[1]", "'wait' must be true, false or a duration, not a list"),
    ],
)
def test_a_bad_wait_is_a_located_error(value: str, message: str) -> None:
    text = f"title: T\nsteps:\n  - name: A\n    say: Hi\n    wait: {value}\n"
    with pytest.raises(RoutineError) as caught:
        parse_routine(text, "t.yaml")
    (problem,) = caught.value.problems
    assert (problem.path, problem.line, problem.column) == ("t.yaml", 5, 11)
    assert problem.message == message


def _yaml(text: str) -> object:
    import yaml

    return yaml.safe_load(text)


# --- the plan ------------------------------------------------------------------------------


def spans(timeline):  # type: ignore[no-untyped-def]
    return [(e.kind, round(e.start, 6), round(e.end, 6), e.step, e.side) for e in timeline.events]


def test_a_wait_ends_each_pass_and_lasts_its_duration_or_wait_for_true() -> None:
    t = plan()
    waits = [(s, e, step, side) for kind, s, e, step, side in spans(t) if kind == "wait"]
    assert waits == [
        (1.0, 11.0, "Oil", None),  # `wait: true`: --wait, 10 s by default
        (15.0, 18.0, "Roll", "left"),  # after the say text and the hold
        (22.0, 25.0, "Roll", "right"),  # one per pass
    ]
    assert [e.until_ready for e in t.events if e.kind == "wait"] == [True, False, False]
    assert t.total == pytest.approx(27.0)
    # Each wait belongs to its pass: the chapter (part) includes it, the gap follows it.
    assert [(p.title, p.start, p.end) for p in t.parts][:2] == [
        ("Oil", 0.0, 11.0),
        ("Roll (left)", 12.0, 18.0),
    ]


def test_wait_option_and_pace_scale_waits_like_every_written_silence() -> None:
    t = plan(PlanOptions(wait=4.0, pace=2.0))
    waits = [round(e.duration, 6) for e in t.events if e.kind == "wait"]
    assert waits == [2.0, 1.5, 1.5]
    assert t.total == pytest.approx(4 * 1.0 + (4 + 3 + 3 + 2 + 2 + 3 * 1) / 2)


def test_fit_counts_waits_at_their_length() -> None:
    t = plan(PlanOptions(fit=60.0))
    assert t.total == pytest.approx(60.0, abs=1e-6)
    waits = [e.duration for e in t.events if e.kind == "wait"]
    assert waits[0] == pytest.approx(10.0 / t.pace)


def test_plan_json_has_wait_events(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WAITS)
    result = CliRunner().invoke(main, ["plan", str(path), "--json", "--estimate", "--wait", "5s"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    waits = [e for e in data["events"] if e["kind"] == "wait"]
    assert [(w["step"], w["side"], w["rep"], w["until_ready"]) for w in waits] == [
        ("Oil", None, None, True),
        ("Roll", "left", None, False),
        ("Roll", "right", None, False),
    ]
    assert waits[0]["end"] - waits[0]["start"] == pytest.approx(5.0)


def test_render_holds_each_wait_as_silence_and_lasts_the_plan(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WAITS)
    out, timeline = tmp_path / "w.wav", tmp_path / "w.json"
    args = ["render", str(path), "-o", str(out), "--timeline", str(timeline), "-q"]
    result = CliRunner().invoke(main, [*args, "--wait", "4s", "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    plan_json = json.loads(timeline.read_text())
    samples, rate = soundfile.read(out, dtype="int16")
    assert len(samples) == round(plan_json["total"] * rate)  # the plan's total, to the sample
    for event in plan_json["events"]:
        if event["kind"] == "wait":
            span = samples[round(event["start"] * rate) : round(event["end"] * rate)]
            assert len(span) > 0 and not np.any(span)  # digital silence
        if event["kind"] == "speech":
            span = samples[round(event["start"] * rate) : round(event["end"] * rate)]
            assert np.abs(span).max() > 1000  # the voice is there


# --- play ----------------------------------------------------------------------------------


def run(script: list[tuple[float, str]] | None, **options: object):  # type: ignore[no-untyped-def]
    clock = FakeClock()
    status = RecordingStatus()
    keys = None if script is None else FakeKeys(clock, [(clock.t + t, k) for t, k in script])
    plan_options = PlanOptions(**options)  # type: ignore[arg-type]
    schedule = LiveSchedule(
        parse_routine(WAITS, "w.yaml"), plan_options, FakeSpeech(LENGTHS), pace=1.0
    )
    # The first sound waits for the whole layout: the time left shown is then exact.
    device = LaidOutFirst(clock)
    device.schedule = schedule
    result = play_schedule(schedule, device=device, clock=clock, commands=keys, status=status)
    return result, status


def played(result: PlayResult) -> list[tuple[str | None, float]]:
    return [(o.event.text, round(o.at - result.origin, 6)) for o in result.onsets]


@pytest.mark.parametrize("key", ["n", " ", "\n"])
def test_play_waits_until_the_person_goes_on(key: str) -> None:
    # Nobody presses anything for a minute: nothing is played early or caught up after.
    result, status = run([(61.0, key)])
    assert played(result) == [
        ("Warm the oil", 0.0),
        ("Roll left", 62.0),  # the gap after the wait, from the moment it ended
        ("Roll right", 62.0 + 1 + 2 + 3 + 1),
        ("Done", 62.0 + 14.0),
    ]
    assert "waiting: n, space or Enter to go on" in status.notices
    assert "go on" in status.notices
    waiting = [p for p in status.events if p.event.kind == "wait"][0]
    assert status_line(waiting).startswith("WAITING (n, space or Enter to go on) · Step 1 Oil")
    # While the person takes their time, the time left stays what follows the wait.
    during = [p.remaining for p in status.ticked if p.waiting and p.event.until_ready]
    assert len(during) > 100
    assert during == pytest.approx([16.0] * len(during))  # gap, Roll left … Done


def test_a_timed_wait_goes_on_by_itself_or_earlier_on_a_key() -> None:
    # The 3 s wait after "Roll left" (from 65.0 when the oil wait ends at 61.0).
    result, _ = run([(61.0, "n")])
    assert dict(played(result))["Roll right"] == pytest.approx(62.0 + 1 + 2 + 3 + 1)
    result, _ = run([(61.0, "n"), (66.0, "\n")])  # 1 s into the 3 s wait
    assert dict(played(result))["Roll right"] == pytest.approx(66.0 + 1)


def test_without_keys_a_wait_for_the_person_lasts_its_planned_length() -> None:
    result, _ = run(None, wait=4.0)
    assert dict(played(result))["Roll left"] == pytest.approx(1.0 + 4.0 + 1.0)
    assert result.elapsed == pytest.approx(plan(PlanOptions(wait=4.0)).total)


def test_other_keys_at_a_wait_act_as_usual() -> None:
    # "r" repeats the last cue (the oil text) and the wait comes again; "q" quits there.
    result, _ = run([(5.0, "r"), (7.0, "q")])
    assert played(result) == [("Warm the oil", 0.0), ("Warm the oil", 5.0)]
    assert result.status == "stopped"


def test_dry_run_prints_every_event_at_its_planned_millisecond(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(WAITS.replace("hold: 2s", "hold: 0.25s").replace("3s", "0.5s"))
    common = ["--wait", "0.3s", "--cache-dir", str(tmp_path / "c")]
    planned = CliRunner().invoke(main, ["plan", str(path), "--json", *common])
    assert planned.exit_code == 0, planned.output
    events = json.loads(planned.output)["events"]
    result = CliRunner().invoke(main, ["play", str(path), "--dry-run", "--no-keys", *common])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if re.match(r"\d\d:\d\d\.\d{3}  ", line)]
    assert len(lines) == len(events)
    for line, event in zip(lines, events, strict=True):
        minutes, seconds = line[:9].split(":")
        assert int(minutes) * 60 + float(seconds) == pytest.approx(event["start"], abs=0.0005)
    assert [line for line in lines if "(wait" in line] == [
        lines[1],
        *[line for line in lines if "wait up to" in line],
    ]
    assert "(wait until ready)" in lines[1]
