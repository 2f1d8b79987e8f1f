"""`voiceguide batch` on the local process pool, with the real eSpeak NG engine: tracks read
back, failures isolated and reported, re-runs skipped, Ctrl-C leaving nothing half-made."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import soundfile as sf
from click.testing import CliRunner

from voiceguide.batch import LocalPool, load_manifest, run_batch
from voiceguide.batch.runner import BatchProgress, JobReport
from voiceguide.cli import main

TINY = """\
title: Tiny
steps:
  - name: Breathe
    say: Breathe in slowly.
    hold: 1s
  - name: Relax
    say: Relax your shoulders.
    hold: 1.5s
"""


def write_batch(folder: Path, manifest: str) -> Path:
    (folder / "routines").mkdir(exist_ok=True)
    (folder / "routines" / "tiny.yaml").write_text(TINY)
    path = folder / "batch.yaml"
    path.write_text(manifest)
    return path


MANIFEST = """\
defaults: {timeline: true}
jobs:
  - {routine: routines/missing.yaml, out: missing.wav}
  - {routine: routines/tiny.yaml, voice: xx-nonsense, out: nonsense.wav}
matrix:
  routine: routines/tiny.yaml
  voice: [en-us, en-gb]
  pace: [1, 2]
  out: "tracks/{voice}-{pace}.{format}"
