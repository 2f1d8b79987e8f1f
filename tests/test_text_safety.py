"""Cue texts are spoken as text: never options, markup or shell. Texts that start with `-`,
carry SSML or HTML entities, quotes, shell syntax, newlines, emoji or right-to-left scripts go
through check, plan and a real render (eSpeak NG); the plan JSON and the captions hold the
exact texts, the audio has no 5 s SSML break, and no process is ever started through a shell.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from voiceguide.cli import main
from voiceguide.routine.models import Voice
from voiceguide.speech.synth import Synthesizer
from voiceguide.timeline import Cue

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "voiceguide"

TEXTS = {
    "Dash": "-v --help",
    "Option": "--output=/etc/passwd -w out.wav",
    "SSML": 'Relax <break time="5s"/> now <speak>and</speak> breathe',
    "Entities": "Salt &amp; pepper &lt; 3 --> done",
    "Quotes": "He said \"stop\" and 'go' `now`",
    "Shell": "$(touch pwned1); rm -rf pwned2 | echo hi > pwned3 && `touch pwned4`",
    "Newlines": "First line\nSecond line",
    "Emoji": "Smile 🙂 and breathe 🌬️",
    "Arabic": "تنفس ببطء",
    "Hebrew": "נשום לאט",
}
# Right-to-left texts are spoken by their own language's voice, as a user would write them.
VOICES = {"Arabic": "ar", "Hebrew": "he"}


@pytest.fixture(scope="module")
def routine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("safety")
    steps: list[dict[str, object]] = []
    for name, text in TEXTS.items():
        steps.append({"name": name, "say": text, "hold": 0.2})
        if name in VOICES:
            steps[-1]["voice"] = {"id": VOICES[name]}
    path = folder / "safety.yaml"
    path.write_text(
        yaml.safe_dump({"title": "Text safety", "steps": steps}, allow_unicode=True),
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def rendered(routine: Path) -> Path:
    """A real render (subprocess, cwd = a fresh folder) with plan JSON and both captions."""
    folder = routine.parent / "run"
    folder.mkdir()
    args = ["render", str(routine), "-o", "out.wav", "-q", "--no-cache", "--timeline", "plan.json"]
    for suffix in ("srt", "vtt"):
        run = subprocess.run(
            [sys.executable, "-m", "voiceguide", *args, "--captions", f"captions.{suffix}"],
            cwd=folder,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert "Traceback" not in run.stderr
    return folder


def test_check_accepts_every_text(routine: Path):
    result = CliRunner().invoke(main, ["check", str(routine)])
    assert result.exit_code == 0, result.stderr


def test_plan_shows_every_text_verbatim(routine: Path):
    result = CliRunner().invoke(main, ["plan", "--estimate", "--json", str(routine)])
    assert result.exit_code == 0, result.stderr
    spoken = [e["text"] for e in json.loads(result.stdout)["events"] if e["kind"] == "speech"]
    assert spoken == list(TEXTS.values())
    table = CliRunner().invoke(main, ["plan", "--estimate", str(routine)]).stdout
    for text in TEXTS.values():
        assert text.splitlines()[0] in table


def test_render_writes_only_its_files_and_the_exact_texts(rendered: Path):
    assert sorted(p.name for p in rendered.iterdir()) == [
        "captions.srt",
        "captions.vtt",
        "out.wav",
        "plan.json",
    ]  # no pwned* file: nothing ran through a shell
    plan = json.loads((rendered / "plan.json").read_text(encoding="utf-8"))
    assert [e["text"] for e in plan["events"] if e["kind"] == "speech"] == list(TEXTS.values())


def cue_texts(caption_file: Path) -> list[str]:
    """The text of every cue: the lines after each timing line, up to a blank line."""
    blocks = caption_file.read_text(encoding="utf-8").split("\n\n")
    texts = []
    for block in blocks:
        lines = block.strip("\n").splitlines()
        for i, line in enumerate(lines):
            if re.match(r"^\d\d:\d\d:\d\d[.,]\d{3} --> ", line):
                texts.append("\n".join(lines[i + 1 :]))
    return texts


def test_srt_captions_hold_the_exact_texts(rendered: Path):
    assert cue_texts(rendered / "captions.srt") == list(TEXTS.values())


def test_vtt_captions_escape_markup_and_hold_the_exact_texts(rendered: Path):
    texts = cue_texts(rendered / "captions.vtt")
    assert [html.unescape(t) for t in texts] == list(TEXTS.values())
    assert all("<" not in t and "-->" not in t for t in texts)


def longest_silence(samples: np.ndarray, rate: int) -> float:
    """Seconds of the longest run of 20 ms windows quieter than -50 dBFS."""
    window = rate // 50
    frames = samples[: samples.shape[0] // window * window].reshape(-1, window)
    quiet = np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1)) < 10 ** (-50 / 20)
    longest = run = 0
    for q in quiet:
        run = run + 1 if q else 0
        longest = max(longest, run)
    return longest * window / rate


@pytest.fixture(scope="module")
def clips() -> dict[str, tuple[float, float]]:
    """(duration, longest inner silence) of every text, synthesized by the real engine."""
    with Synthesizer(use_cache=False) as speech:
        cues = [Cue("speech", t, Voice(id=VOICES.get(n))) for n, t in TEXTS.items()]
        speech.prepare(cues)
        result = {}
        for name, cue in zip(TEXTS, cues):
            clip = speech.clip(cue)
            result[name] = (clip.duration, longest_silence(clip.samples, clip.rate))
    return result


def test_ssml_is_read_out_not_obeyed(clips: dict[str, tuple[float, float]]):
    duration, silence = clips["SSML"]
    assert silence < 1.0, f"a {silence:.2f} s pause: the break tag was obeyed"
    # Read out, the tag's characters take seconds of speech; obeyed, only 4 words remain.
    assert duration > 3.0


@pytest.mark.parametrize("name", ["Dash", "Option", "Entities", "Quotes", "Shell", "Newlines"])
def test_texts_that_look_like_code_are_spoken(clips: dict[str, tuple[float, float]], name: str):
    duration, silence = clips[name]
    assert duration > 0.5
    assert silence < 1.0


@pytest.mark.parametrize("name", ["Arabic", "Hebrew"])
def test_right_to_left_texts_are_spoken(clips: dict[str, tuple[float, float]], name: str):
    duration, silence = clips[name]
    assert 0.3 < duration < 3.0
    assert silence < 1.0


@pytest.mark.parametrize("text", [TEXTS["Arabic"], TEXTS["Hebrew"]])
def test_right_to_left_text_with_the_default_voice(text: str):
    with Synthesizer(use_cache=False) as speech:
        cue = Cue("speech", text)
        speech.prepare([cue])
        assert speech.clip(cue).duration > 0.3


def test_no_shell_anywhere_in_the_package():
    """No subprocess through a shell, no os.system/os.popen, no command given as a string."""
    banned = re.compile(
        r"shell\s*=\s*True|os\.system\(|os\.popen\(|subprocess\.(getoutput|getstatusoutput)\(|"
        r"pty\.spawn\(|\.say\("
    )
    string_command = re.compile(r"subprocess\.\w+\(\s*f?[\"']")
    offenders = []
    for source in sorted(PACKAGE.rglob("*.py")):
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
            if banned.search(line) or string_command.search(line):
                offenders.append(f"{source.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_no_process_is_started_through_a_shell_during_a_render(
    routine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Every process a render starts (speech workers) gets an argument list, no shell."""
    started: list[tuple[object, object]] = []
    real = subprocess.Popen

    class Recording(real):  # type: ignore[misc, valid-type]
        def __init__(self, args, *rest, **kwargs):  # type: ignore[no-untyped-def]
            started.append((args, kwargs.get("shell", False)))
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Recording)
    out = tmp_path / "out.wav"
    result = CliRunner().invoke(main, ["render", str(routine), "-o", str(out), "-q", "--no-cache"])
    assert result.exit_code == 0, result.stderr
    assert started, "the render started no speech worker"
    for args, shell in started:
        assert shell is False
        assert isinstance(args, list | tuple)
        assert not any(text in " ".join(map(str, args)) for text in TEXTS.values())
