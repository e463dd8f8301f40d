"""coursekit grade / validate: every way a submission can go, each with its expected score and status.

The whole class below is graded in one `grade()` call with -j 2 (one fixture),
then each test reads its student's row; a small synthetic notebook (NumPy and
coursekit.checks.perceptron only) keeps this fast.
"""
import csv
import json
import textwrap
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursekit import perceptron as P
from coursekit.checks import perceptron as CP
from coursekit.grading import Limits, grade, release_notebook, validate
from coursekit.grading.grader import load_submission, parse_check_call, InvalidSubmission
from coursekit.grading import notebook as N

pytestmark = pytest.mark.slow


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
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(N.KERNELSPEC)
    return nb


def cell_by_id(nb, gid):
    return next(c for c in nb.cells if N.grade_id(c) == gid)


def with_answers(pla=None, double=None, prefix_pla=""):
    """The released notebook with the given answer cell sources (None: left as released)."""
    nb = release_notebook(source_notebook())
    if pla is not None:
        cell_by_id(nb, "pla_update").source = prefix_pla + pla
    if double is not None:
        cell_by_id(nb, "double").source = double
    return nb


CORRECT_PLA = "def pla_update(w, x, y):\n    return w + y * x\n"
WRONG_PLA = "def pla_update(w, x, y):\n    return w - y * x\n"
CORRECT_DOUBLE = "def double(x):\n    return 2 * x\n"


def hard_coded_pla():
    """A lookup table of the visible (seed 0) test inputs only: zeros anywhere else."""
    table = []

    def record(w, x, y):
        table.append((np.asarray(w).tolist(), np.asarray(x).tolist(), float(y)))
        return P.pla_update(w, x, y)

    assert CP.check_pla_update(record, verbose=False).passed
    return textwrap.dedent(f"""
        import numpy as np
        _TABLE = {table!r}
        def pla_update(w, x, y):
            for tw, tx, ty in _TABLE:
                if np.shape(tw) == np.shape(w) and np.shape(tx) == np.shape(x) and \\
                        np.allclose(tw, w) and np.allclose(tx, x) and ty == float(y):
                    return np.asarray(tw) + ty * np.asarray(tx)
            return np.zeros_like(np.asarray(w, dtype=float))
        """)


