"""The `coursekit` command itself: release, validate and grade run as a
student or instructor runs them (a subprocess of the installed command), on
a tiny notebook: exit codes, what is printed, the files written."""
import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursekit.grading import notebook as N
from coursekit.grading import bwrap

pytestmark = pytest.mark.slow

COURSEKIT = Path(sys.executable).with_name("coursekit")
TEST = """print("double(3) =", double(3))
### BEGIN HIDDEN TESTS
assert double(3) == 6 and double(-4) == -8
### END HIDDEN TESTS"""


def meta(grade_id, **flags):
    m = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False}
    m.update(flags)
    return {"nbgrader": m}


def tiny_source(answer_source="    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"):
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("import time"),
        v4.new_code_cell('def double(x):\n    """Return 2 x."""\n' + answer_source, metadata=meta("double", solution=True)),
        v4.new_code_cell(TEST, metadata=meta("check_double", grade=True, locked=True, points=1)),
        v4.new_code_cell('def triple(x):\n    """Return 3 x."""\n    ### BEGIN SOLUTION\n    return 3 * x\n'
                         '    ### END SOLUTION', metadata=meta("triple", solution=True)),
        v4.new_code_cell("assert triple(2) == 6", metadata=meta("check_triple", grade=True, locked=True, points=2)),
    ])
    nb.metadata["kernelspec"] = dict(N.KERNELSPEC)
    return nb


