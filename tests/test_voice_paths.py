"""Piper model paths: a routine's and the config file's are taken from that file's folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.config import load_config
from voiceguide.routine.loader import load_routine

ROUTINE = """\
title: Paths
voice: {{engine: piper, id: {routine_id}}}
steps:
  - name: One
    say: Breathe in.
    voice: {{id: {step_id}}}
"""


def write_routine(folder: Path, routine_id: str, step_id: str = "en_US-joe-medium") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "paths.yaml"
    path.write_text(ROUTINE.format(routine_id=routine_id, step_id=step_id), encoding="utf-8")
    return path


def touch_model(folder: Path, name: str) -> Path:
    """A model file and its config: the loader only checks that the model is there."""
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / f"{name}.onnx"
    model.write_bytes(b"")
    (folder / f"{name}.onnx.json").write_text("{}")
    return model


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Commands run from a folder that holds neither the routine nor its voices."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_routine_model_path_is_taken_from_the_routine_folder(tmp_path, elsewhere):
    routines = tmp_path / "routines"
    model = touch_model(routines / "v", "rel")
    other = touch_model(routines, "beside")
    routine = load_routine(write_routine(routines, "v/rel.onnx", step_id="beside.onnx"))
    assert routine.voice.id == str(model)
    # A bare file name that exists beside the routine is that file; `.onnx` alone says Piper.
    assert routine.steps[0].voice.id == str(other)


def test_missing_model_path_in_a_routine_is_a_located_problem(tmp_path, elsewhere):
    path = write_routine(tmp_path / "routines", "v/none.onnx")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}:2:28: error: piper voice model 'v/none.onnx' not found "
        "(a relative path is taken from the routine's folder)\n"
    )


def test_voice_names_and_other_engines_ids_are_not_paths(tmp_path, elsewhere):
    routines = tmp_path / "routines"
    # No such file beside the routine: the name of a voice found elsewhere.
    routine = load_routine(write_routine(routines, "en_US-joe-medium.onnx"))
    assert routine.voice.id == "en_US-joe-medium.onnx"
    assert routine.steps[0].voice.id == "en_US-joe-medium"
    (routines / "paths.yaml").write_text(
        "title: T\nvoice: {engine: pyttsx3, id: gmw/en-us}\n"
        "steps: [{name: A, say: Hi., voice: {id: gmw/en}}]\n"
    )
    routine = load_routine(routines / "paths.yaml")
    assert routine.voice.id == "gmw/en-us"
    assert routine.steps[0].voice.id == "gmw/en"


def test_config_model_path_is_taken_from_the_config_folder(tmp_path, elsewhere):
    folder = tmp_path / "conf"
    model = touch_model(folder / "voices", "mine")
    config = folder / "config.toml"
    config.write_text('engine = "piper"\nvoice = "voices/mine.onnx"\n')
    assert load_config(config).voice == str(model)
    config.write_text('voice = "voices/mine.onnx"\n')  # `.onnx` says Piper without engine
    assert load_config(config).voice == str(model)
    # Voice names and eSpeak ids stay as they are.
    config.write_text('engine = "piper"\nvoice = "en_US-joe-medium"\n')
    assert load_config(config).voice == "en_US-joe-medium"
    config.write_text('engine = "pyttsx3"\nvoice = "gmw/en-us"\n')
    assert load_config(config).voice == "gmw/en-us"