def build_class(root: Path, source_path: Path, out: Path) -> dict:
    """Write one submission per case; returns {student: extra info}."""
    subs = root / "submitted"
    subs.mkdir()

    def save(student, nb):
        nbformat.write(nb, str(subs / f"{student}.ipynb"))

    save("correct", with_answers(CORRECT_PLA, CORRECT_DOUBLE))
    save("untouched", release_notebook(source_notebook()))
    save("wrong", with_answers(WRONG_PLA, CORRECT_DOUBLE))

    nb = with_answers(WRONG_PLA, CORRECT_DOUBLE)
    cell_by_id(nb, "check_pla_update").source = "result = 'all good'\nprint('passed')"
    save("edited_test", nb)

    nb = with_answers(WRONG_PLA, CORRECT_DOUBLE)
    nb.cells = [c for c in nb.cells if N.grade_id(c) != "check_pla_update"]
    save("deleted_test", nb)

    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    test = cell_by_id(nb, "check_pla_update")
    nb.cells.remove(test)
    nb.cells.insert(1, test)
    save("moved_test", nb)

    nb = with_answers(WRONG_PLA, CORRECT_DOUBLE)
    i = nb.cells.index(cell_by_id(nb, "check_pla_update"))
    md = nbformat.v4.new_markdown_cell(nb.cells[i].source, metadata=nb.cells[i].metadata)
    nb.cells[i] = md
    save("markdown_test", nb)

    nb = with_answers(CORRECT_PLA, CORRECT_DOUBLE)
    cell_by_id(nb, "check_pla_update").metadata.nbgrader["points"] = 100
    cell_by_id(nb, "check_double").metadata.nbgrader["grade_id"] = "my_bonus"
    save("metadata_changed", nb)

    patch = textwrap.dedent("""
        import numpy as np, coursekit.checks.core as core
        from coursekit import checks
        import coursekit.checks.perceptron
        np.allclose = lambda *a, **k: True
        core.compare_values = lambda *a, **k: None
        class _Pass:
            passed, status, message, points = True, "passed", "passed", 2
        checks.perceptron.check_pla_update = lambda fn, **k: _Pass()
        """)
    save("patched_checks", with_answers(WRONG_PLA, CORRECT_DOUBLE, prefix_pla=patch))

    silence = textwrap.dedent("""
        def _swallow(lines):
            body = "".join("    " + line for line in lines) or "    pass\\n"
            return ["try:\\n", body, "\\nexcept BaseException:\\n", "    pass\\n"]
        get_ipython().input_transformers_post.append(_swallow)
        get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)
        """)
    save("silenced_errors", with_answers(WRONG_PLA, CORRECT_DOUBLE, prefix_pla=silence))

    save("hard_coded", with_answers(hard_coded_pla(), CORRECT_DOUBLE))
    save("endless_loop", with_answers("def pla_update(w, x, y):\n    while True:\n        pass\n", CORRECT_DOUBLE))
    save("stubborn_loop", with_answers(
        "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass\n",
        CORRECT_DOUBLE))
    save("memory_hog", with_answers(
        "import numpy as np\ndef pla_update(w, x, y):\n    hog = []\n    while True:\n        hog.append(np.empty(2**25))\n",
        CORRECT_DOUBLE))
    save("huge_output", with_answers(CORRECT_PLA + "print('x' * 30_000_000)\n", CORRECT_DOUBLE))
    save("exits_kernel", with_answers(CORRECT_PLA, "import os\nos._exit(0)\n"))
    save("crashes_kernel", with_answers(CORRECT_PLA, "import faulthandler\nfaulthandler._sigsegv()\n"))

    (subs / "not_json.ipynb").write_text("this is not JSON {")
    (subs / "not_notebook.ipynb").write_text(json.dumps({"name": "a JSON file", "cells": 3}))
    (subs / "empty_file.ipynb").write_text("")
    (subs / "empty_notebook.ipynb").write_text(json.dumps(
        {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    old = nbformat.convert(with_answers(CORRECT_PLA, CORRECT_DOUBLE), 3)
    (subs / "old_format.ipynb").write_text(nbformat.writes(old, version=3))
    other = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def softmax(z):\n    return z\n", metadata=nbmeta("softmax", solution=True)),
        nbformat.v4.new_code_cell("assert True", metadata=nbmeta("check_softmax", grade=True, locked=True, points=3))])
    nbformat.write(other, str(subs / "other_unit.ipynb"))

    # escape attempts: read the instructor's notebook (absolute and relative), write into --out and /tmp
    marker = root / "escaped.txt"
    escape = textwrap.dedent(f"""
        import os
        attempts = {{}}
        for label, path in [("absolute", {str(source_path)!r}),
                            ("relative", os.path.relpath({str(source_path)!r})),
                            ("listing", {str(source_path.parent)!r})]:
            try:
                attempts[label] = os.listdir(path) if label == "listing" else open(path).read()[:20]
            except Exception as err:
                attempts[label] = type(err).__name__
        for target in [{str(out / "grades.csv")!r}, {str(out / "sentinel.txt")!r}, {str(marker)!r}]:
            try:
                with open(target, "w") as f:
                    f.write("overwritten by a submission")
                attempts[target] = "written"
            except Exception as err:
                attempts[target] = type(err).__name__
        print(attempts)
        assert all(v != "written" and not str(v).startswith("{{") for v in attempts.values()), attempts
        """)
    save("escape_attempt", with_answers(CORRECT_PLA, CORRECT_DOUBLE + escape))
    return {"marker": marker}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    source_dir = root / "source"
    source_dir.mkdir()
    source_path = source_dir / "synth.ipynb"
    nbformat.write(source_notebook(), str(source_path))
    source_before = source_path.read_bytes()
    out = root / "out"
    out.mkdir()
    (out / "sentinel.txt").write_text("instructor's file")
    info = build_class(root, source_path, out)
    # the source notebook itself, handed in as a submission
    (root / "submitted" / "instructor.ipynb").write_bytes(source_before)
    limits = Limits(cell_timeout=4, total_timeout=60, memory_mb=1024)
    results = grade(source_dir, sorted((root / "submitted").iterdir()), out, jobs=2, limits=limits, seed=12345,
                    verbose=False)
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    return {"results": {r.student: r for r in results}, "rows": rows, "out": out, "root": root,
            "source": source_path, "source_before": source_before, **info}


def result(graded, student):
    return graded["results"][student]


def points(graded, student):
    r = result(graded, student)
    return {e.grade_id: e.points for e in r.exercises}


def feedback(graded, student):
    return (graded["out"] / "feedback" / f"{student}.html").read_text()


# ------------------------------------------------------------- scores ----

def test_correct_answers_get_full_points(graded):
    assert points(graded, "correct") == {"check_pla_update": 2, "check_double": 1}
    assert result(graded, "correct").status == "graded"
    assert graded["rows"]["correct"]["total"] == "3" and graded["rows"]["correct"]["max"] == "3"


def test_source_notebook_graded_as_a_submission_scores_full_marks(graded):
    assert result(graded, "instructor").total == 3


def test_released_version_untouched_is_not_attempted(graded):
    r = result(graded, "untouched")
    assert r.total == 0 and r.status == "not attempted"
    assert {e.status for e in r.exercises} == {"not attempted"}
    assert graded["rows"]["untouched"]["status"] == "not attempted"


def test_wrong_answer_gets_zero_with_the_checks_message(graded):
    assert points(graded, "wrong") == {"check_pla_update": 0, "check_double": 1}
    ex = result(graded, "wrong").exercises[0]
    assert ex.status == "wrong" and "Smallest failing input" in ex.message
    assert "Smallest failing input" in feedback(graded, "wrong")


@pytest.mark.parametrize("student, words", [("edited_test", "was edited"), ("deleted_test", "was deleted"),
                                            ("markdown_test", "turned into markdown")])
def test_tampered_test_cell_is_restored_and_reported(graded, student, words):
    r = result(graded, student)
    assert points(graded, student) == {"check_pla_update": 0, "check_double": 1}
    assert any(words in p and "restored" in p for p in r.problems), r.problems
    assert words in graded["rows"][student]["problems"]
    assert words in feedback(graded, student)


def test_moved_test_cell_runs_in_its_place(graded):
    r = result(graded, "moved_test")
    assert r.total == 3
    assert any("moved" in p for p in r.problems)


def test_changed_metadata_is_restored_from_the_source(graded):
    r = result(graded, "metadata_changed")
    assert points(graded, "metadata_changed") == {"check_pla_update": 2, "check_double": 1}
    assert r.max_total == 3
    assert any("metadata changed (points)" in p for p in r.problems)
    assert any("'check_double'" in p and "deleted" in p for p in r.problems)


@pytest.mark.parametrize("student", ["patched_checks", "silenced_errors", "hard_coded"])
def test_forged_passes_earn_nothing(graded, student):
    ex = result(graded, student).exercises[0]
    assert ex.grade_id == "check_pla_update" and ex.points == 0 and ex.status == "wrong", ex
    assert points(graded, student)["check_double"] == 1


def test_forged_passes_did_pass_inside_the_kernel(graded):
    """The notebook's own test cell was fooled; only the grader's re-run caught it."""
    for student in ["patched_checks", "hard_coded"]:
        ex = result(graded, student).exercises[0]
        assert "grader's own run" in ex.message, ex.message


def test_endless_loop_in_a_function_costs_only_that_exercise(graded):
    ex = {e.grade_id: e for e in result(graded, "endless_loop").exercises}
    assert ex["check_pla_update"].points == 0 and ex["check_pla_update"].status == "time limit"
    assert ex["check_double"].points == 1


def test_loop_that_ignores_interrupts_is_killed(graded):
    r = result(graded, "stubborn_loop")
    assert r.total == 0 and r.status == "time limit"
    assert {e.status for e in r.exercises} == {"not run"}


def test_memory_growth_hits_the_limit(graded):
    ex = {e.grade_id: e for e in result(graded, "memory_hog").exercises}
    assert ex["check_pla_update"].points == 0 and "MemoryError" in ex["check_pla_update"].message
    assert ex["check_double"].points == 1


def test_huge_output_is_capped(graded):
    r = result(graded, "huge_output")
    assert r.total == 3
    assert any("30,0" in p and "characters" in p for p in r.problems), r.problems
    assert (graded["out"] / "feedback" / "huge_output.html").stat().st_size < 200_000


@pytest.mark.parametrize("student", ["exits_kernel", "crashes_kernel"])
def test_kernel_exit_or_crash(graded, student):
    r = result(graded, student)
    assert r.status == "kernel died"
    assert points(graded, student) == {"check_pla_update": 2, "check_double": 0}


@pytest.mark.parametrize("student, words", [
    ("not_json", "not valid JSON"), ("not_notebook", "not a notebook"), ("empty_file", "empty"),
    ("empty_notebook", "no cells"), ("other_unit", "another unit")])
def test_bad_files_are_invalid(graded, student, words):
    r = result(graded, student)
    assert r.status == "invalid" and r.total == 0
    assert words in r.problems[0]
    assert graded["rows"][student]["status"] == "invalid"


def test_old_nbformat_is_converted_and_graded(graded):
    r = result(graded, "old_format")
    assert r.total == 3 and any("nbformat 3" in p for p in r.problems)


def test_escape_attempts_fail_and_touch_nothing(graded):
    assert result(graded, "escape_attempt").total == 3  # the attempts were all refused (the assert held)
    assert graded["source"].read_bytes() == graded["source_before"]
    assert (graded["out"] / "sentinel.txt").read_text() == "instructor's file"
    assert not graded["marker"].exists()
    assert "overwritten" not in (graded["out"] / "grades.csv").read_text()


def test_reports(graded):
    data = json.loads((graded["out"] / "grades.json").read_text())
    assert data["seed"] == 12345
    assert len(data["results"]) == len(graded["results"])
    header = next(csv.reader(open(graded["out"] / "grades.csv")))
    assert header[:2] == ["student", "notebook"] and "check_pla_update" in header and "check_double" in header
    assert header[-4:] == ["total", "max", "status", "problems"]
    for student in graded["results"]:
        page = feedback(graded, student)
        assert page.startswith("<!doctype html>") and student in page


# -------------------------------------------------------------- units ----

def test_parse_check_call():
    call = parse_check_call(CHECK)
    assert (call.module, call.function, call.args) == ("coursekit.checks.perceptron", "check_pla_update",
                                                       [("name", "pla_update")])
    assert parse_check_call(DOUBLE_TEST) is None


def test_load_submission_refuses_a_directory(tmp_path):
    with pytest.raises(InvalidSubmission):
        load_submission(tmp_path)


def test_validate_reports_scores_and_edited_locked_cells(tmp_path, capsys):
    nb = with_answers(WRONG_PLA, CORRECT_DOUBLE)
    cell_by_id(nb, "check_double").source = "print('I changed this')"
    path = tmp_path / "mine.ipynb"
    nbformat.write(nb, str(path))
    r = validate(path, limits=Limits(cell_timeout=10, total_timeout=60, memory_mb=1024), seed=3)
    out = capsys.readouterr().out
    assert {e.grade_id: e.points for e in r.exercises} == {"check_pla_update": 0, "check_double": 1}
    assert "check_pla_update" in out and "0/2" in out and "wrong" in out
    assert "'check_double'" in out and "locked but was changed" in out
