"""`voiceguide batch --scheduler` on a real Dask cluster on loopback (a scheduler and two
worker processes started here): the same tracks as the local pool, a killed worker's job
run again, a bad job reported while the others complete, re-runs skipped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.test_batch_local import TINY
from voiceguide.batch import DaskCluster, LocalPool, load_manifest, run_batch
from voiceguide.batch.runner import BatchProgress, JobReport

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def write_batch(folder: Path, manifest: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.yaml").write_text(TINY)
    path = folder / "batch.yaml"
    path.write_text(manifest)
    return path


SAME = """\
defaults: {timeline: true, captions: true, split: true}
matrix:
  routine: [tiny.yaml, hand-massage]
  voice: [en-us, en-gb]
  pace: [1, 1.5]
  out: "{routine}/{voice}-{pace}.wav"
"""


def outputs(folder: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(folder)): p
        for p in sorted(folder.rglob("*"))
        if p.is_file()
        and p.suffix in (".wav", ".json", ".vtt", ".m3u8")
        and p.name != "batch-report.json"
        and not p.name.startswith(".")
    }


def test_the_cluster_makes_the_same_tracks_as_the_local_pool(tmp_path, cluster):
    # One warm cache: eSpeak's clips vary by a few ms from one synthesis to the next, and two
    # jobs starting together may each make a clip; a warm cache takes that out of the test.
    clips = tmp_path / "clips"
    warm = load_manifest(write_batch(tmp_path / "warm", SAME), cache_dir=clips)
    assert not run_batch(warm, LocalPool(2)).failed
    local = load_manifest(write_batch(tmp_path / "local", SAME), cache_dir=clips)
    dask = load_manifest(write_batch(tmp_path / "dask", SAME), cache_dir=clips)
    assert not run_batch(local, LocalPool(2)).failed
    report = run_batch(dask, DaskCluster(cluster.scheduler_address), executor_name="dask")
    assert not report.failed and report.count("done") == 8

    made_locally, made_on_cluster = outputs(tmp_path / "local"), outputs(tmp_path / "dask")
    assert list(made_locally) == list(made_on_cluster)
    # Tiny has two step passes, the hand massage seven: a split track for each.
    assert len([n for n in made_locally if n.endswith(".wav")]) == 8 + 4 * 2 + 4 * 7
    for name, path in made_locally.items():
        other = made_on_cluster[name]
        if path.suffix == ".wav":
            ours, rate = sf.read(str(path), dtype="int16")
            theirs, other_rate = sf.read(str(other), dtype="int16")
            assert rate == other_rate and ours.shape == theirs.shape, name
            assert np.array_equal(ours, theirs), name
            assert path.read_bytes() == other.read_bytes(), name  # tags and chapters too
        elif path.suffix == ".json":
            ours_plan, theirs_plan = json.loads(path.read_text()), json.loads(other.read_text())
            assert ours_plan["total"] == theirs_plan["total"]
            starts = [round(e["start"] * 1000) for e in ours_plan["events"]]
            assert starts == [round(e["start"] * 1000) for e in theirs_plan["events"]], name
        else:
            assert path.read_text() == other.read_text(), name
    assert not list(tmp_path.rglob("*.part"))

    # A re-run through the cluster skips everything without sending it a job.
    again = run_batch(
        load_manifest(tmp_path / "dask" / "batch.yaml", cache_dir=clips),
        DaskCluster("tcp://127.0.0.1:1"),
    )
    assert again.count("skipped") == 8


class _KillOneWorker(BatchProgress):
    """When the first job finishes, SIGKILL a worker that is running another one."""

    def __init__(self, address: str):
        self.client = distributed.Client(address)
        self.killed: int | None = None
        self.killed_task: str | None = None

    def finished(self, report: JobReport) -> None:
        if self.killed is not None:
            return
        pids = self.client.run(os.getpid)
        for worker, keys in self.client.processing().items():
            if keys and worker in pids:
                self.killed, self.killed_task = pids[worker], keys[0]
                os.kill(pids[worker], signal.SIGKILL)
                return


def test_a_killed_workers_job_is_run_again_and_the_batch_completes(tmp_path, cluster):
    manifest = write_batch(
        tmp_path,
        "matrix: {routine: neck-and-shoulders, pace: [1, 1.1, 1.2, 1.3, 1.4, 1.5], out: '{pace}.wav'}\n",
    )
    killer = _KillOneWorker(cluster.scheduler_address)
    try:
        report = run_batch(
            load_manifest(manifest, cache_dir=tmp_path / "clips"),  # cold: jobs last seconds
            DaskCluster(cluster.scheduler_address),
            progress=killer,
        )
        assert killer.killed is not None, "no worker was running a job to kill"
        assert "run_on_cluster" in str(killer.killed_task)  # it was running one of ours
        assert killer.killed not in killer.client.run(os.getpid).values()
    finally:
        killer.client.close()
    assert report.count("done") == 6, [r.error for r in report.jobs]
    for pace in ("1", "1.1", "1.2", "1.3", "1.4", "1.5"):
        info = sf.info(str(tmp_path / f"{pace}.wav"))
        assert info.frames > info.samplerate * 60
    assert not list(tmp_path.rglob("*.part"))


def test_the_command_line_on_a_cluster_reports_a_bad_job_and_completes_the_others(
    tmp_path, cluster
):
    manifest = write_batch(
        tmp_path,
        "jobs:\n"
        "  - {routine: tiny.yaml, voice: xx-nonsense, out: bad.wav}\n"
        "  - {routine: tiny.yaml, out: mp3-at-44000.mp3, sample_rate: 44000}\n"
        "matrix: {routine: tiny.yaml, pace: [1, 2], format: mp3}\n",
    )
    command = [sys.executable, "-m", "voiceguide", "batch", str(manifest)]
    command += ["--scheduler", cluster.scheduler_address, "--cache-dir", str(tmp_path / "clips")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    report = json.loads((tmp_path / "batch-report.json").read_text())
    jobs = {j["output"]: j for j in report["jobs"]}
    assert report["executor"] == f"dask {cluster.scheduler_address}"
    assert jobs["bad.wav"]["status"] == "failed" and "xx-nonsense" in jobs["bad.wav"]["error"]
    assert (
        jobs["mp3-at-44000.mp3"]["status"] == "failed"
        and "44000" in jobs["mp3-at-44000.mp3"]["error"]
    )
    for name in ("tiny-1.mp3", "tiny-2.mp3"):
        assert jobs[name]["status"] == "done"
        info = sf.info(str(tmp_path / name))
        assert abs(info.frames / info.samplerate - jobs[name]["duration"]) < 0.06  # MP3 padding
    assert "4 jobs: 2 done, 2 failed" in result.stdout
    assert not (tmp_path / "bad.wav").exists() and not (tmp_path / "mp3-at-44000.mp3").exists()

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1
    assert "4 jobs: 2 skipped, 2 failed" in again.stdout


def test_an_unreachable_scheduler_is_one_line(tmp_path):
    manifest = write_batch(tmp_path, "jobs: [{routine: tiny.yaml}]\n")
    command = [sys.executable, "-m", "voiceguide", "batch", str(manifest)]
    result = subprocess.run(
        command + ["--scheduler", "tcp://127.0.0.1:9"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.piper
def test_piper_tracks_are_byte_identical_from_the_pool_and_the_cluster(tmp_path, cluster):
    # Piper samples noise in its model: the same text gives a different clip in each process
    # (27,904 against 28,928 frames, measured), so identity holds over a shared warm cache.
    manifest = (
        "matrix: {routine: tiny.yaml, engine: piper, voice: en_US-joe-medium, pace: [1, 1.5]}\n"
    )
    clips = tmp_path / "clips"
    assert not run_batch(
        load_manifest(write_batch(tmp_path / "warm", manifest), cache_dir=clips), LocalPool(1)
    ).failed
    local = load_manifest(write_batch(tmp_path / "local", manifest), cache_dir=clips)
    dask = load_manifest(write_batch(tmp_path / "dask", manifest), cache_dir=clips)
    assert not run_batch(local, LocalPool(2)).failed
    assert not run_batch(dask, DaskCluster(cluster.scheduler_address)).failed
    for name in ("tiny-1.wav", "tiny-1.5.wav"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes()
