"""Word embeddings (詞向量): from 1-of-N codes to word2vec, in NumPy.

Decks 002 (week 8) and 004 (lecture IV). Notation as in deck 002: a vocabulary
of N words, embedding size d, two matrices

* ``U`` of shape (N, d): row t is the *input* vector of word t (the embedding);
* ``V`` of shape (d, N): column c is the *output* vector of word c.

Skip-gram scores every word c as a context of the target t by ``o = U[t] @ V``
and turns the scores into p = softmax(o) (the full softmax over N words);
CBOW averages the context words' input vectors into h and predicts the
target from o = hV. Negative sampling replaces the N-way softmax by a few
binary questions, in its standard form

    maximize  ln σ(u·v_c) + Σ_k ln σ(−u·v_{n_k})

for the true pair (t, c) and K noise words n_k drawn from the unigram
distribution raised to the power 3/4. (Deck 002 writes
ln p_c − α Σ ln p_{n_k} with p = σ(o): that objective has no maximum, see
:func:`deck_negative_sampling_objective`.)

:func:`train_word2vec` trains skip-gram or CBOW with negative sampling by
plain SGD over mini-batches of pairs, in NumPy; :class:`WordVectors` then
answers nearest-neighbour and analogy queries by cosine similarity.
"""
from __future__ import annotations

import heapq
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from ._validate import index_array, real_array, real_number, whole_number

__all__ = [
    "OTHER", "Vocabulary", "one_hot", "embedding_lookup", "letter_trigrams", "word_hashing",
    "skipgram_pairs", "cbow_examples",
    "softmax", "log_softmax", "skipgram_softmax_loss", "cbow_forward", "cbow_softmax_loss",
    "sigmoid", "log_sigmoid", "negative_sampling_loss", "negative_sampling_grad", "negative_sampling_batch",
    "deck_negative_sampling_objective", "noise_distribution", "subsample_keep_probability",
    "huffman_codes", "hierarchical_softmax_probs",
    "WordVectors", "train_word2vec", "cosine_similarity", "nearest_neighbors", "analogy", "pca_2d",
]

OTHER = "<other>"


# ------------------------------------------------------------ 1-of-N and lookup ---

