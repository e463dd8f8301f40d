"""Recurrent networks (迴圈神經網路, RNN), LSTM (長短期記憶) and GRU, in NumPy, with
backpropagation through time (BPTT); and the small PyTorch models of unit 09.

Decks 000 (unit 3), 002 (week 7) and 004 (lecture III).

Conventions
-----------
Batch first and row vectors, as in deck 002 and in PyTorch's ``batch_first=True``:
a batch of sequences ``X`` has shape (B, T, D) (batch, time, features), a hidden
state ``h`` shape (B, H). The plain RNN is

    h_t = tanh(x_t U + h_{t-1} W + b),        y_t = h_t V + c,

which is deck 000's column form h_t = tanh(W_hh h_{t-1} + W_xh x_t) with
W_hh = Wᵀ and W_xh = Uᵀ. With no previous state, h_0 = tanh(x_0 U + b) (deck 002):
the same formula with h_{-1} = 0.

Gates are stacked in PyTorch's order, so a model trained in PyTorch can be read
into these functions and back without reordering:

* LSTM: ``U`` (D, 4H), ``W`` (H, 4H), ``b`` (4H,), blocks (i, f, g, o):
  i input gate, f forget gate, g the candidate C̃ (deck 000) / g_t (deck 002),
  o output gate; c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t).
* GRU: ``U`` (D, 3H), ``W`` (H, 3H), ``b`` and ``b_h`` (3H,), blocks (r, z, n).

Every layer (:class:`RNN`, :class:`LSTM`, :class:`GRU`) follows the NumPy layer
protocol of :mod:`coursekit.nn`: ``params`` (a dict of arrays),
``forward(x) -> (out, cache)`` and ``backward(dout, cache) -> (dx, grads)`` with
``grads`` keyed like ``params``; ``out`` holds every hidden state, (B, T, H).
``trace(x)`` gives the per-step records (gates and states) that the notebook's
plots and the LSTM gate stepper widget draw.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from ._validate import index_array, real_array, real_number, whole_number
from .device import cpu_threads

__all__ = [
    "sigmoid", "rnn_step", "rnn_forward", "rnn_backward", "RNN",
    "LSTM_GATES", "lstm_step", "lstm_step_concat", "concat_to_uw", "uw_to_concat",
    "lstm_forward", "lstm_backward", "LSTM",
    "GRU_GATES", "gru_step", "gru_forward", "gru_backward", "GRU",
    "RNNState", "LSTMState", "GRUState", "rnn_trace", "lstm_trace", "gru_trace",
    "grad_norm", "clip_grad_norm", "power_and_gradient", "state_gradient_norms",
    "lstm_to_torch", "lstm_from_torch", "rnn_to_torch", "gru_to_torch",
    "bigram_nll", "best_bigram_nll", "softmax_with_temperature", "sample_index",
    "sequence_cross_entropy", "SequenceModel", "SentimentModel", "BagOfEmbeddings", "lstm_parameter_count",
    "GateTask", "GATE_TASKS", "GatePreset", "train_gate_model", "train_gate_presets", "load_gate_presets",
]

LSTM_GATES = ("i", "f", "g", "o")
GRU_GATES = ("r", "z", "n")


# ------------------------------------------------------------------ helpers ---

def sigmoid(z):
    """σ(z) = 1 / (1 + e^{−z}), without overflow, in the dtype of ``z`` (float32 stays float32)."""
    z = np.asarray(z)
    if z.dtype.kind != "f":
        z = z.astype(np.float64)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def _sequence(X, D: int | None = None) -> np.ndarray:
    X = real_array("X", X, 3, "(B, T, D): batch, time steps, features per step", dtype=None)
    if X.shape[1] < 1:
        raise ValueError(f"X must hold at least one time step, got shape {X.shape}")
    if D is not None and X.shape[2] != D:
        raise ValueError(f"X must have D = {D} features per step (the rows of U), got shape {X.shape}")
    return X


def _weights(U, W, b, blocks: int, b_name: str = "b"):
    """Check (U, W, b) of a recurrent cell with ``blocks`` gate blocks; return them and H."""
    U = real_array("U", U, 2, f"(D, {blocks}·H): input weights", dtype=None)
    W = real_array("W", W, 2, f"(H, {blocks}·H): recurrent weights", dtype=None)
    H = W.shape[0]
    if W.shape != (H, blocks * H):
        raise ValueError(f"W must have shape (H, {blocks}·H), got {W.shape}")
    if U.shape[1] != blocks * H:
        raise ValueError(f"U must have shape (D, {blocks}·H) = (D, {blocks * H}) to match W {W.shape}, got {U.shape}")
    b = real_array(b_name, b, 1, f"({blocks}·H,) = ({blocks * H},)", dtype=None)
    if b.shape != (blocks * H,):
        raise ValueError(f"{b_name} must have shape ({blocks * H},), got {b.shape}")
    return U, W, b, H


def _state(h, B: int, H: int, dtype, name: str = "h0") -> np.ndarray:
    if h is None:
        return np.zeros((B, H), dtype=dtype)
    h = real_array(name, h, 2, f"(B, H) = ({B}, {H})", dtype=dtype)
    if h.shape != (B, H):
        raise ValueError(f"{name} must have shape (B, H) = ({B}, {H}), got {h.shape}")
    return h


def _uniform(rng, shape, H, dtype):
    """PyTorch's initialization of recurrent layers: U(−1/√H, 1/√H)."""
    k = 1.0 / math.sqrt(H)
    return rng.uniform(-k, k, size=shape).astype(dtype)


# ---------------------------------------------------------------- plain RNN ---

def rnn_step(x, h_prev, U, W, b) -> np.ndarray:
    """One step of the plain RNN: h_t = tanh(x_t U + h_{t−1} W + b).

    x (B, D) or (D,), h_prev (B, H) or (H,), U (D, H), W (H, H), b (H,).
    """
    U = real_array("U", U, 2, "(D, H)")
    W = real_array("W", W, 2, "(H, H)")
    x = real_array("x", x, (1, 2), f"(B, {U.shape[0]}) or ({U.shape[0]},)")
    h_prev = real_array("h_prev", h_prev, (1, 2), f"(B, {W.shape[0]}) or ({W.shape[0]},)")
    b = real_array("b", b, 1, f"({W.shape[0]},)")
    if x.shape[-1] != U.shape[0] or h_prev.shape[-1] != W.shape[0] or W.shape[1] != W.shape[0] \
            or U.shape[1] != W.shape[0] or b.shape[0] != W.shape[0]:
        raise ValueError(f"shapes do not fit h_t = tanh(x U + h W + b): x {x.shape}, h_prev {h_prev.shape}, "
                         f"U {U.shape} (D, H), W {W.shape} (H, H), b {b.shape} (H,)")
    return np.tanh(x @ U + h_prev @ W + b)


def rnn_forward(X, U, W, b, h0=None):
    """All hidden states of the plain RNN over a batch of sequences: (H_all, cache),
    H_all of shape (B, T, H). The input projections x_t U of all steps are one
    matrix product; only h_{t−1} W is computed step by step."""
    U, W, b, H = _weights(U, W, b, 1)
    X = _sequence(X, U.shape[0])
    B, T, D = X.shape
    dtype = np.result_type(X, U, W, b)
    h = _state(h0, B, H, dtype)
    Ax = (X.transpose(1, 0, 2).reshape(T * B, D) @ U).reshape(T, B, H) + b   # time-major
    hs = np.empty((T + 1, B, H), dtype=dtype)
    hs[0] = h
    for t in range(T):
        hs[t + 1] = np.tanh(Ax[t] + hs[t] @ W)
    return hs[1:].transpose(1, 0, 2), (X, hs, U, W)


