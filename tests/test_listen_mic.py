"""End to end through a real-time test microphone (tests/virtual_mic.py): `voiceguide play
--listen --dry-run` hears words spoken at known moments, and never its own cues."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.listen_audio import int16, spoken
from tests.virtual_mic import VirtualMic, available
from voiceguide.routine.models import Voice
from voiceguide.speech.synth import Synthesizer

pytestmark = [
    pytest.mark.listen,
    pytest.mark.slow,
    pytest.mark.skipif(not available(), reason="needs pulseaudio and libasound2-plugins"),
]

VOICEGUIDE = [sys.executable, "-m", "voiceguide"]
PIPER = Voice("piper", "en_US-joe-medium", 175)
ESPEAK = Voice("pyttsx3", None, 175)


@pytest.fixture
def mic(tmp_path: Path) -> Iterator[VirtualMic]:
    microphone = VirtualMic(tmp_path / "mic")
    microphone.folder.mkdir()
    microphone.start()
    yield microphone
    microphone.stop()


@pytest.fixture(scope="module")
def words() -> Iterator[Callable[[str, Voice], np.ndarray]]:
    with Synthesizer(use_cache=False) as speech:
        yield lambda text, voice=PIPER: int16(spoken(speech, text, voice))


def session(
    mic: VirtualMic,
    routine: Path,
    on_line: Callable[[str, float], None],
    limit: float = 60.0,
) -> list[tuple[float, str]]:
    """Run `play --listen --dry-run` on the test microphone; every output line with the
    clock time it was read; `on_line(line, at)` may speak into the microphone."""
    cache = routine.parent / "cache"
    process = subprocess.Popen(
        [*VOICEGUIDE, "play", str(routine), "--dry-run", "--listen", "--mic", "vgmic",
         "--no-keys", "--engine", "pyttsx3", "--cache-dir", str(cache)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=mic.env(),
    )  # fmt: skip
    timer = threading.Timer(limit, process.kill)
    timer.start()
    lines: list[tuple[float, str]] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            at = time.monotonic()
            lines.append((at, line.rstrip("\n")))
            on_line(line, at)
        process.wait()
    finally:
        timer.cancel()
    assert process.returncode == 0, "\n".join(text for _, text in lines)
    return lines


def when(lines: list[tuple[float, str]], text: str) -> float:
    return next(at for at, line in lines if text in line)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "routine.yaml"
    path.write_text(text)
    return path


def test_a_spoken_next_moves_to_the_next_step(mic: VirtualMic, words, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    routine = write(tmp_path, "title: T\nsteps:\n  - name: One\n    say: Step one.\n    hold: 30s\n"
                    "  - name: Two\n    say: Step two.\n    hold: 1s\n")  # fmt: skip
    said: list[float] = []

    def on_line(line: str, at: float) -> None:
        if "Step one." in line:
            said.append(at + 3.0)
            mic.say(words("next"), at + 3.0)

    lines = session(mic, routine, on_line)
    text = "\n".join(line for _, line in lines)
    assert " heard: next" in text
    moved = when(lines, "Step two.") - said[0]
    assert 0.3 < moved < 2.5, text  # at once, not after the 30 s hold
    assert lines[-1][1].startswith("finished")


def test_pause_then_resume_and_a_wait_ended_by_next(mic: VirtualMic, words, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    routine = write(tmp_path, "title: T\nsteps:\n  - name: Oil\n    say: Warm the oil.\n    wait: true\n"
                    "  - name: Roll\n    say: Roll the cheeks.\n    hold: 6s\n")  # fmt: skip
    spoken_at: dict[str, float] = {}

    def on_line(line: str, at: float) -> None:
        if "(wait until ready)" in line:
            spoken_at["next"] = at + 2.0
            mic.say(words("next"), at + 2.0)
        if "Roll the cheeks." in line and "pause" not in spoken_at:
            spoken_at["pause"] = at + 2.5
            spoken_at["resume"] = at + 6.0
            mic.say(words("pause"), at + 2.5)
            mic.say(words("resume"), at + 6.0)

    lines = session(mic, routine, on_line)
    text = "\n".join(line for _, line in lines)
    assert "heard: next" in text and "heard: pause" in text and "heard: resume" in text, text
    assert 0.3 < when(lines, "Roll the cheeks.") - spoken_at["next"] < 2.5, text
    paused, resumed = when(lines, "-- paused"), when(lines, "-- resumed")
    assert 0.3 < paused - spoken_at["pause"] < 2.5
    assert 0.3 < resumed - spoken_at["resume"] < 2.5
    # The 6 s hold took 2.5 s, the pause, then the rest: the session ran ~3.5 s longer.
    finished = when(lines, "finished")
    assert finished - when(lines, "Roll the cheeks.") > 6.0 + (resumed - paused) - 1.0


def test_the_guides_own_cues_heard_back_trigger_nothing(
    mic: VirtualMic, words, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    # Cues that are command words, heard back through the microphone as they are "played".
    routine = write(tmp_path, "title: T\nsteps:\n  - name: A\n    say: Next.\n    hold: 2s\n"
                    "  - name: B\n    say: Pause.\n    hold: 2s\n  - name: C\n    say: Repeat.\n"
                    "    hold: 2s\n  - name: D\n    say: Repeat ten times, then pause.\n    hold: 2s\n")  # fmt: skip
    cues = ["Next.", "Pause.", "Repeat.", "Repeat ten times, then pause."]
    clips = {cue: words(cue, ESPEAK) for cue in cues}

    def on_line(line: str, at: float) -> None:
        for cue in cues:
            if line.rstrip().endswith(cue):
                mic.say(clips[cue], at)

    lines = session(mic, routine, on_line)
    text = "\n".join(line for _, line in lines)
    assert (
        "heard" not in text
        and "paused" not in text
        and "repeat" not in text.lower().replace("repeat.", "").replace("repeat ten", "")
    ), text
    assert [cue for cue in cues if cue in text] == cues
    assert lines[-1][1].startswith("finished")


def test_listen_prints_each_command_until_ctrl_c(mic: VirtualMic, words) -> None:  # type: ignore[no-untyped-def]
    import signal

    process = subprocess.Popen(
        [*VOICEGUIDE, "listen", "--mic", "vgmic"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=mic.env(),
    )  # fmt: skip
    started = time.monotonic()
    time.sleep(2.0)  # the model loads, capture starts
    mic.say(words("repeat"), time.monotonic() + 0.5)
    time.sleep(2.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 130, err
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == ["repeat"], out
    heard_at = float(lines[0].split()[0][3:])
    assert 0.5 < heard_at < time.monotonic() - started
