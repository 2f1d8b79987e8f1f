"""Batch rendering: a manifest of routines x voices x paces, run on a local process pool or
a Dask cluster (`voiceguide batch`)."""

from voiceguide.batch.executors import ClusterError, DaskCluster, LocalPool, default_workers
from voiceguide.batch.manifest import Job, Manifest, ManifestError, load_manifest, parse_manifest
from voiceguide.batch.runner import BatchReport, JobReport, dry_run, run_batch

__all__ = [
    "BatchReport",
    "ClusterError",
    "DaskCluster",
    "Job",
    "JobReport",
    "LocalPool",
    "Manifest",
    "ManifestError",
    "default_workers",
    "dry_run",
    "load_manifest",
    "parse_manifest",
    "run_batch",
]
