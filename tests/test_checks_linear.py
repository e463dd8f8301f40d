"""The unit 01 exercise checks: right answers pass, typical mistakes fail with
useful feedback, unattempted exercises say so, and nothing ever raises.
The notebook's own solution cells are run through their checks too."""
from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursekit import checks
from coursekit import linear as L
from coursekit.checks import linear as CL
from coursekit.grading.notebook import stub_solution  # the student version of a solution cell, as released
from helpers.checks import not_done

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01_linear_classifiers.ipynb"


def crashes(*args, **kwargs):
    return np.zeros(3)[7]


# --------------------------------------------------------- right answers ---

def student_svm_loss_i(s, y, delta=1.0):
    return sum(max(0.0, s[j] - s[y] + delta) for j in range(len(s)) if j != y)


def student_softmax(S):
    e = np.exp(S - S.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def student_cross_entropy_and_grad(S, y):
    N = len(y)
    P = student_softmax(S)
    log_p = S - S.max(axis=1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    P[np.arange(N), y] -= 1
    return -log_p[np.arange(N), y].mean(), P / N


def student_l2(W, lam):
    return lam * (W ** 2).sum(), 2 * lam * W


RIGHT = [
    (CL.check_svm_loss_i, student_svm_loss_i),
    (CL.check_softmax, student_softmax),
    (CL.check_cross_entropy_and_grad, student_cross_entropy_and_grad),
    (CL.check_l2_regularization, student_l2),
]


@pytest.mark.parametrize("check, fn", RIGHT)
def test_right_answers_pass(check, fn):
    result = check(fn, verbose=False)
    assert result.passed, result.message
    assert result.points == result.max_points > 0


@pytest.mark.parametrize("check, fn", RIGHT)
def test_unattempted_and_crashing_answers(check, fn):
    result = check(not_done, verbose=False)
    assert result.status == checks.NOT_ATTEMPTED and result.points == 0
    result = check(crashes, verbose=False)
    assert result.status == checks.ERROR and "IndexError" in result.message


def test_checks_print_their_verdict(capsys):
    CL.check_softmax(student_softmax)
    assert "softmax: passed" in capsys.readouterr().out


# ------------------------------------------------------- typical mistakes ---

def test_svm_loss_including_the_true_class_fails():
    def wrong(s, y, delta=1.0):
        return float(np.maximum(0, s - s[y] + delta).sum())     # forgets j != y: adds delta
    result = CL.check_svm_loss_i(wrong, verbose=False)
    assert result.status == checks.WRONG and "j != y" in result.message


def test_svm_loss_returning_the_terms_fails_with_a_clear_message():
    def terms(s, y, delta=1.0):
        m = np.maximum(0, s - s[y] + delta)
        m[y] = 0
        return m
    result = CL.check_svm_loss_i(terms, verbose=False)
    assert not result.passed and "expected one number" in result.message


def test_svm_loss_ignoring_delta_fails():
    result = CL.check_svm_loss_i(lambda s, y, delta=1.0: student_svm_loss_i(s, y, 1.0), verbose=False)
    assert result.status == checks.WRONG


def test_naive_softmax_fails_on_large_logits():
    def naive(S):
        return np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    result = CL.check_softmax(naive, verbose=False)
    assert result.status == checks.WRONG
    assert "1000" in result.message and "maximum" in result.message     # shows the case and the fix


def test_softmax_over_the_wrong_axis_fails():
    def columns(S):
        e = np.exp(S - S.max(axis=0, keepdims=True))
        return e / e.sum(axis=0, keepdims=True)
    assert not CL.check_softmax(columns, verbose=False).passed


@pytest.mark.parametrize("mistake", ["log10", "no_mean", "grad_not_divided", "naive_log", "loss_only"])
def test_cross_entropy_mistakes_fail(mistake):
    def wrong(S, y):
        loss, dS = student_cross_entropy_and_grad(S, y)
        N = len(y)
        if mistake == "log10":
            return loss / math.log(10), dS
        if mistake == "no_mean":
            return loss * N, dS
        if mistake == "grad_not_divided":
            return loss, dS * N
        if mistake == "naive_log":
            p = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
            return -np.log(p[np.arange(N), y]).mean(), dS
        return loss
    result = CL.check_cross_entropy_and_grad(wrong, verbose=False)
    assert not result.passed, mistake


def test_l2_gradient_without_the_factor_2_fails():
    # deck 002's "2W" misses lambda; forgetting the 2 is the other classic slip
    result = CL.check_l2_regularization(lambda W, lam: (lam * (W ** 2).sum(), lam * W), verbose=False)
    assert result.status == checks.WRONG and "returned value #2" in result.message
    result = CL.check_l2_regularization(lambda W, lam: (lam * (W ** 2).sum(), 2 * W), verbose=False)
    assert result.status == checks.WRONG


def test_checks_use_the_reference_implementation():
    # the reference itself (in the exercise's signature) passes every check
    assert CL.check_svm_loss_i(L.svm_loss_i, verbose=False).passed
    assert CL.check_softmax(L.softmax, verbose=False).passed
    assert CL.check_cross_entropy_and_grad(L.cross_entropy_and_grad, verbose=False).passed


# ---------------------------------------------------------------- quizzes ---

QUIZZES = {
    # the answers, stated independently of the stored digests
    "ce_min_max": (CL.check_ce_min_max, [(0, np.inf), [0.0, float("inf")], (0, math.inf)], [(0, 1), (1, np.inf)]),
    # option 4 is ln C: with equal scores every class gets 1/C
    "ce_init_loss": (CL.check_ce_init_loss, [4, 4.0], [1, 3, 5, "ln C"]),
    # C - 1 terms of max(0, 0 - 0 + 1) = 1 each
    "svm_init_loss": (CL.check_svm_init_loss, [9, 9.0, np.int64(9)], [10, 0, 1]),
    "learning_types": (CL.check_learning_types,
                       [["reinforcement", "supervised", "unsupervised"],
                        ("Reinforcement Learning", " supervised ", "unsupervised learning")],
                       [["supervised", "reinforcement", "unsupervised"], "supervised"]),
    "task_types": (CL.check_task_types,
                   [["regression", "classification", "clustering"], ["Regression", "Classification task", "clustering"]],
                   [["classification", "regression", "clustering"]]),
}


@pytest.mark.parametrize("name", list(QUIZZES))
def test_quizzes(name):
    check, right, wrong = QUIZZES[name]
    for answer in right:
        result = check(lambda: answer, verbose=False)
        assert result.passed, (answer, result.message)
    for answer in wrong:
        result = check(lambda: answer, verbose=False)
        assert result.status == checks.WRONG, answer
        assert "Hint" in result.message
    assert check(not_done, verbose=False).status == checks.NOT_ATTEMPTED
    assert check(lambda: None, verbose=False).status == checks.WRONG


def test_ce_init_quiz_matches_the_computed_loss():
    # the option the key accepts is the value the reference computes for equal scores
    assert math.isclose(L.cross_entropy(np.zeros((1, 10)), [3]), math.log(10))
    assert L.svm_loss_i(np.zeros(10), 3) == 9.0


# ------------------------------------------------------ the notebook cells ---

def notebook_exercises():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = nb.cells
    pairs = []
    for i, cell in enumerate(cells):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            pairs.append((cell, cells[i + 1]))
    return nb, pairs


def test_notebook_metadata_and_exercise_layout():
    nb, pairs = notebook_exercises()
    assert nb.metadata["kernelspec"] == {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                         "language": "python"}
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is None and c.outputs == [] for c in code)
    assert code[0].source.startswith("%matplotlib inline") and 'print("device:", device)' in code[0].source
    assert "NBVAL_CHECK_OUTPUT" not in "".join(c.source for c in code)
    exercises = [s for s, _ in pairs if not s.metadata["nbgrader"]["grade_id"].startswith("answer_")]
    assert len(exercises) >= 3
    for solution, check in pairs:
        name = solution.metadata["nbgrader"]["grade_id"]
        assert re.search(rf"^def {name}\(", solution.source, re.M)
        assert "### BEGIN SOLUTION" in solution.source and "### END SOLUTION" in solution.source
        meta = check.metadata["nbgrader"]
        assert meta["grade"] and meta["locked"] and meta["grade_id"] == f"check_{name}" and meta["points"] >= 1
        assert re.fullmatch(rf"result = checks\.linear\.check_\w+\({name}\)\n### BEGIN HIDDEN TESTS\n"
                            r"assert result\.passed, result\.message\n### END HIDDEN TESTS", check.source)


def test_notebook_solutions_pass_and_stubs_are_not_attempted():
    _, pairs = notebook_exercises()
    for solution, check in pairs:
        name = solution.metadata["nbgrader"]["grade_id"]
        check_call = check.source.splitlines()[0]
        student = stub_solution(solution.source)
        for source, expected in ((solution.source, checks.PASSED), (student, checks.NOT_ATTEMPTED)):
            namespace = {"np": np, "checks": checks}
            exec(source, namespace)
            # `result = checks.linear.check_x(x)`, run quietly
            exec(check_call[:-1] + ", verbose=False)", namespace)
            assert namespace["result"].status == expected, (name, namespace["result"].message)
