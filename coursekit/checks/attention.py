"""Exercise checks for unit 11, attention and Transformers.

Each check runs the student's function next to the reference in
:mod:`coursekit.attention`: the worked examples of the notebook first (small
inputs a student can follow by hand), then the cases where a typical mistake
shows (a mask, scores of ±1000, one head, an odd-looking shape), then seeded
random inputs. It prints passed / not attempted yet / wrong with the
smallest failing input and a hint, and never raises.

Quiz answers are stored only as digests (:func:`coursekit.checks.answer_digest`).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import attention as A
from .core import Case, CheckResult, check_answer, check_function, compare_values, random_cases

# The notebook's worked example: three tokens, d_k = 2
EXAMPLE_Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
EXAMPLE_K = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
EXAMPLE_V = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])


# ------------------------------------------------- scaled dot-product attention ---

def reference_attention(Q, K, V, mask=None):
    """The reference answer: (Z, A) of softmax(QKᵀ/√d_k) V, masked where ``mask`` is False."""
    return A.scaled_dot_product_attention(Q, K, V, mask)


def check_scaled_dot_product_attention(fn: Callable, *, points: int = 3, seed: int = 0,
                                       verbose: bool = True) -> CheckResult:
    """fn(Q, K, V, mask=None) -> (Z, A) for Q (..., T_q, d_k), K (..., T_k, d_k), V (..., T_k, d_v)."""
    Q, K, V = EXAMPLE_Q, EXAMPLE_K, EXAMPLE_V
    examples = [
        Case((Q, K, V), label="the notebook's three tokens, d_k = 2"),
        Case((Q, K, V, A.causal_mask(3)), label="the same with the causal mask"),
        Case((Q[:1], K, V), label="one query"),
        Case((np.array([[40.0, 0.0]]), np.array([[40.0, 0.0], [-40.0, 0.0]]), np.eye(2)),
             label="large scores (1600 / √2): exp would overflow without subtracting the maximum"),
        Case((np.ones((1, 2, 4)), np.ones((1, 3, 4)), np.arange(6.0).reshape(1, 3, 2)),
             label="d_k = 4: equal scores, so every weight is 1/3"),
    ]

    def make(rng, size):
        B, T_q, T_k, d_k, d_v = 1 + size % 2, 1 + size % 4, 2 + size % 3, 1 + size % 5, 1 + size % 3
        Q, K, V = rng.normal(size=(B, T_q, d_k)), rng.normal(size=(B, T_k, d_k)), rng.normal(size=(B, T_k, d_v))
        if size % 3 == 0:
            mask = (rng.random((B, T_q, T_k)) < 0.5)
            mask[..., 0] = True                      # every query may attend to something
            return Q, K, V, mask
        return Q, K, V

    return check_function(
        fn, reference_attention, examples + random_cases(make, 18, seed), name="scaled_dot_product_attention",
        points=points, verbose=verbose, arg_names=["Q", "K", "V", "mask"],
        hint="scores = Q @ K.swapaxes(-1, -2) / np.sqrt(d_k) with d_k = Q.shape[-1] (swapaxes, not .T, so a "
             "batch axis stays in front); where the mask is False set the score to -np.inf (np.where); "
             "softmax over the last axis (the keys) after subtracting each row's maximum; Z = A @ V. "
             "Return the tuple (Z, A).",
    )


# ------------------------------------------------------------------ causal mask ---

def _compare_mask(expected, got) -> str | None:
    arr = np.asarray(got) if got is not None else None
    if arr is not None and arr.dtype != bool and np.asarray(expected).shape == arr.shape:
        problem = compare_values(expected, got)
        return (f"expected a boolean array (dtype bool), got dtype {arr.dtype}"
                + (f"; its values are also wrong: {problem}" if problem else
                   "; the pattern is right: convert it with .astype(bool), or build it from a comparison"))
    return compare_values(expected, got)


def check_causal_mask(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(T) -> the (T, T) boolean mask, True where query i may attend to key j (j <= i)."""
    cases = [Case((4,), label="T = 4"), Case((1,), label="one token"), Case((2,), label="T = 2"),
             Case((7,), label="T = 7"), Case((19,), label="the sorting model's 19 positions")]
    return check_function(
        fn, A.causal_mask, cases, name="causal_mask", points=points, verbose=verbose, arg_names=["T"],
        compare=_compare_mask,
        hint="row i is the query, column j the key: allowed when j <= i, so the mask is lower-triangular "
             "with the diagonal (a token sees itself). np.tril(np.ones((T, T), dtype=bool)) is one way; "
             "np.arange(T)[None, :] <= np.arange(T)[:, None] another.",
    )


# ---------------------------------------------------------- positional encoding ---

def reference_positional_encoding(T, d):
    return A.positional_encoding(T, d)


