"""Grading throughput: a generated class of unit-02 submissions, graded with ``-j``.

``throughput(n_submissions=20, jobs=2)`` returns submissions graded per minute
(the figure ``make bench`` prints). The class mixes full answers (the source
notebook's own), wrong ones (every answer returns None) and untouched
student versions, so the kernels do the work real submissions make them do.
"""
from __future__ import annotations

import collections
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


def make_class(source: Path, folder: Path, n: int) -> list[Path]:
    nb = N.read_notebook(source)
    released = N.release_notebook(nb, source.name)
    wrong = N.release_notebook(nb, source.name)
    for cell in wrong.cells:
        if N.is_solution(cell) and cell.cell_type == "code":
            cell.source = N.cell_source(cell).replace("raise NotImplementedError()", "return None")
    kinds = [nb, wrong, released]
    paths = []
    for i in range(n):
        path = folder / f"student{i:03d}.ipynb"
        nbformat.write(kinds[i % 3], str(path))
        paths.append(path)
    return paths


def throughput(n_submissions: int = 20, jobs: int = 2, limits: Limits | None = None) -> dict:
    source = workbook_notebook()
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as tmp:
        tmp = Path(tmp)
        (tmp / "source").mkdir()
        (tmp / "class").mkdir()
        (tmp / "source" / source.name).write_bytes(source.read_bytes())
        paths = make_class(source, tmp / "class", n_submissions)
        start = time.perf_counter()
        results = grade(tmp / "source", paths, tmp / "out", jobs=jobs, limits=limits or Limits(), seed=0,
                        verbose=False)
        seconds = time.perf_counter() - start
    return {"submissions": n_submissions, "jobs": jobs, "seconds": seconds,
            "per_minute": 60.0 * n_submissions / seconds,
            "statuses": dict(collections.Counter(r.status for r in results)),
            "scores": sorted({f"{r.total:g}/{r.max_total:g}" for r in results})}


if __name__ == "__main__":
    print(throughput())