class Vocabulary:
    """Words and their indices, with an "other" entry for every word not in it.

    Deck 004's 1-of-N encoding gives each dictionary word one dimension; words
    outside the dictionary share the "other" dimension (index 0 here) instead
    of breaking the encoder.
    """

    def __init__(self, words: Iterable[str], counts: Sequence[int] | None = None, other: str | None = OTHER):
        words = list(words)
        self.other = other
        self.words: list[str] = ([other] if other is not None else []) + [w for w in words if w != other]
        if len(set(self.words)) != len(self.words):
            raise ValueError("the vocabulary's words must be distinct")
        self.index = {w: i for i, w in enumerate(self.words)}
        given = list(counts) if counts is not None else [0] * len(words)
        if len(given) != len(words):
            raise ValueError(f"counts must have one entry per word ({len(words)}), got {len(given)}")
        self.counts = np.zeros(len(self.words), dtype=np.int64)
        for w, n in zip(words, given):
            self.counts[self.index[w]] += int(n)

    @classmethod
    def from_tokens(cls, tokens: Iterable[str], min_count: int = 1, other: str | None = OTHER) -> Vocabulary:
        """The words seen at least ``min_count`` times, most frequent first (ties alphabetical)."""
        min_count = whole_number("min_count", min_count, 1)
        counter = Counter(tokens)
        kept = sorted((w for w, n in counter.items() if n >= min_count), key=lambda w: (-counter[w], w))
        vocab = cls(kept, [counter[w] for w in kept], other=other)
        if other is not None:
            vocab.counts[0] = sum(n for w, n in counter.items() if n < min_count)
        return vocab

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word) -> bool:
        return word in self.index

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} words: {', '.join(self.words[:6])}{', ...' if len(self) > 6 else ''})"

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Indices of ``tokens``; a word not in the vocabulary gets the "other" index."""
        if self.other is None:
            missing = [t for t in tokens if t not in self.index]
            if missing:
                raise ValueError(f"words not in the vocabulary (which has no 'other' entry): {missing[:5]}")
        default = self.index.get(self.other, -1)
        return np.array([self.index.get(t, default) for t in tokens], dtype=np.int64)

    def decode(self, indices: Iterable[int]) -> list[str]:
        return [self.words[int(i)] for i in indices]


def one_hot(indices, N: int) -> np.ndarray:
    """1-of-N codes: shape ``indices.shape + (N,)``, a single 1 at each index."""
    N = whole_number("N", N, 1, meaning="the vocabulary size")
    idx = index_array("indices", indices, N, "word indices")
    codes = np.zeros(idx.shape + (N,))
    np.put_along_axis(codes, idx[..., None], 1.0, axis=-1)
    return codes


def embedding_lookup(E, indices) -> np.ndarray:
    """Rows of the embedding matrix E (N, d): the same as ``one_hot(indices, N) @ E``,
    without building the one-hot codes."""
    E = real_array("E", E, 2, "(N, d): one row per word")
    return E[index_array("indices", indices, E.shape[0], "word indices")]


def letter_trigrams(word: str) -> list[str]:
    """Deck 004's word hashing: the letter trigrams of ``#word#`` ("apple" → #ap, app,
    ppl, ple, le#). Words with the same trigrams share an input vector; an unseen
    word still gets one."""
    if not isinstance(word, str) or not word:
        raise ValueError(f"word must be a non-empty string, got {word!r}")
    marked = f"#{word.lower()}#"
    return [marked[i:i + 3] for i in range(len(marked) - 2)]


def word_hashing(words: Sequence[str], dim: int = 1024) -> np.ndarray:
    """Bag-of-trigram codes of shape (len(words), dim): trigram counts, each trigram
    hashed (CRC-32) to one of ``dim`` dimensions. The code length no longer grows
    with the vocabulary."""
    dim = whole_number("dim", dim, 1)
    codes = np.zeros((len(words), dim))
    for row, word in enumerate(words):
        for tri in letter_trigrams(word):
            codes[row, zlib.crc32(tri.encode("utf-8")) % dim] += 1.0
    return codes


# ----------------------------------------------------------- pretext tasks ---

def _window(window) -> int:
    return whole_number("window", window, 1, meaning="how many words on each side count as context")


def skipgram_pairs(tokens: Sequence, window: int = 2) -> list[tuple]:
    """Skip-gram's (target, context) pairs: each word with every word at most
    ``window`` positions away, in order of the target's position."""
    window = _window(window)
    tokens = list(tokens)
    return [(tokens[i], tokens[j]) for i in range(len(tokens))
            for j in range(max(0, i - window), min(len(tokens), i + window + 1)) if j != i]


def cbow_examples(tokens: Sequence, window: int = 2, full_only: bool = False) -> list[tuple[tuple, object]]:
    """CBOW's (context words, target) examples. ``full_only`` keeps only the targets
    with ``window`` words on both sides (deck 002 lists only those)."""
    window = _window(window)
    tokens = list(tokens)
    examples = []
    for i, target in enumerate(tokens):
        if full_only and (i < window or i + window >= len(tokens)):
            continue
        context = tuple(tokens[j] for j in range(max(0, i - window), min(len(tokens), i + window + 1)) if j != i)
        examples.append((context, target))
    return examples


# ------------------------------------------------------------- full softmax ---

