"""Exercise checks for unit 01, linear classifiers and losses.

Every check runs the student's function next to the reference in
:mod:`coursekit.linear`: the deck's worked examples first (the cat / car /
frog scores 3.2, 5.1, -1.7), then extreme inputs where a naive formula
overflows (logits of ±1000), then seeded random inputs. It prints passed /
not attempted yet / wrong with the smallest failing input and a hint, and
never raises.

Quiz answers are stored only as digests (:func:`coursekit.checks.answer_digest`),
so reading this file does not give them away.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import linear as L
from .core import Case, CheckResult, check_answer, check_function, expect_number, random_cases

CAT_SCORES = np.array([3.2, 5.1, -1.7])  # deck 001: scores of the cat image for (cat, car, frog)
CAT = 0                                   # the true class of that image


def _random_scores(rng, size):
    """A batch of N examples with C classes: scores (N, C) and labels (N,)."""
    N, C = 1 + size % 6, 2 + size % 5
    S = 3.0 * rng.standard_normal((N, C))
    return S, rng.integers(0, C, size=N)


# ------------------------------------------------------------- exercises ---

def check_svm_loss_i(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(s, y, delta) -> L_i = sum over j != y of max(0, s_j - s_y + delta), one number."""
    examples = [
        Case((CAT_SCORES, CAT, 1.0), label="the deck's cat image: cat 3.2, car 5.1, frog -1.7"),
        Case((np.array([1.3, 4.9, 2.0]), 1, 1.0), label="the true class wins by more than the margin"),
        Case((np.zeros(10), 3, 1.0), label="all scores equal, C = 10"),
        Case((np.array([2.0, 2.0, 0.5]), 0, 1.0), label="a tie between the true class and another"),
        Case((CAT_SCORES, 1, 2.0), label="margin delta = 2"),
    ]

    def make(rng, size):
        C = 2 + size % 6
        s = np.round(3.0 * rng.standard_normal(C), 2)
        return s, int(rng.integers(0, C)), float(rng.choice([1.0, 0.5, 2.0]))

    return check_function(
        fn, L.svm_loss_i, examples + random_cases(make, 24, seed), name="svm_loss_i", points=points,
        verbose=verbose, arg_names=["s", "y", "delta"],
        compare=expect_number("the loss of this example", "add up the terms, e.g. with np.sum"),
        hint="loop over (or vectorize across) the wrong classes j != y and add max(0, s[j] - s[y] + delta). "
             "Skip j = y: that term would add delta every time. np.maximum(0, s - s[y] + delta) gives all "
             "terms at once; subtract the j = y term (which is delta) or set it to 0 before summing.",
    )


