"""A class of two notebooks graded the way a real course hands them in: folders and single
files, names from a zip that are not UTF-8, two students whose ids differ only in a space, an
exception message no report can hold as it is, files that are not notebooks (one nested too
deeply, one cut short, one unknown), a quiz graded without a verdict in the student's copy, a
written answer given points by hand, and a deadline. Every one gets a clear status, the rest of
the class is graded, and each report is written as its student finishes.

One ``grade()`` call (-j 2) grades the class (the fixture); the tests read what it wrote.
"""
import csv
import html
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest

from coursekit.checks import core
from coursekit.grading import Limits, batch, grade, grader, release_notebook, validate
from coursekit.grading import notebook as N
from coursekit.grading.report import safe_name
from helpers.grading import CORRECT_DOUBLE, CORRECT_PLA, WRONG_PLA, nbmeta, source_notebook, with_answers

pytestmark = pytest.mark.slow

DEADLINE = datetime(2026, 5, 1, 23, 59, tzinfo=timezone.utc)
QUESTION = "Why does the pocket algorithm keep the best weights, not the last ones?"


def quiz_notebook():
    """A quiz graded without a verdict in the student's copy, and a written answer worth 2 points."""
    v4 = nbformat.v4
    nb = v4.new_notebook(cells=[
        v4.new_code_cell("from coursekit import checks\nimport coursekit.checks.perceptron"),
        v4.new_code_cell('def answer_spam_keywords():\n    """The option number."""\n    ### BEGIN SOLUTION\n'
                         '    return 2\n    ### END SOLUTION', metadata=nbmeta("answer_spam_keywords", solution=True)),
        v4.new_code_cell("result = checks.perceptron.check_spam_keywords(answer_spam_keywords)\n"
                         "### BEGIN HIDDEN TESTS\nassert result.passed, result.message\n### END HIDDEN TESTS",
                         metadata=nbmeta("check_spam_keywords", grade=True, locked=True, points=1)),
        v4.new_markdown_cell(QUESTION),
        v4.new_markdown_cell("### BEGIN SOLUTION\nIt makes fewer mistakes on all the data.\n### END SOLUTION",
                             metadata=nbmeta("why_pocket", solution=True, grade=True, points=2)),
    ])
    nb.metadata["kernelspec"] = dict(N.KERNELSPEC)
    nb.metadata["coursekit"] = {"quiz_verdicts": False}
    return nb


