"""--fit: repetitions chosen within ranges, then the pace solved exactly (lengths faked)."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from voiceguide.cli import main
from voiceguide.errors import PlanError
from voiceguide.routine.loader import parse_routine
from voiceguide.routine.models import Routine
from voiceguide.timeline import Cue, PlanOptions, Timeline, build_timeline, speech_cues
from voiceguide.timeline.fit import choose_reps

# Like the built-in neck-and-shoulders, with ranges wide enough to fill three times its
# minimum length.
NECK = """
title: Neck
gap: 1.5s
chime: bell
intro: Sit tall.
steps:
  - name: Shoulder rolls
    say: Roll your shoulders.
    repeat: 8-40
    every: 4s
    count: true
  - name: Side stretch
    say: "Tilt toward your {side} shoulder."
    sides: [left, right]
    hold: 20s
    countdown: 3
  - name: Chin tucks
    say: Draw your chin back.
    repeat: 6-30
    every: 5s
    each: "Tuck, {rep} of {reps}"
  - name: Squeeze
    say: Squeeze your shoulder blades.
    repeat: 5-25
    every: 6s
    count: true
  - name: Rest
    say: Breathe.
    duration: 20s
outro: Finished.
"""
RANGES = {"Shoulder rolls": (8, 40), "Chin tucks": (6, 30), "Squeeze": (5, 25)}


def length(cue: Cue) -> float:
    return 0.2 + 0.05 * len(cue.text)  # deterministic stand-in for synthesized lengths


def plan(text: str, options: PlanOptions) -> Timeline:
    return build_timeline(parse_routine(text, "t.yaml"), options, length)


def counts(timeline: Timeline) -> dict[str, int]:
    """Repetitions per step, as the events number them (what status and plan show)."""
    reps: dict[str, int] = {}
    for event in timeline.events:
        if event.rep is not None and event.step is not None:
            reps[event.step] = max(reps.get(event.step, 0), event.rep)
    return reps


def natural_length(text: str) -> float:
    return plan(text, PlanOptions()).total


def test_reps_are_chosen_within_ranges_and_grow_with_the_target():
    base = natural_length(NECK)
    previous = {name: low for name, (low, _) in RANGES.items()}
    for factor in (1.0, 1.3, 1.7, 2.2, 2.8):
        chosen = counts(plan(NECK, PlanOptions(fit=round(base * factor, 3))))
        for name, (low, high) in RANGES.items():
            assert low <= chosen[name] <= high
            assert chosen[name] >= previous[name]
        previous = chosen


def test_ranges_grow_by_the_same_fraction():
    t = plan(NECK, PlanOptions(fit=round(natural_length(NECK) * 2, 3)))
    fractions = [(counts(t)[n] - low) / (high - low) for n, (low, high) in RANGES.items()]
    assert min(fractions) > 0.2 and max(fractions) - min(fractions) <= 1 / 20


def test_three_times_the_length_uses_the_high_ends_at_about_pace_one():
    target = round(natural_length(NECK) * 3, 3)
    t = plan(NECK, PlanOptions(fit=target))
    assert all(counts(t)[n] >= high - 2 for n, (_, high) in RANGES.items())
    assert 0.95 < t.pace < 1.05
    assert t.total == target
    assert t.warnings == ()


def test_beyond_the_ranges_the_ends_are_used_and_the_pace_gives_way():
    short = plan(NECK, PlanOptions(fit=60.0))
    assert counts(short) == {"Shoulder rolls": 8, "Chin tucks": 6, "Squeeze": 5}
    assert short.pace > 2 and short.total == 60.0
    long = plan(NECK, PlanOptions(fit=3600.0))
    assert counts(long) == {"Shoulder rolls": 40, "Chin tucks": 30, "Squeeze": 25}
    assert long.pace < 0.5 and long.total == 3600.0
    # {reps} is the chosen count too.
    assert "Tuck, 30 of 30" in [e.text for e in long.events]


def test_the_cues_synthesized_are_the_cues_the_fitted_timeline_sounds():
    # Reps are chosen from estimated lengths in both, whatever lengths synthesis then gives.
    routine = parse_routine(NECK, "t.yaml")
    for target in (100.0, 400.0, 800.0):
        options = PlanOptions(fit=target)
        sounded = {e.cue for e in build_timeline(routine, options, length).events if e.cue}
        assert set(speech_cues(routine, options)) == sounded


def test_explicit_reps_win_and_fit_only_solves_the_pace():
    target = round(natural_length(NECK) * 3, 3)
    t = plan(NECK, PlanOptions(fit=target, reps=3))
    assert counts(t) == {"Shoulder rolls": 3, "Chin tucks": 3, "Squeeze": 3}
    assert t.total == target
    assert counts(plan(NECK, PlanOptions(fit=200.0, reps="max")))["Chin tucks"] == 30


def test_a_pace_outside_half_to_double_is_a_warning_naming_it():
    t = plan(NECK, PlanOptions(fit=3600.0))
    assert t.warnings[0] == (
        f"fitting into 1:00:00 needs pace {t.pace:.2f}, outside 0.5-2: pauses will last "
        f"{1 / t.pace:.1f} times their written length"
    )
    fast = plan(NECK, PlanOptions(fit=60.0))
    assert f"needs pace {fast.pace:.2f}, outside 0.5-2" in fast.warnings[0]


def test_choose_reps_takes_the_closest_candidate_not_only_the_first_above():
    def total(reps: tuple[int, ...]) -> float:
        return 10.0 * sum(reps)

    assert choose_reps([(1, 5)], total, 31.0) == (3,)
    assert choose_reps([(1, 5)], total, 36.0) == (4,)
    assert choose_reps([(1, 5)], total, 35.0) == (3,)  # a tie: the fewer
    assert choose_reps([(1, 5), (2, 2)], total, 0.0) == (1, 2)
    assert choose_reps([(1, 5), (2, 2)], total, 1e9) == (5, 2)
    assert choose_reps([], total, 50.0) == ()


def chain(ranges: list[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Every candidate: the counts at each fraction where some count grows."""
    jumps = {
        Fraction(2 * j - 1, 2 * (high - low))
        for low, high in ranges
        for j in range(1, high - low + 1)
    }
    return [
        tuple(low + math.floor(f * (high - low) + Fraction(1, 2)) for low, high in ranges)
        for f in [Fraction(0), *sorted(jumps)]
    ]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 12), st.integers(0, 12), st.floats(0.5, 8)),
        min_size=1,
        max_size=4,
    ),
    st.floats(0, 600),
)
def test_choose_reps_is_the_closest_proportional_candidate(steps, target):
    ranges = [(low, low + width) for low, width, _ in steps]
    weights = [weight for _, _, weight in steps]

    def total(reps: tuple[int, ...]) -> float:
        return sum(w * r for w, r in zip(weights, reps))

    chosen = choose_reps(ranges, total, target)
    candidates = chain(ranges)
    assert chosen in candidates
    best = min(abs(total(c) - target) for c in candidates)
    assert abs(total(chosen) - target) == best