def rnn_backward(dH, cache, return_state_grads: bool = False):
    """Backpropagation through time for :func:`rnn_forward`.

    ``dH`` (B, T, H) is ∂L/∂h_t from the layers above at every step (zeros
    where the loss does not look). Returns ``(dX, dh0, grads)`` with grads
    {"U", "W", "b"}; with ``return_state_grads`` also the total ∂L/∂h_t,
    shape (T, B, H), whose norm over t shows gradients vanish or explode.
    """
    X, hs, U, W = cache
    B, T, D = X.shape
    H = W.shape[0]
    dH = real_array("dH", dH, 3, f"(B, T, H) = ({B}, {T}, {H})", dtype=hs.dtype)
    if dH.shape != (B, T, H):
        raise ValueError(f"dH must have shape (B, T, H) = ({B}, {T}, {H}), got {dH.shape}")
    dA = np.empty((T, B, H), dtype=hs.dtype)       # ∂L/∂(pre-activation) per step
    d_states = np.empty((T, B, H), dtype=hs.dtype) if return_state_grads else None
    dh_next = np.zeros((B, H), dtype=hs.dtype)
    for t in reversed(range(T)):
        dh = dH[:, t] + dh_next                     # from the loss at t and from step t+1
        if d_states is not None:
            d_states[t] = dh
        dA[t] = dh * (1.0 - hs[t + 1] ** 2)        # tanh' = 1 − tanh²
        dh_next = dA[t] @ W.T
    flat = dA.reshape(T * B, H)
    grads = {"U": X.transpose(1, 0, 2).reshape(T * B, D).T @ flat, "W": hs[:-1].reshape(T * B, H).T @ flat,
             "b": flat.sum(axis=0)}
    dX = (flat @ U.T).reshape(T, B, D).transpose(1, 0, 2)
    return (dX, dh_next, grads, d_states) if return_state_grads else (dX, dh_next, grads)


# --------------------------------------------------------------------- LSTM ---

def lstm_step(x, h_prev, c_prev, U, W, b):
    """One LSTM step in deck 002's U/W form, all four gates in one product.

    a = x U + h_prev W + b is cut into four blocks (i, f, g, o);
    i, f, o = σ(·), g = tanh(·) (the candidate C̃);
    c = f ⊙ c_prev + i ⊙ g;  h = o ⊙ tanh(c).
    Returns ``(h, c, gates)`` with gates a dict {"i", "f", "g", "o"}.
    """
    U, W, b, H = _weights(U, W, b, 4)
    x = real_array("x", x, (1, 2), f"(B, {U.shape[0]}) or ({U.shape[0]},)")
    h_prev = real_array("h_prev", h_prev, (1, 2), f"(B, {H}) or ({H},)")
    c_prev = real_array("c_prev", c_prev, (1, 2), f"(B, {H}) or ({H},)")
    if x.shape[-1] != U.shape[0] or h_prev.shape[-1] != H or c_prev.shape != h_prev.shape:
        raise ValueError(f"x must have {U.shape[0]} features and h_prev, c_prev the same shape with H = {H}; "
                         f"got x {x.shape}, h_prev {h_prev.shape}, c_prev {c_prev.shape}")
    return _lstm_cell(x @ U + h_prev @ W + b, c_prev, H)


def _lstm_cell(a, c_prev, H):
    i, f, o = sigmoid(a[..., :H]), sigmoid(a[..., H:2 * H]), sigmoid(a[..., 3 * H:])
    g = np.tanh(a[..., 2 * H:3 * H])
    c = f * c_prev + i * g
    return o * np.tanh(c), c, {"i": i, "f": f, "g": g, "o": o}


def lstm_step_concat(x, h_prev, c_prev, W_f, b_f, W_i, b_i, W_C, b_C, W_o, b_o, peepholes=None):
    """One LSTM step in deck 000's form: each gate has its own matrix acting on the
    concatenation [h_{t−1}, x_t] (a column vector on the slide, so W_* has shape
    (H, H + D)):

        f = σ(W_f·[h, x] + b_f),  i = σ(W_i·[h, x] + b_i),  C̃ = tanh(W_C·[h, x] + b_C),
        C_t = f * C_{t−1} + i * C̃,  o = σ(W_o·[h, x] + b_o),  h_t = o * tanh(C_t).

    ``peepholes`` (deck 000: gates may also look at the cell state): a dict with
    matrices "f", "i" (acting on C_{t−1}) and "o" (acting on C_t), each (H, H).
    x, h_prev, c_prev are rows (B, ·) or 1-D. Returns ``(h, c)``.
    """
    x = real_array("x", x, (1, 2), "(B, D) or (D,)")
    h_prev = real_array("h_prev", h_prev, (1, 2), "(B, H) or (H,)")
    c_prev = real_array("c_prev", c_prev, (1, 2), "(B, H) or (H,)")
    H, D = h_prev.shape[-1], x.shape[-1]
    mats = {}
    for name, M, bias in (("W_f", W_f, b_f), ("W_i", W_i, b_i), ("W_C", W_C, b_C), ("W_o", W_o, b_o)):
        M = real_array(name, M, 2, f"(H, H + D) = ({H}, {H + D}): it multiplies [h, x]")
        if M.shape != (H, H + D):
            raise ValueError(f"{name} must have shape (H, H + D) = ({H}, {H + D}), got {M.shape}")
        mats[name] = (M, real_array("b" + name[1:], bias, 1, f"({H},)"))
    peep = {k: real_array(f"peepholes[{k!r}]", v, 2, f"({H}, {H})") for k, v in (peepholes or {}).items()}
    hx = np.concatenate([h_prev, x], axis=-1)
    affine = lambda name: hx @ mats[name][0].T + mats[name][1]  # noqa: E731  W·[h, x] + b, for rows
    look = lambda key, c: c @ peep[key].T if key in peep else 0.0  # noqa: E731
    f = sigmoid(affine("W_f") + look("f", c_prev))
    i = sigmoid(affine("W_i") + look("i", c_prev))
    C_tilde = np.tanh(affine("W_C"))
    c = f * c_prev + i * C_tilde
    o = sigmoid(affine("W_o") + look("o", c))
    return o * np.tanh(c), c


def concat_to_uw(W_f, b_f, W_i, b_i, W_C, b_C, W_o, b_o, input_size: int):
    """Deck 000's four (H, H + D) matrices → deck 002's stacked (U, W, b) in the order (i, f, g, o).

    W_*·[h, x] = W_*[:, :H] h + W_*[:, H:] x, so each block of W is W_*[:, :H]ᵀ and
    each block of U is W_*[:, H:]ᵀ (transposed: rows act on row vectors here).
    """
    D = whole_number("input_size", input_size, 1)
    blocks = {"i": (W_i, b_i), "f": (W_f, b_f), "g": (W_C, b_C), "o": (W_o, b_o)}
    Us, Ws, bs = [], [], []
    for gate in LSTM_GATES:
        M, bias = blocks[gate]
        M = real_array(f"W for gate {gate}", M, 2, "(H, H + D)")
        H = M.shape[0]
        if M.shape[1] != H + D:
            raise ValueError(f"the matrix of gate {gate} must have shape (H, H + D) = ({H}, {H + D}), got {M.shape}")
        Ws.append(M[:, :H].T)
        Us.append(M[:, H:].T)
        bs.append(real_array(f"b for gate {gate}", bias, 1, f"({H},)"))
    return np.concatenate(Us, axis=1), np.concatenate(Ws, axis=1), np.concatenate(bs)


