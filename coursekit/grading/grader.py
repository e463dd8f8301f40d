"""Grading one submitted notebook: validate, rebuild, execute, score.

How a score is made, and why it cannot be gamed by editing the notebook:

1. **Rebuild.** The notebook that runs is the instructor's source notebook,
   cell by cell, with only the student's *answer* cells (matched by
   grade_id) taken from the submission. Every locked and test cell, its
   hidden tests and its metadata (grade_id, points) come from the source; a
   test cell the student edited, deleted, moved or turned into markdown is
   restored and reported. Cells the student added are not run.
2. **Isolate.** It runs in a fresh kernel in its own process, in an empty
   scratch directory, fenced by :mod:`coursekit.grading.sandbox` (memory and
   file-size limits, no writes outside the scratch directory, no reading of
   the source notebooks, the submissions or the grader's output), with a
   per-cell and a total time limit.
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
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from . import notebook as N
from . import rpc
from .executor import KernelSession, make_scratch, remove_tree

MAX_NOTEBOOK_BYTES = 20 * 2**20

# notebook-level statuses (grades.csv "status")
GRADED, NOT_ATTEMPTED, INVALID, MISSING, TIMEOUT, CRASHED, GRADER_ERROR = (
    "graded", "not attempted", "invalid", "missing", "time limit", "kernel died", "grader error")


@dataclass
class Limits:
    cell_timeout: float = 60.0  # seconds per cell (and per re-check)
    total_timeout: float = 300.0  # seconds per notebook
    memory_mb: int = 2048  # address-space limit of the kernel
    file_mb: int = 64  # largest file the kernel may write
    sandbox: bool = True


@dataclass
class ExerciseResult:
    grade_id: str
    points: float
    max_points: float
    status: str  # passed / not attempted / wrong / error / time limit / kernel died / not run
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

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NotebookResult":
        data = dict(data)
        data["exercises"] = [ExerciseResult(**e) for e in data.get("exercises", [])]
        return cls(**data)


# ---------------------------------------------------------- loading ----

class InvalidSubmission(ValueError):
    pass


def load_submission(path) -> tuple[nbformat.NotebookNode, list[str]]:
    """Read a submitted file as an nbformat-4 notebook, or raise
    :class:`InvalidSubmission` saying what is wrong with it."""
    path = Path(path)
    notes: list[str] = []
    if not path.is_file():
        raise InvalidSubmission(f"{path.name} is not a file")
    size = path.stat().st_size
    if size == 0:
        raise InvalidSubmission("the file is empty (0 bytes)")
    if size > MAX_NOTEBOOK_BYTES:
        raise InvalidSubmission(f"the file is {size / 2**20:.0f} MiB; a notebook must be under "
                                f"{MAX_NOTEBOOK_BYTES // 2**20} MiB (clear the outputs before handing in)")
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError as err:
        raise InvalidSubmission(f"not a notebook: the file is not valid JSON ({err})") from None
    if not isinstance(data, dict) or "nbformat" not in data:
        raise InvalidSubmission("not a notebook: JSON without the 'nbformat' field")
    version = data.get("nbformat")
    if not isinstance(version, int) or version < 3:
        raise InvalidSubmission(f"nbformat {version!r} is too old to read; open and save it with Jupyter 4 or newer")
    try:
        nb = nbformat.reads(text, as_version=4)
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


def grade_ids(nb) -> set[str]:
    return {gid for gid in map(N.grade_id, nb.cells) if gid}


# ---------------------------------------------------------- rebuild ----

@dataclass
class Step:
    """One cell of the notebook that runs."""

    kind: str  # "code", "answer", "test"
    source: str
    grade_id: str | None = None
    points: float = 0.0


def rebuild(source_nb, submitted_nb, name: str = "notebook") -> tuple[list[Step], list[str]]:
    """The cells to run: the source notebook with the student's answer cells.

    Returns the steps and the problems found (each a sentence for the
    feedback). Raises :class:`InvalidSubmission` when the submission has none
    of the source's exercise cells (another unit, or not this assignment).
    """
    released = N.release_notebook(source_nb, name)
    theirs: dict[str, tuple[int, dict]] = {}
    problems: list[str] = []
    for index, cell in enumerate(submitted_nb.cells):
        gid = N.grade_id(cell)
        if gid is None:
            continue
        if gid in theirs:
            problems.append(f"two cells have grade_id {gid!r}; the first one was used")
            continue
        theirs[gid] = (index, cell)
    ours = [gid for gid in map(N.grade_id, source_nb.cells) if gid]
    if ours and not set(ours) & set(theirs):
        raise InvalidSubmission(f"this is not {name}: none of its exercise cells ({', '.join(ours[:4])}"
                                f"{', ...' if len(ours) > 4 else ''}) is in the file (another unit's notebook?)")

    steps: list[Step] = []
    used: set[str] = set()
    locked_order: list[str] = []
    for src_cell, rel_cell in zip(source_nb.cells, released.cells):
        gid = N.grade_id(src_cell)
        if gid and N.is_solution(src_cell) and not N.is_grade(src_cell):
            steps.append(_answer_step(src_cell, rel_cell, theirs, used, submitted_nb, problems))
            continue
        if gid and N.is_locked(src_cell):
            locked_order.append(gid)
            problem = _compare_locked(rel_cell, theirs.get(gid, (None, None))[1], src_cell)
            if problem:
                problems.append(f"{'test' if N.is_grade(src_cell) else 'locked'} cell {gid!r} {problem}; "
                                "the original was restored")
            used.add(gid)
        if src_cell.cell_type != "code":
            continue
        kind = "test" if N.is_grade(src_cell) else "code"
        steps.append(Step(kind, N.cell_source(src_cell), gid, N.points(src_cell) if N.is_grade(src_cell) else 0.0))
    present = [gid for gid in sorted(theirs, key=lambda g: theirs[g][0]) if gid in ours]
    expected = [gid for gid in ours if gid in theirs]
    moved = [a for a, b in zip(present, expected) if a != b and a in locked_order]
    if moved:
        problems.append(f"locked/test cells were moved ({', '.join(moved[:5])}); they ran in their original place")
    plain = {N.cell_source(c).strip() for c in source_nb.cells if c.cell_type == "code" and not N.grade_id(c)}
    added = sum(1 for c in submitted_nb.cells if c.get("cell_type") == "code" and N.cell_source(c).strip()
                and (N.grade_id(c) or "") not in ours and N.cell_source(c).strip() not in plain)
    if added:
        problems.append(f"{added} code cell(s) you added or changed outside the answer cells were not run by the "
                        "grader: put all the code an answer needs inside its answer cell")
    return steps, problems


def _answer_step(src_cell, rel_cell, theirs, used, submitted_nb, problems) -> Step:
    gid = N.grade_id(src_cell)
    found = theirs.get(gid, (None, None))[1]
    if found is None:  # the metadata may have been changed: look for the function it defines
        wanted = _defined_names(N.cell_source(rel_cell))
        for cell in submitted_nb.cells:
            if cell.get("cell_type") == "code" and N.grade_id(cell) not in used and wanted and \
                    wanted & _defined_names(N.cell_source(cell)) and not N.is_locked(cell):
                found = cell
                problems.append(f"answer cell {gid!r} was found by the function it defines "
                                "(its cell metadata had been changed)")
                break
    if found is None:
        problems.append(f"answer cell {gid!r} is missing; it was graded as not attempted")
        return Step("answer", N.cell_source(rel_cell), gid)
    if found.get("cell_type") != src_cell.cell_type:
        problems.append(f"answer cell {gid!r} was turned into {found.get('cell_type')}; it was graded as not attempted")
        return Step("answer", N.cell_source(rel_cell), gid)
    used.add(N.grade_id(found) or "")
    return Step("answer", N.cell_source(found), gid)


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


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


# --------------------------------------------------------- re-checks ----

@dataclass
class CheckCall:
    module: str
    function: str
    args: list  # ("name", str) or ("value", literal)
    kwargs: dict


def parse_check_call(source: str) -> CheckCall | None:
    """``result = checks.<topic>.check_x(fn, ...)`` in a test cell, or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
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
        except (ValueError, TypeError, SyntaxError):
            return None
        return CheckCall(".".join(parts[:-1]), parts[-1], args, kwargs)
    return None


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
        if run.status in ("timeout", "stuck"):
            raise TimeoutError("time limit: your function did not finish in time (an endless loop?)")
        if run.status == "dead":
            raise RuntimeError("the kernel stopped while your function ran")
        if not result:
            raise RuntimeError("your function's result could not be read back"
                               + (f" ({run.ename}: {run.evalue})" if run.ename else ""))
        if "raise" in result:
            if result["raise"] == "NotImplementedError":
                raise NotImplementedError()
            raise type(str(result["raise"])[:60] or "Error", (Exception,), {})(result.get("message", ""))
        return rpc.decode(result.get("ok"))


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
    try:
        return check(*args, **kwargs)
    except TypeError as err:
        if "seed" not in str(err):
            raise
        kwargs.pop("seed")
        return check(*args, **kwargs)


