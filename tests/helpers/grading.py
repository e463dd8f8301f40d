"""A small source notebook for the grader's tests: two exercises (the PLA update, a function
``double``), a written answer, their checks; and its released version with given answers."""
from __future__ import annotations

import nbformat

from coursekit.grading import notebook as N
from coursekit.grading import release_notebook


def nbmeta(grade_id, *, solution=False, grade=False, locked=False, points=None):
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


CHECK = """result = checks.perceptron.check_pla_update(pla_update)
### BEGIN HIDDEN TESTS
assert result.passed, result.message
### END HIDDEN TESTS"""

PLA_ANSWER = '''def pla_update(w, x, y):
    """Return the PLA update of w for the mistake (x, y): w + y x."""
    ### BEGIN SOLUTION
    return w + y * x
    ### END SOLUTION'''

DOUBLE_ANSWER = '''def double(x):
    """Return 2 * x."""
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION'''

DOUBLE_TEST = """try:
    print("double(3) =", double(3))
except NotImplementedError:
    print("not attempted yet")
### BEGIN HIDDEN TESTS
assert double(3) == 6 and double(-4) == -8
### END HIDDEN TESTS"""


WHY_ANSWER = """Why does the PLA update move w towards a misclassified point?
### BEGIN SOLUTION
Because y w.x grows by |x|^2.
### END SOLUTION"""


def source_notebook():
    v4 = nbformat.v4
    cells = [
        v4.new_code_cell("import numpy as np\nfrom coursekit import checks\nimport coursekit.checks.perceptron\n"
                         "from coursekit import perceptron as P"),
        v4.new_markdown_cell("## Exercise 1: the PLA update"),
        v4.new_code_cell(PLA_ANSWER, metadata=nbmeta("pla_update", solution=True)),
        v4.new_code_cell(CHECK, metadata=nbmeta("check_pla_update", grade=True, locked=True, points=2)),
        v4.new_code_cell("w_demo = P.pla_update(np.zeros(3), np.ones(3), 1)\nprint('demo:', w_demo)",
                         metadata=nbmeta("demo", locked=True)),
        v4.new_code_cell(DOUBLE_ANSWER, metadata=nbmeta("double", solution=True)),
        v4.new_code_cell(DOUBLE_TEST, metadata=nbmeta("check_double", grade=True, locked=True, points=1)),
        v4.new_markdown_cell(WHY_ANSWER, metadata=nbmeta("why", solution=True)),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(N.KERNELSPEC)
    return nb


def cell_by_id(nb, gid):
    return next(c for c in nb.cells if N.grade_id(c) == gid)


def with_answers(pla=None, double=None, prefix_pla="", why=None):
    """The released notebook with the given answer cell sources (None: left as released)."""
    nb = release_notebook(source_notebook())
    if pla is not None:
        cell_by_id(nb, "pla_update").source = prefix_pla + pla
    if double is not None:
        cell_by_id(nb, "double").source = double
    if why is not None:
        cell_by_id(nb, "why").source = why
    return nb


CORRECT_PLA = "def pla_update(w, x, y):\n    return w + y * x\n"
WRONG_PLA = "def pla_update(w, x, y):\n    return w - y * x\n"
CORRECT_DOUBLE = "def double(x):\n    return 2 * x\n"
