"""Faults seen through the command line: the speech engine hangs, crashes or returns nothing;
the destination is read-only, under a file, or disappears mid-render; the disk fills up;
Ctrl-C and SIGTERM arrive during synthesis and during writing.

Every case: the exit status says what happened, stderr is one line, no traceback, nothing at
the destination and no temporary file beside it. Engine faults run in real worker processes
(backends from speech_fakes.py and robustness_fakes.py); signals go to a real
`python -m voiceguide render` subprocess.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psutil
import pytest
import soundfile as sf
from click.testing import CliRunner, Result

from voiceguide import cli
from voiceguide.cli import main
from voiceguide.errors import OutputError
from voiceguide.rendering import render_routine
from voiceguide.routine.models import Voice
from voiceguide.sound.clip import Clip
from voiceguide.speech.pyttsx3_engine import Pyttsx3Engine
from voiceguide.speech.synth import Synthesizer
from voiceguide.timeline import PlanOptions

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

SHORT = """\
title: Short
steps:
  - name: One
    say: Breathe in slowly.
    hold: 1s
  - name: Two
    say: Relax your shoulders.
"""


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def one_line(result: Result, code: int = 1) -> str:
    assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def render_cli(tmp_path: Path, *extra: str) -> tuple[Result, Path]:
    """`voiceguide render` of SHORT into tmp_path/out/, captions and plan JSON included."""
    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    out = tmp_path / "out" / "short.wav"
    if not out.parent.exists():  # -o never creates folders: the user's folder exists
        out.parent.mkdir()
    args = ["render", str(routine), "-o", str(out), "-q", "--no-cache"]
    args += [
        "--captions",
        str(out.with_suffix(".srt")),
        "--timeline",
        str(out.with_suffix(".json")),
    ]
    return CliRunner().invoke(main, [*args, *extra]), out


def with_engine(monkeypatch: pytest.MonkeyPatch, factory) -> None:  # type: ignore[no-untyped-def]
    """Make the CLI's synthesizer use `factory` for every engine name."""
    monkeypatch.setattr(
        cli.Run, "synthesizer", lambda self: Synthesizer(use_cache=False, engine_factory=factory)
    )


def faulty_worker(backend: str, state: Path, **kwargs: object):  # type: ignore[no-untyped-def]
    state.mkdir(exist_ok=True)
    return lambda name: Pyttsx3Engine(
        backend=backend,
        worker_env={"PYTHONPATH": str(TESTS), "VG_FAKE_STATE": str(state)},
        **kwargs,  # type: ignore[arg-type]
    )


# -- the speech engine fails ------------------------------------------------------------


@pytest.mark.parametrize(
    "backend, kwargs, message",
    [
        ("speech_fakes:AlwaysHang", {"timeout": 0.5}, "hung"),
        ("robustness_fakes:AlwaysCrash", {}, "after 2 attempts: worker exited"),
        ("robustness_fakes:AlwaysEmpty", {}, "after 2 attempts"),
    ],
)
def test_an_engine_that_keeps_failing_is_one_line_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str, kwargs: dict, message: str
):
    with_engine(
        monkeypatch, faulty_worker(backend, tmp_path / "state", jobs=1, attempts=2, **kwargs)
    )
    started = time.monotonic()
    result, out = render_cli(tmp_path)
    line = one_line(result)
    assert line.startswith("error: ") and message in line, line
    assert time.monotonic() - started < 30
    assert not out.parent.exists() or files(out.parent) == []


@pytest.mark.parametrize("backend", ["speech_fakes:HangFirst", "speech_fakes:CrashFirst"])
def test_an_engine_that_fails_once_still_renders_the_whole_routine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
):
    with_engine(monkeypatch, faulty_worker(backend, tmp_path / "state", jobs=1, timeout=2.0))
    result, out = render_cli(tmp_path)
    assert result.exit_code == 0, result.stderr
    data, rate = sf.read(str(out), dtype="int16")
    assert data.shape[0] > 3 * rate and np.abs(data).max() > 1000


class SilentEngine:
    """An engine that answers every request, with `clip` (nothing, or pure silence)."""

    name = "pyttsx3"

    def __init__(self, clips: str):
        self.clips = clips

    def version(self) -> str:
        return "silent"

    def native_rate(self, voice: Voice) -> int:
        return 22050

    def check_voice(self, voice: Voice) -> None:
        pass

    def voices(self) -> list:
        return []

    def synthesize_batch(self, requests) -> list[Clip]:  # type: ignore[no-untyped-def]
        if self.clips == "none":
            return []
        frames = 0 if self.clips == "empty" else 22050
        return [Clip(np.zeros(frames, dtype=np.float32), 22050) for _ in requests]

    def close(self) -> None:
        pass


def test_an_engine_that_returns_no_clips_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    with_engine(monkeypatch, lambda name: SilentEngine("none"))
    result, out = render_cli(tmp_path)
    assert one_line(result) == "error: speech engine pyttsx3 returned too few clips"
    assert not out.parent.exists() or files(out.parent) == []


@pytest.mark.parametrize("clips", ["empty", "silence"])
def test_an_engine_that_returns_no_audio_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clips: str
):
    with_engine(monkeypatch, lambda name: SilentEngine(clips))
    result, out = render_cli(tmp_path)
    assert one_line(result).startswith("error: ")
    assert not out.exists()


# -- the destination fails --------------------------------------------------------------


def test_destination_under_a_file_fails_before_synthesis(tmp_path: Path):
    (tmp_path / "out").write_text("a file, not a folder")
    result, out = render_cli(tmp_path)
    assert one_line(result).startswith(f"error: cannot write {out}: ")
    assert (tmp_path / "out").read_text() == "a file, not a folder"


