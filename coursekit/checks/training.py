"""Exercise checks for unit 06: training deep networks.

Each check runs the student's function next to the reference in
:mod:`coursekit.regularization` / :mod:`coursekit.initialization`: the decks'
worked examples first, then seeded random inputs. None of them raises.

Quiz answers are stored only as digests (:func:`coursekit.checks.answer_digest`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import initialization, regularization
from .core import Case, CheckResult, check_answer, check_function, compare_values, expect_number, fmt, random_cases


# ------------------------------------------------------------- exercises ---

def _inverted_dropout(h, mask, p):
    return regularization.dropout_forward(h, p, training=True, mode="inverted", mask=mask)


def check_inverted_dropout(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(h, mask, p) -> h * mask / (1 - p): inverted dropout in training mode, with a given 0/1 mask."""
    h = np.array([[1.0, 2.0, 3.0, 4.0]])
    examples = [
        Case((h, np.array([[1.0, 0.0, 1.0, 0.0]]), 0.5), label="deck 003's rate of 50 %: kept units double"),
        Case((h, np.ones((1, 4)), 0.2), label="nothing dropped, p = 0.2: every unit times 1.25"),
        Case((np.array([[0.5, -1.0], [2.0, 3.0]]), np.array([[0.0, 1.0], [1.0, 1.0]]), 0.25),
             label="a batch of two rows"),
    ]

    def make(rng, size):
        shape = (1 + size % 4, 1 + size)
        p = float(rng.choice([0.1, 0.25, 0.5, 0.8]))
        return rng.normal(size=shape), (rng.uniform(size=shape) >= p).astype(float), p

    return check_function(
        fn, _inverted_dropout, examples + random_cases(make, 16, seed), name="inverted_dropout", points=points,
        verbose=verbose, arg_names=["h", "mask", "p"],
        hint="zero the dropped units with the mask, then divide what is left by the keep probability 1 - p, "
             "so that the expected output equals h: return h * mask / (1 - p).",
    )


def _batchnorm_train(z, gamma, beta, eps=1e-5):
    D = z.shape[1]
    return regularization.batchnorm_forward(z, gamma, beta, np.zeros(D), np.ones(D), True, eps)[0]


def _batchnorm_eval(z, gamma, beta, running_mean, running_var, eps=1e-5):
    return regularization.batchnorm_forward(z, gamma, beta, running_mean, running_var, False, eps)[0]


