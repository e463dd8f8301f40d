"""nbgrader-style cells: metadata, markers, checksums, and the student version.

A source notebook marks its exercises the way nbgrader does:

* an *answer* (solution) cell has ``metadata.nbgrader.solution = true`` and
  its answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``;
* a *test* (grade) cell has ``grade = true``, ``locked = true`` and
  ``points``; lines between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS`` are kept by the grader and removed for students;
* any other cell may be ``locked`` (read-only teaching code).

:func:`release_notebook` makes the student version and refuses a source
notebook whose markers or metadata are inconsistent, naming the notebook,
cell and line.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import importlib
from dataclasses import dataclass
from pathlib import Path

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
CODE_STUB = ["# YOUR CODE HERE", "raise NotImplementedError()"]
TEXT_STUB = ["YOUR ANSWER HERE"]
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


class ReleaseError(ValueError):
    """A source notebook that cannot be released as it is; the message names
    the notebook, the cell and the line."""


# ----------------------------------------------------------- metadata ----

def nbg(cell) -> dict:
    """The cell's nbgrader metadata ({} for a plain cell)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    value = nbg(cell).get("grade_id")
    return value if isinstance(value, str) and value else None


def is_solution(cell) -> bool:
    return bool(nbg(cell).get("solution", False))


def is_grade(cell) -> bool:
    return bool(nbg(cell).get("grade", False))


def is_locked(cell) -> bool:
    """nbgrader's rule: an answer cell is never locked, a test cell always is."""
    if is_solution(cell):
        return False
    if is_grade(cell):
        return True
    return bool(nbg(cell).get("locked", False))


def points(cell) -> float:
    return float(nbg(cell).get("points", 0) or 0)


def compute_checksum(cell) -> str:
    """The checksum nbgrader stores for a cell (same recipe, so nbgrader's own
    tools accept notebooks released here): MD5 of the source, the cell type,
    the three flags, the grade_id and, for a test cell, its points."""
    md5 = hashlib.md5()
    md5.update(cell_source(cell).encode("utf-8"))
    md5.update(cell.get("cell_type", "").encode("utf-8"))
    md5.update(str(is_grade(cell)).encode("utf-8"))
    md5.update(str(is_solution(cell)).encode("utf-8"))
    md5.update(str(is_locked(cell)).encode("utf-8"))
    md5.update((grade_id(cell) or "").encode("utf-8"))
    if is_grade(cell):
        md5.update(str(points(cell)).encode("utf-8"))
    return md5.hexdigest()


def cell_source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def source_checksum(cell) -> str:
    """MD5 of a plain cell's type and source (plain cells carry no nbgrader checksum)."""
    return hashlib.md5((cell.get("cell_type", "") + "\0" + cell_source(cell).strip()).encode("utf-8")).hexdigest()


def defined_names(source: str) -> list[str]:
    """The functions and classes a cell defines at top level (how an answer
    cell whose metadata was lost is recognised)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


# ----------------------------------------------------------- manifest ----
# The student version records, in its notebook metadata, what the grader
# will run: every nbgrader cell and every plain code cell, in order. With it
# `coursekit validate` rebuilds the notebook the grader's way from the
# student's copy alone: it can tell added, changed and deleted cells apart
# and knows the full number of points.
MANIFEST_KEY = "coursekit"


def release_manifest(released) -> list[dict]:
    """The manifest of a released notebook: at release (see
    :func:`release_notebook`), and, for a student's copy that carries none
    (released by another tool, or its metadata removed), made from the copy
    itself, trusting each cell's stored nbgrader checksum and cell type."""
    entries = []
    for cell in released.cells:
        gid = grade_id(cell)
        if gid is None:
            if cell.get("cell_type") == "code":
                entries.append({"kind": "code", "checksum": source_checksum(cell)})
            continue
        meta = nbg(cell)
        entry = {"grade_id": gid, "cell_type": meta.get("cell_type", cell.get("cell_type"))}
        if is_solution(cell):
            entry.update(kind="answer", defines=defined_names(cell_source(cell)))
        else:
            entry.update(kind="test" if is_grade(cell) else "locked",
                         checksum=meta.get("checksum") or compute_checksum(cell))
            if is_grade(cell):
                entry["points"] = points(cell)
        entries.append(entry)
    return entries