def uw_to_concat(U, W, b) -> dict[str, np.ndarray]:
    """The inverse of :func:`concat_to_uw`: {"W_f", "b_f", "W_i", "b_i", "W_C", "b_C", "W_o", "b_o"}."""
    U, W, b, H = _weights(U, W, b, 4)
    names = {"i": "i", "f": "f", "g": "C", "o": "o"}
    out = {}
    for k, gate in enumerate(LSTM_GATES):
        cols = slice(k * H, (k + 1) * H)
        out[f"W_{names[gate]}"] = np.concatenate([W[:, cols].T, U[:, cols].T], axis=1)
        out[f"b_{names[gate]}"] = b[cols].copy()
    return out


def lstm_forward(X, U, W, b, h0=None, c0=None):
    """All hidden states of an LSTM over a batch of sequences: (H_all, cache), H_all (B, T, H).

    Vectorized as the benchmark needs it: the input projections of all steps
    are one matrix product; each step adds h_{t−1} W and applies the gates.
    """
    U, W, b, H = _weights(U, W, b, 4)
    X = _sequence(X, U.shape[0])
    B, T, D = X.shape
    dtype = np.result_type(X, U, W, b)
    hs = np.empty((T + 1, B, H), dtype=dtype)
    cs = np.empty((T + 1, B, H), dtype=dtype)
    hs[0] = _state(h0, B, H, dtype)
    cs[0] = _state(c0, B, H, dtype, "c0")
    Ax = (X.transpose(1, 0, 2).reshape(T * B, D) @ U).reshape(T, B, 4 * H) + b
    gates = np.empty((T, B, 4 * H), dtype=dtype)   # activated: σ(i), σ(f), tanh(g), σ(o)
    tanh_c = np.empty((T, B, H), dtype=dtype)
    for t in range(T):
        a = Ax[t] + hs[t] @ W
        act = gates[t]
        act[:, :2 * H] = sigmoid(a[:, :2 * H])
        act[:, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
        act[:, 3 * H:] = sigmoid(a[:, 3 * H:])
        cs[t + 1] = act[:, H:2 * H] * cs[t] + act[:, :H] * act[:, 2 * H:3 * H]
        tanh_c[t] = np.tanh(cs[t + 1])
        hs[t + 1] = act[:, 3 * H:] * tanh_c[t]
    return hs[1:].transpose(1, 0, 2), (X, hs, cs, gates, tanh_c, U, W)


def lstm_backward(dH, cache, dc_last=None, return_state_grads: bool = False):
    """BPTT for :func:`lstm_forward`: ``(dX, (dh0, dc0), grads)``, grads {"U", "W", "b"}.

    ``dH`` (B, T, H) is ∂L/∂h_t from above at every step; ``dc_last`` an optional
    ∂L/∂c_T. The cell state's path back in time is dc_{t−1} = dc_t ⊙ f_t: a
    product of forget gates, not of weight matrices and tanh' factors, which is
    why an open forget gate lets the gradient through. With
    ``return_state_grads`` also ∂L/∂h_t and ∂L/∂c_t, each (T, B, H).
    """
    X, hs, cs, gates, tanh_c, U, W = cache
    B, T, D = X.shape
    H = W.shape[0]
    dH = real_array("dH", dH, 3, f"(B, T, H) = ({B}, {T}, {H})", dtype=hs.dtype)
    if dH.shape != (B, T, H):
        raise ValueError(f"dH must have shape (B, T, H) = ({B}, {T}, {H}), got {dH.shape}")
    dA = np.empty((T, B, 4 * H), dtype=hs.dtype)
    dh_next = np.zeros((B, H), dtype=hs.dtype)
    dc_next = _state(dc_last, B, H, hs.dtype, "dc_last").copy()
    keep = (np.empty((T, B, H), dtype=hs.dtype), np.empty((T, B, H), dtype=hs.dtype)) if return_state_grads else None
    WT = np.ascontiguousarray(W.T)
    for t in reversed(range(T)):
        act = gates[t]
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        dh = dH[:, t] + dh_next
        dc = dc_next + dh * o * (1.0 - tanh_c[t] ** 2)
        if keep is not None:
            keep[0][t], keep[1][t] = dh, dc
        d = dA[t]
        d[:, :H] = dc * g * i * (1.0 - i)                   # input gate
        d[:, H:2 * H] = dc * cs[t] * f * (1.0 - f)          # forget gate
        d[:, 2 * H:3 * H] = dc * i * (1.0 - g * g)          # candidate
        d[:, 3 * H:] = dh * tanh_c[t] * o * (1.0 - o)       # output gate
        dc_next = dc * f
        dh_next = d @ WT
    flat = dA.reshape(T * B, 4 * H)
    grads = {"U": X.transpose(1, 0, 2).reshape(T * B, D).T @ flat, "W": hs[:-1].reshape(T * B, H).T @ flat,
             "b": flat.sum(axis=0)}
    dX = (flat @ U.T).reshape(T, B, D).transpose(1, 0, 2)
    out = (dX, (dh_next, dc_next), grads)
    return out + (keep,) if return_state_grads else out


# ---------------------------------------------------------------------- GRU ---

def _gru_forms(form: str) -> str:
    if form not in ("deck", "torch"):
        raise ValueError(f"form must be 'deck' (decks 000/002: h = (1−z)h + z·g, reset before the product) "
                         f"or 'torch' (torch.nn.GRU: h = (1−z)n + z·h, reset after the product), got {form!r}")
    return form


def gru_step(x, h_prev, U, W, b, b_h, form: str = "deck"):
    """One GRU step. Gate blocks (r, z, n) in U (D, 3H), W (H, 3H), b, b_h (3H,).

    ``form="deck"`` (decks 000 and 002, Chung et al.):
        r = σ(x U_r + h W_r + b_r + b_h,r),  z = σ(x U_z + h W_z + b_z + b_h,z),
        g = tanh(x U_n + b_n + (r ⊙ h) W_n + b_h,n),  h_t = (1 − z) ⊙ h + z ⊙ g.
    ``form="torch"`` (``torch.nn.GRU``, Cho et al.'s original):
        n = tanh(x U_n + b_n + r ⊙ (h W_n + b_h,n)),  h_t = (1 − z) ⊙ n + z ⊙ h.
    PyTorch puts z on the *old* state and applies r *after* the matrix product.
    Returns ``(h, gates)`` with gates {"r", "z", "n"}.
    """
    _gru_forms(form)
    U, W, b, H = _weights(U, W, b, 3)
    b_h = real_array("b_h", b_h, 1, f"({3 * H},)")
    x = real_array("x", x, (1, 2), f"(B, {U.shape[0]}) or ({U.shape[0]},)")
    h_prev = real_array("h_prev", h_prev, (1, 2), f"(B, {H}) or ({H},)")
    if x.shape[-1] != U.shape[0] or h_prev.shape[-1] != H or b_h.shape != (3 * H,):
        raise ValueError(f"x must have {U.shape[0]} features, h_prev H = {H}, b_h shape ({3 * H},); "
                         f"got x {x.shape}, h_prev {h_prev.shape}, b_h {b_h.shape}")
    h, gates, _ = _gru_cell(x @ U + b, h_prev, W, b_h, H, form)
    return h, gates


def _gru_cell(ax, h, W, b_h, H, form):
    """One GRU step from the input part ax = x U + b; also returns what backward needs."""
    ah_rz = h @ W[:, :2 * H] + b_h[:2 * H]
    r = sigmoid(ax[..., :H] + ah_rz[..., :H])
    z = sigmoid(ax[..., H:2 * H] + ah_rz[..., H:])
    if form == "deck":
        hn = (r * h) @ W[:, 2 * H:] + b_h[2 * H:]
        n = np.tanh(ax[..., 2 * H:] + hn)
        h_new = (1.0 - z) * h + z * n
    else:
        hn = h @ W[:, 2 * H:] + b_h[2 * H:]
        n = np.tanh(ax[..., 2 * H:] + r * hn)
        h_new = (1.0 - z) * n + z * h
    return h_new, {"r": r, "z": z, "n": n}, hn


def gru_forward(X, U, W, b, b_h, h0=None, form: str = "deck"):
    """All hidden states of a GRU over a batch: (H_all, cache), H_all (B, T, H)."""
    _gru_forms(form)
    U, W, b, H = _weights(U, W, b, 3)
    b_h = real_array("b_h", b_h, 1, f"({3 * H},)", dtype=None)
    if b_h.shape != (3 * H,):
        raise ValueError(f"b_h must have shape ({3 * H},), got {b_h.shape}")
    X = _sequence(X, U.shape[0])
    B, T, D = X.shape
    dtype = np.result_type(X, U, W, b, b_h)
    hs = np.empty((T + 1, B, H), dtype=dtype)
    hs[0] = _state(h0, B, H, dtype)
    Ax = (X.transpose(1, 0, 2).reshape(T * B, D) @ U).reshape(T, B, 3 * H) + b
    saved = []
    for t in range(T):
        hs[t + 1], gates, hn = _gru_cell(Ax[t], hs[t], W, b_h, H, form)
        saved.append((gates["r"], gates["z"], gates["n"], hn))
    return hs[1:].transpose(1, 0, 2), (X, hs, saved, U, W, form)


def gru_backward(dH, cache, return_state_grads: bool = False):
    """BPTT for :func:`gru_forward`: ``(dX, dh0, grads)``, grads {"U", "W", "b", "b_h"}."""
    X, hs, saved, U, W, form = cache
    B, T, D = X.shape
    H = W.shape[0]
    dH = real_array("dH", dH, 3, f"(B, T, H) = ({B}, {T}, {H})", dtype=hs.dtype)
    if dH.shape != (B, T, H):
        raise ValueError(f"dH must have shape (B, T, H) = ({B}, {T}, {H}), got {dH.shape}")
    dAx = np.empty((T, B, 3 * H), dtype=hs.dtype)    # ∂L/∂(x U + b) per step
    dW, db_h = np.zeros_like(W), np.zeros(3 * H, dtype=hs.dtype)
    dh_next = np.zeros((B, H), dtype=hs.dtype)
    d_states = np.empty((T, B, H), dtype=hs.dtype) if return_state_grads else None
    W_rz, W_n = W[:, :2 * H], W[:, 2 * H:]
    for t in reversed(range(T)):
        h = hs[t]
        r, z, n, hn = saved[t]
        dh_new = dH[:, t] + dh_next
        if d_states is not None:
            d_states[t] = dh_new
        if form == "deck":                             # h' = (1 − z) h + z n
            dz = dh_new * (n - h)
            dn = dh_new * z
            dh = dh_new * (1.0 - z)
            da_n = dn * (1.0 - n * n)
            d_rh = da_n @ W_n.T                        # n's pre-activation holds (r ⊙ h) W_n
            dW[:, 2 * H:] += (r * h).T @ da_n
            dr = d_rh * h
            dh += d_rh * r
            d_hn = da_n                                # the hidden bias b_h,n sits outside r
        else:                                          # h' = (1 − z) n + z h
            dz = dh_new * (h - n)
            dn = dh_new * (1.0 - z)
            dh = dh_new * z
            da_n = dn * (1.0 - n * n)
            dr = da_n * hn                             # n's pre-activation holds r ⊙ (h W_n + b_h,n)
            d_hn = da_n * r
            dW[:, 2 * H:] += h.T @ d_hn
            dh += d_hn @ W_n.T
        da_rz = np.concatenate([dr * r * (1.0 - r), dz * z * (1.0 - z)], axis=1)
        dW[:, :2 * H] += h.T @ da_rz
        dh += da_rz @ W_rz.T
        dAx[t, :, :2 * H] = da_rz
        dAx[t, :, 2 * H:] = da_n
        db_h[:2 * H] += da_rz.sum(axis=0)
        db_h[2 * H:] += d_hn.sum(axis=0)
        dh_next = dh
    flat = dAx.reshape(T * B, 3 * H)
    grads = {"U": X.transpose(1, 0, 2).reshape(T * B, D).T @ flat, "W": dW, "b": flat.sum(axis=0), "b_h": db_h}
    dX = (flat @ U.T).reshape(T, B, D).transpose(1, 0, 2)
    return (dX, dh_next, grads, d_states) if return_state_grads else (dX, dh_next, grads)


# ------------------------------------------------------------------- traces ---

@dataclass
class RNNState:
    """The plain RNN after reading ``t`` symbols of one sequence (t = 0: nothing read yet)."""

    t: int
    symbol: str | None
    x: np.ndarray | None
    h_prev: np.ndarray
    h: np.ndarray
    y: np.ndarray | None = None      # the readout's output at this step, when a readout is given


@dataclass
class LSTMState:
    """The LSTM after reading ``t`` symbols: the four gates of this step and both states.

    ``i`` input gate, ``f`` forget gate, ``g`` candidate C̃, ``o`` output gate (None at t = 0);
    ``c_prev`` → ``c`` and ``h_prev`` → ``h``. What each gate did to the cell state:
    ``kept`` = f ⊙ c_prev (what the forget gate let through), ``written`` = i ⊙ g.
    """

    t: int
    symbol: str | None
    x: np.ndarray | None
    h_prev: np.ndarray
    c_prev: np.ndarray
    i: np.ndarray | None
    f: np.ndarray | None
    g: np.ndarray | None
    o: np.ndarray | None
    c: np.ndarray
    h: np.ndarray
    y: np.ndarray | None = None

    @property
    def kept(self) -> np.ndarray:
        return self.c if self.f is None else self.f * self.c_prev

    @property
    def written(self) -> np.ndarray:
        return np.zeros_like(self.c) if self.i is None else self.i * self.g


@dataclass
class GRUState:
    """The GRU after reading ``t`` symbols: reset r, update z, candidate n (None at t = 0)."""

    t: int
    symbol: str | None
    x: np.ndarray | None
    h_prev: np.ndarray
    r: np.ndarray | None
    z: np.ndarray | None
    n: np.ndarray | None
    h: np.ndarray
    y: np.ndarray | None = None


def _one_sequence(X, D):
    X = real_array("X", X, 2, f"(T, D) = (T, {D}): one sequence, one row per step")
    if X.shape[1] != D:
        raise ValueError(f"X must have D = {D} features per step, got shape {X.shape}")
    return X


def _readout(readout, h):
    """y = h V + c through an optional readout (V, c); softmax when ``kind`` says so."""
    if readout is None:
        return None
    V, c = readout[0], readout[1]
    y = h @ np.asarray(V) + np.asarray(c)
    kind = readout[2] if len(readout) > 2 else "linear"
    if kind == "softmax":
        e = np.exp(y - y.max())
        return e / e.sum()
    if kind == "sigmoid":
        return sigmoid(y)
    return y


def _symbols(symbols, T):
    if symbols is None:
        return [None] * T
    symbols = list(symbols)
    if len(symbols) != T:
        raise ValueError(f"symbols must name the {T} steps, got {len(symbols)}")
    return [str(s) for s in symbols]


def rnn_trace(X, U, W, b, h0=None, symbols=None, readout=None) -> list[RNNState]:
    """The plain RNN over one sequence X (T, D), one :class:`RNNState` per step (T + 1 in all).
    ``readout`` = (V, c[, "softmax" | "sigmoid"]) adds y_t = h_t V + c."""
    U, W, b, H = _weights(U, W, b, 1)
    X = _one_sequence(X, U.shape[0])
    h = np.zeros(H) if h0 is None else real_array("h0", h0, 1, f"({H},)")
    names = _symbols(symbols, len(X))
    states = [RNNState(0, None, None, h, h, _readout(readout, h))]
    for t, x in enumerate(X):
        h_new = np.tanh(x @ U + h @ W + b)
        states.append(RNNState(t + 1, names[t], x, h, h_new, _readout(readout, h_new)))
        h = h_new
    return states


def lstm_trace(X, U, W, b, h0=None, c0=None, symbols=None, readout=None) -> list[LSTMState]:
    """An LSTM over one sequence X (T, D): one :class:`LSTMState` per step (T + 1 in all),
    with every gate's value, for plots and the gate stepper."""
    U, W, b, H = _weights(U, W, b, 4)
    X = _one_sequence(X, U.shape[0])
    h = np.zeros(H) if h0 is None else real_array("h0", h0, 1, f"({H},)")
    c = np.zeros(H) if c0 is None else real_array("c0", c0, 1, f"({H},)")
    names = _symbols(symbols, len(X))
    states = [LSTMState(0, None, None, h, c, None, None, None, None, c, h, _readout(readout, h))]
    for t, x in enumerate(X):
        h_new, c_new, gates = _lstm_cell(x @ U + h @ W + b, c, H)
        states.append(LSTMState(t + 1, names[t], x, h, c, gates["i"], gates["f"], gates["g"], gates["o"],
                                c_new, h_new, _readout(readout, h_new)))
        h, c = h_new, c_new
    return states


def gru_trace(X, U, W, b, b_h, h0=None, form: str = "deck", symbols=None, readout=None) -> list[GRUState]:
    """A GRU over one sequence X (T, D): one :class:`GRUState` per step (T + 1 in all)."""
    _gru_forms(form)
    U, W, b, H = _weights(U, W, b, 3)
    b_h = real_array("b_h", b_h, 1, f"({3 * H},)")
    X = _one_sequence(X, U.shape[0])
    h = np.zeros(H) if h0 is None else real_array("h0", h0, 1, f"({H},)")
    names = _symbols(symbols, len(X))
    states = [GRUState(0, None, None, h, None, None, None, h, _readout(readout, h))]
    for t, x in enumerate(X):
        h_new, gates, _ = _gru_cell(x @ U + b, h, W, b_h, H, form)
        states.append(GRUState(t + 1, names[t], x, h, gates["r"], gates["z"], gates["n"], h_new,
                               _readout(readout, h_new)))
        h = h_new
    return states


# ------------------------------------------------------------------- layers ---

class _Recurrent:
    """Shared parts of the three NumPy sequence layers."""

    blocks = 1

    def __init__(self, input_size: int, hidden_size: int, seed: int = 0, dtype=np.float64):
        self.input_size = whole_number("input_size", input_size, 1)
        self.hidden_size = H = whole_number("hidden_size", hidden_size, 1)
        rng = np.random.default_rng(whole_number("seed", seed, 0, allow_float=False))
        n = self.blocks * H
        self.params = {"U": _uniform(rng, (self.input_size, n), H, dtype), "W": _uniform(rng, (H, n), H, dtype),
                       "b": _uniform(rng, (n,), H, dtype)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size})"


