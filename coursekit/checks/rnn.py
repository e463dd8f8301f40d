"""Exercise checks for unit 09: recurrent networks.

Each check runs the student's function next to the reference in
:mod:`coursekit.rnn`: the decks' worked examples first (deck 002's two
time-slices X0, X1; a forget gate shut or wide open), then seeded random
inputs. None of them raises. Quiz answers are stored only as digests.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import rnn
from .core import Case, CheckResult, check_answer, check_function, random_cases

# Deck 002's two time-slices: a batch of 4 examples with 3 features, at t = 0 and t = 1.
DECK_X0 = np.array([[0.0, 1.0, -2.0], [-3.0, 4.0, 5.0], [6.0, 7.0, -8.0], [6.0, -1.0, 2.0]])
DECK_X1 = np.array([[9.0, 8.0, 7.0], [0.0, 0.0, 0.0], [6.0, 5.0, 4.0], [1.0, 2.0, 3.0]])


def deck_weights(H: int = 5, blocks: int = 1, seed: int = 2):
    """Seeded U (3, blocks·H), W (H, blocks·H), b for deck 002's inputs (its own U and W
    came from torch.randn, unseeded, so the slide's numbers cannot be reproduced)."""
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(3, blocks * H)) * 0.5, rng.normal(size=(H, blocks * H)) * 0.5,
            rng.normal(size=blocks * H) * 0.1)


# ------------------------------------------------------------- exercises ---

def check_rnn_step(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(x, h_prev, U, W, b) -> h = tanh(x U + h_prev W + b) (rows: x (B, D), h_prev (B, H))."""
    U, W, b = deck_weights()
    H = W.shape[0]
    examples = [
        Case((DECK_X0, np.zeros((4, H)), U, W, b), label="deck 002's X0 with no previous state: h0 = tanh(X0 U + b)"),
        Case((DECK_X1, np.tanh(DECK_X0 @ U + b), U, W, b), label="deck 002's X1 after h0: h1 = tanh(h0 W + X1 U + b)"),
        Case((np.array([[1.0]]), np.array([[0.5]]), np.array([[2.0]]), np.array([[-1.0]]), np.array([0.0])),
             label="one unit: tanh(2 - 0.5)"),
    ]

    def make(rng, size):
        B, D, H = 1 + size % 3, 1 + size % 4, 1 + size % 5
        return (rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(D, H)), rng.normal(size=(H, H)),
                rng.normal(size=H))

    return check_function(
        fn, rnn.rnn_step, examples + random_cases(make, 20, seed), name="rnn_step", points=points, verbose=verbose,
        arg_names=["x", "h_prev", "U", "W", "b"],
        hint="rows multiply from the left here: x @ U has shape (B, H), h_prev @ W too; add b and apply np.tanh. "
             "(Deck 000's W_hh h_{t-1} + W_xh x_t is the same with column vectors and transposed matrices.)",
    )


def reference_lstm_step(x, h_prev, c_prev, U, W, b):
    """(h, c) of one LSTM step, gate blocks (i, f, g, o)."""
    h, c, _ = rnn.lstm_step(x, h_prev, c_prev, U, W, b)
    return h, c


def check_lstm_step(fn: Callable, *, points: int = 3, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(x, h_prev, c_prev, U, W, b) -> (h, c): one LSTM step with gate blocks (i, f, g, o)."""
    H = 2
    U, W, b = deck_weights(H, 4)
    shut = b.copy()
    shut[H:2 * H] = -50.0                       # forget gate σ(-50) = 0: the old cell state is wiped
    open_ = b.copy()
    open_[H:2 * H], open_[:H] = 50.0, -50.0     # f = 1, i = 0: c is carried over unchanged
    c_prev = np.array([[0.8, -1.5]] * 4)
    h_prev = np.tanh(DECK_X0 @ U[:, :H])
    examples = [
        Case((DECK_X1, h_prev, c_prev, U, W, b), label="deck 002's X1, H = 2"),
        Case((DECK_X1, h_prev, c_prev, U, W, shut), label="forget gate shut (f = 0): c = i ⊙ g"),
        Case((DECK_X1, h_prev, c_prev, U, W, open_), label="forget gate open, input gate shut: c = c_prev"),
        Case((DECK_X0, np.zeros((4, H)), np.zeros((4, H)), U, W, b), label="first step, zero states"),
    ]

    def make(rng, size):
        B, D, H = 1 + size % 3, 1 + size % 4, 1 + size % 4
        return (rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H)),
                rng.normal(size=(D, 4 * H)), rng.normal(size=(H, 4 * H)), rng.normal(size=4 * H))

    return check_function(
        fn, reference_lstm_step, examples + random_cases(make, 20, seed), name="lstm_step", points=points,
        verbose=verbose, arg_names=["x", "h_prev", "c_prev", "U", "W", "b"],
        hint="a = x @ U + h_prev @ W + b has 4H columns: i = σ(a[:, :H]), f = σ(a[:, H:2H]), g = tanh(a[:, 2H:3H]), "
             "o = σ(a[:, 3H:]). Then c = f * c_prev + i * g and h = o * tanh(c); return (h, c).",
    )


