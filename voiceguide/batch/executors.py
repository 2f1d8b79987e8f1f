"""Where a batch's jobs run: a pool of processes on this machine, or a Dask cluster.

Both take tasks and yield an Outcome per task as it completes, in completion order; both
stop their workers when the caller stops listening (Ctrl-C included).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Protocol

from voiceguide.batch.work import Outcome, Task, init_pool_worker, run_in_pool, run_on_cluster
from voiceguide.errors import VoiceguideError

# A job whose worker process dies this often (a crash in an engine, the OOM killer) fails.
MAX_ATTEMPTS = 2


class ClusterError(VoiceguideError):
    """The Dask scheduler cannot be reached, or Dask is not installed."""


class Executor(Protocol):
    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        """An Outcome per task, as each completes."""
        ...


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class LocalPool:
    """Processes on this machine; each keeps one synthesizer (its engine started once) over
    the shared clip cache, and writes its outputs itself. Only as many jobs as workers are
    handed out at a time, so when a worker process dies the jobs it may have been running
    are known: they are run again, and fail after MAX_ATTEMPTS deaths."""

    def __init__(self, workers: int | None = None):
        self.workers = max(1, workers or default_workers())

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        # Engines parallelize too: share the cores between the batch's workers.
        engine_jobs = max(1, default_workers() // self.workers)
        queue = deque(replace(t, engine_jobs=engine_jobs) for t in tasks)
        attempts: dict[int, int] = {}
        size = min(self.workers, len(queue))
        if not size:
            return
        pool = _pool(size)
        running: dict[Future[Outcome], Task] = {}
        finished = False
        try:
            while queue or running:
                while queue and len(running) < size:
                    task = queue.popleft()
                    running[pool.submit(run_in_pool, task)] = task
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                broken: list[Task] = []
                for future in done:
                    task = running.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        broken.append(task)
                        continue
                    yield outcome
                if broken:
                    broken += running.values()  # the whole pool went down with it
                    running.clear()
                    pool.shutdown(wait=True)
                    for task in sorted(broken, key=lambda t: t.number, reverse=True):
                        attempts[task.number] = attempts.get(task.number, 0) + 1
                        if attempts[task.number] >= MAX_ATTEMPTS:
                            yield Outcome(
                                task.number,
                                "failed",
                                0.0,
                                error=f"the worker process died {MAX_ATTEMPTS} times running this job",
                            )
                        else:
                            queue.appendleft(task)
                    pool = _pool(size)
            finished = True
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:
                _stop(pool)


def _pool(size: int) -> ProcessPoolExecutor:
    # spawn, not fork: the parent has threads (the progress bar) that fork would copy mid-lock.
    import multiprocessing

    return ProcessPoolExecutor(
        max_workers=size,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_pool_worker,
    )


def _stop(pool: ProcessPoolExecutor) -> None:
    """Interrupted: workers get SIGTERM, so each render removes its temporary files."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public way to reach them
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():  # stuck in a C call: no clean-up is coming
            process.kill()


class DaskCluster:
    """A Dask distributed cluster at `address` (tcp://host:8786). Each job renders into a
    folder on its worker and sends the files back; this process writes them, all or none.
    A worker that dies has its jobs run again by the scheduler (Dask's `allowed-failures`)."""

    def __init__(self, address: str, connect_timeout: float = 10.0):
        self.address = address
        self.connect_timeout = connect_timeout

    def run(self, tasks: Sequence[Task]) -> Iterator[Outcome]:
        if not tasks:
            return
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise ClusterError(
                "--scheduler needs Dask: pip install 'voiceguide[cluster]'"
            ) from None
        try:
            client = Client(self.address, timeout=self.connect_timeout)
        except (OSError, TimeoutError) as error:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {self.address}: {error}"
            ) from None
        futures = []
        try:
            futures = client.map(run_on_cluster, list(tasks), pure=False)
            by_key = {f.key: t for f, t in zip(futures, tasks, strict=True)}
            for future in as_completed(futures):
                task = by_key[future.key]
                try:
                    outcome = future.result()
                except Exception as error:  # noqa: BLE001 - KilledWorker, a worker without voiceguide
                    name = type(error).__name__
                    reason = (
                        "its worker died too often"
                        if name == "KilledWorker"
                        else f"{name}: {error}"
                    )
                    outcome = Outcome(task.number, "failed", 0.0, error=f"cluster: {reason}")
                yield outcome
        finally:
            if futures:
                client.cancel(futures)
            client.close()