# ----------------------------------------------------------- execute ----

_ERROR_STATUS = {"NotImplementedError": "not attempted", "AssertionError": "wrong"}


def execute(steps: list[Step], *, limits: Limits, deny=(), seed: int | None = None,
            scratch_base: str | None = None) -> tuple[list[ExerciseResult], list[str], str]:
    """Run the rebuilt notebook in a sandboxed kernel; score each test cell.

    Returns (exercise results, problems, status), status one of GRADED,
    NOT_ATTEMPTED, TIMEOUT, CRASHED."""
    seed = secrets.randbelow(2**31) if seed is None else seed
    scratch, private = make_scratch(scratch_base), make_scratch(scratch_base)
    results: list[ExerciseResult] = []
    problems: list[str] = []
    status = GRADED
    total_deadline = time.monotonic() + limits.total_timeout
    try:
        for step in steps:  # the check modules load before any student code runs
            call = parse_check_call(step.source) if step.kind == "test" else None
            if call:
                importlib.import_module(call.module)
        session = KernelSession(scratch, private, deny=list(deny) + [str(private)], memory_mb=limits.memory_mb,
                                file_mb=limits.file_mb, sandbox=limits.sandbox)
        with session:
            stopped = ""
            for step in steps:
                if step.kind != "test":
                    if stopped:
                        continue
                    run = session.run(step.source, _budget(limits, total_deadline))
                    stopped = stopped or _stop_reason(run, total_deadline, problems, step)
                    continue
                if stopped:
                    results.append(ExerciseResult(step.grade_id, 0.0, step.points, "not run", stopped))
                    continue
                run = session.run(step.source, _budget(limits, total_deadline))
                result = _score(session, step, run, seed, limits, total_deadline)
                results.append(result)
                stopped = _stop_reason(run, total_deadline, problems, step)
            if stopped:
                status = CRASHED if session.dead and not any("time limit" in p for p in problems) else TIMEOUT
    finally:
        remove_tree(scratch)
        remove_tree(private)
    if status == GRADED and results and all(r.status == "not attempted" for r in results):
        status = NOT_ATTEMPTED
    return results, problems, status


