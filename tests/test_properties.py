"""Hypothesis properties of the timeline: contiguity, exact totals, pace scaling, --fit."""

from __future__ import annotations

import math

import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from voiceguide.errors import LocatedPlanError, PlanError, VoiceguideError
from voiceguide.routine.loader import parse_routine
from voiceguide.timeline import Cue, PlanOptions, Timeline, build_timeline

words = st.text(alphabet="abcdefg ", min_size=1, max_size=12).filter(str.strip)
seconds = st.one_of(
    st.integers(0, 20), st.floats(0, 20, allow_nan=False).map(lambda x: round(x, 3))
)


@st.composite
def steps(draw, simple: bool):
    step: dict = {"name": draw(st.uuids()).hex[:8]}
    if simple or draw(st.booleans()):
        step["say"] = draw(st.one_of(words, st.lists(words, min_size=1, max_size=3)))
    if draw(st.booleans()):
        step["repeat"] = draw(st.one_of(st.integers(1, 6), st.just("2-4")))
        step["every"] = draw(st.floats(0.5, 8).map(lambda x: round(x, 3)))
        if not simple and draw(st.booleans()):
            step["count"] = True
    if draw(st.booleans()):
        step["sides"] = ["left", "right"]
    if not simple and draw(st.booleans()):
        step["duration"] = draw(st.integers(1, 60))
    else:
        step["hold"] = draw(seconds)
        if not simple and step["hold"] >= 3 and draw(st.booleans()):
            step["countdown"] = 3
    return step


@st.composite
def routines(draw, simple: bool = False):
    routine = {
        "title": "Generated",
        "gap": draw(seconds),
        "breath": draw(seconds),
        "steps": draw(st.lists(steps(simple), min_size=1, max_size=5)),
    }
    if draw(st.booleans()):
        routine["intro"] = draw(words)
    if draw(st.booleans()):
        routine["outro"] = draw(words)
    if not simple and draw(st.booleans()):
        routine["chime"] = "beep"
    return yaml.safe_dump(routine)


def length(cue: Cue) -> float:
    return 0.2 + 0.05 * len(cue.text)  # deterministic stand-in for synthesized lengths


def contiguous(t: Timeline) -> None:
    assert t.events[0].start == 0
    for a, b in zip(t.events, t.events[1:]):
        assert a.end == b.start
        assert a.end > a.start
    assert t.events[-1].end == t.total
    assert math.isclose(sum(e.duration for e in t.events), t.total, abs_tol=1e-6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(routines(), st.floats(0.25, 4))
def test_any_routine_plans_contiguously_or_fails_clearly(text, pace):
    routine = parse_routine(text, "gen.yaml")
    try:
        t = build_timeline(routine, PlanOptions(pace=pace), length)
    except PlanError as error:
        # Without --fit only a located problem can stop a plan: a limit, or a step's
        # speech outgrowing its duration; each names its place in the file.
        assert isinstance(error, LocatedPlanError), error
        assert error.problems and all(p.line >= 1 for p in error.problems)
        return
    contiguous(t)
    assert t.pace == pace


@settings(max_examples=150, deadline=None)
@given(routines(simple=True), st.floats(0.25, 8))
def test_pace_scales_every_silence_by_exactly_one_over_p(text, pace):
    routine = parse_routine(text, "gen.yaml")
    base = build_timeline(routine, PlanOptions(), length)
    fast = build_timeline(routine, PlanOptions(pace=pace), length)
    speech = sum(e.duration for e in base.events if e.kind != "silence")
    assert math.isclose(
        sum(e.duration for e in fast.events if e.kind != "silence"), speech, abs_tol=1e-9
    )
    silence = base.total - speech
    assert math.isclose(fast.total - speech, silence / pace, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=150, deadline=None)
@given(routines(), st.floats(10, 2000).map(lambda x: round(x, 3)))
def test_fit_hits_its_target_or_says_why_not(text, target):
    routine = parse_routine(text, "gen.yaml")
    try:
        t = build_timeline(routine, PlanOptions(fit=target), length)
    except PlanError as error:
        assert "cannot fit" in str(error) or "duration" in str(error)
        return
    assert t.total == target
    contiguous(t)


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(
                st.sampled_from(
                    [
                        "title",
                        "steps",
                        "name",
                        "say",
                        "repeat",
                        "every",
                        "hold",
                        "voice",
                        "rate",
                        "sides",
                        "count",
                        "each",
                        "pace",
                        "x",
                    ]
                ),
                inner,
                max_size=4,
            ),
        ),
        max_leaves=12,
    )
)
def test_arbitrary_documents_never_raise_unexpected_exceptions(document):
    try:
        text = yaml.safe_dump(document)
    except yaml.YAMLError:
        assume(False)
    try:
        routine = parse_routine(text, "fuzz.yaml")
        build_timeline(routine, PlanOptions(), length)
    except VoiceguideError:
        pass
