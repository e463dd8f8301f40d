"""coursekit.rnn against PyTorch: forward against torch.nn.RNN/LSTM/GRU (and their cells),
backward through time against torch.autograd, clipping against clip_grad_norm_, and the
decks' numbers (w¹⁰⁰⁰ and its gradient)."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from coursekit import rnn as R

SHAPES = [(1, 1, 1, 1), (2, 3, 4, 5), (3, 7, 2, 6), (4, 12, 5, 3)]   # (B, T, D, H)


def _t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def _close(a, b, atol=1e-10):
    np.testing.assert_allclose(np.asarray(a), b.detach().numpy() if hasattr(b, "detach") else b, atol=atol,
                               rtol=1e-8)


# ------------------------------------------------------------------ plain RNN ---

@pytest.mark.parametrize("B,T,D,H", SHAPES)
def test_rnn_step_and_sequence_match_torch(B, T, D, H):
    rng = np.random.default_rng(B * 100 + T)
    layer = R.RNN(D, H, seed=T)
    U, W, b = (layer.params[k] for k in "UWb")
    X, h0 = rng.normal(size=(B, T, D)), rng.normal(size=(B, H))
    cell = torch.nn.RNNCell(D, H).double()
    R.rnn_to_torch(U, W, b, cell)
    _close(R.rnn_step(X[:, 0], h0, U, W, b), cell(_t(X[:, 0]), _t(h0)))
    # deck 000's column form with W_hh = Wᵀ, W_xh = Uᵀ, one sequence at a time
    _close(R.rnn_step(X[0, 0], h0[0], U, W, b), np.tanh(W.T @ h0[0] + U.T @ X[0, 0] + b))
    seq = torch.nn.RNN(D, H, batch_first=True).double()
    R.rnn_to_torch(U, W, b, seq)
    out, cache = R.rnn_forward(X, U, W, b, h0)
    expected, _ = seq(_t(X), _t(h0)[None])
    _close(out, expected)


@pytest.mark.parametrize("B,T,D,H", SHAPES)
def test_rnn_backward_through_time_matches_autograd(B, T, D, H):
    rng = np.random.default_rng(7 + T)
    U, W, b = rng.normal(size=(D, H)) * 0.5, rng.normal(size=(H, H)) * 0.5, rng.normal(size=H) * 0.1
    X, h0, dH = rng.normal(size=(B, T, D)), rng.normal(size=(B, H)), rng.normal(size=(B, T, H))
    out, cache = R.rnn_forward(X, U, W, b, h0)
    dX, dh0, grads = R.rnn_backward(dH, cache)
    tX, th0, tU, tW, tb = (_t(a, True) for a in (X, h0, U, W, b))
    h, hs = th0, []
    for t in range(T):
        h = torch.tanh(tX[:, t] @ tU + h @ tW + tb)
        hs.append(h)
    (torch.stack(hs, 1) * _t(dH)).sum().backward()
    for mine, theirs in ((dX, tX), (dh0, th0), (grads["U"], tU), (grads["W"], tW), (grads["b"], tb)):
        _close(mine, theirs.grad)


def test_first_state_without_a_previous_one_is_deck_002s_h0():
    """h_0 = tanh(x_0 U + b): the recurrence with h_{-1} = 0."""
    rng = np.random.default_rng(0)
    U, W, b, X = rng.normal(size=(3, 5)), rng.normal(size=(5, 5)), rng.normal(size=5), rng.normal(size=(4, 2, 3))
    out, _ = R.rnn_forward(X, U, W, b)
    np.testing.assert_allclose(out[:, 0], np.tanh(X[:, 0] @ U + b))
    np.testing.assert_allclose(out[:, 1], np.tanh(out[:, 0] @ W + X[:, 1] @ U + b))


# ----------------------------------------------------------------------- LSTM ---

@pytest.mark.parametrize("B,T,D,H", SHAPES)
def test_lstm_matches_torch_cell_and_layer(B, T, D, H):
    rng = np.random.default_rng(B + 10 * T)
    layer = R.LSTM(D, H, seed=B)
    U, W, b = (layer.params[k] for k in "UWb")
    X, h0, c0 = rng.normal(size=(B, T, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    cell = torch.nn.LSTMCell(D, H).double()
    R.lstm_to_torch(U, W, b, cell)
    h1, c1, gates = R.lstm_step(X[:, 0], h0, c0, U, W, b)
    th, tc = cell(_t(X[:, 0]), (_t(h0), _t(c0)))
    _close(h1, th)
    _close(c1, tc)
    assert set(gates) == {"i", "f", "g", "o"}
    seq = torch.nn.LSTM(D, H, batch_first=True).double()
    R.lstm_to_torch(U, W, b, seq)
    out, _ = R.lstm_forward(X, U, W, b, h0, c0)
    expected, (hT, cT) = seq(_t(X), (_t(h0)[None], _t(c0)[None]))
    _close(out, expected)
    back = R.lstm_from_torch(seq)
    np.testing.assert_allclose(back["U"], U)
    np.testing.assert_allclose(back["W"], W)
    np.testing.assert_allclose(back["b"], b)


def _deck000_weights(rng, D, H):
    return {name: rng.normal(size=(H, H + D)) * 0.7 for name in ("W_f", "W_i", "W_C", "W_o")} | \
           {name: rng.normal(size=H) * 0.3 for name in ("b_f", "b_i", "b_C", "b_o")}


@pytest.mark.parametrize("B,T,D,H", SHAPES)
def test_deck000_concatenated_form_is_deck002s_u_w_form_and_torchs(B, T, D, H):
    rng = np.random.default_rng(3 * B + T)
    p = _deck000_weights(rng, D, H)
    x, h, c = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    h_000, c_000 = R.lstm_step_concat(x, h, c, **p)
    U, W, b = R.concat_to_uw(p["W_f"], p["b_f"], p["W_i"], p["b_i"], p["W_C"], p["b_C"], p["W_o"], p["b_o"], D)
    h_002, c_002, _ = R.lstm_step(x, h, c, U, W, b)
    np.testing.assert_allclose(h_000, h_002, atol=1e-12)
    np.testing.assert_allclose(c_000, c_002, atol=1e-12)
    cell = torch.nn.LSTMCell(D, H).double()
    R.lstm_to_torch(U, W, b, cell)
    th, tc = cell(_t(x), (_t(h), _t(c)))
    _close(h_000, th)
    _close(c_000, tc)
    back = R.uw_to_concat(U, W, b)
    for name, value in p.items():
        np.testing.assert_allclose(back[name], value)


def test_deck000_column_vector_formula_for_one_sequence():
    """f_t = σ(W_f·[h_{t−1}, x_t] + b_f) with a column vector, written out by hand."""
    rng = np.random.default_rng(11)
    D, H = 3, 4
    p = _deck000_weights(rng, D, H)
    x, h, c = rng.normal(size=D), rng.normal(size=H), rng.normal(size=H)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    hx = np.concatenate([h, x])
    f, i = sig(p["W_f"] @ hx + p["b_f"]), sig(p["W_i"] @ hx + p["b_i"])
    C = f * c + i * np.tanh(p["W_C"] @ hx + p["b_C"])
    h_new = sig(p["W_o"] @ hx + p["b_o"]) * np.tanh(C)
    got_h, got_c = R.lstm_step_concat(x, h, c, **p)
    np.testing.assert_allclose(got_c, C)
    np.testing.assert_allclose(got_h, h_new)


def test_peepholes_let_the_gates_see_the_cell_state():
    rng = np.random.default_rng(5)
    D, H = 2, 3
    p = _deck000_weights(rng, D, H)
    x, h, c = rng.normal(size=(1, D)), rng.normal(size=(1, H)), rng.normal(size=(1, H))
    zero = {k: np.zeros((H, H)) for k in "fio"}
    np.testing.assert_allclose(R.lstm_step_concat(x, h, c, **p, peepholes=zero)[0], R.lstm_step_concat(x, h, c, **p)[0])
    P = {k: rng.normal(size=(H, H)) for k in "fio"}
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    hx = np.concatenate([h, x], axis=1)
    f = sig(hx @ p["W_f"].T + c @ P["f"].T + p["b_f"])
    i = sig(hx @ p["W_i"].T + c @ P["i"].T + p["b_i"])
    C = f * c + i * np.tanh(hx @ p["W_C"].T + p["b_C"])
    o = sig(hx @ p["W_o"].T + C @ P["o"].T + p["b_o"])      # the output gate looks at the new cell state
    got_h, got_c = R.lstm_step_concat(x, h, c, **p, peepholes=P)
    np.testing.assert_allclose(got_c, C)
    np.testing.assert_allclose(got_h, o * np.tanh(C))


@pytest.mark.parametrize("B,T,D,H", SHAPES)
def test_lstm_backward_through_time_matches_autograd(B, T, D, H):
    rng = np.random.default_rng(B * 7 + T)
    U, W, b = rng.normal(size=(D, 4 * H)) * 0.5, rng.normal(size=(H, 4 * H)) * 0.5, rng.normal(size=4 * H) * 0.2
    X, h0, c0 = rng.normal(size=(B, T, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))
    dH, dcT = rng.normal(size=(B, T, H)), rng.normal(size=(B, H))
    out, cache = R.lstm_forward(X, U, W, b, h0, c0)
    dX, (dh0, dc0), grads = R.lstm_backward(dH, cache, dc_last=dcT)
    tX, th0, tc0, tU, tW, tb = (_t(a, True) for a in (X, h0, c0, U, W, b))
    seq = torch.nn.LSTM(D, H, batch_first=True).double()
    for p in seq.parameters():
        p.requires_grad_(False)
    # the same computation written with autograd-tracked weights
    h, c, hs = th0, tc0, []
    for t in range(T):
        a = tX[:, t] @ tU + h @ tW + tb
        i, f, g, o = torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H]), torch.tanh(a[:, 2 * H:3 * H]), \
            torch.sigmoid(a[:, 3 * H:])
        c = f * c + i * g
        h = o * torch.tanh(c)
        hs.append(h)
    ((torch.stack(hs, 1) * _t(dH)).sum() + (c * _t(dcT)).sum()).backward()
    for mine, theirs in ((dX, tX), (dh0, th0), (dc0, tc0), (grads["U"], tU), (grads["W"], tW), (grads["b"], tb)):
        _close(mine, theirs.grad)


def test_lstm_layer_gradients_through_torchs_own_lstm():
    """The layer's backward against torch.nn.LSTM's autograd, weights read back in torch's layout."""
    rng = np.random.default_rng(2)
    B, T, D, H = 3, 9, 4, 5
    layer = R.LSTM(D, H, seed=4)
    X, dH = rng.normal(size=(B, T, D)), rng.normal(size=(B, T, H))
    out, cache = layer.forward(X)
    dX, grads = layer.backward(dH, cache)
    assert set(grads) == set(layer.params)
    seq = torch.nn.LSTM(D, H, batch_first=True).double()
    R.lstm_to_torch(layer.params["U"], layer.params["W"], layer.params["b"], seq)
    tX = _t(X, True)
    (seq(tX)[0] * _t(dH)).sum().backward()
    _close(dX, tX.grad)
    _close(grads["U"], seq.weight_ih_l0.grad.T)
    _close(grads["W"], seq.weight_hh_l0.grad.T)
    _close(grads["b"], seq.bias_ih_l0.grad)
    _close(grads["b"], seq.bias_hh_l0.grad)


