"""coursekit release: the student version, and the source notebooks it refuses."""
import hashlib
import json

import nbformat
import pytest

from coursekit.cli import main
from coursekit.grading import ReleaseError, compute_checksum, release, release_notebook
from coursekit.grading import notebook as N


def meta(grade_id, **flags):
    m = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3, "solution": False, "task": False}
    m.update(flags)
    return {"nbgrader": m}


ANSWER = '''def pla_update(w, x, y):
    """Return w + y x."""
    ### BEGIN SOLUTION
    secret_step = y * x
    return w + secret_step
    ### END SOLUTION'''
TEST = """result = checks.perceptron.check_pla_update(pla_update)
### BEGIN HIDDEN TESTS
assert result.passed, result.message
### END HIDDEN TESTS"""


def make_nb(*cells):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(N.KERNELSPEC)
    return nb


def good_nb():
    answer = nbformat.v4.new_code_cell(ANSWER, metadata=meta("pla_update", solution=True))
    answer.outputs = [nbformat.v4.new_output("stream", text="left over\n")]
    answer.execution_count = 7
    return make_nb(
        nbformat.v4.new_code_cell("from coursekit import checks\nimport coursekit.checks.perceptron"),
        answer,
        nbformat.v4.new_code_cell(TEST, metadata=meta("check_pla_update", grade=True, locked=True, points=2)),
        nbformat.v4.new_markdown_cell("Why?\n### BEGIN SOLUTION\nBecause the secret reason.\n### END SOLUTION",
                                      metadata=meta("why", solution=True)),
        nbformat.v4.new_code_cell("print('locked demo')", metadata=meta("demo", locked=True)),
    )


def test_student_version():
    source = good_nb()
    before = nbformat.writes(source)
    student = release_notebook(source)
    assert nbformat.writes(source) == before  # the source is not modified
    answer, test, why, demo = student.cells[1:]
    assert answer.source == ('def pla_update(w, x, y):\n    """Return w + y x."""\n'
                             "    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert "secret" not in nbformat.writes(student) and "HIDDEN" not in nbformat.writes(student)
    assert test.source == "result = checks.perceptron.check_pla_update(pla_update)"
    assert why.source == "Why?\nYOUR ANSWER HERE"
    assert answer.outputs == [] and answer.execution_count is None
    for cell in (answer, test, why, demo):
        assert cell.metadata.nbgrader["checksum"] == compute_checksum(cell)
        assert cell.metadata.nbgrader["cell_type"] == cell.cell_type
    assert test.metadata["editable"] is False and test.metadata["deletable"] is False
    assert demo.metadata["editable"] is False and "editable" not in answer.metadata
    nbformat.validate(student)


def test_the_stub_is_valid_python_and_not_attempted():
    namespace = {}
    exec(release_notebook(good_nb()).cells[1].source, namespace)
    with pytest.raises(NotImplementedError):
        namespace["pla_update"](1, 2, 3)


def test_checksum_follows_nbgraders_recipe():
    cell = release_notebook(good_nb()).cells[2]
    md5 = hashlib.md5()
    for part in [cell.source, "code", "True", "False", "True", "check_pla_update", "2.0"]:
        md5.update(part.encode())
    assert compute_checksum(cell) == md5.hexdigest()
    cell.source += "\nprint('changed')"
    assert compute_checksum(cell) != md5.hexdigest()


def write(tmp_path, nb, name="unit.ipynb"):
    path = tmp_path / "src" / name
    path.parent.mkdir(exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def refused(tmp_path, nb, capsys):
    path = write(tmp_path, nb)
    out = tmp_path / "out"
    assert main(["release", str(path), "--out", str(out)]) == 1
    assert not out.exists()  # nothing half-released
    err = capsys.readouterr().err
    assert str(path) in err
    return err


@pytest.mark.parametrize("source, words", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "cell 1 (grade_id 'f'), line 2: `### BEGIN SOLUTION` is never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", "cell 1 (grade_id 'f'), line 3: `### END SOLUTION` without a matching"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "line 2: `### BEGIN SOLUTION` inside the region opened at line 1"),
])
def test_refuses_unbalanced_markers(tmp_path, capsys, source, words):
    nb = good_nb()
    nb.cells[1] = nbformat.v4.new_code_cell(source, metadata=meta("f", solution=True))
    assert words in refused(tmp_path, nb, capsys)