@st.composite
def ranged_routines(draw) -> str:
    steps = []
    for number in range(draw(st.integers(1, 4))):
        step: dict = {"name": f"S{number}", "say": draw(st.sampled_from(["a", "go on", "x y z"]))}
        if draw(st.booleans()):
            low = draw(st.integers(1, 8))
            step["repeat"] = f"{low}-{low + draw(st.integers(0, 12))}"
            step["every"] = draw(st.floats(0.5, 8).map(lambda x: round(x, 3)))
            step[draw(st.sampled_from(["count", "each"]))] = True
            if "each" in step:
                step["each"] = "{rep} of {reps}"
        if draw(st.booleans()):
            step["sides"] = ["left", "right"]
        step["hold"] = draw(st.integers(0, 30))
        steps.append(step)
    return yaml.safe_dump({"title": "Generated", "gap": 1, "steps": steps})


def ranges_of(routine: Routine) -> dict[str, tuple[int, int]]:
    return {step.name: step.repeat for step in routine.steps if step.repeat is not None}


@settings(max_examples=150, deadline=None)
@given(ranged_routines(), st.floats(5, 5000).map(lambda x: round(x, 3)))
def test_fit_is_exact_reps_stay_in_range_and_warns_iff_pace_is_extreme(text, target):
    routine = parse_routine(text, "gen.yaml")
    try:
        t = build_timeline(routine, PlanOptions(fit=target), length)
    except PlanError as error:
        assert "cannot fit" in str(error)
        return
    assert t.total == target
    assert abs(sum(e.duration for e in t.events) - target) < 1e-3
    for name, rep in counts(t).items():
        low, high = ranges_of(routine).get(name, (1, 1))
        assert low <= rep <= high
    extreme = not 0.5 <= t.pace <= 2
    assert any(w.startswith("fitting into") for w in t.warnings) == extreme
    if extreme:
        assert f"needs pace {t.pace:.2f}" in t.warnings[0] or t.pace < 0.1


def test_cli_plan_fits_neck_and_shoulders_into_twelve_minutes():
    args = ["plan", "neck-and-shoulders", "--fit", "12m", "--estimate", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    plan_json = json.loads(result.stdout)
    assert plan_json["total"] == 720.0
    assert plan_json["events"][-1]["end"] == 720.0
    # Chin tucks (6-10) is the only ranged step: at its high end, and still far too slow.
    tucks = [e["text"] for e in plan_json["events"] if e["step"] == "Chin tucks" and e["rep"]]
    assert [text for text in tucks if text][-1] == "Tuck, 10 of 10"
    assert 0.3 < plan_json["pace"] < 0.5
    assert result.stderr.startswith(
        f"warning: fitting into 12:00.0 needs pace {plan_json['pace']:.2f}, outside 0.5-2"
    )
