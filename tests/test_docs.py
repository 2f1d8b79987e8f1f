"""The README's format reference and examples are real: they pass `check` and `--help`, and
the Python example runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import soundfile
import yaml
from click.testing import CliRunner

import voiceguide
from tests.player_fixtures import FakeClock, RecordingStatus
from voiceguide.cli import main
from voiceguide.routine import spec

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", README, flags=re.S)


def test_readme_example_routine_passes_check(tmp_path: Path):
    examples = [b for b in yaml_blocks() if "steps:" in b]
    assert examples
    for i, block in enumerate(examples):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(block)
        result = CliRunner().invoke(main, ["check", str(path)])
        assert result.exit_code == 0, result.output


def test_readme_example_uses_every_key():
    example = next(b for b in yaml_blocks() if "steps:" in b)
    data = yaml.safe_load(example)
    assert {f.name for f in spec.ROUTINE_FIELDS} <= set(data)
    step_keys = set().union(*(s.keys() for s in data["steps"]))
    assert {f.name for f in spec.STEP_FIELDS} <= step_keys
    assert {f.name for f in spec.VOICE_FIELDS} <= set(data["voice"])


def test_readme_tables_name_every_key():
    for f in spec.ROUTINE_FIELDS + spec.STEP_FIELDS:
        # In the first cell of a table row: `| \`intro\`, \`outro\` | …`.
        assert re.search(rf"^\| [^|]*`{f.name}`[^|]*\|", README, flags=re.M), f.name


def test_every_command_has_help():
    runner = CliRunner()
    for name, command in main.commands.items():
        assert command.help, name
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0
        assert command.help.split("\n")[0][:30] in result.output


def python_blocks(section: str) -> list[str]:
    """The ```python blocks of one `## ` section of the README."""
    body = README.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", body, flags=re.S)


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run as written, in an empty folder; only `play` is given a fake clock and no sound."""
    blocks = python_blocks("Use from Python")
    assert blocks
    real_play = voiceguide.play
    status = RecordingStatus()

    def play(*args: object, **keywords: object) -> object:
        return real_play(*args, **keywords, dry_run=True, clock=FakeClock(), status=status)

    monkeypatch.setattr(voiceguide, "play", play)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile("\n".join(blocks), "README.md", "exec"), namespace)
    mp3 = soundfile.info(str(tmp_path / "massage.mp3"))
    assert mp3.duration > 60
    assert (tmp_path / "massage.vtt").read_text().startswith("WEBVTT")
    flac = soundfile.info(str(tmp_path / "breaths.flac"))
    assert flac.samplerate == 24000
    assert (tmp_path / "tracks" / "playlist.m3u8").is_file()
    assert status.events and status.events[0].event.step == "Chin"