def manifest(nb) -> list[dict] | None:
    """The manifest stored at release, or None (released elsewhere, or the metadata was removed)."""
    data = nb.get("metadata", {}).get(MANIFEST_KEY, {})
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list) or not all(isinstance(e, dict) and e.get("kind") for e in cells):
        return None
    return cells


# ------------------------------------------------------------ markers ----

@dataclass
class Region:
    begin: int  # line index of the BEGIN marker
    end: int  # line index of the END marker
    indent: str


def is_marker(line: str, marker: str) -> bool:
    """nbgrader's rule: a line *containing* the marker is the marker line
    (``### BEGIN HIDDEN TESTS  # grader`` hides the tests as nbgrader would)."""
    return marker in line


def _marker_regions(lines: list[str], begin: str, end: str, where: str) -> list[Region]:
    """The regions between ``begin`` and ``end`` markers; unbalanced or nested
    markers are a :class:`ReleaseError` naming the line."""
    regions, open_at = [], None
    for i, line in enumerate(lines):
        if is_marker(line, begin):  # checked first, as nbgrader does
            if open_at is not None:
                raise ReleaseError(f"{where}, line {i + 1}: `{begin}` inside the region opened at line "
                                   f"{open_at + 1}; close it with `{end}` first")
            open_at = i
        elif is_marker(line, end):
            if open_at is None:
                raise ReleaseError(f"{where}, line {i + 1}: `{end}` without a matching `{begin}`")
            indent = lines[open_at][: len(lines[open_at]) - len(lines[open_at].lstrip())]
            regions.append(Region(open_at, i, indent))
            open_at = None
    if open_at is not None:
        raise ReleaseError(f"{where}, line {open_at + 1}: `{begin}` is never closed by `{end}`")
    return regions


def stub_solution(source: str, cell_type: str = "code") -> str:
    """The answer cell as students get it: each solution region becomes the
    stub at the region's indentation (signature and docstring stay); an
    answer cell without markers becomes the stub entirely (as nbgrader does)."""
    lines = source.split("\n")
    stub = CODE_STUB if cell_type == "code" else TEXT_STUB
    regions = _marker_regions(lines, BEGIN_SOLUTION, END_SOLUTION, "cell")
    if not regions:
        return "\n".join(stub)
    out, last = [], 0
    for region in regions:
        out += lines[last:region.begin] + [region.indent + s for s in stub]
        last = region.end + 1
    return "\n".join(out + lines[last:])


def remove_hidden_tests(source: str) -> str:
    lines = source.split("\n")
    out, last = [], 0
    for region in _marker_regions(lines, BEGIN_HIDDEN, END_HIDDEN, "cell"):
        out += lines[last:region.begin]
        last = region.end + 1
    out += lines[last:]
    while out and not out[-1].strip():  # no dangling blank lines where the tests were
        out.pop()
    return "\n".join(out)


# --------------------------------------------------------- validation ----

def check_source(nb, name: str = "notebook") -> None:
    """Refuse a source notebook the grader could not handle safely.

    Raises :class:`ReleaseError` for: unbalanced or nested markers, duplicate
    grade_ids, an nbgrader cell without grade_id, a solution region in a
    locked cell or in a cell not marked as an answer, hidden tests outside a
    test cell, and a test cell without (numeric, non-negative) points.
    """
    seen: dict[str, int] = {}
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        gid = grade_id(cell)
        where_id = f"{where} (grade_id {gid!r})" if gid else where
        lines = cell_source(cell).split("\n")
        solutions = _marker_regions(lines, BEGIN_SOLUTION, END_SOLUTION, where_id)
        hidden = _marker_regions(lines, BEGIN_HIDDEN, END_HIDDEN, where_id)
        meta = nbg(cell)
        if meta:
            if gid is None:
                raise ReleaseError(f"{where}: nbgrader metadata without a grade_id")
            if gid in seen:
                raise ReleaseError(f"{where}: duplicate grade_id {gid!r} (also used by cell {seen[gid]})")
            seen[gid] = index
        if solutions:
            line = solutions[0].begin + 1
            if is_locked(cell):
                raise ReleaseError(f"{where_id}, line {line}: solution region inside a locked cell "
                                   "(students could not write their answer there)")
            if not is_solution(cell):
                raise ReleaseError(f"{where_id}, line {line}: solution region in a cell not marked as an "
                                   "answer cell (set metadata.nbgrader.solution = true)")
        if hidden and not is_grade(cell):
            raise ReleaseError(f"{where_id}, line {hidden[0].begin + 1}: hidden tests outside a test cell "
                               "(set metadata.nbgrader.grade = true and points)")
        if is_grade(cell):
            value = meta.get("points")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ReleaseError(f"{where_id}: test cell without points "
                                   f"(metadata.nbgrader.points = {value!r}; expected a number >= 0)")


