"""Timeline rules with exact expected times (speech lengths come from a table)."""

from __future__ import annotations

import pytest

from voiceguide.errors import PlanError
from voiceguide.routine.loader import parse_routine
from voiceguide.routine.models import VoiceSpec
from voiceguide.timeline import Cue, PlanOptions, build_timeline


def lengths(table: dict[str, float], default: float = 1.0):
    def length(cue: Cue) -> float:
        return table.get(cue.text, default)

    return length


def plan(yaml_text: str, options: PlanOptions | None = None, table=None, default=1.0):
    routine = parse_routine(yaml_text, "t.yaml")
    return build_timeline(routine, options or PlanOptions(), lengths(table or {}, default))


def spans(timeline, kind=None):
    return [
        (round(e.start, 6), round(e.end, 6), e.text)
        for e in timeline.events
        if kind is None or e.kind == kind
    ]


def test_say_texts_are_separated_by_breath_and_parts_by_gap():
    t = plan(
        """
title: T
gap: 2s
breath: 0.5s
intro: Hello
steps:
  - name: A
    say: [one, two]
outro: Bye
""",
        table={"Hello": 1.5, "one": 1.0, "two": 2.0, "Bye": 0.75},
    )
    assert spans(t) == [
        (0.0, 1.5, "Hello"),
        (1.5, 3.5, None),
        (3.5, 4.5, "one"),
        (4.5, 5.0, None),
        (5.0, 7.0, "two"),
        (7.0, 9.0, None),
        (9.0, 9.75, "Bye"),
    ]
    assert t.total == 9.75
    assert [(p.kind, p.title, p.start, p.end) for p in t.parts] == [
        ("intro", "Intro", 0.0, 1.5),
        ("step", "A", 3.5, 7.0),
        ("outro", "Outro", 9.0, 9.75),
    ]


def test_repetition_slots_start_breath_after_say_and_last_every():
    t = plan(
        """
title: T
breath: 1s
steps:
  - name: Roll
    say: Roll
    repeat: 3
    every: 4s
    count: true
    hold: 2s
""",
        table={"Roll": 2.0, "1": 0.5, "2": 0.5, "3": 0.5},
    )
    speech = [(s, e, x) for s, e, x in spans(t, "speech")]
    assert speech == [(0.0, 2.0, "Roll"), (3.0, 3.5, "1"), (7.0, 7.5, "2"), (11.0, 11.5, "3")]
    assert t.total == 17.0  # last slot ends at 15, then 2 s hold
    assert [e.rep for e in t.events if e.kind == "speech"] == [None, 1, 2, 3]


def test_slot_without_text_is_silence_and_each_uses_templates():
    t = plan(
        """
title: T
vars: {tool: roller}
steps:
  - name: S
    repeat: 2
    every: 3
    each: "{rep} of {reps} with the {tool}"
""",
    )
    assert spans(t, "speech") == [
        (0.0, 1.0, "1 of 2 with the roller"),
        (3.0, 4.0, "2 of 2 with the roller"),
    ]
    assert t.total == 6.0


def test_sides_make_one_pass_each_in_order():
    t = plan(
        """
title: T
gap: 1
steps:
  - name: Roll
    say: "{side} side"
    sides: [left, right]
""",
    )
    assert spans(t, "speech") == [(0.0, 1.0, "left side"), (2.0, 3.0, "right side")]
    assert [p.title for p in t.parts] == ["Roll (left)", "Roll (right)"]
    assert [(e.side, e.part) for e in t.events] == [("left", 0), (None, 0), ("right", 1)]


def test_countdown_one_starts_one_second_before_hold_ends():
    t = plan(
        """
title: T
steps:
  - name: Hold
    say: Hold
    hold: 10s
    countdown: 3
""",
        table={"Hold": 2.0},
        default=0.4,
    )
    assert spans(t, "speech") == [
        (0.0, 2.0, "Hold"),
        (9.0, 9.4, "3"),
        (10.0, 10.4, "2"),
        (11.0, 11.4, "1"),
    ]
    assert t.total == 12.0


def test_countdown_ticks_stay_one_second_apart_at_any_pace():
    t = plan(
        """
title: T
steps:
  - name: Hold
    say: Hold
    hold: 10s
    countdown: 3
""",
        PlanOptions(pace=2),
        table={"Hold": 2.0},
        default=0.4,
    )
    starts = [s for s, _, x in spans(t, "speech") if x in "321"]
    assert starts == [4.0, 5.0, 6.0]
    assert t.total == 7.0