"""


def test_a_batch_renders_every_good_job_and_reports_the_bad_ones(tmp_path):
    manifest = write_batch(tmp_path, MANIFEST)
    runner = CliRunner()
    args = ["batch", str(manifest), "--workers", "2", "--cache-dir", str(tmp_path / "clips")]
    result = runner.invoke(main, args)
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "batch-report.json").read_text())
    status = {j["output"]: j for j in report["jobs"]}
    assert report["counts"] == {"done": 4, "skipped": 0, "failed": 2, "cancelled": 0}
    assert "no such file" in status["missing.wav"]["error"]
    assert status["missing.wav"]["status"] == "failed"
    assert "xx-nonsense" in status["nonsense.wav"]["error"]
    assert not (tmp_path / "missing.wav").exists() and not (tmp_path / "nonsense.wav").exists()
    for voice in ("en-us", "en-gb"):
        lengths = {}
        for pace in ("1", "2"):
            track = tmp_path / "tracks" / f"{voice}-{pace}.wav"
            info = sf.info(str(track))
            entry = status[f"tracks/{voice}-{pace}.wav"]
            assert entry["status"] == "done" and entry["error"] is None
            assert abs(info.frames / info.samplerate - entry["duration"]) < 1e-3
            plan = json.loads(track.with_suffix(".json").read_text())
            assert abs(plan["total"] - entry["duration"]) < 1e-3
            lengths[pace] = entry["duration"]
        # Pace 2 halves the silences; speech stays as long.
        assert lengths["2"] < lengths["1"] - 1.0
    # The summary names every failed job and its reason, one line each.
    assert "job 1 (missing.wav): " in result.output and "no such file" in result.output
    assert "6 jobs: 4 done, 2 failed" in result.output
    assert not list(tmp_path.rglob("*.part"))

    # A re-run skips the made tracks and tries the failed jobs again.
    again = runner.invoke(main, args)
    assert again.exit_code == 1
    assert "6 jobs: 4 skipped, 2 failed" in again.output


def test_re_runs_skip_a_hundred_jobs_in_under_a_second(tmp_path):
    paces = ", ".join(f"{1 + i / 100:g}" for i in range(100))
    manifest_path = write_batch(
        tmp_path,
        f"matrix: {{routine: routines/tiny.yaml, pace: [{paces}], out: 'out/{{pace}}.wav'}}\n",
    )
    manifest = load_manifest(manifest_path, cache_dir=tmp_path / "clips")
    first = run_batch(manifest, LocalPool(2))
    assert first.count("done") == 100 and not first.failed

    started = time.perf_counter()
    manifest = load_manifest(manifest_path, cache_dir=tmp_path / "clips")
    second = run_batch(manifest, LocalPool(2))
    elapsed = time.perf_counter() - started
    assert second.count("skipped") == 100
    assert elapsed < 1.0, f"re-run of 100 up-to-date jobs took {elapsed:.2f}s"


def test_a_job_is_redone_when_its_inputs_or_output_change(tmp_path):
    manifest_path = write_batch(
        tmp_path, "matrix: {routine: routines/tiny.yaml, pace: [1, 1.5], out: 'out/{pace}.wav'}\n"
    )

    def run(force: bool = False) -> tuple[int, int]:
        manifest = load_manifest(manifest_path, cache_dir=tmp_path / "clips")
        report = run_batch(manifest, LocalPool(2), force=force)
        return report.count("done"), report.count("skipped")

    assert run() == (2, 0)
    assert run() == (0, 2)
    routine = tmp_path / "routines" / "tiny.yaml"
    routine.write_text(TINY.replace("hold: 1.5s", "hold: 2s"))  # the routine's content
    assert run() == (2, 0)
    manifest_path.write_text(
        manifest_path.read_text().replace("pace: [1, 1.5]", "pace: [1, 1.5], rate: 170")
    )
    assert run() == (2, 0)  # an option
    (tmp_path / "out" / "1.5.wav").unlink()  # a deleted track
    assert run() == (1, 1)
    (tmp_path / "out" / "1.wav").write_bytes(b"RIFF")  # a track changed since
    assert run() == (1, 1)
    assert run(force=True) == (2, 0)


def test_dry_run_lists_jobs_with_estimated_lengths_and_makes_nothing(tmp_path):
    manifest = write_batch(tmp_path, MANIFEST)
    result = CliRunner().invoke(main, ["batch", str(manifest), "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["job", "action", "length", "routine", "output"]
    assert any(line.split()[:2] == ["1", "fail"] for line in lines)
    assert sum(1 for line in lines if " render " in line) == 5
    assert lines[-1].startswith("6 jobs, 5 to render: about ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["batch.yaml", "routines"]


def test_ctrl_c_stops_the_workers_and_leaves_no_partial_output(tmp_path):
    manifest = write_batch(
        tmp_path,
        "defaults: {format: mp3, captions: true}\n"
        "matrix: {routine: facial-massage, pace: [1, 1.1, 1.2, 1.3]}\n",
    )
    clips = tmp_path / "clips"
    process = subprocess.Popen(
        [sys.executable, "-m", "voiceguide", "batch", str(manifest)]
        + ["--workers", "2", "--cache-dir", str(clips)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    deadline = time.monotonic() + 60
    while not list(clips.rglob("*.clip")) and time.monotonic() < deadline:  # synthesis began
        time.sleep(0.1)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().endswith("interrupted")
    assert "Traceback" not in err
    assert not list(tmp_path.rglob("*.part"))
    assert not list(tmp_path.glob("*.mp3")) and not list(tmp_path.glob("*.vtt"))
    report = json.loads((tmp_path / "batch-report.json").read_text())
    assert report["interrupted"] is True
    assert report["counts"]["cancelled"] == 4


class _KillAPoolWorker(BatchProgress):
    """When the first job finishes, SIGKILL one of the pool's worker processes."""

    killed: int | None = None

    def finished(self, report: JobReport) -> None:
        if self.killed is None:
            workers = [
                p
                for p in psutil.Process().children()
                if any("spawn_main" in part for part in p.cmdline())
            ]
            if workers:
                self.killed = workers[0].pid
                workers[0].kill()


def test_a_pool_worker_that_dies_has_its_job_run_again(tmp_path):
    manifest = write_batch(
        tmp_path,
        "matrix: {routine: neck-and-shoulders, pace: [1, 1.1, 1.2, 1.3, 1.4], out: '{pace}.wav'}\n",
    )
    killer = _KillAPoolWorker()
    report = run_batch(
        load_manifest(manifest, cache_dir=tmp_path / "clips"), LocalPool(2), progress=killer
    )
    assert killer.killed is not None
    assert report.count("done") == 5, [r.error for r in report.jobs]
    for pace in ("1", "1.1", "1.2", "1.3", "1.4"):
        assert sf.info(str(tmp_path / f"{pace}.wav")).frames > 0
    assert not list(tmp_path.rglob("*.part"))