class RNN(_Recurrent):
    """The plain RNN as a NumPy layer: forward(x (B, T, D), h0=None) -> (all h, cache)."""

    blocks = 1

    def forward(self, x, h0=None):
        return rnn_forward(x, self.params["U"], self.params["W"], self.params["b"], h0)

    def backward(self, dout, cache):
        dX, _, grads = rnn_backward(dout, cache)
        return dX, grads

    def trace(self, x, symbols=None, readout=None) -> list[RNNState]:
        return rnn_trace(x, self.params["U"], self.params["W"], self.params["b"], symbols=symbols, readout=readout)


class LSTM(_Recurrent):
    """An LSTM as a NumPy layer: forward(x (B, T, D), h0=None, c0=None) -> (all h, cache).

    The forget gate's bias starts at 1, a common choice (Jozefowicz et al. 2015)
    that keeps the cell state's memory open at the start of training.
    """

    blocks = 4

    def __init__(self, input_size: int, hidden_size: int, seed: int = 0, dtype=np.float64,
                 forget_bias: float = 1.0):
        super().__init__(input_size, hidden_size, seed, dtype)
        H = self.hidden_size
        self.params["b"][H:2 * H] = real_number("forget_bias", forget_bias)

    def forward(self, x, h0=None, c0=None):
        return lstm_forward(x, self.params["U"], self.params["W"], self.params["b"], h0, c0)

    def backward(self, dout, cache):
        dX, _, grads = lstm_backward(dout, cache)
        return dX, grads

    def trace(self, x, symbols=None, readout=None) -> list[LSTMState]:
        return lstm_trace(x, self.params["U"], self.params["W"], self.params["b"], symbols=symbols,
                          readout=readout)


