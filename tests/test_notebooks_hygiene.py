"""Every notebook follows the workbook's conventions (the grader and the
student release depend on them).

* valid nbformat 4, named ``NN_slug.ipynb``, kernelspec python3;
* stored clean: no outputs, no execution counts, no saved widget state;
* the first code cell starts with ``%matplotlib inline`` (static figures are
  images stored in the notebook; only widgets use live canvases) and prints
  the device;
* every figure fits an output area 840 px wide: each size a cell gives
  (``figsize=``, ``set_size_inches``, ``rcParams["figure.figsize"]``,
  ``make_figure``, times ``dpi=`` where given) is at most 8.4 in at 100 dpi,
  read from the source without running it;
* nbgrader cells: grade_ids unique in the whole workbook; every grade cell has points; every
  solution cell (an exercise function) is followed by its check cell, in the
  exact shape the release and the grader rewrite;
* no later cell uses a student's function, so "Run All" on the student
  version (where that function raises NotImplementedError) reaches the end.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
NAME = re.compile(r"^(\d\d)_[a-z0-9]+(?:_[a-z0-9]+)*\.ipynb$")
DEVICE_LINE = re.compile(r"""^device = get_device\(\); print\(["']device:["'], device\)\s*$""", re.M)
HIDDEN_TESTS = ["### BEGIN HIDDEN TESTS", "assert result.passed, result.message", "### END HIDDEN TESTS"]


def load(path: Path):
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def nbgrader(cell) -> dict | None:
    return cell.get("metadata", {}).get("nbgrader")


def python_source(source: str) -> str:
    """Cell source with IPython magics and shell escapes blanked, for ``ast``."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


notebook = pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])


def test_the_workbook_has_notebooks():
    assert PATHS, f"no notebooks in {NOTEBOOKS}"


def test_notebook_names_are_numbered_and_unique():
    bad = [p.name for p in PATHS if not NAME.match(p.name)]
    assert not bad, f"notebook names must look like NN_slug.ipynb (lower case, digits, underscores): {bad}"
    numbers = [NAME.match(p.name).group(1) for p in PATHS]
    duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
    assert not duplicates, f"two notebooks share a unit number: {duplicates}"


@notebook
def test_valid_nbformat_4(path):
    nb = load(path)
    assert nb.nbformat == 4, f"{path.name}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)  # raises ValidationError naming the bad field


@notebook
def test_kernelspec(path):
    assert load(path).metadata.get("kernelspec") == KERNELSPEC


@notebook
def test_stored_without_outputs(path):
    nb = load(path)
    dirty = [(i, len(cell.outputs), cell.execution_count) for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{path.name}: cells stored with outputs or execution counts (cell, #outputs, count): {dirty}"
    assert "widgets" not in nb.metadata, (
        f"{path.name}: saved widget state in the notebook's metadata; clear it (Edit → Clear Outputs of All "
        "Cells, then delete metadata.widgets) before committing")


@notebook
def test_first_code_cell_sets_up_and_prints_the_device(path):
    cells = code_cells(load(path))
    assert cells, f"{path.name} has no code cells"
    first = cells[0].source
    assert first.splitlines()[0].strip() == "%matplotlib inline", (
        f"{path.name}: the first code cell must start with %matplotlib inline (static figures are images "
        "stored in the notebook; widgets make their own live canvases with coursekit.widgets.base.make_figure)")
    assert DEVICE_LINE.search(first), (
        f'{path.name}: the first code cell must contain: device = get_device(); print("device:", device)')


@notebook
def test_no_output_comparisons(path):
    # Outputs are stored cleared, so there is nothing for nbval to compare with.
    flagged = [i for i, cell in enumerate(load(path).cells) if "NBVAL_CHECK_OUTPUT" in cell.source]
    assert not flagged, f"{path.name}: cells {flagged} use # NBVAL_CHECK_OUTPUT"


@notebook
def test_grade_ids_unique_and_points_set(path):
    ids, problems = [], []
    for i, cell in enumerate(load(path).cells):
        meta = nbgrader(cell)
        if meta is None:
            continue
        grade_id = meta.get("grade_id")
        if not grade_id:
            problems.append(f"cell {i}: nbgrader metadata without grade_id")
            continue
        ids.append(grade_id)
        if meta.get("schema_version") != 3:
            problems.append(f"{grade_id}: schema_version {meta.get('schema_version')!r}, expected 3")
        if meta.get("grade"):
            points = meta.get("points")
            if not (isinstance(points, int) and not isinstance(points, bool) and points > 0):
                problems.append(f"{grade_id}: a grade cell needs a positive integer 'points', has {points!r}")
    duplicates = sorted({g for g in ids if ids.count(g) > 1})
    if duplicates:
        problems.append(f"grade_ids used twice: {duplicates}")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def exercises(nb):
    """(index, solution cell, function name) of every exercise in the notebook."""
    for i, cell in enumerate(nb.cells):
        meta = nbgrader(cell)
        if meta and meta.get("solution") and not meta.get("grade") and cell.cell_type == "code":
            yield i, cell, meta.get("grade_id")


def solution_problems(cell, fn: str) -> list[str]:
    problems = []
    meta = nbgrader(cell)
    if meta.get("locked") is not False or meta.get("task") is not False:
        problems.append(f"{fn}: a solution cell is unlocked and not a task (locked/task false)")
    tree = ast.parse(python_source(cell.source))
    defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
    if fn not in defined:
        problems.append(f"{fn}: the solution cell must define a function named after its grade_id; it defines {defined}")
    lines = cell.source.splitlines()
    begin = [k for k, line in enumerate(lines) if line.strip() == "### BEGIN SOLUTION"]
    end = [k for k, line in enumerate(lines) if line.strip() == "### END SOLUTION"]
    if len(begin) != 1 or len(end) != 1 or begin[0] > end[0]:
        problems.append(f"{fn}: needs exactly one ### BEGIN SOLUTION ... ### END SOLUTION region")
    elif not lines[begin[0]].startswith((" ", "\t")):
        # The release replaces the region with `raise NotImplementedError()`:
        # only inside the function body does that leave a definition that runs.
        problems.append(f"{fn}: the solution region must be inside the function body (indented)")
    return problems


def check_cell_problems(cell, fn: str) -> list[str]:
    meta = nbgrader(cell) or {}
    expected_id = f"check_{fn}"
    if cell.cell_type != "code" or not meta.get("grade") or meta.get("grade_id") != expected_id:
        return [f"{fn}: the cell after the solution must be its check cell (a graded code cell "
                f"with grade_id {expected_id!r}); found grade_id {meta.get('grade_id')!r}"]
    problems = []
    if meta.get("locked") is not True or meta.get("solution") is not False or meta.get("task") is not False:
        problems.append(f"{expected_id}: a check cell is locked, not a solution, not a task")
    lines = [line.rstrip() for line in cell.source.strip().splitlines()]
    call = re.compile(rf"^result = checks\.\w+\.check_\w+\({re.escape(fn)}[,)]")
    if not lines or not call.match(lines[0]):
        problems.append(f"{expected_id}: must start with `result = checks.<topic>.check_<name>({fn})`; "
                        f"starts with {lines[:1]}")
    if lines[1:] != HIDDEN_TESTS:
        problems.append(f"{expected_id}: after the check call comes exactly the hidden test block "
                        f"{HIDDEN_TESTS}; found {lines[1:]}")
    return problems


def test_grade_ids_unique_across_the_workbook():
    """grades.csv has one column per grade_id for a student's whole class: two units
    with the same grade_id would share a column and overwrite each other's points."""
    owners: dict[str, list[str]] = {}
    for path in PATHS:
        for cell in load(path).cells:
            grade_id = (nbgrader(cell) or {}).get("grade_id")
            if grade_id:
                owners.setdefault(grade_id, []).append(path.name)
    shared = {g: names for g, names in owners.items() if len(set(names)) > 1}
    assert not shared, f"grade_ids used by more than one notebook: {shared}"


@notebook
def test_each_solution_is_followed_by_its_check(path):
    nb = load(path)
    problems = []
    for i, cell, fn in exercises(nb):
        problems += solution_problems(cell, fn)
        if i + 1 >= len(nb.cells):
            problems.append(f"{fn}: the solution cell is the last cell; its check cell must follow it")
            continue
        problems += check_cell_problems(nb.cells[i + 1], fn)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@notebook
def test_every_check_cell_follows_a_solution(path):
    nb = load(path)
    orphans = []
    for i, cell in enumerate(nb.cells):
        meta = nbgrader(cell)
        if not (meta and meta.get("grade") and not meta.get("solution")):
            continue
        before = nbgrader(nb.cells[i - 1]) if i > 0 else None
        if not (before and before.get("solution") and f"check_{before.get('grade_id')}" == meta.get("grade_id")):
            orphans.append(meta.get("grade_id"))
    assert not orphans, f"{path.name}: check cells not right after their solution cell: {orphans}"


def names_used_and_bound(source: str) -> tuple[set[str], set[str]]:
    tree = ast.parse(python_source(source))
    used, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return used, bound


@notebook
def test_later_cells_never_use_a_students_function(path):
    # In the student version an exercise function raises NotImplementedError
    # (or returns a wrong answer); any later cell calling it would break "Run All".
    nb = load(path)
    problems = []
    for i, _cell, fn in exercises(nb):
        for j in range(i + 2, len(nb.cells)):  # i + 1 is its check cell, which must use it
            cell = nb.cells[j]
            if cell.cell_type != "code":
                continue
            used, bound = names_used_and_bound(cell.source)
            if fn in bound:
                break  # rebound (e.g. to the reference): from here on it is not the student's
            if fn in used:
                problems.append(f"code cell {j} uses {fn!r}, the student's exercise from cell {i}; "
                                "use the reference implementation from coursekit instead")
                break
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@notebook
def test_every_code_cell_is_python(path):
    # The grader and the release parse cells; a syntax error would only show
    # when a student runs the cell.
    bad = []
    for i, cell in enumerate(load(path).cells):
        if cell.cell_type == "code":
            try:
                ast.parse(python_source(cell.source))
            except SyntaxError as err:
                bad.append(f"cell {i}: {err}")
    assert not bad, f"{path.name}:\n" + "\n".join(bad)


# ---- every figure fits 840 px ------------------------------------------------------------------
MAX_WIDTH_PX = 840
DEFAULT_DPI = 100  # matplotlib's figure.dpi, which %matplotlib inline keeps


def _number(node):
    """The value of a number written in the source (with + - * / and parentheses), else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = _number(node.left), _number(node.right)
        if a is None or b is None or (isinstance(node.op, ast.Div) and b == 0):
            return None
        return {ast.Add: a + b, ast.Sub: a - b, ast.Mult: a * b, ast.Div: a / b if b else None}[type(node.op)]
    return None


def _first(node):
    """The first element of a (width, height) pair, or the node itself."""
    return node.elts[0] if isinstance(node, (ast.Tuple, ast.List)) and node.elts else node


def figure_widths(source: str) -> list[tuple[int, float | None, str]]:
    """Each figure size a cell sets: (line, width in px at its dpi or None if not written as a number, what)."""
    found = []
    for node in ast.walk(ast.parse(python_source(source))):
        size = dpi = None
        what = ""
        if isinstance(node, ast.Call):
            keywords = {k.arg: k.value for k in node.keywords if k.arg}
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            dpi = keywords.get("dpi")
            if "figsize" in keywords:
                size, what = _first(keywords["figsize"]), "figsize"
            elif name == "set_size_inches" and node.args:
                size, what = _first(node.args[0]), "set_size_inches"
            elif name == "make_figure":
                size, what = (node.args[0] if node.args else keywords.get("width")), "make_figure"
                if size is None:
                    continue  # its default width fits; make_figure checks the rest itself
        elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant)
                and t.slice.value == "figure.figsize" for t in node.targets):
            size, what = _first(node.value), 'rcParams["figure.figsize"]'
        if size is None:
            continue
        width, scale = _number(size), (DEFAULT_DPI if dpi is None else _number(dpi))
        found.append((node.lineno, None if width is None or scale is None else width * scale, what))
    return sorted(found, key=lambda item: item[0])


def test_figure_width_check_reads_sizes_and_dpi():
    widths = figure_widths("fig, ax = plt.subplots(1, 4, figsize=(12, 3))\n"
                           "fig = plt.figure(figsize=[4 * 2, 3], dpi=120)\n"
                           "fig.set_size_inches((8.4, 2))\n"
                           "plt.rcParams['figure.figsize'] = (9, 4)\n"
                           "fig = make_figure(8.2, 3.8)\n"
                           "fig = plt.figure(figsize=(w, 3))\n"
                           "%matplotlib inline\n")
    assert [(line, None if px is None else round(px), what) for line, px, what in widths] == [
        (1, 1200, "figsize"), (2, 960, "figsize"), (3, 840, "set_size_inches"),
        (4, 900, 'rcParams["figure.figsize"]'), (5, 820, "make_figure"), (6, None, "figsize")]


@notebook
def test_every_figure_fits_840_px(path):
    problems = []
    for i, cell in enumerate(load(path).cells):
        if cell.cell_type != "code":
            continue
        for line, px, what in figure_widths(cell.source):
            if px is None:
                problems.append(f"cell {i}, line {line}: write the {what} width (and dpi) as numbers, so that "
                                "this test can check it fits 840 px")
            elif px > MAX_WIDTH_PX + 1e-6:
                problems.append(f"cell {i}, line {line}: {what} makes a figure {px:.0f} px wide; the output area "
                                f"holds {MAX_WIDTH_PX} px (8.4 in at 100 dpi): wrap its panels into rows")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
