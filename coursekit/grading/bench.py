"""Grading throughput: a generated class of unit-02 submissions, graded three ways.

``throughput(n_submissions=20, jobs=2)`` grades it locally with ``-j``;
``throughput(..., scheduler=...)`` through a Dask cluster (``cluster_throughput``
starts a two-worker LocalCluster); ``nbgrader_throughput`` runs nbgrader's own
``autograde`` on the same class. Each returns submissions graded per minute
(the figures ``make bench`` prints). The class mixes full answers (the source
notebook's own), wrong ones (every answer returns None) and untouched student
versions, so the kernels do the work real submissions make them do.
"""
from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from . import notebook as N
from .batch import grade
from .grader import Limits

UNIT = "02_perceptron.ipynb"


def workbook_notebook(name: str = UNIT) -> Path:
    path = Path(__file__).resolve().parents[2] / "notebooks" / name
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: the benchmark grades the workbook's own unit 02")
    return path


def make_class(source: Path, folder: Path, n: int, released=None) -> list[Path]:
    nb = N.read_notebook(source)
    released = released if released is not None else N.release_notebook(nb, source.name)
    wrong = nbformat.from_dict(released)
    for cell in wrong.cells:
        if N.is_solution(cell) and cell.cell_type == "code":
            cell.source = N.cell_source(cell).replace("raise NotImplementedError()", "return None")
    full = nbformat.from_dict(released)
    solutions = {N.grade_id(c): N.cell_source(c) for c in nb.cells if N.is_solution(c)}
    for cell in full.cells:
        if N.is_solution(cell) and cell.cell_type == "code":
            cell.source = solutions[N.grade_id(cell)]
    kinds = [full, wrong, released]
    paths = []
    for i in range(n):
        path = folder / f"student{i:03d}.ipynb"
        nbformat.write(kinds[i % 3], str(path))
        paths.append(path)
    return paths


def throughput(n_submissions: int = 20, jobs: int = 2, limits: Limits | None = None,
               scheduler: str | None = None) -> dict:
    source = workbook_notebook()
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "source").mkdir()
        (tmp / "class").mkdir()
        (tmp / "source" / source.name).write_bytes(source.read_bytes())
        paths = make_class(source, tmp / "class", n_submissions)
        start = time.perf_counter()
        results = grade(tmp / "source", paths, tmp / "out", jobs=jobs, limits=limits or Limits(), seed=0,
                        verbose=False, scheduler=scheduler)
        seconds = time.perf_counter() - start
    return {"submissions": n_submissions, "jobs": jobs, "seconds": seconds,
            "per_minute": 60.0 * n_submissions / seconds,
            "statuses": dict(collections.Counter(r.status for r in results)),
            "scores": sorted({f"{r.total:g}/{r.max_total:g}" for r in results}),
            "sandbox": sorted({str(r.sandbox.get("bwrap") or "fallback") for r in results if r.sandbox})}


def cluster_throughput(n_submissions: int = 20, workers: int = 2) -> dict:
    """The same class through a LocalCluster of ``workers`` processes (one task each at a time)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=40) as cluster:
        return throughput(n_submissions, jobs=workers, scheduler=cluster.scheduler_address)


def nbgrader_throughput(n_submissions: int = 20) -> dict:
    """nbgrader's ``autograde`` on the same class (nbgrader's generate_assignment makes the release)."""
    nbgrader = Path(sys.executable).with_name("nbgrader")
    if not nbgrader.exists():
        raise FileNotFoundError("nbgrader is not installed (pip install -e '.[dev]' -c constraints.txt)")
    source = workbook_notebook()
    env = {**os.environ, "PATH": f"{nbgrader.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-nbgrader-") as tmp:
        root = Path(tmp)
        (root / "nbgrader_config.py").write_text(f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\n"
                                                 "c.ExecutePreprocessor.timeout = 300\n")
        (root / "source" / "ps1").mkdir(parents=True)
        shutil.copy(source, root / "source" / "ps1" / source.name)
        subprocess.run([str(nbgrader), "generate_assignment", "ps1", "--force"], cwd=root, env=env,
                       capture_output=True, check=True)
        released = nbformat.read(str(root / "release" / "ps1" / source.name), as_version=4)
        (root / "class").mkdir()
        for path in make_class(source, root / "class", n_submissions, released=released):
            folder = root / "submitted" / path.stem / "ps1"
            folder.mkdir(parents=True)
            shutil.move(path, folder / source.name)
        start = time.perf_counter()
        proc = subprocess.run([str(nbgrader), "autograde", "ps1", "--force"], cwd=root, env=env,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader autograde failed: {proc.stderr[-1000:]}")
    return {"submissions": n_submissions, "seconds": seconds, "per_minute": 60.0 * n_submissions / seconds}


if __name__ == "__main__":
    print(throughput())