def reference_clip_grad_norm(grads, max_norm):
    """The clipped gradients as a tuple (see :func:`coursekit.rnn.clip_grad_norm`)."""
    return tuple(rnn.clip_grad_norm(list(grads), max_norm)[0])


def check_clip_grad_norm(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(grads, max_norm) -> the gradients, scaled by max_norm / (‖g‖ + 1e-6) when their
    total norm ‖g‖ exceeds max_norm (a tuple or list of arrays in the same order)."""
    examples = [
        Case(((np.array([3.0, 4.0]),), 1.0), label="one gradient of length 5, cut to 1"),
        Case(((np.array([3.0]), np.array([[4.0]])), 10.0), label="total length 5 < 10: unchanged"),
        Case(((np.array([[30.0, 0.0], [0.0, 40.0]]), np.array([0.0, 0.0])), 5.0),
                   label="two gradients, one total norm √(30² + 40²) = 50"),
        Case(((np.array([1e4, -1e4, 2e4]), np.ones((2, 2))), 1.0), label="an exploding gradient"),
    ]

    def make(rng, size):
        grads = tuple(rng.normal(size=shape) * rng.choice([0.1, 1.0, 10.0])
                      for shape in [(1 + size % 3,), (2, 1 + size % 4), (size % 3 + 1, 2)][:1 + size % 3])
        return grads, float(rng.choice([0.5, 1.0, 5.0, 20.0]))

    cases = examples + [Case(c.args, c.kwargs, c.label) for c in random_cases(make, 20, seed)]
    return check_function(
        fn, reference_clip_grad_norm, cases, name="clip_grad_norm", points=points,
        verbose=verbose, arg_names=["grads", "max_norm"],
        hint="one norm for all gradients together: total = sqrt(sum of np.sum(g ** 2) over the gradients). If it "
             "exceeds max_norm, multiply every gradient by max_norm / (total + 1e-6); otherwise return them as "
             "they are. Return them in a tuple (or list), in order.",
    )


# --------------------------------------------------------------- quizzes ---

_POWER_DIGEST = "45ef8b3724875f2fb14dd39cb76cdfc4d10eb1c3b12091072b1b4ed22eac2c1b"
_LSTM_FIXES_DIGEST = "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
_MEMORY_DIGEST = "4a44dc15364204a80fe80e9039455cc1608281820fe2b24f1e5233ade6af1dd5"
_LOOKUP_DIGEST = "3cfaf76cdfab74e66caf920ef0579aab522e7d7098fd4ebb27e97aa10541cf5c"
_LSTM_PARAMS_DIGEST = "e4b6c12616875313848c35aae142e8c9a5b50b595e13618d225881d7d8b84618"


def _whole(answer):
    """A whole number given as 20959, 20959.0, np.int64(20959) or "20959"."""
    if isinstance(answer, str) and answer.strip().lstrip("-").isdigit():
        return int(answer.strip())
    if isinstance(answer, (int, float, np.integer, np.floating)) and not isinstance(answer, bool) \
            and float(answer).is_integer():
        return int(answer)
    return answer


def _index_list(answer):
    if isinstance(answer, np.ndarray):
        answer = answer.tolist()
    if isinstance(answer, (list, tuple)):
        return [_whole(a) for a in answer]
    return answer


def check_power_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 004: y = w¹⁰⁰⁰ with w = 1.01. What is y, to the nearest whole number?"""
    return check_answer(answer_fn, _POWER_DIGEST, convert=_whole, name="answer_power_1000", points=points,
                        expected_type="a whole number", verbose=verbose,
                        hint="compute 1.01 ** 1000 and round it; the slide only says 'about 20000'.")


def check_lstm_fixes_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 004: which problem does the LSTM solve, 1 = vanishing gradients or 2 = exploding gradients?"""
    return check_answer(answer_fn, _LSTM_FIXES_DIGEST, convert=_whole, name="answer_lstm_fixes", points=points,
                        expected_type="the option number, 1 or 2", verbose=verbose,
                        hint="the cell state is updated by addition; what does an open forget gate do to a "
                             "gradient, and what would a huge gradient from the loss still do?")


def check_memory_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 000: a standard RNN uses context from about how many time steps back?"""
    return check_answer(answer_fn, _MEMORY_DIGEST, convert=_whole, name="answer_rnn_memory_steps", points=points,
                        expected_type="a whole number of time steps", verbose=verbose,
                        hint="deck 000's 'Problems with RNN Model' slide gives the number.")


def check_lookup_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: which rows of E (1-based, as on the slide) encode "This movie is fantastic <pad>"?"""
    return check_answer(answer_fn, _LOOKUP_DIGEST, convert=_index_list, name="answer_lookup_rows", points=points,
                        expected_type="a list of five row numbers, in the order of the words", verbose=verbose,
                        hint="fantastic has its own index; this, is and watch share a bucket, and so do I, movie, "
                             "to and <pad>.")


def check_lstm_params_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """How many parameters does ``torch.nn.LSTM(128, 128)`` (deck 002's lstm1 and lstm2) have?"""
    return check_answer(answer_fn, _LSTM_PARAMS_DIGEST, convert=_whole, name="answer_lstm_params", points=points,
                        expected_type="a whole number", verbose=verbose,
                        hint="four gate blocks, each with a (128 + 128) × 128 weight matrix and, in PyTorch, two "
                             "bias vectors of 128.")
