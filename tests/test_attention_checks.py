"""The unit 11 exercise checks: right answers pass, typical mistakes fail with
useful feedback, unattempted exercises say so, nothing raises; the quizzes
accept their answers, stated here independently of the stored digests; the
notebook's own solution cells pass their checks and their stubs are "not
attempted"."""
from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from coursekit import attention as A
from coursekit import checks
from coursekit.checks import attention as CA
from coursekit.grading.notebook import stub_solution  # the student version of a solution cell, as released
from helpers.checks import not_done

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "11_attention_and_transformers.ipynb"


def crashes(*args, **kwargs):
    return np.zeros(3)[7]


# ---------------------------------------------------------- right answers ---

def student_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    scores = Q @ np.swapaxes(K, -1, -2) / math.sqrt(d_k)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights = e / e.sum(axis=-1, keepdims=True)
    return weights @ V, weights


def student_causal_mask(T):
    return np.arange(T)[None, :] <= np.arange(T)[:, None]


def student_positional_encoding(T, d):
    pe = np.empty((T, d))
    for pos in range(T):
        for i in range(d // 2):
            angle = pos / 10000 ** (2 * i / d)
            pe[pos, 2 * i], pe[pos, 2 * i + 1] = math.sin(angle), math.cos(angle)
    return pe


def student_split_heads(X, h):
    B, T, d = X.shape
    return X.reshape(B, T, h, d // h).transpose(0, 2, 1, 3)


RIGHT = [
    (CA.check_scaled_dot_product_attention, student_attention),
    (CA.check_causal_mask, student_causal_mask),
    (CA.check_positional_encoding, student_positional_encoding),
    (CA.check_split_heads, student_split_heads),
]


@pytest.mark.parametrize("check, fn", RIGHT)
def test_right_answers_pass(check, fn):
    result = check(fn, verbose=False)
    assert result.passed, result.message
    assert result.points == result.max_points > 0


@pytest.mark.parametrize("check, fn", RIGHT)
def test_unattempted_and_crashing_answers(check, fn):
    assert check(not_done, verbose=False).status == checks.NOT_ATTEMPTED
    result = check(crashes, verbose=False)
    assert result.status == checks.ERROR and "IndexError" in result.message


def test_references_pass_their_own_checks():
    assert CA.check_scaled_dot_product_attention(A.scaled_dot_product_attention, verbose=False).passed
    assert CA.check_causal_mask(A.causal_mask, verbose=False).passed
    assert CA.check_positional_encoding(A.positional_encoding, verbose=False).passed
    assert CA.check_split_heads(A.split_heads, verbose=False).passed


def test_checks_print_their_verdict(capsys):
    CA.check_causal_mask(student_causal_mask)
    assert "causal_mask: passed" in capsys.readouterr().out


# ------------------------------------------------------- typical mistakes ---

@pytest.mark.parametrize("mistake", ["no_scaling", "keys_axis", "mask_ignored", "naive_exp", "weights_only",
                                     "scale_by_d_not_sqrt"])
def test_attention_mistakes_fail(mistake):
    def wrong(Q, K, V, mask=None):
        d_k = Q.shape[-1]
        scale = {"no_scaling": 1.0, "scale_by_d_not_sqrt": d_k}.get(mistake, math.sqrt(d_k))
        scores = Q @ np.swapaxes(K, -1, -2) / scale
        if mask is not None and mistake != "mask_ignored":
            scores = np.where(mask, scores, -np.inf)
        axis = -2 if mistake == "keys_axis" else -1
        e = np.exp(scores) if mistake == "naive_exp" else np.exp(scores - scores.max(axis=axis, keepdims=True))
        weights = e / e.sum(axis=axis, keepdims=True)
        return weights if mistake == "weights_only" else (weights @ V, weights)
    result = CA.check_scaled_dot_product_attention(wrong, verbose=False)
    assert not result.passed, mistake
    assert "Hint" in result.message


def test_attention_without_scaling_is_caught_on_the_worked_example():
    def unscaled(Q, K, V, mask=None):
        return student_attention(Q * math.sqrt(Q.shape[-1]), K, V, mask)
    result = CA.check_scaled_dot_product_attention(unscaled, verbose=False)
    assert "values differ" in result.message and "sqrt" in result.message


def test_causal_mask_mistakes_fail_with_clear_messages():
    result = CA.check_causal_mask(lambda T: np.tril(np.ones((T, T))), verbose=False)
    assert not result.passed and "dtype bool" in result.message and "pattern is right" in result.message
    result = CA.check_causal_mask(lambda T: np.triu(np.ones((T, T), dtype=bool)), verbose=False)
    assert result.status == checks.WRONG                                   # upper triangle: sees the future
    result = CA.check_causal_mask(lambda T: np.tril(np.ones((T, T), dtype=bool), -1), verbose=False)
    assert result.status == checks.WRONG                                   # forgets the diagonal


@pytest.mark.parametrize("mistake", ["base_1000", "swapped", "i_not_2i", "halves"])
def test_positional_encoding_mistakes_fail(mistake):
    def wrong(T, d):
        if mistake == "base_1000":
            return A.positional_encoding(T, d, base=1000)
        pos, two_i = np.arange(T)[:, None], np.arange(0, d, 2)[None, :]
        angle = pos / 10000 ** ((two_i / 2 if mistake == "i_not_2i" else two_i) / d)
        pe = np.empty((T, d))
        if mistake == "halves":           # sines in the first half, cosines in the second
            return np.concatenate([np.sin(angle), np.cos(angle)], axis=1)
        first, second = (np.cos, np.sin) if mistake == "swapped" else (np.sin, np.cos)
        pe[:, 0::2], pe[:, 1::2] = first(angle), second(angle)
        return pe
    assert not CA.check_positional_encoding(wrong, verbose=False).passed, mistake


def test_split_heads_mistakes_fail():
    def plain_reshape(X, h):
        B, T, d = X.shape
        return X.reshape(B, h, T, d // h)
    result = CA.check_split_heads(plain_reshape, verbose=False)
    assert result.status == checks.WRONG and "values differ" in result.message

    def no_transpose(X, h):
        B, T, d = X.shape
        return X.reshape(B, T, h, d // h)
    result = CA.check_split_heads(no_transpose, verbose=False)
    assert "move the head axis in front" in result.message


# ----------------------------------------------------------------- quizzes ---

QUIZZES = {
    # option 3 recomputes c_j from all encoder states with attention weights
    "context": (CA.check_context_quiz, [3, 3.0], [1, 2, 4]),
    # option 2: the positional encoding added to the embeddings
    "order": (CA.check_order_quiz, [2], [1, 3, 4]),
    # (224 / 16)^2 patches
    "vit_tokens": (CA.check_vit_tokens_quiz, [(224 // 16) ** 2, np.int64(196)], [14, 256, 197]),
    # [p_t - 3, p_t + 3] holds 2·3 + 1 positions (the deck says "size D")
    "window": (CA.check_window_quiz, [2 * 3 + 1], [3, 6]),
    # k candidates for y1 times k for y2
    "beam": (CA.check_beam_quiz, [3 * 3], [3, 6, 27]),
}


@pytest.mark.parametrize("name", list(QUIZZES))
def test_quizzes(name):
    check, right, wrong = QUIZZES[name]
    for answer in right:
        result = check(lambda: answer, verbose=False)
        assert result.passed, (answer, result.message)
    for answer in wrong:
        result = check(lambda: answer, verbose=False)
        assert result.status == checks.WRONG and "Hint" in result.message, answer
    assert check(not_done, verbose=False).status == checks.NOT_ATTEMPTED


def test_quiz_answers_agree_with_the_reference_code():
    assert A.vit_num_patches(224, 16) == 196
    _, a, _ = A.local_attention(np.ones(2), np.random.default_rng(0).normal(size=(30, 2)), 3, p_t=15.0)
    assert np.count_nonzero(a) == 7


# ------------------------------------------------------ the notebook cells ---

def notebook_exercises():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = nb.cells
    pairs = [(cell, cells[i + 1]) for i, cell in enumerate(cells) if cell.metadata.get("nbgrader", {}).get("solution")]
    return nb, pairs


def test_notebook_metadata_and_exercise_layout():
    nb, pairs = notebook_exercises()
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is None and c.outputs == [] for c in code)
    assert code[0].source.startswith("%matplotlib inline") and 'print("device:", device)' in code[0].source
    exercises = [s for s, _ in pairs if not s.metadata["nbgrader"]["grade_id"].startswith("answer_")]
    quizzes = [s for s, _ in pairs if s.metadata["nbgrader"]["grade_id"].startswith("answer_")]
    assert len(exercises) >= 3 and len(quizzes) >= 3
    for solution, check in pairs:
        name = solution.metadata["nbgrader"]["grade_id"]
        assert re.search(rf"^def {name}\(", solution.source, re.M)
        assert "### BEGIN SOLUTION" in solution.source and "### END SOLUTION" in solution.source
        meta = check.metadata["nbgrader"]
        assert meta["grade"] and meta["locked"] and meta["grade_id"] == f"check_{name}" and meta["points"] >= 1
        assert re.fullmatch(rf"result = checks\.attention\.check_\w+\({name}\)\n### BEGIN HIDDEN TESTS\n"
                            r"assert result\.passed, result\.message\n### END HIDDEN TESTS", check.source)


def test_notebook_solutions_pass_and_stubs_are_not_attempted():
    _, pairs = notebook_exercises()
    for solution, check in pairs:
        name = solution.metadata["nbgrader"]["grade_id"]
        check_call = check.source.splitlines()[0]
        student = stub_solution(solution.source)
        for source, expected in ((solution.source, checks.PASSED), (student, checks.NOT_ATTEMPTED)):
            namespace = {"np": np, "math": math, "checks": checks}
            exec(source, namespace)
            exec(check_call[:-1] + ", verbose=False)", namespace)
            assert namespace["result"].status == expected, (name, namespace["result"].message)
