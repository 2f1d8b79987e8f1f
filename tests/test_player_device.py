"""Real simpleaudio into a test ALSA device (no sound card needed): bytes, onsets, drift, errors.

Each run is a fresh subprocess (tests/player_capture.py) because ALSA reads its configuration
once per process. Clips are real eSpeak NG speech.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import statistics
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.player_capture import load_clip

pytestmark = pytest.mark.device

ROOT = Path(__file__).resolve().parent.parent
TEXTS = [
    "Close your eyes.",
    "Breathe in slowly.",
    "Press gently under the eyes.",
    "Roll towards the temples.",
    "One.",
    "Two.",
    "Three.",
    "Relax your jaw and let the shoulders drop.",
    "Now the other side.",
    "Well done.",
]


@pytest.fixture(scope="session")
def speech_wavs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Real speech: one eSpeak NG WAV per text (22050 Hz mono)."""
    directory = tmp_path_factory.mktemp("speech")
    paths = []
    for number, text in enumerate(TEXTS):
        path = directory / f"cue{number}.wav"
        subprocess.run(["espeak-ng", "-s", "220", "-w", str(path), text], check=True)
        paths.append(str(path))
    return paths


def run_capture(
    directory: Path,
    mode: str,
    cues: list[tuple[str, float]],
    pace: float = 1.0,
    music: dict[str, object] | None = None,
    **popen: object,
) -> subprocess.Popen[str]:
    spec = directory / "spec.json"
    fields = {"mode": mode, "dir": str(directory), "cues": cues, "pace": pace, **(music or {})}
    spec.write_text(json.dumps(fields))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.player_capture", str(spec)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[call-overload]
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> dict:  # type: ignore[type-arg]
    out, err = process.communicate(timeout=timeout)
    assert out, err
    result = json.loads(out)
    result["stderr"] = err
    result["returncode"] = process.returncode
    return result


def onset_errors(result: dict) -> list[float]:  # type: ignore[type-arg]
    """First byte at the speaker minus the planned time, per clip (the probe excluded); with
    a music bed, per mixed segment (its cues are on their samples inside it)."""
    segments = result["segments"][1:]
    if result.get("mixed"):
        assert len(segments) == len(result["mixed"])
        origin = result["origin"]
        return [
            seg[0] - (origin + at)
            for seg, (at, _, _) in zip(segments, result["mixed"], strict=True)
        ]
    assert len(segments) == len(result["onsets"])
    return [seg[0] - due for seg, (_, due, _) in zip(segments, result["onsets"], strict=True)]


def timing_ok(errors: list[float], drift: bool = False) -> bool:
    """The issue's bounds: median onset error <= 2 ms, max <= 20 ms (and, over a long
    session, the last cues no later than the first)."""
    ok = statistics.median(errors) <= 0.002 and max(errors) <= 0.020
    if drift:
        ok = ok and np.median(errors[-10:]) <= np.median(errors[:10]) + 0.005
    return ok


def on_time(
    directory: Path,
    session: Callable[[Path], dict],  # type: ignore[type-arg]
    drift: bool = False,
    attempts: int = 3,
) -> dict:  # type: ignore[type-arg]
    """Run a capture session until one meets the timing bounds, at most `attempts` times.
    The errors measured include the capture process's own wake-up on a shared machine, so
    one busy moment is retried; a scheduler that is really late fails every attempt. Every
    other assertion is made on the session returned."""
    for attempt in range(attempts):
        folder = directory / f"attempt{attempt}"
        folder.mkdir()
        result = session(folder)
        if result.get("status") != "finished" or timing_ok(onset_errors(result), drift):
            return result
    return result


def test_clips_reach_the_device_byte_exact_and_on_time(
    tmp_path: Path, speech_wavs: list[str]
) -> None:
    cues = [(wav, 0.4) for wav in speech_wavs]
    result = on_time(tmp_path, lambda d: finish(run_capture(d, "play", cues)))
    assert result["status"] == "finished", result["stderr"]
    segments = result["segments"]
    # The first thing ALSA sees is the device probe: a few silent frames.
    assert Path(segments[0][1]).read_bytes() == bytes(64)
    assert len(segments) == 1 + len(cues)
    for (_, path, _), wav in zip(segments[1:], speech_wavs, strict=True):
        expected = load_clip(wav).to_int16().tobytes()
        captured = Path(path).read_bytes()
        assert len(captured) == len(expected)
        assert captured == expected
    errors = onset_errors(result)
    assert min(errors) > -0.001  # never early
    assert statistics.median(errors) <= 0.002
    assert max(errors) <= 0.020


