"""Exercise checks for unit 04: neural networks (neurons, activations, layers, softmax).

Each check runs the student's function next to the reference in
:mod:`coursekit.nn` / :mod:`coursekit.linear`: the decks' worked examples first
(Hung-yi Lee's network, deck 000's softmax of [2, 4, 2, 1]), then inputs that
catch the usual slips (huge logits, a batch of one), then seeded random inputs.
None of them raises. Quiz answers are stored only as digests.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import linear, nn
from .core import Case, CheckResult, check_answer, check_function, random_cases

# Hung-yi Lee's network (decks 001/004), first layer, in the row convention h = xW + b
HUNG_YI_LEE_W1 = np.array([[1.0, -2.0], [-1.0, 1.0]]).T
HUNG_YI_LEE_B1 = np.array([1.0, 0.0])


# ------------------------------------------------------------- exercises ---

def check_sigmoid_prime(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(z) -> σ'(z) = σ(z)(1 - σ(z)), elementwise on an array of any shape."""
    examples = [
        Case((np.array([0.0]),), label="z = 0, where σ' is largest"),
        Case((np.array([-2.0, -1.0, 1.0, 2.0]),), label="symmetric: σ'(-z) = σ'(z)"),
        Case((np.array([-1000.0, 1000.0]),), label="z = ±1000 (is your σ overflow-safe?)"),
        Case((np.array([[4.0, -2.0], [0.5, 0.0]]),), label="a 2-D array"),
    ]

    def make(rng, size):
        return (rng.normal(size=(size, 1 + size % 3)) * 4,)

    return check_function(
        fn, nn.sigmoid_prime, examples + random_cases(make, 16, seed), name="sigmoid_prime", points=points,
        verbose=verbose, arg_names=["z"], allow=[nn.sigmoid, linear.theta],
        hint="compute s = σ(z) once (coursekit.nn.sigmoid, or 1/(1+exp(-z)) written so that exp never sees a "
             "large positive number) and return s * (1 - s).",
    )


def reference_dense_forward(X, W, b):
    """a = σ(XW + b) for a batch of rows X (N, n_in), W (n_in, n_out), b (n_out,): coursekit.nn's
    Linear layer and sigmoid (so an answer that calls the layer is calling the reference)."""
    h, _ = nn.Linear(W=W, b=b).forward(X)
    return nn.sigmoid(h)


def check_dense_forward(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(X, W, b) -> σ(XW + b): one sigmoid layer on a batch of examples as rows."""
    examples = [
        Case((np.array([[1.0, -1.0]]), HUNG_YI_LEE_W1, HUNG_YI_LEE_B1),
             label="Hung-yi Lee's first layer at x = [1, -1]: σ([4, -2]) = [0.98, 0.12]"),
        Case((np.array([[1.0, -1.0], [0.0, 0.0]]), HUNG_YI_LEE_W1, HUNG_YI_LEE_B1), label="two examples as rows"),
        Case((np.array([[1.2, -1.0, 2.2]]), np.full((3, 4), 0.5), np.zeros(4)),
             label="deck 002's spam email x = [1.2, -1, 2.2] into 4 units"),
        Case((np.ones((2, 3)), np.zeros((3, 1)), np.array([-1000.0])), label="a bias of -1000"),
    ]

    def make(rng, size):
        N, n_in, n_out = 1 + size % 4, 1 + size % 3, 1 + (size + 1) % 4
        return rng.normal(size=(N, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)

    return check_function(
        fn, reference_dense_forward, examples + random_cases(make, 16, seed), name="dense_forward", points=points,
        verbose=verbose, arg_names=["X", "W", "b"], allow=[nn.sigmoid, linear.theta],
        hint="rows are examples: X @ W has shape (N, n_out), and b (n_out,) is added to every row by "
             "broadcasting; then apply σ elementwise (coursekit.nn.sigmoid is overflow-safe).",
    )


def reference_softmax_temperature(z, T):
    """softmax(z / T) along the last axis, stable for logits of ±1000."""
    return linear.softmax(np.asarray(z, dtype=float) / float(T), axis=-1)


def check_softmax_temperature(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(z, T) -> softmax(z / T) over the last axis."""
    deck = np.array([2.0, 4.0, 2.0, 1.0])
    examples = [
        Case((deck, 1.0), label="deck 000's [2, 4, 2, 1] at T = 1: [0.1025, 0.7573, 0.1025, 0.0377]"),
        Case((deck, 100.0), label="a high temperature: nearly uniform"),
        Case((deck, 0.05), label="a low temperature: nearly argmax"),
        Case((np.array([1000.0, 999.0, -1000.0]), 1.0), label="logits of ±1000 (subtract the max first)"),
        Case((np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]), 2.0), label="a batch of rows: normalize each row"),
    ]

    def make(rng, size):
        return rng.normal(size=(1 + size % 3, 2 + size % 4)) * 3, float(rng.choice([0.1, 0.5, 1.0, 2.0, 10.0]))

    return check_function(
        fn, reference_softmax_temperature, examples + random_cases(make, 16, seed), name="softmax_temperature",
        points=points, verbose=verbose, arg_names=["z", "T"],
        hint="divide the logits by T, subtract the largest of each row (keepdims=True) so that exp never "
             "overflows, exponentiate, and divide by the row sums (axis=-1, keepdims=True).",
    )


# --------------------------------------------------------------- quizzes ---

_OR_DIGEST = "4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce"          # option 3
_SPAM_CE_DIGEST = "77ac319bfe1979e2d799d9e6987e65feb54f61511c03552ebae990826c208590"     # 2 decimals


def option(answer):
    """An option number given as 3, "3", "③" or {3}."""
    if isinstance(answer, (set, frozenset, list, tuple)) and len(answer) == 1:
        answer = next(iter(answer))
    if isinstance(answer, str):
        text = answer.strip().strip("()").translate(str.maketrans("①②③④⑤", "12345"))
        return int(text) if text.isdigit() else answer
    return answer


def rounded(decimals: int):
    def convert(answer):
        if isinstance(answer, (bool, np.bool_)):
            return answer
        try:
            return round(float(answer), decimals)
        except (TypeError, ValueError):
            return answer
    return convert


def check_or_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 000: which (α₀, α₁, α₂) lets G(x) = sign(α₀ + α₁g₁(x) + α₂g₂(x)) implement OR(g₁, g₂)?"""
    return check_answer(answer_fn, _OR_DIGEST, convert=option, name="answer_or_aggregation", points=points,
                        expected_type="the option number, 1 to 4", verbose=verbose,
                        hint="try the four inputs (g₁, g₂) ∈ {±1}²: OR is -1 only when both are -1, so the sum must "
                             "be negative there and positive in the other three cases.")


def check_spam_cross_entropy_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: the spam network outputs p(x) = [0.3, 0.7] for an email whose label is spam (class 1,
    the first entry). What is its cross-entropy loss (natural log), to two decimals?"""
    return check_answer(answer_fn, _SPAM_CE_DIGEST, convert=rounded(2), name="answer_spam_cross_entropy",
                        points=points, expected_type="a number, e.g. 0.42", verbose=verbose,
                        hint="cross-entropy with a one-hot target keeps one term: -ln of the probability given to "
                             "the true class.")