def test_duration_makes_the_pass_last_exactly_that_long():
    t = plan(
        """
title: T
steps:
  - name: Rest
    say: Rest
    duration: 20s
  - name: Next
    say: Next
""",
        table={"Rest": 3.0, "Next": 1.0},
    )
    assert t.parts[0].end == 20.0
    assert spans(t, "speech") == [(0.0, 3.0, "Rest"), (21.0, 22.0, "Next")]


def test_duration_shorter_than_speech_is_an_error():
    with pytest.raises(PlanError, match="longer than its duration"):
        plan(
            "title: T\nsteps:\n  - name: R\n    say: Rest\n    duration: 2s\n", table={"Rest": 3.0}
        )


def test_pace_divides_every_silence_but_not_speech():
    text = """
title: T
pace: 2
gap: 4
breath: 2
steps:
  - name: A
    say: [a, b]
    repeat: 2
    every: 6
    hold: 8
  - name: B
    say: c
"""
    t = plan(text, PlanOptions(pace=2))  # routine pace 2 x option pace 2 = 4
    assert t.pace == 4
    assert spans(t) == [
        (0.0, 1.0, "a"),
        (1.0, 1.5, None),
        (1.5, 2.5, "b"),
        (2.5, 3.0, None),
        (3.0, 4.5, None),
        (4.5, 6.0, None),
        (6.0, 8.0, None),
        (8.0, 9.0, None),
        (9.0, 10.0, "c"),
    ]


def test_reps_option_overrides_ranges_and_counts():
    text = "title: T\nsteps:\n  - name: A\n    repeat: 5-10\n    count: true\n  - name: B\n    say: b\n"

    def reps(option):
        t = plan(text, PlanOptions(reps=option))
        return sum(1 for e in t.events if e.rep is not None and e.kind == "speech")

    assert reps(None) == 5
    assert reps("min") == 5
    assert reps("max") == 10
    assert reps(12) == 12
    assert reps(1) == 1


def test_chime_is_a_tone_event_at_the_start_of_every_pass():
    t = plan(
        "title: T\nchime: bell\nsteps:\n  - name: A\n    say: a\n    sides: [l, r]\n",
        table={"bell": 1.5},
    )
    assert [(e.kind, e.start, e.text) for e in t.events if e.kind != "silence"] == [
        ("tone", 0.0, "bell"),
        ("speech", 1.5, "a"),
        ("tone", 3.5, "bell"),
        ("speech", 5.0, "a"),
    ]


def test_fit_hits_the_target_exactly():
    text = (
        "title: T\nsteps:\n  - name: A\n    say: a\n    repeat: 5\n    count: true\n    hold: 30\n"
    )
    t = plan(text, PlanOptions(fit=720.0))
    assert t.total == 720.0
    assert t.events[-1].end == 720.0


def test_fit_shorter_than_speech_fails_clearly():
    with pytest.raises(PlanError, match=r"cannot fit into 0:01.0: speech alone lasts 0:02.0"):
        plan("title: T\nsteps:\n  - name: A\n    say: [a, b]\n", PlanOptions(fit=1.0))


def test_voice_layers_resolve_step_over_routine_and_command_line_over_all():
    text = """
title: T
voice: {rate: 120, id: en-gb}
steps:
  - name: A
    say: a
    voice: {rate: 180}
  - name: B
    say: b
"""
    t = plan(text)
    voices = [e.cue.voice for e in t.events if e.kind == "speech"]
    assert [(v.id, v.rate) for v in voices] == [("en-gb", 180), ("en-gb", 120)]
    t = plan(text, PlanOptions(overrides=VoiceSpec(rate=200)))
    assert {e.cue.voice.rate for e in t.events if e.kind == "speech"} == {200}


def test_next_and_step_placeholders():
    t = plan(
        "title: T\nintro: First {next}\nsteps:\n  - name: A\n    say: '{step} then {next}'\n"
        "  - name: B\n    say: '{step}{next}!'\n"
    )
    assert [x for _, _, x in spans(t, "speech")] == ["First A", "A then B", "B!"]


def test_long_repetition_text_grows_its_slot_with_a_warning():
    t = plan(
        "title: T\nsteps:\n  - name: A\n    repeat: 2\n    every: 1\n    each: long\n",
        table={"long": 1.5},
    )
    assert spans(t, "speech") == [(0.0, 1.5, "long"), (1.5, 3.0, "long")]
    assert any("longer than its slot" in w for w in t.warnings)


def test_limits_stop_huge_plans_fast():
    text = "title: T\nsteps:\n" + "".join(
        f"  - name: S{i}\n    repeat: 10000\n    every: 2\n    count: true\n" for i in range(6)
    )
    with pytest.raises(PlanError, match="more than 100000 events"):
        plan(text)
    with pytest.raises(PlanError, match="limit is 24 hours"):
        plan("title: T\nsteps:\n" + "".join(f"  - name: S{i}\n    hold: 20h\n" for i in range(2)))


