"""``coursekit grade``: a whole class, each submission in its own process.

Every (student, notebook) pair is one job, run by ``python -m
coursekit.grading.worker`` in a new session with a wall-clock watchdog; a job
that crashes or hangs is reported for that student alone. ``jobs`` of them
run at once. Results are collected by this process and written to ``out``
(``grades.csv``, ``grades.json``, ``feedback/<student>.html``); nothing a
submission does can write there (see :mod:`coursekit.grading.sandbox`).

Every kernel's private folder (scratch directory, connection file and key)
lies in one batch folder that all kernels are denied, but for each kernel's
own scratch directory: no submission can find another's kernel, nor the
grader's job data (the seed travels on the worker's stdin, never in a file).
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

from . import notebook as N
from .executor import TEMP_PREFIX, remove_tree
from .grader import GRADER_ERROR, MISSING, TIMEOUT, ExerciseResult, Limits, NotebookResult, load_submission
from .report import write_reports
from .sandbox import summary

WATCHDOG_MARGIN_S = 60.0  # kernel start, imports and the re-checks on top of the notebook's time limit


def find_jobs(sources: list[Path], submissions) -> list[tuple[str, Path, Path | None]]:
    """(student, source notebook, submitted file or None) for every pair to grade.

    A folder is one student (its name is the student id) holding notebooks
    named like the source notebooks; a file is one student's notebook (the
    file's stem is the student id), matched to the source notebook whose
    exercise ids it shares (or the only source notebook). A symbolic link is
    handed on as it is, and refused as invalid when it is read."""
    by_name = {s.name: s for s in sources}
    jobs = []
    for sub in map(Path, submissions):
        if sub.is_symlink() and sub.is_dir():
            jobs += [(sub.name, source, sub) for source in sources]
        elif sub.is_dir():
            files = {p.name: p for p in sub.glob("*.ipynb")}
            for source in sources:
                jobs.append((sub.name, source, files.get(source.name)))
        else:
            jobs.append((sub.stem, by_name.get(sub.name) or _best_source(sources, sub), sub))
    return jobs


def _best_source(sources: list[Path], path: Path) -> Path:
    if len(sources) == 1:
        return sources[0]
    try:
        ids = {N.grade_id(c) for c in load_submission(path)[0].cells} - {None}
    except Exception:
        ids = set()
    overlap = [(len(ids & {N.grade_id(c) for c in N.read_notebook(s).cells}), s) for s in sources]
    return max(overlap, key=lambda o: o[0])[1]


def _run_worker(job: dict, limits: Limits) -> NotebookResult:
    watchdog = limits.total_timeout + WATCHDOG_MARGIN_S
    proc = subprocess.Popen([sys.executable, "-m", "coursekit.grading.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(json.dumps(job).encode(), timeout=watchdog)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)  # its kernel dies with it (sandbox.die_with_parent)
        proc.communicate()
        return _failed(job, TIMEOUT, f"grading took longer than {watchdog:.0f} s and was stopped")
    finally:
        _kill_group(proc.pid)  # whatever the job left running
    try:
        return NotebookResult.from_dict(json.loads(out))
    except (ValueError, TypeError):
        last = err.decode(errors="replace").strip().splitlines()[-1:]
        return _failed(job, GRADER_ERROR, f"the grading process failed: {last[0] if last else proc.returncode}")


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _failed(job: dict, status: str, message: str) -> NotebookResult:
    source = N.read_notebook(job["source"])
    tests = [c for c in source.cells if N.is_grade(c)]
    return NotebookResult(job["student"], Path(job["source"]).name, status, 0.0, sum(map(N.points, tests)),
                          [ExerciseResult(N.grade_id(c), 0.0, N.points(c), "not run", message) for c in tests],
                          [message])


def grade(source, submissions, out, *, jobs: int = 1, limits: Limits | None = None, seed: int | None = None,
          verbose: bool = True) -> list[NotebookResult]:
    """Grade every submission against the source notebooks in ``source``;
    write the reports to ``out``; return the results (one per student and notebook)."""
    limits = limits or Limits()
    sources = N.source_notebooks([source])
    out = Path(out).resolve()
    submissions = [Path(s) for s in submissions]
    for sub in submissions:
        if out == sub.resolve() or sub.resolve() in out.parents:
            raise ValueError(f"--out {out} is inside the submission {sub}: choose a folder outside the submissions")
    if not submissions:
        raise ValueError("no submissions given")
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    out.mkdir(parents=True, exist_ok=True)
    batch = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "r-"))  # every kernel's folder, hidden from all kernels
    os.chmod(batch, 0o700)
    # what no submission may read: the instructor's notebooks, the other submissions, the results,
    # the home folder, and the batch folder (the other kernels' connection files)
    deny = {str(Path(source).resolve()), str(out), str(Path.home()), str(batch)}
    for sub in submissions:
        deny |= _submission_folders(sub)
    pairs = find_jobs(sources, submissions)

    def one(pair) -> NotebookResult:
        student, src, sub = pair
        if sub is None:
            return _failed({"student": student, "source": str(src)}, MISSING,
                           f"{src.name} is missing from {student}'s submission")
        job = {"student": student, "source": str(src), "submission": str(sub), "seed": seed,
               "limits": asdict(limits), "deny": sorted(deny), "scratch_base": str(batch)}
        result = _run_worker(job, limits)
        if verbose:
            print(f"{student:<24} {src.name:<32} {result.total:g}/{result.max_total:g}  {result.status}", flush=True)
        return result

    try:
        with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
            results = list(pool.map(one, pairs))
    finally:
        remove_tree(batch)
    write_reports(results, out, seed=seed, source=str(Path(source).resolve()))
    if verbose:
        print(f"wrote {out / 'grades.csv'}, {out / 'grades.json'} and {len({r.student for r in results})} "
              f"feedback file(s) in {out / 'feedback'}")
        print_sandbox(results)
    return results


def _submission_folders(sub: Path) -> set[str]:
    """A submission and the folder holding it. A link is refused when read,
    and never followed here: its target could be ``/``, hiding everything."""
    where = Path(os.path.abspath(sub))
    folders = {str(where), str(where.parent)}
    if not sub.is_symlink():
        folders |= {str(sub.resolve()), str(sub.resolve().parent)}
    return folders


def print_sandbox(results: list[NotebookResult]) -> None:
    """The sandbox the kernels ran under, and a warning where it was the weaker one."""
    lines, weak = summary(r.sandbox for r in results)
    for line in lines:
        print(f"sandbox: {line}")
    for warning in weak:
        print(f"WARNING: {warning}", file=sys.stderr)
