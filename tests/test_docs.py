"""The README's format reference and examples are real: they pass `check` and `--help`."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from click.testing import CliRunner

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