DURATION_STEP = "title: T\nsteps:\n  - name: a\n    duration: 5s\n    say: this is a sentence\n"


def test_cues_are_collected_without_checking_durations_against_estimates():
    from voiceguide.routine.loader import parse_routine
    from voiceguide.timeline import speech_cues

    routine = parse_routine(DURATION_STEP, "r.yaml")
    # The estimate (1.6 s) is longer than 5 s at pace 4, the real clip may not be.
    cues = speech_cues(routine, PlanOptions(pace=4))
    assert [c.text for c in cues] == ["this is a sentence"]
    t = plan(DURATION_STEP, PlanOptions(pace=4), default=1.08)
    assert t.total == 1.25
    with pytest.raises(PlanError) as error:
        plan(DURATION_STEP, PlanOptions(pace=4), default=1.6)
    assert str(error.value) == (
        "t.yaml:3:5: error: step 'a' speaks for 1.60s, longer than its duration of 1.25s at pace 4"
    )


def test_cues_of_a_countdown_are_collected_even_where_estimates_overrun():
    from voiceguide.timeline import speech_cues

    text = "title: T\nsteps:\n  - name: a\n    duration: 4s\n    countdown: 3\n    say: a b c\n"
    routine = parse_routine(text, "r.yaml")
    cues = speech_cues(routine, PlanOptions(pace=2))
    assert [c.text for c in cues] == ["a b c", "3", "2", "1"]


def test_a_silent_routine_is_a_located_error():
    with pytest.raises(PlanError) as error:
        plan("title: T\nsteps:\n  - name: A\n    hold: 0\n")
    assert str(error.value) == (
        "t.yaml:3:5: error: the routine is silent and lasts no time; give a step 'say' or 'hold'"
    )


def test_the_events_limit_counts_silences_before_any_layout():
    import time

    text = (
        "title: T\nsteps:\n  - name: A\n    say: go\n"
        "  - name: B\n    sides: [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9]\n"
        "    repeat: 10000\n    every: 0.1s\n    count: true\n"
    )
    started = time.monotonic()
    with pytest.raises(PlanError) as error:
        plan(text, table={str(n): 0.05 for n in range(10001)})
    assert time.monotonic() - started < 0.3
    assert str(error.value) == (
        "t.yaml:5:5: error: the routine would have more than 100000 events by the end of "
        "step 'B'; reduce repeat or --reps"
    )


def test_a_routine_of_exactly_the_events_limit_is_planned():
    sides = ", ".join(f"s{i}" for i in range(10))
    text = (
        f"title: T\ngap: 0\nsteps:\n  - name: A\n    sides: [{sides}]\n    repeat: 10000\n"
        "    every: 0.5\n"
    )
    assert len(plan(text).events) == 100_000
    with pytest.raises(PlanError, match="more than 100000 events by the end of step 'A'"):
        plan(text.replace("gap: 0", "gap: 1"))


def test_a_slot_its_text_fills_has_no_silence_and_is_not_counted():
    # Texts as long as their slots: 100 000 speech events and no slot silences.
    sides = ", ".join(f"s{i}" for i in range(10))
    text = (
        f"title: T\ngap: 0\nsteps:\n  - name: A\n    sides: [{sides}]\n    repeat: 10000\n"
        "    every: 1\n    count: true\n"
    )
    assert len(plan(text, PlanOptions(pace=2), default=0.5).events) == 100_000


def test_both_limits_are_reported_in_one_run():
    from voiceguide.errors import RoutineError

    text = "title: T\nsteps:\n" + "".join(
        f"  - name: S{i}\n    repeat: 10000\n    every: 2\n    count: true\n" for i in range(6)
    )
    with pytest.raises(RoutineError) as error:
        plan(text, PlanOptions(pace=0.01))
    assert [str(p) for p in error.value.problems] == [
        "t.yaml:3:5: error: the routine would last at least 3333:28:20 (step 'S0' alone "
        "555:33:20); the limit is 24 hours",
        "t.yaml:15:5: error: the routine would have more than 100000 events by the end of "
        "step 'S3'; reduce repeat or --reps",
    ]


def test_slots_that_grow_warn_once_per_step_naming_the_longest_text():
    t = plan(
        "title: T\nsteps:\n  - name: A\n    repeat: 3\n    every: 1\n    each: 'x{rep}'\n"
        "    sides: [left, right]\n",
        table={"x1": 1.5, "x2": 2.25, "x3": 1.25},
    )
    assert t.warnings == (
        "step 'A': repetition text (2.25s) is longer than its slot (1.00s); the slot grows to fit",
    )