def test_lstm_keeps_the_input_dtype_float32():
    layer = R.LSTM(3, 4, dtype=np.float32)
    X = np.ones((2, 5, 3), dtype=np.float32)
    out, cache = layer.forward(X)
    dX, grads = layer.backward(np.ones_like(out), cache)
    assert out.dtype == dX.dtype == grads["W"].dtype == np.float32


# ------------------------------------------------------------------------ GRU ---

@pytest.mark.parametrize("B,T,D,H", SHAPES)
def test_gru_torch_form_matches_torch(B, T, D, H):
    rng = np.random.default_rng(B + T + 100)
    layer = R.GRU(D, H, seed=B, form="torch")
    p = layer.params
    X, h0 = rng.normal(size=(B, T, D)), rng.normal(size=(B, H))
    cell = torch.nn.GRUCell(D, H).double()
    R.gru_to_torch(p["U"], p["W"], p["b"], p["b_h"], cell)
    h1, _ = R.gru_step(X[:, 0], h0, p["U"], p["W"], p["b"], p["b_h"], form="torch")
    _close(h1, cell(_t(X[:, 0]), _t(h0)))
    seq = torch.nn.GRU(D, H, batch_first=True).double()
    R.gru_to_torch(p["U"], p["W"], p["b"], p["b_h"], seq)
    out, _ = layer.forward(X, h0)
    _close(out, seq(_t(X), _t(h0)[None])[0])


