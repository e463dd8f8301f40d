"""coursekit.deepnets: the network builder, gradient norms, dead units, losses, mixed batches, deck optimizers."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from coursekit import deepnets as D, initialization, optim, regularization as R


def test_mlp_layers_and_per_layer_choices():
    m = D.mlp(64, [10, 20, 30], 5, activation=["relu", "tanh", "sigmoid"], dropout=[0.0, 0.5, 0.0], batch_norm=True)
    kinds = [type(x).__name__ for x in m]
    assert kinds == ["Linear", "BatchNorm1d", "ReLU", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear",
                     "BatchNorm1d", "Sigmoid", "Linear"]
    assert [tuple(l.weight.shape) for l in D.linear_layers(m)] == [(10, 64), (20, 10), (30, 20), (5, 30)]
    assert D.count_parameters(D.mlp(3, [5], 1)) == 3 * 5 + 5 + 5 + 1
    assert [type(x).__name__ for x in D.mlp(2, [], 3)] == ["Linear"]
    with pytest.raises(ValueError, match="activation must be one value or one per hidden layer"):
        D.mlp(2, [3, 3], 1, activation=["relu"])
    with pytest.raises(ValueError, match="init must be one of"):
        D.mlp(2, [3], 1, init="glorot")


@pytest.mark.parametrize("init, expected_std", [
    ("xavier_normal", initialization.xavier_std(400, 300)),
    ("xavier_uniform", initialization.xavier_std(400, 300)),
    ("he_normal", initialization.he_std(400)),
    ("he_uniform", initialization.he_std(400)),
])
def test_mlp_initialization_follows_the_rules(init, expected_std):
    m = D.mlp(400, [300], 2, activation="relu", init=init)
    w = D.linear_layers(m)[0].weight.detach().numpy()
    assert w.std() == pytest.approx(expected_std, rel=0.02)
    assert np.all(D.linear_layers(m)[0].bias.detach().numpy() == 0)


def test_bias_init_and_seed():
    m = D.mlp(4, [6], 2, bias=-3.0)
    assert torch.all(D.linear_layers(m)[0].bias == -3.0) and not torch.any(D.linear_layers(m)[1].bias == -3.0)
    a, b = D.mlp(4, [6], 2, seed=3), D.mlp(4, [6], 2, seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_layer_gradient_norms_match_autograd():
    torch.manual_seed(0)
    m = D.mlp(8, [6, 6], 3, activation="sigmoid")
    X, y = torch.randn(20, 8), torch.randint(0, 3, (20,))
    norms = D.layer_gradient_norms(m, X, y)
    nn.functional.cross_entropy(m(X), y).backward()
    assert norms == pytest.approx([float(l.weight.grad.norm()) for l in D.linear_layers(m)], rel=1e-6)


def test_deep_sigmoid_gradients_shrink_towards_the_input():
    torch.manual_seed(0)
    X, y = torch.rand(200, 64), torch.randint(0, 10, (200,))
    norms = D.layer_gradient_norms(D.mlp(64, [100] * 9, 10, activation="sigmoid", init="xavier_uniform"), X, y)
    assert norms[0] < norms[-1] / 100       # σ' ≤ 1/4 at every layer: the first layer hardly moves


def test_dead_fraction_counts_units_that_are_zero_everywhere():
    m = D.mlp(2, [4], 1, activation="relu")
    with torch.no_grad():
        m[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]]))
        m[0].bias.copy_(torch.tensor([0.0, 0.0, -10.0, 0.0]))
    X = torch.tensor([[1.0, 2.0], [0.5, -1.0]])
    assert D.dead_fraction(m, X) == [0.5]         # units 2 (x₁ + x₂ - 10 < 0) and 3 (-x₁ < 0) are dead on both rows


def test_square_error_loss_is_kerass_mse_on_softmax():
    z, y = torch.randn(5, 4), torch.tensor([0, 3, 1, 1, 2])
    p = torch.softmax(z, 1).numpy()
    expected = np.mean((p - np.eye(4)[y.numpy()]) ** 2)
    assert float(D.square_error_loss(z, y)) == pytest.approx(expected, rel=1e-6)


def test_soft_cross_entropy():
    z = torch.randn(6, 5, dtype=torch.float64)
    y = torch.randint(0, 5, (6,))
    assert float(D.soft_cross_entropy(z, y)) == pytest.approx(float(nn.functional.cross_entropy(z, y)))
    T = torch.softmax(torch.randn(6, 5, dtype=torch.float64), 1)
    assert float(D.soft_cross_entropy(z, T)) == pytest.approx(float(nn.functional.cross_entropy(z, T)))


@pytest.mark.parametrize("mode", ["mixup", "cutmix"])
def test_mixed_batches(mode):
    X = np.random.default_rng(0).random((50, 64))
    y = np.arange(50) % 10
    batches = D.MixedBatches(X, y, 10, batch_size=16, mode=mode, seed=0)
    first = list(batches)
    assert [len(b[0]) for b in first] == [16, 16, 16, 2]
    for xb, yb in first:
        assert xb.shape[1] == 64 and yb.shape[1] == 10
        np.testing.assert_allclose(yb.sum(1).numpy(), 1.0, rtol=1e-6)
    again = list(batches)                       # a new epoch: a new order and new mixes
    assert not torch.equal(first[0][0], again[0][0])


def test_deck004_sgd_is_optims_deck004_rule_on_weights():
    w0, g = np.array([[1.0, -2.0]]), np.array([[0.5, 0.25]])
    p = nn.Parameter(torch.tensor(w0))
    p.grad = torch.tensor(g)
    D.Deck004SGD([p], lr=0.1, keep=0.99).step()
    expected = optim.GD(0.1, weight_decay=0.01, weight_decay_variant="deck004").step(w0.ravel(), g.ravel())
    np.testing.assert_allclose(p.detach().numpy().ravel(), expected)
    np.testing.assert_allclose(expected, R.deck004_weight_decay_step(w0, g, 0.1).ravel())


def test_sqrt_decay_sgd_is_optims_decaying_gd():
    grads = np.random.default_rng(1).normal(size=(6, 3))
    p = nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt, ours, theta = D.SqrtDecaySGD([p], lr=0.5), optim.GD(0.5, decay="sqrt"), np.zeros(3)
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        theta = ours.step(theta, g)
    np.testing.assert_allclose(p.detach().numpy(), theta, atol=1e-12)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5 / math.sqrt(6))
