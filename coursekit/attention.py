"""Attention and Transformers in NumPy (deck 002 weeks 9–10, deck 004 lecture IV).

The reference code of unit 11, in the order the lecture builds it:

* **Seq2seq decoding**: greedy decoding and beam search over any model that
  gives log-probabilities of the next token (:func:`greedy_decode`,
  :func:`beam_search`), plus the toy tasks and helpers the notebook trains on.
* **Luong attention** (注意力模型): the dot, general and concat scores, the
  alignment weights a_t(s), the context vector c_t, the attentional state
  q̃_t = tanh(W_c[c_t; q_t]), and local attention around a predicted position p_t.
* **Self-attention**: softmax(QKᵀ/√d_k)V with causal and padding masks,
  returning the weights; a step-by-step trace of one query (scores, scaling,
  mask, softmax, weighted sum) that the attention explorer shows; multi-head
  attention with explicit head split and merge.
* **The Transformer block**: layer norm, the position-wise feed-forward net,
  an encoder block and a decoder block (post-norm: x + sublayer(x), then layer
  norm), and the sinusoidal positional encoding with base 10000.

Conventions. Tokens are rows, as in the deck: X has shape (T, d_model), or
(B, T, d_model) for a batch, and Q = X W^Q with W^Q of shape (d_model, d_k).
(PyTorch's ``nn.Linear`` stores the transpose: y = x Wᵀ + b.) A **mask** is
boolean with ``True`` where a query may attend to a key (the convention of
``torch.nn.functional.scaled_dot_product_attention``); it broadcasts against
the scores of shape (..., T_q, T_k). Layers follow the ``coursekit.nn``
protocol: a ``params`` dict, ``forward(x) -> (out, cache)`` (the cache holds
the attention weights too) and ``backward(dout, cache) -> (dx, grads)``.
"""
from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ._validate import real_number, whole_number

__all__ = [
    # softmax and masks
    "softmax", "masked_softmax", "causal_mask", "padding_mask",
    # scaled dot-product attention
    "scaled_dot_product_attention", "attention_backward", "AttentionStage", "attention_trace", "ATTENTION_STAGES",
    # multi-head attention
    "split_heads", "merge_heads", "MultiHeadAttention",
    # the Transformer block
    "layer_norm", "LayerNorm", "FeedForward", "EncoderBlock", "DecoderBlock", "positional_encoding",
    # Luong attention
    "luong_scores", "global_attention", "attentional_state", "predictive_distribution", "local_attention",
    "LocalAttention",
    # seq2seq: tasks, decoding
    "copy_task", "reverse_task", "sort_task", "shift_right", "sequence_accuracy",
    "Hypothesis", "BeamStep", "greedy_decode", "beam_search", "sequence_log_prob", "table_model",
    # ViT
    "vit_num_patches", "attention_matrix_bytes",
]


# ------------------------------------------------------------- validation ---

def _real_array(x, name: str, expected: str, min_ndim: int = 1) -> np.ndarray:
    """A finite real array with at least ``min_ndim`` axes; the message names the expected shape."""
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real-valued array of shape {expected}, got a ragged "
                         f"{type(x).__name__}") from None
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"{name} must be a real-valued array of shape {expected}, got dtype {arr.dtype}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have shape {expected}, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers (shape {expected}); it contains nan or inf")
    return arr


def _bool_mask(mask, name: str = "mask") -> np.ndarray:
    arr = np.asarray(mask)
    if arr.dtype != bool:
        raise ValueError(f"{name} must be a boolean array (True where a query may attend to a key), "
                         f"got dtype {arr.dtype}; build one with causal_mask(T) or padding_mask(lengths, T)")
    return arr


# ------------------------------------------------------- softmax and masks ---

