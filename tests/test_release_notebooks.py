"""Every workbook notebook: its student version hides the solutions, runs top to
bottom with every check saying "not attempted yet", and the source notebook
handed in as a submission scores full marks.

Issue #2's "the student version of unit 02 runs top to bottom without error and
its checks say 'not attempted yet'" is test_student_version_runs[02_perceptron].
"""
import ast
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from coursekit.grading import Limits, grade, release_notebook
from coursekit.grading import notebook as N

pytestmark = pytest.mark.slow
NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def region_lines(source: str) -> set[str]:
    """The non-blank lines inside solution / hidden-test regions (minus lines also outside them)."""
    inside, outside, depth = set(), set(), 0
    for line in source.split("\n"):
        text = line.strip()
        if N.is_marker(line, N.BEGIN_SOLUTION) or N.is_marker(line, N.BEGIN_HIDDEN):  # nbgrader's rule
            depth += 1
        elif N.is_marker(line, N.END_SOLUTION) or N.is_marker(line, N.END_HIDDEN):
            depth -= 1
        elif text:
            (inside if depth else outside).add(text)
    return inside - outside


@pytest.fixture(scope="module", params=NOTEBOOKS, ids=IDS)
def released(request, tmp_path_factory):
    source = nbformat.read(str(request.param), as_version=4)
    student = release_notebook(source, request.param.name)
    path = tmp_path_factory.mktemp("release") / request.param.name
    nbformat.write(student, str(path))
    return source, student, path


def test_there_are_workbook_notebooks():
    assert NOTEBOOKS, "notebooks/*.ipynb not found"


def test_no_solution_text_and_no_hidden_tests(released):
    source, student, _ = released
    text = nbformat.writes(student)
    for marker in (N.BEGIN_SOLUTION, N.END_SOLUTION, N.BEGIN_HIDDEN, N.END_HIDDEN):
        assert marker not in text
    assert any(N.is_solution(c) for c in source.cells) and any(N.is_grade(c) for c in source.cells)
    for src, rel in zip(source.cells, student.cells):
        hidden = region_lines(N.cell_source(src))
        leaked = hidden & {line.strip() for line in N.cell_source(rel).split("\n")}
        assert not leaked, f"{N.grade_id(src)}: {leaked}"


def test_stubs_keep_signatures_and_docstrings(released):
    source, student, _ = released
    for src, rel in zip(source.cells, student.cells):
        if not (N.is_solution(src) and src.cell_type == "code"):
            continue
        ours = {f.name: f for f in ast.parse(N.cell_source(src)).body if isinstance(f, ast.FunctionDef)}
        theirs = {f.name: f for f in ast.parse(N.cell_source(rel)).body if isinstance(f, ast.FunctionDef)}
        assert ours and ours.keys() == theirs.keys()
        for name, fn in ours.items():
            assert ast.dump(fn.args) == ast.dump(theirs[name].args)
            assert ast.get_docstring(fn) and ast.get_docstring(fn) == ast.get_docstring(theirs[name])
            assert isinstance(theirs[name].body[-1], ast.Raise), f"{name}: the stub must raise NotImplementedError"


def run_all_in_browser(name: str) -> bool:
    """Whether a browser test runs all of this notebook's student version in JupyterLab
    (and checks the same things there): then that is its one run in `make test`."""
    from conftest import browser_missing, browser_tests_required

    if not browser_tests_required() and browser_missing():
        return False  # the browser tests are skipped here: run it below
    tests = Path(__file__).resolve().parent
    return any(f'"{name}"' in path.read_text() and "run_all_cells(" in path.read_text()
               for path in tests.glob("test_browser*.py"))


def test_student_version_runs(released):
    """Run All on the student version: no error anywhere, and every check says 'not attempted yet'."""
    _, _, path = released
    if run_all_in_browser(path.name):
        pytest.skip(f"the browser test runs all of {path.name}'s student version (and checks the same)")
    nb = nbformat.read(str(path), as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not [o for o in cell.outputs if o.output_type == "error"], cell.source
        if N.is_grade(cell):
            printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            assert "not attempted yet" in printed, (N.grade_id(cell), printed)


def test_source_notebooks_score_full_marks(tmp_path):
    folder = Path(NOTEBOOKS[0]).parent
    results = grade(folder, [folder], tmp_path / "out", jobs=2, verbose=False,
                    limits=Limits(cell_timeout=120, total_timeout=400, memory_mb=4096))
    assert len(results) == len(NOTEBOOKS)
    for r in results:
        failed = [e for e in r.exercises if e.status != "passed"]
        assert r.status == "graded" and not failed and r.total == r.max_total > 0, (r.notebook, r.problems, failed)
