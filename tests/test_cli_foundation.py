"""What a user sees from check, plan, list, new and schema."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from voiceguide import __version__
from voiceguide.cli import main
from voiceguide.routine.builtins import builtin_names, builtin_path


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def plan_json(*args: str) -> dict:
    result = run("plan", *args, "--json", "--estimate")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_version_and_module_entry_point():
    assert run("--version").stdout.strip() == f"voiceguide, version {__version__}"
    proc = subprocess.run(
        [sys.executable, "-m", "voiceguide", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_builtin_routines_exist_and_pass_check():
    names = builtin_names()
    assert {"facial-massage", "neck-and-shoulders", "hand-massage"} <= set(names)
    result = run("check", *names)
    assert result.exit_code == 0, result.output
    assert result.stdout.count(": ok: ") == len(names)


def test_list_shows_builtins():
    result = run("list")
    assert result.exit_code == 0
    assert "facial-massage" in result.stdout and "Facial massage" in result.stdout


def roll_reps(data: dict) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for e in data["events"]:
        if e["kind"] == "speech" and e["rep"] is not None and "roll" in (e["step"] or "").lower():
            counts[(e["step"], e["side"])] = counts.get((e["step"], e["side"]), 0) + 1
    return counts


def test_facial_massage_rolls_both_sides_five_times_by_default_and_reps_changes_it():
    data = plan_json("facial-massage")
    counts = roll_reps(data)
    assert len(counts) == 4 and set(counts.values()) == {5}
    assert {side for _, side in counts} == {"Left", "Right"}
    assert set(roll_reps(plan_json("facial-massage", "--reps", "8")).values()) == {8}
    assert set(roll_reps(plan_json("facial-massage", "--reps", "max")).values()) == {10}


def test_plan_json_shape_and_contiguity():
    data = plan_json("facial-massage")
    assert set(data) == {
        "title",
        "engine",
        "voice",
        "total",
        "pace",
        "estimated",
        "warnings",
        "events",
    }
    assert (data["engine"], data["voice"]) == ("pyttsx3", None)  # pinned by conftest
    assert data["estimated"] is True
    assert data["events"][0]["start"] == 0
    for before, after in zip(data["events"], data["events"][1:]):
        assert before["end"] == after["start"]
    assert data["events"][-1]["end"] == data["total"]
    for e in data["events"]:
        assert set(e) == {"start", "end", "kind", "text", "step", "side", "rep"}
        assert e["kind"] in ("speech", "silence", "tone")


def hold_events(data: dict) -> list[dict]:
    """The Jaw step's closing hold (with its countdown): events after its last repetition."""
    jaw = [e for e in data["events"] if e["step"] == "Jaw"]
    last_rep = max(i for i, e in enumerate(jaw) if e["rep"] is not None)
    return jaw[last_rep + 1 :]


def test_pace_two_halves_every_silence():
    one = plan_json("facial-massage")
    two = plan_json("facial-massage", "--pace", "2")
    assert two["pace"] == 2
    assert len(one["events"]) == len(two["events"])
    hold = [e["start"] for e in hold_events(one)]
    for x, y in zip(one["events"], two["events"]):
        assert x["kind"] == y["kind"] and x["text"] == y["text"]
        d1, d2 = x["end"] - x["start"], y["end"] - y["start"]
        if x["kind"] != "silence":
            assert d2 == pytest.approx(d1, abs=1e-9)  # speech is never stretched
        elif x["start"] not in hold and x["rep"] is None:
            assert d2 == pytest.approx(d1 / 2, abs=2e-6)  # gap, breath, hold
    # A repetition slot (its text and the silence after it) lasts every/pace.
    for data, factor in ((one, 1), (two, 2)):
        slots: dict[tuple, float] = {}
        for e in data["events"]:
            if e["rep"] is not None:
                key = (e["step"], e["side"], e["rep"])
                slots[key] = slots.get(key, 0) + e["end"] - e["start"]
        assert slots[("Forehead", None, 1)] == pytest.approx(3 / factor, abs=1e-6)
        assert slots[("Bridge of the nose", None, 2)] == pytest.approx(2.5 / factor, abs=1e-6)
    # The countdown's ticks stay one second apart; the hold around them halves.
    tails = [sum(e["end"] - e["start"] for e in hold_events(d)) for d in (one, two)]
    assert tails[1] == pytest.approx(tails[0] / 2, abs=1e-6)
    ticks = [e["start"] for e in hold_events(two) if e["kind"] == "speech"]
    assert [round(b - a, 6) for a, b in zip(ticks, ticks[1:])] == [1.0, 1.0]


def test_fit_gives_exactly_the_target():
    assert plan_json("facial-massage", "--fit", "12m")["total"] == 720.0
    assert plan_json("facial-massage", "--fit", "4:30")["total"] == 270.0


def test_fit_too_short_is_a_clear_error():
    result = run("plan", "facial-massage", "--fit", "30s")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot fit into 0:30.0: speech alone lasts ")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pace", "0"], "Invalid value for '--pace'"),
        (["--reps", "lots"], "Invalid value for '--reps'"),
        (["--fit", "soon"], "Invalid value for '--fit'"),
        (["--fit", "5m", "--pace", "2"], "do not combine it with --pace"),
        (["--rate", "5"], "Invalid value for '--rate'"),
    ],
)
def test_bad_options_are_usage_errors(args, message):
    result = run("plan", "facial-massage", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_plan_table_lists_cues_and_total():
    result = run("plan", "hand-massage")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:5] == ["start", "step", "side", "rep", "text"]
    assert "Palm circles" in result.stdout
    assert lines[-1].startswith("total ")


def test_unknown_routine_name():
    result = run("plan", "no-such-routine")
    assert result.exit_code == 1
    assert result.stderr == (
        "no-such-routine: error: no such file or built-in routine "
        "(built-ins: facial-massage, hand-massage, neck-and-shoulders)\n"
    )


def test_new_writes_a_starter_that_passes_check_and_refuses_to_overwrite(tmp_path: Path):
    target = tmp_path / "mine.yaml"
    result = run("new", str(target))
    assert result.exit_code == 0
    assert run("check", str(target)).exit_code == 0
    again = run("new", str(target))
    assert again.exit_code == 1
    assert again.stderr == f"error: {target} already exists (use --force to overwrite it)\n"


def test_schema_is_valid_and_accepts_every_builtin():
    result = run("schema")
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    for name in builtin_names():
        jsonschema.validate(yaml.safe_load(builtin_path(name).read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"title": "T", "steps": [{"name": "a", "hodl": 1}]}, schema)


def test_shipped_schema_file_matches_the_generator():
    from voiceguide.routine.schema import routine_schema

    shipped = Path(__file__).parents[1] / "voiceguide" / "routine" / "routine.schema.json"
    assert json.loads(shipped.read_text()) == routine_schema()


def test_check_reports_each_file_and_fails_if_any_fails(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: T\n")
    result = run("check", "hand-massage", str(bad))
    assert result.exit_code == 1
    assert "hand-massage: ok: " in result.stdout
    assert result.stderr == f"{bad}:1:1: error: the routine is missing required key 'steps'\n"
