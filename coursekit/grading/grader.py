"""Grading one submitted notebook: validate, rebuild, execute, score.

How a score is made, and why it cannot be gamed by editing the notebook:

1. **Rebuild.** The notebook that runs is the instructor's source notebook,
   cell by cell, with only the student's *answer* cells (matched by
   grade_id) taken from the submission. Every locked and test cell, its
   hidden tests and its metadata (grade_id, points) come from the source; a
   test cell the student edited, deleted, moved or turned into markdown is
   restored and reported. Cells the student added are not run, and written
   (markdown) answers are never run.
2. **Isolate.** It runs in a fresh kernel in its own process, in an empty
   scratch directory, fenced by :mod:`coursekit.grading.sandbox` (memory,
   file-size and CPU limits, no writes outside the scratch directory, no
   reading of the source notebooks, the submissions, the grader's output or
   the other kernels' folders, no TCP connections), with a per-cell and a
   total time limit and a limit on what it may write to disk.
3. **Re-check outside the kernel.** After each test cell, the grader runs
   the same check again *in its own process* with a random seed the
   notebook never sees; only the student's function runs in the kernel
   (see :mod:`coursekit.grading.rpc`). A test cell earns its points only if
   it ran without error **and** this re-check passed; so patching the
   checks, ``numpy`` or the kernel's error reporting, or hard-coding the
   answers to the visible test inputs, earns nothing.
"""
from __future__ import annotations

import ast
import importlib
import json
import os
import re
import secrets
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from ..checks import core
from . import notebook as N
from . import refcalls, rpc
from .executor import MAX_MESSAGE_BYTES, KernelSession, make_run_dir, remove_tree
from .sandbox import summary

MAX_NOTEBOOK_BYTES = 20 * 2**20

# notebook-level statuses (grades.csv "status")
GRADED, NOT_ATTEMPTED, INVALID, MISSING, TIMEOUT, DISK, OUTPUT, CRASHED, GRADER_ERROR = (
    "graded", "not attempted", "invalid", "missing", "time limit", "disk limit", "output limit", "kernel died",
    "grader error")


@dataclass
class Limits:
    cell_timeout: float = 60.0  # seconds per cell (and per re-check)
    total_timeout: float = 300.0  # seconds per notebook
    memory_mb: int = 2048  # address-space limit of the kernel
    file_mb: int = 64  # largest file the kernel may write
    disk_mb: int = 512  # most the kernel may keep in its scratch directory, all files together
    sandbox: bool = True
    landlock: bool = True  # False: no Landlock (to test the audit hook alone)
    bwrap: bool = True  # False: no bubblewrap, the fallback (Landlock + audit hook), to test it
    nproc: int = 64  # processes and threads the kernel's user may have (under bubblewrap, as a user of its own)
    messages_mb: int = 256  # most the grader accepts from one kernel in all (one message: executor.MAX_MESSAGE_BYTES)

    def cpu_seconds(self) -> int:
        """The kernel's CPU-time limit: two busy threads for the whole time limit, plus its start."""
        return int(2 * self.total_timeout + 60)


@dataclass
class ExerciseResult:
    grade_id: str
    points: float
    max_points: float
    status: str  # passed / not attempted / wrong / error / time limit / disk limit / kernel died / not run / not checked
    message: str = ""
    output: str = ""  # what the test cell printed in the kernel (the check's verdict)