def softmax(o, axis: int = -1) -> np.ndarray:
    """exp(o) / Σ exp(o) along ``axis``, computed after subtracting the maximum."""
    o = np.asarray(o, dtype=float)
    e = np.exp(o - o.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(o, axis: int = -1) -> np.ndarray:
    o = np.asarray(o, dtype=float)
    shifted = o - o.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _UV(U, V):
    U = real_array("U", U, 2, "(N, d): one input vector per word")
    V = real_array("V", V, 2, "(d, N): one output vector per word, as columns")
    if V.shape != U.shape[::-1]:
        raise ValueError(f"V must have shape (d, N) = {U.shape[::-1]} to match U of shape {U.shape}, got {V.shape}")
    return U, V


def skipgram_softmax_loss(U, V, t: int, c: int):
    """−ln P(c | t) with p = softmax(U[t] @ V), and its gradients (loss, dU, dV).

    Every one of the N output vectors gets a gradient: the cost of one pair
    grows with the vocabulary.
    """
    U, V = _UV(U, V)
    N = U.shape[0]
    t, c = (int(index_array(name, i, N)) for name, i in (("t", t), ("c", c)))
    h = U[t]
    logp = log_softmax(h @ V)
    p = np.exp(logp)
    do = p.copy()
    do[c] -= 1.0                    # ∂(−ln p_c)/∂o = p − 1_c
    dU = np.zeros_like(U)
    dU[t] = V @ do
    dV = np.outer(h, do)
    return float(-logp[c]), dU, dV


def cbow_forward(U, V, context) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CBOW's forward pass: h = mean of the context words' rows of U, o = hV,
    p = softmax(o). Returns (h, o, p)."""
    U, V = _UV(U, V)
    context = index_array("context", context, U.shape[0], "the context words' indices")
    if context.ndim != 1 or context.size == 0:
        raise ValueError(f"context must be a non-empty 1-D list of word indices, got shape {context.shape}")
    h = U[context].mean(axis=0)
    o = h @ V
    return h, o, softmax(o)


def cbow_softmax_loss(U, V, context, t: int):
    """−ln P(t | context) for CBOW with the full softmax, and (loss, dU, dV)."""
    h, o, p = cbow_forward(U, V, context)
    U, V = np.asarray(U, dtype=float), np.asarray(V, dtype=float)
    context = np.asarray(context, dtype=np.int64)
    t = int(index_array("t", t, U.shape[0]))
    do = p.copy()
    do[t] -= 1.0
    dh = V @ do
    dU = np.zeros_like(U)
    np.add.at(dU, context, dh / len(context))  # a word twice in the context gets twice the share
    return float(-np.log(p[t])), dU, np.outer(h, do)


# -------------------------------------------------------- negative sampling ---

def sigmoid(s):
    """σ(s) = 1 / (1 + e^{−s}), without overflow for large |s|."""
    s = np.asarray(s, dtype=float)
    e = np.exp(-np.abs(s))
    return np.where(s >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_sigmoid(s):
    """ln σ(s) = −ln(1 + e^{−s}), exact for s = ±1000."""
    return -np.logaddexp(0.0, -np.asarray(s, dtype=float))


def _ns_args(u, v_pos, v_neg):
    u = real_array("u", u, 1, "(d,): the target word's input vector")
    v_pos = real_array("v_pos", v_pos, 1, "(d,): the true context word's output vector")
    v_neg = real_array("v_neg", v_neg, 2, "(K, d): one output vector per noise word")
    d = u.shape[0]
    if v_pos.shape != (d,) or v_neg.shape[1:] != (d,):
        raise ValueError(f"v_pos must have shape ({d},) and v_neg shape (K, {d}) to match u of shape ({d},), "
                         f"got {v_pos.shape} and {v_neg.shape}")
    return u, v_pos, v_neg


def negative_sampling_loss(u, v_pos, v_neg) -> float:
    """L = −ln σ(u·v_pos) − Σ_k ln σ(−u·v_neg[k]): the standard negative-sampling loss
    of one true pair and K noise words (minimized; it is ≥ 0)."""
    u, v_pos, v_neg = _ns_args(u, v_pos, v_neg)
    return float(-log_sigmoid(u @ v_pos) - log_sigmoid(-(v_neg @ u)).sum())


def negative_sampling_grad(u, v_pos, v_neg):
    """Gradients of :func:`negative_sampling_loss`: (dL/du, dL/dv_pos, dL/dv_neg).

    With s = u·v_pos and s_k = u·v_neg[k]: ∂L/∂s = σ(s) − 1, ∂L/∂s_k = σ(s_k), so
    dL/du = (σ(s) − 1) v_pos + Σ_k σ(s_k) v_neg[k], dL/dv_pos = (σ(s) − 1) u,
    dL/dv_neg[k] = σ(s_k) u.
    """
    u, v_pos, v_neg = _ns_args(u, v_pos, v_neg)
    g_pos = sigmoid(u @ v_pos) - 1.0
    g_neg = sigmoid(v_neg @ u)
    return g_pos * v_pos + g_neg @ v_neg, g_pos * u, np.outer(g_neg, u)


def negative_sampling_batch(u, v_pos, v_neg):
    """:func:`negative_sampling_loss` and its gradients for a batch of B pairs at once:
    u (B, d), v_pos (B, d), v_neg (B, K, d) → (losses (B,), du, dv_pos, dv_neg)."""
    s_pos = np.einsum("bd,bd->b", u, v_pos)
    s_neg = np.einsum("bkd,bd->bk", v_neg, u)
    losses = -log_sigmoid(s_pos) - log_sigmoid(-s_neg).sum(axis=1)
    g_pos = sigmoid(s_pos) - 1.0                                  # ∂L/∂s_pos
    g_neg = sigmoid(s_neg)                                        # ∂L/∂s_neg
    du = g_pos[:, None] * v_pos + np.einsum("bk,bkd->bd", g_neg, v_neg)
    return losses, du, g_pos[:, None] * u, g_neg[..., None] * u[:, None, :]


def deck_negative_sampling_objective(u, v_pos, v_neg, alpha: float = 1.0) -> float:
    """Deck 002's slide form, ln p_c − α Σ_k ln p_{n_k} with p = σ(o), to be *maximized*.

    It has no maximum: −α ln σ(s_k) → +∞ as a noise score s_k → −∞, so gradient
    ascent can raise it forever by pushing the noise scores down, and the
    vectors grow without bound. The standard form uses ln σ(−s_k) = ln(1 − σ(s_k))
    instead, which is at most 0.
    """
    u, v_pos, v_neg = _ns_args(u, v_pos, v_neg)
    alpha = real_number("alpha", alpha, 0.0, low_open=True)
    return float(log_sigmoid(u @ v_pos) - alpha * log_sigmoid(v_neg @ u).sum())


def noise_distribution(counts, power: float = 0.75) -> np.ndarray:
    """The noise distribution P_n(w) ∝ count(w)^power (word2vec uses 3/4): frequent
    words are drawn less often than their share, rare ones more often."""
    counts = real_array("counts", counts, 1, "(N,): how often each word occurs")
    if np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError("counts must be non-negative with a positive sum")
    power = real_number("power", power, 0.0)
    weights = np.where(counts > 0, counts, 0.0) ** power * (counts > 0)
    return weights / weights.sum()


def subsample_keep_probability(counts, t: float = 1e-3) -> np.ndarray:
    """Subsampling of frequent words (Mikolov et al. 2013): a word of frequency f is
    kept with probability min(1, √(t/f)), so "the" and "of" are mostly skipped and
    rare words always kept. (The paper uses t ≈ 1e-5 on billions of words; a small
    corpus needs a larger t.)"""
    counts = real_array("counts", counts, 1, "(N,): how often each word occurs")
    t = real_number("t", t, 0.0, low_open=True)
    total = counts.sum()
    if total <= 0:
        raise ValueError("counts must have a positive sum")
    f = counts / total
    with np.errstate(divide="ignore"):
        return np.minimum(1.0, np.sqrt(t / np.where(f > 0, f, np.inf)))


# -------------------------------------------------------- hierarchical softmax ---

def huffman_codes(counts) -> tuple[list[list[int]], list[list[int]]]:
    """A Huffman tree over the vocabulary, for hierarchical softmax.

    Returns ``(codes, paths)``: for word w, ``paths[w]`` are the inner nodes from
    the root down to w (indices 0..N−2) and ``codes[w]`` the turns taken there
    (1 = left, 0 = right). Frequent words get short paths; the average path is
    about log₂ N long instead of N scores per word.
    """
    counts = real_array("counts", counts, 1, "(N,): how often each word occurs")
    N = len(counts)
    if N < 2:
        raise ValueError(f"a Huffman tree needs at least 2 words, got {N}")
    heap = [(float(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    parent, turn = {}, {}
    next_node = N
    while len(heap) > 1:
        c1, a = heapq.heappop(heap)
        c2, b = heapq.heappop(heap)
        parent[a], turn[a] = next_node, 1
        parent[b], turn[b] = next_node, 0
        heapq.heappush(heap, (c1 + c2, next_node))
        next_node += 1
    root = next_node - 1
    codes, paths = [], []
    for w in range(N):
        code, path, node = [], [], w
        while node != root:
            code.append(turn[node])
            path.append(parent[node] - N)  # inner nodes are numbered 0..N-2
            node = parent[node]
        codes.append(code[::-1])
        paths.append(path[::-1])
    return codes, paths


def hierarchical_softmax_probs(h, node_vectors, codes, paths) -> np.ndarray:
    """P(w | h) for every word: the product, along w's path, of σ(h·v_n) for a left
    turn and σ(−h·v_n) = 1 − σ(h·v_n) for a right one. The probabilities of all
    words sum to 1 by construction, with no sum over the vocabulary."""
    h = real_array("h", h, 1, "(d,)")
    node_vectors = real_array("node_vectors", node_vectors, 2, "(N-1, d): one vector per inner node")
    p_left = sigmoid(node_vectors @ h)
    probs = np.ones(len(codes))
    for w, (code, path) in enumerate(zip(codes, paths)):
        for bit, node in zip(code, path):
            probs[w] *= p_left[node] if bit == 1 else 1.0 - p_left[node]
    return probs


# ------------------------------------------------------------ trained vectors ---

def cosine_similarity(A, B) -> np.ndarray:
    """cos(a, b) = a·b / (‖a‖‖b‖) for every row a of A and row b of B (a zero vector scores 0)."""
    A = np.atleast_2d(real_array("A", A, (1, 2)))
    B = np.atleast_2d(real_array("B", B, (1, 2)))
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A and B must have rows of the same length, got {A.shape} and {B.shape}")
    An = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-12)
    Bn = B / np.maximum(np.linalg.norm(B, axis=1, keepdims=True), 1e-12)
    return An @ Bn.T


def nearest_neighbors(E, query: int, k: int = 5) -> np.ndarray:
    """Indices of the k rows of E most cosine-similar to row ``query``, best first,
    the query itself left out (ties: the smaller index first)."""
    E = real_array("E", E, 2, "(N, d): one vector per word")
    query = int(index_array("query", query, E.shape[0]))
    k = whole_number("k", k, 1, E.shape[0] - 1)
    sims = cosine_similarity(E[query], E)[0]
    sims[query] = -np.inf
    return np.lexsort((np.arange(len(sims)), -sims))[:k]


def analogy(E, a: int, b: int, c: int) -> int:
    """a : b = c : ?  by vector arithmetic (deck 004: V(Berlin) − V(Rome) + V(Italy)).

    With unit-length rows ê, returns the index d ∉ {a, b, c} whose ê_d has the
    largest cosine with ê_b − ê_a + ê_c (3CosAdd; ties: the smaller index).
    """
    E = real_array("E", E, 2, "(N, d): one vector per word")
    a, b, c = (int(index_array(name, i, E.shape[0])) for name, i in (("a", a), ("b", b), ("c", c)))
    unit = E / np.maximum(np.linalg.norm(E, axis=1, keepdims=True), 1e-12)
    sims = cosine_similarity(unit[b] - unit[a] + unit[c], unit)[0]
    sims[[a, b, c]] = -np.inf
    return int(np.argmax(sims))


def pca_2d(X) -> np.ndarray:
    """The rows of X projected on their two principal directions (centred, via SVD)."""
    X = real_array("X", X, 2, "(N, d)")
    centred = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ Vt[:2].T


@dataclass
class WordVectors:
    """Trained word vectors: the vocabulary, U (N, d) and V (d, N), and the training record."""

    vocab: Vocabulary
    U: np.ndarray
    V: np.ndarray
    losses: list[float] = field(default_factory=list)  # mean loss per epoch
    seconds: float = 0.0
    pairs_per_epoch: int = 0

    def __contains__(self, word) -> bool:
        return word in self.vocab

    def _index(self, word: str) -> int:
        if word not in self.vocab.index:
            raise KeyError(f"{word!r} is not in the vocabulary")
        return self.vocab.index[word]

    def vector(self, word: str) -> np.ndarray:
        return self.U[self._index(word)]

    def similarity(self, w1: str, w2: str) -> float:
        return float(cosine_similarity(self.vector(w1), self.vector(w2))[0, 0])

    def most_similar(self, word: str, k: int = 5, among: Iterable[str] | None = None,
                     exclude: Iterable[str] = ()) -> list[tuple[str, float]]:
        """The k nearest words by cosine similarity, with their similarities, searched
        ``among`` the given words only (default: the whole vocabulary), ``exclude``
        and the word itself left out."""
        q = self._index(word)
        skip = set(exclude) | {word}
        candidates = [w for w in (among if among is not None else self.vocab.words)
                      if w not in skip and w in self.vocab.index]
        if not candidates:
            return []
        idx = np.array([self.vocab.index[w] for w in candidates])
        sims = cosine_similarity(self.U[q], self.U[idx])[0]
        best = np.lexsort((idx, -sims))[:whole_number("k", k, 1)]
        return [(self.vocab.words[idx[i]], float(sims[i])) for i in best]

    def analogy(self, a: str, b: str, c: str) -> str:
        """a : b = c : ?  e.g. ``analogy("rome", "italy", "berlin")``."""
        return self.vocab.words[analogy(self.U, self._index(a), self._index(b), self._index(c))]

    def analogy_accuracy(self, questions) -> float:
        """The share of questions (with .a, .b, .c, .d) answered exactly right."""
        questions = list(questions)
        if not questions:
            raise ValueError("no analogy questions given")
        return float(np.mean([self.analogy(q.a, q.b, q.c) == q.d for q in questions]))


def _negatives(rng: np.random.Generator, cumulative: np.ndarray, shape) -> np.ndarray:
    """Noise words drawn by inverse transform sampling from a cumulative distribution."""
    return np.minimum(np.searchsorted(cumulative, rng.random(shape), side="right"), len(cumulative) - 1)


def train_word2vec(sentences: Iterable[str | Sequence[str]], dim: int = 30, window: int = 2, negatives: int = 5,
                   epochs: int = 5, lr: float = 0.05, model: str = "skipgram", batch_size: int = 64,
                   subsample_t: float | None = None, min_count: int = 1, seed: int = 0) -> WordVectors:
    """Skip-gram or CBOW with negative sampling, trained by mini-batch SGD in NumPy.

    Each epoch: optionally subsample frequent words, form all (target, context)
    pairs (skip-gram) or (context window, target) examples (CBOW) with a window
    of ``window`` words, shuffle them, and for every batch draw ``negatives``
    noise words per example from count^0.75, compute the gradients of the
    negative-sampling loss and take an SGD step on the rows involved. The
    learning rate falls linearly from ``lr`` to ``lr``/100, as in word2vec.
    Input vectors start small and random, output vectors at zero (word2vec's
    choice: the first gradients are then exactly the noise-free direction).
    """
    if model not in ("skipgram", "cbow"):
        raise ValueError(f"model must be 'skipgram' or 'cbow', got {model!r}")
    dim = whole_number("dim", dim, 1)
    window = _window(window)
    negatives = whole_number("negatives", negatives, 1)
    epochs = whole_number("epochs", epochs, 1)
    lr = real_number("lr", lr, 0.0, low_open=True)
    batch_size = whole_number("batch_size", batch_size, 1)
    rng = np.random.default_rng(whole_number("seed", seed, 0, allow_float=False))
    token_lists = [s.split() if isinstance(s, str) else list(s) for s in sentences]
    vocab = Vocabulary.from_tokens((w for s in token_lists for w in s), min_count=min_count)
    encoded = [vocab.encode(s) for s in token_lists if s]
    N = len(vocab)
    U = ((rng.random((N, dim)) - 0.5) / dim)
    Vt = np.zeros((N, dim))          # the output vectors as rows: V = Vt.T
    cumulative = np.cumsum(noise_distribution(np.maximum(vocab.counts, 0)))
    keep = subsample_keep_probability(np.maximum(vocab.counts, 1), subsample_t) if subsample_t else None
    offsets = [o for o in range(-window, window + 1) if o != 0]

    def examples():
        """(targets, contexts) for skip-gram, or (targets, context matrix, context mask) for CBOW."""
        targets, contexts = [], []
        for sent in encoded:
            if keep is not None:
                sent = sent[rng.random(len(sent)) < keep[sent]]
            L = len(sent)
            if L < 2:
                continue
            pos = np.arange(L)
            window_ids = np.stack([pos + o for o in offsets], axis=1)       # (L, 2·window)
            valid = (window_ids >= 0) & (window_ids < L)
            ctx = np.where(valid, sent[np.clip(window_ids, 0, L - 1)], -1)
            targets.append(sent)
            contexts.append(ctx)
        return np.concatenate(targets), np.concatenate(contexts)

    losses, total_steps, step = [], None, 0
    start = time.perf_counter()
    pairs_per_epoch = 0
    for _ in range(epochs):
        targets, contexts = examples()
        if model == "skipgram":
            rows, cols = np.nonzero(contexts >= 0)
            inputs, outputs = targets[rows], contexts[rows, cols]
        else:
            keep_rows = (contexts >= 0).any(axis=1)
            inputs, outputs = contexts[keep_rows], targets[keep_rows]
        n = len(outputs)
        pairs_per_epoch = n
        if total_steps is None:
            total_steps = epochs * max(1, -(-n // batch_size))
        order = rng.permutation(n)
        epoch_loss = 0.0
        for begin in range(0, n, batch_size):
            batch = order[begin:begin + batch_size]
            eta = lr * max(0.01, 1.0 - step / total_steps)
            step += 1
            out = outputs[batch]
            neg = _negatives(rng, cumulative, (len(batch), negatives))
            if model == "skipgram":
                inp = inputs[batch]
                u = U[inp]
            else:
                ctx = inputs[batch]                                     # (B, 2·window), -1 = none
                mask = (ctx >= 0).astype(float)
                n_ctx = mask.sum(axis=1, keepdims=True)
                u = (U[np.maximum(ctx, 0)] * mask[..., None]).sum(axis=1) / n_ctx
            losses_b, du, dv_pos, dv_neg = negative_sampling_batch(u, Vt[out], Vt[neg])
            epoch_loss += float(losses_b.sum())
            np.add.at(Vt, out, -eta * dv_pos)          # a word twice in a batch gets both steps
            np.add.at(Vt, neg, -eta * dv_neg)
            if model == "skipgram":
                np.add.at(U, inp, -eta * du)
            else:                                                        # h is a mean: each word gets 1/C
                share = (-eta * du / n_ctx)[:, None, :] * mask[..., None]
                np.add.at(U, np.maximum(ctx, 0), share)
        losses.append(epoch_loss / max(n, 1))
    return WordVectors(vocab, U, Vt.T.copy(), losses, time.perf_counter() - start, pairs_per_epoch)
