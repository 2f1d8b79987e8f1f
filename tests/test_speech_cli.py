"""`voiceguide voices` and `voiceguide cache`: what the user sees."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.sound.clip import Clip
from voiceguide.speech.cache import ClipCache, cache_key


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_voices_table():
    result = run("voices")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
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
