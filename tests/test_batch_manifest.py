"""Batch manifests: jobs expanded from explicit entries and a matrix, paths from the manifest's
folder, every problem located before any work, and the JSON Schema agreeing with the reader."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from voiceguide.batch import ManifestError, parse_manifest
from voiceguide.batch.schema import batch_schema
from voiceguide.cli import main

EXAMPLE = """\
defaults: {format: mp3, captions: true}
jobs:
  - {routine: facial-massage, out: face-slow.mp3, pace: 0.8}
matrix:
  routine: [facial-massage, neck-and-shoulders, my/hand-care.yaml]
  voice: [en_US-joe-medium, en-gb]
  pace: [0.8, 1, 1.25]
  out: "tracks/{routine}/{voice}-{pace}.{format}"
"""


def parse(text: str, folder: Path):
    return parse_manifest(text, "batch.yaml", folder=folder)


def problems(text: str, folder: Path) -> list[str]:
    with pytest.raises(ManifestError) as caught:
        parse(text, folder)
    return [str(p) for p in caught.value.problems]


def test_the_issue_example_expands_to_19_jobs_relative_to_the_manifest(tmp_path):
    manifest = parse(EXAMPLE, tmp_path)
    assert len(manifest.jobs) == 1 + 3 * 2 * 3
    first, second, last = manifest.jobs[0], manifest.jobs[1], manifest.jobs[-1]
    assert first.out == tmp_path / "face-slow.mp3"
    assert first.captions == tmp_path / "face-slow.vtt"
    assert first.run.options.pace == 0.8
    assert second.out == tmp_path / "tracks/facial-massage/en_US-joe-medium-0.8.mp3"
    assert second.run.options.overrides.id == "en_US-joe-medium"
    # A routine path names its file by its stem, and is taken from the manifest's folder.
    assert last.out == tmp_path / "tracks/hand-care/en-gb-1.25.mp3"
    assert last.source == str(tmp_path / "my/hand-care.yaml")
    assert second.source == "facial-massage"  # a built-in
    assert len({j.out for j in manifest.jobs}) == len(manifest.jobs)


def test_default_names_carry_what_the_matrix_varies(tmp_path):
    manifest = parse("matrix: {routine: hand-massage, pace: [1, 1.5], rate: 170}", tmp_path)
    assert [j.out.name for j in manifest.jobs] == ["hand-massage-1.wav", "hand-massage-1.5.wav"]
    assert manifest.jobs[0].run.options.overrides.rate == 170


def test_sidecars_and_formats(tmp_path):
    manifest = parse(
        "jobs:\n"
        "  - {routine: hand-massage, out: a, format: flac, captions: srt, timeline: true, split: true}\n"
        "  - {routine: hand-massage, out: 'x/{routine}.ogg', timeline: 'plans/{routine}.json', sample_rate: 16000}\n",
        tmp_path,
    )
    a, b = manifest.jobs
    assert (a.out, a.captions, a.timeline, a.split) == (
        tmp_path / "a.flac",
        tmp_path / "a.srt",
        tmp_path / "a.json",
        tmp_path / "a",
    )
    assert b.out == tmp_path / "x/hand-massage.ogg"
    assert b.timeline == tmp_path / "plans/hand-massage.json"
    assert b.sample_rate == 16000 and b.captions is None


def test_a_bad_value_is_reported_where_the_matrix_wrote_it(tmp_path):
    found = problems("matrix:\n  routine: hand-massage\n  pace: [1, 0, 2]\n", tmp_path)
    assert found == ["batch.yaml:3:13: error: 'pace': 0 is not a number above 0 and at most 100"]


def test_every_problem_at_once_with_hints(tmp_path):
    found = problems(
        "defaults: {pase: 2}\n"
        "jobs:\n"
        "  - {routine: hand-massage, reps: lots}\n"
        "  - {routine: hand-massage, fit: 12m, pace: 2, out: b.wav}\n"
        "  - {out: c.wav}\n",
        tmp_path,
    )
    assert (
        found[0] == "batch.yaml:1:12: error: unknown key 'pase' in 'defaults'; did you mean 'pace'?"
    )
    # The defaults' problem stops expansion: fix it and the jobs' problems show.
    found = problems(
        "jobs:\n"
        "  - {routine: hand-massage, reps: lots}\n"
        "  - {routine: hand-massage, fit: 12m, pace: 2, out: b.wav}\n"
        "  - {out: c.wav}\n"
        "  - {routine: hand-massage, engine: espeak, out: d.wav}\n",
        tmp_path,
    )
    assert found == [
        "batch.yaml:2:35: error: 'reps': 'lots' is not a whole number from 1 to 10000, 'min' or 'max'",
        "batch.yaml:3:34: error: 'fit': chooses the pace itself; do not combine it with 'pace'",
        "batch.yaml:4:5: error: a job needs 'routine' (in the job, the defaults or the matrix)",
        "batch.yaml:5:37: error: unknown engine 'espeak'; use auto, pyttsx3 or piper",
    ]


def test_two_jobs_writing_one_file_is_an_error_before_any_work(tmp_path):
    found = problems(
        "jobs:\n"
        "  - {routine: hand-massage, out: same.wav}\n"
        "matrix: {routine: [hand-massage, facial-massage], out: same.wav}\n",
        tmp_path,
    )
    assert found == [
        "batch.yaml:3:56: error: job 2 writes same.wav, which job 1 (line 2) writes too",
        "batch.yaml:3:56: error: job 3 writes same.wav, which job 1 (line 2) writes too",
    ]
    # A track's captions colliding with another job's captions counts too.
    found = problems(
        "jobs:\n"
        "  - {routine: hand-massage, out: a.wav, captions: c.vtt}\n"
        "  - {routine: hand-massage, out: b.wav, captions: c.vtt}\n",
        tmp_path,
    )
    assert found == ["batch.yaml:3:34: error: job 2 writes c.vtt, which job 1 (line 2) writes too"]


def test_templates_and_formats_are_checked(tmp_path):
    assert problems("matrix: {routine: hand-massage, out: '{speed}.wav'}", tmp_path) == [
        "batch.yaml:1:38: error: unknown placeholder {speed}; use {routine}, {voice}, {engine}, "
        "{pace}, {reps}, {rate}, {fit}, {wait}, {sample_rate}, {format}"
    ]
    assert problems("jobs: [{routine: hand-massage, out: '{voice}.wav'}]", tmp_path) == [
        "batch.yaml:1:37: error: placeholder {voice} has no value in this job (set 'voice')"
    ]
    assert problems("jobs: [{routine: hand-massage, out: a.wav, format: mp3}]", tmp_path) == [
        "batch.yaml:1:37: error: 'out' ends in .wav but 'format' is mp3"
    ]
    assert problems("jobs: [{routine: hand-massage, captions: notes.txt}]", tmp_path) == [
        "batch.yaml:1:42: error: captions file 'notes.txt' must end in .vtt or .srt"
    ]


def test_music_and_loudness_reach_each_job(tmp_path):
    jobs = parse(
        "defaults: {music: rain}\n"
        "jobs: [{routine: hand-massage, loudness: -20}, {routine: hand-massage, out: b, music: none}]",
        tmp_path,
    ).jobs
    assert jobs[0].run.music is not None and jobs[0].run.music != "routine"
    assert jobs[0].run.music.source == "rain"
    assert (jobs[0].loudness, jobs[1].loudness) == (-20.0, -16.0)
    assert jobs[1].run.music is None
    assert problems("jobs: [{routine: hand-massage, loudness: 3}]", tmp_path) == [
        "batch.yaml:1:42: error: 'loudness': 3 is not from -40 to -5 LUFS"
    ]


def test_yaml_problems_are_located_like_a_routine(tmp_path):
    assert problems("jobs: [\n", tmp_path)[0].startswith("batch.yaml:2:1: error: invalid YAML")
    assert problems("- a\n", tmp_path) == [
        "batch.yaml:1:1: error: the manifest must be a mapping of keys to values, not a list"
    ]
    assert problems("defaults: {pace: 2}\n", tmp_path) == [
        "batch.yaml:1:1: error: the manifest needs 'jobs' or 'matrix' (or both)"
    ]


def test_the_schema_accepts_the_example_and_refuses_what_the_reader_refuses():
    schema = batch_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    import yaml

    jsonschema.validate(yaml.safe_load(EXAMPLE), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"jobs": [{"routine": "a", "pase": 2}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"defaults": {}}, schema)


def test_cli_schema_and_a_bad_manifest(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["schema", "--batch"])
    assert result.exit_code == 0
    assert json.loads(result.output)["title"] == "voiceguide batch manifest"
    manifest = tmp_path / "batch.yaml"
    manifest.write_text("matrix:\n  routine: hand-massage\n  pace: [1, 0]\n")
    result = runner.invoke(main, ["batch", str(manifest)])
    assert result.exit_code == 1
    assert (
        result.stderr
        == f"{manifest}:3:13: error: 'pace': 0 is not a number above 0 and at most 100\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.yaml"]  # nothing written
    result = runner.invoke(main, ["batch", str(tmp_path / "missing.yaml")])
    assert (result.exit_code, result.stderr) == (
        1,
        f"{tmp_path / 'missing.yaml'}: error: no such file\n",
    )


def test_the_readme_manifest_is_valid(tmp_path):
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Batch and clusters\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    manifest = parse(block, tmp_path)
    assert len(manifest.jobs) == 19
    import yaml

    jsonschema.validate(yaml.safe_load(block), batch_schema())