def test_decks_gru_differs_from_torchs_exactly_where_documented():
    """The decks: h = (1−z)h + z·g, reset *before* the product, (r⊙h)W. PyTorch: h = (1−z)n + z·h,
    reset *after* it, r⊙(hW + b). Negating the z weights swaps z and 1−z (σ(−a) = 1 − σ(a)); then
    the two agree when the reset gate is fully open (r = 1), and not otherwise."""
    rng = np.random.default_rng(1)
    D, H = 3, 4
    U, W = rng.normal(size=(D, 3 * H)), rng.normal(size=(H, 3 * H))
    b, b_h = rng.normal(size=3 * H), rng.normal(size=3 * H)
    x, h = rng.normal(size=(5, D)), rng.normal(size=(5, H))
    deck, _ = R.gru_step(x, h, U, W, b, b_h, form="deck")
    mine, _ = R.gru_step(x, h, U, W, b, b_h, form="torch")
    assert not np.allclose(deck, mine)
    z = slice(H, 2 * H)
    U2, W2, b2, bh2 = U.copy(), W.copy(), b.copy(), b_h.copy()
    U2[:, z], W2[:, z], b2[z], bh2[z] = -U[:, z], -W[:, z], -b[z], -b_h[z]
    assert not np.allclose(R.gru_step(x, h, U2, W2, b2, bh2, form="deck")[0], mine)   # r still differs
    for arr in (b, b2):
        arr[:H] = 60.0                                                                  # r = σ(60) = 1
    np.testing.assert_allclose(R.gru_step(x, h, U2, W2, b2, bh2, form="deck")[0],
                               R.gru_step(x, h, U, W, b, b_h, form="torch")[0], atol=1e-12)
    cell = torch.nn.GRUCell(D, H).double()
    R.gru_to_torch(U, W, b, b_h, cell)
    _close(R.gru_step(x, h, U, W, b, b_h, form="torch")[0], cell(_t(x), _t(h)))