def softmax(x, axis: int = -1) -> np.ndarray:
    """exp(x) / Σ exp(x) along ``axis``, computed after subtracting the maximum
    (exact for scores of ±1000). Entries of -inf get probability 0."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(float)
    e = x - np.max(x, axis=axis, keepdims=True)   # a new array: exp and the division work in place on it
    np.exp(e, out=e)
    e /= np.sum(e, axis=axis, keepdims=True)
    return e


def masked_softmax(scores, mask=None, axis: int = -1) -> np.ndarray:
    """Softmax of ``scores`` where masked-out entries (``mask`` False) get weight exactly 0.

    A masked score is set to -inf before the softmax, so e^{-inf} = 0 drops it
    from the sum. A row whose every entry is masked has no distribution: that
    is an error (PyTorch would return nan there).
    """
    scores = np.asarray(scores)
    if mask is None:
        return softmax(scores, axis)
    mask = _bool_mask(mask)
    try:
        full = np.broadcast_to(mask, scores.shape)
    except ValueError:
        raise ValueError(f"mask of shape {mask.shape} does not broadcast to the scores' shape {scores.shape} "
                         "(..., T_q, T_k)") from None
    if not np.all(np.any(full, axis=axis)):
        raise ValueError("the mask hides every key from some query: each row of the mask needs at least one True "
                         "(a query must be allowed to attend to something)")
    return softmax(np.where(full, scores, -np.inf), axis)


def causal_mask(T: int) -> np.ndarray:
    """The (T, T) causal (look-ahead) mask: query i may attend to keys j ≤ i.

    A decoder predicting token i+1 must not see tokens after i, so the mask is
    lower-triangular (the diagonal included)."""
    T = whole_number("T", T, 1, meaning="the sequence length")
    return np.tril(np.ones((T, T), dtype=bool))


def padding_mask(lengths, T: int) -> np.ndarray:
    """Padding mask of shape (B, 1, T): for sequence b, keys 0..lengths[b]-1 are real tokens
    (True) and the rest are padding (False). The middle axis broadcasts over the queries."""
    T = whole_number("T", T, 1, meaning="the padded sequence length")
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths must be a 1-D array of B integers (one length per sequence), got "
                         f"shape {lengths.shape} and dtype {lengths.dtype}")
    if lengths.size and (lengths.min() < 1 or lengths.max() > T):
        raise ValueError(f"every one of the lengths must lie in 1..T = 1..{T}, got values from {lengths.min()} to "
                         f"{lengths.max()}")
    return (np.arange(T)[None, :] < lengths[:, None])[:, None, :]


# --------------------------------------------- scaled dot-product attention ---

def _qkv(Q, K, V):
    Q = _real_array(Q, "Q", "(..., T_q, d_k)", 2)
    K = _real_array(K, "K", "(..., T_k, d_k)", 2)
    V = _real_array(V, "V", "(..., T_k, d_v)", 2)
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"Q and K must have the same last dimension d_k (queries and keys are compared by a "
                         f"dot product), got Q {Q.shape} and K {K.shape}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"K and V must have the same number of tokens T_k (one value per key), got K {K.shape} "
                         f"and V {V.shape}")
    return Q, K, V


def scaled_dot_product_attention(Q, K, V, mask=None, temperature: float = 1.0):
    """Z = A V with A = softmax(Q Kᵀ / (√d_k · temperature)), masked where ``mask`` is False.

    Q: (..., T_q, d_k), K: (..., T_k, d_k), V: (..., T_k, d_v); leading axes
    (batch, heads) broadcast. Returns ``(Z, A)``: the outputs (..., T_q, d_v)
    and the attention weights (..., T_q, T_k), each row a probability
    distribution over the keys. ``temperature`` (1 in the Transformer) divides
    the scores further: above 1 the weights spread out, below 1 they sharpen.
    """
    Q, K, V = _qkv(Q, K, V)
    temperature = real_number("temperature", temperature, 0, low_open=True,
                              meaning="it divides the scores; 1 is the Transformer's softmax")
    d_k = Q.shape[-1]
    B = Q @ np.swapaxes(K, -1, -2) / (math.sqrt(d_k) * temperature)   # the deck's attention scores B
    A = masked_softmax(B, mask)                                         # the attention probabilities
    return A @ V, A


def attention_backward(dZ, Q, K, V, A, temperature: float = 1.0):
    """The gradients (dQ, dK, dV) of scaled dot-product attention, given dZ = ∂L/∂Z and the
    forward pass's Q, K, V and weights A (masked weights are 0, so they pass no gradient).

    Z = A V gives dV = Aᵀ dZ and dA = dZ Vᵀ; the softmax's Jacobian turns dA into the
    scores' gradient dB = A ⊙ (dA - Σ_j A_j dA_j) (row by row); and B = Q Kᵀ / s with
    s = √d_k · temperature gives dQ = dB K / s, dK = dBᵀ Q / s."""
    s = math.sqrt(Q.shape[-1]) * temperature
    dV = np.swapaxes(A, -1, -2) @ dZ
    dA = dZ @ np.swapaxes(V, -1, -2)
    dB = A * (dA - np.sum(dA * A, axis=-1, keepdims=True))
    return dB @ K / s, np.swapaxes(dB, -1, -2) @ Q / s, dV


ATTENTION_STAGES = ("scores", "scaled", "masked", "softmax", "output")


@dataclass
class AttentionStage:
    """One step of attention for a single query, as the explorer shows it.

    Every record carries what has been computed so far: ``raw`` = q·k_j for
    every key j, ``scaled`` = raw / (√d_k · temperature), ``masked`` (masked
    keys at -inf), ``weights`` = softmax, ``output`` = Σ_j weights_j v_j.
    Entries not computed yet at this stage are None.
    """

    index: int
    name: str
    query: int
    d_k: int
    temperature: float
    allowed: np.ndarray
    raw: np.ndarray
    scaled: np.ndarray | None = None
    masked: np.ndarray | None = None
    weights: np.ndarray | None = None
    output: np.ndarray | None = None

    @property
    def current(self) -> np.ndarray:
        """The vector over the keys that this stage produced (for the output stage: the weights)."""
        return {"scores": self.raw, "scaled": self.scaled, "masked": self.masked,
                "softmax": self.weights, "output": self.weights}[self.name]


def attention_trace(Q, K, V, query: int, mask=None, temperature: float = 1.0) -> list[AttentionStage]:
    """The five steps of attention for query row ``query`` of Q (2-D arrays: one sequence, one head).

    scores q·k_j → scaled by 1/(√d_k · temperature) → masked (-inf where the
    mask forbids) → softmax weights → the weighted sum of the values. The
    last record's weights and output equal row ``query`` of
    :func:`scaled_dot_product_attention`.
    """
    Q, K, V = _qkv(Q, K, V)
    if Q.ndim != 2:
        raise ValueError(f"attention_trace follows one sequence and one head: Q must be 2-D (T_q, d_k), "
                         f"got shape {Q.shape}")
    query = whole_number("query", query, 0, Q.shape[0] - 1, meaning="a row of Q")
    temperature = real_number("temperature", temperature, 0, low_open=True)
    if mask is None:
        allowed = np.ones(K.shape[0], dtype=bool)
    else:
        full = np.broadcast_to(_bool_mask(mask), (Q.shape[0], K.shape[0]))
        allowed = np.array(full[query])
    if not allowed.any():
        raise ValueError(f"the mask hides every key from query {query}")
    d_k = Q.shape[1]
    raw = K @ Q[query]
    scaled = raw / (math.sqrt(d_k) * temperature)
    masked = np.where(allowed, scaled, -np.inf)
    weights = softmax(masked)
    output = weights @ V
    common = dict(query=query, d_k=d_k, temperature=temperature, allowed=allowed, raw=raw)
    values = [dict(), dict(scaled=scaled), dict(scaled=scaled, masked=masked),
              dict(scaled=scaled, masked=masked, weights=weights),
              dict(scaled=scaled, masked=masked, weights=weights, output=output)]
    return [AttentionStage(i, name, **common, **extra) for i, (name, extra) in enumerate(zip(ATTENTION_STAGES, values))]


# ------------------------------------------------------- multi-head attention ---

def split_heads(X, h: int) -> np.ndarray:
    """(..., T, d_model) → (..., h, T, d_model/h): head i gets features i·d_k … (i+1)·d_k - 1.

    Splitting the last axis into (h, d_k) and moving the head axis before the
    tokens lets one batched matrix product compute every head's attention."""
    X = _real_array(X, "X", "(..., T, d_model)", 2)
    h = whole_number("h", h, 1, meaning="the number of heads")
    d_model = X.shape[-1]
    if d_model % h:
        raise ValueError(f"d_model = {d_model} must be divisible by the number of heads h = {h}")
    # a contiguous copy: the batched products of attention then run on plain matrices
    return np.ascontiguousarray(np.swapaxes(X.reshape(*X.shape[:-1], h, d_model // h), -3, -2))


def merge_heads(Z) -> np.ndarray:
    """(..., h, T, d_v) → (..., T, h·d_v): the heads' outputs side by side (the deck's "concatenate")."""
    Z = _real_array(Z, "Z", "(..., h, T, d_v)", 3)
    Z = np.swapaxes(Z, -3, -2)
    return Z.reshape(*Z.shape[:-2], Z.shape[-2] * Z.shape[-1])


def _init_linear(rng, d_in, d_out, bias=True):
    """Weights uniform in ±1/√d_in (PyTorch's nn.Linear default), biases likewise."""
    bound = 1.0 / math.sqrt(d_in)
    W = rng.uniform(-bound, bound, size=(d_in, d_out))
    b = rng.uniform(-bound, bound, size=d_out) if bias else np.zeros(d_out)
    return W, b


def _linear(x, W, b):
    """x W + b for x of shape (..., d_in): one matrix product over all tokens of all sequences."""
    return (x.reshape(-1, x.shape[-1]) @ W + b).reshape(*x.shape[:-1], W.shape[1])


def _linear_backward(dh, x, W, grads, name):
    """The backward pass of h = x W + b over all tokens: stores ∂L/∂W and ∂L/∂b under
    ``W_<name>`` and ``b_<name>`` in ``grads`` and returns ∂L/∂x = ∂L/∂h Wᵀ."""
    x2, dh2 = x.reshape(-1, x.shape[-1]), dh.reshape(-1, dh.shape[-1])
    grads[f"W_{name}"] = x2.T @ dh2
    grads[f"b_{name}"] = dh2.sum(axis=0)
    return dh @ W.T


def _rng(rng):
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _head_mask(mask):
    """A mask for (B, T_q, T_k) scores gets a head axis: (B, 1, T_q, T_k); a 2-D mask broadcasts as it is."""
    if mask is None:
        return None
    mask = _bool_mask(mask)
    return mask[:, None] if mask.ndim == 3 else mask


class MultiHeadAttention:
    """Multi-head attention: h heads of scaled dot-product attention on learned projections.

    Q = X_q W^Q + b^Q, K = X_kv W^K + b^K, V = X_kv W^V + b^V (each d_model × d_model),
    split into h heads of d_k = d_model/h features; each head attends on its
    own; the heads are merged and projected, out = merge(Z) W^O + b^O.
    Self-attention is ``forward(x)``; cross-attention (a decoder attending to
    the encoder's output) is ``forward(x, memory=H)``.
    """

    def __init__(self, d_model: int, num_heads: int, rng=0, bias: bool = True):
        self.d_model = whole_number("d_model", d_model, 1)
        self.num_heads = whole_number("num_heads", num_heads, 1)
        if d_model % num_heads:
            raise ValueError(f"d_model = {d_model} must be divisible by num_heads = {num_heads}")
        rng = _rng(rng)
        self.params: dict[str, np.ndarray] = {}
        for name in "QKVO":
            W, b = _init_linear(rng, d_model, d_model, bias)
            self.params[f"W_{name}"], self.params[f"b_{name}"] = W, b

    @property
    def d_k(self) -> int:
        return self.d_model // self.num_heads

    def forward(self, x, memory=None, mask=None):
        """x: (B, T_q, d_model) or (T_q, d_model); memory (keys and values come from it): x by default.
        Returns ``(out, cache)``; ``cache["A"]`` holds the weights, shape (B, h, T_q, T_k)."""
        x = _real_array(x, "x", "(B, T, d_model)", 2)
        memory = x if memory is None else _real_array(memory, "memory", "(B, T_k, d_model)", 2)
        for name, arr in (("x", x), ("memory", memory)):
            if arr.shape[-1] != self.d_model:
                raise ValueError(f"{name} must have d_model = {self.d_model} features in its last axis, "
                                 f"got shape {arr.shape}")
        p, h = self.params, self.num_heads
        Q = split_heads(_linear(x, p["W_Q"], p["b_Q"]), h)
        K = split_heads(_linear(memory, p["W_K"], p["b_K"]), h)
        V = split_heads(_linear(memory, p["W_V"], p["b_V"]), h)
        Z, A = scaled_dot_product_attention(Q, K, V, _head_mask(mask))
        merged = merge_heads(Z)
        out = _linear(merged, p["W_O"], p["b_O"])
        return out, {"x": x, "memory": memory, "self": memory is x, "Q": Q, "K": K, "V": V, "A": A, "Z": Z,
                     "merged": merged}

    def backward(self, dout, cache):
        """∂L/∂out → ``(dx, grads)`` with ``grads`` keyed like ``params``. For cross-attention
        (``forward(x, memory=H)``) ``dx`` is the pair ``(∂L/∂x, ∂L/∂H)``."""
        p, h = self.params, self.num_heads
        dout = _real_array(dout, "dout (the upstream gradient ∂L/∂out)", "the shape of the output", 2)
        grads = {}
        dmerged = _linear_backward(dout, cache["merged"], p["W_O"], grads, "O")
        dZ = split_heads(dmerged, h)
        dQ, dK, dV = attention_backward(dZ, cache["Q"], cache["K"], cache["V"], cache["A"])
        dx = _linear_backward(merge_heads(dQ), cache["x"], p["W_Q"], grads, "Q")
        dmemory = (_linear_backward(merge_heads(dK), cache["memory"], p["W_K"], grads, "K")
                   + _linear_backward(merge_heads(dV), cache["memory"], p["W_V"], grads, "V"))
        grads = {name: grads[name] for name in p}
        return (dx + dmemory if cache["self"] else (dx, dmemory)), grads


# ------------------------------------------------------ the Transformer block ---

def layer_norm(x, gamma=None, beta=None, eps: float = 1e-5) -> np.ndarray:
    """LayerNorm(x) = γ (x - mean) / √(var + ε) + β over the last (feature) axis.

    Each token is normalized on its own, across its d features: nothing is
    shared between examples of a batch or positions of a sequence, which is
    why it suits variable-length sequences better than batch norm. The
    variance is the biased one (divide by d), as in PyTorch; ε keeps a
    constant vector from dividing by zero (the deck's formula divides by the
    standard deviation without it).
    """
    x = _real_array(x, "x", "(..., d)", 1)
    eps = real_number("eps", eps, 0, meaning="added to the variance")
    mean = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return y


class LayerNorm:
    """Layer normalization with a learned scale γ (ones) and shift β (zeros)."""

    def __init__(self, d: int, eps: float = 1e-5):
        d = whole_number("d", d, 1)
        self.eps = eps
        self.params = {"gamma": np.ones(d), "beta": np.zeros(d)}

    def forward(self, x):
        x = _real_array(x, "x", "(..., d)", 1)
        x_hat = layer_norm(x, eps=self.eps)
        inv_std = 1.0 / np.sqrt(x.var(axis=-1, keepdims=True) + self.eps)
        return x_hat * self.params["gamma"] + self.params["beta"], {"x_hat": x_hat, "inv_std": inv_std}

    def backward(self, dout, cache):
        """dγ = Σ dout ⊙ x̂, dβ = Σ dout (over every token), and
        dx = (dx̂ - mean(dx̂) - x̂ · mean(dx̂ ⊙ x̂)) / σ with dx̂ = dout ⊙ γ (means over the features)."""
        x_hat = cache["x_hat"]
        dout = _real_array(dout, "dout (the upstream gradient ∂L/∂out)", f"{x_hat.shape}", 1)
        axes = tuple(range(dout.ndim - 1))
        grads = {"gamma": np.sum(dout * x_hat, axis=axes), "beta": np.sum(dout, axis=axes)}
        dx_hat = dout * self.params["gamma"]
        dx = cache["inv_std"] * (dx_hat - dx_hat.mean(axis=-1, keepdims=True)
                                 - x_hat * np.mean(dx_hat * x_hat, axis=-1, keepdims=True))
        return dx, grads


class FeedForward:
    """The position-wise feed-forward net FFN(x) = max(0, x W₁ + b₁) W₂ + b₂, applied to every token alike."""

    def __init__(self, d_model: int, d_ff: int, rng=0):
        d_model, d_ff = whole_number("d_model", d_model, 1), whole_number("d_ff", d_ff, 1)
        rng = _rng(rng)
        W1, b1 = _init_linear(rng, d_model, d_ff)
        W2, b2 = _init_linear(rng, d_ff, d_model)
        self.params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}

    def forward(self, x):
        x = _real_array(x, "x", "(..., d_model)", 1)
        p = self.params
        hidden = np.maximum(0.0, _linear(x, p["W1"], p["b1"]))
        return _linear(hidden, p["W2"], p["b2"]), {"x": x, "hidden": hidden}

    def backward(self, dout, cache):
        p, grads = self.params, {}
        dout = _real_array(dout, "dout (the upstream gradient ∂L/∂out)", "the shape of the output", 1)
        dhidden = _linear_backward(dout, cache["hidden"], p["W2"], grads, "2") * (cache["hidden"] > 0)
        dx = _linear_backward(dhidden, cache["x"], p["W1"], grads, "1")
        return dx, {"W1": grads["W_1"], "b1": grads["b_1"], "W2": grads["W_2"], "b2": grads["b_2"]}


def _prefixed(grads: dict[str, dict]) -> dict[str, np.ndarray]:
    """{"ffn": {"W1": ...}} → {"ffn.W1": ...}: a block's gradients keyed like its ``params``."""
    return {f"{layer}.{name}": g for layer, layer_grads in grads.items() for name, g in layer_grads.items()}


class EncoderBlock:
    """A Transformer encoder block, post-norm as in "Attention Is All You Need" and deck 002:

        x = LayerNorm(x + MultiHead(x, x, x))
        x = LayerNorm(x + FFN(x))

    ``mask`` (optional) hides padding keys. The sublayers are attributes
    (``attention``, ``norm1``, ``ffn``, ``norm2``); ``params`` collects
    theirs under prefixed names.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, rng=0, eps: float = 1e-5):
        rng = _rng(rng)
        self.attention = MultiHeadAttention(d_model, num_heads, rng)
        self.norm1 = LayerNorm(d_model, eps)
        self.ffn = FeedForward(d_model, d_ff, rng)
        self.norm2 = LayerNorm(d_model, eps)

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{layer}.{k}": v for layer in ("attention", "norm1", "ffn", "norm2")
                for k, v in getattr(self, layer).params.items()}

    def forward(self, x, mask=None):
        a, attention_cache = self.attention.forward(x, mask=mask)
        x1, norm1_cache = self.norm1.forward(x + a)          # residual connection, then layer norm
        f, ffn_cache = self.ffn.forward(x1)
        out, norm2_cache = self.norm2.forward(x1 + f)
        return out, {"A": attention_cache["A"], "attention": attention_cache, "norm1": norm1_cache,
                     "ffn": ffn_cache, "norm2": norm2_cache}

    def backward(self, dout, cache):
        """Back through both sublayers; each residual connection adds its path's gradient
        to the gradient that skips the sublayer."""
        grads = {}
        dsum2, grads["norm2"] = self.norm2.backward(dout, cache["norm2"])
        dx1, grads["ffn"] = self.ffn.backward(dsum2, cache["ffn"])
        dsum1, grads["norm1"] = self.norm1.backward(dsum2 + dx1, cache["norm1"])
        dx, grads["attention"] = self.attention.backward(dsum1, cache["attention"])
        return dsum1 + dx, _prefixed(grads)


class DecoderBlock:
    """A Transformer decoder block (post-norm):

        y = LayerNorm(y + MaskedMultiHead(y, y, y))     causal: no peeking at later outputs
        y = LayerNorm(y + MultiHead(y, H, H))           cross-attention to the encoder's output H
        y = LayerNorm(y + FFN(y))
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int, rng=0, eps: float = 1e-5):
        rng = _rng(rng)
        self.self_attention = MultiHeadAttention(d_model, num_heads, rng)
        self.norm1 = LayerNorm(d_model, eps)
        self.cross_attention = MultiHeadAttention(d_model, num_heads, rng)
        self.norm2 = LayerNorm(d_model, eps)
        self.ffn = FeedForward(d_model, d_ff, rng)
        self.norm3 = LayerNorm(d_model, eps)

    _LAYERS = ("self_attention", "norm1", "cross_attention", "norm2", "ffn", "norm3")

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{layer}.{k}": v for layer in self._LAYERS for k, v in getattr(self, layer).params.items()}

    def forward(self, y, memory, memory_mask=None):
        y = _real_array(y, "y", "(B, T, d_model)", 2)
        T = y.shape[-2]
        caches = {}
        s, caches["self_attention"] = self.self_attention.forward(y, mask=causal_mask(T))
        y1, caches["norm1"] = self.norm1.forward(y + s)
        c, caches["cross_attention"] = self.cross_attention.forward(y1, memory=memory, mask=memory_mask)
        y2, caches["norm2"] = self.norm2.forward(y1 + c)
        f, caches["ffn"] = self.ffn.forward(y2)
        out, caches["norm3"] = self.norm3.forward(y2 + f)
        return out, {"A_self": caches["self_attention"]["A"], "A_cross": caches["cross_attention"]["A"], **caches}

    def backward(self, dout, cache):
        """Returns ``((∂L/∂y, ∂L/∂memory), grads)``: the encoder's output gets gradient too."""
        grads = {}
        dsum3, grads["norm3"] = self.norm3.backward(dout, cache["norm3"])
        dy2, grads["ffn"] = self.ffn.backward(dsum3, cache["ffn"])
        dsum2, grads["norm2"] = self.norm2.backward(dsum3 + dy2, cache["norm2"])
        (dy1, dmemory), grads["cross_attention"] = self.cross_attention.backward(dsum2, cache["cross_attention"])
        dsum1, grads["norm1"] = self.norm1.backward(dsum2 + dy1, cache["norm1"])
        dy, grads["self_attention"] = self.self_attention.backward(dsum1, cache["self_attention"])
        return (dsum1 + dy, dmemory), _prefixed(grads)


def positional_encoding(T: int, d: int, base: float = 10000.0) -> np.ndarray:
    """The sinusoidal positional encoding, shape (T, d):

        PE[pos, 2i]   = sin(pos / base^(2i/d))
        PE[pos, 2i+1] = cos(pos / base^(2i/d))

    with base 10000 as in "Attention Is All You Need" (deck 002 prints 1000).
    Dimension pair i is a sine/cosine of wavelength 2π·base^(2i/d): from 2π
    for i = 0 up to almost 2π·base, so nearby and distant positions are both
    told apart. An odd d leaves the last column a sine.
    """
    T = whole_number("T", T, 1, meaning="the number of positions")
    d = whole_number("d", d, 1, meaning="the embedding size")
    base = real_number("base", base, 1, low_open=True, meaning="10000 in the Transformer")
    pos = np.arange(T)[:, None]
    two_i = np.arange(0, d, 2)[None, :]
    angle = pos / base ** (two_i / d)
    pe = np.zeros((T, d))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d // 2])
    return pe


# ----------------------------------------------------------- Luong attention ---

LUONG_SCORES = ("dot", "general", "concat")


def luong_scores(q, H, kind: str = "dot", W_a=None, v_a=None) -> np.ndarray:
    """score(q_t, h_s) for every source state h_s (the rows of H), Luong et al. (2015):

        dot:      q_tᵀ h_s
        general:  q_tᵀ W_a h_s                    W_a: (d_q, d_h)
        concat:   v_aᵀ tanh(W_a [q_t; h_s])       W_a: (d_a, d_q + d_h), v_a: (d_a,)

    q: (..., d_q), H: (..., S, d_h). Returns scores of shape (..., S).
    """
    q = _real_array(q, "q", "(..., d_q)", 1)
    H = _real_array(H, "H", "(..., S, d_h)", 2)
    if kind not in LUONG_SCORES:
        raise ValueError(f"kind must be one of {LUONG_SCORES}, got {kind!r}")
    if kind == "dot":
        if q.shape[-1] != H.shape[-1]:
            raise ValueError(f"the dot score needs q and h_s of the same size, got q {q.shape} and H {H.shape}")
        return np.einsum("...d,...sd->...s", q, H)
    W_a = _real_array(W_a, "W_a", "(d_q, d_h) for 'general', (d_a, d_q + d_h) for 'concat'", 2)
    if kind == "general":
        if W_a.shape != (q.shape[-1], H.shape[-1]):
            raise ValueError(f"W_a must have shape (d_q, d_h) = ({q.shape[-1]}, {H.shape[-1]}) for the general "
                             f"score, got {W_a.shape}")
        return np.einsum("...d,de,...se->...s", q, W_a, H)
    d_q, d_h = q.shape[-1], H.shape[-1]
    if W_a.shape[1] != d_q + d_h:
        raise ValueError(f"W_a must have shape (d_a, d_q + d_h) = (d_a, {d_q + d_h}) for the concat score, "
                         f"got {W_a.shape}")
    v_a = _real_array(v_a, "v_a", f"({W_a.shape[0]},)", 1)
    if v_a.shape != (W_a.shape[0],):
        raise ValueError(f"v_a must have shape (d_a,) = ({W_a.shape[0]},), got {v_a.shape}")
    # W_a [q; h_s] = W_a[:, :d_q] q + W_a[:, d_q:] h_s: the q part is shared by every s
    hidden = np.tanh((q @ W_a[:, :d_q].T)[..., None, :] + H @ W_a[:, d_q:].T)
    return hidden @ v_a


def global_attention(q, H, kind: str = "dot", W_a=None, v_a=None):
    """Luong's global attention: a_t(s) = softmax over s of score(q_t, h_s) and the
    context vector c_t = Σ_s a_t(s) h_s. Returns ``(c, a)``."""
    H = _real_array(H, "H", "(..., S, d_h)", 2)
    a = softmax(luong_scores(q, H, kind, W_a, v_a))
    return np.einsum("...s,...sd->...d", a, H), a


def attentional_state(c, q, W_c) -> np.ndarray:
    """q̃_t = tanh(W_c [c_t; q_t]): the context and the decoder state combined. W_c: (d, d_h + d_q)."""
    c = _real_array(c, "c", "(..., d_h)", 1)
    q = _real_array(q, "q", "(..., d_q)", 1)
    W_c = _real_array(W_c, "W_c", "(d, d_h + d_q)", 2)
    if W_c.shape[1] != c.shape[-1] + q.shape[-1]:
        raise ValueError(f"W_c must have {c.shape[-1] + q.shape[-1]} columns (the length of [c; q]), "
                         f"got shape {W_c.shape}")
    return np.tanh(np.concatenate([c, q], axis=-1) @ W_c.T)


def predictive_distribution(q_tilde, W_s) -> np.ndarray:
    """p(y_t | y_<t, x) = softmax(W_s q̃_t), a distribution over the target vocabulary. W_s: (V, d)."""
    q_tilde = _real_array(q_tilde, "q_tilde", "(..., d)", 1)
    W_s = _real_array(W_s, "W_s", "(V, d)", 2)
    return softmax(q_tilde @ W_s.T)


def local_attention(q, H, D: int, W_p=None, v_p=None, p_t: float | None = None, kind: str = "dot",
                    W_a=None, v_a=None):
    """Luong's local attention for one decoder state q (d_q,) over the source states H (S, d_h).

    The aligned position is predicted, p_t = S · sigmoid(v_pᵀ tanh(W_p q_t))
    (``local-p``), or given (``p_t``; ``local-m`` uses p_t = t). Only the
    window [p_t - D, p_t + D] takes part, the 2D + 1 positions around the one
    nearest p_t (the deck says "a window of size D": it has 2D + 1; at the
    ends of the source it is cut short). There the alignment weights of global
    attention, computed over the window, are multiplied by a Gaussian centred
    on p_t with σ = D/2, which favours positions near p_t:

        a_t(s) = align(q_t, h_s) · exp(-(s - p_t)² / (2σ²))

    (not renormalized, as in the paper). Returns ``(c, a, p_t)``: the context
    Σ_s a_t(s) h_s, the weights over all S positions (0 outside the window)
    and the aligned position.
    """
    q = _real_array(q, "q", "(d_q,)", 1)
    H = _real_array(H, "H", "(S, d_h)", 2)
    if q.ndim != 1 or H.ndim != 2:
        raise ValueError(f"local_attention takes one decoder state q (d_q,) and H (S, d_h), got q {q.shape} "
                         f"and H {H.shape}")
    S = H.shape[0]
    D = whole_number("D", D, 0, meaning="the half-width of the window")
    if p_t is None:
        if W_p is None or v_p is None:
            raise ValueError("give either p_t (the aligned position) or both W_p and v_p to predict it")
        W_p = _real_array(W_p, "W_p", f"(d_p, {q.shape[0]})", 2)
        v_p = _real_array(v_p, "v_p", f"({W_p.shape[0]},)", 1)
        p_t = S / (1.0 + np.exp(-(v_p @ np.tanh(W_p @ q))))
    p_t = real_number("p_t", p_t, 0, S, meaning="the aligned source position, 0 ≤ p_t ≤ S")
    s = np.arange(S)
    centre = min(int(np.floor(p_t + 0.5)), S - 1)        # the source position nearest p_t
    window = np.abs(s - centre) <= D                     # 2D + 1 positions, fewer at the ends
    scores = luong_scores(q, H[window], kind, W_a, v_a)
    align = softmax(scores)
    sigma = D / 2 if D > 0 else 0.5
    a = np.zeros(S)
    a[window] = align * np.exp(-((s[window] - p_t) ** 2) / (2 * sigma ** 2))
    return a @ H, a, float(p_t)


class LocalAttention:
    """Local-p attention with its own parameters W_p (d_p, d_q) and v_p (d_p,):
    ``forward(q, H) -> ((c, a, p_t), cache)``."""

    def __init__(self, d_q: int, d_p: int, D: int, kind: str = "dot", rng=0):
        rng = _rng(rng)
        self.D = whole_number("D", D, 0)
        self.kind = kind
        self.params = {"W_p": rng.normal(0, 1 / math.sqrt(d_q), size=(d_p, d_q)),
                       "v_p": rng.normal(0, 1 / math.sqrt(d_p), size=d_p)}

    def forward(self, q, H):
        c, a, p_t = local_attention(q, H, self.D, self.params["W_p"], self.params["v_p"], kind=self.kind)
        return (c, a, p_t), {"a": a, "p_t": p_t}


# --------------------------------------------------------------- toy tasks ---

def _task_args(n, length, vocab, rng):
    n = whole_number("n", n, 1, meaning="the number of sequences")
    length = whole_number("length", length, 1, meaning="the sequence length")
    vocab = whole_number("vocab", vocab, 2, meaning="the number of symbols")
    return n, length, vocab, _rng(rng)


def copy_task(n: int, length: int, vocab: int = 10, rng=0):
    """n random sequences of ``length`` symbols 0..vocab-1 and their targets: the same sequences."""
    n, length, vocab, rng = _task_args(n, length, vocab, rng)
    x = rng.integers(0, vocab, size=(n, length))
    return x, x.copy()


def reverse_task(n: int, length: int, vocab: int = 10, rng=0):
    """n random sequences and their targets, the sequences reversed."""
    n, length, vocab, rng = _task_args(n, length, vocab, rng)
    x = rng.integers(0, vocab, size=(n, length))
    return x, x[:, ::-1].copy()


def sort_task(n: int, length: int = 10, vocab: int = 10, rng=0):
    """n random sequences of digits and their targets, the digits in ascending order."""
    n, length, vocab, rng = _task_args(n, length, vocab, rng)
    x = rng.integers(0, vocab, size=(n, length))
    return x, np.sort(x, axis=1)


def shift_right(y, bos: int) -> np.ndarray:
    """Teacher forcing's decoder input: <BOS> followed by the target without its last token.

    At step j the decoder sees the true y_1..y_{j-1} and predicts y_j."""
    y = np.asarray(y)
    if y.ndim != 2 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be a 2-D integer array (N, T) of token ids, got shape {y.shape} and dtype {y.dtype}")
    return np.concatenate([np.full((y.shape[0], 1), bos, dtype=y.dtype), y[:, :-1]], axis=1)


def sequence_accuracy(predicted, target) -> float:
    """The share of sequences predicted entirely right (every token), a number in [0, 1]."""
    predicted, target = np.asarray(predicted), np.asarray(target)
    if predicted.shape != target.shape or predicted.ndim != 2:
        raise ValueError(f"predicted and target must be 2-D arrays (N, T) of the same shape, got "
                         f"{predicted.shape} and {target.shape}")
    return float(np.mean(np.all(predicted == target, axis=1)))


# ------------------------------------------------- greedy and beam search ---

# A step function: step(state, token) -> (log_probs over the vocabulary (V,), new_state).
Step = Callable[[Any, int], tuple]


@dataclass
class Hypothesis:
    """A decoded sequence (without <BOS>, with <EOS> when it finished) and its log-probability."""

    tokens: tuple[int, ...]
    log_prob: float
    finished: bool
    state: Any = field(default=None, repr=False, compare=False)

    @property
    def prob(self) -> float:
        return math.exp(self.log_prob)


@dataclass
class BeamStep:
    """One step of beam search: every candidate considered and the k kept."""

    step: int
    candidates: list[Hypothesis]
    kept: list[Hypothesis]


def _log_probs(step: Step, state, token: int):
    log_probs, new_state = step(state, token)
    log_probs = np.asarray(log_probs, dtype=float)
    if log_probs.ndim != 1:
        raise ValueError(f"the step function must return log-probabilities of shape (V,), got {log_probs.shape}")
    return log_probs, new_state


def greedy_decode(step: Step, state, bos: int, eos: int, max_len: int) -> Hypothesis:
    """Greedy decoding: at each step take the most probable next token, feed it back,
    stop at <EOS> or after ``max_len`` tokens. (Ties go to the lower token id.)"""
    max_len = whole_number("max_len", max_len, 1)
    tokens, total, token = [], 0.0, bos
    for _ in range(max_len):
        log_probs, state = _log_probs(step, state, token)
        token = int(np.argmax(log_probs))
        tokens.append(token)
        total += float(log_probs[token])
        if token == eos:
            return Hypothesis(tuple(tokens), total, True, state)
    return Hypothesis(tuple(tokens), total, False, state)


def beam_search(step: Step, state, bos: int, eos: int, beam_width: int, max_len: int,
                return_trace: bool = False):
    """Beam search with beam width k (deck 002): keep the k prefixes of highest joint
    probability, extend each by every token, keep the k best of all extensions,
    until every kept hypothesis has produced <EOS> (or ``max_len`` tokens).

    Finished hypotheses stay in the pool and compete with the open ones on
    their joint log-probability. Returns the final hypotheses, best first;
    with ``return_trace=True`` also the list of :class:`BeamStep` records.
    Beam width 1 is exactly greedy decoding. Ties go to the lower token id,
    then to the earlier beam.
    """
    k = whole_number("beam_width", beam_width, 1)
    max_len = whole_number("max_len", max_len, 1)
    beams = [Hypothesis((), 0.0, False, state)]
    trace: list[BeamStep] = []
    for t in range(max_len):
        candidates = []  # (-log_prob, order, hypothesis): order keeps ties deterministic
        order = 0
        for beam in beams:
            if beam.finished:
                candidates.append((-beam.log_prob, order, beam))
                order += 1
                continue
            last = beam.tokens[-1] if beam.tokens else bos
            log_probs, new_state = _log_probs(step, beam.state, last)
            for token in range(log_probs.size):
                if log_probs[token] == -np.inf:
                    continue
                hyp = Hypothesis(beam.tokens + (token,), beam.log_prob + float(log_probs[token]), token == eos,
                                 new_state)
                candidates.append((-hyp.log_prob, order, hyp))
                order += 1
        kept = [c[2] for c in heapq.nsmallest(k, candidates, key=lambda c: (c[0], c[1]))]
        if return_trace:
            trace.append(BeamStep(t + 1, [c[2] for c in sorted(candidates, key=lambda c: (c[0], c[1]))], kept))
        beams = kept
        if all(b.finished for b in beams):
            break
    best_first = sorted(beams, key=lambda b: -b.log_prob)
    return (best_first, trace) if return_trace else best_first


def sequence_log_prob(step: Step, state, bos: int, tokens: Sequence[int]) -> float:
    """log P(y | x) = Σ_j log P(y_j | y_<j, x): the model's own score of a given output."""
    total, token = 0.0, bos
    for nxt in tokens:
        log_probs, state = _log_probs(step, state, token)
        total += float(log_probs[int(nxt)])
        token = int(nxt)
    return total


def table_model(table: dict) -> Step:
    """A step function from a table {prefix tuple: {token: probability}}: a model small
    enough to trace by hand. The state is the prefix decoded so far; tokens
    missing from a row have probability 0. The vocabulary is every token that appears."""
    vocab = 1 + max(tok for row in table.values() for tok in row)
    rows = {}
    for prefix, row in table.items():
        p = np.zeros(vocab)
        for tok, prob in row.items():
            p[tok] = prob
        if not math.isclose(p.sum(), 1.0, abs_tol=1e-9):
            raise ValueError(f"the probabilities after prefix {prefix} sum to {p.sum()}, not 1")
        with np.errstate(divide="ignore"):
            rows[tuple(prefix)] = np.log(p)

    def step(state, token):
        prefix = () if state is None else state
        if state is not None:
            prefix = prefix + (token,)
        if prefix not in rows:
            raise ValueError(f"the table has no row for the prefix {prefix}")
        return rows[prefix], prefix

    return step


# ----------------------------------------------------------------------- ViT ---

def vit_num_patches(image_size: int = 224, patch_size: int = 16) -> int:
    """The number of patch tokens of a ViT: (image_size / patch_size)², e.g. 224/16 = 14 → 196."""
    image_size = whole_number("image_size", image_size, 1)
    patch_size = whole_number("patch_size", patch_size, 1)
    if image_size % patch_size:
        raise ValueError(f"image_size = {image_size} must be a multiple of patch_size = {patch_size}")
    return (image_size // patch_size) ** 2


def attention_matrix_bytes(tokens: int, layers: int = 1, heads: int = 1, bytes_per_value: int = 4,
                           batch: int = 1) -> int:
    """Memory of all attention matrices of a forward pass: batch · layers · heads · tokens² values.

    Quadratic in the number of tokens: halving the patch size quadruples the
    tokens and multiplies this by 16."""
    for name, value in (("tokens", tokens), ("layers", layers), ("heads", heads),
                        ("bytes_per_value", bytes_per_value), ("batch", batch)):
        whole_number(name, value, 1)
    return int(batch) * int(layers) * int(heads) * int(tokens) ** 2 * int(bytes_per_value)
