"""``coursekit grade``: a whole class, each submission in its own process.

Every (student, notebook) pair is one job, run by ``python -m
coursekit.grading.worker`` in a new session with a wall-clock watchdog; a job
that crashes or hangs is reported for that student alone. ``jobs`` of them
run at once here, or, with ``scheduler``, one Dask task per job on a
cluster's workers (see :mod:`coursekit.grading.cluster`). Results are
written to ``out`` as they arrive (``grades.csv`` row by row,
``feedback/<student>.html`` once a student's notebooks are all graded),
and the whole of ``grades.csv``, ``grades.json`` and the written-answer
pages at the end; nothing a submission does can write there (see
:mod:`coursekit.grading.sandbox`).

Every kernel's private folder (scratch directory, connection file and key)
lies in one batch folder that all kernels are denied, but for each kernel's
own scratch directory: no submission can find another's kernel, nor the
grader's job data (the seed travels on the worker's stdin, never in a file).
"""
from __future__ import annotations

import json
import math
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import bwrap
from . import notebook as N
from .executor import TEMP_PREFIX, remove_tree
from .grader import GRADER_ERROR, INVALID, MISSING, TIMEOUT, ExerciseResult, Limits, NotebookResult, load_submission
from .report import Reporter, merge_manual, read_manual_scores
from .sandbox import summary

WATCHDOG_MARGIN_S = 60.0  # kernel start, imports and the re-checks on top of the notebook's time limit
UNKNOWN_NOTEBOOK = "(unknown notebook)"
TIMESTAMP_FILE = "timestamp.txt"  # nbgrader's record of when a submission folder was handed in


@dataclass
class Job:
    """One notebook of one student to grade."""

    student: str
    source: Path | None  # None: no source notebook could be told for a file that is not a notebook
    submission: Path | None  # None: missing from the student's folder
    notes: list[str] = field(default_factory=list)  # what the grader found about the file before grading
    submitted: datetime | None = None


def student_id(name: str) -> tuple[str, list[str]]:
    """A student id from a file or folder name, as text that every report can hold.

    A name that is not UTF-8 (a Latin-1 "José" from a zip file) is read as Latin-1, and said so."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        return text, [f"the name {text!r} is not UTF-8; it was read as Latin-1"]


def submission_time(path: Path) -> datetime | None:
    """When ``path`` was handed in: nbgrader's ``timestamp.txt`` beside it (in a student's
    folder), else the file's modification time (UTC)."""
    folder = path if path.is_dir() else path.parent
    stamp = folder / TIMESTAMP_FILE
    if path.is_dir() and stamp.is_file():
        try:
            return parse_time(stamp.read_text().strip())
        except (OSError, ValueError):
            pass
    try:
        return datetime.fromtimestamp(os.lstat(path).st_mtime, timezone.utc)
    except OSError:
        return None


def parse_time(text: str) -> datetime:
    """An ISO 8601 date and time, or nbgrader's "2026-05-01 12:00:00.123456 UTC"; naive means UTC."""
    text = text.strip()
    if text.endswith(" UTC"):
        text = text[:-4]
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def find_jobs(sources: list[Path], submissions) -> list[Job]:
    """Every notebook to grade.

    A folder is one student (its name is the student id) holding notebooks
    named like the source notebooks; a file is one student's notebook (the
    file's stem is the student id), matched to the source notebook it claims:
    by name, by the exercise ids it holds (even in a file that is not valid
    JSON), or the only source notebook. A symbolic link is handed on as it
    is, and refused as invalid when it is read."""
    by_name = {s.name: s for s in sources}
    jobs = []
    for sub in map(Path, submissions):
        if sub.is_dir() and not sub.is_symlink():
            student, notes = student_id(sub.name)
            when = submission_time(sub)
            files = {}
            for p in sub.glob("*.ipynb"):
                files[p.name] = p
            for source in sources:
                jobs.append(Job(student, source, files.get(source.name), list(notes), when))
        elif sub.is_symlink() and sub.is_dir():
            student, notes = student_id(sub.name)
            jobs += [Job(student, source, sub, list(notes)) for source in sources]
        else:
            student, notes = student_id(sub.stem)
            source = by_name.get(sub.name) or claimed_source(sources, sub)
            jobs.append(Job(student, source, sub, notes, submission_time(sub)))
    return jobs