@pytest.mark.parametrize("form", ["deck", "torch"])
@pytest.mark.parametrize("B,T,D,H", SHAPES[1:])
def test_gru_backward_through_time_matches_autograd(form, B, T, D, H):
    rng = np.random.default_rng(B * 3 + T + (form == "deck"))
    U, W = rng.normal(size=(D, 3 * H)) * 0.5, rng.normal(size=(H, 3 * H)) * 0.5
    b, b_h = rng.normal(size=3 * H) * 0.2, rng.normal(size=3 * H) * 0.2
    X, h0, dH = rng.normal(size=(B, T, D)), rng.normal(size=(B, H)), rng.normal(size=(B, T, H))
    out, cache = R.gru_forward(X, U, W, b, b_h, h0, form=form)
    dX, dh0, grads = R.gru_backward(dH, cache)
    tX, th0, tU, tW, tb, tbh = (_t(a, True) for a in (X, h0, U, W, b, b_h))
    h, hs = th0, []
    for t in range(T):
        ax = tX[:, t] @ tU + tb
        r = torch.sigmoid(ax[:, :H] + h @ tW[:, :H] + tbh[:H])
        z = torch.sigmoid(ax[:, H:2 * H] + h @ tW[:, H:2 * H] + tbh[H:2 * H])
        if form == "deck":
            g = torch.tanh(ax[:, 2 * H:] + (r * h) @ tW[:, 2 * H:] + tbh[2 * H:])
            h = (1 - z) * h + z * g
        else:
            n = torch.tanh(ax[:, 2 * H:] + r * (h @ tW[:, 2 * H:] + tbh[2 * H:]))
            h = (1 - z) * n + z * h
        hs.append(h)
    out_t = torch.stack(hs, 1)
    _close(out, out_t)
    (out_t * _t(dH)).sum().backward()
    for mine, theirs in ((dX, tX), (dh0, th0), (grads["U"], tU), (grads["W"], tW), (grads["b"], tb),
                         (grads["b_h"], tbh)):
        _close(mine, theirs.grad)