class GRU(_Recurrent):
    """A GRU as a NumPy layer, in the decks' form (``form="deck"``) or PyTorch's (``"torch"``)."""

    blocks = 3

    def __init__(self, input_size: int, hidden_size: int, seed: int = 0, dtype=np.float64, form: str = "deck"):
        super().__init__(input_size, hidden_size, seed, dtype)
        self.form = _gru_forms(form)
        rng = np.random.default_rng(whole_number("seed", seed, 0, allow_float=False) + 1)
        self.params["b_h"] = _uniform(rng, (3 * self.hidden_size,), self.hidden_size, dtype)

    def forward(self, x, h0=None):
        p = self.params
        return gru_forward(x, p["U"], p["W"], p["b"], p["b_h"], h0, self.form)

    def backward(self, dout, cache):
        dX, _, grads = gru_backward(dout, cache)
        return dX, grads

    def trace(self, x, symbols=None, readout=None) -> list[GRUState]:
        p = self.params
        return gru_trace(x, p["U"], p["W"], p["b"], p["b_h"], form=self.form, symbols=symbols, readout=readout)


# --------------------------------------------------- exploding and vanishing ---

def _grad_arrays(grads) -> list[np.ndarray]:
    if isinstance(grads, Mapping):
        items = list(grads.values())
    elif isinstance(grads, (list, tuple)):
        items = list(grads)
    else:
        items = [grads]
    return [real_array("each gradient", g) for g in items]


def grad_norm(grads) -> float:
    """The total L2 norm of all gradients together, √(Σ ‖g‖²) (one array, a list or a dict)."""
    return float(math.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in _grad_arrays(grads))))


def clip_grad_norm(grads, max_norm: float):
    """Gradient clipping by norm, as ``torch.nn.utils.clip_grad_norm_``.

    If the total norm ‖g‖ of all gradients together exceeds ``max_norm``, every
    gradient is multiplied by max_norm / (‖g‖ + 1e−6), so the direction is kept
    and only the length is cut; otherwise they are returned unchanged. Returns
    ``(clipped, total_norm)``, the clipped gradients in the structure given
    (array, list, tuple or dict; new arrays, the input is not modified) and the
    norm before clipping.
    """
    max_norm = real_number("max_norm", max_norm, 0.0, low_open=True)
    total = grad_norm(grads)
    scale = min(1.0, max_norm / (total + 1e-6))
    if isinstance(grads, Mapping):
        return {k: np.asarray(g, dtype=float) * scale for k, g in grads.items()}, total
    if isinstance(grads, (list, tuple)):
        return type(grads)(np.asarray(g, dtype=float) * scale for g in grads), total
    return np.asarray(grads, dtype=float) * scale, total