# ------------------------------------------------------------ release ----

def quiz_verdicts(nb) -> bool:
    """The per-notebook option: ``"coursekit": {"quiz_verdicts": false}`` in the source notebook's
    metadata makes its graded quizzes give no verdict in the student version."""
    options = nb.get("metadata", {}).get(MANIFEST_KEY, {})
    return not (isinstance(options, dict) and options.get("quiz_verdicts") is False)


def record_only(source: str) -> str:
    """A quiz's visible check, ``result = checks.<topic>.check_x(answer_fn)``, as
    ``result = checks.record_answer(answer_fn, name="x")``: the answer is shown, not judged.
    Any other test cell is returned unchanged."""
    from .grader import parse_check_call  # the grader's reading of a check call

    call = parse_check_call(source)
    if call is None or not call.args or call.args[0][0] != "name":
        return source
    from ..checks import core

    check = getattr(importlib.import_module(call.module), call.function, None)
    if check is None or not core.is_quiz(check):
        return source
    tree = ast.parse(source)
    node = [n for n in tree.body if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)][-1]
    lines = source.split("\n")
    prefix = "coursekit.checks" if ast.unparse(node.value.func).startswith("coursekit.") else "checks"
    target = ast.unparse(node.targets[0])
    label = call.function[len("check_"):] if call.function.startswith("check_") else call.function
    line = f"{target} = {prefix}.record_answer({call.args[0][1]}, name={label!r})"
    return "\n".join(lines[:node.lineno - 1] + [line] + lines[node.end_lineno:])


def release_notebook(nb, name: str = "notebook"):
    """The student version of a source notebook (a new notebook; ``nb`` is unchanged)."""
    check_source(nb, name)
    out = copy.deepcopy(nb)
    verdicts = quiz_verdicts(nb)
    for cell in out.cells:
        source = cell_source(cell)
        if is_solution(cell):
            source = stub_solution(source, cell.cell_type)
        if is_grade(cell):
            source = remove_hidden_tests(source)
            if not verdicts and cell.cell_type == "code":
                source = record_only(source)
        cell.source = source
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("collapsed", None)
        if nbg(cell):
            cell.metadata.nbgrader["schema_version"] = 3
            if is_locked(cell):  # JupyterLab honours these: the cell cannot be edited or deleted
                cell.metadata["editable"] = False
                cell.metadata["deletable"] = False
            cell.metadata.nbgrader["checksum"] = compute_checksum(cell)
            cell.metadata.nbgrader["cell_type"] = cell.cell_type
    out.metadata["kernelspec"] = dict(KERNELSPEC)
    out.metadata[MANIFEST_KEY] = {"cells": release_manifest(out), **({} if verdicts else {"quiz_verdicts": False})}
    return out


def read_notebook(path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def source_notebooks(paths) -> list[Path]:
    """Every ``.ipynb`` named, or inside a folder named (sorted, checkpoints skipped)."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.glob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        elif p.suffix == ".ipynb" and p.is_file():
            found.append(p)
        else:
            raise ReleaseError(f"{p}: not a notebook (.ipynb) or a folder of notebooks")
    if not found:
        raise ReleaseError(f"no notebooks found in {', '.join(map(str, paths))}")
    return found


def release(sources, out_dir) -> list[Path]:
    """Write the student version of every source notebook into ``out_dir``.

    All notebooks are checked before anything is written, so a refused
    notebook leaves no half-released set behind.
    """
    paths = source_notebooks(sources)
    released = []
    for path in paths:
        try:
            nb = read_notebook(path)
        except Exception as err:
            raise ReleaseError(f"{path}: cannot be read as a notebook: {err}") from err
        released.append((path, release_notebook(nb, str(path))))
    out = Path(out_dir)
    if any(out.resolve() == p.parent.resolve() for p in paths):
        raise ReleaseError(f"--out {out} is the folder of the source notebooks: the release would "
                           "overwrite the solutions; choose another folder")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path, nb in released:
        target = out / path.name
        nbformat.write(nb, str(target))
        written.append(target)
    return written