def test_refuses_unbalanced_hidden_tests(tmp_path, capsys):
    nb = good_nb()
    nb.cells[2].source = TEST.replace("### END HIDDEN TESTS", "")
    assert "cell 2 (grade_id 'check_pla_update'), line 2: `### BEGIN HIDDEN TESTS` is never closed" in \
        refused(tmp_path, nb, capsys)


def test_refuses_duplicate_grade_ids(tmp_path, capsys):
    nb = good_nb()
    nb.cells[4].metadata.nbgrader["grade_id"] = "pla_update"
    assert "cell 4: duplicate grade_id 'pla_update' (also used by cell 1)" in refused(tmp_path, nb, capsys)


def test_refuses_a_solution_region_in_a_locked_cell(tmp_path, capsys):
    nb = good_nb()
    nb.cells[4].source = "### BEGIN SOLUTION\nx = 1\n### END SOLUTION"
    assert "cell 4 (grade_id 'demo'), line 1: solution region inside a locked cell" in refused(tmp_path, nb, capsys)


@pytest.mark.parametrize("value", [None, "two", -1, True])
def test_refuses_a_test_cell_without_points(tmp_path, capsys, value):
    nb = good_nb()
    if value is None:
        del nb.cells[2].metadata.nbgrader["points"]
    else:
        nb.cells[2].metadata.nbgrader["points"] = value
    assert "cell 2 (grade_id 'check_pla_update'): test cell without points" in refused(tmp_path, nb, capsys)


def test_refuses_hidden_tests_outside_a_test_cell(tmp_path, capsys):
    nb = good_nb()
    nb.cells[4].source = "### BEGIN HIDDEN TESTS\nassert True\n### END HIDDEN TESTS"
    assert "hidden tests outside a test cell" in refused(tmp_path, nb, capsys)


def test_cli_release_writes_student_versions(tmp_path, capsys):
    path = write(tmp_path, good_nb())
    assert main(["release", str(path.parent), "--out", str(tmp_path / "release")]) == 0
    released = tmp_path / "release" / "unit.ipynb"
    assert str(released) in capsys.readouterr().out
    assert "".join(json.loads(released.read_text())["cells"][1]["source"]).endswith("raise NotImplementedError()")


def test_release_refuses_to_overwrite_the_sources(tmp_path):
    path = write(tmp_path, good_nb())
    with pytest.raises(ReleaseError, match="overwrite the solutions"):
        release([path], path.parent)


def test_a_line_containing_a_marker_is_a_marker():
    """As in nbgrader (`if begin_delimiter in line`): text around a marker does
    not stop it from hiding the solution or the hidden tests."""
    nb = good_nb()
    nb.cells[1].source = ANSWER.replace("### BEGIN SOLUTION", "### BEGIN SOLUTION  (two lines)") \
                               .replace("### END SOLUTION", "### END SOLUTION  # that's it")
    nb.cells[2].source = TEST.replace("### BEGIN HIDDEN TESTS", "### BEGIN HIDDEN TESTS  # grader") \
                             .replace("### END HIDDEN TESTS", "    ### END HIDDEN TESTS")
    student = release_notebook(nb)
    text = nbformat.writes(student)
    assert "secret" not in text and "assert result.passed" not in text and "HIDDEN" not in text
    assert student.cells[1].source.endswith("    # YOUR CODE HERE\n    raise NotImplementedError()")
    assert student.cells[2].source == "result = checks.perceptron.check_pla_update(pla_update)"


def test_an_unclosed_marker_with_trailing_text_is_refused(tmp_path, capsys):
    nb = good_nb()
    nb.cells[2].source = "result = 1\n### BEGIN HIDDEN TESTS  # grader\nassert result\n"
    assert "line 2: `### BEGIN HIDDEN TESTS` is never closed" in refused(tmp_path, nb, capsys)


def test_release_records_what_validate_needs():
    """The student version lists, in order, every exercise cell with its points
    and checksum and every plain code cell: `coursekit validate` rebuilds the
    notebook the grader's way from it and knows the full number of points."""
    student = release_notebook(good_nb())
    entries = N.manifest(student)
    assert [(e["kind"], e.get("grade_id")) for e in entries] == [
        ("code", None), ("answer", "pla_update"), ("test", "check_pla_update"), ("answer", "why"), ("locked", "demo")]
    test = entries[2]
    assert test["points"] == 2 and test["checksum"] == student.cells[2].metadata.nbgrader["checksum"]
    assert entries[1]["defines"] == ["pla_update"] and entries[3]["cell_type"] == "markdown"
    assert entries[0]["checksum"] == N.source_checksum(student.cells[0])
    nbformat.validate(student)