def power_and_gradient(w, n: int = 1000) -> tuple[float, float]:
    """Deck 004's toy: y = wⁿ (a one-unit linear RNN with weight w after n steps, input 1
    at the start) and its derivative dy/dw = n wⁿ⁻¹."""
    w = real_number("w", w)
    n = whole_number("n", n, 1)
    return w ** n, n * w ** (n - 1)


def state_gradient_norms(kind: str, params: Mapping[str, np.ndarray], X, seed: int = 0,
                         form: str = "deck") -> dict[str, np.ndarray]:
    """How ∂L/∂h_t shrinks or grows as t moves away from the loss.

    The loss is L = r·h_T, a fixed random direction r of the *last* hidden
    state; backpropagation through time then gives ∂L/∂h_t for every t. Returns
    {"h": ‖∂L/∂h_t‖ for t = 1..T} (and {"c": ‖∂L/∂c_t‖} for an LSTM), averaged
    over the batch.
    """
    X = _sequence(X)
    B, T, _ = X.shape
    rng = np.random.default_rng(whole_number("seed", seed, 0, allow_float=False))
    p = params
    if kind == "rnn":
        H = p["W"].shape[0]
        out, cache = rnn_forward(X, p["U"], p["W"], p["b"])
    elif kind == "lstm":
        H = p["W"].shape[0]
        out, cache = lstm_forward(X, p["U"], p["W"], p["b"])
    elif kind == "gru":
        H = p["W"].shape[0]
        out, cache = gru_forward(X, p["U"], p["W"], p["b"], p["b_h"], form=form)
    else:
        raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
    r = rng.normal(size=H)
    dH = np.zeros_like(out)
    dH[:, -1] = r / np.linalg.norm(r)
    norm = lambda a: np.linalg.norm(a, axis=2).mean(axis=1)  # noqa: E731  (T, B, H) -> (T,)
    if kind == "rnn":
        return {"h": norm(rnn_backward(dH, cache, return_state_grads=True)[3])}
    if kind == "gru":
        return {"h": norm(gru_backward(dH, cache, return_state_grads=True)[3])}
    dh, dc = lstm_backward(dH, cache, return_state_grads=True)[3]
    return {"h": norm(dh), "c": norm(dc)}


# ------------------------------------------------------- PyTorch weight layout ---

def _tensor(a, like):
    return torch.as_tensor(np.asarray(a), dtype=like.dtype, device=like.device)


@torch.no_grad()
def rnn_to_torch(U, W, b, cell) -> None:
    """Copy (U, W, b) into a ``torch.nn.RNNCell`` or one-layer ``torch.nn.RNN`` (tanh).

    PyTorch stores weight_ih (H, D) = Uᵀ and weight_hh (H, H) = Wᵀ, and two biases whose sum is b.
    """
    ih, hh, bih, bhh = _torch_names(cell)
    getattr(cell, ih).copy_(_tensor(np.asarray(U).T, getattr(cell, ih)))
    getattr(cell, hh).copy_(_tensor(np.asarray(W).T, getattr(cell, hh)))
    getattr(cell, bih).copy_(_tensor(b, getattr(cell, bih)))
    getattr(cell, bhh).zero_()


def _torch_names(cell):
    if hasattr(cell, "weight_ih"):                       # RNNCell, LSTMCell, GRUCell
        return "weight_ih", "weight_hh", "bias_ih", "bias_hh"
    return "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"


@torch.no_grad()
def lstm_to_torch(U, W, b, cell) -> None:
    """Copy (U, W, b) into a ``torch.nn.LSTMCell`` or one-layer ``torch.nn.LSTM``:
    the same gate order (i, f, g, o); weight_ih = Uᵀ, weight_hh = Wᵀ, bias_ih = b, bias_hh = 0."""
    rnn_to_torch(U, W, b, cell)


@torch.no_grad()
def gru_to_torch(U, W, b, b_h, cell) -> None:
    """Copy (U, W, b, b_h) into a ``torch.nn.GRUCell`` or one-layer ``torch.nn.GRU``
    (same gate order (r, z, n)); only the ``form="torch"`` equations match PyTorch."""
    ih, hh, bih, bhh = _torch_names(cell)
    getattr(cell, ih).copy_(_tensor(np.asarray(U).T, getattr(cell, ih)))
    getattr(cell, hh).copy_(_tensor(np.asarray(W).T, getattr(cell, hh)))
    getattr(cell, bih).copy_(_tensor(b, getattr(cell, bih)))
    getattr(cell, bhh).copy_(_tensor(b_h, getattr(cell, bhh)))


def lstm_from_torch(cell) -> dict[str, np.ndarray]:
    """(U, W, b) of a trained ``torch.nn.LSTMCell`` / one-layer ``torch.nn.LSTM``, as float64 NumPy arrays."""
    ih, hh, bih, bhh = _torch_names(cell)
    get = lambda name: getattr(cell, name).detach().cpu().double().numpy()  # noqa: E731
    return {"U": get(ih).T.copy(), "W": get(hh).T.copy(), "b": get(bih) + get(bhh)}


def lstm_parameter_count(input_size: int, hidden_size: int, biases: int = 2) -> int:
    """Parameters of one LSTM layer: 4 blocks of (D + H)·H weights and ``biases`` bias
    vectors of H each (PyTorch keeps two, b_ih and b_hh; Keras and the decks one)."""
    D, H = whole_number("input_size", input_size, 1), whole_number("hidden_size", hidden_size, 1)
    return 4 * ((D + H) * H + whole_number("biases", biases, 0, 2) * H)


# -------------------------------------------------------- language modelling ---

def bigram_nll(train_ids, val_ids, vocab_size: int, alpha: float = 1.0) -> float:
    """Mean −ln P(next | current) on ``val_ids`` of a bigram model counted on ``train_ids``
    with add-α smoothing: P(b | a) = (n(a, b) + α) / (n(a) + αV). In nats per symbol."""
    V = whole_number("vocab_size", vocab_size, 1)
    alpha = real_number("alpha", alpha, 0.0, low_open=True)
    tr = index_array("train_ids", train_ids, V)
    va = index_array("val_ids", val_ids, V)
    if tr.ndim != 1 or va.ndim != 1 or len(tr) < 2 or len(va) < 2:
        raise ValueError("train_ids and val_ids must be 1-D sequences of at least 2 symbols")
    counts = np.zeros((V, V))
    np.add.at(counts, (tr[:-1], tr[1:]), 1.0)
    probs = (counts + alpha) / (counts.sum(axis=1, keepdims=True) + alpha * V)
    return float(-np.mean(np.log(probs[va[:-1], va[1:]])))


def best_bigram_nll(train_ids, val_ids, vocab_size: int, alphas=None) -> tuple[float, float]:
    """The bigram baseline at its best: (nll, α) for the smoothing α in ``alphas``
    (default 0.01 … 10) that gives the lowest validation loss. A recurrent model
    has to beat this number to show that it uses more than the previous symbol."""
    alphas = np.logspace(-2, 1, 31) if alphas is None else alphas
    return min((bigram_nll(train_ids, val_ids, vocab_size, a), float(a)) for a in alphas)


