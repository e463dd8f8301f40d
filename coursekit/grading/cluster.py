"""``coursekit grade --scheduler ADDRESS``: a class graded on a Dask distributed cluster.

One task per notebook. The task carries the source notebook and the
submitted file themselves (a cluster's workers need not share a file
system with the instructor's machine); the worker writes them into a
private batch folder of its own and grades them exactly as ``coursekit
grade`` does on one machine: a grading process of its own with its
watchdog, the kernel under bubblewrap (or the reported fallback), the
re-checks with the run's secret seed. Results come back as they finish
and are written at once; a worker lost in the middle of a task is
replaced by the scheduler, which runs the task again on another worker
(Dask's own rule). The reports are the same as a local run's.

The cluster can be anything Dask runs on: ``dask scheduler`` and ``dask
worker`` by hand, dask-jobqueue's ``SLURMCluster`` / ``PBSCluster`` on a
university's batch system, dask-kubernetes on a JupyterHub's Kubernetes.
Every worker needs coursekit installed with the course's pinned versions
(and bubblewrap, for the strong sandbox).
"""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

from .executor import TEMP_PREFIX, remove_tree
from .grader import GRADER_ERROR, MAX_NOTEBOOK_BYTES, Limits, NotebookResult


def pack(job, seed: int, limits: Limits) -> dict:
    """What a task needs, by value: names, the source notebook's bytes and the submission as a file."""
    from .batch import job_data

    data = job_data(job, seed, limits)
    sub = job.submission
    data["source_name"] = job.source.name
    data["source_bytes"] = job.source.read_bytes()
    data["submission_name"] = os.fsencode(sub.name)
    if sub.is_symlink():
        data["kind"] = "symlink"
    elif sub.is_file():
        with open(sub, "rb") as f:
            data["submission_bytes"] = f.read(MAX_NOTEBOOK_BYTES + 1)
        data["kind"], data["size"] = "file", sub.stat().st_size
    else:
        data["kind"] = "other"
    return data


def grade_packed(data: dict) -> dict:
    """On a worker: lay the files out in a batch folder of this worker's and grade them."""
    from .batch import run_job

    batch = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "r-"))
    os.chmod(batch, 0o700)
    try:
        (batch / "source").mkdir()
        (batch / "submitted").mkdir()
        source = batch / "source" / data["source_name"]
        source.write_bytes(data["source_bytes"])
        sub = Path(os.fsdecode(os.path.join(os.fsencode(str(batch / "submitted")), data["submission_name"])))
        if data["kind"] == "symlink":
            os.symlink(source, sub)  # refused as a link when read, as it was on the instructor's machine
        elif data["kind"] == "file":
            with open(sub, "wb") as f:
                f.write(data["submission_bytes"])
                f.truncate(max(data["size"], len(data["submission_bytes"])))  # a too large file keeps its size
        else:
            sub.mkdir()
        job = {key: data[key] for key in ("student", "seed", "limits")}
        job.update(source=str(source), submission=str(sub), scratch_base=str(batch),
                   deny=sorted({str(batch / "source"), str(batch / "submitted"), str(Path.home()), str(batch)}))
        return run_job(job, Limits(**data["limits"])).to_dict()
    finally:
        remove_tree(batch)


def grade_on_cluster(address: str, jobs: list, limits: Limits, seed: int, finish) -> list[NotebookResult]:
    """Grade ``jobs`` on the Dask scheduler at ``address``; ``finish(job, result)`` as each arrives."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ValueError("--scheduler needs Dask's distributed package: pip install \"coursekit[grading]\"") from None

    from .batch import _failed, job_data, run_job

    results = []
    local = [job for job in jobs if job.source is None or job.submission is None]  # nothing to run: no kernel
    remote = [job for job in jobs if job not in local]
    for job in local:
        results.append(finish(job, run_job(job_data(job, seed, limits), limits)))
    run = uuid.uuid4().hex[:8]
    with Client(address) as client:
        futures = {client.submit(grade_packed, pack(job, seed, limits), key=f"coursekit-grade-{run}-{i}",
                                 pure=False): job for i, job in enumerate(remote)}
        for future in as_completed(futures):
            job = futures[future]
            try:
                result = NotebookResult.from_dict(future.result())
            except Exception as err:  # noqa: BLE001 - a task that failed on the cluster is that job's result
                result = _failed(job_data(job, seed, limits), GRADER_ERROR,
                                 f"the cluster could not grade it: {type(err).__name__}: {str(err)[:300]}")
            results.append(finish(job, result))
    return results


__all__ = ["grade_on_cluster", "grade_packed", "pack"]
