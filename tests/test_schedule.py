"""Laying the rest of a session out again from any event: the same layout as the plan."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voiceguide.routine.loader import parse_routine
from voiceguide.timeline import Cue, PlanOptions, build_timeline
from voiceguide.timeline.schedule import END, Rest, progress_of

ROUTINE = """
title: T
gap: 1.5s
breath: 0.4s
intro: [Welcome, "First, {next}."]
steps:
  - name: Roll
    say: "Roll the {side} side"
    sides: [left, right]
    repeat: 3
    every: 2s
    count: true
  - name: Hold
    say: Hold
    hold: 6s
    countdown: 3
    wait: 4s
  - name: Rest
    say: Rest now
    duration: 9s
outro: Done
"""


def length(cue: Cue) -> float:
    return 0.25 + 0.05 * len(cue.text)


def shape(events):  # type: ignore[no-untyped-def]
    return [(e.position, e.kind, e.text, round(e.duration, 9)) for e in events]


@settings(max_examples=60, deadline=None)
@given(pace=st.floats(0.3, 3.0), at=st.floats(0, 1000), part=st.integers(0, 5))
def test_the_rest_from_a_part_is_the_plan_from_that_part_placed_at_the_time(
    pace: float, at: float, part: int
) -> None:
    routine = parse_routine(ROUTINE, "t.yaml")
    full = build_timeline(routine, PlanOptions(pace=pace), length)
    expected = [e for e in full.events if e.position >= (part, 0)]
    rest = Rest(routine, PlanOptions(), length, pace=pace, start=(part, 0), at=at)
    events = rest.lay_out()
    assert shape(events) == shape(expected)
    shift = at - expected[0].start
    for got, want in zip(events, expected, strict=True):
        assert got.start == pytest.approx(want.start + shift, abs=1e-9)
    assert rest.end == pytest.approx(full.total + shift, abs=1e-9)


def test_a_silence_under_way_keeps_its_share_at_the_new_length() -> None:
    routine = parse_routine(ROUTINE, "t.yaml")
    full = build_timeline(routine, PlanOptions(), length)
    hold = next(e for e in full.events if e.kind == "silence" and e.step == "Hold")
    done = progress_of(hold, hold.start + hold.duration / 4)
    assert done == pytest.approx(0.25)
    rest = Rest(routine, PlanOptions(), length, pace=2.0, start=hold.position, at=100.0, done=done)
    first, *later = rest.lay_out()
    # At pace 2 the hold's silence before "3" is 6/2 - 3 = 0 s: it does not exist, and the
    # rest begins at the first event after it, at the time given.
    assert first.kind == "speech" and first.text == "3" and first.start == pytest.approx(100.0)
    slower = Rest(
        routine, PlanOptions(), length, pace=0.5, start=hold.position, at=100.0, done=done
    )
    first = slower.lay_out()[0]
    new_length = 6 / 0.5 - 3
    assert first.duration == pytest.approx(new_length)
    assert first.start == pytest.approx(100.0 - 0.25 * new_length)


def test_the_end_is_an_empty_rest_at_its_time() -> None:
    routine = parse_routine(ROUTINE, "t.yaml")
    rest = Rest(routine, PlanOptions(), length, pace=1.0, start=END, at=42.0)
    assert rest.lay_out() == [] and rest.end == 42.0