def softmax_with_temperature(logits, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / T): T < 1 sharpens the distribution (safer, duller text),
    T > 1 flattens it (bolder, more mistakes); T → 0 is the argmax."""
    z = real_array("logits", logits, 1, "(V,)")
    T = real_number("temperature", temperature, 0.0, low_open=True)
    z = z / T
    e = np.exp(z - z.max())
    return e / e.sum()


def sample_index(logits, temperature: float, rng: np.random.Generator) -> int:
    """One symbol drawn from softmax(logits / temperature)."""
    p = softmax_with_temperature(logits, temperature)
    return int(rng.choice(len(p), p=p))


# ----------------------------------------------------------- PyTorch models ---

def sequence_cross_entropy(logits, targets):
    """Mean cross-entropy over every position of every sequence: logits (B, T, V), targets (B, T)."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class SequenceModel(nn.Module):
    """Many-to-many: symbol indices (B, T) → embedding (or 1-of-N codes) → recurrent
    layer(s) → ``out_size`` scores at every step, (B, T, out_size).

    As a language model (``out_size`` = the vocabulary, the default) the scores
    are for the next symbol; as a tagger (slot filling) for each word's label.
    ``cell`` is "rnn", "lstm" or "gru"; ``embed=None`` feeds 1-of-N codes, as
    the decks' "hello" example does.
    """

    def __init__(self, vocab_size: int, hidden_size: int = 64, cell: str = "lstm", embed: int | None = None,
                 num_layers: int = 1, dropout: float = 0.0, out_size: int | None = None):
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {tuple(_CELLS)}, got {cell!r}")
        self.vocab_size = whole_number("vocab_size", vocab_size, 1)
        self.embed = nn.Embedding(vocab_size, embed) if embed else None
        self.rnn = _CELLS[cell](embed or vocab_size, hidden_size, num_layers=num_layers, batch_first=True,
                                dropout=dropout if num_layers > 1 else 0.0)
        self.head = nn.Linear(hidden_size, out_size or vocab_size)

    def forward(self, x, state=None, return_state: bool = False):
        inputs = self.embed(x) if self.embed is not None else \
            nn.functional.one_hot(x, self.vocab_size).to(self.head.weight.dtype)
        out, state = self.rnn(inputs, state)
        logits = self.head(out)
        return (logits, state) if return_state else logits

    @torch.no_grad()
    def generate(self, start: Sequence[int], n: int, temperature: float = 1.0, seed: int = 0) -> list[int]:
        """``n`` symbols sampled one at a time after the prompt ``start``, each fed back as the next input."""
        rng = np.random.default_rng(seed)
        device = self.head.weight.device
        was_training = self.training
        self.eval()
        out = []
        # one symbol at a time: small products, where one CPU thread is faster than two (the thread policy)
        with cpu_threads("auto", self, device):
            x = torch.as_tensor([list(start)], dtype=torch.long, device=device)
            logits, state = self(x, return_state=True)
            for _ in range(whole_number("n", n, 0)):
                nxt = sample_index(logits[0, -1].double().cpu().numpy(), temperature, rng)
                out.append(nxt)
                logits, state = self(torch.tensor([[nxt]], device=device), state, return_state=True)
        self.train(was_training)
        return out


def _last_real(out, x, pad: int):
    """The output at each sequence's last non-pad position (pads at the end)."""
    lengths = (x != pad).sum(dim=1).clamp(min=1)
    return out[torch.arange(out.shape[0], device=out.device), lengths - 1]


class SentimentModel(nn.Module):
    """Many-to-one: word indices (B, T), pads (index 0) at the end → one logit per review.

    Embedding (padding_idx = 0, a row that stays zero) → LSTM → the hidden
    state after the last real word → a linear layer. It returns the *logit*;
    train with ``BCEWithLogitsLoss`` (deck 002's model defines a sigmoid and
    never applies it).
    """

    def __init__(self, vocab_size: int, embed_size: int = 8, hidden_size: int = 16, pad: int = 0):
        super().__init__()
        self.pad = pad
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=pad)
        self.lstm = nn.LSTM(embed_size, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, 1)

    def forward(self, x):
        out, _ = self.lstm(self.embedding(x))
        return self.fc(_last_real(out, x, self.pad)).squeeze(1)


class BagOfEmbeddings(nn.Module):
    """The order-blind baseline: the mean of the words' embeddings → a linear layer → one logit."""

    def __init__(self, vocab_size: int, embed_size: int = 8, pad: int = 0):
        super().__init__()
        self.pad = pad
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=pad)
        self.fc = nn.Linear(embed_size, 1)

    def forward(self, x):
        mask = (x != self.pad).unsqueeze(-1).to(self.fc.weight.dtype)
        mean = (self.embedding(x) * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.fc(mean).squeeze(1)


# ---------------------------------------------------- gate-stepper presets ---
# Three small tasks where one gate's job is plain to see, each solved by an LSTM of
# three units and, for comparison, by a plain RNN of three units trained the same way.
# The weights are shipped in datasets/lstm_gate_presets.json (made by
# scripts/train_lstm_presets.py with train_gate_presets below; a slow test retrains
# them and checks that it gets the same numbers).

GATE_HIDDEN = 3
GATE_PRESETS_FILE = "lstm_gate_presets.json"


@dataclass(frozen=True)
class GateTask:
    """A symbol-sequence task for the gate stepper: its alphabet, what the model answers
    after every symbol (``output``: "probability" of a yes, or a "count"), and how the
    training sequences are drawn."""

    name: str
    title: str
    alphabet: tuple[str, ...]
    output: str
    question: str
    length: int                 # training sequence length
    loss_from: int = 0          # the loss looks at steps t >= loss_from (1-based: after t symbols)
    probabilities: tuple[float, ...] | None = None   # symbol frequencies in training sequences
    example: str = ""

    def target(self, symbols: Sequence[str]) -> np.ndarray:
        """The right answer after each symbol of ``symbols``."""
        ids = self.encode(symbols)
        if self.name == "first":
            return np.full(len(ids), 1.0 if len(ids) and ids[0] == 0 else 0.0)
        counts, count = [], 0
        for i in ids:
            if self.alphabet[i] == "a":
                count += 1
            elif self.alphabet[i] == "|":
                count = 0
            counts.append(count)
        return np.asarray(counts, dtype=float)

    def encode(self, symbols: Sequence[str]) -> np.ndarray:
        """Symbol indices; a ValueError names any symbol outside the alphabet."""
        bad = sorted({s for s in symbols if s not in self.alphabet})
        if bad:
            raise ValueError(f"the task {self.title!r} reads only the symbols {' '.join(self.alphabet)}; "
                             f"got {' '.join(bad)}")
        return np.array([self.alphabet.index(s) for s in symbols], dtype=np.int64)

    def sample(self, rng: np.random.Generator, n: int, length: int | None = None):
        """``n`` random training sequences: symbol indices (n, T) and targets (n, T)."""
        T = length or self.length
        X = rng.choice(len(self.alphabet), size=(n, T), p=self.probabilities)
        if self.name == "first":
            X[:, 0] = rng.integers(0, 2, size=n)      # the first symbol is A or B
        Y = np.stack([self.target([self.alphabet[i] for i in row]) for row in X]).astype(np.float32)
        return X, Y


GATE_TASKS: dict[str, GateTask] = {
    "first": GateTask("first", "remember the first symbol", ("A", "B", "x", "y"), "probability",
                      "was the first symbol A?", length=40, loss_from=15, example="A x B y x B x y A x y x B y"),
    "count": GateTask("count", "count the a's", ("a", "b"), "count", "how many a's so far?", length=20,
                      probabilities=(0.35, 0.65), example="a b b a a b a b b b a b"),
    "reset": GateTask("reset", "count a's since the last |", ("a", "b", "|"), "count",
                      "how many a's since the last | ?", length=20, probabilities=(0.45, 0.4, 0.15),
                      example="a a b a | a b | b a a a"),
}

# Training: Adam, learning rate 0.02, batches of 50 of 2,000 sequences, 15 epochs; for the
# LSTM a small penalty on how far its gates are open (the input gate for every task, the
# forget gate's closing for "reset") so that each gate opens only when its task needs it.
GATE_TRAINING = {"n": 2000, "epochs": 15, "lr": 0.02, "batch_size": 50, "seed": 0, "forget_bias": 2.0,
                 "input_penalty": {"first": 0.1, "count": 0.05, "reset": 0.05},
                 "forget_penalty": {"first": 0.0, "count": 0.0, "reset": 0.05}}


class _GateNet(nn.Module):
    """A one-layer LSTM or plain RNN written out step by step, so that training can see the
    LSTM's gates; one-hot inputs, a linear readout per step (logit or count)."""

    def __init__(self, cell: str, vocab: int, hidden: int = GATE_HIDDEN, forget_bias: float = 2.0):
        super().__init__()
        self.cell, self.vocab, self.hidden = cell, vocab, hidden
        blocks = 4 if cell == "lstm" else 1
        self.ih = nn.Linear(vocab, blocks * hidden)
        self.hh = nn.Linear(hidden, blocks * hidden, bias=False)
        self.head = nn.Linear(hidden, 1)
        if cell == "lstm":
            with torch.no_grad():
                self.ih.bias[hidden:2 * hidden] = forget_bias
        self.gates = None

    def forward(self, x):
        H = self.hidden
        xs = self.ih(nn.functional.one_hot(x, self.vocab).to(self.head.weight.dtype))
        h = xs.new_zeros(x.shape[0], H)
        c = xs.new_zeros(x.shape[0], H)
        outs, i_all, f_all = [], [], []
        for t in range(x.shape[1]):
            a = xs[:, t] + self.hh(h)
            if self.cell == "rnn":
                h = torch.tanh(a)
            else:
                i, f = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H])
                g, o = torch.tanh(a[:, 2 * H:3 * H]), torch.sigmoid(a[:, 3 * H:])
                c = f * c + i * g
                h = o * torch.tanh(c)
                i_all.append(i)
                f_all.append(f)
            outs.append(h)
        self.gates = (torch.stack(i_all, 1), torch.stack(f_all, 1)) if i_all else None
        return self.head(torch.stack(outs, 1)).squeeze(-1)

    def weights(self) -> dict[str, list]:
        get = lambda t: t.detach().cpu().double().numpy()  # noqa: E731
        return {"U": get(self.ih.weight).T.tolist(), "W": get(self.hh.weight).T.tolist(),
                "b": get(self.ih.bias).tolist(), "V": get(self.head.weight).T.tolist(),
                "c": get(self.head.bias).tolist()}