def test_read_only_folder_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Root ignores folder permissions, so the refusal comes from a patched open()."""
    from voiceguide.export import staging

    def refuse(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(staging, "open", refuse, raising=False)
    result, out = render_cli(tmp_path)
    assert one_line(result) == f"error: cannot write {out}: Permission denied"
    assert files(tmp_path / "out") == []


def test_read_only_folder_at_the_final_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    def refuse(src, dst):  # type: ignore[no-untyped-def]
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    result, out = render_cli(tmp_path)
    assert one_line(result) == f"error: cannot write {out}: Permission denied"
    assert files(tmp_path / "out") == []


# soundfile's virtual-I/O callback cannot raise, so the ENOSPC it swallows is reported
# as unraisable before libsndfile's short write surfaces.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(
    "fmt, reason",
    # libsndfile reports a short write, not errno: soundfile's assertion is all there is.
    [("wav", "No space left on device"), ("flac", "short write (no space left on device?)")],
)
def test_disk_full_is_one_line_and_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, reason: str
):
    """The writers' files go to /dev/full, so the kernel itself answers ENOSPC."""
    from voiceguide.export import writers

    real_open = open
    monkeypatch.setattr(
        writers, "open", lambda path, mode="r", *a, **k: real_open("/dev/full", mode), raising=False
    )
    # Only the writers' view of soundfile changes: the speech engine still reads its WAVs.
    full_soundfile = SimpleNamespace(
        SoundFile=lambda path, *a, **k: sf.SoundFile(real_open("/dev/full", "wb"), *a, **k),
        SoundFileError=sf.SoundFileError,
    )
    monkeypatch.setattr(writers, "sf", full_soundfile)
    result, out = render_cli(tmp_path, "-o", str(tmp_path / "out" / f"short.{fmt}"))
    line = one_line(result)
    assert line.startswith(f"error: cannot write {tmp_path / 'out' / f'short.{fmt}'}: ")
    assert reason in line, line
    assert files(tmp_path / "out") == []


def test_disk_full_while_writing_captions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from voiceguide.export import staging

    real_write_text = Path.write_text

    def full(self, text, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name.startswith(".short.srt."):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_text(self, text, *args, **kwargs)

    monkeypatch.setattr(staging.Path, "write_text", full)
    result, out = render_cli(tmp_path)
    assert one_line(result) == (
        f"error: cannot write {out.with_suffix('.srt')}: No space left on device"
    )
    assert files(tmp_path / "out") == []


def test_destination_folder_disappears_mid_render(tmp_path: Path):
    import shutil

    folder = tmp_path / "out"
    folder.mkdir()
    removed = []

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "writing" and done > total // 2 and not removed:
            shutil.rmtree(folder)
            removed.append(done)

    routine = tmp_path / "short.yaml"
    routine.write_text(SHORT)
    with Synthesizer(use_cache=False) as speech, pytest.raises(OutputError) as err:
        render_routine(
            str(routine), PlanOptions(), folder / "short.wav", speech=speech, progress=progress
        )
    assert removed
    assert str(err.value) == f"cannot write {folder / 'short.wav'}: No such file or directory"
    assert not folder.exists()


# -- signals ---------------------------------------------------------------------------


def long_routine(folder: Path, cues: int, hold: str) -> Path:
    """`cues` distinct sentences (slow to synthesize), then a long hold (slow to write)."""
    steps = "".join(
        f"  - name: S{i}\n    say: Sentence number {i} is spoken slowly and clearly.\n"
        for i in range(cues)
    )
    path = folder / "long.yaml"
    path.write_text(
        f"title: Long\nsteps:\n{steps}  - name: Rest\n    say: Rest.\n    hold: {hold}\n"
    )
    return path


def start_render(folder: Path, routine: Path, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "render", str(routine), "-o", str(out), "-q"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, like a shell job
    )


def wait_for(condition, what: str, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


SIGNALS = {
    "sigint": (signal.SIGINT, 130, "interrupted"),
    "sigterm": (signal.SIGTERM, 143, "terminated"),
}


@pytest.mark.parametrize("phase", ["synthesis", "writing"])
@pytest.mark.parametrize("name", sorted(SIGNALS))
@pytest.mark.parametrize("target", ["process", "group"])
def test_a_signal_stops_the_render_cleanly(tmp_path: Path, phase: str, name: str, target: str):
    """`group` is what a terminal does on Ctrl-C: the signal reaches the speech workers
    too. Afterwards no worker is left running and nothing is left in the output folder."""
    sig, code, message = SIGNALS[name]
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "long.flac"
    if phase == "synthesis":
        routine = long_routine(tmp_path, cues=400, hold="1s")
    else:  # FLAC compresses silence to almost nothing: 20 h take seconds, not disk
        routine = long_routine(tmp_path, cues=2, hold="20h")
    proc = start_render(tmp_path, routine, out)
    parent = psutil.Process(proc.pid)
    workers: list[psutil.Process] = []
    if phase == "synthesis":

        def synthesizing() -> bool:
            workers[:] = [
                c for c in parent.children(recursive=True) if "worker" in " ".join(c.cmdline())
            ]
            return bool(workers)

        wait_for(synthesizing, "speech workers")
        time.sleep(0.3)
    else:
        wait_for(
            lambda: any(p.stat().st_size > 0 for p in folder.glob(".long.flac.*.part")), "writing"
        )
    assert proc.poll() is None, proc.communicate()
    if target == "group":
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == code, stderr
    assert stderr.splitlines() == [message]
    assert stdout == ""
    assert not folder.exists() or files(folder) == []
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert alive == []