def _budget(limits: Limits, total_deadline: float) -> float:
    return max(0.0, min(limits.cell_timeout, total_deadline - time.monotonic()))


def _stop_reason(run, total_deadline, problems, step) -> str:
    where = f"cell {step.grade_id!r}" if step.grade_id else "a cell"
    if run.truncated:
        problems.append(f"{where} printed {run.output_chars:,} characters; only the first part was kept")
    if run.status == "dead":
        problems.append(f"the kernel stopped while {where} ran (exit, crash or memory limit)")
        return "not run: the kernel stopped earlier"
    if run.status == "stuck":
        problems.append(f"{where} ran past the time limit and did not stop when interrupted")
        return "not run: the kernel was stopped after an earlier cell ran past the time limit"
    if run.status == "timeout":
        problems.append(f"{where} ran past the time limit and was interrupted")
    if time.monotonic() >= total_deadline:
        problems.append("the notebook ran past the total time limit")
        return "not run: the notebook ran past the total time limit"
    if run.status == "error" and run.ename == "MemoryError":
        problems.append(f"{where} ran out of memory (limit reached)")
    return ""


def _score(session, step: Step, run, seed: int, limits: Limits, total_deadline: float) -> ExerciseResult:
    output = run.text.strip()
    if run.status in ("timeout", "stuck", "dead"):
        status = "kernel died" if run.status == "dead" else "time limit"
        return ExerciseResult(step.grade_id, 0.0, step.points, status,
                              run.evalue or "the test did not finish within the time limit", output)
    call = parse_check_call(step.source)
    verdict = None
    if call is not None:
        deadline = min(time.monotonic() + limits.cell_timeout, total_deadline)
        try:
            verdict = recheck(session, call, seed, deadline)
        except Exception as err:  # a broken check is the instructor's problem: say so
            return ExerciseResult(step.grade_id, 0.0, step.points, "error",
                                  f"the grader could not re-run {call.function}: {type(err).__name__}: {err}", output)
    ran_ok = run.status == "ok"
    if verdict is not None:
        passed = ran_ok and verdict.passed
        status = "passed" if passed else verdict.status
        message = verdict.message
        if ran_ok and not verdict.passed:
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
    exercises, run_problems, status = execute(steps, limits=limits, deny=deny, seed=seed, scratch_base=scratch_base)
    result.exercises, result.status = exercises, status
    result.problems = notes + problems + run_problems
    result.total = sum(e.points for e in exercises)
    result.seconds = time.monotonic() - start
    return result


