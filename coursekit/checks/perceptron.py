"""Exercise checks for the perceptron units (00 getting started, 02 the perceptron).

Every check runs the student's function next to the reference in
:mod:`coursekit.perceptron`: the worked examples of the lecture first, then
seeded random inputs, and prints passed / not attempted yet / wrong with the
smallest failing input and a hint. None of them raises.

Quiz answers are stored only as digests (:func:`coursekit.checks.answer_digest`),
so reading this file does not give them away. A quiz answer may be given as
the option number (``2``) or as a set or list of option numbers (``{2}``,
``[2]``); the OR quiz also accepts the weights themselves (``(1, 1, 1)``).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import perceptron as P
from .core import Case, CheckResult, check_answer, check_function, compare_values, expect_number, fmt, random_cases

# ------------------------------------------------------- helpers for cases ---


def _random_label(rng) -> float:
    return float(rng.choice([-1.0, 1.0]))


def _noisy_line_data(rng, N: int, flip: float = 0.2):
    """N bias-augmented points in the plane, labelled by a random line, with a
    fraction ``flip`` of the labels flipped (so most sets are not separable)."""
    X = P.add_bias(rng.normal(size=(N, 2)))
    w_line = rng.normal(size=3)
    y = np.where(X @ w_line >= 0, 1.0, -1.0)
    y[rng.random(N) < flip] *= -1
    return X, y


def _is_sequence(value) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


# ------------------------------------------------------------ unit 00 warm-up ---


def check_credit_decision(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(w, x, threshold) -> sign(sum_i w_i x_i - threshold): +1 approve, -1 deny, 0 on the threshold."""
    w_deck = np.array([0.5, 1.0])
    examples = [
        # the deck's customers (age, salary in thousands of NTD), with w = (0.5, 1.0) and threshold 40
        Case((w_deck, np.array([23.0, 22.0]), 40.0), label="customer 1: 23 years, 22,000"),
        Case((w_deck, np.array([45.0, 75.0]), 40.0), label="customer 2: 45 years, 75,000"),
        Case((w_deck, np.array([31.0, 60.0]), 40.0), label="customer 3: 31 years, 60,000"),
        Case((np.array([1.0, 1.0]), np.array([20.0, 20.0]), 40.0), label="a score exactly on the threshold"),
    ]

    def make(rng, size):
        d = 1 + size % 4
        w = rng.integers(-2, 3, size=d).astype(float)
        x = rng.integers(0, 5, size=d).astype(float)
        return w, x, float(rng.integers(-3, 6))  # small integers: ties with the threshold happen

    return check_function(
        fn, P.credit_score, examples + random_cases(make, 24, seed), name="credit_decision", points=points,
        verbose=verbose, arg_names=["w", "x", "threshold"],
        hint="compute the weighted score sum_i w_i x_i (np.dot(w, x)), subtract the threshold, and return "
             "its sign: +1 above, -1 below, 0 exactly on the threshold (np.sign does this).",
    )


# ---------------------------------------------------------------- unit 02 ---


def check_pla_update(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(w, x, y) -> w + y x, the PLA correction of one mistake."""
    examples = [
        Case((np.zeros(3), np.array([1.0, 23.0, 22.0]), -1.0), label="w = 0, a denied customer (y = -1)"),
        Case((np.array([0.0, 1.0, -1.0]), np.array([1.0, 2.0, 3.0]), 1.0), label="y = +1 adds x"),
        Case((np.array([0.5, -1.0, 2.0]), np.array([1.0, -2.0, 0.5]), -1.0), label="y = -1 subtracts x"),
    ]

    def make(rng, size):
        d = 1 + size % 5
        w = rng.normal(size=d + 1)
        x = np.concatenate([[1.0], rng.normal(size=d)])
        return w, x, _random_label(rng)

    return check_function(
        fn, P.pla_update, examples + random_cases(make, 20, seed), name="pla_update", points=points,
        verbose=verbose, arg_names=["w", "x", "y"],
        hint="the rule is w_{t+1} = w_t + y_n x_n: a vector the same length as w. With y = +1 you add x "
             "(turning w towards x), with y = -1 you subtract it; there is no learning rate and no sign() here.",
    )


def check_count_mistakes(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(w, X, y) -> how many n have sign(w^T x_n) != y_n (sign(0) = 0 counts as a mistake)."""
    X_or = P.add_bias(np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]))
    y_or = np.array([-1.0, 1.0, 1.0, 1.0])
    examples = [
        Case((np.zeros(3), X_or, y_or), label="w = 0: every point is a mistake, since sign(0) = 0"),
        Case((np.array(P.OR_WEIGHTS), X_or, y_or), label="OR's weights make no mistake"),
        Case((np.array([0.0, 1.0, 1.0]), X_or, y_or), label="two points lie exactly on the line"),
        Case((np.array([-1.0, 1.0, 1.0]), X_or, y_or), label="AND's weights on OR's labels"),
    ]

    def make(rng, size):
        N, d = size + 1, 1 + size % 3
        # small integers, so that points exactly on the line (w^T x = 0) are common
        X = P.add_bias(rng.integers(-2, 3, size=(N, d)).astype(float))
        w = rng.integers(-1, 2, size=d + 1).astype(float)
        y = rng.choice([-1.0, 1.0], size=N)
        return w, X, y

    return check_function(
        fn, P.count_mistakes, examples + random_cases(make, 24, seed), name="count_mistakes", points=points,
        verbose=verbose, arg_names=["w", "X", "y"],
        compare=expect_number("how many mistakes", "count the mistakes, e.g. with np.sum or np.count_nonzero"),
        hint="a mistake is sign(w^T x_n) != y_n. Remember that sign(0) = 0 is neither +1 nor -1, so a point "
             "exactly on the line counts as a mistake (y * (X @ w) < 0 misses those; <= 0 does not).",
    )


