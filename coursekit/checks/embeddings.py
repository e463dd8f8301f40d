"""Exercise checks for unit 10: word embeddings.

Each check runs the student's function next to the reference in
:mod:`coursekit.embeddings`: deck 002's CBOW numbers and toy sizes (N = 8,
d = 3) first, then seeded random inputs. None of them raises. Quiz answers
are stored only as digests.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .. import embeddings
from .core import Case, CheckResult, check_answer, check_function, random_cases
from .rnn import _whole

# Deck 002's CBOW slide: the scores o = hV as printed.
CBOW_O = np.array([0.55, 0.44, 0.93, 0.40, 0.46, 0.94, 0.60, 0.97])


# ------------------------------------------------------------- exercises ---

def check_softmax(fn: Callable, *, points: int = 1, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(o) -> p = softmax(o) for a 1-D array of scores, safe for large scores."""
    examples = [
        Case((CBOW_O,), label="deck 002's CBOW scores o = hV"),
        Case((np.zeros(8),), label="equal scores: the uniform distribution"),
        Case((np.array([1000.0, 0.0, -1000.0]),), label="scores of ±1000 (subtract the maximum first)"),
    ]

    def make(rng, size):
        return (rng.normal(size=1 + size) * 3,)

    return check_function(
        fn, embeddings.softmax, examples + random_cases(make, 16, seed), name="cbow_softmax", points=points,
        verbose=verbose, arg_names=["o"],
        hint="e = np.exp(o - o.max()); return e / e.sum(). Subtracting the maximum changes nothing "
             "mathematically and keeps exp from overflowing.",
    )


def reference_negative_sampling(u, v_pos, v_neg):
    """(loss, dL/du, dL/dv_pos, dL/dv_neg) of the standard negative-sampling loss."""
    return (embeddings.negative_sampling_loss(u, v_pos, v_neg), *embeddings.negative_sampling_grad(u, v_pos, v_neg))


def check_negative_sampling(fn: Callable, *, points: int = 3, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(u, v_pos, v_neg) -> (loss, du, dv_pos, dv_neg) for
    L = −ln σ(u·v_pos) − Σ_k ln σ(−u·v_neg[k])."""
    examples = [
        Case((np.array([0.75, 0.15, 0.4]), np.array([0.3, 0.2, 0.7]), np.array([[0.0, 0.4, 0.7], [0.1, 0.6, 0.6]])),
             label="deck 002's h = [0.75, 0.15, 0.4] and columns of its V, two noise words"),
        Case((np.zeros(3), np.ones(3), np.ones((1, 3))), label="u = 0: every score is 0, σ(0) = 1/2"),
        Case((np.array([10.0, 0.0]), np.array([10.0, 0.0]), np.array([[-10.0, 0.0]])),
             label="a confident, correct model: loss and gradients near 0"),
        Case((np.array([40.0]), np.array([-40.0]), np.array([[40.0]])),
             label="scores of ±1600: use a safe ln σ (np.logaddexp)"),
    ]

    def make(rng, size):
        d, K = 1 + size % 5, 1 + size % 4
        return rng.normal(size=d), rng.normal(size=d), rng.normal(size=(K, d))

    return check_function(
        fn, reference_negative_sampling, examples + random_cases(make, 20, seed), name="negative_sampling",
        points=points, verbose=verbose, arg_names=["u", "v_pos", "v_neg"],
        hint="with s = u @ v_pos and s_neg = v_neg @ u: loss = -ln σ(s) - Σ ln σ(-s_neg), where ln σ(x) = "
             "-np.logaddexp(0, -x). The gradients: g = σ(s) - 1 and g_neg = σ(s_neg); du = g * v_pos + g_neg @ v_neg, "
             "dv_pos = g * u, dv_neg = np.outer(g_neg, u). Return the tuple (loss, du, dv_pos, dv_neg).",
    )


def check_nearest_neighbors(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(E, query, k) -> the indices of the k rows of E with the largest cosine similarity to
    row ``query`` (the query itself excluded), most similar first."""
    E_deck = np.array([[.7, .2, .5], [.7, .4, .0], [.8, .7, .3], [.1, .6, .3], [.5, .8, .7], [.7, .7, .6]])
    examples = [
        Case((E_deck, 0, 2), label="the rows of deck 002's CBOW matrix U"),
        Case((np.array([[1.0, 0.0], [10.0, 1.0], [0.0, 1.0], [-1.0, 0.0]]), 0, 3),
             label="cosine, not distance: [10, 1] is far away but points the same way"),
        Case((np.array([[1.0, 1.0], [2.0, 2.0], [1.0, 0.0]]), 1, 1), label="a scaled copy has cosine 1"),
    ]

    def make(rng, size):
        N, d = 3 + size, 2 + size % 4
        return rng.normal(size=(N, d)), int(rng.integers(N)), int(rng.integers(1, N))

    return check_function(
        fn, embeddings.nearest_neighbors, examples + random_cases(make, 20, seed), name="nearest_neighbors",
        points=points, verbose=verbose, arg_names=["E", "query", "k"],
        hint="divide every row by its length (np.linalg.norm(E, axis=1, keepdims=True)); the cosines with the "
             "query are then one product, unit @ unit[query]. Set the query's own score to -np.inf, and return "
             "np.argsort(-scores)[:k].",
    )


def check_analogy(fn: Callable, *, points: int = 2, seed: int = 0, verbose: bool = True) -> CheckResult:
    """fn(E, a, b, c) -> the index d of the answer to a : b = c : ?, the row (not a, b or c) with
    the largest cosine with ê_b − ê_a + ê_c (ê: rows scaled to length 1)."""
    base = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.6, 0.0, 0.8], [0.0, 0.6, 0.8], [0.5, 0.5, 0.7]])
    examples = [
        Case((base, 0, 1, 2), label="rome : italy = berlin : ? with made-up 3-D vectors: answer 3"),
        Case((base * np.array([[1.0], [3.0], [0.5], [2.0], [1.0]]), 0, 1, 2),
             label="the same words with rows of different lengths (normalize first)"),
        Case((np.eye(4), 0, 1, 2), label="no good answer: the best of what is left"),
    ]

    def make(rng, size):
        N, d = 5 + size, 2 + size % 5
        a, b, c = rng.choice(N, size=3, replace=False)
        return rng.normal(size=(N, d)), int(a), int(b), int(c)

    return check_function(
        fn, embeddings.analogy, examples + random_cases(make, 20, seed), name="analogy", points=points,
        verbose=verbose, arg_names=["E", "a", "b", "c"],
        hint="unit = E / np.linalg.norm(E, axis=1, keepdims=True); target = unit[b] - unit[a] + unit[c]; the scores "
             "unit @ target rank the words by cosine (target's own length is the same for all). Exclude a, b and c "
             "(set their scores to -np.inf) and return int(np.argmax(scores)).",
    )