def validate(path, *, limits: Limits | None = None, seed: int | None = None, verbose: bool = True) -> NotebookResult:
    """What ``coursekit validate`` does: grade a student's notebook against itself.

    Test cells are checked against the checksums stored at release (an edited
    one is reported; the grader would restore the original), and each
    exercise is scored as the grader would, without the hidden tests."""
    path = Path(path)
    limits = limits or Limits()
    start = time.monotonic()
    result = NotebookResult("you", path.name, GRADED)
    try:
        nb, notes = load_submission(path)
    except InvalidSubmission as err:
        result.status, result.problems = INVALID, [str(err)]
        return _print_validation(result, verbose)
    problems = list(notes)
    steps = []
    for index, cell in enumerate(nb.cells):
        meta = N.nbg(cell)
        if N.is_locked(cell) and meta.get("checksum") and N.compute_checksum(cell) != meta["checksum"]:
            problems.append(f"cell {index} ({N.grade_id(cell)!r}) is locked but was changed; the grader will "
                            "restore the original, so your change will not count")
        if cell.cell_type != "code":
            continue
        kind = "test" if N.is_grade(cell) else ("answer" if N.is_solution(cell) else "code")
        steps.append(Step(kind, N.cell_source(cell), N.grade_id(cell), N.points(cell) if N.is_grade(cell) else 0))
    result.max_total = sum(s.points for s in steps if s.kind == "test")
    exercises, run_problems, status = execute(steps, limits=limits, seed=seed)
    result.exercises, result.status, result.problems = exercises, status, problems + run_problems
    result.total = sum(e.points for e in exercises)
    result.seconds = time.monotonic() - start
    return _print_validation(result, verbose)


def _print_validation(result: NotebookResult, verbose: bool) -> NotebookResult:
    if not verbose:
        return result
    print(f"{result.notebook}: {result.status}")
    for problem in result.problems:
        print(f"  ! {problem}")
    for e in result.exercises:
        first = (e.message or "").strip().splitlines()
        print(f"  {e.grade_id:<32} {e.points:g}/{e.max_points:g}  {e.status}" + (f": {first[0]}" if first else ""))
    if result.status != INVALID:
        print(f"  total {result.total:g}/{result.max_total:g} (hidden tests may still lower this)")
    return result