def claimed_source(sources: list[Path], path: Path) -> Path | None:
    """The source notebook a file claims to be: the only one; the one whose exercise ids it holds
    most of; the one named in the file name; else None (the file is reported as such, never filed
    under an arbitrary notebook)."""
    if len(sources) == 1:
        return sources[0]
    try:
        ids = {N.grade_id(c) for c in load_submission(path)[0].cells} - {None}
        text = ""
    except Exception:  # not a notebook: look for the ids in its text all the same
        ids = set()
        try:
            with open(path, "rb") as f:
                text = f.read(4 * 2**20).decode("utf-8", "replace")
        except OSError:
            text = ""
    scores = []
    for source in sources:
        theirs = {N.grade_id(c) for c in N.read_notebook(source).cells} - {None}
        found = len(ids & theirs) if ids else sum(f'"{gid}"' in text for gid in theirs)
        scores.append((found, source))
    best = max(score for score, _ in scores)
    if best > 0 and [score for score, _ in scores].count(best) == 1:
        return next(source for score, source in scores if score == best)
    named = [s for s in sources if s.stem in path.name]
    return named[0] if len(named) == 1 else None


def _run_worker(job: dict, limits: Limits) -> NotebookResult:
    watchdog = limits.total_timeout + WATCHDOG_MARGIN_S
    proc = subprocess.Popen([sys.executable, "-m", "coursekit.grading.worker"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(json.dumps(job).encode(), timeout=watchdog)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)  # its kernel dies with it (bwrap --die-with-parent, or sandbox.die_with_parent)
        proc.communicate()
        return _failed(job, TIMEOUT, f"grading took longer than {watchdog:.0f} s and was stopped")
    finally:
        _kill_group(proc.pid)  # whatever the job left running
    try:
        return NotebookResult.from_dict(json.loads(out))
    except (ValueError, TypeError, RecursionError):
        last = err.decode(errors="replace").strip().splitlines()[-1:]
        return _failed(job, GRADER_ERROR, f"the grading process failed: {last[0][:500] if last else proc.returncode}")


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _failed(job: dict, status: str, message: str, *more: str) -> NotebookResult:
    if not job.get("source"):
        return NotebookResult(job["student"], UNKNOWN_NOTEBOOK, status, problems=[message, *more])
    source = N.read_notebook(job["source"])
    tests = [c for c in source.cells if N.is_grade(c)]
    return NotebookResult(job["student"], Path(job["source"]).name, status, 0.0, sum(map(N.points, tests)),
                          [ExerciseResult(N.grade_id(c), 0.0, N.points(c), "not run", message) for c in tests],
                          [message])


def run_job(job: dict, limits: Limits) -> NotebookResult:
    """One job, as ``coursekit grade`` runs it here or on a cluster's worker (whose bubblewrap
    is probed once, here, for all its jobs)."""
    if limits.sandbox and limits.bwrap:
        job = {**job, "bwrap_probe": list(bwrap.probe())}
    if job.get("submission") is None:
        return _failed(job, MISSING, f"{Path(job['source']).name} is missing from {job['student']}'s submission")
    if job.get("source") is None:
        try:
            load_submission(job["submission"])
            why = "it is a notebook, but of none of this assignment's notebooks"
        except Exception as err:  # noqa: BLE001 - what is wrong with the file comes first
            why = str(err)
        return _failed(job, INVALID, why, "none of the source notebooks could be told from the file's name or "
                                          "contents, so it is listed under no notebook")
    return _run_worker(job, limits)


def apply_late_rule(result: NotebookResult, submitted: datetime | None, deadline: datetime | None,
                    penalty_percent: float) -> NotebookResult:
    """Take ``penalty_percent`` of the points earned off per started day after ``deadline``."""
    if submitted is not None:
        result.submitted = submitted.astimezone(timezone.utc).isoformat(timespec="seconds")
    if deadline is None or submitted is None or submitted <= deadline:
        return result
    late = submitted - deadline
    result.late_days = math.ceil(late.total_seconds() / 86400)
    share = min(1.0, result.late_days * penalty_percent / 100.0)
    result.penalty = round(result.total * share, 6)
    result.total = round(result.total - result.penalty, 6)
    hours = late.total_seconds() / 3600
    result.problems.append(f"handed in {hours:.1f} h after the deadline ({deadline.isoformat(timespec='minutes')}): "
                           f"{result.late_days} started day(s) late, {penalty_percent:g}% of the points per day: "
                           f"-{result.penalty:g} points")
    return result


def grade(source, submissions, out, *, jobs: int = 1, limits: Limits | None = None, seed: int | None = None,
          verbose: bool = True, scheduler: str | None = None, manual: str | Path | None = None,
          deadline: datetime | str | None = None, late_penalty: float = 100.0) -> list[NotebookResult]:
    """Grade every submission against the source notebooks in ``source``; write the reports to
    ``out`` as they come; return the results (one per student and notebook).

    ``scheduler``: the address of a Dask scheduler to grade on (one task per notebook).
    ``manual``: a CSV of hand-given points for written answers (student, grade_id, points[, comment]).
    ``deadline`` and ``late_penalty``: the percentage of the points taken off per started day late."""
    limits = limits or Limits()
    sources = N.source_notebooks([source])
    out = Path(out).resolve()
    submissions = [Path(s) for s in submissions]
    for sub in submissions:
        if out == sub.resolve() or sub.resolve() in out.parents:
            raise ValueError(f"--out {out} is inside the submission {sub}: choose a folder outside the submissions")
    if not submissions:
        raise ValueError("no submissions given")
    if isinstance(deadline, str):
        deadline = parse_time(deadline)
    manual_scores = read_manual_scores(manual) if manual else {}
    seed = secrets.randbelow(2**31) if seed is None else int(seed)
    out.mkdir(parents=True, exist_ok=True)
    pairs = find_jobs(sources, submissions)
    reporter = Reporter(out, sources, seed=seed, source=str(Path(source).resolve()),
                        students=[j.student for j in pairs])

    def finish(job: Job, result: NotebookResult) -> NotebookResult:
        result.problems = job.notes + result.problems
        if manual_scores:
            result = merge_manual(result, manual_scores)
        if job.submission is not None:
            result = apply_late_rule(result, job.submitted, deadline, late_penalty)
        result = reporter.add(result)
        if verbose:
            print(f"{result.student:<24} {result.notebook:<32} {result.total:g}/{result.max_total:g}  "
                  f"{result.status}", flush=True)
        return result

    if scheduler:
        from .cluster import grade_on_cluster

        results = grade_on_cluster(scheduler, pairs, limits, seed, finish)
    else:
        results = _grade_here(sources, submissions, out, pairs, limits, seed, jobs, finish)
    reporter.close()
    if verbose:
        print(f"wrote {out / 'grades.csv'}, {out / 'grades.json'} and {len({r.student for r in results})} "
              f"feedback file(s) in {out / 'feedback'}")
        print_sandbox(results)
    return reporter.results


def job_data(job: Job, seed: int, limits: Limits) -> dict:
    return {"student": job.student, "source": str(job.source) if job.source else None,
            "submission": str(job.submission) if job.submission else None, "seed": seed, "limits": asdict(limits),
            "why": f"{job.submission.name if job.submission else ''} matches none of them"}


def _grade_here(sources, submissions, out, pairs: list[Job], limits, seed, jobs, finish) -> list[NotebookResult]:
    batch = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX + "r-"))  # every kernel's folder, hidden from all kernels
    os.chmod(batch, 0o700)
    # what no submission may read, where no bubblewrap hides everything but the allow-list anyway: the
    # instructor's notebooks, the other submissions, the results, the home folder, the batch folder
    deny = {str(sources[0].parent.resolve()), str(out), str(Path.home()), str(batch)}
    for sub in submissions:
        deny |= _submission_folders(sub)

    def one(job: Job) -> NotebookResult:
        data = {**job_data(job, seed, limits), "deny": sorted(deny), "scratch_base": str(batch)}
        return run_job(data, limits)

    results = []
    try:
        with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
            futures = {pool.submit(one, job): job for job in pairs}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as err:  # noqa: BLE001 - one job's failure is that job's result
                    result = _failed(job_data(job, seed, limits), GRADER_ERROR, f"{type(err).__name__}: {err}")
                results.append(finish(job, result))
    finally:
        remove_tree(batch)
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
