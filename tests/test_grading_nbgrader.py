"""nbgrader itself on a workbook notebook (unit 00): generate_assignment, validate, autograde and
generate_feedback tell the truth, and score a correct, a wrong, an untouched and a
stderr-printing submission exactly as ``coursekit grade`` does.

The truth needs two things of the checks (coursekit.checks.core): under nbgrader
(NBGRADER_EXECUTION set) a check that did not pass fails its cell, and what the student's
function prints is captured (nbgrader scores a test cell that wrote to stderr 0).
"""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursekit.grading import Limits, grade
from coursekit.grading import notebook as N

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
UNIT = "00_getting_started.ipynb"
BIN = Path(sys.executable).parent

STDERR = '''
import sys as _sys, warnings as _warnings
_{name} = {name}
def {name}(*args, **kwargs):
    print("a note on stderr", file=_sys.stderr)
    _warnings.warn("and a warning")
    return _{name}(*args, **kwargs)
'''


def nbgrader(*args, cwd):
    if not (BIN / "nbgrader").exists():
        pytest.skip("nbgrader is not installed (it is a test dependency: make install)")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}  # it runs `alembic`
    return subprocess.run([str(BIN / "nbgrader"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def answers(released, kind: str, source):
    """The released notebook with every answer cell: the solution, a wrong one, as released, or the
    solution printing to stderr."""
    nb = nbformat.from_dict(released)
    solutions = {N.grade_id(c): N.cell_source(c) for c in source.cells if N.is_solution(c)}
    for cell in nb.cells:
        gid = N.grade_id(cell)
        if not (N.is_solution(cell) and cell.cell_type == "code"):
            continue
        solution = "\n".join(line for line in solutions[gid].split("\n")
                             if N.BEGIN_SOLUTION not in line and N.END_SOLUTION not in line)
        if kind == "correct":
            cell.source = solution
        elif kind == "wrong":
            cell.source = N.cell_source(cell).replace("raise NotImplementedError()", "return None")
        elif kind == "stderr":
            cell.source = solution + STDERR.format(name=N.defined_names(solution)[0])
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbgrader")
    (root / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(root)!r}\nc.CourseDirectory.course_id = 'workbook'\n"
        "c.ExecutePreprocessor.timeout = 300\n")
    (root / "source" / "ps1").mkdir(parents=True)
    (root / "source" / "ps1" / UNIT).write_bytes((REPO / "notebooks" / UNIT).read_bytes())
    made = nbgrader("generate_assignment", "ps1", "--force", cwd=root)
    assert made.returncode == 0, made.stderr[-3000:]
    source = nbformat.read(str(REPO / "notebooks" / UNIT), as_version=4)
    released = nbformat.read(str(root / "release" / "ps1" / UNIT), as_version=4)
    ours = root / "coursekit"
    ours.mkdir()
    for student in ("correct", "wrong", "untouched", "stderr"):
        nb = answers(released, student, source)
        folder = root / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(nb, str(folder / UNIT))
        nbformat.write(nb, str(ours / f"{student}.ipynb"))
    graded = nbgrader("autograde", "ps1", "--force", cwd=root)
    assert graded.returncode == 0, graded.stderr[-3000:]
    feedback = nbgrader("generate_feedback", "ps1", "--force", cwd=root)
    assert feedback.returncode == 0, feedback.stderr[-3000:]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        scores = {s: gb.find_submission("ps1", s).score for s in ("correct", "wrong", "untouched", "stderr")}
    results = grade(REPO / "notebooks" / UNIT, sorted(ours.iterdir()), root / "out", jobs=2, seed=5, verbose=False,
                    limits=Limits(cell_timeout=120, total_timeout=300, memory_mb=4096))
    return {"root": root, "nbgrader": scores, "coursekit": {r.student: r for r in results}}


def test_nbgrader_scores_equal_coursekit_grade(course):
    ours = {s: r.total for s, r in course["coursekit"].items()}
    assert course["nbgrader"] == ours, (course["nbgrader"], ours)
    full = course["coursekit"]["correct"].max_total
    assert ours == {"correct": full, "wrong": 0, "untouched": 0, "stderr": full}


def test_nbgrader_feedback_is_written(course):
    pages = list((course["root"] / "feedback").glob("*/ps1/*.html"))
    assert {p.parent.parent.name for p in pages} == {"correct", "wrong", "untouched", "stderr"}
    wrong = next(p for p in pages if p.parent.parent.name == "wrong").read_text()
    assert "CheckFailed" in wrong or "failed" in wrong


@pytest.mark.parametrize("student, passes", [("stderr", True), ("untouched", False), ("wrong", False)])
def test_nbgrader_validate_tells_the_truth(course, student, passes):
    """The untouched and the wrong one are the two that nbgrader's validate called a success before the
    checks failed their cells under nbgrader (the correct one is judged by autograde above; each validate
    runs the notebook)."""
    proc = nbgrader("validate", str(course["root"] / "submitted" / student / "ps1" / UNIT), cwd=course["root"])
    said = proc.stdout + proc.stderr
    assert ("Success! Your notebook passes all the tests." in said) == passes, said[-2000:]
    if not passes:
        assert "VALIDATION FAILED" in said and "CheckFailed" in said


def test_the_workbook_run_all_is_unchanged_without_nbgrader(tmp_path):
    """Without NBGRADER_EXECUTION a check never raises: an untouched notebook still runs to the end."""
    from coursekit.checks import perceptron as CP

    def not_yet(*args):
        raise NotImplementedError()

    env_before = os.environ.pop("NBGRADER_EXECUTION", None)
    try:
        assert CP.check_pla_update(not_yet, verbose=True).status == "not attempted"
    finally:
        if env_before is not None:
            os.environ["NBGRADER_EXECUTION"] = env_before
