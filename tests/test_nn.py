"""coursekit.nn against torch.autograd, torch.nn.functional, centred differences and the decks' worked examples."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from coursekit import linear, nn, optim

TOL = 1e-7  # relative error against torch.autograd in float64


def t64(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=float), dtype=torch.float64, requires_grad=grad)


def away_from_kinks(rng, shape, kinks=(0.0,), gap=1e-3):
    """Standard normal values, each at least ``gap`` from every kink (derivatives are defined there)."""
    z = rng.standard_normal(shape) * 2
    for k in kinks:
        close = np.abs(z - k) < gap
        z[close] = k + np.where(z[close] >= k, gap, -gap) * 10
    return z


# ------------------------------------------------------------ activations ---

ACTIVATION_CASES = [
    ("sigmoid", nn.sigmoid, nn.sigmoid_prime, torch.sigmoid),
    ("tanh", nn.tanh, nn.tanh_prime, torch.tanh),
    ("relu", nn.relu, nn.relu_prime, torch.relu),
    ("leaky_relu", nn.leaky_relu, nn.leaky_relu_prime, lambda z: F.leaky_relu(z, 0.1)),
    ("elu", nn.elu, nn.elu_prime, F.elu),
    ("softplus", nn.softplus, nn.softplus_prime, F.softplus),
]


@pytest.mark.parametrize("name, f, f_prime, torch_f", ACTIVATION_CASES, ids=[c[0] for c in ACTIVATION_CASES])
def test_activation_and_derivative_match_torch(name, f, f_prime, torch_f):
    z = away_from_kinks(np.random.default_rng(1), 200)
    zt = t64(z, grad=True)
    out = torch_f(zt)
    out.sum().backward()
    assert nn.relative_error(f(z), out.detach().numpy()) <= TOL
    assert nn.relative_error(f_prime(z), zt.grad.numpy()) <= TOL


def test_activation_pairs_by_name_and_unknown_name():
    for name, (f, f_prime) in nn.ACTIVATIONS.items():
        z = np.array([-1.5, 0.7])
        assert f(z).shape == f_prime(z).shape == (2,), name
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.activation("swish")


def test_relu_derivative_at_the_kink_pytorch_vs_deck_002():
    z = t64([0.0], grad=True)
    torch.relu(z).backward()
    assert nn.relu_prime(0.0) == z.grad.item() == 0.0       # PyTorch's choice
    assert nn.relu_prime(0.0, at_zero=1.0) == 1.0           # deck 002 writes 1 for z >= 0


def test_sigmoid_derivative_is_at_most_a_quarter_and_tanh_identity():
    z = np.linspace(-10, 10, 20001)
    assert nn.sigmoid_prime(z).max() == pytest.approx(0.25)
    assert nn.sigmoid_prime(0.0) == 0.25
    assert np.allclose(nn.tanh(z), 2 * nn.sigmoid(2 * z) - 1)     # deck 000: tanh(s) = 2θ(2s) - 1


def test_activations_are_exact_for_huge_inputs():
    z = np.array([-1000.0, 1000.0])
    assert np.array_equal(nn.sigmoid(z), [0.0, 1.0])
    assert np.array_equal(nn.softplus(z), [0.0, 1000.0])
    assert np.array_equal(nn.elu(z), [-1.0, 1000.0])


def test_softplus_as_a_sum_of_shifted_sigmoids_deck_003():
    z = np.linspace(-5, 5, 2001)
    gap = np.max(np.abs(nn.softplus_by_sigmoids(z) - np.log1p(np.exp(z))))
    assert 0.0105 < gap <= 0.011                            # the curriculum's "within 0.011"
    with pytest.raises(ValueError, match="terms"):
        nn.softplus_by_sigmoids(z, terms=0)


# ----------------------------------------------------------------- layers ---

def torch_grads_of(layer_fn, x, params, R):
    """∂(Σ out ⊙ R)/∂x and /∂params from torch.autograd."""
    xt = t64(x, grad=True)
    pt = {k: t64(v, grad=True) for k, v in params.items()}
    out = layer_fn(xt, pt)
    (out * t64(R)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), {k: v.grad.numpy() for k, v in pt.items()}


def maxout_torch(x, p):
    Z = torch.einsum("ni,kij->nkj", x, p["W"]) + p["b"]
    return Z.max(dim=1).values


LAYER_CASES = [
    ("linear", lambda: nn.Linear(5, 4, init="xavier", rng=3), lambda x, p: x @ p["W"] + p["b"], (6, 5), ()),
    ("linear-3d", lambda: nn.Linear(5, 3, rng=4), lambda x, p: x @ p["W"] + p["b"], (2, 3, 5), ()),
    ("linear-no-bias", lambda: nn.Linear(4, 2, rng=5, bias=False), lambda x, p: x @ p["W"], (3, 4), ()),
    ("sigmoid", nn.Sigmoid, lambda x, p: torch.sigmoid(x), (4, 6), ()),
    ("tanh", nn.Tanh, lambda x, p: torch.tanh(x), (4, 6), ()),
    ("relu", nn.ReLU, lambda x, p: torch.relu(x), (4, 6), (0.0,)),
    ("leaky_relu", nn.LeakyReLU, lambda x, p: F.leaky_relu(x, 0.1), (4, 6), (0.0,)),
    ("leaky_relu-0.3", lambda: nn.LeakyReLU(0.3), lambda x, p: F.leaky_relu(x, 0.3), (4, 6), (0.0,)),
    ("elu", nn.ELU, lambda x, p: F.elu(x), (4, 6), (0.0,)),
    ("elu-2", lambda: nn.ELU(2.0), lambda x, p: F.elu(x, alpha=2.0), (4, 6), (0.0,)),
    ("softplus", nn.Softplus, lambda x, p: F.softplus(x), (4, 6), ()),
    ("prelu", lambda: nn.PReLU(0.2), lambda x, p: F.prelu(x, p["a"]), (4, 6), (0.0,)),
    ("maxout", lambda: nn.Maxout(5, 3, k=3, rng=6), maxout_torch, (7, 5), ()),
    ("softmax", nn.Softmax, lambda x, p: torch.softmax(x, dim=-1), (4, 5), ()),
]


@pytest.mark.parametrize("name, make, torch_fn, shape, kinks", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_backward_matches_torch_autograd(name, make, torch_fn, shape, kinks):
    rng = np.random.default_rng(len(name))
    layer = make()
    x = away_from_kinks(rng, shape, kinks)
    out, cache = layer.forward(x)
    R = rng.standard_normal(out.shape)
    dx, grads = layer.backward(R, cache)
    out_t, dx_t, grads_t = torch_grads_of(torch_fn, x, layer.params, R)
    assert nn.relative_error(out, out_t) <= TOL
    assert nn.relative_error(dx, dx_t) <= TOL
    assert set(grads) == set(layer.params)
    for key in grads:
        assert grads[key].shape == layer.params[key].shape
        assert nn.relative_error(grads[key], grads_t[key]) <= TOL, key


@pytest.mark.parametrize("name, make, torch_fn, shape, kinks", LAYER_CASES, ids=[c[0] for c in LAYER_CASES])
def test_layer_backward_passes_the_numerical_check(name, make, torch_fn, shape, kinks):
    layer = make()
    x = away_from_kinks(np.random.default_rng(7), shape, kinks, gap=1e-2)
    checks = nn.check_layer(layer, x, seed=2)
    assert set(checks) == {"x", *layer.params}
    for key, check in checks.items():
        assert check.error < 1e-6, (key, str(check))


def test_maxout_with_a_zero_piece_is_relu():
    layer = nn.Maxout(3, 2, k=2, rng=0)
    layer.params["W"][1] = 0.0
    x = np.random.default_rng(0).standard_normal((5, 3))
    assert np.allclose(layer(x), nn.relu(x @ layer.params["W"][0]))


def test_linear_init_options_and_explicit_weights():
    W = np.arange(6.0).reshape(3, 2)
    layer = nn.Linear(W=W, b=[1.0, -1.0])
    assert np.array_equal(layer(np.eye(3)), W + [1.0, -1.0])
    assert layer.params["W"] is not W                           # copied: the caller's array stays untouched
    for init, std in (("he", math.sqrt(2 / 400)), ("xavier", math.sqrt(2 / 600)), ("normal", 0.01)):
        w = nn.Linear(400, 200, init=init, rng=0).params["W"]
        assert abs(w.std() / std - 1) < 0.02, init
    u = nn.Linear(400, 200, init="uniform", rng=0).params["W"]
    assert np.abs(u).max() <= 1 / math.sqrt(400)
    assert np.array_equal(nn.Linear(3, 2, rng=1).params["W"], nn.Linear(3, 2, rng=1).params["W"])   # seeded
    with pytest.raises(ValueError, match="init must be"):
        nn.Linear(3, 2, init="glorot")


def test_layer_errors_name_the_expected_shape():
    layer = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, n_in\) = \(N, 3\).*got shape \(4, 5\)"):
        layer.forward(np.zeros((4, 5)))
    _, cache = layer.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"dout .* must have the shape of this layer's output \(4, 2\)"):
        layer.backward(np.zeros((4, 3)), cache)
    with pytest.raises(ValueError, match="dtype"):
        layer.forward(np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match=r"b must have shape \(n_out,\) = \(2,\)"):
        nn.Linear(W=np.zeros((3, 2)), b=np.zeros(3))
    with pytest.raises(ValueError, match="n_in must be a positive"):
        nn.Linear(0, 2)
    with pytest.raises(ValueError, match="slope"):
        nn.LeakyReLU(1.5)


def test_one_hot_and_accuracy_match_torch_and_name_bad_labels():
    y = np.array([2, 0, 3, 3])
    assert np.array_equal(nn.one_hot(y, 5), torch.nn.functional.one_hot(torch.tensor(y), 5).numpy())
    scores = np.random.default_rng(0).normal(size=(4, 5))
    assert nn.accuracy(scores, y) == float((torch.tensor(scores).argmax(1) == torch.tensor(y)).float().mean())
    with pytest.raises(ValueError, match=r"integer indices from 0 to 2 .*values from 0 to 5"):
        nn.one_hot([0, 5], 3)                          # the value is wrong, not the shape
    with pytest.raises(ValueError, match="dtype float64"):
        nn.one_hot([0.5], 3)
    with pytest.raises(ValueError, match=r"1-D array .*shape \(1, 1\)"):
        nn.one_hot([[0]], 3)
    with pytest.raises(ValueError, match=r"one label per row .*shape \(2, 3\) and y of shape \(1,\)"):
        nn.accuracy(np.zeros((2, 3)), [1])            # would broadcast to a wrong score without the check


# ----------------------------------------------------------------- losses ---

def test_softmax_cross_entropy_matches_torch_for_labels_and_distributions():
    rng = np.random.default_rng(0)
    S, y = rng.standard_normal((6, 4)) * 3, rng.integers(0, 4, 6)
    St = t64(S, grad=True)
    F.cross_entropy(St, torch.tensor(y)).backward()
    loss, dS = nn.softmax_cross_entropy(S, y)
    assert loss == pytest.approx(F.cross_entropy(t64(S), torch.tensor(y)).item(), rel=1e-12)
    assert nn.relative_error(dS, St.grad.numpy()) <= TOL
    P = rng.dirichlet(np.ones(4), size=6)
    St = t64(S, grad=True)
    F.cross_entropy(St, t64(P)).backward()
    loss_p, dS_p = nn.softmax_cross_entropy(S, P)
    assert loss_p == pytest.approx(F.cross_entropy(t64(S), t64(P)).item(), rel=1e-12)
    assert nn.relative_error(dS_p, St.grad.numpy()) <= TOL
    assert nn.softmax_cross_entropy(S, nn.one_hot(y, 4))[0] == pytest.approx(loss, rel=1e-12)


def test_softmax_cross_entropy_gradient_is_p_minus_onehot_and_exact_at_1000():
    S = np.array([[1000.0, -1000.0, 0.0]])
    loss, dS = nn.softmax_cross_entropy(S, [1])
    assert loss == 2000.0                                   # -ln softmax = 1000 - (-1000), exactly
    assert np.array_equal(dS, [[1.0, -1.0, 0.0]])           # y - onehot
    with pytest.raises(ValueError, match="probability distribution per row"):
        nn.softmax_cross_entropy(np.zeros((2, 3)), np.ones((2, 3)))


def test_squared_error_matches_torch_and_deck_000_delta():
    rng = np.random.default_rng(1)
    P, T = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    Pt = t64(P, grad=True)
    (F.mse_loss(Pt, t64(T), reduction="sum") / 5).backward()
    loss, dP = nn.squared_error(P, T)
    assert loss == pytest.approx(F.mse_loss(t64(P), t64(T)).item() * 3, rel=1e-12)   # torch averages over outputs too
    assert nn.relative_error(dP, Pt.grad.numpy()) <= TOL
    loss1, d1 = nn.squared_error([[0.3]], [[1.0]])          # one example, one output: δ = -2(y - s)
    assert loss1 == pytest.approx(0.49) and d1[0, 0] == pytest.approx(-2 * (1.0 - 0.3))
    with pytest.raises(ValueError, match=r"target must have the shape of pred \(5, 3\)"):
        nn.squared_error(P, T[:, :1])


def test_hinge_loss_matches_torch_and_reads_01_labels():
    rng = np.random.default_rng(2)
    s = away_from_kinks(rng, 9, kinks=(-1.0, 1.0))
    y = rng.choice([-1.0, 1.0], 9)
    st = t64(s, grad=True)
    torch.clamp(1 - t64(y) * st, min=0).mean().backward()
    loss, ds = nn.hinge_loss(s, y)
    assert loss == pytest.approx(np.mean(np.maximum(0, 1 - y * s)))
    assert nn.relative_error(ds, st.grad.numpy()) <= TOL
    loss01, ds01 = nn.hinge_loss(s[:, None], (y + 1) / 2)
    assert loss01 == loss and ds01.shape == (9, 1)
    with pytest.raises(ValueError, match="labels"):
        nn.hinge_loss(s, y * 2)


# ------------------------------------------------------------- networks ---

def torch_mlp_like(model: nn.Sequential, activation):
    """The same network in torch, float64, sharing the weights (W stored as (n_in, n_out) there too)."""
    params = {k: t64(v, grad=True) for k, v in model.parameters().items()}
    linears = [i for i, layer in enumerate(model.layers) if isinstance(layer, nn.Linear)]

    def forward(x):
        h = x
        for j, i in enumerate(linears):
            h = h @ params[f"{i}.W"] + params[f"{i}.b"]
            if j < len(linears) - 1:
                h = activation(h)
        return h

    return forward, params


@pytest.mark.parametrize("act, torch_act, loss, torch_loss", [
    ("tanh", torch.tanh, nn.softmax_cross_entropy, lambda o, y: F.cross_entropy(o, torch.tensor(y))),
    ("sigmoid", torch.sigmoid, nn.squared_error, lambda o, y: ((o - t64(y)) ** 2).sum() / o.shape[0]),
    ("relu", torch.relu, nn.softmax_cross_entropy, lambda o, y: F.cross_entropy(o, torch.tensor(y))),
    ("elu", F.elu, nn.hinge_loss, lambda o, y: torch.clamp(1 - t64(2 * y - 1)[:, None] * o, min=0).mean()),
], ids=["tanh-ce", "sigmoid-se", "relu-ce", "elu-hinge"])
def test_full_network_gradients_match_torch_and_the_numerical_check(act, torch_act, loss, torch_loss):
    rng = np.random.default_rng(3)
    out_dim = 2 if loss is nn.squared_error else (1 if loss is nn.hinge_loss else 4)
    model = nn.mlp([3, 6, 5, out_dim], act, rng=rng)
    X = rng.standard_normal((8, 3))
    y = rng.standard_normal((8, 2)) if loss is nn.squared_error else rng.integers(0, min(out_dim, 2) if out_dim < 4 else 4, 8)
    out, caches = model.forward(X)
    value, dout = loss(out, y)
    _, grads = model.backward(dout, caches)
    forward, params = torch_mlp_like(model, torch_act)
    value_t = torch_loss(forward(t64(X)), y)
    value_t.backward()
    assert value == pytest.approx(value_t.item(), rel=1e-10)
    assert list(grads) == list(model.parameters())
    for name in grads:
        assert nn.relative_error(grads[name], params[name].grad.numpy()) <= TOL, name
    for name, check in nn.check_model(model, X, y, loss).items():
        assert check.error < 1e-5, (name, str(check))


def test_backprop_delta_recursion_equals_sequential_and_torch():
    rng = np.random.default_rng(4)
    model = nn.mlp([4, 5, 3, 2], "sigmoid", rng=rng)
    X, T = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    Ws = [model.params[f"{i}.W"] for i in (0, 2, 4)]
    bs = [model.params[f"{i}.b"] for i in (0, 2, 4)]
    dWs, dbs, deltas = nn.backprop(X, Ws, bs, lambda a: 2 * (a - T) / 6, "sigmoid", output_activation="identity")
    out, caches = model.forward(X)
    _, grads = model.backward(nn.squared_error(out, T)[1], caches)
    for l, i in enumerate((0, 2, 4)):
        assert np.allclose(dWs[l], grads[f"{i}.W"], rtol=1e-12, atol=1e-15)
        assert np.allclose(dbs[l], grads[f"{i}.b"], rtol=1e-12, atol=1e-15)
    assert [d.shape for d in deltas] == [(6, 5), (6, 3), (6, 2)]
    # with a sigmoid output as well, against torch
    Wt = [t64(W, grad=True) for W in Ws]
    bt = [t64(b, grad=True) for b in bs]
    h = t64(X)
    for W, b in zip(Wt, bt):
        h = torch.sigmoid(h @ W + b)
    ((h - t64(T)) ** 2).sum().backward()
    dWs, dbs, _ = nn.backprop(X, Ws, bs, lambda a: 2 * (a - T))
    for l in range(3):
        assert nn.relative_error(dWs[l], Wt[l].grad.numpy()) <= TOL
        assert nn.relative_error(dbs[l], bt[l].grad.numpy()) <= TOL


def test_column_convention_gives_the_same_network():
    rng = np.random.default_rng(5)
    Ws = [rng.standard_normal((3, 4)), rng.standard_normal((4, 2))]
    bs = [rng.standard_normal(4), rng.standard_normal(2)]
    x = rng.standard_normal(3)
    row = nn.forward_pass(x, Ws, bs)[1][-1][0]
    col = nn.forward_columns(x, [W.T for W in Ws], bs)
    assert np.allclose(row, col, rtol=1e-14)
    with pytest.raises(ValueError, match=r"W\^1 must have shape \(n_out, n_in\)"):
        nn.forward_columns(x, Ws, bs)


def test_deck000_backprop_matches_torch():
    rng = np.random.default_rng(6)
    Ws = [rng.standard_normal((4, 5)), rng.standard_normal((6, 2)), rng.standard_normal((3, 1))]   # 3-5-2-1
    x, y = rng.standard_normal(3), 0.7
    e, grads, deltas = nn.deck000_backprop(x, y, Ws)
    Wt = [t64(W, grad=True) for W in Ws]
    a = torch.cat([torch.ones(1, dtype=torch.float64), t64(x)])
    for l, W in enumerate(Wt):
        s = a @ W
        a = torch.cat([torch.ones(1, dtype=torch.float64), torch.tanh(s)]) if l < 2 else s
    et = (y - s[0]) ** 2
    et.backward()
    assert e == pytest.approx(et.item(), rel=1e-12)
    assert deltas[-1][0] == pytest.approx(-2 * (y - s[0].item()))
    for g, W in zip(grads, Wt):
        assert nn.relative_error(g, W.grad.numpy()) <= TOL


def test_quiz_when_the_output_weight_gradient_is_zero():
    # ∂e/∂w_i1^(L) = -2(y - s) x_i^(L-1) vanishes when y = s, or when x_i^(L-1) = tanh(s_i^(L-1)) = 0
    Ws = [np.array([[0.0, 0.3], [0.0, -0.4]]), np.array([[0.1], [0.5], [2.0]])]   # hidden unit 1 gets s = 0
    e, grads, _ = nn.deck000_backprop([0.8], 1.0, Ws)
    assert grads[1][1, 0] == 0.0 and grads[1][2, 0] != 0.0
    s_out = 0.1 + 2.0 * math.tanh(0.3 - 0.4 * 0.8)
    _, grads, _ = nn.deck000_backprop([0.8], s_out, Ws)
    assert np.allclose(grads[1], 0.0)


def test_jacobians_deck_002():
    f = lambda v: np.array([v[0] ** 2 + v[1] ** 2, v[1] ** 2 + v[2] ** 2 * v[1]])  # noqa: E731
    x = np.array([1.0, -2.0, 0.5])
    J_closed = np.array([[2 * x[0], 2 * x[1], 0.0], [0.0, 2 * x[1] + x[2] ** 2, 2 * x[1] * x[2]]])
    assert np.allclose(nn.numerical_jacobian(f, x), J_closed, atol=1e-8)
    rng = np.random.default_rng(7)
    W, b, xx = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)
    J = nn.dense_jacobian(xx, W, b, "sigmoid")
    J_t = torch.autograd.functional.jacobian(lambda v: torch.sigmoid(v @ t64(W) + t64(b)), t64(xx))
    assert J.shape == (4, 3)
    assert nn.relative_error(J, J_t.numpy()) <= TOL


def test_deck_002_dense_jacobian_printed_values():
    # deck 002's PyTorch cell: x = [1, -1, 1], W (3x4) and b as printed (4 decimals)
    W = np.array([[0.7266, 0.7925, 0.7952, 0.2159], [0.3108, 0.1950, 0.6448, 0.6367], [0.0521, 0.2200, 0.5038, 0.9020]])
    b = np.array([0.3059, 0.2612, 0.9326, 0.5597])
    printed = np.array([[0.1570, 0.0671, 0.0113], [0.1501, 0.0369, 0.0417], [0.1121, 0.0909, 0.0710],
                        [0.0416, 0.1228, 0.1740]])
    assert np.allclose(nn.dense_jacobian([1, -1, 1], W, b), printed, atol=1e-4)


# ------------------------------------------------------- gradient checks ---

def test_relative_error_formula_and_readings():
    a, b = np.array([1.0, 0.0, -2.0]), np.array([1.0 + 1e-6, 0.0, -2.0])
    assert nn.relative_error(a, b) == pytest.approx(1e-6 / 4)            # max|a - b| / (max|a| + max|b|)
    tiny = np.array([1.0, 1e-9])                                          # an entry tiny in both: no effect
    assert nn.relative_error(tiny, tiny + [0.0, 1e-9]) == pytest.approx(1e-9 / 2)
    assert nn.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert nn.relative_error([1e-12], [2e-12]) == pytest.approx(1e-12 / 1e-8)   # the 1e-8 floor
    assert nn.read_relative_error(1e-9).startswith("good")
    assert nn.read_relative_error(1e-5).startswith("usually fine")
    assert nn.read_relative_error(1e-3).startswith("uncomfortable")
    assert nn.read_relative_error(0.5).startswith("wrong")
    with pytest.raises(ValueError, match=r"b must have the shape of a \(3,\)"):
        nn.relative_error(a, b[:2])


def test_gradient_check_catches_a_wrong_gradient_and_restores_x():
    x = np.array([0.3, -1.2, 2.0])
    f = lambda v: float(np.sum(v ** 3))  # noqa: E731
    good = nn.gradient_check(f, x, 3 * x ** 2)
    assert good.ok and good.error < 1e-9 and "good" in str(good)
    bad = nn.gradient_check(f, x, 2 * x ** 2)
    assert not bad.ok and bad.error > 1e-2 and bad.reading.startswith("wrong")
    assert np.array_equal(x, [0.3, -1.2, 2.0])
    with pytest.raises(ValueError, match="float64"):
        nn.numerical_gradient(f, x.astype(np.float32))


def test_relu_kink_gives_a_large_relative_error():
    # a ReLU input exactly at 0: centred differences average the two slopes (1/2), autograd uses 0
    layer = nn.ReLU()
    checks = nn.check_layer(layer, np.array([[0.0, 1.0, -1.0]]), seed=0)
    assert checks["x"].error > 1e-2


# --------------------------------------------------- Sequential and optim ---

def test_sequential_parameters_flat_vector_and_optimizer_step():
    model = nn.mlp([2, 3, 1], rng=0)
    names = list(model.parameters())
    assert names == ["0.W", "0.b", "2.W", "2.b"] and model.n_parameters() == nn.count_parameters([2, 3, 1]) == 13
    theta = model.get_flat()
    rng = np.random.default_rng(0)
    grads = {k: rng.standard_normal(v.shape) for k, v in model.parameters().items()}
    W0 = model.params["0.W"]
    model.step(optim.GD(0.1), grads)
    assert model.params["0.W"] is W0                          # updated in place
    assert np.allclose(model.get_flat(), theta - 0.1 * model.flatten_grads(grads))
    with pytest.raises(ValueError, match=r"grads lacks the gradients of \['2.b'\]"):
        model.flatten_grads({k: v for k, v in grads.items() if k != "2.b"})
    with pytest.raises(ValueError, match=r"theta must have shape \(13,\)"):
        model.set_flat(np.zeros(12))


def test_sequential_with_adam_matches_torch_adam():
    rng = np.random.default_rng(8)
    model = nn.mlp([3, 4, 2], "tanh", rng=rng)
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
    forward, params = torch_mlp_like(model, torch.tanh)
    opt_t = torch.optim.Adam(params.values(), lr=0.05)
    opt = optim.Adam(0.05)
    for _ in range(5):
        out, caches = model.forward(X)
        _, grads = model.backward(nn.softmax_cross_entropy(out, y)[1], caches)
        model.step(opt, grads)
        opt_t.zero_grad()
        F.cross_entropy(forward(t64(X)), torch.tensor(y)).backward()
        opt_t.step()
    for name, p in model.parameters().items():
        assert np.allclose(p, params[name].detach().numpy(), rtol=1e-10, atol=1e-12), name


def test_sequential_nests_and_rejects_non_layers():
    inner = nn.Sequential([nn.Linear(3, 3, rng=1), nn.Tanh()])
    outer = nn.Sequential([inner, nn.Linear(3, 1, rng=2)])
    assert list(outer.parameters()) == ["0.0.W", "0.0.b", "1.W", "1.b"]
    X = np.random.default_rng(0).standard_normal((4, 3))
    checks = nn.check_model(outer, X, np.zeros((4, 1)), nn.squared_error)
    assert all(c.error < 1e-6 for c in checks.values())
    with pytest.raises(ValueError, match="layer protocol"):
        nn.Sequential([nn.Linear(2, 2), "relu"])
    with pytest.raises(ValueError, match="activation must be one of"):
        nn.mlp([2, 2], "swish")


def test_fit_learns_xor_with_a_small_network():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = np.array([0, 1, 1, 0])
    model = nn.mlp([2, 8, 2], "tanh", rng=0)
    history = nn.fit(model, X, y, nn.softmax_cross_entropy, optim.Adam(0.05), steps=150)
    assert history[0]["loss"] > 0.5 and history[-1]["loss"] < 0.05
    assert nn.accuracy(model(X), y) == 1.0
    assert np.array_equal(model.predict(X), y)
    mb = nn.fit(nn.mlp([2, 8, 2], "tanh", rng=0), X, y, optimizer=optim.GD(0.1), steps=4, batch_size=2, l2=1e-3)
    assert len(mb) == 4


# ------------------------------------------------------ worked examples ---

def hung_yi_lee_network():
    """Decks 001/004 in the column convention: W¹ = [[1,-2],[-1,1]] ... (W acts as z = W a + b)."""
    Ws_col = [np.array([[1.0, -2.0], [-1.0, 1.0]]), np.array([[2.0, -1.0], [-2.0, -1.0]]),
              np.array([[3.0, -1.0], [-1.0, 4.0]])]
    bs = [np.array([1.0, 0.0]), np.array([0.0, 0.0]), np.array([-2.0, 2.0])]
    return Ws_col, bs


def test_hung_yi_lee_network_worked_example():
    Ws_col, bs = hung_yi_lee_network()
    Ws = [W.T for W in Ws_col]
    _, a = nn.forward_pass([1, -1], Ws, bs)
    assert np.allclose(a[1], [0.98, 0.12], atol=0.005)               # σ([4, -2])
    assert np.allclose(a[1], 1 / (1 + np.exp(-np.array([4.0, -2.0]))))
    assert np.allclose(a[-1], [0.617705, 0.829124], atol=1e-6)
    assert np.allclose(nn.forward_pass([0, 0], Ws, bs)[1][-1], [0.51, 0.85], atol=0.005)
    assert np.allclose(nn.forward_columns([1, -1], Ws_col, bs), a[-1][0])
    model = nn.Sequential([nn.Linear(W=Ws[0], b=bs[0]), nn.Sigmoid(), nn.Linear(W=Ws[1], b=bs[1]), nn.Sigmoid(),
                           nn.Linear(W=Ws[2], b=bs[2]), nn.Sigmoid()])
    assert np.allclose(model(np.array([[1.0, -1.0], [0.0, 0.0]])), [[0.617705, 0.829124], [0.511847, 0.854384]],
                       atol=1e-6)


def test_softmax_worked_example_deck_000():
    x = np.array([2.0, 4.0, 2.0, 1.0])
    assert np.allclose(linear.softmax(x), [0.1025, 0.7573, 0.1025, 0.0377], atol=5e-5)
    assert np.allclose(x / x.sum(), [0.2222, 0.4444, 0.2222, 0.1111], atol=5e-5)
    assert np.allclose(nn.Softmax()(x), torch.softmax(t64(x), 0).numpy())


def test_parameter_counts_from_the_decks():
    assert nn.count_parameters([3, 5, 1]) == 26                       # deck 000's quiz (with biases)
    assert nn.count_parameters([3, 5, 1], bias=False) == 20
    assert nn.count_parameters([784, 500, 500, 10]) == 648_010        # deck 004's Keras network
    assert nn.count_parameters([2, 16, 16, 1]) == 337                 # micrograd's two-moons MLP
    five_by_2k = nn.count_parameters([429] + [2048] * 5 + [9304])
    assert five_by_2k == pytest.approx(36.7e6, rel=2e-3)
    assert nn.count_parameters([429, 3772, 9304]) == pytest.approx(five_by_2k, rel=1e-3)
    assert nn.count_parameters([429, 4634, 9304]) == pytest.approx(nn.count_parameters([429] + [2048] * 7 + [9304]),
                                                                   rel=1e-3)
    assert nn.count_parameters([429, 16384, 9304]) / five_by_2k == pytest.approx(4.34, abs=0.01)
    model = nn.mlp([3, 5, 1])
    assert model.n_parameters() == 26


def test_deck_002_pytorch_cells_reproduce_with_its_seed():
    torch.manual_seed(1234)                                   # deck 002's cells, in order
    W1, b1, W2, b2, W3, b3 = (torch.randn(*shape) for shape in ((5, 7), (1, 7), (7, 5), (1, 5), (5, 4), (1, 4)))
    X_batch = torch.rand(size=(4, 5)).numpy()
    net = nn.Sequential([nn.Linear(W=W1, b=b1), nn.ReLU(), nn.Linear(W=W2, b=b2), nn.ReLU(), nn.Linear(W=W3, b=b3)])
    x = np.array([[1.0, 2.0, -2.0, 0.2, 5.7]])
    assert np.allclose(net[0](x), [[8.9391, -4.6345, 7.4453, -0.9053, -3.9509, 1.2647, -8.7399]], atol=1e-4)
    assert np.allclose(net(x), [[3.5699, -10.3066, -5.5052, -2.0499]], atol=1e-4)
    assert -math.log(linear.softmax(net(x))[0, 1]) == pytest.approx(13.8803, abs=1e-3)   # not the printed 3.8616
    P = linear.softmax(net(X_batch))
    y = np.array([0, 1, 0, 1])
    assert np.allclose(P, [[0.7601, 0.0210, 0.0257, 0.1932], [0.5877, 0.0427, 0.0372, 0.3323],
                           [0.7814, 0.0410, 0.0526, 0.1251], [0.7531, 0.0460, 0.0509, 0.1499]], atol=1e-4)
    assert -math.log(P[0, 1]) == pytest.approx(3.8615706, abs=1e-5)       # the number the slide printed
    printed = -np.mean(nn.one_hot(y, 4) * np.log(P))                      # torch.mean over 16 entries
    assert printed == pytest.approx(0.42208, abs=1e-5)
    assert nn.softmax_cross_entropy(net(X_batch), y)[0] == pytest.approx(4 * printed) == pytest.approx(1.6883, abs=1e-4)
