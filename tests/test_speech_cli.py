"""`voiceguide voices` and `voiceguide cache`: what the user sees."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.sound.clip import Clip
from voiceguide.speech import piper_voices, synth
from voiceguide.speech.base import VoiceInfo
from voiceguide.speech.cache import ClipCache, cache_key


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_voices_table():
    result = run("voices")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "language", "gender"]
    row = next(line for line in lines if line.startswith("gmw/en-us "))
    assert "English (America)" in row and "en-us" in row


def test_voices_json():
    result = run("voices", "--engine", "pyttsx3", "--json")
    assert result.exit_code == 0
    voices = json.loads(result.output)
    assert {"id": "gmw/en-us", "name": "English (America)", "language": "en-us"}.items() <= next(
        v for v in voices if v["id"] == "gmw/en-us"
    ).items()
    assert set(voices[0]) == {"id", "name", "language", "gender"}


def test_voices_table_names_the_sample_rate_and_stays_aligned(monkeypatch):
    long_name = "a-dataset-with-a-rather-long-name (medium) [package some-piper-voice-package]"
    listed = [
        VoiceInfo("en_US-joe-medium", "joe (medium) [user folder]", "en_US", sample_rate=22050),
        VoiceInfo("en_GB-long-x_low", long_name, "en_GB", sample_rate=16000),
    ]
    monkeypatch.setattr(synth, "list_voices", lambda engine: listed)
    result = run("voices", "--engine", "piper")
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split() == ["id", "name", "language", "gender", "sample", "rate"]
    assert header.endswith("gender  sample rate")
    assert len(rows) == 2
    # Every column starts where its title does, however long a name is.
    columns = {
        "name": ["joe (medium)", "a-dataset-w"],
        "language": ["en_US", "en_GB"],
        "sample rate": ["22050", "16000"],
    }
    for title, cells in columns.items():
        at = header.index(title)
        assert [row[at : at + len(cell)] for row, cell in zip(rows, cells, strict=True)] == cells


def write_voice(folder: Path, name: str, config: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.onnx").write_bytes(b"")  # listing reads only the config
    (folder / f"{name}.onnx.json").write_text(config)


@pytest.mark.piper
def test_piper_voices_lists_the_good_and_warns_of_a_broken_config(tmp_path, monkeypatch):
    pytest.importorskip("piper")
    monkeypatch.setattr(piper_voices, "_package_models", lambda: [])
    good = '{"audio": {"sample_rate": 16000, "quality": "low"}, "language": {"code": "en_GB"}}'
    write_voice(tmp_path, "en_GB-good-low", good)
    write_voice(tmp_path, "en_GB-bad-low", '{"audio": ')
    monkeypatch.setenv(piper_voices.VOICES_ENV, str(tmp_path))
    result = run("voices", "--engine", "piper")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].split() == [
        "en_GB-good-low",
        "en_GB-good-low",
        "(low)",
        "[VOICEGUIDE_VOICES]",
        "en_GB",
        "16000",
    ]
    assert len(result.stdout.splitlines()) == 2
    assert result.stderr == (
        f"warning: cannot read piper voice config {tmp_path}/en_GB-bad-low.onnx.json: "
        "Expecting value: line 1 column 11 (char 10)\n"
    )


@pytest.mark.piper
def test_piper_voices_with_none_found_says_how_to_get_one(monkeypatch):
    pytest.importorskip("piper")
    monkeypatch.setattr(piper_voices, "_package_models", lambda: [])
    result = run("voices", "--engine", "piper")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == piper_voices.no_voice_found() + "\n"
    assert result.stderr.startswith("no piper voice found; get one with `python -m piper.download")
    assert str(piper_voices.user_voices_dir()) in result.stderr


def test_voices_of_unknown_engine_is_one_line():
    result = run("voices", "--engine", "nope")
    assert result.exit_code == 1
    assert result.output.strip() == "error: unknown speech engine 'nope' (known: piper, pyttsx3)"


def test_cache_info_and_clear(tmp_path):
    cache = ClipCache(tmp_path)
    for i in range(3):
        cache.put(cache_key(i), Clip(np.zeros(22050, dtype=np.float32), 22050))
    result = run("cache", "info", "--cache-dir", str(tmp_path))
    assert result.exit_code == 0
    assert f"location: {tmp_path}" in result.output
    assert "entries:  3" in result.output
    assert "size:     0.3 MB" in result.output
    result = run("cache", "--cache-dir", str(tmp_path), "clear")
    assert result.exit_code == 0
    assert result.output.strip() == f"removed 3 clips from {tmp_path}"
    assert "entries:  0" in run("cache", "info", "--cache-dir", str(tmp_path)).output


def test_a_cache_folder_that_cannot_exist_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("")
    folder = tmp_path / "afile" / "sub"
    result = run("plan", "hand-massage", "--cache-dir", str(folder))
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"error: cannot use the clip cache folder {folder}: Not a directory"
        " (choose another with --cache-dir, or use --no-cache)"
    ]


def test_an_unknown_voice_in_a_routine_is_reported_where_it_is_written(tmp_path):
    routine = tmp_path / "r.yaml"
    routine.write_text(
        "title: T\n"
        "voice: {id: en-uss}\n"
        "steps:\n"
        "  - name: A\n"
        "    say: Hello.\n"
        "  - name: B\n"
        "    say: Again.\n"
        "    voice:\n"
        "      id: en-uss\n"
    )
    for command in (["plan"], ["render", "-o", str(tmp_path / "out.wav")], ["play", "--dry-run"]):
        result = run(*command, str(routine), "--no-cache")
        assert result.exit_code == 1, command
        lines = result.output.splitlines()
        where = [line.split(": error: ")[0] for line in lines]
        assert where == [f"{routine}:2:13", f"{routine}:9:11"], command
        assert all("unknown voice 'en-uss' for engine pyttsx3 (closest: " in line for line in lines)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.yaml"]


def test_an_unknown_voice_on_the_command_line_has_no_file_to_name(tmp_path):
    result = run("plan", "hand-massage", "--voice", "en-uss", "--no-cache")
    assert result.exit_code == 1
    assert result.output.startswith("error: unknown voice 'en-uss' for engine pyttsx3 (closest: ")
    assert len(result.output.splitlines()) == 1