def check_positional_encoding(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(T, d) -> PE of shape (T, d) with base 10000 (d even)."""
    examples = [Case((4, 4), label="T = 4, d = 4"), Case((1, 2), label="position 0 only: (sin 0, cos 0) = (0, 1)"),
                Case((3, 2), label="d = 2: one sine/cosine pair of wavelength 2π"),
                Case((10, 16), label="T = 10, d = 16: the slower pairs show whether the base is 10000")]

    def make(rng, size):
        return 1 + int(rng.integers(1, 30)), 2 * (1 + size % 6)

    return check_function(
        fn, reference_positional_encoding, examples + random_cases(make, 10, seed), name="positional_encoding",
        points=points, verbose=verbose, arg_names=["T", "d"],
        hint="pos = np.arange(T)[:, None] and two_i = np.arange(0, d, 2)[None, :] give the angle "
             "pos / 10000 ** (two_i / d) of shape (T, d/2); put its sine in the even columns (pe[:, 0::2]) "
             "and its cosine in the odd ones (pe[:, 1::2]). The base is 10000 (deck 002 prints 1000).",
    )


# ------------------------------------------------------------------ split heads ---

def reference_split_heads(X, h):
    return A.split_heads(X, h)


def check_split_heads(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(X, h) -> X (B, T, d_model) as (B, h, T, d_model/h), head i holding features i*d_k ... (i+1)*d_k - 1."""
    X = np.arange(24.0).reshape(1, 3, 8)
    examples = [Case((X, 2), label="one sequence of 3 tokens, d_model = 8, 2 heads (entries 0..23 show where "
                                   "each number goes)"),
                Case((X, 1), label="one head: only a new axis"),
                Case((X, 8), label="8 heads of one feature each"),
                Case((np.arange(48.0).reshape(2, 3, 8), 4), label="a batch of two")]

    def make(rng, size):
        h = int(rng.choice([1, 2, 3, 4]))
        return rng.normal(size=(1 + size % 3, 1 + size % 5, h * (1 + size % 4))), h

    def compare(expected, got):
        B, h, T, d_k = expected.shape
        if np.shape(got) == (B, T, h, d_k) != expected.shape:
            return (f"wrong shape: expected (B, h, T, d_k) = {expected.shape}, got (B, T, h, d_k) = "
                    f"{np.shape(got)}: move the head axis in front of the tokens")
        return compare_values(expected, got)

    return check_function(
        fn, reference_split_heads, examples + random_cases(make, 12, seed), name="split_heads", points=points,
        verbose=verbose, arg_names=["X", "h"], compare=compare,
        hint="reshape the last axis into (h, d_k) with X.reshape(B, T, h, d_k), then swap the token and head "
             "axes: .transpose(0, 2, 1, 3). A plain reshape to (B, h, T, d_k) mixes tokens into the heads.",
    )


# ----------------------------------------------------------------------- quizzes ---

_CONTEXT_DIGEST = "4e07408562bedb8b60ce05c1decfe3ad16b72230967de01f640b7e4729b49fce"
_ORDER_DIGEST = "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35"
_VIT_TOKENS_DIGEST = "b4bbe448fde336bb6a7d7d765f36d3327c772b845e7b54c8282aa08c9775ddd7"
_WINDOW_DIGEST = "7902699be42c8a8e46fbbb4501726517e86b22c56a189f7625a6da49081b2451"
_BEAM_DIGEST = "19581e27de7ced00ff1ce50b2047e7a567c76b1cbaebabe5ef03f7c3017bb5b7"


def check_context_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: how to adapt the context vector c_j at every decoding step (an option number)."""
    return check_answer(answer_fn, _CONTEXT_DIGEST, name="answer_adapt_context", points=points, verbose=verbose,
                        expected_type="one option number, 1 to 4",
                        hint="the fixed context c = h_{T_x} is the same at every step. Which option computes "
                             "a new c_j at step j, from all the encoder states?")


def check_order_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: what tells a Transformer the order of its tokens (an option number)."""
    return check_answer(answer_fn, _ORDER_DIGEST, name="answer_token_order", points=points, verbose=verbose,
                        expected_type="one option number, 1 to 4",
                        hint="self-attention treats its input as a set: permute the tokens and each output "
                             "is permuted the same way. What is added to the embeddings so that position "
                             "matters?")


def check_vit_tokens_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: the number of patch tokens of a 224 x 224 image cut into 16 x 16 patches."""
    return check_answer(answer_fn, _VIT_TOKENS_DIGEST, name="answer_vit_tokens", points=points, verbose=verbose,
                        expected_type="one whole number",
                        hint="how many 16-pixel patches fit along one side of 224 pixels, and how many in "
                             "the square grid?")


def check_window_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: how many source positions local attention's window [p_t - D, p_t + D] holds for D = 3."""
    return check_answer(answer_fn, _WINDOW_DIGEST, name="answer_local_window", points=points, verbose=verbose,
                        expected_type="one whole number",
                        hint="count the integer positions from p_t - 3 to p_t + 3, both ends included, for "
                             "an integer p_t in the middle of a long sentence.")


def check_beam_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002's beam search with k = 3: how many two-word sequences y1 y2 are compared before keeping 3."""
    return check_answer(answer_fn, _BEAM_DIGEST, name="answer_beam_candidates", points=points, verbose=verbose,
                        expected_type="one whole number",
                        hint="3 candidates for y1, and for each of them 3 candidates for y2.")


