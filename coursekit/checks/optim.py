"""Exercise checks for unit 03: logistic regression and gradient descent.

Each check runs the student's function next to the reference in
:mod:`coursekit.linear` / :mod:`coursekit.optim`: the lecture's worked
examples first (deck 003's 20-point set, deck 000's heart-attack setting),
then seeded random inputs. None of them raises.

Quiz answers are stored only as digests (:func:`coursekit.checks.answer_digest`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import datasets, linear, optim
from .core import Case, CheckResult, check_answer, check_function, random_cases


def _regression_20():
    x, y = datasets.regression_20()
    return x, y


# ------------------------------------------------------------- exercises ---


def check_logistic_gradient(fn: Callable, *, points: int = 3, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(w, X, y) -> ∇E_in(w) = (1/N) Σ θ(-yₙ wᵀxₙ)(-yₙ xₙ), shape (d+1,)."""
    X_heart, y_heart = datasets.heart_attack(n=12, seed=seed)
    X_heart = np.column_stack([np.ones(len(X_heart)), X_heart])
    examples = [
        Case((np.zeros(3), X_heart, y_heart.astype(float)), label="w = 0 on 12 heart-attack patients"),
        Case((np.array([-0.5, 1.5, 1.0]), X_heart, y_heart.astype(float)), label="the true heart-attack weights"),
        Case((np.array([0.0, 1.0]), np.array([[1.0, 2.0]]), np.array([1.0])), label="one point, correct side"),
        Case((np.array([0.0, 1.0]), np.array([[1.0, 2.0]]), np.array([-1.0])), label="one point, wrong side"),
        Case((np.array([0.0, 200.0]), np.array([[1.0, 5.0], [1.0, -5.0]]), np.array([1.0, 1.0])),
             label="scores of ±1000 (is your θ overflow-safe?)"),
    ]

    def make(rng, size):
        N, d = 1 + size, 1 + size % 3
        X = np.column_stack([np.ones(N), rng.normal(size=(N, d))])
        return rng.normal(size=d + 1), X, rng.choice([-1.0, 1.0], size=N)

    return check_function(
        fn, linear.logistic_gradient, examples + random_cases(make, 20, seed), name="logistic_gradient",
        points=points, verbose=verbose, arg_names=["w", "X", "y"],
        hint="s = y * (X @ w) is the vector of yₙwᵀxₙ; weight each row -yₙxₙ by θ(-sₙ) and average over the N rows: "
             "X.T @ (theta(-s) * -y) / N. Use θ(s) = 1/(1+exp(-s)) in an overflow-safe form (coursekit.linear.theta).",
    )


