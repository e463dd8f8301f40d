"""Unit 12's exercise checks: right answers pass, the typical mistakes fail with a useful message,
an unfinished exercise is "not attempted", and the quizzes accept the answer in its usual forms."""
from __future__ import annotations

import numpy as np
import pytest

from coursekit.checks import NOT_ATTEMPTED, PASSED, WRONG, ERROR
from coursekit.checks import generative as checks
from helpers.checks import not_done


RIGHT = {
    "discriminator_loss": lambda r, f: -(np.mean(np.log(r)) + np.mean(np.log(1 - f))),
    "generator_loss": lambda f: -np.mean(np.log(f)),
    "optimal_discriminator": lambda p, q: p / (p + q),
    "q_sample": lambda x0, t, eps, b: (np.sqrt(np.prod(1 - b[:t])) * x0 + np.sqrt(1 - np.prod(1 - b[:t])) * eps),
    "cycle_loss": lambda x, xc, y, yc: np.abs(xc - x).sum(axis=1).mean() + np.abs(yc - y).sum(axis=1).mean(),
}

WRONG_ANSWERS = {
    # one mean over pairs: fails when the batches differ in size
    "discriminator_loss": (lambda r, f: -np.mean(np.log(r[:len(f)]) + np.log(1 - f[:len(r)])), "differ"),
    # the minimax loss instead of the non-saturating one
    "generator_loss": (lambda f: np.mean(np.log(1 - f)), "differ"),
    # p_g on top: the probability of "generated"
    "optimal_discriminator": (lambda p, q: q / (p + q), "differ"),
    # t counted from 0: one β too many
    "q_sample": (lambda x0, t, eps, b: np.sqrt(np.prod(1 - b[:t + 1])) * x0
                 + np.sqrt(1 - np.prod(1 - b[:t + 1])) * eps, "differ"),
    # the squared (L2) distance instead of L1
    "cycle_loss": (lambda x, xc, y, yc: ((xc - x) ** 2).sum(axis=1).mean() + ((yc - y) ** 2).sum(axis=1).mean(),
                   "differ"),
}

CHECKS = {name: getattr(checks, f"check_{name}") for name in RIGHT}


@pytest.mark.parametrize("name", RIGHT)
def test_right_answer_passes(name):
    result = CHECKS[name](RIGHT[name], verbose=False)
    assert result.status == PASSED, result.message
    assert result.points == result.max_points == 2


@pytest.mark.parametrize("name", RIGHT)
def test_typical_mistake_fails_with_hint(name):
    wrong, phrase = WRONG_ANSWERS[name]
    result = CHECKS[name](wrong, verbose=False)
    assert result.status in (WRONG, ERROR) and result.points == 0
    assert phrase in result.message or "raised" in result.message
    assert "Hint:" in result.message


@pytest.mark.parametrize("name", RIGHT)
def test_unfinished_exercise_is_not_attempted(name):
    assert CHECKS[name](not_done, verbose=False).status == NOT_ATTEMPTED


def test_an_array_where_a_number_is_expected_is_explained():
    result = checks.check_discriminator_loss(lambda r, f: -np.r_[np.log(r), np.log(1 - f)], verbose=False)
    assert result.status == WRONG and "expected one number" in result.message


def test_checks_do_not_depend_on_the_students_copy():
    def mutating(p, q):
        out = p / (p + q)
        p[...] = 0.0         # a student function that changes its input must not change the reference's
        return out

    assert checks.check_optimal_discriminator(mutating, verbose=False).status == PASSED


@pytest.mark.parametrize("check, right, wrong", [
    (checks.check_better_generator_quiz, [2, "2", "G2", {2}], [1, "G1"]),
    (checks.check_equilibrium_quiz, [0.5, 1 / 2, np.float64(0.5)], [1, 0.25]),
    (checks.check_saturating_quiz, [1, "minimax", "saturating"], [2, "non-saturating"]),
    (checks.check_inception_quiz, [4, 4.0, np.exp(np.log(4))], [np.log(4), 1]),
])
def test_quizzes(check, right, wrong):
    for answer in right:
        assert check(lambda a=answer: a, verbose=False).status == PASSED, answer
    for answer in wrong:
        assert check(lambda a=answer: a, verbose=False).status == WRONG, answer
    assert check(not_done, verbose=False).status == NOT_ATTEMPTED