def train_gate_model(task: str, cell: str, progress: bool = False) -> tuple[dict[str, list], dict[str, float]]:
    """Train the stepper's model for ``task`` ("first", "count", "reset") and ``cell``
    ("lstm" or "rnn") on the CPU, seeded: returns (weights as lists, training record)."""
    from .train import evaluate, train

    spec, cfg = GATE_TASKS[task], GATE_TRAINING
    rng = np.random.default_rng(cfg["seed"])
    X, Y = spec.sample(rng, cfg["n"])
    torch.manual_seed(cfg["seed"])
    model = _GateNet(cell, len(spec.alphabet), forget_bias=cfg["forget_bias"]).float()
    start = spec.loss_from

    def main_loss(out, y):
        if spec.output == "probability":
            return nn.functional.binary_cross_entropy_with_logits(out[:, start:], y[:, start:])
        return nn.functional.mse_loss(out[:, start:], y[:, start:])

    def loss_fn(out, y):
        loss = main_loss(out, y)
        if model.gates is not None and model.training:
            i, f = model.gates
            loss = loss + cfg["input_penalty"][task] * i.mean() + cfg["forget_penalty"][task] * (1 - f).mean()
        return loss

    history = train(model, (X, Y), loss_fn, torch.optim.Adam(model.parameters(), cfg["lr"]), epochs=cfg["epochs"],
                    batch_size=cfg["batch_size"], seed=cfg["seed"], device="cpu", progress=progress)
    record = {"final_loss": history.train_loss[-1]}
    model.eval()
    for name, length in (("", spec.length), ("_double_length", 2 * spec.length)):
        Xv, Yv = spec.sample(np.random.default_rng(cfg["seed"] + 1), 500, length)
        with torch.no_grad():
            out = model(torch.as_tensor(Xv)).numpy()
        right = (out > 0) == (Yv > 0.5) if spec.output == "probability" else np.round(out) == Yv
        record["accuracy" + name] = float(right[:, start:].mean())      # of the answers the loss asks for
        record["loss" + name] = float(evaluate(model, (Xv, Yv), main_loss)["loss"])
    return model.weights(), record


def train_gate_presets(progress: bool = False) -> dict:
    """Every preset model (3 tasks × LSTM and RNN): the content of :data:`GATE_PRESETS_FILE`."""
    presets = {"hidden": GATE_HIDDEN, "training": GATE_TRAINING, "models": {}}
    for task in GATE_TASKS:
        for cell in ("lstm", "rnn"):
            weights, record = train_gate_model(task, cell, progress)
            presets["models"][f"{task}/{cell}"] = {"weights": weights, "record": record}
    return presets


@dataclass
class GatePreset:
    """A task with its trained LSTM and plain RNN, ready to run on any sequence."""

    task: GateTask
    lstm: dict[str, np.ndarray]
    rnn: dict[str, np.ndarray]
    record: dict

    def _readout(self, weights):
        kind = "sigmoid" if self.task.output == "probability" else "linear"
        return weights["V"], weights["c"], kind

    def traces(self, symbols: Sequence[str]) -> tuple[list[LSTMState], list[RNNState]]:
        """The LSTM's and the RNN's traces over ``symbols`` (each T + 1 states), with the
        readout (probability or count) after every symbol in ``y``."""
        ids = self.task.encode(list(symbols))
        X = np.eye(len(self.task.alphabet))[ids].reshape(len(ids), len(self.task.alphabet))
        lstm = lstm_trace(X, self.lstm["U"], self.lstm["W"], self.lstm["b"], symbols=list(symbols),
                          readout=self._readout(self.lstm))
        plain = rnn_trace(X, self.rnn["U"], self.rnn["W"], self.rnn["b"], symbols=list(symbols),
                          readout=self._readout(self.rnn))
        return lstm, plain


def load_gate_presets(path=None) -> dict[str, GatePreset]:
    """The shipped presets (checked against datasets/MANIFEST.sha256), or those in ``path``."""
    import json

    if path is None:
        from .datasets import load_file

        path = load_file(GATE_PRESETS_FILE)
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    presets = {}
    for name, task in GATE_TASKS.items():
        models = {cell: {k: np.asarray(v, dtype=float) for k, v in data["models"][f"{name}/{cell}"]["weights"].items()}
                  for cell in ("lstm", "rnn")}
        record = {cell: data["models"][f"{name}/{cell}"]["record"] for cell in ("lstm", "rnn")}
        presets[name] = GatePreset(task, models["lstm"], models["rnn"], record)
    return presets