def check_gd_step(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(params, x, y, eta) -> params - eta ∇C(params) for C(w, b) = (1/N) Σ (w xₙ + b - yₙ)²."""
    x, y = _regression_20()
    examples = [
        Case((np.array([0.0, 0.0]), x, y, 0.01), label="deck 003's 20 points from (w, b) = (0, 0)"),
        Case((np.array([-0.25, -4.0]), x, y, 0.03), label="20 points, eta = 0.03"),
        Case((np.array([1.0, 1.0]), np.array([1.0]), np.array([3.0]), 0.5), label="one point"),
    ]

    def make(rng, size):
        N = 1 + size
        xs = rng.normal(size=N) * 2
        return rng.normal(size=2), xs, 1.5 * xs + rng.normal(size=N), float(rng.uniform(0.001, 0.2))

    return check_function(
        fn, optim.least_squares_gd_step, examples + random_cases(make, 20, seed), name="gd_step", points=points,
        verbose=verbose, arg_names=["params", "x", "y", "eta"],
        hint="with r = w*x + b - y, the gradient is (2*mean(r*x), 2*mean(r)); "
             "return np.array([w, b]) - eta * gradient (the mean is over all N points: C is an average).",
    )


def check_momentum_step(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(theta, m, grad, eta, lam) -> (theta + m_new, m_new) with m_new = lam*m - eta*grad (deck 003)."""
    examples = [
        Case((np.array([1.0, -2.0]), np.zeros(2), np.array([0.5, -1.0]), 0.1, 0.9), label="first step: m = 0"),
        Case((np.array([1.0, -2.0]), np.array([-0.05, 0.1]), np.array([0.4, -0.8]), 0.1, 0.9),
             label="the gradient keeps its sign: the step grows"),
        Case((np.array([0.0]), np.array([0.3]), np.array([2.0]), 0.1, 0.5), label="the gradient turns around"),
    ]

    def make(rng, size):
        P = 1 + size % 5
        return (rng.normal(size=P), rng.normal(size=P) * 0.1, rng.normal(size=P), float(rng.uniform(0.01, 0.5)),
                float(rng.uniform(0.0, 0.99)))

    return check_function(
        fn, optim.momentum_step, examples + random_cases(make, 20, seed), name="momentum_step", points=points,
        verbose=verbose, arg_names=["theta", "m", "grad", "eta", "lam"],
        hint="first the movement, m_new = lam * m - eta * grad; then move by it, theta_new = theta + m_new; "
             "return the tuple (theta_new, m_new).",
    )


def check_iterations_per_epoch(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(N, batch_size) -> the number of updates in one epoch, ⌈N / batch_size⌉."""
    examples = [Case((2000, 500), label="deck 000: 2000 examples, batches of 500"),
                Case((20, 1), label="deck 003: SGD on 20 examples"),
                Case((20, 20), label="full batch"), Case((20, 6), label="the last batch is smaller")]

    def make(rng, size):
        return int(rng.integers(1, 60 * size + 2)), int(rng.integers(1, 12 * size + 2))

    return check_function(
        fn, optim.iterations_per_epoch, examples + random_cases(make, 20, seed), name="iterations_per_epoch",
        points=points, verbose=verbose, arg_names=["N", "batch_size"],
        hint="every example is used once per epoch and a smaller last batch still costs an update: "
             "round N / batch_size *up* (math.ceil, or -(-N // batch_size)).",
    )


# --------------------------------------------------------------- quizzes ---

_ITERATIONS_DIGEST = "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"
_SGD_UPDATES_DIGEST = "f5ca38f748a1d6eaf726b8a42fb575c3c71f1864a8143301782de13da2d9202b"
_FASTER_DIGEST = "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
_DIVERGING_DIGEST = "13ea03b828a134d0583599c5b8c54f46f714032f78f74ea6bf8d3d0bfbbe364b"
_SIGMA0_DIGEST = "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"


def _option(answer):
    """An option number given as 2, {2}, [2] or "2"; the words "mini-batch" / "SGD" too."""
    if isinstance(answer, (set, frozenset, list, tuple)) and len(answer) == 1:
        answer = next(iter(answer))
    if isinstance(answer, str):
        text = answer.strip().lower().replace("-", "").replace(" ", "")
        words = {"minibatch": 2, "minibatchgradientdescent": 2, "sgd": 1, "stochasticgradientdescent": 1}
        if text in words:
            return words[text]
        return int(text) if text.isdigit() else answer
    return answer


def _number(answer):
    """A number as a float (2, 2.0 and np.float32(2) alike)."""
    return float(answer) if isinstance(answer, (int, float, np.number)) else answer


def _number_set(answer):
    if isinstance(answer, (int, float, np.integer, np.floating)):
        answer = {answer}
    if isinstance(answer, (set, frozenset, list, tuple, np.ndarray)):
        try:
            return {float(a) for a in answer}
        except (TypeError, ValueError):
            return answer
    return answer


def check_iterations_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 000: 2000 examples in batches of 500; how many iterations make one epoch?"""
    return check_answer(answer_fn, _ITERATIONS_DIGEST, name="answer_iterations_2000_500", points=points,
                        expected_type="an integer", verbose=verbose,
                        hint="one iteration = one batch; how many batches of 500 hold 2000 examples?")


def check_sgd_updates_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 003: SGD on the 20-point set; how many updates in one epoch?"""
    return check_answer(answer_fn, _SGD_UPDATES_DIGEST, name="answer_sgd_updates_per_epoch", points=points,
                        expected_type="an integer", verbose=verbose,
                        hint="SGD updates after every single example.")


def check_faster_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 003: which finishes an epoch faster in practice, 1 = SGD or 2 = mini-batch?"""
    return check_answer(answer_fn, _FASTER_DIGEST, convert=_option, name="answer_faster_per_epoch", points=points,
                        expected_type="the option number, 1 or 2", verbose=verbose,
                        hint="compare B matrix-vector products with one matrix-matrix product.")


def check_diverging_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Which of η ∈ {0.001, 0.01, 0.03, 0.05} make full-batch GD on C(w, b) of the 20-point set diverge?"""
    return check_answer(answer_fn, _DIVERGING_DIGEST, convert=_number_set, name="answer_diverging_etas",
                        points=points, expected_type="a set of learning rates, e.g. {0.01, 0.03}", verbose=verbose,
                        hint="GD on a quadratic is stable when η < 2/λ_max, λ_max the largest eigenvalue of the "
                             "Hessian of C: compute it with np.linalg.eigvalsh.")


def check_sigma0_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 003 prints σ⁰ = g⁰ for Adagrad. If g⁰ = -2, what is σ⁰ really?"""
    return check_answer(answer_fn, _SIGMA0_DIGEST, convert=_number, name="answer_adagrad_sigma0", points=points,
                        expected_type="a number", verbose=verbose,
                        hint="σ⁰ is the root mean square of the first gradient alone: √((g⁰)²).")
