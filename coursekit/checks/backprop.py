"""Exercise checks for unit 05: backpropagation (a dense layer backward, one δ step, the
softmax cross-entropy gradient, the numerical gradient check) and the decks' quizzes.

The references are :mod:`coursekit.nn`'s. The functions handed to the student's
``numerical_gradient`` are instances of :class:`ScalarFunction`, a module-level
class, so the grader can send them to the kernel (its arguments travel pickled).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import linear, nn
from .core import Case, CheckResult, check_answer, check_function, combine, random_cases
from .nn import option, rounded

# ------------------------------------------------------------- exercises ---


def reference_dense_backward(dout, x, W):
    """For h = xW + b: (∂L/∂x, ∂L/∂W, ∂L/∂b) = (dout Wᵀ, xᵀ dout, Σ_rows dout), by coursekit.nn's Linear layer."""
    layer = nn.Linear(W=W)
    _, cache = layer.forward(x)
    dx, grads = layer.backward(dout, cache)
    return dx, grads["W"], grads["b"]


_DENSE_PARTS = (("dx", "like x (N, n_in): dout @ W.T"),
                 ("dW", "like W (n_in, n_out): x.T @ dout"),
                 ("db", "like b (n_out,): dout summed over the rows (axis=0)"))


def _dense_part(fn: Callable, i: int) -> Callable:
    """The i-th of the three gradients that ``fn`` returns, or an error that says what to return."""
    def part(dout, x, W):
        grads = fn(dout, x, W)
        if not isinstance(grads, (tuple, list)) or len(grads) != 3:
            got = f"a {type(grads).__name__} of {len(grads)}" if isinstance(grads, (tuple, list)) else type(grads).__name__
            raise ValueError(f"dense_backward must return the three gradients (dx, dW, db); it returned {got}")
        return grads[i]
    return part