@dataclass
class NotebookResult:
    student: str
    notebook: str
    status: str
    total: float = 0.0
    max_total: float = 0.0
    exercises: list[ExerciseResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sandbox: dict = field(default_factory=dict)  # what the kernel ran under (sandbox.describe); {} if none ran
    written: dict = field(default_factory=dict)  # grade_id -> the student's written (markdown) answer
    submitted: str = ""  # when the file was handed in (ISO 8601, UTC), where known
    late_days: int = 0  # started days after the deadline (see batch.apply_late_rule)
    penalty: float = 0.0  # points taken off for lateness
    grader_mb: float = 0.0  # the grading process's peak memory (what a cluster's worker needs per task)

    def to_dict(self) -> dict:
        return clean(asdict(self))

    @classmethod
    def from_dict(cls, data: dict) -> "NotebookResult":
        data = clean(dict(data))
        data["exercises"] = [ExerciseResult(**e) for e in data.get("exercises", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(value):
    """``value`` with every string made writable as UTF-8: a lone surrogate (from an exception
    message, or a file name that was not UTF-8) becomes U+FFFD instead of stopping a report."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {clean(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


# ---------------------------------------------------------- loading ----

class InvalidSubmission(ValueError):
    pass


def load_submission(path) -> tuple[nbformat.NotebookNode, list[str]]:
    """Read a submitted file as an nbformat-4 notebook, or raise
    :class:`InvalidSubmission` saying what is wrong with it."""
    path = Path(path)
    notes: list[str] = []
    text = _read_plain_file(path)
    try:
        data = json.loads(text)
    except RecursionError:
        raise InvalidSubmission("not a notebook: its JSON is nested too deeply to read") from None
    except ValueError as err:
        raise InvalidSubmission(f"not a notebook: the file is not valid JSON ({err})") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise InvalidSubmission("not a notebook: JSON without the 'nbformat' field")
    version = data.get("nbformat")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= 4:
        raise InvalidSubmission(f"nbformat {version!r} is not a notebook format Jupyter knows (1 to 4)")
    try:
        nb = nbformat.reads(text, as_version=4)
    except RecursionError:
        raise InvalidSubmission("not a readable notebook: it is nested too deeply") from None
    except Exception as err:
        raise InvalidSubmission(f"not a readable notebook: {str(err)[:300]}") from None
    if version < 4:
        notes.append(f"the file was in the old nbformat {version}; it was converted to nbformat 4")
    if not isinstance(nb.get("cells"), list) or not nb.cells:
        raise InvalidSubmission("the notebook is empty (it has no cells)")
    for cell in nb.cells:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise InvalidSubmission("not a valid notebook: a cell without a known cell_type")
        cell.setdefault("metadata", {})
        if not isinstance(cell.get("source", ""), (str, list)):
            raise InvalidSubmission("not a valid notebook: a cell whose source is not text")
    return nb, notes


def _read_plain_file(path: Path) -> str:
    """The file's text; a link (which could point at anything the grader may read) is refused."""
    if path.is_symlink():
        raise InvalidSubmission(f"{path.name} is a symbolic link, not a notebook: hand in the file itself")
    if not path.is_file():
        raise InvalidSubmission(f"{path.name} is not a file")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError as err:
        raise InvalidSubmission(f"{path.name} cannot be read ({err.strerror})") from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_NOTEBOOK_BYTES + 1)
    if not data:
        raise InvalidSubmission("the file is empty (0 bytes)")
    if len(data) > MAX_NOTEBOOK_BYTES:
        size = os.stat(path).st_size
        raise InvalidSubmission(f"the file is {size / 2**20:.0f} MiB; a notebook must be under "
                                f"{MAX_NOTEBOOK_BYTES // 2**20} MiB (clear the outputs before handing in)")
    return data.decode("utf-8", errors="replace")


def grade_ids(nb) -> set[str]:
    return {gid for gid in map(N.grade_id, nb.cells) if gid}


# ---------------------------------------------------------- rebuild ----

@dataclass
class Step:
    """One cell of the notebook that runs."""

    kind: str  # "code", "answer", "test", or "unchecked" (a test validate cannot run: see `note`)
    source: str
    grade_id: str | None = None
    points: float = 0.0
    note: str = ""


def _cells_by_grade_id(nb, problems: list[str]) -> dict[str, tuple[int, dict]]:
    theirs: dict[str, tuple[int, dict]] = {}
    for index, cell in enumerate(nb.cells):
        gid = N.grade_id(cell)
        if gid is None:
            continue
        if gid in theirs:
            problems.append(f"two cells have grade_id {gid!r}; the first one was used")
            continue
        theirs[gid] = (index, cell)
    return theirs


def find_answer(gid: str, wanted, theirs, nb, taken: set[int], known: set[str], problems: list[str]):
    """The student's answer cell for ``gid``: the cell with that grade_id, or,
    if the metadata was changed or lost, the code cell defining one of the
    ``wanted`` functions (and belonging to no other exercise). ``taken``
    holds the ids of the cells already used; the cell found is added."""
    found = theirs.get(gid, (None, None))[1]
    if found is None and wanted:
        for cell in nb.cells:
            if id(cell) in taken or cell.get("cell_type") != "code" or N.grade_id(cell) in known \
                    or N.is_locked(cell) or not set(wanted) & set(N.defined_names(N.cell_source(cell))):
                continue
            found = cell
            problems.append(f"answer cell {gid!r} was found by the function it defines "
                            "(its cell metadata had been changed)")
            break
    if found is not None:
        taken.add(id(found))
    return found


def _answer_step(gid: str, cell, stub: str, problems: list[str]) -> Step:
    if cell is None:
        problems.append(f"answer cell {gid!r} is missing; it was graded as not attempted")
        return Step("answer", stub, gid)
    if cell.get("cell_type") != "code":
        problems.append(f"answer cell {gid!r} was turned into {cell.get('cell_type')}; it was graded as not attempted")
        return Step("answer", stub, gid)
    return Step("answer", N.cell_source(cell), gid)


def rebuild(source_nb, submitted_nb, name: str = "notebook") -> tuple[list[Step], list[str]]:
    """The cells to run: the source notebook with the student's answer cells.

    Returns the steps and the problems found (each a sentence for the
    feedback). Raises :class:`InvalidSubmission` when the submission has none
    of the source's exercise cells, by grade_id or by the functions they
    define (another unit, or not this assignment).
    """
    released = N.release_notebook(source_nb, name)
    problems: list[str] = []
    theirs = _cells_by_grade_id(submitted_nb, problems)
    ours = [gid for gid in map(N.grade_id, source_nb.cells) if gid]
    taken: set[int] = set()
    steps: list[Step] = []
    locked_order: list[str] = []
    locked_problems: list[str] = []
    answers_found = 0
    for src_cell, rel_cell in zip(source_nb.cells, released.cells):
        gid = N.grade_id(src_cell)
        if gid and N.is_solution(src_cell):
            if src_cell.cell_type != "code":
                continue  # a written answer: for the instructor to read, never run
            stub = N.cell_source(rel_cell)
            cell = find_answer(gid, N.defined_names(stub), theirs, submitted_nb, taken, set(ours), problems)
            answers_found += cell is not None
            steps.append(_answer_step(gid, cell, stub, problems))
            continue
        if gid and N.is_locked(src_cell):
            locked_order.append(gid)
            problem = _compare_locked(rel_cell, theirs.get(gid, (None, None))[1], src_cell)
            if problem:
                locked_problems.append(f"{'test' if N.is_grade(src_cell) else 'locked'} cell {gid!r} {problem}; "
                                       "the original was restored")
        if src_cell.cell_type != "code":
            continue
        kind = "test" if N.is_grade(src_cell) else "code"
        steps.append(Step(kind, N.cell_source(src_cell), gid, N.points(src_cell) if N.is_grade(src_cell) else 0.0))
    if ours and not set(ours) & set(theirs) and not answers_found:
        raise InvalidSubmission(f"this is not {name}: none of its exercise cells ({', '.join(ours[:4])}"
                                f"{', ...' if len(ours) > 4 else ''}) is in the file (another unit's notebook?)")
    if theirs:
        problems += locked_problems
    else:
        problems.append("the notebook has no nbgrader metadata (an old format, or copied into a new notebook): "
                        "its answers were found by the functions they define, and every locked and test cell "
                        "was taken from the source")
    problems += _moved(theirs, ours, locked_order)
    added = _added_cells(source_nb, released, submitted_nb, taken, set(ours))
    if added:
        problems.append(f"{added} code cell(s) you added or changed outside the answer cells were not run by the "
                        "grader: put all the code an answer needs inside its answer cell")
    return steps, problems


def _moved(theirs, ours, locked_order) -> list[str]:
    present = [gid for gid in sorted(theirs, key=lambda g: theirs[g][0]) if gid in ours]
    expected = [gid for gid in ours if gid in theirs]
    moved = [a for a, b in zip(present, expected) if a != b and a in locked_order]
    return [f"locked/test cells were moved ({', '.join(moved[:5])}); they ran in their original place"] if moved else []


def _added_cells(source_nb, released, submitted_nb, taken: set[int], ours: set[str]) -> int:
    """Code cells of the submission the grader does not run: not an answer it
    used, not one of the exercise cells, and not the text of a source cell."""
    known = {N.cell_source(c).strip() for nb in (source_nb, released) for c in nb.cells
             if c.cell_type == "code" and not N.is_solution(c)}
    return sum(1 for c in submitted_nb.cells
               if c.get("cell_type") == "code" and N.cell_source(c).strip() and id(c) not in taken
               and (N.grade_id(c) or "") not in ours and N.cell_source(c).strip() not in known)


def _compare_locked(released_cell, theirs, source_cell) -> str | None:
    if theirs is None:
        return "was deleted (or its grade_id changed)"
    if theirs.get("cell_type") != released_cell.cell_type:
        return f"was turned into {theirs.get('cell_type')}"
    text = N.cell_source(theirs).strip()
    if text not in (N.cell_source(released_cell).strip(), N.cell_source(source_cell).strip()):
        return "was edited"
    for key in ("grade", "solution", "locked", "points"):
        if N.nbg(theirs).get(key) != N.nbg(released_cell).get(key):
            return f"had its metadata changed ({key})"
    return None


# ------------------------------------------------- rebuild (validate) ----

def rebuild_released(nb) -> tuple[list[Step], list[str], float]:
    """What ``coursekit validate`` runs: the student's notebook rebuilt the
    grader's way from the student's copy alone.

    The manifest stored at release (see :func:`notebook.release_manifest`)
    says what the grader runs, in order: answers are the student's (found
    as the grader finds them); locked, test and plain code cells run only if
    they are as released (their checksums match), since the grader restores
    the originals, which this copy does not hold: a changed or deleted test
    cell is scored 0, "not checked"; cells the student added are not run.
    Returns the steps, the problems and the full number of points."""
    problems: list[str] = []
    entries = N.manifest(nb)
    if entries is None:
        entries = N.release_manifest(nb)  # made from the copy itself, trusting its stored checksums
        problems.append(f"this notebook carries no release information (metadata {N.MANIFEST_KEY!r}: released by "
                        "another tool, or its metadata was removed), so cells you added could not be told apart "
                        "and were run, and a deleted test cell could not be noticed; the grader will not run added "
                        "cells")
    theirs = _cells_by_grade_id(nb, problems)
    known = {e["grade_id"] for e in entries if e.get("grade_id")}
    index_of = {id(c): i for i, c in enumerate(nb.cells)}
    taken: set[int] = set()
    steps: list[Step] = []
    for entry in entries:
        kind, gid = entry.get("kind"), entry.get("grade_id")
        if kind == "answer":
            if entry.get("cell_type", "code") == "code":
                stub = _stub(entry.get("defines") or [])
                cell = find_answer(gid, entry.get("defines") or [], theirs, nb, taken, known, problems)
                steps.append(_answer_step(gid, cell, stub, problems))
        elif kind == "code":
            cell = next((c for c in nb.cells if id(c) not in taken and c.get("cell_type") == "code"
                         and (N.grade_id(c) or "") not in known and N.source_checksum(c) == entry.get("checksum")), None)
            if cell is None:
                problems.append("a code cell of the released notebook was changed or deleted; the grader runs the "
                                "original, which this copy does not have, so it was not run here (cells after it may "
                                "fail here but not when graded): undo the change to check them")
            else:
                taken.add(id(cell))
                steps.append(Step("code", N.cell_source(cell)))
        elif kind in ("test", "locked") and gid:
            steps += _released_cell_step(entry, theirs.get(gid, (None, None))[1], index_of, taken, problems)
    added = [index_of[id(c)] for c in nb.cells if c.get("cell_type") == "code" and N.cell_source(c).strip()
             and id(c) not in taken and (N.grade_id(c) or "") not in known]
    if added:
        problems.append(f"cell(s) {', '.join(map(str, added))}: code you added (or changed) outside the answer cells; "
                        "the grader does not run such cells, so they were not run here either: put all the code an "
                        "answer needs inside its answer cell")
    max_total = sum(float(e.get("points") or 0) for e in entries if e.get("kind") == "test")
    return steps, problems, max_total


def _released_cell_step(entry: dict, cell, index_of: dict, taken: set[int], problems: list[str]) -> list[Step]:
    """The step for a locked or test cell if it is as released; else the
    problem, and for a test cell a "not checked" result."""
    gid, test = entry["grade_id"], entry.get("kind") == "test"
    points = float(entry.get("points") or 0)
    if cell is not None and N.compute_checksum(cell) == entry.get("checksum"):
        taken.add(id(cell))
        if cell.get("cell_type") != "code":
            return []
        return [Step("test" if test else "code", N.cell_source(cell), gid, points if test else 0.0)]
    if cell is None:
        problem = f"{'test' if test else 'locked'} cell {gid!r} was deleted; the grader will restore it"
    else:
        taken.add(id(cell))
        problem = f"cell {index_of[id(cell)]} ({gid!r}) was changed; the grader will restore the original"
    if not test:
        problems.append(f"{problem}; this copy does not have it, so it was not run here (cells after it may fail "
                        "here but not when graded)")
        return []
    problems.append(problem)
    return [Step("unchecked", "", gid, points,
                 f"cannot be checked here: {problem} and score that. Undo your change (copy the cell from a fresh "
                 "copy of the notebook) to check this exercise.")]


def _stub(names) -> str:
    return "\n".join(f"def {n}(*args, **kwargs):\n    raise NotImplementedError()\n" for n in names) or "pass"


# --------------------------------------------------------- re-checks ----

@dataclass
class CheckCall:
    module: str
    function: str
    args: list  # ("name", str) or ("value", literal)
    kwargs: dict


def parse_check_call(source: str) -> CheckCall | None:
    """``result = checks.<topic>.check_x(fn, ...)`` in a test cell, or None. Where the
    cell has several (hidden tests may check again, with a key only the instructor's
    notebook holds), the last one is the one that grades."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found = None
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        chain, func = [], node.value.func
        while isinstance(func, ast.Attribute):
            chain.insert(0, func.attr)
            func = func.value
        if not isinstance(func, ast.Name) or func.id not in ("checks", "coursekit") or not chain:
            continue
        parts = (["coursekit"] if func.id == "checks" else []) + [func.id] + chain
        parts = parts[1:] if parts[:2] == ["coursekit", "coursekit"] else parts
        if parts[:2] != ["coursekit", "checks"]:
            continue
        args = []
        try:
            for arg in node.value.args:
                args.append(("name", arg.id) if isinstance(arg, ast.Name) else ("value", ast.literal_eval(arg)))
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.value.keywords if k.arg}
        except (ValueError, TypeError, SyntaxError, RecursionError):
            return None
        found = CheckCall(".".join(parts[:-1]), parts[-1], args, kwargs)
    return found


# a call of the student's function that did not finish -> what the check sees raised ({evalue}: why the run stopped)
_CALL_STOPPED = {
    "timeout": (TimeoutError, "time limit: your function did not finish in time (an endless loop?)"),
    "stuck": (TimeoutError, "time limit: your function did not finish in time (an endless loop?)"),
    "dead": (RuntimeError, "the kernel stopped while your function ran"),
    "disk": (RuntimeError, "your function {evalue}; the notebook was stopped"),
    "output": (RuntimeError, "your function's kernel {evalue}; the notebook was stopped"),
}


def _call_stopped(run) -> Exception:
    error, message = _CALL_STOPPED[run.status]
    return error(message.format(evalue=run.evalue))


class StudentFunction:
    """Stands in for the student's function in the grader's process: each call
    runs the real one in the kernel (see :mod:`coursekit.grading.rpc`)."""

    def __init__(self, session: KernelSession, name: str, deadline: float):
        self.session, self.name, self.deadline = session, name, deadline
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("time limit: your function did not finish in time")
        run, result = self.session.call(self.name, rpc.payload(args, kwargs), remaining)
        if run.status in _CALL_STOPPED:
            raise _call_stopped(run)
        if not isinstance(result, dict):
            raise RuntimeError("your function's result could not be read back"
                               + (f" ({run.ename}: {run.evalue})" if run.ename else ""))
        printed = result.get("printed")
        if isinstance(printed, str) and printed:
            sys.stdout.write(printed[:4000])  # the check captures it for its message
        if "raise" in result:
            if result["raise"] == "NotImplementedError":
                raise NotImplementedError()
            raise _error_type(result["raise"])(str(result.get("message", ""))[:2000])
        return rpc.decode(result.get("ok"))


def _error_type(name) -> type:
    """An exception class named as the student's error was (only its name comes back)."""
    name = "".join(c for c in str(name)[:60] if c.isalnum() or c == "_") or "Error"
    return type(name if name[0].isalpha() else "Error", (Exception,), {})


def recheck(session: KernelSession, call: CheckCall, seed: int, deadline: float):
    """Run the test cell's check in this process on the kernel's functions."""
    module = importlib.import_module(call.module)
    check = getattr(module, call.function)
    args = []
    for kind, value in call.args:
        if kind == "value":
            args.append(value)
            continue
        run, found = session.call(value, None, max(1.0, min(10.0, deadline - time.monotonic())))
        if not found or "raise" in found:
            args.append(StudentFunction(session, value, deadline))  # the check reports what is missing
        elif found.get("callable"):
            args.append(StudentFunction(session, value, deadline))
        else:
            args.append(rpc.decode(found.get("value")))
    kwargs = {**call.kwargs, "verbose": False, "seed": seed}
    before = session.calls.snapshot() if session.calls is not None else None
    with core.tracing_references():
        try:
            verdict = check(*args, **kwargs)
        except TypeError as err:
            if "seed" not in str(err):
                raise
            kwargs.pop("seed")
            verdict = check(*args, **kwargs)
    if before is not None and verdict.reference:
        called = refcalls.reference_calls(before, session.calls.snapshot(), verdict.reference)
        if called:
            return _calls_reference(verdict, called)
    return verdict


USES_REFERENCE = "calls the reference"


def _calls_reference(verdict, called: list[str]):
    called = sorted(called, key=lambda n: (n.rsplit(":", 1)[-1].startswith("_"), n))  # public functions first
    names = ", ".join(n.replace(":", ".") for n in called[:3]) + (", ..." if len(called) > 3 else "")
    message = (f"your answer calls the reference implementation ({names}) while it is checked, so it scores 0. "
               "Write the computation yourself: only the helpers the exercise names may be called.")
    return core.CheckResult(verdict.name, USES_REFERENCE, message, 0.0, verdict.max_points,
                            reference=verdict.reference, printed=verdict.printed)


# ----------------------------------------------------------- execute ----

_ERROR_STATUS = {"NotImplementedError": "not attempted", "AssertionError": "wrong"}
# why a notebook was stopped -> its status; the first stop is the only one (nothing runs after it)
_STOP_STATUS = {"dead": CRASHED, "disk": DISK, "output": OUTPUT, "stuck": TIMEOUT, "total": TIMEOUT}


@dataclass
class Execution:
    exercises: list[ExerciseResult]
    problems: list[str]
    status: str  # GRADED, NOT_ATTEMPTED, TIMEOUT, DISK or CRASHED
    sandbox: dict  # what the kernel ran under (see sandbox.describe)


def execute(steps: list[Step], *, limits: Limits, deny=(), seed: int | None = None,
            scratch_base: str | None = None) -> Execution:
    """Run the rebuilt notebook in a sandboxed kernel; score each test cell.

    The kernel gets a private folder under ``scratch_base`` (``coursekit
    grade``'s batch folder, hidden from every kernel) or the temp folder."""
    seed = secrets.randbelow(2**31) if seed is None else seed
    home = make_run_dir(scratch_base)
    results: list[ExerciseResult] = []
    problems: list[str] = []
    stop_kind, mode = "", {}
    try:
        for step in steps:  # the check modules load before any student code runs
            call = parse_check_call(step.source) if step.kind == "test" else None
            if call:
                importlib.import_module(call.module)
        session = KernelSession(home, deny=deny, memory_mb=limits.memory_mb, file_mb=limits.file_mb,
                                disk_mb=limits.disk_mb, cpu_s=limits.cpu_seconds(), sandbox=limits.sandbox,
                                landlock=limits.landlock, bwrap=limits.bwrap, nproc=limits.nproc,
                                max_total_bytes=limits.messages_mb * 2**20)
        with session:
            mode = session.mode or ({"unknown": True} if limits.sandbox else {"off": True})
            total_deadline = time.monotonic() + limits.total_timeout  # from a ready kernel: its start is not the notebook's
            stopped = ""
            for step in steps:
                if step.kind == "unchecked":
                    results.append(ExerciseResult(step.grade_id, 0.0, step.points, "not checked", step.note))
                    continue
                if stopped:
                    if step.kind == "test":
                        results.append(ExerciseResult(step.grade_id, 0.0, step.points, "not run", stopped))
                    continue
                run = session.run(step.source, _budget(limits, total_deadline))
                if step.kind == "test":
                    results.append(_score(session, step, run, seed, limits, total_deadline))
                stop_kind, stopped = _stop_reason(run, total_deadline, problems, step, limits)
    finally:
        remove_tree(home)
    status = _STOP_STATUS.get(stop_kind, GRADED)
    if status == GRADED and results and all(r.status == "not attempted" for r in results):
        status = NOT_ATTEMPTED
    return Execution(results, problems, status, mode)


def _budget(limits: Limits, total_deadline: float) -> float:
    return max(0.0, min(limits.cell_timeout, total_deadline - time.monotonic()))


def _stop_reason(run, total_deadline, problems, step, limits) -> tuple[str, str]:
    """("", "") to go on, else (kind, what to tell for the cells that do not run)."""
    where = f"cell {step.grade_id!r}" if step.grade_id else "a cell"
    if run.earlier:  # stopped during the grader's re-check of the previous test cell
        where = "the grader's re-run of a check on your function"
    if run.truncated:
        problems.append(f"{where} printed {run.output_chars:,} characters; only the first part was kept")
    if run.status == "dead":
        problems.append(f"the kernel stopped while {where} ran (exit, crash or memory limit)")
        return "dead", "not run: the kernel stopped earlier"
    if run.status == "disk":
        problems.append(f"{where} {run.evalue} (limit {limits.disk_mb} MB); the notebook was stopped")
        return "disk", "not run: the notebook was stopped after writing too much to disk"
    if run.status == "output":
        problems.append(f"{where}: the kernel {run.evalue} (the grader accepts at most "
                        f"{MAX_MESSAGE_BYTES // 2**20} MB in one message and {limits.messages_mb} MB in all); "
                        "the notebook was stopped")
        return "output", "not run: the notebook was stopped after sending too much to the grader"
    if run.status == "stuck":
        problems.append(f"{where} ran past the time limit and did not stop when interrupted")
        return "stuck", "not run: the kernel was stopped after an earlier cell ran past the time limit"
    if run.status == "timeout":
        problems.append(f"{where} ran past the time limit and was interrupted")
    if time.monotonic() >= total_deadline:
        problems.append(f"the notebook ran past the total time limit ({limits.total_timeout:g} s)")
        return "total", "not run: the notebook ran past the total time limit"
    if run.status == "error" and run.ename == "MemoryError":
        problems.append(f"{where} ran out of memory (limit reached)")
    return "", ""


_RUN_STATUS = {"timeout": "time limit", "stuck": "time limit", "dead": "kernel died", "disk": "disk limit",
               "output": "output limit"}


def _score(session, step: Step, run, seed: int, limits: Limits, total_deadline: float) -> ExerciseResult:
    output = run.text.strip()
    if run.status in _RUN_STATUS:
        return ExerciseResult(step.grade_id, 0.0, step.points, _RUN_STATUS[run.status],
                              run.evalue or "the test did not finish within the time limit", output)
    call = parse_check_call(step.source)
    verdict = None
    if call is not None:
        deadline = min(time.monotonic() + limits.cell_timeout, total_deadline)
        try:
            verdict = recheck(session, call, seed, deadline)
        except Exception as err:  # a broken check is the instructor's problem: say so
            session.check_disk()  # the next cell finds the kernel stopped if the re-run filled the disk
            return ExerciseResult(step.grade_id, 0.0, step.points, "error",
                                  f"the grader could not re-run {call.function}: {type(err).__name__}: {err}", output)
        stop = session.check_disk()  # what the re-run's last calls wrote (they skip a look taken moments before)
        if stop is not None:
            return ExerciseResult(step.grade_id, 0.0, step.points, _RUN_STATUS[stop.status], str(_call_stopped(stop)),
                                  output)
    ran_ok = run.status == "ok"
    if verdict is not None:
        passed = ran_ok and verdict.passed
        status = "passed" if passed else verdict.status
        message = verdict.message
        if verdict.status == core.PARTIAL and (ran_ok or run.ename in ("AssertionError", "CheckFailed")):
            # independent parts: the points of the parts that passed (the hidden `assert result.passed` failed)
            share = verdict.points / verdict.max_points if verdict.max_points else 0.0
            return ExerciseResult(step.grade_id, round(step.points * share, 6), step.points, "partial", message,
                                  output)
        if ran_ok and not verdict.passed and verdict.status != USES_REFERENCE:
            message += ("\n(The test in your notebook passed, but the grader's own run of the same check on new "
                        "random inputs did not: answers that only fit the visible tests, or a changed check, "
                        "earn no points.)")
        elif verdict.passed and not ran_ok:
            status = _ERROR_STATUS.get(run.ename, "error")
            message = f"the test cell failed: {run.ename}: {run.evalue}"
        return ExerciseResult(step.grade_id, step.points if passed else 0.0, step.points, status, message, output)
    if ran_ok:
        return ExerciseResult(step.grade_id, step.points, step.points, "passed", "the tests passed", output)
    status = _ERROR_STATUS.get(run.ename, "error")
    return ExerciseResult(step.grade_id, 0.0, step.points, status, f"{run.ename}: {run.evalue}".strip(": "), output)


# ----------------------------------------------------------- one job ----

def grade_notebook(source_path, submission_path, *, student: str, limits: Limits | None = None,
                   seed: int | None = None, deny=(), scratch_base: str | None = None) -> NotebookResult:
    """Grade one submitted notebook against its source notebook."""
    limits = limits or Limits()
    start = time.monotonic()
    source_path = Path(source_path)
    source_nb = N.read_notebook(source_path)
    result = NotebookResult(student, source_path.name, GRADED,
                            max_total=sum(N.points(c) for c in source_nb.cells if N.is_grade(c)))
    try:
        submitted, notes = load_submission(submission_path)
        steps, problems = rebuild(source_nb, submitted, source_path.name)
    except InvalidSubmission as err:
        result.status, result.problems = INVALID, [str(err)]
        result.exercises = [ExerciseResult(N.grade_id(c), 0.0, N.points(c), "not run", "the file could not be graded")
                            for c in source_nb.cells if N.is_grade(c)]
        result.seconds = time.monotonic() - start
        return result
    result.written = written_answers(source_nb, submitted)
    run = execute(steps, limits=limits, deny=deny, seed=seed, scratch_base=scratch_base)
    result.exercises, result.status, result.sandbox = run.exercises + manual_exercises(source_nb), run.status, \
        run.sandbox
    result.problems = notes + problems + run.problems
    result.total = sum(e.points for e in result.exercises)
    result.seconds = time.monotonic() - start
    return result


AWAITING = "to be graded by hand"
MAX_WRITTEN_CHARS = 20_000


def manual_exercises(source_nb) -> list[ExerciseResult]:
    """A written answer with points (nbgrader's "manually graded answer": solution and grade):
    0 points until the instructor's scores are merged (``coursekit grade --manual``)."""
    return [ExerciseResult(N.grade_id(c), 0.0, N.points(c), AWAITING, "")
            for c in source_nb.cells if N.is_grade(c) and N.is_solution(c) and c.cell_type == "markdown"]


def written_answers(source_nb, submitted_nb) -> dict[str, str]:
    """grade_id -> the student's text, for every written (markdown) answer of the source notebook."""
    ids = [N.grade_id(c) for c in source_nb.cells if N.is_solution(c) and c.cell_type == "markdown"]
    theirs = {N.grade_id(c): c for c in submitted_nb.cells if N.grade_id(c)}
    out = {}
    for gid in ids:
        cell = theirs.get(gid)
        text = N.cell_source(cell) if cell is not None else ""
        out[gid] = text[:MAX_WRITTEN_CHARS] + (" ..." if len(text) > MAX_WRITTEN_CHARS else "")
    return out


def validate(path, *, limits: Limits | None = None, seed: int | None = None, verbose: bool = True) -> NotebookResult:
    """What ``coursekit validate`` does: run the student's notebook as the grader would.

    The notebook is rebuilt the grader's way from the student's copy (see
    :func:`rebuild_released`): only the answer cells are the student's;
    locked and test cells run only as released (an edited one is reported
    and its exercise not checked); added cells are not run. Each exercise is
    scored as the grader would, without the hidden tests."""
    path = Path(path)
    limits = limits or Limits()
    start = time.monotonic()
    result = NotebookResult("you", path.name, GRADED)
    try:
        nb, notes = load_submission(path)
    except InvalidSubmission as err:
        result.status, result.problems = INVALID, [str(err)]
        return _print_validation(result, verbose)
    try:
        steps, problems, result.max_total = rebuild_released(nb)
        run = execute(steps, limits=limits, seed=seed)
    except (Exception, RecursionError) as err:  # noqa: BLE001 - say what went wrong, never a traceback
        result.status, result.problems = GRADER_ERROR, [f"the notebook could not be checked: "
                                                        f"{type(err).__name__}: {str(err)[:500]}"]
        return _print_validation(clean_result(result), verbose)
    result.exercises, result.status, result.sandbox = run.exercises, run.status, run.sandbox
    result.problems = notes + problems + run.problems
    result.total = sum(e.points for e in run.exercises)
    result.seconds = time.monotonic() - start
    return _print_validation(clean_result(result), verbose)


def clean_result(result: NotebookResult) -> NotebookResult:
    return NotebookResult.from_dict(result.to_dict())


def _print_validation(result: NotebookResult, verbose: bool) -> NotebookResult:
    if not verbose:
        return result
    print(f"{result.notebook}: {result.status}")
    for problem in result.problems:
        print(f"  ! {problem}")
    for e in result.exercises:
        lines = (e.message or "").strip().splitlines()
        print(f"  {e.grade_id:<32} {e.points:g}/{e.max_points:g}  {e.status}" + (f": {lines[0]}" if lines else ""))
        for line in lines[1:]:  # the whole message: the smallest failing input, expected vs got, the hint
            print(f"      {line}")
    if result.status != INVALID:
        print(f"  total {result.total:g}/{result.max_total:g} (hidden tests may still lower this)")
    lines, weak = summary([result.sandbox])
    for line in lines:
        print(f"  sandbox: {line}")
    for warning in weak:
        print(f"  WARNING: {warning}")
    return result
