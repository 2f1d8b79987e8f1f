"""Clear words for the slips a new user makes: one line each, exit 1."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import yaml
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.routine.schema import routine_schema


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_output_without_extension_says_the_extension_picks_the_format(tmp_path):
    out = tmp_path / "tracks"
    result = run("render", "hand-massage", "-o", str(out), "-q", "--no-cache")
    assert result.exit_code == 1
    assert result.output == (
        f"error: {out} has no extension, and the extension picks the format: "
        f"use .wav, .flac, .ogg or .mp3 (e.g. {out}.wav)\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_output_folder_says_to_name_a_file_in_it(tmp_path):
    result = run("render", "hand-massage", "-o", str(tmp_path), "-q", "--no-cache")
    assert result.exit_code == 1
    assert result.output == (
        f"error: {tmp_path} is a folder; name a file in it, whose extension picks the format: "
        f"use .wav, .flac, .ogg or .mp3 (e.g. {tmp_path / 'routine.wav'})\n"
    )


def test_misspelled_builtin_says_did_you_mean():
    result = run("plan", "facial-masage")
    assert result.exit_code == 1
    assert result.output == (
        "facial-masage: error: no such file or built-in routine; did you mean 'facial-massage'?\n"
    )


def test_missing_file_has_no_line_and_column(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = run("check", str(missing))
    assert result.exit_code == 1
    assert result.output == f"{missing}: error: no such file\n"


def test_tab_indentation_is_located_at_the_tab(tmp_path):
    routine = tmp_path / "r.yaml"
    routine.write_text("title: T\nsteps:\n  - name: A\n    say: Hi\n  \thold: 2s\n")
    result = run("check", str(routine))
    assert result.exit_code == 1
    assert result.output == (
        f"{routine}:5:3: error: a tab indents this line; YAML needs spaces for indentation\n"
    )


def test_unknown_voice_suggests_by_language_and_name():
    result = run("plan", "hand-massage", "--voice", "british", "--no-cache")
    assert result.exit_code == 1
    assert result.output == (
        "error: unknown voice 'british' for engine pyttsx3 (closest: en-gb = English (Great "
        "Britain); see `voiceguide voices`)\n"
    )


def test_starter_schema_comment_names_a_schema_that_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # wherever it is written, the comment's schema is found
    starter = tmp_path / "deep" / "mine.yaml"
    starter.parent.mkdir()
    result = run("new", str(starter))
    assert result.exit_code == 0, result.output
    first = starter.read_text().splitlines()[0]
    prefix = "# yaml-language-server: $schema=file://"
    assert first.startswith(prefix)
    schema_file = Path(first.removeprefix(prefix))
    assert json.loads(schema_file.read_text()) == routine_schema()
    jsonschema.validate(yaml.safe_load(starter.read_text()), routine_schema())
    assert run("check", str(starter)).exit_code == 0