def check_softmax(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(S) -> row-wise softmax of scores S (N, C), safe for scores like ±1000."""
    examples = [
        Case((CAT_SCORES[None, :],), label="the deck's cat image as a batch of one"),
        Case((np.zeros((2, 4)),), label="equal scores give equal probabilities"),
        Case((np.array([[1000.0, -1000.0], [1000.0, 999.0]]),), label="logits of ±1000: exp(1000) overflows"),
        Case((np.array([[-1000.0, -1001.0, -1002.0]]),), label="very negative logits: exp(-1000) underflows to 0"),
    ]

    def make(rng, size):
        return (_random_scores(rng, size)[0],)

    return check_function(
        fn, L.softmax, examples + random_cases(make, 20, seed), name="softmax", points=points,
        verbose=verbose, arg_names=["S"],
        hint="each row is one example: p_k = exp(s_k) / sum_j exp(s_j) along axis=1 (use keepdims=True so "
             "the division broadcasts). To avoid overflow, first subtract each row's maximum: "
             "S - S.max(axis=1, keepdims=True). That changes nothing mathematically (the factor cancels) "
             "but keeps every exponent <= 0.",
    )


def check_cross_entropy_and_grad(fn: Callable, *, points: int = 3, seed: int = 0,
                                 verbose: bool = True) -> CheckResult:
    """fn(S, y) -> (mean cross-entropy loss, dL/dS of shape (N, C)), exact for logits of ±1000."""
    examples = [
        Case((CAT_SCORES[None, :], np.array([CAT])), label="the deck's cat image: loss -ln 0.13 = 2.04"),
        Case((np.zeros((1, 10)), np.array([7])), label="C = 10 equal scores: loss ln 10"),
        Case((np.array([[1000.0, -1000.0]]), np.array([1])), label="logits of ±1000: the loss is exactly 2000"),
        Case((np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), np.array([0, 2])), label="a batch of two"),
    ]

    def make(rng, size):
        return _random_scores(rng, size)

    return check_function(
        fn, L.cross_entropy_and_grad, examples + random_cases(make, 20, seed), name="cross_entropy_and_grad",
        points=points, verbose=verbose, arg_names=["S", "y"],
        hint="loss = mean over the N rows of -log softmax(S)[n, y[n]], with the natural log. Compute "
             "log-softmax directly as S - m - log(sum(exp(S - m))) with m the row maximum, so that scores of "
             "±1000 give 2000, not inf or nan. Gradient: (softmax(S) - onehot(y)) / N, the same shape as S. "
             "Return the two as a tuple (loss, dS).",
    )


def _l2_regularization(W, lam):
    """The reference answer: (λ R(W), ∂(λR)/∂W) with R the L2 regularizer."""
    return lam * L.l2(W), lam * L.l2_grad(W)


def check_l2_regularization(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(W, lam) -> (lam * sum of W**2, its gradient 2 * lam * W)."""
    examples = [
        Case((np.array([[1.0, -2.0], [0.0, 3.0]]), 0.5), label="a 2x2 W with lam = 0.5"),
        Case((np.array([[0.2, -0.5, 0.1, 2.0], [1.5, 1.3, 2.1, 0.0], [0.0, 0.25, 0.2, -0.3]]), 0.1),
             label="the deck's W without its bias column, lam = 0.1"),
        Case((np.ones((2, 3)), 0.0), label="lam = 0 switches regularization off"),
    ]

    def make(rng, size):
        C, D = 1 + size % 4, 1 + size % 5
        return rng.standard_normal((C, D)), float(rng.choice([1e-3, 0.1, 1.0, 2.5]))

    return check_function(
        fn, _l2_regularization, examples + random_cases(make, 20, seed), name="l2_regularization",
        points=points, verbose=verbose, arg_names=["W", "lam"],
        hint="R(W) sums the squares of *all* entries of W (np.sum(W**2), one number); the penalty is lam * R(W). "
             "Its gradient has the shape of W: d(lam * w^2)/dw = 2 * lam * w. Return (penalty, gradient).",
    )


# --------------------------------------------------------------- quizzes ---

_CE_MIN_MAX_DIGEST = "f27d11fd3198dd4f28d441385a6a3c081ceccefe4588b6f70db459d92e34d0ea"
_CE_INIT_DIGEST = "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"
_SVM_INIT_DIGEST = "19581e27de7ced00ff1ce50b2047e7a567c76b1cbaebabe5ef03f7c3017bb5b7"
_LEARNING_TYPES_DIGEST = "7d4d6d64b4f29201bf66dddb84a964ef0fa36fe608ade52ce09b94a0c3665ae6"
_TASK_TYPES_DIGEST = "c92775198c727a2958b6d02213ea50139242b0fcdaea66358e943385984a8813"


def check_ce_min_max(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 001: the smallest and largest possible cross-entropy loss L_i, as (min, max)."""
    return check_answer(answer_fn, _CE_MIN_MAX_DIGEST, name="answer_ce_min_max", points=points, verbose=verbose,
                        expected_type="a tuple (min, max) of two numbers; write infinity as np.inf",
                        hint="L_i = -ln p, where p = P(Y = y_i | x_i) is a probability. What does -ln p do "
                             "as p goes to 1, and as p goes to 0?")


def check_ce_init_loss(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 001: cross-entropy when all C scores are small random values (option number)."""
    return check_answer(answer_fn, _CE_INIT_DIGEST, name="answer_ce_init_loss", points=points, verbose=verbose,
                        expected_type="one option number, 1 to 5",
                        hint="with all scores about equal, softmax gives every class the same probability. "
                             "Which probability, and what is -ln of it?")


def check_svm_init_loss(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """The SVM loss of one example when all C = 10 scores are 0 and delta = 1 (a number)."""
    return check_answer(answer_fn, _SVM_INIT_DIGEST, name="answer_svm_init_loss", points=points,
                        verbose=verbose, expected_type="one whole number",
                        hint="with all scores equal, every term max(0, s_j - s_y + 1) equals 1. How many terms "
                             "does the sum over j != y have?")


def _words(suffix: str):
    """Accept 'Supervised', ' supervised learning ' etc.: lower-case, strip, drop a trailing suffix word."""
    def normalized(answer):
        if isinstance(answer, (list, tuple)) and all(isinstance(a, str) for a in answer):
            cleaned = []
            for a in answer:
                a = " ".join(a.lower().split())
                cleaned.append(a[: -len(suffix)].strip() if a.endswith(suffix) else a)
            return cleaned
        return answer
    return normalized


def check_learning_types(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 001's three kinds of learning, one per scenario, as a list of three words."""
    return check_answer(answer_fn, _LEARNING_TYPES_DIGEST, convert=_words(" learning"), name="answer_learning_types",
                        points=points, verbose=verbose,
                        expected_type="a list of three strings, each 'supervised', 'unsupervised' or "
                                      "'reinforcement', in the order of the scenarios",
                        hint="supervised: labelled examples; unsupervised: no labels, find structure; "
                             "reinforcement: only a reward after acting.")


def check_task_types(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Classification, regression or clustering for each of three tasks, as a list of three words."""
    return check_answer(answer_fn, _TASK_TYPES_DIGEST, convert=_words(" task"), name="answer_task_types", points=points,
                        verbose=verbose,
                        expected_type="a list of three strings, each 'classification', 'regression' or "
                                      "'clustering', in the order of the tasks",
                        hint="regression outputs a number, classification picks one of given labels, "
                             "clustering groups examples that come with no labels at all.")