def coursekit(*args, cwd=None, timeout=300):
    if not COURSEKIT.exists():
        pytest.skip(f"{COURSEKIT} not found: install the package (make install) to test the command")
    return subprocess.run([str(COURSEKIT), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    (root / "source").mkdir()
    nbformat.write(tiny_source(), str(root / "source" / "tiny.ipynb"))
    proc = coursekit("release", root / "source", "--out", root / "student")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"released {root / 'student' / 'tiny.ipynb'}"
    return root


def test_release_writes_the_student_version(released):
    student = nbformat.read(str(released / "student" / "tiny.ipynb"), as_version=4)
    text = nbformat.writes(student)
    assert "return 2 * x" not in text and "HIDDEN" not in text and "assert double(3)" not in text
    assert N.manifest(student) is not None


def test_release_refuses_a_broken_source_and_writes_nothing(tmp_path):
    (tmp_path / "source").mkdir()
    nbformat.write(tiny_source("    ### BEGIN SOLUTION\n    return 2 * x\n"), str(tmp_path / "source" / "tiny.ipynb"))
    proc = coursekit("release", tmp_path / "source", "--out", tmp_path / "student")
    assert proc.returncode == 1
    assert "tiny.ipynb, cell 1 (grade_id 'double'), line 3: `### BEGIN SOLUTION` is never closed" in proc.stderr
    assert not (tmp_path / "student").exists()


def test_validate_prints_each_exercise_and_the_sandbox(released, tmp_path):
    mine = tmp_path / "tiny.ipynb"
    shutil.copy(released / "student" / "tiny.ipynb", mine)
    nb = nbformat.read(str(mine), as_version=4)
    nb.cells[3].source = "def triple(x):\n    return 3 * x\n"
    nbformat.write(nb, str(mine))
    proc = coursekit("validate", mine, "--cell-timeout", 20, "--timeout", 60, "--memory", 1024)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "check_double" in out and "0/1  not attempted" in out
    assert "check_triple" in out and "2/2  passed" in out and "total 2/3" in out
    if bwrap.probe()[0]:
        assert "sandbox: bubblewrap" in out and "WARNING" not in out


def test_validate_refuses_a_file_that_is_not_a_notebook(tmp_path):
    (tmp_path / "mine.ipynb").write_text("not JSON")
    proc = coursekit("validate", tmp_path / "mine.ipynb")
    assert proc.returncode == 1 and "invalid" in proc.stdout and "not valid JSON" in proc.stdout


def test_grade_writes_the_reports_and_stops_a_slow_notebook(released, tmp_path):
    """`--timeout 6` stops the notebook whose cells together take longer, and only that one."""
    subs = tmp_path / "submitted"
    subs.mkdir()
    for student, double, triple in [("alice", "return 2 * x", "return 3 * x"),
                                    ("slow", "return 2 * x", "return 3 * x")]:
        nb = nbformat.read(str(released / "student" / "tiny.ipynb"), as_version=4)
        nb.cells[1].source = f"def double(x):\n    {double}\n"
        nb.cells[3].source = f"def triple(x):\n    {triple}\n"
        if student == "slow":  # 4 s per answer cell: under the cell limit, over the notebook's limit together
            nb.cells[1].source = "time.sleep(4)\n" + nb.cells[1].source
            nb.cells[3].source = "time.sleep(4)\n" + nb.cells[3].source
        nbformat.write(nb, str(subs / f"{student}.ipynb"))
    out = tmp_path / "grades"
    proc = coursekit("grade", "--source", released / "source", subs / "alice.ipynb", subs / "slow.ipynb",
                     "--out", out, "-j", 2, "--cell-timeout", 5, "--timeout", 6, "--memory", 1024, "--seed", 7)
    assert proc.returncode == 0, proc.stderr
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert rows["alice"]["total"] == "3" and rows["alice"]["status"] == "graded"
    assert rows["slow"]["status"] == "time limit" and "total time limit (6 s)" in rows["slow"]["problems"]
    assert rows["slow"]["check_double"] == "1" and rows["slow"]["check_triple"] == "0"
    data = json.loads((out / "grades.json").read_text())
    assert data["seed"] == 7 and len(data["results"]) == 2
    assert "total time limit" in (out / "feedback" / "slow.html").read_text()
    assert f"wrote {out / 'grades.csv'}" in proc.stdout and "sandbox: " in proc.stdout
    if bwrap.probe()[0]:
        assert data["sandbox"][0].startswith("bubblewrap") and "WARNING" not in proc.stderr


def test_grade_refuses_out_inside_a_submission(released, tmp_path):
    (tmp_path / "alice").mkdir()
    proc = coursekit("grade", "--source", released / "source", tmp_path / "alice", "--out", tmp_path / "alice" / "g")
    assert proc.returncode == 1 and "inside the submission" in proc.stderr


def test_the_command_is_the_installed_entry_point():
    if not COURSEKIT.exists():
        pytest.skip(f"{COURSEKIT} not found")
    assert os.access(COURSEKIT, os.X_OK)
    proc = coursekit("--help")
    assert proc.returncode == 0 and all(c in proc.stdout for c in ("release", "validate", "grade"))


def test_validate_prints_the_whole_message_of_a_wrong_answer(tmp_path):
    """Not only "failed 23 of 23 tests. Smallest failing input:": the input, expected vs got, the hint."""
    from helpers.grading import CORRECT_DOUBLE, WRONG_PLA, with_answers

    mine = tmp_path / "synth.ipynb"
    nbformat.write(with_answers(WRONG_PLA, CORRECT_DOUBLE), str(mine))
    proc = coursekit("validate", mine, "--cell-timeout", 20, "--timeout", 60, "--memory", 1024)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if "check_pla_update" in line)
    assert "0/2  wrong" in lines[first] and "Smallest failing input" in lines[first]
    shown = "\n".join(lines[first + 1:first + 12])
    for words in ("w = ", "x = ", "y = ", "expected:", "got:", "Hint: the rule is w_{t+1} = w_t + y_n x_n"):
        assert words in shown, (words, shown)


def test_grade_offers_the_cluster_manual_and_late_options():
    proc = coursekit("grade", "--help")
    assert proc.returncode == 0
    for option in ("--scheduler", "--manual", "--deadline", "--late-penalty"):
        assert option in proc.stdout