def test_a_music_bed_reaches_the_device_with_the_cues_on_their_samples_and_no_seam(
    tmp_path: Path, speech_wavs: list[str]
) -> None:
    cues = [(wav, 0.6) for wav in speech_wavs]
    music = {"music": "brown-noise", "segment": 3.0}  # short segments: several joins
    result = on_time(tmp_path, lambda d: finish(run_capture(d, "play", cues, music=music)))
    assert result["status"] == "finished", result["stderr"]
    mixed, segments = result["mixed"], result["segments"][1:]
    assert len(mixed) >= 3 and len(segments) == len(mixed)
    # Each segment reaches the device when its first sample is due (the onset bounds).
    errors = onset_errors(result)
    assert min(errors) > -0.001
    assert statistics.median(errors) <= 0.002
    assert max(errors) <= 0.020
    # The session rebuilt from what the device got: each segment at the time it covers.
    rate = load_clip(speech_wavs[0]).rate
    pad = rate  # one second of nothing before the session, so a cue can be looked for early
    sound = np.zeros(pad + int(mixed[-1][1] * rate) + rate)
    for (at, _, _), (_, path, _) in zip(mixed, segments, strict=True):
        data = np.frombuffer(Path(path).read_bytes(), "<i2") / 32767
        first = pad + int(round(at * rate))
        sound[first : first + data.shape[0]] += data
    # Every cue is in it on the sample of its onset: taking it out there leaves the least.
    bed = sound.copy()
    for (_, due, _), wav in zip(result["onsets"], speech_wavs, strict=True):
        clip = load_clip(wav).samples.astype(np.float64)
        frame = pad + int(round((due - result["origin"]) * rate))
        residual = [
            np.sum((sound[frame + lag : frame + lag + clip.shape[0]] - clip) ** 2)
            for lag in range(-100, 101)
        ]
        assert abs(int(np.argmin(residual)) - 100) <= 1
        bed[frame : frame + clip.shape[0]] -= clip
    # What is left is the bed: there all along (past its fade-in, before its fade-out)...
    block = int(0.01 * rate)
    inside = bed[pad + int(1.0 * rate) : pad + int((mixed[-1][1] - 1.0) * rate)]
    blocks = inside[: inside.shape[0] // block * block].reshape(-1, block)
    assert np.sqrt(np.mean(blocks**2, axis=1)).min() > 10 ** (-70 / 20)
    # ...and no step where two segments join larger than the bed's own steps elsewhere.
    steps = np.abs(np.diff(bed))
    joins = [pad + int(round(at * rate)) for at, _, _ in mixed[1:]]
    near = np.zeros(steps.shape[0], bool)
    for join in joins:
        near[join - block : join + 2 * block] = True
    assert steps[near].max() <= steps[~near].max()


def test_no_drift_over_a_minute_at_high_pace(tmp_path: Path, speech_wavs: list[str]) -> None:
    cues: list[tuple[str, float]] = []
    total = last_start = 0.0
    while total < 60.0:
        wav = speech_wavs[len(cues) % len(speech_wavs)]
        cues.append((wav, 0.8))  # 0.4 s silences at pace 2
        last_start = total
        total += load_clip(wav).duration + 0.4
    result = on_time(
        tmp_path,
        lambda d: finish(run_capture(d, "play", cues, pace=2.0), timeout=180),
        drift=True,
    )
    assert result["status"] == "finished", result["stderr"]
    errors = onset_errors(result)
    assert len(errors) == len(cues) > 40
    # Planned times are origin + event.start: the last cue is exactly where the timeline says.
    last_index, last_due, _ = result["onsets"][-1]
    assert last_due - result["origin"] == pytest.approx(last_start, abs=1e-6)
    # Drift accumulates (a scheduler pacing on completion loses a few ms per cue, 40+ cues
    # here); medians of ten keep a busy machine's scheduling noise from looking like it.
    first, last = np.median(errors[:10]), np.median(errors[-10:])
    assert last <= first + 0.005
    assert statistics.median(errors) <= 0.002
    assert max(errors) <= 0.020


def test_no_device_is_one_line_before_any_synthesis(tmp_path: Path, speech_wavs: list[str]) -> None:
    result = finish(run_capture(tmp_path, "nodevice", [(speech_wavs[0], 1.0)]))
    assert result["error"] == (
        "no audio device available (Error opening PCM device: No such file or directory); "
        "use `voiceguide render` to write a file instead"
    )
    assert result["exit_code"] == 1
    assert result["clip_calls"] == 0
    assert result["seconds"] < 0.5
    assert "ALSA lib" not in result["stderr"]


def test_keys_on_a_terminal_quit_and_the_terminal_is_restored(
    tmp_path: Path, speech_wavs: list[str]
) -> None:
    leader, follower = pty.openpty()
    before = termios.tcgetattr(follower)
    process = run_capture(tmp_path, "keys", [(wav, 1.0) for wav in speech_wavs], stdin=follower)
    time.sleep(2.0)
    during = termios.tcgetattr(follower)
    os.write(leader, b"q")
    result = finish(process)
    assert not during[3] & termios.ICANON and not during[3] & termios.ECHO  # cbreak while playing
    assert termios.tcgetattr(follower) == before
    assert result["status"] == "stopped"
    assert 1 <= len(result["onsets"]) < len(speech_wavs)
    os.close(leader)
    os.close(follower)


def test_ctrl_c_exits_130_and_restores_the_terminal(tmp_path: Path, speech_wavs: list[str]) -> None:
    leader, follower = pty.openpty()
    before = termios.tcgetattr(follower)
    process = run_capture(tmp_path, "keys", [(wav, 1.0) for wav in speech_wavs], stdin=follower)
    time.sleep(2.0)
    process.send_signal(signal.SIGINT)
    result = finish(process)
    assert result["exit_code"] == 130
    assert result["returncode"] == 130
    assert result["error"] == "interrupted"
    assert termios.tcgetattr(follower) == before
    os.close(leader)
    os.close(follower)