def test_gru_reduces_to_the_plain_rnn_when_gates_are_fixed():
    """Deck 002: with r = 1 and z = 1 the (deck) GRU is the basic RNN h = tanh(xU + hW + b)."""
    rng = np.random.default_rng(3)
    D, H = 2, 3
    U_n, W_n, b_n = rng.normal(size=(D, H)), rng.normal(size=(H, H)), rng.normal(size=H)
    U = np.concatenate([np.zeros((D, 2 * H)), U_n], axis=1)
    W = np.concatenate([np.zeros((H, 2 * H)), W_n], axis=1)
    b = np.concatenate([np.full(2 * H, 60.0), b_n])
    x, h = rng.normal(size=(4, D)), rng.normal(size=(4, H))
    np.testing.assert_allclose(R.gru_step(x, h, U, W, b, np.zeros(3 * H))[0], R.rnn_step(x, h, U_n, W_n, b_n),
                               atol=1e-12)


# --------------------------------------------------------------------- traces ---

def test_lstm_trace_is_the_forward_pass_one_step_at_a_time():
    rng = np.random.default_rng(0)
    layer = R.LSTM(3, 4, seed=2)
    X = rng.normal(size=(6, 3))
    trace = layer.trace(X, symbols="abcdef")
    out, cache = layer.forward(X[None])
    assert [s.t for s in trace] == list(range(7)) and trace[0].i is None and trace[3].symbol == "c"
    np.testing.assert_allclose(np.stack([s.h for s in trace[1:]]), out[0])
    np.testing.assert_allclose(np.stack([s.c for s in trace[1:]]), cache[2][1:, 0])
    for s in trace[1:]:
        np.testing.assert_allclose(s.kept + s.written, s.c)           # c = f ⊙ c_prev + i ⊙ g
        np.testing.assert_allclose(s.h, s.o * np.tanh(s.c))
        np.testing.assert_allclose(s.c_prev, trace[s.t - 1].c)


def test_rnn_and_gru_traces_and_readout():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5, 2))
    rnn = R.RNN(2, 3, seed=0)
    V, c = rng.normal(size=(3, 4)), rng.normal(size=4)
    trace = rnn.trace(X, readout=(V, c, "softmax"))
    np.testing.assert_allclose(np.stack([s.h for s in trace[1:]]), rnn.forward(X[None])[0][0])
    logits = trace[2].h @ V + c
    np.testing.assert_allclose(trace[2].y, np.exp(logits) / np.exp(logits).sum())
    gru = R.GRU(2, 3, seed=0)
    np.testing.assert_allclose(np.stack([s.h for s in gru.trace(X)[1:]]), gru.forward(X[None])[0][0])


# ------------------------------------------------- gradients through time ---

def test_power_and_gradient_are_deck_004s_numbers():
    """y = w¹⁰⁰⁰: 1, ≈ 2×10⁴, ≈ 4×10⁻⁵, ≈ 0; dy/dw = 1000 w⁹⁹⁹: 1000, 2.08×10⁷, 0.0436, ≈ 0."""
    cases = {1.0: (1.0, 1000.0), 1.01: (20959.16, 2.0752e7), 0.99: (4.317e-5, 0.04361), 0.01: (0.0, 0.0)}
    for w, (y, dy) in cases.items():
        got_y, got_dy = R.power_and_gradient(w, 1000)
        assert got_y == pytest.approx(y, rel=1e-3, abs=1e-300)
        assert got_dy == pytest.approx(dy, rel=1e-3, abs=1e-300)
        t = _t(w, True)
        (t ** 1000).backward()
        assert got_dy == pytest.approx(float(t.grad), rel=1e-9, abs=1e-300)


