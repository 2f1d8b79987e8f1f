"""The Python API as a program uses it: `import voiceguide`, then load, plan, render, play."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile
from click.testing import CliRunner

import voiceguide
from tests.player_fixtures import FakeClock, FakeDevice, RecordingStatus
from voiceguide.api import plan_options
from voiceguide.cli import main
from voiceguide.routine.spec import MAX_REPEAT

SHORT = """\
title: Short
gap: 0.5s
steps:
  - name: Breathe
    say: Breathe in.
    hold: 1s
  - name: Count
    say: Count.
    repeat: 2-3
    every: 1.5s
"""


def test_load_a_built_in_by_name_and_a_file_by_path(tmp_path: Path) -> None:
    assert voiceguide.load("facial-massage").title == "Facial massage"
    path = tmp_path / "short.yaml"
    path.write_text(SHORT)
    assert voiceguide.load(str(path)).title == "Short"
    assert voiceguide.load(path).name == "short"


def test_a_path_object_is_a_path_never_a_built_in_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(voiceguide.RoutineError) as error:
        voiceguide.load(Path("facial-massage"))
    [problem] = error.value.problems
    assert (problem.path, problem.line, problem.column) == ("facial-massage", 1, 1)
    assert problem.message == "no such file"


def test_loads_reports_every_problem_with_its_line_and_column() -> None:
    text = "title: T\nsteps:\n  - name: A\n    hold: ages\n  - name: B\n    repeat: 0\n"
    with pytest.raises(voiceguide.RoutineError) as error:
        voiceguide.loads(text, path="mine.yaml")
    assert isinstance(error.value, voiceguide.VoiceguideError)
    located = [(p.path, p.line, p.column) for p in error.value.problems]
    assert located == [("mine.yaml", 4, 11), ("mine.yaml", 6, 13)]
    assert error.value.problems[1].message == "'repeat' must be at least 1"


def test_loads_names_a_string_routine_by_default() -> None:
    with pytest.raises(voiceguide.RoutineError) as error:
        voiceguide.loads("title: T\n")
    assert str(error.value.problems[0]).startswith("<string>:1:1: error: ")


def test_plan_takes_a_routine_or_a_reference_and_the_plan_options(tmp_path: Path) -> None:
    path = tmp_path / "short.yaml"
    path.write_text(SHORT)
    base = voiceguide.plan(voiceguide.loads(SHORT), estimate=True)
    assert voiceguide.plan(path, estimate=True) == base
    fast = voiceguide.plan(str(path), estimate=True, pace=2)
    assert fast.pace == 2 and fast.total < base.total
    most = voiceguide.plan(path, estimate=True, reps="max")
    assert [e.rep for e in most.events if e.rep][-1] == 3
    assert most.to_json()["total"] == pytest.approx(most.total)
    fitted = voiceguide.plan(path, estimate=True, fit="30s")
    assert fitted.total == pytest.approx(30)


def test_plan_synthesizes_by_default_and_says_so() -> None:
    timeline = voiceguide.plan(voiceguide.loads(SHORT), rate=200)
    assert not timeline.estimated
    assert math.isclose(timeline.events[-1].end, timeline.total)


@pytest.mark.parametrize("function", [voiceguide.plan, voiceguide.render, voiceguide.play])
def test_an_unknown_keyword_is_a_type_error_naming_it(function) -> None:
    with pytest.raises(TypeError, match="'speed'"):
        function(voiceguide.loads(SHORT), speed=2)


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        ({"pace": 0}, "pace: 0 is not a number above 0 and at most 100"),
        ({"pace": float("nan")}, "pace: nan is not a number above 0"),
        ({"pace": 101}, "pace: 101 is not a number above 0 and at most 100"),
        ({"pace": "fast"}, "pace: 'fast' is not a number"),
        ({"reps": 0}, f"reps: 0 is not a whole number from 1 to {MAX_REPEAT}, 'min' or 'max'"),
        ({"reps": MAX_REPEAT + 1}, "reps: 10001 is not a whole number"),
        ({"reps": "lots"}, "reps: 'lots' is not a whole number"),
        ({"reps": True}, "reps: True is not a whole number"),
        ({"rate": 39}, "rate: 39 is not a whole number from 40 to 600"),
        ({"rate": 150.5}, "rate: 150.5 is not a whole number from 40 to 600"),
        ({"fit": "soon"}, "fit: invalid duration 'soon'"),
        ({"fit": 0}, "fit: must be longer than zero"),
        ({"fit": float("inf")}, "fit: must be longer than zero"),
        ({"fit": "5m", "pace": 2}, "fit: chooses the pace itself; do not combine it with pace"),
    ],
)
def test_a_value_that_cannot_be_used_is_refused_where_it_enters(keywords, message) -> None:
    with pytest.raises(voiceguide.OptionError) as error:
        voiceguide.plan("no-such-routine", **keywords)  # refused before the routine is read
    assert str(error.value).startswith(message)
    assert isinstance(error.value, ValueError)
    assert isinstance(error.value, voiceguide.VoiceguideError)


def test_option_values_are_normalized() -> None:
    assert plan_options(reps=" MAX ").options.reps == "max"
    assert plan_options(reps="7").options.reps == 7
    assert plan_options(pace=2).options.pace == 2.0
    assert plan_options(fit="1:30").options.fit == 90
    run = plan_options(cache_dir="clips", use_cache=False, voice="en", engine="pyttsx3")
    assert (run.cache_dir, run.use_cache) == (Path("clips"), False)
    assert (run.options.overrides.id, run.options.overrides.engine) == ("en", "pyttsx3")


def test_the_command_line_shares_every_plan_option() -> None:
    """A plan option is added once, in `plan_options`, and the shared CLI options match it."""
    import inspect

    keywords = set(inspect.signature(plan_options).parameters) - {"config"}
    for name in ("plan", "render", "play"):
        destinations = {p.name for p in main.commands[name].params}
        assert keywords <= destinations, name


def test_render_writes_exactly_the_planned_audio(tmp_path: Path) -> None:
    routine = voiceguide.loads(SHORT)
    out = tmp_path / "short.flac"
    result = voiceguide.render(
        routine,
        out,
        pace=1.5,
        reps="max",
        sample_rate=16000,
        captions=tmp_path / "short.vtt",
        timeline=str(tmp_path / "short.json"),
    )
    assert result.path == out
    info = soundfile.info(str(out))
    assert info.samplerate == 16000
    assert info.frames / info.samplerate == pytest.approx(result.duration)
    planned = voiceguide.plan(routine, pace=1.5, reps="max")
    assert result.duration == pytest.approx(planned.total, abs=1 / 16000)
    assert (tmp_path / "short.vtt").read_text().startswith("WEBVTT")
    assert (tmp_path / "short.json").is_file()


def test_render_by_default_writes_into_audio(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "short.yaml"
    path.write_text(SHORT)
    result = voiceguide.render(str(path))
    assert result.path == Path("audio") / "short.wav"
    assert soundfile.info(str(tmp_path / "audio" / "short.wav")).frames > 0


def test_render_refuses_a_sample_rate_before_any_synthesis(tmp_path: Path) -> None:
    with pytest.raises(voiceguide.OptionError, match="sample_rate: 100 is not from 8000"):
        voiceguide.render(voiceguide.loads(SHORT), tmp_path / "x.wav", sample_rate=100)
    assert not (tmp_path / "x.wav").exists()


def test_play_dry_run_follows_the_plan_on_a_fake_clock() -> None:
    routine = voiceguide.loads(SHORT)
    clock = FakeClock()
    status = RecordingStatus()
    result = voiceguide.play(routine, dry_run=True, keys=False, clock=clock, status=status)
    assert result.status == "finished"
    planned = voiceguide.plan(routine)
    sounds = [e for e in planned.events if e.kind != "silence"]
    assert [p.event.text for p in status.events if p.event.kind != "silence"] == [
        e.text for e in sounds
    ]
    assert [o.due - result.origin for o in result.onsets] == pytest.approx(
        [e.start for e in sounds]
    )
    assert status.closed


def test_play_from_a_step_on_a_fake_device() -> None:
    routine = voiceguide.loads(SHORT)
    clock = FakeClock()
    device = FakeDevice(clock)
    status = RecordingStatus()
    result = voiceguide.play(
        routine, start=2, keys=False, device=device, clock=clock, status=status
    )
    assert result.status == "finished"
    assert device.opened
    counted = [e for e in voiceguide.plan(routine).events if e.kind == "speech" and e.step]
    assert len(device.plays) == len([e for e in counted if e.step == "Count"])


def test_a_bad_config_file_is_a_located_error_everywhere(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config.toml"
    config.write_text('engine = "piper"\nrate = 20\n')
    monkeypatch.setenv("VOICEGUIDE_CONFIG", str(config))
    with pytest.raises(voiceguide.ConfigError) as error:
        voiceguide.plan(voiceguide.loads(SHORT), estimate=True)
    [problem] = error.value.problems
    assert (problem.path, problem.line, problem.column) == (str(config), 2, 8)
    result = CliRunner().invoke(main, ["plan", "hand-massage", "--estimate"])
    assert result.exit_code == 1
    assert result.stderr == (f"{config}:2:8: error: rate must be 40-600 words per minute, got 20\n")


def test_a_whole_file_problem_is_printed_without_a_position(tmp_path: Path, monkeypatch) -> None:
    config = tmp_path / "config.toml"
    config.write_bytes(b"voice = '\xff'\n")
    monkeypatch.setenv("VOICEGUIDE_CONFIG", str(config))
    with pytest.raises(voiceguide.ConfigError) as error:
        voiceguide.plan("hand-massage", estimate=True)
    [problem] = error.value.problems
    assert (problem.line, problem.column, problem.message) == (0, 0, "not UTF-8 text")
    result = CliRunner().invoke(main, ["plan", "hand-massage", "--estimate"])
    assert result.stderr == f"{config}: error: not UTF-8 text\n"


def test_import_is_light_and_the_functions_survive_their_modules() -> None:
    code = (
        "import sys, voiceguide\n"
        "heavy = {'numpy', 'yaml', 'soundfile', 'pyttsx3', 'click'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "from voiceguide.rendering import render_routine\n"
        "import voiceguide.player\n"
        "assert voiceguide.render.__module__ == 'voiceguide.api', voiceguide.render\n"
        "assert callable(voiceguide.play) and callable(voiceguide.plan)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_public_names() -> None:
    for name in voiceguide.__all__:
        assert getattr(voiceguide, name) is not None
    assert {"load", "loads", "plan", "render", "play", "RoutineError"} <= set(voiceguide.__all__)