def quiz_answers(option: int, written: str):
    nb = release_notebook(quiz_notebook())
    for cell in nb.cells:
        if N.grade_id(cell) == "answer_spam_keywords":
            cell.source = f"def answer_spam_keywords():\n    return {option}\n"
        if N.grade_id(cell) == "why_pocket":
            cell.source = written
    return nb


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def hand_in(folder: Path, when: datetime) -> None:
    """nbgrader's record of when a folder was handed in."""
    (folder / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    src = root / "source"
    write(source_notebook(), src / "synth.ipynb")
    write(quiz_notebook(), src / "quiz.ipynb")
    subs = root / "submitted"
    subs.mkdir()
    # a zip's Latin-1 file name: "José" is b"Jos\xe9", not UTF-8
    jose = os.path.join(os.fsencode(str(subs)), b"Jos\xe9.ipynb")
    with open(jose, "w") as f:
        f.write(nbformat.writes(with_answers(CORRECT_PLA, CORRECT_DOUBLE)))
    for student, pla, option, text in [("eve smith", CORRECT_PLA, 2, "Eve S.: fewer mistakes on all data."),
                                       ("eve_smith", WRONG_PLA, 3, "Eve_S.: because it is the last one.")]:
        write(with_answers(pla, CORRECT_DOUBLE), subs / student / "synth.ipynb")
        write(quiz_answers(option, text), subs / student / "quiz.ipynb")
        hand_in(subs / student, DEADLINE - timedelta(hours=1))
    # an exception message with a lone surrogate, then the rest of the class
    write(with_answers('def pla_update(w, x, y):\n    raise ValueError("broken \\ud800 pla")\n',
                       'def double(x):\n    raise ValueError("broken \\ud800 text")\n'), subs / "surrogate.ipynb")
    # late by 1 day and 2 hours: two started days
    write(with_answers(CORRECT_PLA, CORRECT_DOUBLE), subs / "late_lou" / "synth.ipynb")
    hand_in(subs / "late_lou", DEADLINE + timedelta(days=1, hours=2))
    # files that are not notebooks
    (subs / "nested.ipynb").write_text('{"nbformat": 4, "cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    text = nbformat.writes(quiz_answers(2, "cut"))
    (subs / "cut_short.ipynb").write_text(text[: len(text) // 2])  # a quiz notebook, cut in half
    (subs / "mystery.ipynb").write_text("PK\x03\x04 not a notebook at all")
    on_time = (DEADLINE - timedelta(hours=2)).timestamp()
    for path in os.listdir(os.fsencode(str(subs))):  # single files: their modification time is their hand-in time
        full = os.path.join(os.fsencode(str(subs)), path)
        if os.path.isfile(full):
            os.utime(full, (on_time, on_time))
    manual = root / "scores.csv"
    with open(manual, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["student", "grade_id", "points", "comment"])
        w.writerow(["eve smith", "why_pocket", "1.5", "Right idea; say what 'best' is measured on."])
        w.writerow(["eve_smith", "why_pocket", "3", "More than the question is worth: capped."])
    out = root / "out"
    results = grade(src, sorted(subs.iterdir()), out, jobs=2, seed=11, verbose=False, manual=manual,
                    deadline=DEADLINE.isoformat(), late_penalty=10,
                    limits=Limits(cell_timeout=20, total_timeout=60, memory_mb=1024))
    rows = list(csv.DictReader(open(out / "grades.csv", encoding="utf-8")))
    return {"results": {(r.student, r.notebook): r for r in results}, "rows": rows, "out": out, "root": root}


def row(course, student, notebook):
    return next(r for r in course["rows"] if r["student"] == student and r["notebook"] == notebook)


def page(course, student) -> str:
    return (course["out"] / "feedback" / f"{safe_name(student)}.html").read_text(encoding="utf-8")


def test_a_name_that_is_not_utf8_is_read_as_latin1(course):
    r = course["results"][("José", "synth.ipynb")]
    assert r.total == 3 and r.status == "graded"
    assert any("not UTF-8" in p and "Latin-1" in p for p in r.problems)
    assert "José" in page(course, "José")


def test_ids_that_differ_only_in_a_space_get_pages_of_their_own(course):
    a, b = page(course, "eve smith"), page(course, "eve_smith")
    assert safe_name("eve smith") != safe_name("eve_smith")
    assert "Feedback for eve smith" in a and "Feedback for eve_smith" in b
    assert row(course, "eve smith", "synth.ipynb")["total"] == "3" and row(course, "eve_smith", "synth.ipynb")["total"] == "1"


def test_a_lone_surrogate_does_not_stop_the_reports(course):
    r = course["results"][("surrogate", "synth.ipynb")]
    assert r.total == 0 and r.status == "graded"
    pla = next(e for e in r.exercises if e.grade_id == "check_pla_update")
    assert "your function raised ValueError: broken \ufffd pla" in pla.message
    double = next(e for e in r.exercises if e.grade_id == "check_double")
    assert double.message == "ValueError: broken \ufffd text"  # the kernel's own error report got through too
    assert "broken \ufffd pla" in page(course, "surrogate")
    json.loads((course["out"] / "grades.json").read_text(encoding="utf-8"))  # whole, and valid
    assert len(course["rows"]) == len(course["results"])


def test_deeply_nested_json_is_invalid_not_a_crash(course, tmp_path, capsys):
    r = course["results"][("nested", "(unknown notebook)")]
    assert r.status == "invalid" and "nested too deeply" in r.problems[0], r.problems
    result = validate(course["root"] / "submitted" / "nested.ipynb", limits=Limits(), verbose=True)
    out = capsys.readouterr().out
    assert result.status == "invalid" and "nested too deeply" in out and "Traceback" not in out


def test_an_invalid_file_is_filed_under_the_notebook_it_claims(course):
    r = course["results"][("cut_short", "quiz.ipynb")]
    assert r.status == "invalid" and "not valid JSON" in r.problems[0]
    assert row(course, "cut_short", "quiz.ipynb")["max"] == "3"


def test_a_file_that_claims_no_notebook_says_so(course):
    r = course["results"][("mystery", "(unknown notebook)")]
    assert r.status == "invalid" and "not valid JSON" in r.problems[0]
    assert "none of the source notebooks could be told" in r.problems[1]


def test_the_quiz_has_no_verdict_in_the_students_copy_but_is_graded(course, capsys):
    student = release_notebook(quiz_notebook())
    test = next(c for c in student.cells if N.grade_id(c) == "check_spam_keywords")
    assert N.cell_source(test) == 'result = checks.record_answer(answer_spam_keywords, name="spam_keywords")' \
        or N.cell_source(test) == "result = checks.record_answer(answer_spam_keywords, name='spam_keywords')"
    assert "check_spam_keywords" not in N.cell_source(test) and "_DIGEST" not in nbformat.writes(student)
    recorded = core.record_answer(lambda: 3, name="spam_keywords")
    out = capsys.readouterr().out
    assert recorded.status == core.RECORDED and "recorded" in out and "3" in out
    assert "correct" not in out and "not right" not in out
    assert course["results"][("eve smith", "quiz.ipynb")].exercises[0].points == 1
    assert course["results"][("eve_smith", "quiz.ipynb")].exercises[0].points == 0


def test_hand_given_points_are_merged(course):
    mine = {e.grade_id: e for e in course["results"][("eve smith", "quiz.ipynb")].exercises}
    assert mine["why_pocket"].points == 1.5 and mine["why_pocket"].status == "graded by hand"
    assert course["results"][("eve smith", "quiz.ipynb")].total == 2.5
    capped = {e.grade_id: e for e in course["results"][("eve_smith", "quiz.ipynb")].exercises}
    assert capped["why_pocket"].points == 2
    assert row(course, "eve smith", "quiz.ipynb")["why_pocket"] == "1.5"
    assert "say what &#x27;best&#x27; is measured on" in page(course, "eve smith")


def test_one_page_per_written_question_with_every_answer(course):
    written = (course["out"] / "written" / "quiz" / "why_pocket.html").read_text(encoding="utf-8")
    assert html.escape(QUESTION) in written
    assert "Eve S.: fewer mistakes on all data." in written and "Eve_S.: because it is the last one." in written
    assert "1.5 / 2" in written


def test_late_submissions_lose_a_share_per_started_day(course):
    late = course["results"][("late_lou", "synth.ipynb")]
    assert late.late_days == 2 and late.penalty == pytest.approx(0.6) and late.total == pytest.approx(2.4)
    assert row(course, "late_lou", "synth.ipynb")["days late"] == "2"
    assert any("2 started day(s) late" in p for p in late.problems)
    assert course["results"][("late_lou", "quiz.ipynb")].status == "missing"
    on_time = course["results"][("eve smith", "synth.ipynb")]
    assert on_time.penalty == 0 and on_time.late_days == 0 and on_time.submitted.startswith("2026-05-01T22:59")


def test_each_result_was_written_as_it_came(course):
    files = list((course["out"] / "results").glob("*.json"))
    assert len(files) == len(course["results"])


def test_a_crash_late_in_a_run_keeps_the_earlier_reports(tmp_path, monkeypatch):
    """The third job brings the whole run down: the first two students' rows, results and pages are there."""
    (tmp_path / "source").mkdir()
    write(source_notebook(), tmp_path / "source" / "synth.ipynb")
    students = ["ann", "ben", "cat"]
    for s in students:
        write(with_answers(CORRECT_PLA, CORRECT_DOUBLE), tmp_path / "sub" / f"{s}.ipynb")
    calls = []

    def fake_run_job(job, limits):
        calls.append(job["student"])
        if len(calls) == 3:
            raise KeyboardInterrupt  # the grading machine goes down
        return grader.NotebookResult(job["student"], "synth.ipynb", "graded", 3.0, 3.0,
                                     [grader.ExerciseResult("check_pla_update", 2.0, 2.0, "passed")])

    monkeypatch.setattr(batch, "run_job", fake_run_job)
    with pytest.raises(KeyboardInterrupt):
        grade(tmp_path / "source", sorted((tmp_path / "sub").iterdir()), tmp_path / "out", jobs=1, verbose=False)
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv")))
    assert [r["student"] for r in rows] == calls[:2]
    assert all((tmp_path / "out" / "feedback" / f"{s}.html").exists() for s in calls[:2])
    assert len(list((tmp_path / "out" / "results").glob("*.json"))) == 2