def test_state_gradients_vanish_in_a_plain_rnn_and_survive_an_open_forget_gate():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 40, 3))
    rnn = R.RNN(3, 16, seed=0)
    rnn.params["W"] *= 0.5
    norms = R.state_gradient_norms("rnn", rnn.params, X)["h"]
    assert norms[-1] > 1e3 * norms[0]            # 40 steps back, almost nothing is left
    lstm = R.LSTM(3, 16, seed=0, forget_bias=6.0)    # f = σ(6) ≈ 0.998: the cell keeps its memory
    norms = R.state_gradient_norms("lstm", lstm.params, X)
    assert norms["c"][0] > 0.5 * norms["c"][-1]


def test_state_gradients_are_autograds():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(2, 6, 3))
    rnn = R.RNN(3, 4, seed=1)
    norms = R.state_gradient_norms("rnn", rnn.params, X, seed=3)["h"]
    r = np.random.default_rng(3).normal(size=4)
    r /= np.linalg.norm(r)
    U, W, b = (_t(rnn.params[k], True) for k in "UWb")
    h, hs = torch.zeros(2, 4, dtype=torch.float64), []
    for t in range(6):
        h = torch.tanh(_t(X[:, t]) @ U + h @ W + b)
        h.retain_grad()
        hs.append(h)
    (hs[-1] @ _t(r)).sum().backward()
    np.testing.assert_allclose(norms, [float(v.grad.norm(dim=1).mean()) for v in hs])


# -------------------------------------------------------------------- clipping ---

@pytest.mark.parametrize("max_norm", [0.1, 1.0, 5.0, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    rng = np.random.default_rng(int(max_norm * 10))
    grads = {"U": rng.normal(size=(3, 4)), "W": rng.normal(size=(4, 4)) * 3, "b": rng.normal(size=4)}
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads.values()]
    for p, g in zip(params, grads.values()):
        p.grad = _t(g)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm)
    clipped, norm = R.clip_grad_norm(grads, max_norm)
    assert norm == pytest.approx(float(total), rel=1e-12)
    for p, (k, g) in zip(params, clipped.items()):
        _close(g, p.grad)
    assert np.allclose(grads["W"], clipped["W"]) == (norm <= max_norm)  # only too long gradients change
    listed, _ = R.clip_grad_norm(list(grads.values()), max_norm)
    assert isinstance(listed, list) and np.allclose(listed[1], clipped["W"])


def test_clip_grad_norm_keeps_the_direction_and_caps_the_length():
    g = np.array([3.0, 4.0])
    clipped, norm = R.clip_grad_norm(g, 1.0)
    assert norm == 5.0
    assert np.linalg.norm(clipped) == pytest.approx(1.0, abs=1e-6)
    assert np.allclose(clipped / np.linalg.norm(clipped), g / 5.0)
    assert g.tolist() == [3.0, 4.0]     # the input is not modified


# ------------------------------------------------------------ language models ---

def test_bigram_nll_against_counting_by_hand():
    train, val = "abracadabra", "abcab"
    symbols = sorted(set(train + val))
    ids = {s: i for i, s in enumerate(symbols)}
    V, alpha = len(symbols), 0.5
    pair_count = lambda a, b: sum(1 for x, y in zip(train, train[1:]) if (x, y) == (a, b))  # noqa: E731
    first_count = lambda a: sum(1 for x in train[:-1] if x == a)  # noqa: E731
    expected = -np.mean([math.log((pair_count(a, b) + alpha) / (first_count(a) + alpha * V))
                         for a, b in zip(val, val[1:])])
    got = R.bigram_nll([ids[c] for c in train], [ids[c] for c in val], V, alpha)
    assert got == pytest.approx(expected)
    best, best_alpha = R.best_bigram_nll([ids[c] for c in train], [ids[c] for c in val], V)
    assert best <= got + 1e-12 and best == pytest.approx(R.bigram_nll([ids[c] for c in train],
                                                                       [ids[c] for c in val], V, best_alpha))