def check_batchnorm_train(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(z, gamma, beta, eps) -> gamma * (z - mu_B) / sqrt(var_B + eps) + beta with the batch's own
    mean and (1/N) variance per column."""
    z = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0], [7.0, 20.0]])
    examples = [
        Case((z, np.ones(2), np.zeros(2), 1e-5), label="γ = 1, β = 0: each column gets mean 0, variance 1"),
        Case((z, np.array([2.0, 0.5]), np.array([1.0, -1.0]), 1e-5), label="scale and shift"),
        Case((z, np.array([-1.0, 1.0]), np.array([-3.0, 0.0]), 1e-3), label="negative γ and β are allowed"),
    ]

    def make(rng, size):
        N, D = 2 + size % 5, 1 + size % 4
        return (rng.normal(size=(N, D)) * rng.uniform(0.5, 5) + rng.normal() * 3, rng.normal(size=D),
                rng.normal(size=D), float(rng.choice([1e-5, 1e-3])))

    return check_function(
        fn, _batchnorm_train, examples + random_cases(make, 16, seed), name="batchnorm_train", points=points,
        verbose=verbose, arg_names=["z", "gamma", "beta", "eps"], compare=lambda e, g: _close(e, g, 1e-6),
        hint="per column (axis=0): mu = z.mean(axis=0), var = z.var(axis=0) (the 1/N variance, not 1/(N-1)); "
             "z_hat = (z - mu) / np.sqrt(var + eps); return gamma * z_hat + beta.",
    )


def check_batchnorm_eval(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(z, gamma, beta, running_mean, running_var, eps) -> the evaluation-mode output, normalized by the
    running averages instead of the batch's statistics."""
    examples = [
        Case((np.array([[2.0, 0.0]]), np.ones(2), np.zeros(2), np.array([1.0, 0.0]), np.array([4.0, 1.0]), 1e-5),
             label="one example: the batch's own variance would be 0"),
        Case((np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([2.0, 1.0]), np.array([0.5, 0.0]), np.array([2.0, 3.0]),
              np.array([1.0, 0.25]), 1e-5), label="two examples, normalized one by one"),
    ]

    def make(rng, size):
        N, D = 1 + size % 4, 1 + size % 3
        return (rng.normal(size=(N, D)) * 2, rng.normal(size=D), rng.normal(size=D), rng.normal(size=D),
                rng.uniform(0.1, 4, size=D), 1e-5)

    return check_function(
        fn, _batchnorm_eval, examples + random_cases(make, 16, seed), name="batchnorm_eval", points=points,
        verbose=verbose, arg_names=["z", "gamma", "beta", "running_mean", "running_var", "eps"],
        compare=lambda e, g: _close(e, g, 1e-6),
        hint="at test time the statistics are fixed numbers from training: "
             "gamma * (z - running_mean) / np.sqrt(running_var + eps) + beta (no mean or var of z itself).",
    )


def _close(expected, got, atol):
    return compare_values(expected, got, atol=atol, rtol=1e-5)


def check_xavier_limit(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(n_in, n_out) -> Xavier's uniform limit sqrt(6 / (n_in + n_out))."""
    examples = [Case((3, 2), label="deck 002's layer: n_in = 3, n_out = 2"), Case((64, 10), label="64 pixels to 10 classes"),
                Case((784, 500), label="deck 004's first layer")]

    def make(rng, size):
        return int(rng.integers(1, 50 * size + 2)), int(rng.integers(1, 50 * size + 2))

    return check_function(
        fn, initialization.xavier_limit, examples + random_cases(make, 12, seed), name="xavier_limit",
        points=points, verbose=verbose, arg_names=["n_in", "n_out"],
        compare=expect_number("the limit a of U(-a, a)", "return one float"),
        hint="a uniform variable on [-a, a] has variance a²/3; setting it to 2/(n_in + n_out) gives "
             "a = sqrt(6 / (n_in + n_out)).",
    )


def check_weight_decay_step(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(w, grad, eta, lam) -> (1 - eta*lam) * w - eta * grad (deck 003, PyTorch's SGD weight_decay)."""
    examples = [
        Case((np.array([1.0, -2.0]), np.zeros(2), 0.1, 0.01), label="zero gradient: the weights only shrink"),
        Case((np.array([1.0, -2.0]), np.array([0.5, 0.5]), 0.1, 0.0), label="λ = 0: a plain gradient step"),
        Case((np.array([[0.3, -0.7], [1.5, 0.0]]), np.array([[1.0, -1.0], [0.2, 0.4]]), 0.5, 0.1),
             label="a weight matrix"),
    ]

    def make(rng, size):
        shape = (1 + size,) if size % 2 else (1 + size % 3, 2)
        return rng.normal(size=shape), rng.normal(size=shape), float(rng.uniform(0.01, 0.5)), float(rng.uniform(0, 0.1))

    return check_function(
        fn, regularization.weight_decay_step, examples + random_cases(make, 16, seed), name="weight_decay_step",
        points=points, verbose=verbose, arg_names=["w", "grad", "eta", "lam"],
        hint="the gradient of C + (λ/2)‖w‖² is ∂C/∂w + λw; one step of size eta on it gives "
             "(1 - eta * lam) * w - eta * grad (not deck 004's 0.99 * (w - eta * grad)).",
    )


def check_early_stopping(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(val_losses, patience) -> (best_epoch, stop_epoch), 0-based (see regularization.early_stopping)."""
    examples = [
        Case(([1.0, 0.8, 0.7, 0.72, 0.75, 0.9], 2), label="the loss turns up after epoch 2"),
        Case(([1.0, 0.9, 0.8, 0.7], 3), label="always improving: run to the end"),
        Case(([0.5, 0.5, 0.5, 0.5], 2), label="equal is not better"),
        Case(([1.0, 0.6, 0.65, 0.55, 0.7, 0.71, 0.72], 2), label="a late improvement resets the count"),
    ]

    def make(rng, size):
        n = 2 + size
        curve = 1.0 / (1 + np.arange(n)) + 0.02 * np.arange(n) * rng.uniform(0.5, 2) + rng.normal(0, 0.02, n)
        return [float(v) for v in curve], int(rng.integers(1, 5))

    return check_function(
        fn, lambda losses, patience: regularization.early_stopping(losses, patience),
        examples + random_cases(make, 16, seed), name="early_stopping", points=points, verbose=verbose,
        arg_names=["val_losses", "patience"], compare=_pair_of_ints,
        hint="walk through the epochs keeping the best (strictly lowest) loss so far and its epoch; stop at the "
             "first epoch that is `patience` epochs after the best one; return (best_epoch, stop_epoch), and "
             "(best_epoch, len(val_losses) - 1) if training never stops early.",
    )


def _pair_of_ints(expected, got):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a pair (best_epoch, stop_epoch), got {fmt(got)}"
    if any(isinstance(v, float) and not float(v).is_integer() for v in got):
        return f"epochs are whole numbers, got {fmt(got)}"
    return compare_values(tuple(float(v) for v in expected), tuple(got))


def check_smooth_labels(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(y, M, alpha) -> (1 - alpha) * onehot(y) + alpha / M, shape (N, M)."""
    examples = [Case((np.array([2]), 4, 0.1), label="one label of 4 classes, α = 0.1"),
                Case((np.array([0, 1, 2]), 3, 0.0), label="α = 0: plain one-hot rows"),
                Case((np.array([9, 0]), 10, 0.2), label="digits: 10 classes")]

    def make(rng, size):
        M = int(rng.integers(2, 11))
        return rng.integers(0, M, size=1 + size % 6), M, float(rng.uniform(0, 0.5))

    return check_function(
        fn, regularization.smooth_labels, examples + random_cases(make, 12, seed), name="smooth_labels",
        points=points, verbose=verbose, arg_names=["y", "M", "alpha"],
        hint="start from one-hot rows (np.eye(M)[y]), multiply by 1 - alpha and add alpha / M to every entry: "
             "each row still sums to 1.",
    )


# --------------------------------------------------------------- quizzes ---

_CE_BETTER_DIGEST = "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
_DROPOUT_WEIGHT_DIGEST = "d2cbad71ff333de67d07ec676e352ab7f38248eb69c942950157220607c55e84"
_DECAY_LEFT_DIGEST = "afd9f7f1ee7bc879ed6f2be2438a736480ddea7fe6806853682709ebfe11b3fe"
_SADDLE_DIGEST = "178776e042d7fee84193d858156882902f173a4bdb7a4ab42cf9d6def9da7105"
_LOSS_WITH_SOFTMAX_DIGEST = "ea9082c79148c4d3bfbf0e2b41e46ce8b72b16a5afb8c350b68f3ccd4eb13159"


def _rounded(digits: int):
    def convert(answer):
        if isinstance(answer, (int, float, np.integer, np.floating)) and not isinstance(answer, bool):
            return round(float(answer), digits)
        return answer
    return convert


def _option(answer):
    if isinstance(answer, (set, frozenset, list, tuple)) and len(answer) == 1:
        answer = next(iter(answer))
    if isinstance(answer, str) and answer.strip().isdigit():
        return int(answer.strip())
    return answer


def _counts(answer):
    if isinstance(answer, (list, tuple, np.ndarray)):
        try:
            return [int(a) if float(a).is_integer() else float(a) for a in answer]
        except (TypeError, ValueError):
            return answer
    return answer


def _loss_name(answer):
    if isinstance(answer, str):
        text = answer.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
        return {"crossentropy": "cross-entropy", "ce": "cross-entropy", "squareerror": "square error",
                "squarederror": "square error", "mse": "square error"}.get(text, text)
    return answer


def check_better_model_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 000: two models, both with classification error 1/3. Which is better, 1 or 2?"""
    return check_answer(answer_fn, _CE_BETTER_DIGEST, convert=_option, name="answer_better_model", points=points,
                        expected_type="the model number, 1 or 2", verbose=verbose,
                        hint="compare the average cross-entropies -(1/3) Σ ln(probability given to the right class).")


def check_dropout_weight_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Decks 003/004: trained with a dropout rate of 50 %, a weight is 1. What is it at test time
    (dropout scaled at test time, as the decks do)?"""
    return check_answer(answer_fn, _DROPOUT_WEIGHT_DIGEST, convert=_rounded(6), name="answer_dropout_test_weight",
                        points=points, expected_type="a number", verbose=verbose,
                        hint="during training each unit was there only with probability 1 - p.")


def check_decay_left_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 004's rule w ← 0.99(w - η∂L/∂w) with a zero gradient for 100 steps: what share of a weight is left?
    (three decimals)"""
    return check_answer(answer_fn, _DECAY_LEFT_DIGEST, convert=_rounded(3), name="answer_decay_left",
                        points=points, expected_type="a number rounded to three decimals", verbose=verbose,
                        hint="each step multiplies the weight by 0.99.")


def check_saddle_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002's counting argument for P = 3 parameters: #minima : #maxima : #saddle points?"""
    return check_answer(answer_fn, _SADDLE_DIGEST, convert=_counts, name="answer_saddle_counts", points=points,
                        expected_type="a list of three whole numbers [minima, maxima, saddles]", verbose=verbose,
                        hint="each of the P eigenvalues is positive or negative with probability ½: count the sign "
                             "patterns that are all positive, all negative, and mixed.")


def check_loss_with_softmax_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 004: with a softmax output layer, which loss should you choose: "square error" or "cross-entropy"?"""
    return check_answer(answer_fn, _LOSS_WITH_SOFTMAX_DIGEST, convert=_loss_name, name="answer_loss_with_softmax",
                        points=points, expected_type='"square error" or "cross-entropy"', verbose=verbose,
                        hint="look at the two test accuracies the notebook measured.")