def reference_pocket_loop(X, y, max_updates):
    """The exercise's answer: pocket weights of naive-cycle PLA after at most ``max_updates`` updates."""
    return P.pocket(X, y, cycle="naive", max_updates=max_updates).w


def check_pocket(fn: Callable, *, points: int = 3, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(X, y, max_updates) -> the pocket weights of naive-cycle PLA started from w = 0.

    The loop the exercise asks for (it is :func:`coursekit.perceptron.pocket`
    with ``cycle="naive"``): start from w = 0, pocket = w with its mistake count;
    repeat: look for the next mistake of w, in the order n = 0, 1, ..., N-1
    starting just after the last corrected point and wrapping around; stop when
    a full cycle finds none or after ``max_updates`` updates; otherwise
    w <- w + y_n x_n and, if the new w makes *fewer* mistakes on all the data
    than the pocket, put it in the pocket. Return the pocket.
    """
    X_xor = P.add_bias(np.array([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]]))
    y_xor = np.array([-1.0, 1.0, 1.0, -1.0])
    X_sep = P.add_bias(np.array([[2.0, 1.0], [1.0, 3.0], [-1.0, -1.0], [-2.0, 0.5], [0.5, -2.0]]))
    y_sep = np.array([1.0, 1.0, -1.0, -1.0, -1.0])
    X_noisy, y_noisy = _noisy_line_data(np.random.default_rng(2), 12, flip=0.25)
    examples = [
        Case((X_sep, y_sep, 50), label="separable: PLA halts, the pocket is w_PLA"),
        Case((X_xor, y_xor, 6), label="XOR labels: PLA cycles for ever, the pocket keeps the best w"),
        Case((X_noisy, y_noisy, 30), label="noisy labels"),
        Case((X_sep, y_sep, 0), label="max_updates = 0: the pocket is still w = 0"),
    ]

    def make(rng, size):
        N = 3 + size
        X, y = _noisy_line_data(rng, N)
        return X, y, int(rng.integers(1, 3 * N))

    def reference(X, y, max_updates):
        return reference_pocket_loop(X, y, max_updates), X, y

    def student(X, y, max_updates):
        return fn(X, y, max_updates)

    def compare(expected, got):
        w_ref, X, y = expected
        problem = compare_values(w_ref, got)
        if problem is None:
            return None
        try:
            w_got = np.asarray(got, dtype=float)
            m_got = P.count_mistakes(w_got, X, y) if w_got.shape == w_ref.shape else None
        except (TypeError, ValueError):
            m_got = None
        m_ref = P.count_mistakes(w_ref, X, y)
        if m_got is not None:
            problem = (f"your weights make {m_got} mistake(s) on the data, the pocket weights {m_ref}; "
                       f"{problem}")
        return problem

    return check_function(
        student if callable(fn) else fn, reference, examples + random_cases(make, 20, seed),
        name="pocket_loop", points=points, verbose=verbose, arg_names=["X", "y", "max_updates"],
        compare=compare,
        hint="return the pocket, not the last w; replace the pocket only when the new w makes strictly "
             "fewer mistakes (count them on all N points, sign(0) is a mistake); look for the next mistake "
             "starting just after the point you last corrected (cyclic PLA), not from n = 0 every time; "
             "stop after max_updates updates or when w makes no mistake.",
    )


# The four options of the OR quiz, as printed on the slide (they are part of the question).
OR_QUIZ_OPTIONS = {1: (-3, 1, 1), 2: (-1, 1, 1), 3: (1, 1, 1), 4: (3, 1, 1)}


def check_or_perceptron(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn() -> (alpha_0, alpha_1, alpha_2) such that sign(alpha_0 + alpha_1 g_1 + alpha_2 g_2) = OR(g_1, g_2)
    on all four inputs g_1, g_2 in {-1, +1}. Any weights that do it pass."""

    def gate(g1, g2):
        answer = fn()
        try:
            alpha = np.asarray(answer, dtype=float)
        except (TypeError, ValueError):
            alpha = None
        if alpha is None or alpha.shape != (3,):
            raise ValueError(f"return three numbers (alpha_0, alpha_1, alpha_2), got {fmt(answer)}")
        return int(np.sign(alpha[0] + alpha[1] * g1 + alpha[2] * g2))

    if not callable(fn):
        return check_function(fn, P.logic_or, [], name="or_weights", points=points, verbose=verbose)
    inputs = [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    return check_function(
        gate, P.logic_or, inputs, name="or_weights", points=points, verbose=verbose, arg_names=["g1", "g2"],
        hint="OR is +1 unless both inputs are -1. With g_1 = g_2 = -1 you need alpha_0 - alpha_1 - alpha_2 < 0, "
             "and with exactly one input +1 you need alpha_0 > 0 (for alpha_1 = alpha_2 = 1). Compare with AND "
             "= sign(-1 + g_1 + g_2).",
    )


# ---------------------------------------------------------------- quizzes ---

# answer_digest of the normalized answers; see the module docstring for accepted forms
_SPAM_DIGEST = "038966de9f6b9a901b20b4c6ca8b2a46009feebe031babc842d43690c0bc222b"
_POCKET_VS_PLA_DIGEST = "080a9ed428559ef602668b4c00f114f1a11c3f6b02a435f0bdc154578e4d7f22"
_OR_ALPHAS_DIGEST = "7c82990faec1bff4c63b2c808c53957a4a8846428de5f0f648a2550d7f22a6de"


def as_options(answer) -> Any:
    """An option number, or several, as a set of ints (2, "2", [2], {2} -> {2});
    anything else is returned unchanged (and will not match)."""
    if isinstance(answer, (bool, np.bool_)):
        return answer
    if isinstance(answer, (int, np.integer)):
        return {int(answer)}
    if isinstance(answer, float) and answer.is_integer():
        return {int(answer)}
    if isinstance(answer, str) and answer.strip().isdigit():
        return {int(answer.strip())}
    if isinstance(answer, (set, frozenset, list, tuple)) and answer and \
            all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in answer):
        return {int(a) for a in answer}
    return answer


def check_spam_keywords(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Fun Time 1: which keywords get large positive weights in a spam perceptron? (an option number)"""
    return check_answer(
        answer_fn, _SPAM_DIGEST, convert=as_options, name="answer_spam_keywords", points=points, verbose=verbose,
        expected_type="the number of one option, 1 to 4",
        hint="the output +1 means spam, and w^T x grows when a keyword with a large positive weight occurs "
             "often. Which words are typical of spam?",
    )


def check_pocket_vs_pla(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Fun Time 2: pocket vs PLA on data that is in fact linearly separable. (an option number)"""
    return check_answer(
        answer_fn, _POCKET_VS_PLA_DIGEST, convert=as_options, name="answer_pocket_vs_pla", points=points,
        verbose=verbose, expected_type="the number of one option, 1 to 4",
        hint="on separable data both end with a line that makes no mistake on D. What does pocket do in every "
             "iteration that PLA does not?",
    )


def check_or_alphas(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Fun Time 3: which (alpha_0, alpha_1, alpha_2) makes G an OR? (an option number or the weights)"""

    def normalized(answer):
        if _is_sequence(answer) and len(answer) == 3:
            try:
                return tuple(float(a) for a in answer)
            except (TypeError, ValueError):
                return answer
        options = as_options(answer)
        if isinstance(options, set) and len(options) == 1 and next(iter(options)) in OR_QUIZ_OPTIONS:
            return tuple(float(a) for a in OR_QUIZ_OPTIONS[next(iter(options))])
        return answer

    return check_answer(
        answer_fn, _OR_ALPHAS_DIGEST, convert=normalized, name="answer_or_alphas", points=points, verbose=verbose,
        expected_type="an option number 1 to 4, or the tuple (alpha_0, alpha_1, alpha_2)",
        hint="try each option on the four rows of the truth table; only (g_1, g_2) = (-1, -1) may give "
             "a negative sum.",
    )