def test_temperature_sharpens_and_flattens():
    logits = np.array([2.0, 1.0, 0.0])
    p1 = R.softmax_with_temperature(logits, 1.0)
    np.testing.assert_allclose(p1, torch.softmax(_t(logits), 0).numpy())
    cold, hot = R.softmax_with_temperature(logits, 0.1), R.softmax_with_temperature(logits, 10.0)
    assert cold[0] > 0.99 and np.ptp(hot) < np.ptp(p1) < np.ptp(cold)
    draws = [R.sample_index(logits, 0.05, np.random.default_rng(s)) for s in range(20)]
    assert set(draws) == {0}


def test_sequence_model_generates_reproducibly_and_sequence_loss_is_mean_cross_entropy():
    torch.manual_seed(0)
    model = R.SequenceModel(5, 8, cell="gru")
    a = model.generate([0, 1], 10, temperature=1.0, seed=3)
    assert a == model.generate([0, 1], 10, temperature=1.0, seed=3) and len(a) == 10
    x = torch.randint(0, 5, (2, 6))
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (2, 6, 5)
    manual = -torch.log_softmax(logits, -1).gather(2, x[..., None]).mean()
    assert float(R.sequence_cross_entropy(logits, x)) == pytest.approx(float(manual), rel=1e-6)
    onehot = R.SequenceModel(5, 8, cell="rnn")     # no embedding: 1-of-N inputs, as in the decks' "hello"
    assert onehot.rnn.input_size == 5
    tagger = R.SequenceModel(5, 8, cell="lstm", embed=3, out_size=4)   # slot filling: 4 labels per word
    assert tagger(x).shape == (2, 6, 4)


def test_sentiment_model_reads_the_state_after_the_last_real_word():
    torch.manual_seed(0)
    model = R.SentimentModel(9, 4, 5)
    x = torch.tensor([[3, 5, 0, 0], [1, 2, 4, 6]])
    out, _ = model.lstm(model.embedding(x))
    expected = model.fc(torch.stack([out[0, 1], out[1, 3]])).squeeze(1)
    torch.testing.assert_close(model(x), expected)
    assert torch.all(model.embedding.weight[0] == 0)          # the pad row stays zero
    bag = R.BagOfEmbeddings(9, 4)
    assert torch.allclose(bag(torch.tensor([[3, 5, 0, 0]])), bag(torch.tensor([[5, 3, 0]])))   # order-blind


def test_lstm_parameter_count_matches_torch():
    for D, H in ((128, 128), (6, 3), (1, 1)):
        assert R.lstm_parameter_count(D, H) == sum(p.numel() for p in torch.nn.LSTM(D, H).parameters())
    assert R.lstm_parameter_count(128, 128, biases=1) == 4 * (256 * 128 + 128)


# ------------------------------------------------------------------ bad input ---

def test_bad_shapes_are_named():
    U, W, b = np.zeros((3, 4)), np.zeros((4, 4)), np.zeros(4)
    with pytest.raises(ValueError, match=r"X must be a 3-D array .*\(B, T, D\)"):
        R.rnn_forward(np.zeros((2, 3)), U, W, b)
    with pytest.raises(ValueError, match=r"D = 3 features"):
        R.rnn_forward(np.zeros((2, 5, 2)), U, W, b)
    with pytest.raises(ValueError, match=r"W must have shape \(H, 4·H\)"):
        R.lstm_forward(np.zeros((1, 2, 3)), np.zeros((3, 16)), np.zeros((4, 8)), np.zeros(16))
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\) = \(2, 4\)"):
        R.rnn_forward(np.zeros((2, 5, 3)), U, W, b, h0=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="form must be 'deck'"):
        R.gru_step(np.zeros(2), np.zeros(3), np.zeros((2, 9)), np.zeros((3, 9)), np.zeros(9), np.zeros(9), form="x")
    with pytest.raises(ValueError, match="max_norm must be a positive number"):
        R.clip_grad_norm(np.ones(3), 0)
    with pytest.raises(ValueError, match=r"W_f must have shape \(H, H \+ D\)"):
        R.lstm_step_concat(np.zeros(2), np.zeros(3), np.zeros(3), np.zeros((3, 4)), np.zeros(3),
                           *(np.zeros((3, 5)), np.zeros(3)) * 3)
    with pytest.raises(ValueError, match="must hold finite numbers"):
        R.rnn_step(np.array([np.nan, 0, 0]), np.zeros(4), U, W, b)