def check_dense_backward(fn: Callable, *, points: int = 3, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(dout, x, W) -> (dx, dW, db) for a dense layer h = xW + b with upstream gradient dout = ∂L/∂h.

    The three gradients are independent parts, each worth a third of the points: a layer whose
    dx and dW are right but whose db averages instead of sums earns two thirds."""
    examples = [
        Case((np.array([[1.0, -2.0]]), np.array([[3.0, 0.5, -1.0]]), np.arange(6.0).reshape(3, 2)),
             label="one example, 3 inputs, 2 outputs"),
        Case((np.ones((2, 2)), np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 2.0], [3.0, 4.0]])),
             label="two examples: db adds both rows"),
        Case((np.array([[0.5], [-0.5], [2.0]]), np.array([[1.0], [2.0], [3.0]]), np.array([[4.0]])),
             label="one input, one output, three examples"),
    ]

    def make(rng, size):
        N, n_in, n_out = 1 + size % 4, 1 + size % 3, 1 + (size + 2) % 4
        return rng.normal(size=(N, n_out)), rng.normal(size=(N, n_in)), rng.normal(size=(n_in, n_out))

    cases = examples + random_cases(make, 16, seed)
    parts = [
        check_function(_dense_part(fn, i), _dense_part(reference_dense_backward, i), cases, name=name,
                       points=points / 3, verbose=False, arg_names=["dout", "x", "W"],
                       hint=f"each gradient has the shape of what it differentiates: {name} {rule}.")
        for i, (name, rule) in enumerate(_DENSE_PARTS)
    ]
    return combine("dense_backward", parts, verbose=verbose)


def reference_delta_step(delta_next, W_next, z):
    """δˡ = σ'(zˡ) ⊙ (δˡ⁺¹ (Wˡ⁺¹)ᵀ) for sigmoid units, batch rows: the upstream gradient δˡ⁺¹(Wˡ⁺¹)ᵀ through
    coursekit.nn's Sigmoid layer."""
    delta_next, W_next = np.asarray(delta_next, dtype=float), np.asarray(W_next, dtype=float)
    layer = nn.Sigmoid()
    _, cache = layer.forward(z)
    return layer.backward(delta_next @ W_next.T, cache)[0]


def check_delta_step(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(delta_next, W_next, z) -> δˡ = σ'(zˡ) ⊙ (δˡ⁺¹ (Wˡ⁺¹)ᵀ), sigmoid units, examples as rows."""
    examples = [
        Case((np.array([[1.0]]), np.array([[2.0], [-1.0]]), np.array([[0.0, 0.0]])),
             label="two hidden units at z = 0 (σ' = 1/4) feeding one output"),
        Case((np.array([[0.5, -1.0]]), np.eye(2), np.array([[1.0, -3.0]])), label="W = I: only σ' scales δ"),
        Case((np.array([[1.0, 2.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [0.5, 1.0], [0.0, 2.0]]),
              np.array([[0.3, -0.2, 0.1], [2.0, 0.0, -1.0]])), label="a batch of two, 3 units below 2"),
        Case((np.array([[1.0]]), np.array([[1.0]]), np.array([[40.0]])), label="a saturated unit: δ ≈ 0"),
    ]

    def make(rng, size):
        N, n, m = 1 + size % 3, 1 + size % 4, 1 + (size + 1) % 3
        return rng.normal(size=(N, m)), rng.normal(size=(n, m)), rng.normal(size=(N, n)) * 2

    return check_function(
        fn, reference_delta_step, examples + random_cases(make, 16, seed), name="delta_step", points=points,
        verbose=verbose, arg_names=["delta_next", "W_next", "z"],
        allow=[nn.sigmoid_prime, nn.sigmoid, linear.theta],   # σ' is unit 04's exercise: a building block here
        hint="with rows as examples, the deck's (Wˡ⁺¹)ᵀ δˡ⁺¹ becomes delta_next @ W_next.T, of shape (N, n); "
             "multiply it elementwise by σ'(z) = σ(z)(1 - σ(z)).",
    )


def reference_softmax_ce_grad(S, y):
    """∂L/∂S of the mean softmax cross-entropy: (softmax(S) - onehot(y)) / N."""
    return nn.softmax_cross_entropy(S, np.asarray(y))[1]


def check_softmax_ce_grad(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(S, y) -> (softmax(S) - onehot(y)) / N for logits S (N, C) and labels y (N,)."""
    examples = [
        Case((np.array([[2.0, 4.0, 2.0, 1.0]]), np.array([1])), label="deck 000's logits, true class 1"),
        Case((np.array([[0.0, 0.0, 0.0]]), np.array([2])), label="equal logits: p = 1/3 everywhere"),
        Case((np.array([[1000.0, -1000.0], [0.0, 1.0]]), np.array([1, 0])), label="logits of ±1000, two rows"),
    ]

    def make(rng, size):
        N, C = 1 + size % 4, 2 + size % 4
        return rng.normal(size=(N, C)) * 3, rng.integers(0, C, N)

    return check_function(
        fn, reference_softmax_ce_grad, examples + random_cases(make, 16, seed), name="softmax_ce_grad", points=points,
        verbose=verbose, arg_names=["S", "y"], allow=[linear.softmax, linear.log_softmax],
        hint="compute p = softmax of each row (subtract the row max first), subtract 1 at each row's true class "
             "(p[np.arange(N), y] -= 1) and divide by N: the loss is a mean over the batch.",
    )


@dataclass(frozen=True)
class ScalarFunction:
    """A scalar function of an array for the gradient-check exercise (picklable, so the grader
    can send it to the student's kernel). ``kind``: "cubic", "sincos", "logsumexp" or "quadratic"."""

    kind: str
    scale: float = 1.0

    def __call__(self, x) -> float:
        x = np.asarray(x, dtype=float)
        if self.kind == "cubic":
            return float(self.scale * np.sum(x ** 3))
        if self.kind == "sincos":
            return float(np.sum(np.sin(self.scale * x)) * np.cos(np.sum(x)))
        if self.kind == "logsumexp":
            m = np.max(x)
            return float(m + np.log(np.sum(np.exp(x - m))))
        return float(self.scale * np.sum(x * x) + np.sum(x))


def reference_numerical_gradient(f, x, h):
    """Centred differences in float64, on a copy of x."""
    return nn.numerical_gradient(f, np.array(x, dtype=np.float64), h)


def _close_to_reference(expected, got):
    from .core import compare_values

    return compare_values(expected, got, atol=1e-7, rtol=1e-6)


def check_numerical_gradient(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(f, x, h) -> the centred-difference gradient (f(x + h eᵢ) - f(x - h eᵢ)) / 2h for every entry of x."""
    examples = [
        Case((ScalarFunction("quadratic"), np.array([1.0, -2.0]), 1e-5), label="f(x) = Σ x² + Σ x: gradient 2x + 1"),
        Case((ScalarFunction("cubic"), np.array([0.5]), 1e-4), label="f(x) = x³ at 0.5: 0.75 (centred, not one-sided)"),
        Case((ScalarFunction("logsumexp"), np.array([[0.5, -1.0], [2.0, 0.0]]), 1e-5),
             label="log-sum-exp of a 2x2 array: the gradient is its softmax, shape (2, 2)"),
        Case((ScalarFunction("sincos", 2.0), np.array([0.3, 0.1, -0.4]), 1e-5), label="a function that mixes entries"),
    ]

    def make(rng, size):
        kind = ["cubic", "sincos", "logsumexp", "quadratic"][size % 4]
        shape = (1 + size % 3,) if size % 2 else (1 + size % 2, 2)
        return ScalarFunction(kind, float(rng.uniform(0.5, 2.0))), rng.normal(size=shape), 1e-5

    return check_function(
        fn, reference_numerical_gradient, examples + random_cases(make, 12, seed), name="numerical_gradient",
        points=points, verbose=verbose, arg_names=["f", "x", "h"], compare=_close_to_reference,
        hint="loop over every index of x (np.ndindex(x.shape)); add h to that one entry of a float64 copy, "
             "evaluate f, subtract h from the original entry, evaluate f again, and store the difference "
             "divided by 2h. A one-sided difference (f(x+h) - f(x))/h is off by about h·f''/2.",
    )


# --------------------------------------------------------------- quizzes ---

_ZERO_GRADIENT_DIGEST = "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"   # option 4
_WEIGHTS_351_DIGEST = "5f9c4ab08cac7457e9111a30e4664920607ea2c115a1433d7be98e97e64244ca"
_SIGMA_PRIME_MAX_DIGEST = "a30a043314fa89294fa2c1c989a01fbb5329e5c085a5c5a8d27317656de24ae0"


def check_zero_gradient_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 000: when is ∂eₙ/∂w_{i1}^(L) = -2(yₙ - s₁^(L)) x_i^(L-1) zero? ① yₙ = s₁^(L),
    ② x_i^(L-1) = 0, ③ s_i^(L-1) = 0, ④ all of the above."""
    return check_answer(answer_fn, _ZERO_GRADIENT_DIGEST, convert=option, name="answer_zero_gradient", points=points,
                        expected_type="the option number, 1 to 4", verbose=verbose,
                        hint="a product is zero when one factor is; and x_i^(L-1) = tanh(s_i^(L-1)).")


def check_weight_count_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 000: how many weights w_ij^(ℓ) (biases w_0j included) has a 3-5-1 network?"""
    def as_int(answer):
        return int(answer) if isinstance(answer, (int, float, np.integer, np.floating)) and not isinstance(
            answer, bool) and float(answer).is_integer() else answer
    return check_answer(answer_fn, _WEIGHTS_351_DIGEST, convert=as_int, name="answer_weights_3_5_1", points=points,
                        expected_type="a whole number", verbose=verbose,
                        hint="layer ℓ has (d^(ℓ-1) + 1) × d^(ℓ) weights: every unit of the layer below, plus x₀ = 1, "
                             "connects to every unit of layer ℓ.")


def check_sigma_prime_max_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """The decks say σ'(z) "< 1". What is the largest value σ'(z) = σ(z)(1 - σ(z)) takes?"""
    return check_answer(answer_fn, _SIGMA_PRIME_MAX_DIGEST, convert=rounded(4), name="answer_sigma_prime_max",
                        points=points, expected_type="a number", verbose=verbose,
                        hint="s(1 - s) for s in (0, 1) is a parabola: where is its top?")