# --------------------------------------------------------------- quizzes ---

_PAIRS_DIGEST = "624b60c58c9d8bfb6ff1886c2fd605d2adeb6ea4da576068201b6c6958ce93f4"
_SKIPGRAM_DIGEST = "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
_CBOW_ARGMAX_DIGEST = "2c624232cdd221771294dfbb310aca000a0df6ac8b66b696d90ef06fdefb64a3"
_DECK_BOUNDED_DIGEST = "fcbcf165908dd18a9e49f7ff27810176db8e9f63b4352213741664245224f8aa"


def _yes_no(answer):
    if isinstance(answer, str) and answer.strip().lower() in ("yes", "true", "no", "false"):
        return answer.strip().lower() in ("yes", "true")
    if isinstance(answer, (bool, np.bool_)):
        return bool(answer)
    return answer


def check_pairs_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: how many (target, context) pairs does skip-gram make from
    "the quick brown fox jumps over the lazy dog" with a window of 2 words on each side?"""
    return check_answer(answer_fn, _PAIRS_DIGEST, convert=_whole, name="answer_skipgram_pairs", points=points,
                        expected_type="a whole number", verbose=verbose,
                        hint="nine words; a word in the middle has 4 neighbours within 2 places, the words near "
                             "the ends fewer.")


def check_skipgram_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002: skip-gram's pretext task predicts 1 = the context words from the target word,
    or 2 = the target word from its context words?"""
    return check_answer(answer_fn, _SKIPGRAM_DIGEST, convert=_whole, name="answer_skipgram_predicts", points=points,
                        expected_type="the option number, 1 or 2", verbose=verbose,
                        hint="skip-gram: (brown, the), (brown, quick), ... are its (input, output) pairs.")


def check_cbow_argmax_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Deck 002's CBOW example: which word index (1 to 8, as on the slide) gets the highest probability?"""
    return check_answer(answer_fn, _CBOW_ARGMAX_DIGEST, convert=_whole, name="answer_cbow_argmax", points=points,
                        expected_type="a word index from 1 to 8", verbose=verbose,
                        hint="softmax keeps the order of the scores; the slide counts from 1.")


def check_deck_bounded_quiz(answer_fn: Callable, *, points: int = 1, verbose: bool = True) -> CheckResult:
    """Does deck 002's objective ln p_c − α Σ ln p_n (p = σ(o)) have a maximum? True or False."""
    return check_answer(answer_fn, _DECK_BOUNDED_DIGEST, convert=_yes_no, name="answer_deck_objective_bounded",
                        points=points, expected_type="True or False", verbose=verbose,
                        hint="what happens to −ln σ(s) as a noise word's score s goes to −∞?")


__all__ = ["check_softmax", "check_negative_sampling", "check_nearest_neighbors", "check_analogy",
                      "check_pairs_quiz", "check_skipgram_quiz", "check_cbow_argmax_quiz", "check_deck_bounded_quiz"]
