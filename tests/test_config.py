"""The user configuration file: location, values, precedence, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from voiceguide.config import CONFIG_ENV, Config, ConfigError, config_path, describe, load_config
from voiceguide.errors import VoiceguideError
from voiceguide.routine.models import Voice, VoiceSpec, resolve_voice


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path) -> str:
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert isinstance(error.value, VoiceguideError)
    return str(error.value)


def test_default_location_and_missing_file_is_empty(tmp_path):
    assert config_path() == tmp_path / "xdg-config" / "voiceguide" / "config.toml"
    config = load_config()
    assert config == Config(path=config_path())
    assert config.voice_spec() == VoiceSpec()
    assert config.output_dir is None


def test_environment_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, 'engine = "piper"\n')
    monkeypatch.setenv(CONFIG_ENV, str(path))
    assert config_path() == path
    config = load_config()
    assert config.exists and config.engine == "piper"


def test_every_key(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    path = write(
        tmp_path,
        'engine = "piper"\nvoice = "en_US-joe-medium"\nrate = 170\nvolume = 0.8\n'
        'output_dir = "~/Music/guides"\n',
    )
    config = load_config(path)
    assert config.voice_spec() == VoiceSpec(
        engine="piper", id="en_US-joe-medium", rate=170, volume=0.8
    )
    assert config.output_dir == tmp_path / "home" / "Music" / "guides"


def test_relative_output_dir_is_beside_the_file(tmp_path):
    config = load_config(write(tmp_path, 'output_dir = "tracks"\n'))
    assert config.output_dir == tmp_path / "tracks"


def test_volume_may_be_written_as_an_integer(tmp_path):
    assert load_config(write(tmp_path, "volume = 1\n")).volume == 1.0


def test_precedence_defaults_config_routine_step_command_line(tmp_path):
    config = load_config(
        write(tmp_path, 'engine = "piper"\nvoice = "en_US-joe-medium"\nrate = 170\n')
    )
    assert resolve_voice(config.voice_spec()) == Voice("piper", "en_US-joe-medium", 170, 1.0)
    routine = VoiceSpec(rate=140)
    step = VoiceSpec(volume=0.5)
    assert resolve_voice(config.voice_spec(), routine, step) == Voice(
        "piper", "en_US-joe-medium", 140, 0.5
    )
    # The command line switching engine drops the config's piper voice.
    command_line = VoiceSpec(engine="pyttsx3")
    assert resolve_voice(config.voice_spec(), routine, step, command_line) == Voice(
        "pyttsx3", None, 140, 0.5
    )


def test_toml_syntax_error_is_located(tmp_path):
    path = write(tmp_path, 'engine = "piper"\nrate = \n')
    assert error_of(path) == f"{path}:2:8: error: invalid value"


def test_unterminated_file(tmp_path):
    path = write(tmp_path, "rate = [1,\n")
    assert error_of(path) == f"{path}: error: invalid value at end of file"


def test_wrong_type_is_located(tmp_path):
    path = write(tmp_path, 'engine = "piper"\nrate = "fast"\n')
    assert error_of(path) == f"{path}:2:8: error: rate must be a whole number, got 'fast'"


def test_boolean_is_not_a_rate(tmp_path):
    path = write(tmp_path, "rate = true\n")
    assert error_of(path) == f"{path}:1:8: error: rate must be a whole number, got True"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rate = 20\n", "1:8: error: rate must be 40-600 words per minute, got 20"),
        ("volume = 1.5\n", "1:10: error: volume must be 0.0-1.0, got 1.5"),
        ('volume = "loud"\n', "1:10: error: volume must be a number, got 'loud'"),
        ("voice = 3\n", "1:9: error: voice must be a non-empty string, got 3"),
        ('engine = ""\n', "1:10: error: engine must be a non-empty string, got ''"),
        ('engine = "pipr"\n', "1:10: error: unknown engine 'pipr' (did you mean 'piper'?)"),
        (
            'rate = 150\nengine = "foo"\n',
            "2:10: error: unknown engine 'foo' (known: piper, pyttsx3)",
        ),
    ],
)
def test_out_of_range_values(tmp_path, text, message):
    path = write(tmp_path, text)
    assert error_of(path) == f"{path}:{message}"


def test_unknown_key_suggests_the_closest(tmp_path):
    path = write(tmp_path, "rate = 150\n  volumne = 0.5\n")
    assert error_of(path) == f"{path}:2:3: error: unknown key 'volumne' (did you mean 'volume'?)"


def test_unknown_table(tmp_path):
    path = write(tmp_path, "[piper]\nvoice = 'x'\n")
    assert error_of(path) == (
        f"{path}:1:1: error: unknown key 'piper' (known: engine, voice, rate, volume, output_dir,"
        " cache_limit, listen)"
    )


def test_explicit_missing_file_is_an_error(tmp_path):
    path = tmp_path / "nope.toml"
    assert error_of(path) == f"{path}: error: configuration file not found"


def test_not_utf8(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"voice = '\xff'\n")
    assert error_of(path) == f"{path}: error: not UTF-8 text"


def test_describe_shows_sources(tmp_path):
    path = write(tmp_path, 'engine = "piper"\nrate = 170\n')
    lines = describe(load_config(path)).splitlines()
    assert lines[0] == f"config file: {path}"
    assert lines[1].startswith("engine     = piper") and lines[1].endswith("[config]")
    assert lines[2].startswith("voice      = (engine default)") and lines[2].endswith("[default]")
    assert lines[3].startswith("rate       = 170") and lines[3].endswith("[config]")
    assert lines[4].startswith("volume     = 1.0") and lines[4].endswith("[default]")
    assert lines[5].startswith(
        f"output_dir = {Path.cwd() / 'audio'} (audio/ in the current folder)"
    )


def test_describe_missing_file(tmp_path):
    text = describe(load_config())
    assert text.splitlines()[0].endswith("config.toml (not found: built-in defaults apply)")


def test_config_command(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from voiceguide.cli import main

    path = write(tmp_path, 'engine = "piper"\n')
    monkeypatch.setenv(CONFIG_ENV, str(path))
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == f"config file: {path}"
    assert "engine     = piper" in result.output


def test_unknown_engine_stops_every_command_naming_the_file(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from voiceguide.cli import main

    path = write(tmp_path, 'engine = "foo"\n')
    monkeypatch.setenv(CONFIG_ENV, str(path))
    for command in (["config"], ["plan", "hand-massage"], ["voices"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1
        assert (
            result.stderr == f"{path}:1:10: error: unknown engine 'foo' (known: piper, pyttsx3)\n"
        )


def test_config_command_reports_a_bad_file(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from voiceguide.cli import main

    path = write(tmp_path, "rate = 'x'\n")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    result = CliRunner().invoke(main, ["config"])
    assert result.exit_code == 1
    assert result.output == f"{path}:1:8: error: rate must be a whole number, got 'x'\n"


def test_documented_example_is_valid(tmp_path, monkeypatch):
    from voiceguide.config import EXAMPLE

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(write(tmp_path, EXAMPLE))
    assert config.voice_spec() == VoiceSpec("piper", "en_US-joe-medium", 150, 1.0)
    assert config.output_dir == tmp_path / "home" / "Music" / "voiceguide"


def test_listen_is_a_boolean_and_makes_play_listen(tmp_path):
    from voiceguide.api import plan_options

    config = load_config(write(tmp_path, "listen = true\n"))
    assert config.listen is True
    assert plan_options(config=config).listen is True
    assert plan_options(config=load_config(write(tmp_path, "listen = false\n"))).listen is False
    path = write(tmp_path, 'listen = "yes"\n')
    assert error_of(path) == f"{path}:1:10: error: listen must be true or false, got 'yes'"
